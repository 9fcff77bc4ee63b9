"""Tests of the synthetic clinical event generator ``sample_data/medical/make_events.py``.

The generator is a script, not part of an import package, so it is loaded by file path.
The mechanism tests measure outcome rates on the events only (as a model would see them)
and fail if the corresponding term of the hidden risk model is set to zero.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

MEDICAL = Path(__file__).resolve().parents[3] / "sample_data" / "medical"
_spec = importlib.util.spec_from_file_location("make_events", MEDICAL / "make_events.py")
make_events = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_events)

CUTOFF = pd.Timestamp(make_events.PREDICTION_DATE)
N_SAMPLE = 2500  # the first 1500 patients are the committed events.csv


@pytest.fixture(scope="module")
def events():
    return make_events.make_events(n_patients=N_SAMPLE, random_state=0)


@pytest.fixture(scope="module")
def cohort(events):
    """History (events on or before the cutoff), labels of patients without prior I50."""
    history = events[events["date"] <= make_events.PREDICTION_DATE]
    prior = history.loc[history["code"] == make_events.OUTCOME_CODE, "patient_id"].unique()
    y = make_events.labels(events).drop(index=prior)
    history = history[history["patient_id"].isin(y.index)]
    return history, y


def _first_date(history, code, index):
    rows = history[history["code"] == code]
    return pd.to_datetime(rows.groupby("patient_id")["date"].min()).reindex(index)


def _has(history, code, index):
    return pd.Series(index.isin(history.loc[history["code"] == code, "patient_id"]), index=index)


def test_constants():
    assert make_events.OUTCOME_CODE == "I50"
    assert make_events.PREDICTION_DATE == "2021-01-01"
    assert make_events.HORIZON_DAYS == 365


def test_deterministic_given_seed():
    a = make_events.make_events(n_patients=60, random_state=3)
    b = make_events.make_events(n_patients=60, random_state=3)
    c = make_events.make_events(n_patients=60, random_state=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_first_patients_do_not_depend_on_n_patients(events):
    small = make_events.make_events(n_patients=40, random_state=0)
    pd.testing.assert_frame_equal(small, events[events["patient_id"] <= 40].reset_index(drop=True))


def test_committed_csv_matches_generator(events):
    committed = pd.read_csv(MEDICAL / "events.csv")
    expected = events[events["patient_id"] <= 1500].reset_index(drop=True)
    assert list(committed.columns) == ["patient_id", "date", "code", "value"]
    pd.testing.assert_frame_equal(committed, expected, check_dtype=False)


def test_columns_dtypes_and_sorting(events):
    assert list(events.columns) == ["patient_id", "date", "code", "value"]
    assert events["patient_id"].dtype == np.int64
    assert pd.api.types.is_string_dtype(events["date"])
    assert pd.api.types.is_string_dtype(events["code"])
    assert events["value"].dtype == np.float64
    assert sorted(events["patient_id"].unique()) == list(range(1, N_SAMPLE + 1))
    assert events["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    dates = pd.to_datetime(events["date"], format="%Y-%m-%d")
    assert dates.min() >= pd.Timestamp("2018-01-01")
    assert dates.max() <= pd.Timestamp("2022-12-31")
    order = events.sort_values(["patient_id", "date"], kind="stable")
    assert order.index.equals(events.index)
    assert not events.duplicated(["patient_id", "date", "code"]).any()
    # Within a day: diagnoses, then drugs, then labs.
    code = events["code"]
    kind = np.where(code.str.startswith("LAB:"), 2, np.where(code.str.startswith("RX:"), 1, 0))
    same_day = (events["patient_id"].diff() == 0) & (events["date"] == events["date"].shift())
    assert (np.diff(kind, prepend=0)[same_day.to_numpy()] >= 0).all()


def test_visits_and_codes(events):
    per_visit = events.groupby(["patient_id", "date"]).size()
    assert per_visit.between(1, make_events.MAX_CODES_PER_VISIT).all()
    assert (per_visit > 1).mean() > 0.4  # several codes usually share a date
    history = events[events["date"] <= make_events.PREDICTION_DATE]
    assert history["patient_id"].nunique() == N_SAMPLE  # everyone has a history
    visits = events.groupby("patient_id")["date"].nunique()
    assert visits.quantile(0.1) <= 5 and visits.quantile(0.9) >= 30  # sparse and frequent

    codes = events["code"]
    distinct = set(codes.unique())
    diagnoses = codes[~codes.str.contains(":")]
    assert diagnoses.str.fullmatch(r"[A-Z]\d{2}").all()
    assert 100 <= codes.nunique() <= 150
    for code in ["I10", "E11", "N18", "I21", "I48", "J44", "I50", "J06", "M54", "Z00"]:
        assert code in distinct
    for code in ["RX:ACEI", "RX:BETA_BLOCKER", "RX:METFORMIN", "RX:DIURETIC", "RX:ANTICOAG"]:
        assert code in distinct
    for code in ["RX:STATIN", "LAB:HBA1C", "LAB:CREATININE", "LAB:BNP"]:
        assert code in distinct
    # Zipf-like: the most common routine code is far more frequent than the median one.
    counts = diagnoses.value_counts()
    assert counts.iloc[0] > 20 * counts.median()


def test_values_exactly_for_lab_codes(events):
    is_lab = events["code"].str.startswith("LAB:")
    assert events.loc[is_lab, "value"].notna().all()
    assert events.loc[~is_lab, "value"].isna().all()
    assert (events.loc[is_lab, "value"] > 0).all()
    assert np.allclose(events["value"].dropna(), events["value"].dropna().round(1))


def test_label_comes_from_events_after_the_cutoff(events, cohort):
    _, y = cohort
    assert 0.15 <= y.mean() <= 0.25
    # Patients without prior I50 have no I50 in their history ...
    history, _ = cohort
    assert not (history["code"] == make_events.OUTCOME_CODE).any()
    # ... and I50 in the second year after the cutoff does not count.
    dates = pd.to_datetime(events["date"])
    late = events[
        (events["code"] == make_events.OUTCOME_CODE)
        & (dates > CUTOFF + pd.Timedelta(days=make_events.HORIZON_DAYS))
    ]["patient_id"].unique()
    late_only = np.setdiff1d(late, y.index[y == 1])
    assert len(np.intersect1d(late_only, y.index)) > 20
    # A few patients already have heart failure before the cutoff.
    assert 0 < N_SAMPLE - len(y) < 0.06 * N_SAMPLE
    # Routine codes continue after the cutoff.
    assert (dates > CUTOFF + pd.Timedelta(days=400)).sum() > 1000


def test_recent_myocardial_infarction_raises_risk_more_than_old(cohort):
    history, y = cohort
    days = (CUTOFF - pd.to_datetime(history["date"])).dt.days
    last_mi = days[history["code"] == "I21"].groupby(history["patient_id"]).min()
    last_mi = last_mi.reindex(y.index)
    recent, old = y[last_mi <= 180], y[last_mi > 365]
    assert len(recent) >= 30 and len(old) >= 100
    assert recent.mean() > old.mean() + 0.08


def test_promptly_treated_hypertension_has_lower_risk(cohort):
    history, y = cohort
    i10 = _first_date(history, "I10", y.index)
    acei = _first_date(history, "RX:ACEI", y.index)
    prompt = i10.notna() & (acei <= i10 + pd.Timedelta(days=90))
    unprotected = i10.notna() & ~prompt  # untreated by the cutoff or treated late
    assert prompt.sum() >= 100 and unprotected.sum() >= 100
    assert y[prompt].mean() < y[unprotected].mean() - 0.1


def test_rising_bnp_raises_risk(cohort):
    history, y = cohort
    bnp = history[history["code"] == "LAB:BNP"]
    years = (pd.to_datetime(bnp["date"]) - CUTOFF).dt.days / 365.25
    bnp = bnp.assign(t=years, v=np.log(bnp["value"]))
    groups = bnp.groupby("patient_id")
    span = groups["t"].max() - groups["t"].min()
    ok = span.index[(groups.size() >= 3) & (span > 0.5)]
    bnp = bnp[bnp["patient_id"].isin(ok)]
    # Least-squares slope of log(BNP) against time, per patient.
    centred = bnp[["t", "v"]] - bnp.groupby("patient_id")[["t", "v"]].transform("mean")
    sums = (
        (centred.assign(tv=centred["t"] * centred["v"], tt=centred["t"] ** 2))
        .groupby(bnp["patient_id"])[["tv", "tt"]]
        .sum()
    )
    slope = sums["tv"] / sums["tt"]
    rate = y.reindex(slope.index)
    rising, falling = rate[slope > 0.15], rate[slope < -0.15]
    assert len(rising) >= 100 and len(falling) >= 100
    assert rising.mean() > falling.mean() + 0.3


def test_diabetes_and_ckd_interact(cohort):
    history, y = cohort
    e11, n18 = _has(history, "E11", y.index), _has(history, "N18", y.index)
    both, dm, ckd, neither = e11 & n18, e11 & ~n18, ~e11 & n18, ~e11 & ~n18
    assert both.sum() >= 30
    # Difference in differences on the probability scale: more than additive.
    excess = y[both].mean() - y[ckd].mean() - (y[dm].mean() - y[neither].mean())
    assert excess > 0.08


def test_cli_writes_csv(tmp_path, capsys):
    out = tmp_path / "ev.csv"
    make_events.main(["--n-patients", "12", "--seed", "5", "--out", str(out)])
    written = pd.read_csv(out)
    expected = make_events.make_events(n_patients=12, random_state=5)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    assert "12 patients" in capsys.readouterr().out
