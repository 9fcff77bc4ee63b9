"""Diagnosis prediction from a patient table, end to end.

Trains a DiagnosisPredictor on the shipped synthetic patient table, compares it
with logistic regression on a held-out split, explains a few patients, saves
the model to one file and loads it back.

    python examples/medical_diagnosis.py [--out model.kdm]
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pandas as pd
from sklearn.model_selection import train_test_split

from domains.medical import DiagnosisPredictor

PATIENTS = Path(__file__).resolve().parents[1] / "sample_data" / "medical" / "patients.csv"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(PATIENTS), help="patient table (CSV)")
    parser.add_argument("--out", default="medical_diagnosis.kdm", help="model file to write")
    args = parser.parse_args(argv)

    patients = pd.read_csv(args.data)
    y = patients.pop("diagnosis")
    X = patients.drop(columns=["patient_id"])
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    print(f"{len(X_train)} patients to train on, {len(X_test)} held out; columns:")
    print(X.dtypes.to_string(), "\n")

    clf = DiagnosisPredictor(random_state=0).fit(X_train, y_train)
    print(f"trained for {clf.n_epochs_} epochs (early stopping on the members' out-of-fold loss)\n")

    report = clf.report(X_test, y_test, threshold=0.3)
    print("held-out report at threshold 0.3:")
    for key in ("auroc", "auprc", "brier", "ece", "sensitivity", "specificity", "ppv", "npv"):
        print(f"  {key:12s} {report[key]:.3f}")

    patients_to_explain = X_test.head(3)
    attributions = clf.explain(patients_to_explain)
    risk = clf.predict_proba(patients_to_explain)[:, 1]
    reference = attributions.attrs["baseline"][0]
    print(f"\nwhat drove the predicted risk (reference patient: {reference:.2f})")
    for (index, row), p in zip(attributions.iterrows(), risk, strict=True):
        top = row.abs().sort_values(ascending=False).index[:3]
        drivers = ", ".join(f"{c} {row[c]:+.3f}" for c in top)
        print(f"  patient {index}: risk {p:.2f} <- {drivers}")

    clf.save(args.out)
    reloaded = DiagnosisPredictor.load(args.out)
    same = (reloaded.predict_proba(X_test) == clf.predict_proba(X_test)).all()
    print(f"\nsaved to {args.out}; reloaded model predicts identically: {bool(same)}")


if __name__ == "__main__":
    main()
