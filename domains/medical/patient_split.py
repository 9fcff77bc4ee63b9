"""Train/test split of an events table by patient, so no patient is on both sides."""

import numpy as np
import pandas as pd

from core.data.frame_checks import check_frame
from domains.medical.event_table import align_to_patients, sorted_patients


def patient_split(
    X,
    y=None,
    test_size=0.2,
    random_state=None,
    stratify="auto",
    patient_column="patient_id",
):
    """Splits events, and per-patient labels, by patient.

    A row-wise split (`train_test_split` on events) would put some events of
    a patient in training and others in the test set, which leaks; here
    every patient's events go to one side.

    Args:
        X: events DataFrame with a `patient_column`.
        y: optional labels, a Series (or DataFrame) indexed by patient id,
            with one row per patient of X.
        test_size: share (float in (0, 1)) or number (int) of test patients.
        random_state: seed of the split.
        stratify: `"auto"` (by `y` when it is one column whose every class
            has at least two patients), True (by `y`), False or None (no
            stratification), or a Series of groups indexed by patient id.
        patient_column: the patient id column of X.

    Returns:
        `(X_train, X_test)`, or `(X_train, X_test, y_train, y_test)` when `y`
        is given (labels in ascending patient-id order).

    Raises:
        RuntimeError: if a patient ended up on both sides (never expected).
    """
    from sklearn.model_selection import train_test_split

    check_frame(
        X,
        "X",
        {"patient_column": patient_column},
        what="events",
        expected="a pandas DataFrame of events",
    )
    ids = X[patient_column]
    if ids.isna().any():
        raise ValueError(f"Column {patient_column!r} has {int(ids.isna().sum())} missing ids.")
    patients = sorted_patients(ids, patient_column)
    labels = None if y is None else align_to_patients(y, patients, "y")
    groups = _stratification(stratify, labels, patients)
    train, test = train_test_split(
        patients.to_numpy(), test_size=test_size, random_state=random_state, stratify=groups
    )
    train, test = patients[patients.isin(train)], patients[patients.isin(test)]
    shared = train.intersection(test)
    if len(shared) or len(train) + len(test) != len(patients):
        raise RuntimeError(
            f"patient_split put {len(shared)} patient(s) in both sets: {shared[:5].tolist()}."
        )
    X_train, X_test = X[ids.isin(train).to_numpy()], X[ids.isin(test).to_numpy()]
    if set(X_train[patient_column]) & set(X_test[patient_column]):
        raise RuntimeError("patient_split: a patient's events are in both sets.")
    if labels is None:
        return X_train, X_test
    return X_train, X_test, labels.loc[train], labels.loc[test]


def _stratification(stratify, labels, patients):
    """The groups to stratify by (aligned to `patients`), or None."""
    if stratify is None or stratify is False:
        return None
    if isinstance(stratify, pd.Series):
        return align_to_patients(stratify, patients, "stratify").to_numpy()
    if stratify == "auto" or stratify is True:
        one_column = labels is not None and (isinstance(labels, pd.Series) or labels.shape[1] == 1)
        if not one_column:
            if stratify is True:
                raise ValueError(
                    "stratify=True needs `y` with one label per patient (a Series). "
                    f"Received y={'None' if labels is None else 'a DataFrame of several columns'}."
                )
            return None
        values = np.asarray(labels).ravel()
        _, counts = np.unique(values.astype(str), return_counts=True)
        if stratify == "auto" and counts.min() < 2:
            return None
        return values
    raise ValueError(
        "`stratify` must be 'auto', True, False, None or a Series indexed by patient id. "
        f"Received: stratify={stratify!r}"
    )
