"""Heart failure prediction from dated visit codes, end to end.

Reads the shipped synthetic clinical events (diagnoses, drugs, labs with
values), builds the task "heart failure (I50) within a year after
2021-01-01" from the history up to that date, splits the patients, pretrains
the visit encoder on the training patients' codes, fine-tunes it, compares it
with logistic regression on code counts, explains the riskiest test patient
visit by visit, saves the model to one file and loads it back.

    python examples/medical_visit_sequences.py [--data events.csv] [--out model.kdm]
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from domains.medical import SequenceDiagnosisPredictor, make_prediction_task, patient_split
from domains.medical.sequence_diagnosis_predictor import counts_logistic_regression

EVENTS = Path(__file__).resolve().parents[1] / "sample_data" / "medical" / "events.csv"
OUTCOME, PREDICTION_DATE, HORIZON_DAYS = "I50", "2021-01-01", 365


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(EVENTS), help="events table (CSV)")
    parser.add_argument("--out", default="medical_visit_sequences.kdm", help="model file to write")
    args = parser.parse_args(argv)

    events = pd.read_csv(args.data)
    print(f"{len(events)} events of {events['patient_id'].nunique()} patients, e.g.:")
    print(events.head(4).to_string(index=False), "\n")

    # History up to the prediction date; label = I50 within the next year (new cases only).
    history, y, cutoff = make_prediction_task(events, OUTCOME, HORIZON_DAYS, PREDICTION_DATE)
    X_train, X_test, y_train, y_test = patient_split(history, y, test_size=0.25, random_state=0)
    print(
        f"{len(y_train)} patients to train on, {len(y_test)} held out; "
        f"{y.mean():.1%} develop {OUTCOME} within {HORIZON_DAYS} days\n"
    )

    model = SequenceDiagnosisPredictor(
        value_column="value",  # lab results enter with their codes
        embedding_dim=32,
        num_layers=1,
        num_heads=2,
        intermediate_dim=64,
        max_epochs=10,
        random_state=0,
    )
    # Masked-code pretraining needs no labels: a real cohort would add its unlabelled patients.
    # It writes the code vocabulary and encoder beside the model and sets `start_from` to it.
    encoder_path = str(Path(args.out).with_suffix(".encoder.kdm"))
    model.pretrain(X_train, encoder_path, prediction_time=cutoff, epochs=2)
    print(f"masked-code pretraining loss per epoch: {model.pretrain_history_['loss']}")
    model.fit(X_train, y_train, prediction_time=cutoff)
    print(
        f"trained for {model.n_epochs_} epochs; counts penalty C={model.linear_C_}; "
        f"deep path kept: {model.deep_path_kept_}\n"
    )

    # Rows come back in ascending patient id order: patient_index says which is which.
    patients = model.patient_index(X_test)
    risk = pd.Series(model.predict_proba(X_test, prediction_time=cutoff)[:, 1], index=patients)
    report = model.report(X_test, y_test, prediction_time=cutoff, threshold=0.3)
    baseline = counts_logistic_regression(X_train, y_train, X_test)
    lr_auroc = roc_auc_score(y_test.loc[baseline.index], baseline)
    print(
        f"held-out AUROC {report['auroc']:.3f} (logistic regression on code counts: {lr_auroc:.3f})"
    )
    for key in ("auprc", "brier", "sensitivity", "specificity", "ppv", "npv"):
        print(f"  {key:12s} {report[key]:.3f}")

    riskiest = risk.idxmax()
    one = X_test[X_test["patient_id"] == riskiest]
    visits = model.explain(one, prediction_time=cutoff, level="visit")
    codes = model.explain(one, prediction_time=cutoff)
    print(f"\npatient {riskiest}: risk {risk[riskiest]:.2f}; visits that moved it most (logit):")
    strongest = visits.loc[visits["attribution"].abs().sort_values(ascending=False).index[:4]]
    for _, visit in strongest.iterrows():
        here = codes[codes["date"] == visit["date"]].sort_values("attribution", ascending=False)
        listed = ", ".join(
            f"{code} {score:+.2f}"
            for code, score in zip(here["code"], here["attribution"], strict=True)
        )
        print(f"  {visit['date']:%Y-%m-%d} ({visit['days_before']:.0f} days before): {listed}")

    model.save(args.out)
    reloaded = SequenceDiagnosisPredictor.load(args.out)
    same = np.allclose(reloaded.predict_proba(X_test, prediction_time=cutoff)[:, 1], risk)
    print(f"\nsaved to {args.out}; reloaded model predicts identically: {same}")


if __name__ == "__main__":
    main()
