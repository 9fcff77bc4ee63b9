"""Turns an events table into a prediction task: history up to a cutoff, label after it."""

from typing import NamedTuple

import numpy as np
import pandas as pd

from domains.medical.event_table import cutoff_days, days_to_times, read_events


class PredictionTask(NamedTuple):
    """What `make_prediction_task` returns; unpacks as `history, y, prediction_time`.

    Attributes:
        history: the events at or before each patient's prediction time, of
            the patients in `y` (rows of the input table, columns unchanged).
        y: 0/1 per patient (int Series indexed by patient id, ascending): 1
            when the outcome code occurs in (prediction time, prediction time
            + horizon].
        prediction_time: each patient's prediction time (Series indexed like
            `y`); pass it as `prediction_time=` to the estimator.
    """

    history: pd.DataFrame
    y: pd.Series
    prediction_time: pd.Series


def make_prediction_task(
    events,
    code,
    horizon_days,
    prediction_time,
    exclude_prior=True,
    prefix=True,
    patient_column="patient_id",
    time_column="date",
    code_column="code",
):
    """Builds "will `code` be recorded within `horizon_days` after the prediction time?".

    Patients need at least one event at or before their prediction time
    (the others have no history to predict from and are left out). With
    `exclude_prior`, patients who already have the outcome code at or before
    the prediction time are left out too: the task is predicting a new
    diagnosis. Patients are not censored: one without events after the
    prediction time counts as negative.

    Args:
        events: events DataFrame (patient id, time, code columns).
        code: the outcome code, or a list of codes (any of them counts).
        horizon_days: length of the outcome window in days (> 0).
        prediction_time: one time for all patients (e.g. `"2021-01-01"`, or a
            number of days when times are numbers), or a Series per patient id
            (patients missing from it are left out).
        exclude_prior: leave out patients with the outcome at or before the
            prediction time.
        prefix: match codes by prefix (`"I50"` matches `"I50"`, `"I50.9"`
            and `"I501"`); False matches exactly.
        patient_column, time_column, code_column: the events' columns.

    Returns:
        A `PredictionTask` `(history, y, prediction_time)`.

    Example:
    >>> history, y, cutoff = make_prediction_task(events, "I50", 365, "2021-01-01")
    >>> model.fit(history, y, prediction_time=cutoff)
    """
    table = read_events(events, patient_column, time_column, code_column, name="events")
    outcome = [code] if isinstance(code, str) else list(code)
    if not outcome or not all(isinstance(c, str) and c for c in outcome):
        raise ValueError(
            f"`code` must be a non-empty string or a list of them. Received: code={code!r}"
        )
    if not isinstance(horizon_days, int | float | np.number) or not horizon_days > 0:
        raise ValueError(
            f"`horizon_days` must be a positive number of days. Received: {horizon_days!r}"
        )
    if prediction_time is None:
        raise ValueError(
            "`prediction_time` is required: the label is defined after it and the history "
            "before it. Pass one time, e.g. '2021-01-01', or a Series per patient id."
        )
    patients = table.patient_index()
    if isinstance(prediction_time, pd.Series):
        patients = patients[patients.isin(prediction_time.index)]
    cutoffs = cutoff_days(prediction_time, patients, table)
    rows = patients.get_indexer(table.patients)
    known = rows >= 0
    cutoff = np.where(known, cutoffs[np.maximum(rows, 0)], np.nan)
    codes = pd.Series(table.codes)
    if prefix:
        is_outcome = codes.str.startswith(tuple(outcome)).to_numpy()
    else:
        is_outcome = codes.isin(outcome).to_numpy()
    before = known & (table.days <= cutoff)
    after = known & (table.days > cutoff) & (table.days <= cutoff + horizon_days)
    with_history = pd.Index(pd.unique(table.patients[before]))
    prior = pd.Index(pd.unique(table.patients[before & is_outcome]))
    chosen = patients[patients.isin(with_history)]
    if exclude_prior:
        chosen = chosen[~chosen.isin(prior)]
    positive = pd.Index(pd.unique(table.patients[after & is_outcome]))
    y = pd.Series(chosen.isin(positive).astype(int), index=chosen, name="_".join(outcome))
    keep = before & (chosen.get_indexer(table.patients) >= 0)
    times = days_to_times(cutoffs[patients.get_indexer(chosen)], table.is_datetime)
    return PredictionTask(
        history=events[keep],
        y=y,
        prediction_time=pd.Series(times, index=chosen, name="prediction_time"),
    )
