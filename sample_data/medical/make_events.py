"""Generate SYNTHETIC dated clinical events (diagnoses, drugs, labs) for heart failure prediction.

No real patient data is used and nothing is downloaded: every event is drawn from the seeded
random model below. Each patient has visits between 2018-01-01 and 2022-12-31 at a
patient-specific rate, with 1-6 codes per visit:

* diagnoses as ICD-10 style three-character codes (``I10`` hypertension, ``E11`` type 2
  diabetes, ``N18`` chronic kidney disease, ``I21`` myocardial infarction, ``I48`` atrial
  fibrillation, ``J44`` COPD, ``I50`` heart failure, ... and 118 routine codes such as
  ``J06``, ``M54`` or ``Z00`` with Zipf-like frequencies that carry no signal),
* drugs as ``RX:<NAME>`` (``RX:ACEI``, ``RX:METFORMIN``, ...), started after the diagnosis
  they treat with a patient-specific delay, or never,
* labs as ``LAB:<NAME>`` with a numeric ``value`` (``LAB:BNP``, ``LAB:HBA1C``, ...).

Chronic conditions appear at some point (or exist from the first visit) and then recur at
later visits. The task the data is made for: from the history up to and including
``PREDICTION_DATE`` (2021-01-01), predict ``OUTCOME_CODE`` (``I50``, heart failure) within
``HORIZON_DAYS`` (365) days after it. The events after the cutoff are written too (the
outcome itself, later visits and routine codes), so the label must be derived from them.

The log-odds of heart failure within the year after the cutoff is computed from the
recorded history (see ``RISK_COEF``). Besides plain count effects (number of chronic
conditions, number of visits, atrial fibrillation, COPD, diabetes, CKD) it has four parts
that a bag-of-codes count model cannot capture fully:

1. Recency: a myocardial infarction ``I21`` shortly before the cutoff raises the risk far
   more than an old one (the effect decays with a time constant of 150 days).
2. Order / treatment: hypertension ``I10`` whose first ``RX:ACEI`` comes no later than 90
   days after the first ``I10`` code lowers the risk against hypertension that stays
   untreated or is treated late. ``RX:ACEI`` without ``I10`` (given for diabetes or CKD)
   has no effect, and other blood-pressure drugs have none either.
3. Lab trend: the slope of ``LAB:BNP`` over time raises the risk much more than its level.
4. Interaction: ``E11`` together with ``N18`` raises the risk beyond the sum of both.

Usage::

    python sample_data/medical/make_events.py --n-patients 1500 --seed 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_OUT = Path(__file__).resolve().parent / "events.csv"

OUTCOME_CODE = "I50"
PREDICTION_DATE = "2021-01-01"
HORIZON_DAYS = 365  # label: OUTCOME_CODE on a date in (PREDICTION_DATE, PREDICTION_DATE + 365d]
START_DATE = "2018-01-01"
END_DATE = "2022-12-31"

_START = np.datetime64(START_DATE, "D")
_CUTOFF = int((np.datetime64(PREDICTION_DATE, "D") - _START).astype(int))  # day 1096
_END = int((np.datetime64(END_DATE, "D") - _START).astype(int))  # day 1825
_BNP_CENTRE = int((np.datetime64("2020-07-01", "D") - _START).astype(int))  # BNP trend pivot

MAX_CODES_PER_VISIT = 6

# Visits: a patient-specific rate (visits per year, gamma distributed, higher for frail
# patients), exponential gaps between regular visits (Poisson process).
VISIT_RATE_MEAN = 3.2
VISIT_RATE_SHAPE = 1.4
VISIT_RATE_RANGE = (0.4, 16.0)
NOISE_CODES_PER_VISIT = 0.8  # Poisson mean of routine codes per regular visit

# Chronic conditions: code -> (base log-odds of having it by 2022-12-31, effect of frailty,
# share present before 2018, probability of being coded again at a later visit).
# ``N18`` is also more likely with ``E11`` (+1.8 log-odds) and ``I10`` (+0.5).
CHRONIC = {
    "I10": (-0.55, 0.6, 0.55, 0.55),  # hypertension
    "E78": (-1.2, 0.4, 0.5, 0.45),  # hyperlipidaemia
    "E11": (-1.7, 0.5, 0.5, 0.6),  # type 2 diabetes
    "N18": (-3.0, 0.5, 0.35, 0.5),  # chronic kidney disease
    "J44": (-2.6, 0.5, 0.5, 0.5),  # COPD
    "I48": (-2.6, 0.6, 0.4, 0.5),  # atrial fibrillation
}
P_MI = 0.16  # myocardial infarction I21 at a uniform day in 2018-2022 (more if frail)
P_MI_RECODED = 0.5  # I21 coded again at the first regular visit after the infarction
P_I25_RECUR = 0.3  # chronic ischaemic heart disease I25 at each later visit
P_PRIOR_HF = 0.03  # heart failure I50 already before the cutoff (more if frail)
P_HF_RECUR = 0.6  # I50 coded again at later visits

# Hypertension -> RX:ACEI: prompt (0-60 days, often at the same visit), late (120-540 days)
# or never.
P_ACEI_PROMPT, P_ACEI_LATE = 0.45, 0.25
PROMPT_DAYS = 90  # "prompt" in the risk model: first ACEI <= first I10 + 90 days
P_ACEI_OTHER = 0.3  # ACEI for diabetes or CKD without hypertension (nephroprotection)
P_ACEI_RANDOM = 0.02

# Drugs: code -> list of (drug, probability, min delay, max delay) in days after diagnosis.
DRUGS = {
    "I10": [("RX:CCB", 0.3, 0, 600), ("RX:DIURETIC", 0.25, 0, 700)],
    "E78": [("RX:STATIN", 0.7, 0, 300)],
    "E11": [("RX:METFORMIN", 0.8, 0, 200), ("RX:INSULIN", 0.12, 200, 900)],
    "N18": [],
    "J44": [("RX:INHALER", 0.85, 0, 120)],
    "I48": [("RX:ANTICOAG", 0.75, 0, 90), ("RX:BETA_BLOCKER", 0.5, 0, 90)],
    "I21": [("RX:BETA_BLOCKER", 0.85, 0, 0), ("RX:STATIN", 0.9, 0, 0), ("RX:ASPIRIN", 0.9, 0, 0)],
    "I50": [("RX:DIURETIC", 0.9, 0, 0), ("RX:BETA_BLOCKER", 0.6, 0, 60), ("RX:ACEI", 0.5, 0, 60)],
}
P_DRUG_REFILL = 0.45  # an active drug is coded at each later regular visit

# Labs: probability per regular visit once an indication is diagnosed / otherwise.
LAB_RATES = {
    "LAB:HBA1C": (0.35, 0.05),
    "LAB:CREATININE": (0.3, 0.06),
    "LAB:BNP": (0.6, 0.10),
    "LAB:LDL": (0.2, 0.04),
}
LAB_INDICATIONS = {
    "LAB:HBA1C": ("E11",),
    "LAB:CREATININE": ("N18", "E11", "I10"),
    "LAB:BNP": ("I10", "I21", "I48", "J44", "N18", "I50"),
    "LAB:LDL": ("E78", "I21"),
}
BNP_RANGE = (2.0, 5000.0)  # pg/mL, values are clipped to it
BNP_TREND_SD = (1.0, 0.15)  # sd of the latent log-BNP slope: >= 2 BNP values by the cutoff / not

# Hidden risk model: log-odds of I50 within 365 days after the cutoff, from the history.
RISK_INTERCEPT = -3.6
RISK_COEF = {
    "frailty": 0.2,  # latent age-like background (also drives visits and conditions)
    "n_chronic": 0.35,  # per distinct chronic diagnosis in the history (I10 E78 E11 N18 J44 I48)
    "log_visits": 0.4,  # per log(1 + number of regular visits in the history)
    "mi_old": 0.4,  # any I21 in the history
    "mi_recent": 3.5,  # times exp(-days since the last I21 / MI_DECAY_DAYS)
    "hypertension_unprotected": 1.5,  # I10 without RX:ACEI by first I10 + 90 days
    "bnp_slope": 2.3,  # per unit of the latent log-BNP slope (per year)
    "bnp_level": 0.3,  # per unit of the latent log-BNP level
    "diabetes": 0.2,
    "ckd": 0.3,
    "diabetes_x_ckd": 2.2,  # E11 and N18 both in the history
    "atrial_fibrillation": 0.5,
    "copd": 0.3,
}
MI_DECAY_DAYS = 150.0
RISK_NOISE_SD = 0.3  # unobserved patient-level risk
YEAR2_SHIFT = -0.5  # log-odds shift for I50 in the second year after the cutoff

# Routine codes that carry no signal, most common first (drawn with Zipf weights).
NOISE_CODES = (
    "J06 Z00 M54 K21 R51 J02 J20 N39 R10 L30 H10 B34 R05 K59 M25 F41 F32 G43 R42 R53 Z23 "
    "J30 K29 L70 M79 R07 R11 S93 T14 Z01 Z30 H66 J01 J03 J18 K52 L02 L03 M17 M19 M47 M75 "
    "M77 N30 N76 R00 R21 R50 R52 S60 S61 S80 S83 Z02 Z11 Z12 Z71 Z76 A09 B35 B36 D50 E03 "
    "E55 E66 F10 F17 F43 F51 G47 G56 H52 H60 H61 H81 I83 I84 J32 J45 K08 K30 K57 K58 K64 "
    "K80 L20 L21 L60 L72 L82 M10 M23 M53 M65 M72 N20 N40 N95 R03 R09 R19 R20 R35 R31 R63 "
    "R68 S01 S09 S39 S42 S52 S62 S82 S92 T78 Z13 Z34 Z52"
).split()
NOISE_ZIPF_EXPONENT = 1.1


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


_NOISE_P = 1.0 / np.arange(1, len(NOISE_CODES) + 1) ** NOISE_ZIPF_EXPONENT
_NOISE_P /= _NOISE_P.sum()


class _Patient:
    """Event list of one patient: day -> codes in insertion order (each code once a day)."""

    def __init__(self) -> None:
        self.days: dict[int, dict[str, float]] = {}

    def add(self, day: int, code: str, value: float = np.nan) -> None:
        codes = self.days.setdefault(int(day), {})
        if code not in codes:
            codes[code] = value


def _kind(code: str) -> int:
    return 2 if code.startswith("LAB:") else 1 if code.startswith("RX:") else 0


def _first_visit_on_or_after(visits: np.ndarray, day: float) -> int | None:
    i = int(np.searchsorted(visits, day, side="left"))
    return int(visits[i]) if i < len(visits) else None


def _simulate_patient(rng: np.random.Generator, pid: int) -> tuple[list[tuple], dict]:
    """Draw the events of one patient; return (rows, patient-level facts)."""
    frailty = rng.normal()

    # Regular visits: Poisson process with a patient-specific rate, >= 1 visit before cutoff.
    rate = rng.gamma(VISIT_RATE_SHAPE, VISIT_RATE_MEAN / VISIT_RATE_SHAPE) * np.exp(0.25 * frailty)
    rate = float(np.clip(rate, *VISIT_RATE_RANGE))
    n_draw = int(rate * 5 * 2 + 20)
    visits = np.cumsum(rng.exponential(365.25 / rate, n_draw)).astype(int)
    visits = visits[visits <= _END]
    if not np.any(visits <= _CUTOFF):
        visits = np.append(visits, rng.integers(0, _CUTOFF + 1))
    visits = np.unique(visits)

    p = _Patient()

    # Chronic conditions: diagnosis day = first regular visit on or after the onset.
    diag: dict[str, int] = {}
    has = {}
    for code, (base, b_frail, pre, _) in CHRONIC.items():
        logit = base + b_frail * frailty
        if code == "N18":
            logit += 1.8 * has.get("E11", False) + 0.5 * has.get("I10", False)
        has[code] = rng.random() < _sigmoid(logit)
        onset = -1.0 if rng.random() < pre else rng.uniform(0, _END)
        if has[code]:
            d = _first_visit_on_or_after(visits, onset)
            if d is not None:
                diag[code] = d

    # Myocardial infarction: an admission on its own day.
    mi_day = None
    if rng.random() < P_MI * np.exp(0.4 * frailty) / np.exp(0.08):
        mi_day = int(rng.integers(0, _END + 1))
        diag["I21"] = mi_day

    # Heart failure already before the cutoff (few patients).
    prior_hf = rng.random() < P_PRIOR_HF * np.exp(0.5 * frailty) / np.exp(0.125)
    if prior_hf:
        diag["I50"] = int(rng.integers(0, _CUTOFF + 1))

    # Lab schedule: each lab is ordered at a regular visit with a higher probability once
    # one of its indications has been diagnosed.
    nv = len(visits)

    def since(codes: tuple[str, ...]) -> np.ndarray:
        days = [diag[k] for k in codes if k in diag]
        return visits >= min(days) if days else np.zeros(nv, bool)

    u_lab = rng.random((len(LAB_RATES), nv))

    def lab_schedule() -> dict[str, np.ndarray]:
        return {
            lab: u_lab[j] < np.where(since(LAB_INDICATIONS[lab]), *LAB_RATES[lab])
            for j, lab in enumerate(LAB_RATES)
        }

    # Latent BNP trajectory: patients with >= 2 BNP values in the history (who are being
    # monitored) have a wide spread of slopes, the others a narrow one.
    n_bnp_hist = int(np.sum(lab_schedule()["LAB:BNP"] & (visits <= _CUTOFF)))
    bnp_slope = rng.normal(0.0, BNP_TREND_SD[0] if n_bnp_hist >= 2 else BNP_TREND_SD[1])
    bnp_level = 0.5 * frailty + 0.5 * ("I48" in diag) + rng.normal(0.0, 0.7)
    risk_noise = rng.normal(0.0, RISK_NOISE_SD)

    # Drug starts: code -> first day.
    starts: dict[str, int] = {}

    def start(drug: str, day: int) -> None:
        if day <= _END and (drug not in starts or day < starts[drug]):
            starts[drug] = int(day)

    for code, dday in diag.items():
        for drug, prob, lo, hi in DRUGS.get(code, []):
            if rng.random() < prob:
                start(drug, dday + (int(rng.integers(lo, hi + 1)) if hi > 0 else 0))
    if "I10" in diag:
        u = rng.random()
        if u < P_ACEI_PROMPT:
            start("RX:ACEI", diag["I10"] + (0 if rng.random() < 0.5 else rng.integers(14, 61)))
        elif u < P_ACEI_PROMPT + P_ACEI_LATE:
            start("RX:ACEI", diag["I10"] + int(rng.integers(120, 541)))
    else:
        other = [diag[c] for c in ("E11", "N18") if c in diag]
        if other and rng.random() < P_ACEI_OTHER:
            start("RX:ACEI", min(other) + int(rng.integers(0, 366)))
    if rng.random() < P_ACEI_RANDOM:
        start("RX:ACEI", int(rng.integers(0, _END + 1)))

    # Risk from the recorded history (everything on or before the cutoff).
    c = RISK_COEF
    hist = {k: v for k, v in diag.items() if v <= _CUTOFF}
    n_chronic = sum(k in hist for k in CHRONIC)
    n_visits_hist = int(np.sum(visits <= _CUTOFF))
    logit = RISK_INTERCEPT + c["frailty"] * frailty + c["n_chronic"] * n_chronic
    logit += c["log_visits"] * np.log1p(n_visits_hist)
    mi_recency = None
    if mi_day is not None and mi_day <= _CUTOFF:
        mi_recency = _CUTOFF - mi_day
        logit += c["mi_old"] + c["mi_recent"] * np.exp(-mi_recency / MI_DECAY_DAYS)
    hypertension = None
    if "I10" in hist:
        acei = starts.get("RX:ACEI")
        protected = acei is not None and acei <= min(hist["I10"] + PROMPT_DAYS, _CUTOFF)
        hypertension = "protected" if protected else "unprotected"
        logit += 0.0 if protected else c["hypertension_unprotected"]
    logit += c["bnp_slope"] * bnp_slope + c["bnp_level"] * bnp_level
    logit += c["diabetes"] * ("E11" in hist) + c["ckd"] * ("N18" in hist)
    logit += c["diabetes_x_ckd"] * ("E11" in hist and "N18" in hist)
    logit += c["atrial_fibrillation"] * ("I48" in hist) + c["copd"] * ("J44" in hist)
    true_logit = float(logit)

    # Outcome: I50 in year 1 after the cutoff with probability sigmoid(logit + noise),
    # otherwise possibly in year 2 (not part of the label).
    hf_day = None
    u_year1, u_year2 = rng.random(2)
    day_year1 = _CUTOFF + int(rng.integers(1, HORIZON_DAYS + 1))
    day_year2 = _CUTOFF + HORIZON_DAYS + int(rng.integers(1, _END - _CUTOFF - HORIZON_DAYS + 1))
    if u_year1 < _sigmoid(true_logit + risk_noise):
        hf_day = day_year1
    elif u_year2 < _sigmoid(true_logit + risk_noise + YEAR2_SHIFT):
        hf_day = day_year2
    if hf_day is not None and not prior_hf:
        diag["I50"] = hf_day
        for drug, prob, lo, hi in DRUGS["I50"]:
            if rng.random() < prob:
                start(drug, hf_day + (int(rng.integers(lo, hi + 1)) if hi > 0 else 0))

    # Write the events. New diagnoses, admissions and drug starts come first and are always
    # kept; at regular visits, recurring codes, routine codes and labs fill up the rest.
    for code, dday in sorted(diag.items(), key=lambda kv: kv[1]):
        p.add(dday, code)
    if mi_day is not None:
        nxt = _first_visit_on_or_after(visits, mi_day + 1)
        if nxt is not None and rng.random() < P_MI_RECODED:
            p.add(nxt, "I21")
    for drug, sday in sorted(starts.items(), key=lambda kv: kv[1]):
        p.add(sday, drug)

    hf_onset = diag.get("I50")

    def log_bnp(day: np.ndarray) -> np.ndarray:
        v = np.log(70.0) + 0.6 * bnp_level + 0.5 * bnp_slope * (day - _BNP_CENTRE) / 365.25
        if hf_onset is not None:
            v = v + 1.3 * (day >= hf_onset)
        return v + rng.normal(0.0, 0.08, np.shape(day))

    if hf_onset is not None and hf_onset > _CUTOFF:
        bnp = float(np.round(np.clip(np.exp(log_bnp(np.array(hf_onset))), *BNP_RANGE), 1))
        p.add(hf_onset, "LAB:BNP", bnp)

    # Per-visit recurrences of chronic codes, I25 after MI, I50 after onset, drug refills.
    recur: list[tuple[str, np.ndarray]] = []
    for code, (_, _, _, p_rec) in CHRONIC.items():
        if code in diag:
            recur.append((code, (visits > diag[code]) & (rng.random(nv) < p_rec)))
    if mi_day is not None:
        recur.append(("I25", (visits > mi_day) & (rng.random(nv) < P_I25_RECUR)))
    if hf_onset is not None:
        recur.append(("I50", (visits > hf_onset) & (rng.random(nv) < P_HF_RECUR)))
    for drug, sday in starts.items():
        recur.append((drug, (visits > sday) & (rng.random(nv) < P_DRUG_REFILL)))

    # Labs (the schedule now includes a heart failure diagnosed after the cutoff).
    lab_when = lab_schedule()
    t = visits.astype(float)
    dm = since(("E11",))
    on_metformin = visits >= starts.get("RX:METFORMIN", _END + 1)
    hba1c = np.where(
        dm, rng.normal(7.9, 0.8) - 0.7 * on_metformin + rng.normal(0, 0.5, nv), 5.4
    ) + rng.normal(0, 0.25, nv)
    ckd = since(("N18",))
    creat = np.exp(
        np.log(78.0)
        + rng.normal(0, 0.12)
        + ckd * (0.65 + 0.08 * (t - diag.get("N18", 0)) / 365.25)
        + rng.normal(0, 0.06, nv)
    )
    on_statin = visits >= starts.get("RX:STATIN", _END + 1)
    ldl = rng.normal(3.3, 0.6) + 0.5 * ("E78" in diag) - 1.2 * on_statin + rng.normal(0, 0.3, nv)
    lab_values = {
        "LAB:HBA1C": np.round(np.clip(hba1c, 4.2, 14.0), 1),
        "LAB:CREATININE": np.round(creat, 0),
        "LAB:BNP": np.round(np.clip(np.exp(log_bnp(t)), *BNP_RANGE), 1),
        "LAB:LDL": np.round(np.clip(ldl, 0.6, 8.0), 1),
    }

    # Fill the regular visits: labs first, then recurring and routine codes in random order
    # up to MAX_CODES_PER_VISIT codes a day. (Python lists: per-element numpy is slow.)
    n_noise = rng.poisson(NOISE_CODES_PER_VISIT, nv)
    noise = [NOISE_CODES[k] for k in rng.choice(len(NOISE_CODES), n_noise.sum() + nv, p=_NOISE_P)]
    ends = np.cumsum(n_noise).tolist()
    recur_codes = [code for code, _ in recur]
    recur_at = np.array([m for _, m in recur], bool).reshape(len(recur), nv).T.tolist()
    lab_names = list(lab_when)
    lab_at = np.array([lab_when[lab] for lab in lab_names]).T.tolist()
    lab_val = np.array([lab_values[lab] for lab in lab_names]).T.tolist()
    for i, day in enumerate(visits.tolist()):
        codes = [code for code, on in zip(recur_codes, recur_at[i], strict=True) if on]
        codes += noise[ends[i] - n_noise[i] : ends[i]]
        room = MAX_CODES_PER_VISIT - len(p.days.get(day, ()))
        labs = [
            (lab, v) for lab, on, v in zip(lab_names, lab_at[i], lab_val[i], strict=True) if on
        ][:room]
        room -= len(labs)
        if len(codes) > room:
            codes = [codes[k] for k in sorted(rng.permutation(len(codes))[: max(room, 0)])]
        if not codes and not labs and day not in p.days:
            codes = [noise[-1 - i]]
        for code in codes:
            p.add(day, code)
        for code, value in labs:
            p.add(day, code, value)

    # Within a day: diagnoses, then drugs, then labs (otherwise in the order written).
    rows = [
        (pid, day, code, value)
        for day in sorted(p.days)
        for code, value in sorted(p.days[day].items(), key=lambda cv: _kind(cv[0]))
    ]
    facts = {
        "patient_id": pid,
        "frailty": frailty,
        "visit_rate": rate,
        "prior_hf": bool(prior_hf),
        "mi_days_before_cutoff": mi_recency,
        "hypertension": hypertension,
        "diabetes_and_ckd": bool("E11" in hist and "N18" in hist),
        "bnp_slope": bnp_slope,
        "bnp_level": bnp_level,
        "true_logit": true_logit,
        "hf_day": hf_day,
    }
    return rows, facts


def simulate_cohort(
    n_patients: int = 1500, random_state: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(events, patients)``.

    ``events`` is what :func:`make_events` returns. ``patients`` has one row per patient
    with the hidden quantities of the generator: ``true_logit`` (log-odds of ``I50`` within
    365 days after the cutoff, without the unobserved noise), the latent ``bnp_slope`` and
    ``bnp_level``, ``prior_hf``, ``mi_days_before_cutoff`` (days between the last ``I21``
    in the history and the cutoff), ``hypertension`` (``"protected"``, ``"unprotected"``
    or None) and ``label`` (``I50`` within the horizon, recomputed from the events).
    Use it to measure the oracle score; models must only see ``events``.
    """
    # One independent random stream per patient: patient k is the same whatever
    # n_patients is, and changing one patient's history does not shift the others.
    streams = np.random.SeedSequence(random_state).spawn(int(n_patients))
    all_rows: list[tuple] = []
    facts = []
    for pid, stream in enumerate(streams, start=1):
        rows, f = _simulate_patient(np.random.default_rng(stream), pid)
        all_rows.extend(rows)
        facts.append(f)
    ev = pd.DataFrame(all_rows, columns=["patient_id", "day", "code", "value"])
    ev["date"] = np.datetime_as_string(_START + ev["day"].to_numpy().astype("timedelta64[D]"))
    events = ev[["patient_id", "date", "code", "value"]].astype(
        {"patient_id": "int64", "value": "float64"}
    )
    patients = pd.DataFrame(facts)
    lab = labels(events)
    patients["label"] = patients["patient_id"].map(lab).astype(int)
    return events.reset_index(drop=True), patients


def make_events(n_patients: int = 1500, random_state: int = 0) -> pd.DataFrame:
    """Return synthetic clinical events, one row per event.

    Columns: ``patient_id`` (int), ``date`` (ISO ``YYYY-MM-DD`` string), ``code`` (string:
    ICD-10 style diagnosis, ``RX:<NAME>`` drug or ``LAB:<NAME>`` lab) and ``value`` (float,
    set for ``LAB:`` codes and NaN otherwise). Rows are sorted by patient and date.
    Deterministic for given ``(n_patients, random_state)``.
    """
    return simulate_cohort(n_patients, random_state)[0]


def labels(events: pd.DataFrame, horizon_days: int = HORIZON_DAYS) -> pd.Series:
    """Label per patient: 1 if ``OUTCOME_CODE`` occurs within the horizon after the cutoff.

    Only events after ``PREDICTION_DATE`` and no later than ``horizon_days`` after it
    count. Returns an int Series indexed by ``patient_id`` (every patient in ``events``).
    """
    dates = pd.to_datetime(events["date"])
    cutoff = pd.Timestamp(PREDICTION_DATE)
    hit = (
        (events["code"] == OUTCOME_CODE)
        & (dates > cutoff)
        & (dates <= cutoff + pd.Timedelta(days=horizon_days))
    )
    return hit.groupby(events["patient_id"]).any().astype(int)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=1500, help="number of patients")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV path")
    args = parser.parse_args(argv)
    df = make_events(n_patients=args.n_patients, random_state=args.seed)
    df.to_csv(args.out, index=False, lineterminator="\n")
    y = labels(df)
    prior = df.loc[(df["code"] == OUTCOME_CODE) & (df["date"] <= PREDICTION_DATE), "patient_id"]
    at_risk = y.drop(index=prior.unique())
    print(
        f"wrote {len(df)} events of {df['patient_id'].nunique()} patients to {args.out} "
        f"(I50 within {HORIZON_DAYS} days after {PREDICTION_DATE}: {at_risk.mean():.3f} "
        f"of {len(at_risk)} patients without prior I50)"
    )


if __name__ == "__main__":
    main()
