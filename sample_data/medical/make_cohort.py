"""Writes `cohort.csv`: a synthetic cancer cohort with censored survival times.

The hazard is known and is not proportional: the treatment's effect crosses
over time (surgery is riskier than chemotherapy in the first months, safer
afterwards) and the biomarker's effect fades after the first year. A Cox
model that assumes one hazard ratio per column cannot fit both.

Usage (from the repository root; needs only numpy and pandas):

    python sample_data/medical/make_cohort.py [--n-patients 1200] [--seed 0] [--out PATH]
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

# Piecewise-constant hazard: pieces start at these days.
PIECES = np.array([0.0, 180.0, 365.0, 1095.0])
# Baseline hazard per day in each piece.
BASELINE = np.array([4e-4, 3e-4, 2.5e-4, 2e-4])
# Log hazard ratio of surgery (against chemotherapy) in each piece: it crosses 0.
SURGERY = np.array([0.9, -0.3, -0.8, -0.8])
# Log hazard ratio per standard deviation of the biomarker: it fades.
BIOMARKER = np.array([0.9, 0.6, 0.1, 0.0])
STAGE_EFFECT = {"I": 0.0, "II": 0.4, "III": 0.9, "IV": 1.6}
FOLLOW_UP_DAYS = 1825.0  # Administrative censoring at five years.


def make_cohort(n_patients=1200, random_state=0):
    """The cohort as a DataFrame, deterministic for a given `(n_patients, random_state)`.

    Returns:
        DataFrame with `patient_id`, the covariates, `days` (time to death or
        censoring) and `died` (1 death, 0 censored).
    """
    rng = np.random.default_rng(random_state)
    n = n_patients
    age = np.clip(rng.normal(64, 11, n), 30, 92).round()
    sex = rng.choice(["F", "M"], n)
    stage = rng.choice(list(STAGE_EFFECT), n, p=[0.25, 0.3, 0.3, 0.15])
    ecog = rng.choice([0, 1, 2, 3], n, p=[0.4, 0.35, 0.18, 0.07])
    # Surgery is offered less often at late stages and to frail patients.
    p_surgery = 1 / (1 + np.exp(-(1.2 - 0.6 * pd.Series(stage).map(
        {"I": 0, "II": 1, "III": 2, "IV": 3}).to_numpy() - 0.5 * ecog)))  # fmt: skip
    treatment = np.where(rng.random(n) < p_surgery, "surgery", "chemotherapy")
    biomarker = rng.lognormal(3.0, 0.6, n).round(1)  # ng/mL
    z_biomarker = (np.log(biomarker) - 3.0) / 0.6
    albumin = np.clip(rng.normal(39 - 1.5 * ecog, 4, n), 20, 52).round(1)
    albumin[rng.random(n) < 0.1] = np.nan  # Not measured for one patient in ten.
    bmi = np.clip(rng.normal(26, 4.5, n), 16, 45).round(1)
    fixed = (
        0.035 * (age - 64)
        + 0.15 * (sex == "M")
        + pd.Series(stage).map(STAGE_EFFECT).to_numpy()
        + 0.35 * ecog
        - 0.05 * np.nan_to_num(albumin - 39, nan=0.0)
    )
    surgery = treatment == "surgery"
    # Hazard of each patient in each piece, then inverse-transform sampling.
    log_hazard = (
        np.log(BASELINE)[None, :]
        + fixed[:, None]
        + surgery[:, None] * SURGERY[None, :]
        + z_biomarker[:, None] * BIOMARKER[None, :]
    )
    hazard = np.exp(log_hazard)
    widths = np.diff(np.append(PIECES, np.inf))
    target = rng.exponential(size=n)  # The cumulative hazard at which each patient dies.
    time = np.full(n, np.inf)
    spent = np.zeros(n)
    for piece in range(len(PIECES)):
        capacity = hazard[:, piece] * widths[piece]
        dies_here = np.isinf(time) & (spent + capacity >= target)
        time[dies_here] = (
            PIECES[piece] + (target[dies_here] - spent[dies_here]) / hazard[dies_here, piece]
        )
        spent += capacity
    dropout = rng.uniform(200, 4000, n)  # Lost to follow-up.
    censor = np.minimum(dropout, FOLLOW_UP_DAYS)
    died = (time <= censor).astype(int)
    days = np.ceil(np.minimum(time, censor)).astype(int)
    return pd.DataFrame(
        {
            "patient_id": [f"C{i + 1:05d}" for i in range(n)],
            "age": age.astype(int),
            "sex": sex,
            "stage": stage,
            "ecog": ecog,
            "treatment": treatment,
            "biomarker": biomarker,
            "albumin": albumin,
            "bmi": bmi,
            "days": days,
            "died": died,
        }
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).with_name("cohort.csv")))
    args = parser.parse_args()
    frame = make_cohort(args.n_patients, args.seed)
    frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame)} patients ({frame['died'].sum()} deaths) to {args.out}")


if __name__ == "__main__":
    main()
