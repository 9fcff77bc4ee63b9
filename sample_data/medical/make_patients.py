"""Generate a small SYNTHETIC patient table for coronary heart disease prediction.

No real patient data is used: every value is drawn from the seeded random model below.
The 10-year coronary heart disease target (``diagnosis``) comes from a logistic risk
model loosely inspired by Framingham-style scores; see README.md for the formula.
Two hidden findings add to that risk and show only outside the table: exertional
angina, written in a short clinician's note (``note``), and coronary calcification,
drawn as a bright spot on a small chest image (``xray``, a path under ``xrays/``).

Usage::

    python sample_data/medical/make_patients.py --n-patients 600 --seed 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_OUT = Path(__file__).resolve().parent / "patients.csv"

REGIONS = {
    "north": 0.19,
    "south": 0.18,
    "east": 0.15,
    "west": 0.15,
    "central": 0.17,
    "coastal": 0.13,
    "highlands": 0.017,
    "islands": 0.013,
}

# Coefficients of the (hidden) risk model used to draw ``diagnosis``.
RISK_INTERCEPT = -2.75
RISK_COEF = {
    "age_per_year": 0.080,  # per year above 55
    "male": 0.70,
    "sbp_untreated_per_mmhg": 0.020,  # per mmHg above 130, no BP medication
    "sbp_treated_per_mmhg": 0.028,  # per mmHg above 130, on BP medication
    "treated": 0.30,  # being on BP medication at all
    "chol_ratio": 0.45,  # per unit of total/HDL cholesterol ratio above 4
    "current_smoker": 0.90,
    "former_smoker": 0.25,
    "current_smoker_x_age": -0.030,  # per year above 55: smoking matters more when young
    "diabetes": 0.80,
    "bmi_u_shape": 0.008,  # times (bmi - 26)^2
    "family_history_yes": 0.45,
    "creatinine_high": 0.50,  # creatinine > 150 umol/L
}
RISK_NOISE_SD = 0.3  # unobserved patient-level risk (genetics, diet, ...)
# Findings seen only in the note and the image, and their effect on the log-odds.
ANGINA_RATE = 0.25
ANGINA_EFFECT = 2.2  # exertional angina, written in the note
CALCIFICATION_EFFECT = 1.3  # per standard deviation of the calcium spot's brightness
NOTE_MISSING = 0.12
XRAY_MISSING = 0.10
IMAGE_SIDE = 32

ANGINA_PHRASES = [
    "chest tightness climbing stairs",
    "exertional chest pain relieved by rest",
    "pressure in chest when walking uphill",
    "angina on exertion",
    "chest pain radiating to left arm on effort",
]
OTHER_PHRASES = [
    "no chest pain",
    "atypical chest pain at rest",
    "mild fatigue",
    "occasional palpitations",
    "knee pain after walking",
    "seasonal cough",
    "sleeps poorly",
    "routine follow up",
    "asks about diet",
    "headache last week",
]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def risk_logit(
    age: np.ndarray,
    male: np.ndarray,
    sbp: np.ndarray,
    on_bp_medication: np.ndarray,
    total_chol: np.ndarray,
    hdl: np.ndarray,
    smoking: np.ndarray,
    diabetes: np.ndarray,
    bmi: np.ndarray,
    family_history: np.ndarray,
    creatinine: np.ndarray,
) -> np.ndarray:
    """Deterministic part of the log-odds of 10-year coronary heart disease."""
    c = RISK_COEF
    age_c = age - 55.0
    sbp_c = sbp - 130.0
    current = smoking == "current"
    former = smoking == "former"
    return (
        RISK_INTERCEPT
        + c["age_per_year"] * age_c
        + c["male"] * male
        + np.where(
            on_bp_medication,
            c["treated"] + c["sbp_treated_per_mmhg"] * sbp_c,
            c["sbp_untreated_per_mmhg"] * sbp_c,
        )
        + c["chol_ratio"] * (total_chol / hdl - 4.0)
        + current * (c["current_smoker"] + c["current_smoker_x_age"] * age_c)
        + c["former_smoker"] * former
        + c["diabetes"] * diabetes
        + c["bmi_u_shape"] * (bmi - 26.0) ** 2
        + c["family_history_yes"] * (family_history == "yes")
        + c["creatinine_high"] * (creatinine > 150.0)
    )


def make_patients(n_patients: int = 600, random_state: int = 0) -> pd.DataFrame:
    """Return a synthetic patient table, one row per patient.

    Columns: patient_id, demographics, vitals, labs (with realistic missingness),
    lifestyle / history categoricals, and the binary target ``diagnosis``
    (1 = coronary heart disease diagnosed within 10 years).
    """
    rng = np.random.default_rng(random_state)
    n = int(n_patients)

    # Demographics.
    age = np.clip(np.round(rng.normal(57.0, 12.0, n)), 30, 85).astype(int)
    male = rng.random(n) < 0.48
    sex = np.where(male, "M", "F")
    region = rng.choice(list(REGIONS), size=n, p=np.array(list(REGIONS.values())))

    # Body mass index: rises until ~60, then flattens.
    bmi = 25.0 + 0.08 * (np.minimum(age, 60) - 30) + 0.5 * male + rng.normal(0, 4.5, n)
    bmi = np.clip(bmi, 16.5, 52.0)

    # Smoking: current smoking is more common in the young and in men.
    p_current = _sigmoid(-1.1 - 0.03 * (age - 50) + 0.3 * male)
    p_former = _sigmoid(-1.0 + 0.03 * (age - 50) + 0.2 * male)
    u = rng.random(n)
    smoking = np.where(
        u < p_current, "current", np.where(u < p_current + p_former, "former", "never")
    )

    # Diabetes: more likely with high BMI and older age.
    diabetes = rng.random(n) < _sigmoid(-2.3 + 0.13 * (bmi - 27) + 0.035 * (age - 55))

    # HbA1c (%) consistent with diabetes status.
    hba1c = np.where(
        diabetes,
        rng.normal(7.6, 1.2, n),
        rng.normal(5.35, 0.35, n) + 0.02 * (bmi - 27),
    )
    hba1c = np.clip(hba1c, 4.0, 13.5)

    # Systolic BP (untreated level) rises with age and BMI; medication lowers it.
    sbp_raw = 112.0 + 0.6 * (age - 30) + 0.7 * (bmi - 25) + 4.0 * male + rng.normal(0, 14, n)
    on_bp_medication = rng.random(n) < _sigmoid(-1.3 + 0.045 * (sbp_raw - 140) + 0.03 * (age - 55))
    sbp = sbp_raw - on_bp_medication * rng.normal(10.0, 5.0, n)
    sbp = np.clip(np.round(sbp), 90, 220)
    # Diastolic BP tracks systolic but falls after ~60 (pulse pressure widens).
    dbp = 22.0 + 0.45 * sbp - 0.2 * np.maximum(age - 60, 0) + rng.normal(0, 6.5, n)
    dbp = np.clip(np.round(np.minimum(dbp, sbp - 20)), 45, 130)

    # Cholesterol (mmol/L).
    total_chol = 4.6 + 0.02 * (np.minimum(age, 65) - 30) + 0.3 * (~male) * (age > 55)
    total_chol = np.clip(total_chol + rng.normal(0, 0.95, n), 2.6, 9.8)
    hdl = 1.55 - 0.28 * male - 0.015 * (bmi - 27) - 0.1 * diabetes + rng.normal(0, 0.3, n)
    hdl = np.clip(hdl, 0.6, 3.0)

    # Creatinine (umol/L): lognormal, higher in men / old / diabetics, a few extreme outliers.
    log_creat = (
        np.log(np.where(male, 84.0, 67.0))
        + 0.004 * (age - 55)
        + 0.06 * diabetes
        + rng.normal(0, 0.17, n)
    )
    creatinine = np.exp(log_creat)
    n_outliers = min(n, max(1, round(0.015 * n)))
    outliers = rng.choice(n, size=n_outliers, replace=False)
    creatinine[outliers] = rng.uniform(250, 900, n_outliers)
    creatinine = np.round(creatinine)

    family_history = rng.choice(["yes", "no", "unknown"], size=n, p=[0.25, 0.55, 0.20])

    # Target: 10-year coronary heart disease from a noisy logistic risk model.
    logit = risk_logit(
        age,
        male,
        sbp,
        on_bp_medication,
        total_chol,
        hdl,
        smoking,
        diabetes,
        bmi,
        family_history,
        creatinine,
    )
    logit = logit + rng.normal(0, RISK_NOISE_SD, n)
    # The note's and the image's findings come from their own stream, so the table's
    # values are those of the table-only version of this file.
    findings = np.random.default_rng(random_state + 1)
    angina = findings.random(n) < ANGINA_RATE
    calcification = findings.gamma(2.0, 1.0, n)
    calcium_z = (calcification - 2.0) / np.sqrt(2.0)
    logit = logit + ANGINA_EFFECT * (angina - ANGINA_RATE) + CALCIFICATION_EFFECT * calcium_z
    diagnosis = (rng.random(n) < _sigmoid(logit)).astype(int)
    notes = [_note(has_angina, findings) for has_angina in angina]
    notes = [None if findings.random() < NOTE_MISSING else note for note in notes]
    images = [_chest_image(c, findings) for c in calcification]
    has_xray = findings.random(n) >= XRAY_MISSING

    # Missingness (applied after the target is drawn from the true values).
    bmi_obs = np.where(rng.random(n) < 0.05, np.nan, np.round(bmi, 1))
    # Lipid panel not ordered (both missing) plus occasional single-test gaps.
    panel_missing = rng.random(n) < 0.08
    tc_obs = np.where(panel_missing | (rng.random(n) < 0.02), np.nan, np.round(total_chol, 2))
    hdl_obs = np.where(panel_missing | (rng.random(n) < 0.025), np.nan, np.round(hdl, 2))
    # HbA1c: informative missingness, rarely measured in the young, almost always in diabetics.
    p_hba1c_missing = np.where(diabetes, 0.02, _sigmoid(-1.35 - 0.07 * (age - 50)))
    hba1c_obs = np.where(rng.random(n) < p_hba1c_missing, np.nan, np.round(hba1c, 1))
    smoking_obs = np.where(rng.random(n) < 0.03, None, smoking)

    df = pd.DataFrame(
        {
            "patient_id": [f"P{i:05d}" for i in range(1, n + 1)],
            "age": age.astype(int),
            "sex": sex,
            "bmi": bmi_obs,
            "systolic_bp": sbp.astype(int),
            "diastolic_bp": dbp.astype(int),
            "total_cholesterol": tc_obs,
            "hdl_cholesterol": hdl_obs,
            "hba1c": hba1c_obs,
            "smoking_status": smoking_obs,
            "diabetes": diabetes.astype(bool),
            "on_bp_medication": on_bp_medication.astype(bool),
            "family_history": family_history,
            "region": region,
            "creatinine": creatinine.astype(int),
            "note": notes,
            "xray": [f"xrays/P{i:05d}.png" if has else None for i, has in enumerate(has_xray, 1)],
            "diagnosis": diagnosis.astype(int),
        }
    )
    df.attrs["images"] = {
        f"xrays/P{i:05d}.png": image
        for i, (image, has) in enumerate(zip(images, has_xray, strict=True), 1)
        if has
    }
    return df


def _note(has_angina, rng):
    """A short clinician's note: two or three everyday phrases, and the angina if present."""
    phrases = list(rng.choice(OTHER_PHRASES, size=rng.integers(2, 4), replace=False))
    if has_angina:
        phrases.insert(rng.integers(0, len(phrases) + 1), rng.choice(ANGINA_PHRASES))
    return ". ".join(phrases).capitalize() + "."


def _chest_image(calcification, rng):
    """A 32 x 32 grey chest-like image: lungs, ribs, noise, and a calcium spot.

    The spot's brightness grows with `calcification`; its place varies a little.
    """
    side = IMAGE_SIDE
    y, x = np.mgrid[0:side, 0:side] / (side - 1)
    lungs = np.exp(-(((x - 0.3) / 0.16) ** 2 + ((y - 0.5) / 0.3) ** 2))
    lungs += np.exp(-(((x - 0.7) / 0.16) ** 2 + ((y - 0.5) / 0.3) ** 2))
    ribs = 0.15 * (np.sin(2 * np.pi * 6 * y + rng.uniform(0, 2 * np.pi)) > 0.7)
    cy, cx = 0.55 + rng.normal(0, 0.05), 0.5 + rng.normal(0, 0.05)
    spot = np.exp(-(((x - cx) / 0.06) ** 2 + ((y - cy) / 0.06) ** 2))
    image = 0.25 + 0.35 * lungs + ribs + 0.12 * calcification * spot
    image += rng.normal(0, 0.06, (side, side))
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=600, help="number of rows")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV path")
    args = parser.parse_args(argv)
    df = make_patients(n_patients=args.n_patients, random_state=args.seed)
    from PIL import Image

    for relative, image in df.attrs.pop("images").items():
        path = args.out.parent / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path, optimize=True)
    df.to_csv(args.out, index=False, lineterminator="\n")
    print(f"wrote {len(df)} patients to {args.out} (prevalence {df['diagnosis'].mean():.3f})")


if __name__ == "__main__":
    main()
