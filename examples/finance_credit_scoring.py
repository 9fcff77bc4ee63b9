"""Credit scoring of loan applicants, end to end.

Trains a RiskScorer on the earlier applications of the shipped synthetic
applicant table and tests it on the later ones (an out-of-time split), with
monotone constraints and the protected attribute `sex` kept out of the model.
Prints the discrimination report and its score bands, scorecard points, the
reason codes of the riskiest applicants, the stability of the scores and
columns between the two periods and on a deliberately shifted sample, and
fairness by sex; draws the figures; saves the model to one file and loads it
back.

    python examples/finance_credit_scoring.py [--data applicants.csv] [--out-dir DIR]
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from core.metrics import binary_report
from domains.finance import (
    RiskScorer,
    fairness_report,
    out_of_time_split,
    performance_report,
    stability_report,
)
from domains.finance.plots import (
    plot_calibration,
    plot_reason_codes,
    plot_score_bands,
    plot_stability,
)

APPLICANTS = Path(__file__).resolve().parents[1] / "sample_data" / "finance" / "applicants.csv"
NOT_FEATURES = ["applicant_id", "application_date", "default"]
# Risk never falls as debt or late payments grow, and never rises with age.
MONOTONE = {"debt_to_income": +1, "number_of_late_payments": +1, "age": -1}


def shifted(applicants):
    """A copy with incomes cut by 30 % and loans 50 % larger; debt to income follows.

    `debt_to_income` is (12 x the monthly instalment of this loan at 7 % a
    year + payments on other credits) / income, so the instalment part grows
    with the loan and the whole ratio with the lower income.
    """
    out = applicants.copy()
    rate = 0.07 / 12
    months = out["loan_duration_months"]
    yearly_instalment = 12 * out["loan_amount"] * rate / (1 - (1 + rate) ** -months)
    yearly_debt = out["debt_to_income"] * out["income"]
    out["income"] = (out["income"] * 0.7).round(-2)
    out["loan_amount"] = (out["loan_amount"] * 1.5).round(-1)
    out["debt_to_income"] = ((yearly_debt + 0.5 * yearly_instalment) / out["income"]).round(3)
    return out


def logistic_regression_auc(X_train, y_train, X_test, y_test):
    """AUC of the usual baseline: imputation, one-hot encoding, scaling, logistic regression."""
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categories = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
    )
    model = make_pipeline(
        make_column_transformer(
            (numbers, make_column_selector(dtype_include="number")),
            (categories, make_column_selector(dtype_exclude="number")),
        ),
        LogisticRegression(max_iter=1000),
    )
    model.fit(X_train, y_train)
    return roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(APPLICANTS), help="applicant table (CSV)")
    parser.add_argument(
        "--out-dir", default="finance_credit_outputs", help="folder for the figures and model"
    )
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    out = Path(args.out_dir)

    applicants = pd.read_csv(args.data)
    early, late = out_of_time_split(applicants, "application_date", test_size=0.3)
    X_early, y_early = early.drop(columns=NOT_FEATURES), early["default"]
    X_late, y_late = late.drop(columns=NOT_FEATURES), late["default"]
    print(
        f"train on {len(early)} applications ({early['application_date'].min()} to "
        f"{early['application_date'].max()}), test on the {len(late)} later ones "
        f"(to {late['application_date'].max()})"
    )

    scorer = RiskScorer(random_state=0, exclude=["sex"], monotone_constraints=MONOTONE)
    scorer.fit(X_early, y_early)
    print(f"trained for {scorer.n_epochs_} epochs; `sex` is not a model input\n")

    # Discrimination on the later applications.
    proba = scorer.predict_proba(X_late)[:, 1]
    report = performance_report(y_late, proba)
    print(
        f"out-of-time: AUC {report['auc']:.3f}, Gini {report['gini']:.3f}, "
        f"KS {report['ks']:.3f} (bad rate {report['bad_rate']:.1%}, n={report['n']})"
    )
    baseline = logistic_regression_auc(
        X_early.drop(columns=["sex"]), y_early, X_late.drop(columns=["sex"]), y_late
    )
    print(f"logistic regression on the same split and columns: AUC {baseline:.3f}")
    print("score bands (1 = riskiest decile):")
    print(report["bands"].to_string(index=False, float_format=lambda v: f"{v:.3f}"), "\n")

    # Points: higher is safer; every `pdo` points double the odds of being good.
    points = scorer.points(X_late)
    sample = (
        late[["applicant_id"]]
        .head(5)
        .assign(probability_of_default=proba[:5].round(3), points=points[:5].round(1))
    )
    print(
        f"scorecard points ({scorer.base_score:.0f} at {scorer.base_odds:.0f}:1 good:bad odds, "
        f"{scorer.pdo:.0f} points to double the odds):"
    )
    print(sample.to_string(index=False), "\n")

    # Reason codes: the three riskiest, and the main reason of every declined applicant.
    riskiest = np.argsort(-proba, kind="stable")[:3]
    codes = scorer.reason_codes(X_late.iloc[riskiest], n=3)
    print("reason codes of the 3 riskiest applicants (points lost against typical applicants):")
    for position, (_, row) in zip(riskiest, codes.iterrows(), strict=True):
        reasons = ", ".join(
            f"{row[f'reason_{i}']} -{row[f'points_{i}']:.0f}"
            for i in (1, 2, 3)
            if row[f"reason_{i}"] is not None
        )
        print(
            f"  {late['applicant_id'].iloc[position]}: PD {proba[position]:.2f}, "
            f"{points[position]:.0f} points <- {reasons}"
        )
    cutoff = float(np.quantile(scorer.predict_proba(X_early)[:, 1], 0.8))
    declined = proba >= cutoff
    declined_codes = scorer.reason_codes(X_late[declined], n=1)
    print(
        f"declining the riskiest 20 % of the training applicants' scores (PD >= {cutoff:.2f}) "
        f"declines {declined.sum()} of {len(late)} later applicants\n"
    )

    # Stability: the score and every column, early against late, then against a shifted copy.
    score_psi = stability_report(scorer.points(X_early), points)
    columns_psi = stability_report(X_early, X_late)
    print(f"score PSI, early vs late: {score_psi['psi']:.3f} ({score_psi['verdict']})")
    print("column CSI, early vs late (top 5):")
    top = columns_psi.sort_values("psi", ascending=False).head(5)
    print(top.to_string(float_format=lambda v: f"{v:.3f}"), "\n")
    X_shifted = shifted(X_late)
    shifted_score_psi = stability_report(scorer.points(X_early), scorer.points(X_shifted))
    shifted_psi = stability_report(X_early, X_shifted)
    print("on a shifted copy of the later sample (income -30 %, loan amounts +50 %):")
    print(
        f"score PSI: {shifted_score_psi['psi']:.3f} ({shifted_score_psi['verdict']}); "
        f"bad rate predicted {scorer.predict_proba(X_shifted)[:, 1].mean():.1%} "
        f"instead of {proba.mean():.1%}"
    )
    flagged = shifted_psi[shifted_psi["verdict"] != "stable"].sort_values("psi", ascending=False)
    print("columns the CSI flags:")
    print(flagged.to_string(float_format=lambda v: f"{v:.3f}"), "\n")

    # Fairness by sex at the same cutoff (sex is not a model input, but correlates with income).
    fairness = fairness_report(y_late, proba, late["sex"], threshold=cutoff)
    print(f"fairness by sex (approved when PD < {cutoff:.2f}):")
    print(fairness.to_string(float_format=lambda v: f"{v:.3f}"), "\n")

    # Calibration of the later applications' probabilities, overall and within each sex.
    calibration = binary_report(y_late, proba)
    print(
        f"calibration: Brier {calibration['brier']:.3f}, ECE {calibration['ece']:.3f}; "
        f"mean PD {proba.mean():.3f} against an observed bad rate of {y_late.mean():.3f}"
    )
    figures = [out / "calibration.png"]
    plot_calibration(y_late, proba, figures[-1])
    for sex in sorted(late["sex"].unique()):
        within = (late["sex"] == sex).to_numpy()
        group = binary_report(y_late[within], proba[within])
        print(
            f"  sex {sex}: Brier {group['brier']:.3f}, ECE {group['ece']:.3f}; mean PD "
            f"{proba[within].mean():.3f}, observed {y_late[within].mean():.3f}"
        )
        figures.append(out / f"calibration_sex_{sex}.png")
        plot_calibration(y_late[within], proba[within], figures[-1])

    for plot, data, name in (
        (plot_score_bands, report, "score_bands.png"),
        (plot_stability, columns_psi, "stability_early_vs_late.png"),
        (plot_stability, shifted_psi, "stability_shifted.png"),
        (plot_reason_codes, declined_codes, "reason_codes_declined.png"),
    ):
        figures.append(out / name)
        plot(data, figures[-1])
    print("\nfigures in", out, ":", ", ".join(Path(path).name for path in figures))

    path = scorer.save(out / "credit_risk.kdm")
    reloaded = RiskScorer.load(path)
    same = np.allclose(reloaded.points(X_late), points, atol=1e-4)
    print(f"saved to {path}; reloaded model gives the same points: {bool(same)}")


if __name__ == "__main__":
    main()
