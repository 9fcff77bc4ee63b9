"""Credit risk from an applicant table with the applicant's own description of the loan.

Trains a RiskScorer on the shipped synthetic applicants, out of time (the last quarter of
applications held out), with monotone constraints on the numbers and the free-text
`description` read as text; compares it with the same scorer without the description and
shows reason codes that name the description when it costs an applicant points.

    python examples/finance_application_text.py
"""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pandas as pd

from domains.finance import RiskScorer, out_of_time_split, performance_report

APPLICANTS = Path(__file__).resolve().parents[1] / "sample_data" / "finance" / "applicants.csv"


def main():
    applicants = pd.read_csv(APPLICANTS)
    train, test = out_of_time_split(applicants, "application_date", test_size=0.25)

    def features(frame, text=True):
        frame = frame.drop(columns=["applicant_id", "application_date", "default"])
        return frame if text else frame.drop(columns=["description"])

    settings = dict(
        random_state=0,
        exclude=["sex"],
        monotone_constraints={"debt_to_income": +1, "number_of_late_payments": +1},
    )
    with_text = RiskScorer(**settings).fit(features(train), train["default"])
    without = RiskScorer(**settings).fit(features(train, text=False), train["default"])
    print("column kinds:", with_text.preprocessor_.column_kinds_)
    print("parts kept:", with_text.kept_parts_)
    for name, scorer, X in (
        ("with the description", with_text, features(test)),
        ("without it", without, features(test, text=False)),
    ):
        report = performance_report(test["default"], scorer.predict_proba(X)[:, 1])
        print(f"out-of-time AUC {name:22s} {report['auc']:.3f} (KS {report['ks']:.2f})")

    codes = with_text.reason_codes(features(test).head(200), n=3)
    named = codes[codes["reason_1"] == "description"].head(3)
    print("\napplicants whose description cost them most points:")
    for index in named.index:
        print(f"  {test.loc[index, 'description']!r}: {named.loc[index, 'points_1']:.1f} points")


if __name__ == "__main__":
    main()
