"""Diagnosis prediction from a patient table."""

from core.estimators import TabularClassifier
from core.registry import register_task


@register_task("medical.diagnosis")
class DiagnosisPredictor(TabularClassifier):
    """Predicts a diagnosis from one row per patient.

    Takes the patient table as it comes: numbers (age, lab values),
    categories (sex, smoking status), booleans (on medication) and missing
    values (labs not ordered). Missingness is itself informative in clinical
    data, so each numeric column with gaps at fit time gets a learned missing
    embedding rather than only an imputed value.

    `report` gives what a clinical paper reports: AUROC, AUPRC, Brier score,
    expected calibration error and sensitivity, specificity, PPV and NPV at
    a threshold. `explain` gives per-patient, per-column attributions in
    probability units.

    All arguments are those of `core.estimators.TabularClassifier`; the
    defaults are chosen for tables of a few hundred patients.

    Example:
    >>> clf = DiagnosisPredictor(random_state=0).fit(train_df, y)
    >>> clf.predict_proba(test_df)[:, 1]
    >>> clf.report(test_df, y_test)["auroc"]
    """
