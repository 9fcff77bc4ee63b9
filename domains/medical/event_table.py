"""Validation and parsing of clinical event tables: one row per (patient, time, code) event."""

import dataclasses

import numpy as np
import pandas as pd

from core.data.time_values import parse_times

SECONDS_PER_DAY = 86400.0
MAX_SHOWN = 5


@dataclasses.dataclass
class EventTable:
    """A validated event table, as arrays.

    Attributes:
        patients: patient id of each event (the column's own values).
        days: time of each event in days (since 1970-01-01 for dates; the
            column's numbers otherwise).
        codes: code of each event, as strings.
        values: numeric value of each event (NaN: none), or None without a
            value column.
        is_datetime: whether the time column holds dates.
        columns: the column names, `{"patient", "time", "code", "value"}`.
    """

    patients: np.ndarray
    days: np.ndarray
    codes: np.ndarray
    values: np.ndarray | None
    is_datetime: bool
    columns: dict

    def patient_index(self):
        """The distinct patients, ascending: the row order of every prediction."""
        return sorted_patients(self.patients, self.columns["patient"])

    def times(self, days):
        """Days back in the time column's own terms (timestamps for dates)."""
        return days_to_times(days, self.is_datetime)


def read_events(
    X, patient_column, time_column, code_column, value_column=None, name="X", allow_empty=False
):
    """Checks an events DataFrame and returns its columns as arrays.

    Args:
        X: the events DataFrame.
        patient_column, time_column, code_column: its required columns.
        value_column: optional numeric column (lab values; NaN for other events).
        name: the argument's name in error messages.
        allow_empty: accept a table without rows.

    Returns:
        An `EventTable`.

    Raises:
        TypeError: if X is not a DataFrame.
        ValueError: naming the column and showing examples, for missing
            columns, missing ids or codes, unparseable times or non-numeric values.
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"`{name}` must be a pandas DataFrame of events with columns {patient_column!r}, "
            f"{time_column!r} and {code_column!r}. Received: {type(X).__name__}"
        )
    required = {
        "patient_column": patient_column,
        "time_column": time_column,
        "code_column": code_column,
    }
    if value_column is not None:
        required["value_column"] = value_column
    missing = {arg: col for arg, col in required.items() if col not in X.columns}
    if missing:
        named = ", ".join(f"{col!r} (`{arg}`)" for arg, col in missing.items())
        raise ValueError(
            f"`{name}` has no column {named}. Expected an events table with one row per event; "
            f"its columns are {list(X.columns)}. Pass the right column names to the constructor."
        )
    duplicated = [c for c in dict.fromkeys(required.values()) if (X.columns == c).sum() > 1]
    if duplicated:
        raise ValueError(
            f"`{name}` has duplicate columns {duplicated}; expected each column once. "
            f"Received columns {list(X.columns)}."
        )
    if len(X) == 0 and not allow_empty:
        raise ValueError(
            f"`{name}` is empty (0 events); expected at least one row "
            f"({patient_column!r}, {time_column!r}, {code_column!r})."
        )
    for column, what in ((patient_column, "patient ids"), (code_column, "codes")):
        absent = X[column].isna()
        if absent.any():
            raise ValueError(
                f"Column {column!r} of `{name}` has {int(absent.sum())} missing {what} "
                f"(rows {X.index[absent][:MAX_SHOWN].tolist()}); every event needs one."
            )
    days, is_datetime = parse_times(X[time_column], time_column, name)
    values = None
    if value_column is not None:
        raw = X[value_column]
        try:
            numeric = pd.to_numeric(raw, errors="coerce")
        except (TypeError, ValueError, OverflowError):  # Integers beyond float64.
            numeric = raw.astype(object)
        if raw.dtype.kind in "mM" or numeric.dtype.kind not in "iufb":  # Dates, complex, huge.
            examples = raw.map(str).unique()[:3].tolist()
            raise ValueError(
                f"Column {value_column!r} (`value_column`) of `{name}` holds values that are not "
                f"real numbers within float64's range, e.g. {examples}; expected numbers, or "
                "NaN for events without a value."
            )
        values = numeric.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        bad = np.isnan(values) & raw.notna().to_numpy()
        if bad.any():
            examples = raw[bad].map(str).unique()[:3].tolist()
            raise ValueError(
                f"Column {value_column!r} (`value_column`) of `{name}` has values that are not "
                f"numbers: {examples}; expected numbers, or NaN for events without a value."
            )
        values[~np.isfinite(values)] = np.nan
    try:
        codes = X[code_column].astype(str).to_numpy(dtype=object)
    except UnicodeDecodeError:
        raise ValueError(
            f"Column {code_column!r} (`code_column`) of `{name}` holds bytes that are not UTF-8 "
            "text; expected codes (strings or numbers)."
        ) from None
    return EventTable(
        patients=X[patient_column].to_numpy(),
        days=days,
        codes=codes,
        values=values,
        is_datetime=is_datetime,
        columns={
            "patient": patient_column,
            "time": time_column,
            "code": code_column,
            "value": value_column,
        },
    )


def days_to_times(days, is_datetime):
    """Days (as `read_events` returns them) back to timestamps, or numbers for numeric times."""
    days = np.asarray(days, dtype=np.float64)
    if not is_datetime:
        return days
    return pd.to_datetime(np.round(days * SECONDS_PER_DAY), unit="s").to_numpy()


def sorted_patients(patients, column="patient id"):
    """Distinct patient ids, ascending, as a `pandas.Index` named after the column."""
    try:
        unique = pd.unique(np.asarray(patients))
    except TypeError:  # Unhashable ids (lists, dicts) cannot identify a patient.
        raise TypeError(
            f"Patient ids in column {column!r} must be numbers or strings; received values such "
            f"as {np.asarray(patients)[:3].tolist()}."
        ) from None
    index = pd.Index(unique, name=column)
    try:
        return index.sort_values()
    except TypeError:
        raise ValueError(
            f"Patient ids in column {column!r} must be all numbers or all strings to be ordered; "
            f"received a mix of types, e.g. {index[:MAX_SHOWN].tolist()}."
        ) from None


def cutoff_days(prediction_time, patients, table, name="prediction_time"):
    """Each patient's prediction time, in days like `table.days`.

    Args:
        prediction_time: None (each patient's last event), a scalar (one
            time for all), or a Series indexed by patient id.
        patients: the patients (a `pandas.Index`).
        table: the `EventTable` (its last events and time kind).
        name: the argument's name in error messages.

    Returns:
        float64 array, one per patient.
    """
    if prediction_time is None:
        last = pd.Series(table.days).groupby(table.patients).max()
        return last.reindex(patients).to_numpy(dtype=np.float64)
    if isinstance(prediction_time, pd.DataFrame):
        raise TypeError(
            f"`{name}` must be None, one time, or a Series indexed by patient id. "
            "Received: a DataFrame"
        )
    if isinstance(prediction_time, pd.Series):
        series = prediction_time
        if series.index.has_duplicates:
            duplicated = series.index[series.index.duplicated()].unique()[:MAX_SHOWN].tolist()
            raise ValueError(
                f"`{name}` has duplicate patient ids in its index: {duplicated}; expected one "
                "prediction time per patient."
            )
        missing = patients[~patients.isin(series.index)]
        if len(missing):
            raise ValueError(
                f"`{name}` has no time for {len(missing)} patient(s) of the events: "
                f"{missing[:MAX_SHOWN].tolist()}; a Series `{name}` must be indexed by patient "
                "id and cover every patient."
            )
        series = series.reindex(patients)
        if series.isna().any():
            absent = series.index[series.isna().to_numpy()][:MAX_SHOWN].tolist()
            raise ValueError(f"`{name}` is missing for patients {absent}.")
        return _scalar_or_series_days(series, table, name)
    if isinstance(prediction_time, list | tuple | np.ndarray | pd.Index):
        raise TypeError(
            f"`{name}` must be None, one time, or a pandas Series indexed by patient id (so it "
            f"cannot be misaligned). Received: {type(prediction_time).__name__}"
        )
    days = _scalar_or_series_days(pd.Series([prediction_time]), table, name)
    return np.full(len(patients), days[0])


def _scalar_or_series_days(values, table, name):
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if table.is_datetime and numeric:
        raise TypeError(
            f"`{name}` is a number, but the time column {table.columns['time']!r} holds "
            f"dates; pass a date such as '2021-01-01'. Received: {values.iloc[0]!r}"
        )
    if not table.is_datetime and not numeric:
        raise TypeError(
            f"`{name}` must be a number of days like the time column "
            f"{table.columns['time']!r}. Received: {values.iloc[0]!r}"
        )
    return parse_times(values, None, name)[0]


def history_before(table, patients, cutoffs):
    """The events at or before each patient's cutoff.

    Args:
        table: an `EventTable`.
        patients: the patients (a `pandas.Index`); events of other patients are dropped.
        cutoffs: float days per patient, as from `cutoff_days`.

    Returns:
        `(keep, days_before)`: a boolean mask over the table's events, and
        the kept events' days before their patient's cutoff.
    """
    rows = patients.get_indexer(table.patients)
    known = rows >= 0
    cutoff = np.where(known, cutoffs[np.maximum(rows, 0)], -np.inf)
    keep = known & (table.days <= cutoff)
    return keep, cutoff[keep] - table.days[keep]


def align_to_patients(y, patients, name="y"):
    """Reorders a per-patient Series/DataFrame to `patients`, with clear errors.

    Raises:
        TypeError: if `y` is not a Series or DataFrame.
        ValueError: for duplicate ids, patients without a label, or labels of
            patients without events.
    """
    if not isinstance(y, pd.Series | pd.DataFrame):
        raise TypeError(
            f"`{name}` must be a pandas Series (or, for several labels, a DataFrame of 0/1 "
            f"columns) indexed by patient id, so that it is matched to the events by id, not by "
            f"position. Received: {type(y).__name__}"
        )
    if y.index.has_duplicates:
        duplicated = y.index[y.index.duplicated()].unique()[:MAX_SHOWN].tolist()
        raise ValueError(
            f"`{name}` has duplicate patient ids in its index: {duplicated}; expected one row "
            "per patient."
        )
    extra = y.index[~y.index.isin(patients)]
    unlabelled = patients[~patients.isin(y.index)]
    hint = ""
    if len(extra) and len(unlabelled) == len(patients):
        hint = (
            f" No id is shared: `{name}`'s index holds {y.index.dtype} ids such as "
            f"{y.index[:3].tolist()}, the events {patients.dtype} ids such as "
            f"{patients[:3].tolist()}."
        )
    if len(extra):
        raise ValueError(
            f"`{name}` has labels for {len(extra)} patient(s) with no events in X: "
            f"{extra[:MAX_SHOWN].tolist()}; every labelled patient needs events.{hint}"
        )
    if len(unlabelled):
        raise ValueError(
            f"`{name}` has no label for {len(unlabelled)} patient(s) of X: "
            f"{unlabelled[:MAX_SHOWN].tolist()}; label them or drop their events."
        )
    return y.loc[patients]
