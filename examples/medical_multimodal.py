"""Diagnosis from a patient table with a clinician's note and a chest image, end to end.

Reads the shipped synthetic patients (labs, a free-text note, an x-ray path), trains a
DiagnosisPredictor on every column, compares it on a held-out split with the same model
on the table alone and with late fusion (TF-IDF of the note beside the one-hot table, in a
logistic regression), shows which parts the model kept and what drove a few predictions,
and saves the model to one file.

    python examples/medical_multimodal.py [--out model.kdm]
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from core.data import resolve_image_paths
from core.demo_baselines import logistic_regression_baseline
from domains.medical import DiagnosisPredictor

FOLDER = Path(__file__).resolve().parents[1] / "sample_data" / "medical"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="medical_multimodal.kdm", help="model file to write")
    args = parser.parse_args(argv)

    patients = resolve_image_paths(pd.read_csv(FOLDER / "patients.csv"), str(FOLDER))
    y = patients.pop("diagnosis")
    X = patients.drop(columns=["patient_id"])
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    clf = DiagnosisPredictor(random_state=0, verbose=0).fit(X_train, y_train)
    print("column kinds:", clf.preprocessor_.column_kinds_)
    print("parts kept:", clf.kept_parts_)
    print("held-out loss per choice:", {k: round(v, 4) for k, v in clf.part_losses_.items()})

    table = [c for c in X.columns if c not in ("note", "xray")]
    table_only = DiagnosisPredictor(random_state=0).fit(X_train[table], y_train)
    late = logistic_regression_baseline(X_train.drop(columns="xray"), y_train, ["note"])
    scores = {
        "table, note and x-ray": clf.predict_proba(X_test)[:, 1],
        "table only": table_only.predict_proba(X_test[table])[:, 1],
        "late fusion (TF-IDF note + table LR)": late.predict_proba(X_test.drop(columns="xray"))[
            :, 1
        ],
    }
    print("\nheld-out AUROC:")
    for name, proba in scores.items():
        print(f"  {name:38s} {roc_auc_score(y_test, proba):.3f}")

    rows = X_test.head(3)
    attributions = clf.explain(rows)
    print(f"\nper-column attributions (reference patient: {attributions.attrs['baseline'][0]:.2f})")
    for (index, row), p in zip(attributions.iterrows(), clf.predict_proba(rows)[:, 1], strict=True):
        top = row.abs().sort_values(ascending=False).index[:3]
        print(f"  patient {index}: risk {p:.2f} <- " + ", ".join(f"{c} {row[c]:+.3f}" for c in top))

    clf.save(args.out)
    print(f"\nsaved to {args.out}")


if __name__ == "__main__":
    main()
