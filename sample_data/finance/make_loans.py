"""Writes `loans.csv`: a synthetic loan book with months to default, censored at a snapshot.

Loans were originated over three years and observed until a snapshot one
year after the last origination. A loan's time is its months on book until
it defaulted (event), was repaid at maturity or prepaid, or the snapshot
came while it was still running (all three censored). Monthly default
hazards follow a seasoning curve that peaks around month 10, and the
credit score's effect fades as a loan ages while the debt-to-income
ratio's grows: the hazards are not proportional.

Usage (from the repository root; needs only numpy and pandas):

    python sample_data/finance/make_loans.py [--n-loans 3000] [--seed 0] [--out PATH]
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ORIGINATION_MONTHS = 36
SNAPSHOT_MONTH = 48  # Months after the first origination.
PREPAYMENT_PER_MONTH = 0.008
PURPOSES = ["debt_consolidation", "car", "home_improvement", "business", "other"]
PURPOSE_EFFECT = {"debt_consolidation": 0.1, "car": -0.2, "home_improvement": -0.1,
                  "business": 0.5, "other": 0.2}  # fmt: skip


def make_loans(n_loans=3000, random_state=0):
    """The loan book as a DataFrame, deterministic for a given `(n_loans, random_state)`.

    Returns:
        DataFrame with `loan_id`, `origination` (YYYY-MM), the loan's
        features, `months_on_book` and `defaulted` (1 default, 0 censored).
    """
    rng = np.random.default_rng(random_state)
    n = n_loans
    credit_score = np.clip(rng.normal(690, 55, n), 500, 850).round()
    z_score = (credit_score - 690) / 55
    income = np.round(rng.lognormal(10.9, 0.45, n), -2)
    term = rng.choice([12, 24, 36, 60], n, p=[0.15, 0.3, 0.35, 0.2])
    amount = np.round(np.clip(income * rng.uniform(0.1, 0.6, n), 1000, 60000), -2)
    debt_to_income = np.clip(rng.normal(0.28, 0.1, n) + amount / income * 0.1, 0.02, 0.75)
    interest_rate = np.clip(0.11 - 0.035 * z_score + rng.normal(0, 0.01, n), 0.03, 0.3).round(4)
    employment_years = np.clip(rng.gamma(2.0, 3.0, n), 0, 40).round(1)
    employment_years[rng.random(n) < 0.05] = np.nan  # Not stated.
    home = rng.choice(["rent", "mortgage", "own"], n, p=[0.45, 0.4, 0.15])
    purpose = rng.choice(PURPOSES, n, p=[0.4, 0.2, 0.15, 0.1, 0.15])
    start = rng.integers(0, ORIGINATION_MONTHS, n)
    fixed = (
        -0.3 * (home == "own")
        + pd.Series(purpose).map(PURPOSE_EFFECT).to_numpy()
        - 0.04 * np.nan_to_num(employment_years, nan=2.0)
        + 0.15 * (term == 60)
    )
    months = np.arange(1, SNAPSHOT_MONTH + 1)
    seasoning = 0.006 * (months / 10.0) * np.exp(1 - months / 10.0) + 0.0015
    # The score matters most early; the debt burden more as the loan ages.
    score_effect = -0.2 - 1.2 * np.exp(-months / 18.0)
    dti_effect = 2.0 + 4.0 * (1 - np.exp(-months / 18.0))
    log_hazard = (
        np.log(seasoning)[None, :]
        + fixed[:, None]
        + z_score[:, None] * score_effect[None, :]
        + (debt_to_income[:, None] - 0.3) * dti_effect[None, :]
    )
    hazard = 1 - np.exp(-np.exp(log_hazard))
    observed = np.minimum(SNAPSHOT_MONTH - start, term)  # Months until snapshot or maturity.
    prepay = rng.geometric(PREPAYMENT_PER_MONTH, n)
    draws = rng.random((n, SNAPSHOT_MONTH)) < hazard
    first_default = np.where(draws.any(axis=1), draws.argmax(axis=1) + 1, SNAPSHOT_MONTH + 1)
    end = np.minimum(observed, prepay)
    defaulted = (first_default <= end).astype(int)
    months_on_book = np.where(defaulted == 1, first_default, end)
    year, month = 2021 + start // 12, start % 12 + 1
    return pd.DataFrame(
        {
            "loan_id": [f"L{i + 1:06d}" for i in range(n)],
            "origination": [f"{y}-{m:02d}" for y, m in zip(year, month, strict=True)],
            "amount": amount,
            "term_months": term,
            "interest_rate": interest_rate,
            "annual_income": income,
            "debt_to_income": debt_to_income.round(3),
            "credit_score": credit_score.astype(int),
            "employment_years": employment_years,
            "home_ownership": home,
            "purpose": purpose,
            "months_on_book": months_on_book.astype(int),
            "defaulted": defaulted,
        }
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-loans", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).with_name("loans.csv")))
    args = parser.parse_args()
    frame = make_loans(args.n_loans, args.seed)
    frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame)} loans ({frame['defaulted'].sum()} defaults) to {args.out}")


if __name__ == "__main__":
    main()
