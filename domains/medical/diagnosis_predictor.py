"""Diagnosis prediction from a patient table."""

import os

import numpy as np
import pandas as pd

from core.data.relative_paths import resolve_image_paths
from core.demo_baselines import logistic_regression_baseline
from core.estimators import TabularClassifier
from core.registry import register_task

#: The demo's ensemble members and epoch limit (see `demo`).
DEMO_MEMBERS, DEMO_EPOCHS = 2, 15


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

    @classmethod
    def demo(cls, sample_data, out_dir):
        """Trains on `sample_data/medical/patients.csv`; used by `keras-domains demo`.

        Args:
            sample_data: the sample data folder.
            out_dir: folder for the saved model.

        Returns:
            dict: a row of the demo's summary table.
        """
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import train_test_split

        folder = os.path.join(sample_data, "medical")
        frame = resolve_image_paths(pd.read_csv(os.path.join(folder, "patients.csv")), folder)
        y = frame.pop("diagnosis")
        frame = frame.drop(columns=["patient_id"])
        X_train, X_test, y_train, y_test = train_test_split(
            frame, y, test_size=0.25, stratify=y, random_state=0
        )
        # Two members and at most 15 epochs: each member reads the x-rays with a CNN of its
        # own, and the demo keeps every task inside its five minutes on two cores.
        model = cls(random_state=0, n_members=DEMO_MEMBERS, max_epochs=DEMO_EPOCHS)
        model.fit(X_train, y_train)
        path = model.save(os.path.join(out_dir, "medical_diagnosis.kdm"))
        reloaded = cls.load(path)
        if not np.allclose(reloaded.predict_proba(X_test), model.predict_proba(X_test), atol=1e-6):
            raise RuntimeError("the reloaded model predicts differently from the saved one")
        report = reloaded.report(X_test, y_test)
        reloaded.explain(X_test.head(5))
        # Late fusion, as a user would build it: TF-IDF of the note beside the table.
        table_and_note = X_train.drop(columns=["xray"])
        baseline = logistic_regression_baseline(table_and_note, y_train, text_columns=["note"])
        baseline_proba = baseline.predict_proba(X_test.drop(columns=["xray"]))[:, 1]
        return {
            "data": "patients.csv (table, note, x-ray; 2 members)",
            "train_rows": len(X_train),
            "test_rows": len(X_test),
            "metric": "AUROC (baseline: TF-IDF note + table LR)",
            "value": report["auroc"],
            "baseline": float(roc_auc_score(y_test, baseline_proba)),
        }
