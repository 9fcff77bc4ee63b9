"""Lifetime default curves on a loan book with censoring (IFRS 9 / CECL), end to end.

Trains a LifetimeDefaultScorer on the shipped synthetic loan book, where
loans still running at the snapshot, repaid or prepaid are censored, then
gives each new application its 12-month PD, lifetime PD over its term and
the points of the 12-month PD, and an existing loan its PDs conditional on
the months it has already survived.

    python examples/finance_lifetime_default.py [--out lifetime_default.kdm]
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pandas as pd
from sklearn.model_selection import train_test_split

from domains.finance import LifetimeDefaultScorer

LOANS = Path(__file__).resolve().parents[1] / "sample_data" / "finance" / "loans.csv"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(LOANS), help="loan book (CSV)")
    parser.add_argument("--out", default="lifetime_default.kdm", help="model file to write")
    args = parser.parse_args(argv)

    loans = pd.read_csv(args.data)
    months, defaulted = loans.pop("months_on_book"), loans.pop("defaulted")
    X = loans.drop(columns=["loan_id", "origination"])
    X_train, X_test, m_train, m_test, d_train, d_test = train_test_split(
        X, months, defaulted, test_size=0.25, stratify=defaulted, random_state=0
    )
    running = (m_train < X_train["term_months"]) & (d_train == 0)
    print(
        f"{len(X_train)} loans to train on: {d_train.sum()} defaults, "
        f"{running.sum()} censored before maturity (running or prepaid)"
    )
    scorer = LifetimeDefaultScorer(random_state=0).fit(X_train, time=m_train, event=d_train)
    report = scorer.report(X_test, time=m_test, event=d_test)
    print(f"held out: Harrell's C {report['harrell_c']:.3f}, "
          f"integrated Brier {report['integrated_brier']:.3f}\n")  # fmt: skip

    applications = X_test.head(5)
    print("new applications:")
    print(applications.join(scorer.predict_pd(applications)).round(3).to_string(), "\n")
    print("default curves (cumulative PD by month on book):")
    print(scorer.predict_default_curve(applications, months=[6, 12, 24, 36]).round(3), "\n")
    print("the same loans after 12 months on book without default:")
    print(scorer.predict_pd(applications, months_on_book=12).round(3).to_string())
    print(f"\nsaved to {scorer.save(args.out)}")


if __name__ == "__main__":
    main()
