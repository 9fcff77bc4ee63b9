"""Survival after diagnosis from a patient table with censoring, end to end.

Trains a SurvivalPredictor on the shipped synthetic cancer cohort (a
treatment whose effect crosses over time, so hazards are not proportional),
reports what a clinical prediction paper reports on held-out patients,
draws the survival curves of three patients and Kaplan-Meier curves by
predicted risk group, explains what moved one-year mortality, and writes a
model card.

    python examples/medical_survival.py [--out-dir survival_outputs]
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pandas as pd
from sklearn.model_selection import train_test_split

from domains.medical import SurvivalPredictor

COHORT = Path(__file__).resolve().parents[1] / "sample_data" / "medical" / "cohort.csv"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(COHORT), help="cohort table (CSV)")
    parser.add_argument("--out-dir", default="survival_outputs", help="folder for the outputs")
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)

    cohort = pd.read_csv(args.data)
    days, died = cohort.pop("days"), cohort.pop("died")
    X = cohort.drop(columns=["patient_id"])
    X_train, X_test, d_train, d_test, e_train, e_test = train_test_split(
        X, days, died, test_size=0.25, stratify=died, random_state=0
    )
    print(f"{len(X_train)} patients to train on ({e_train.sum()} deaths), {len(X_test)} held out")

    model = SurvivalPredictor(random_state=0).fit(X_train, time=d_train, event=e_train)
    print(f"trained for {model.n_epochs_} epochs; hazard intervals end at (days):")
    print("  ", model.interval_ends_.round(0).tolist(), "\n")

    report = model.report(X_test, time=d_test, event=e_test)
    for key in ("harrell_c", "uno_c", "auc", "integrated_brier"):
        print(f"  {key:18s} {report[key]:.3f}")
    print("\nobserved / predicted survival by predicted risk group:")
    for group in report["risk_groups"]:
        last = list(group["observed"])[-1]
        print(
            f"  {group['group']:12s} n={group['n']:3d}  S({last:g}) "
            f"{group['observed'][last]:.2f} / {group['predicted'][last]:.2f}"
        )

    patients = X_test.head(3)
    curves = model.predict_survival_function(patients, times=[90, 365, 730, 1095, 1825])
    print("\nsurvival curves of three patients:\n", curves.round(3).to_string())
    print("median survival (days):", model.predict_median_time(patients).round(0).tolist())
    attributions = model.explain(patients, horizon=365)
    print("\nwhat moved each patient's one-year mortality (probability points):")
    print(attributions.round(3).to_string())

    try:
        from core.reports import plot_kaplan_meier_by_risk, plot_survival_curves

        plot_survival_curves(
            model.predict_survival_function(patients), path=f"{args.out_dir}/curves.png"
        )
        plot_kaplan_meier_by_risk(
            d_test, e_test, model.predict_risk(X_test), path=f"{args.out_dir}/risk_groups.png"
        )
        card = model.model_card(
            X_test, f"{args.out_dir}/card.md", time=d_test, event=e_test,
            intended_use="Research on survival modelling; not for clinical decisions.",
        )  # fmt: skip
        print(f"\nwrote the figures and {card}")
    except ImportError as error:  # matplotlib is the plots extra.
        print(f"\nno figures: {error}")
    print(f"saved to {model.save(os.path.join(args.out_dir, 'survival.kdm'))}")


if __name__ == "__main__":
    main()
