"""A small synthetic customer table, to try the task without data of your own."""

import numpy as np
import pandas as pd

CONTRACTS = ("month-to-month", "one-year", "two-year")


def make_customers(n=500, seed=0):
    """One row per customer, with gaps, and whether the customer churned.

    Churn is likelier on month-to-month contracts, in the first months, with
    more support calls and with higher charges. About 5% of the charges and
    3% of the contracts are missing.

    Args:
        n: number of customers.
        seed: seed of the draw.

    Returns:
        DataFrame with columns `tenure_months`, `monthly_charges`, `contract`,
        `support_calls` and `churned` (0 or 1).
    """
    rng = np.random.default_rng(seed)
    contract = rng.choice(CONTRACTS, size=n, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(1, 73, size=n)
    charges = rng.normal(70.0, 20.0, size=n).clip(15.0, 150.0).round(2)
    calls = rng.poisson(1.5, size=n)
    logit = (
        -1.0
        + 2.0 * (contract == "month-to-month")
        - 0.04 * tenure
        + 0.5 * calls
        + 0.02 * (charges - 70.0)
    )
    churned = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": charges,
            "contract": contract.astype(object),
            "support_calls": calls,
            "churned": churned,
        }
    )
    frame.loc[rng.random(n) < 0.05, "monthly_charges"] = np.nan
    frame.loc[rng.random(n) < 0.03, "contract"] = None
    return frame
