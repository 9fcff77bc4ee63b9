"""Generate a SYNTHETIC table of consumer credit applicants for default prediction.

No real customer data is used and nothing is downloaded: every value is drawn from the
seeded random model below. The layout follows classic credit tables such as the German
credit data (checking account, savings, credit history, purpose, housing, ...). The target
``default`` (1 = bad) comes from a logistic risk model with monotone effects; see README.md
for the formula. Applications are spread over two years and the population drifts mildly
over time (later applicants are a little younger and borrow a little more), so that
out-of-time splits and population stability checks have something to find.

Usage::

    python sample_data/finance/make_applicants.py --n-applicants 2000 --seed 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_OUT = Path(__file__).resolve().parent / "applicants.csv"

START_DATE = np.datetime64("2023-01-01")
N_DAYS = 731  # 2023-01-01 .. 2024-12-31

PURPOSES = {  # share, typical loan amount (EUR)
    "car": (0.30, 9000.0),
    "furniture": (0.20, 2500.0),
    "education": (0.10, 6000.0),
    "business": (0.10, 12000.0),
    "renovation": (0.15, 8000.0),
    "other": (0.15, 3000.0),
}
CHECKING_LEVELS = ["none", "<0", "0-200", ">200"]
SAVINGS_LEVELS = ["unknown", "<100", "100-500", "500-1000", ">1000"]
HISTORY_LEVELS = ["no_credits", "all_paid", "existing_paid", "delayed", "critical"]
DURATIONS = np.array([6, 12, 18, 24, 36, 48, 60])

# Coefficients of the (hidden) risk model used to draw ``default``.
RISK_INTERCEPT = -0.85
RISK_COEF = {
    "debt_to_income": 3.0,  # per unit of debt_to_income above 0.25
    "dti_x_rent": 1.8,  # extra per unit of debt_to_income above 0.25 for renters
    "late_payments": 0.70,  # times log(1 + number_of_late_payments)
    "age_per_year": -0.018,  # per year above 35
    "log_income": -0.55,  # per unit of log(income / 30000)
    "employment": -0.28,  # times log(1 + employment_years)
    "duration_per_month": 0.012,  # per month above 24
    "checking": {"none": -0.60, "<0": 0.85, "0-200": 0.25, ">200": -0.40},
    "savings": {"unknown": 0.0, "<100": 0.30, "100-500": 0.05, "500-1000": -0.25, ">1000": -0.50},
    "history": {
        "no_credits": 0.35,
        "all_paid": -0.40,
        "existing_paid": 0.0,
        "delayed": 0.45,
        "critical": 0.95,
    },
    "purpose": {
        "car": -0.10,
        "furniture": 0.0,
        "education": 0.20,
        "business": 0.35,
        "renovation": -0.15,
        "other": 0.10,
    },
    "housing": {"own": -0.25, "rent": 0.0, "free": 0.10},
}
RISK_NOISE_SD = 0.4  # unobserved applicant-level risk (job loss, illness, ...)
# What applicants write about the loan (``description``): hardship raises the risk,
# a cushion lowers it; neither shows in the other columns.
HARDSHIP_RATE, HARDSHIP_EFFECT = 0.15, 1.4
CUSHION_RATE, CUSHION_EFFECT = 0.20, -0.7
DESCRIPTION_MISSING = 0.08
PURPOSE_PHRASES = {
    "car": ["buying a used car for work", "replacing my old car", "a family car"],
    "furniture": ["new furniture for the flat", "a sofa and beds", "kitchen furniture"],
    "education": ["tuition for a nursing course", "my daughter's university fees", "a diploma"],
    "business": ["stock for my shop", "equipment for my bakery", "starting a small business"],
    "renovation": ["a new roof", "renovating the bathroom", "insulation for the house"],
    "other": ["a wedding", "moving costs", "a family holiday"],
}
HARDSHIP_PHRASES = [
    "after losing my job last month",
    "to cover medical bills",
    "I am behind on rent",
    "to pay off payday loans",
    "since my hours were cut",
]
CUSHION_PHRASES = [
    "I have saved half of it already",
    "refinancing at a lower rate",
    "my partner's income covers the bills",
    "paying it back early from a bonus",
]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _lookup(table: dict[str, float], values: np.ndarray) -> np.ndarray:
    return np.array([table[v] for v in values], dtype=float)


def risk_logit(
    debt_to_income: np.ndarray,
    housing: np.ndarray,
    late_payments: np.ndarray,
    age: np.ndarray,
    income: np.ndarray,
    employment_years: np.ndarray,
    duration: np.ndarray,
    checking: np.ndarray,
    savings: np.ndarray,
    history: np.ndarray,
    purpose: np.ndarray,
) -> np.ndarray:
    """Deterministic part of the log-odds of default. Sex is deliberately not an input."""
    c = RISK_COEF
    dti_c = debt_to_income - 0.25
    return (
        RISK_INTERCEPT
        + c["debt_to_income"] * dti_c
        + c["dti_x_rent"] * dti_c * (housing == "rent")
        + c["late_payments"] * np.log1p(late_payments)
        + c["age_per_year"] * (age - 35.0)
        + c["log_income"] * np.log(income / 30000.0)
        + c["employment"] * np.log1p(employment_years)
        + c["duration_per_month"] * (duration - 24.0)
        + _lookup(c["checking"], checking)
        + _lookup(c["savings"], savings)
        + _lookup(c["history"], history)
        + _lookup(c["purpose"], purpose)
        + _lookup(c["housing"], housing)
    )


def make_applicants(n_applicants: int = 2000, random_state: int = 0) -> pd.DataFrame:
    """Return a synthetic credit applicant table, one row per application.

    Columns: applicant_id, application_date (two years, for out-of-time splits),
    demographics, employment and income (with missing values), loan terms, account and
    credit-history categoricals, derived debt_to_income, late payments and the binary
    target ``default`` (1 = bad).
    """
    rng = np.random.default_rng(random_state)
    n = int(n_applicants)

    # Application date, uniform over two years; t in [0, 1] drives the population drift.
    day = np.sort(rng.integers(0, N_DAYS, n))
    application_date = START_DATE + day.astype("timedelta64[D]")
    t = day / (N_DAYS - 1)

    # Demographics. Applicants at the end of the period are about 5 years younger on average
    # than at the start.
    age = 19.0 + rng.gamma(2.2, 8.0, n) * (1.0 - 0.3 * t) + rng.normal(0, 1.5, n)
    age = np.clip(np.round(age), 19, 75).astype(int)
    female = rng.random(n) < 0.42
    sex = np.where(female, "F", "M")
    p_widowed = np.clip(0.008 * (age - 55), 0.0, 0.25)
    p_divorced = np.clip(0.005 * (age - 22), 0.0, 0.15)
    p_married = (1 - p_widowed - p_divorced) * _sigmoid(-1.6 + 0.09 * (age - 25))
    u = rng.random(n)
    marital_status = np.select(
        [u < p_widowed, u < p_widowed + p_divorced, u < p_widowed + p_divorced + p_married],
        ["widowed", "divorced", "married"],
        "single",
    )

    # Employment years: bounded by working age; women have slightly shorter tenure
    # (career breaks), which is one route by which sex correlates with risk.
    max_years = np.maximum(age - 18, 0)
    employment_years = rng.gamma(1.3, 1.0, n) * (0.25 * max_years + 1.0) * (1 - 0.15 * female)
    employment_years = np.minimum(np.floor(employment_years), max_years)

    # Annual income (EUR): lognormal, rises with age (until ~50) and tenure; lower for women.
    log_income = (
        np.log(30000.0)
        + 0.015 * (np.minimum(age, 50) - 35)
        + 0.08 * np.log1p(employment_years)
        - 0.12 * female
        + 0.08 * (marital_status == "married")
        + rng.normal(0, 0.42, n)
    )
    income = np.round(np.exp(log_income), -2)
    income = np.maximum(income, 6000.0)

    # Housing depends on age and income.
    p_own = _sigmoid(-1.3 + 0.07 * (age - 25) + 0.9 * np.log(income / 30000.0))
    p_free = np.where(age < 26, 0.22, 0.04)
    u = rng.random(n)
    housing = np.where(u < p_own, "own", np.where(u < p_own + p_free, "free", "rent"))

    # Accounts and credit history.
    checking_p = np.column_stack(
        [
            np.full(n, 0.38),
            np.full(n, 0.24) * np.exp(-0.3 * np.log(income / 30000.0)),
            np.full(n, 0.28),
            np.full(n, 0.10) * np.exp(0.6 * np.log(income / 30000.0)),
        ]
    )
    checking_p /= checking_p.sum(axis=1, keepdims=True)
    checking = np.array(CHECKING_LEVELS)[(rng.random((n, 1)) > checking_p.cumsum(1)).sum(1)]
    sav_shift = 0.5 * np.log(income / 30000.0) + 0.02 * (age - 35)
    sav_score = sav_shift + rng.normal(0, 1.0, n)
    savings = np.select(
        [sav_score < -0.1, sav_score < 0.7, sav_score < 1.2],
        ["<100", "100-500", "500-1000"],
        ">1000",
    )
    savings = np.where(rng.random(n) < 0.18, "unknown", savings)

    existing_credits = 1 + rng.poisson(0.25 + 0.012 * (age - 19), n)
    existing_credits = np.minimum(existing_credits, 4)
    p_none = np.where(existing_credits == 1, _sigmoid(-1.5 - 0.08 * (age - 25)), 0.0)
    hist_u = rng.random(n)
    hist_score = rng.normal(0, 1, n)
    history = np.select(
        [hist_u < p_none, hist_score < -0.6, hist_score < 1.0, hist_score < 1.6],
        ["no_credits", "all_paid", "existing_paid", "delayed"],
        "critical",
    )

    # Late payments (last 2 years): skewed counts, more with a bad history.
    late_rate = 0.15 * np.exp(1.1 * np.clip(hist_score, -1, 3)) * (history != "no_credits")
    number_of_late_payments = rng.negative_binomial(1, 1 / (1 + late_rate))

    # Loan terms. At the end of the period applicants borrow about 60 % more (all else equal).
    purpose_names = list(PURPOSES)
    purpose_p = np.array([p for p, _ in PURPOSES.values()])
    purpose = rng.choice(purpose_names, size=n, p=purpose_p)
    typical = _lookup({k: v for k, (_, v) in PURPOSES.items()}, purpose)
    loan_amount = typical * (income / 30000.0) ** 0.5 * (1 + 0.6 * t)
    loan_amount = np.clip(np.round(loan_amount * rng.lognormal(0, 0.55, n), -1), 250, 60000)
    dur_idx = np.clip(
        np.round(1.2 + 1.4 * np.log(loan_amount / 2000.0) + rng.normal(0, 0.9, n)),
        0,
        len(DURATIONS) - 1,
    ).astype(int)
    loan_duration_months = DURATIONS[dur_idx]

    # Debt to income: annual payments (this loan at ~7 % plus ~2,400 per existing credit)
    # divided by annual income.
    monthly_rate = 0.07 / 12
    instalment = loan_amount * monthly_rate / (1 - (1 + monthly_rate) ** -loan_duration_months)
    other_debt = 2400.0 * (existing_credits - 1) * rng.uniform(0.5, 1.5, n)
    debt_to_income = (12 * instalment + other_debt) / income

    # Target: default from a noisy logistic risk model (uses the true values).
    logit = risk_logit(
        debt_to_income,
        housing,
        number_of_late_payments,
        age,
        income,
        employment_years,
        loan_duration_months,
        checking,
        savings,
        history,
        purpose,
    )
    logit = logit + rng.normal(0, RISK_NOISE_SD, n)
    # The description comes from its own stream, so the other columns keep their values.
    words = np.random.default_rng(random_state + 1)
    hardship = words.random(n) < HARDSHIP_RATE
    cushion = ~hardship & (words.random(n) < CUSHION_RATE)
    logit = (
        logit
        + HARDSHIP_EFFECT * (hardship - HARDSHIP_RATE)
        + CUSHION_EFFECT * (cushion - CUSHION_RATE * (1 - HARDSHIP_RATE))
    )
    default = (rng.random(n) < _sigmoid(logit)).astype(int)
    description = [
        None if words.random() < DESCRIPTION_MISSING else _description(p, h, c, words)
        for p, h, c in zip(purpose, hardship, cushion, strict=True)
    ]

    # Missingness (applied after the target is drawn). Income is missing more often for
    # the self-employed-looking business loans; debt_to_income is missing with income.
    p_income_missing = np.where(purpose == "business", 0.15, 0.06)
    income_missing = rng.random(n) < p_income_missing
    income_obs = np.where(income_missing, np.nan, income)
    dti_obs = np.where(income_missing, np.nan, np.round(debt_to_income, 3))
    emp_obs = np.where(rng.random(n) < 0.05, np.nan, employment_years)

    df = pd.DataFrame(
        {
            "applicant_id": [f"A{i:05d}" for i in range(1, n + 1)],
            "application_date": pd.to_datetime(application_date).strftime("%Y-%m-%d"),
            "age": age,
            "sex": sex,
            "marital_status": marital_status,
            "employment_years": pd.array(emp_obs, dtype="Int64"),
            "income": pd.array(income_obs, dtype="Int64"),
            "loan_amount": loan_amount.astype(int),
            "loan_duration_months": loan_duration_months.astype(int),
            "purpose": purpose,
            "checking_account_status": checking,
            "savings": savings,
            "credit_history": history,
            "existing_credits": existing_credits.astype(int),
            "housing": housing,
            "debt_to_income": dti_obs,
            "number_of_late_payments": number_of_late_payments.astype(int),
            "description": description,
            "default": default,
        }
    )
    return df


def _description(purpose, hardship, cushion, rng):
    """The applicant's own words: what the loan is for, and now and then why."""
    text = "Loan for " + str(rng.choice(PURPOSE_PHRASES[purpose]))
    if hardship:
        text += ", " + str(rng.choice(HARDSHIP_PHRASES))
    elif cushion:
        text += ", " + str(rng.choice(CUSHION_PHRASES))
    return text + "."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-applicants", type=int, default=2000, help="number of rows")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV path")
    args = parser.parse_args(argv)
    df = make_applicants(n_applicants=args.n_applicants, random_state=args.seed)
    df.to_csv(args.out, index=False, lineterminator="\n")
    print(f"wrote {len(df)} applicants to {args.out} (bad rate {df['default'].mean():.3f})")


if __name__ == "__main__":
    main()
