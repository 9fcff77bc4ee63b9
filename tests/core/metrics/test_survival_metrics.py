"""Survival metrics, checked against scikit-survival (a test dependency)."""

import time as clock

import numpy as np
import pandas as pd
import pytest
from sksurv import metrics as sksurv_metrics
from sksurv.nonparametric import CensoringDistributionEstimator, kaplan_meier_estimator
from sksurv.util import Surv

from core.metrics import (
    brier_scores,
    calibration_at_time,
    censoring_survival,
    check_survival_target,
    harrell_c,
    integrated_brier_score,
    kaplan_meier,
    kaplan_meier_at,
    time_dependent_auc,
    uno_c,
)

TOL = 1e-8


def make_data(seed, n, ties=True, horizon=3.0):
    """Exponential survival with risk exp(x), exponential censoring, end of study at `horizon`.

    With `ties`, times are rounded up to 0.1 (events and censorings tie) and
    risk scores are rounded to 0.1.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    event_time = rng.exponential(np.exp(-x))
    censor_time = rng.exponential(1.5, size=n)
    time = np.minimum(np.minimum(event_time, censor_time), horizon)
    if ties:
        time = np.ceil(time * 10) / 10
    event = (event_time <= censor_time) & (time < horizon)
    risk = x + rng.normal(scale=0.5, size=n)
    if ties:
        risk = np.round(risk, 1)
    return time, event, risk


def eval_times(time, event, k=5):
    return np.unique(np.quantile(time[event], np.linspace(0.1, 0.8, k)))


def survival_matrix(risk, times):
    return np.exp(-0.5 * np.exp(risk)[:, None] * times[None, :])


CASES = [(seed, ties) for seed in range(4) for ties in (True, False)]


@pytest.mark.parametrize("seed,ties", CASES)
def test_concordance_matches_sksurv(seed, ties):
    time, event, risk = make_data(seed, 400, ties)
    train_time, train_event, _ = make_data(seed + 50, 600, ties)
    train, test = Surv.from_arrays(train_event, train_time), Surv.from_arrays(event, time)
    expected = sksurv_metrics.concordance_index_censored(event, time, risk)[0]
    assert abs(harrell_c(time, event, risk) - expected) < TOL
    expected = sksurv_metrics.concordance_index_ipcw(train, test, risk)[0]
    assert abs(uno_c(time, event, risk, train_time, train_event) - expected) < TOL
    tau = float(np.quantile(time, 0.6))
    expected = sksurv_metrics.concordance_index_ipcw(train, test, risk, tau=tau)[0]
    assert abs(uno_c(time, event, risk, train_time, train_event, tau=tau) - expected) < TOL


@pytest.mark.parametrize("seed,ties", CASES)
def test_time_dependent_metrics_match_sksurv(seed, ties):
    time, event, risk = make_data(seed, 400, ties)
    train_time, train_event, _ = make_data(seed + 50, 600, ties)
    train, test = Surv.from_arrays(train_event, train_time), Surv.from_arrays(event, time)
    times = eval_times(time, event)

    auc, mean_auc = time_dependent_auc(time, event, risk, times, train_time, train_event)
    expected, expected_mean = sksurv_metrics.cumulative_dynamic_auc(train, test, risk, times)
    np.testing.assert_allclose(auc, expected, rtol=0, atol=TOL)
    assert abs(mean_auc - expected_mean) < TOL

    by_time = risk[:, None] * (1 + np.arange(len(times)))[None, :] ** 0.5 + np.sin(time)[:, None]
    auc, mean_auc = time_dependent_auc(time, event, by_time, times, train_time, train_event)
    expected, expected_mean = sksurv_metrics.cumulative_dynamic_auc(train, test, by_time, times)
    np.testing.assert_allclose(auc, expected, rtol=0, atol=TOL)
    assert abs(mean_auc - expected_mean) < TOL

    survival = survival_matrix(risk, times)
    ours = brier_scores(time, event, survival, times, train_time, train_event)
    np.testing.assert_allclose(
        ours, sksurv_metrics.brier_score(train, test, survival, times)[1], rtol=0, atol=TOL
    )
    ours = integrated_brier_score(time, event, survival, times, train_time, train_event)
    assert abs(ours - sksurv_metrics.integrated_brier_score(train, test, survival, times)) < TOL


def test_wide_tie_tolerance_matches_sksurv():
    # Risks on a 0.1 grid with tied_tol=0.15: neighbours tie, and AUC merges chains of them.
    time, event, risk = make_data(7, 300)
    train_time, train_event, _ = make_data(8, 300)
    train, test = Surv.from_arrays(train_event, train_time), Surv.from_arrays(event, time)
    expected = sksurv_metrics.concordance_index_censored(event, time, risk, tied_tol=0.15)[0]
    assert abs(harrell_c(time, event, risk, tied_tol=0.15) - expected) < TOL
    times = eval_times(time, event)
    expected = sksurv_metrics.cumulative_dynamic_auc(train, test, risk, times, tied_tol=0.15)
    ours = time_dependent_auc(time, event, risk, times, train_time, train_event, tied_tol=0.15)
    np.testing.assert_allclose(ours[0], expected[0], rtol=0, atol=TOL)


def test_small_hand_made_ties_match_sksurv():
    time = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 4.0, 5.0])
    event = np.array([1, 1, 0, 1, 0, 0, 1, 1, 0, 1], dtype=bool)
    risk = np.array([3.0, 3.0, 3.0, 2.0, 2.0, 3.0, 1.0, 2.0, 1.0, 0.0])
    y = Surv.from_arrays(event, time)
    assert harrell_c(time, event, risk) == pytest.approx(
        sksurv_metrics.concordance_index_censored(event, time, risk)[0], abs=TOL
    )
    assert uno_c(time, event, risk, time, event, tau=4.5) == pytest.approx(
        sksurv_metrics.concordance_index_ipcw(y, y, risk, tau=4.5)[0], abs=TOL
    )
    # G includes censorings tied with the event time (G(y), not G(y-)), as sksurv.
    at = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 4.5])
    expected = CensoringDistributionEstimator().fit(y).predict_proba(at)
    np.testing.assert_allclose(censoring_survival(time, event, at), expected, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", range(3))
def test_kaplan_meier_matches_sksurv(seed):
    time, event, _ = make_data(seed, 300)
    times, survival, lower, upper = kaplan_meier(time, event, conf_level=0.95)
    ref_times, ref_survival, ref_ci = kaplan_meier_estimator(event, time, conf_type="log-log")
    at_events = np.isin(ref_times, times)
    np.testing.assert_array_equal(times, ref_times[at_events])
    np.testing.assert_allclose(survival, ref_survival[at_events], rtol=0, atol=TOL)
    np.testing.assert_allclose(lower, ref_ci[0][at_events], rtol=0, atol=TOL)
    np.testing.assert_allclose(upper, ref_ci[1][at_events], rtol=0, atol=TOL)
    # Between event times the curve is flat, as the reference's value at every observed time.
    np.testing.assert_allclose(kaplan_meier_at(time, event, ref_times), ref_survival, atol=TOL)
    at = np.linspace(0.05, time.max(), 37)
    expected = CensoringDistributionEstimator().fit(Surv.from_arrays(event, time))
    np.testing.assert_allclose(
        censoring_survival(time, event, at), expected.predict_proba(at), rtol=0, atol=TOL
    )


def test_harrell_c_is_fast_on_10000_rows():
    time, event, risk = make_data(0, 10_000, ties=False)
    start = clock.perf_counter()
    harrell_c(time, event, risk)
    assert clock.perf_counter() - start < 1.0


def test_calibration_of_a_true_model():
    rng = np.random.default_rng(0)
    n, t = 6000, 1.0
    x = rng.normal(size=n)
    hazard = 0.7 * np.exp(0.8 * x)
    event_time = rng.exponential(1.0 / hazard)
    censor_time = rng.exponential(3.0, size=n)
    time, event = np.minimum(event_time, censor_time), event_time <= censor_time
    table = calibration_at_time(time, event, np.exp(-hazard * t), t)
    assert list(table.columns) == [
        "group",
        "n",
        "events",
        "predicted",
        "observed",
        "lower",
        "upper",
    ]
    assert len(table) == 10 and table["n"].sum() == n
    assert table["predicted"].is_monotonic_increasing
    inside = (table["lower"] <= table["predicted"]) & (table["predicted"] <= table["upper"])
    assert inside.sum() >= 8
    assert (table["observed"] - table["predicted"]).abs().max() < 0.06
    # A model that ignores x is far off in the extreme deciles.
    flat = calibration_at_time(time, event, np.full(n, np.exp(-0.7 * t)), t, n_groups=1)
    assert len(flat) == 1 and flat["n"].iloc[0] == n


def test_calibration_nan_beyond_follow_up():
    time = np.array([1.0, 2.0, 3.0, 4.0])
    event = np.array([1, 0, 1, 0])
    table = calibration_at_time(time, event, np.array([0.9, 0.8, 0.7, 0.6]), 3.5, n_groups=2)
    # The low-risk group (times 1 and 2) is not followed up to 3.5; the high-risk one is.
    assert table["observed"].isna().tolist() == [True, False]


# Targets.


def test_check_survival_target_forms():
    time = np.array([3.0, 1.5, 2.0])
    event = np.array([1, 0, 1])
    expected_time, expected_event = time, event.astype(bool)
    forms = [
        check_survival_target(time, event),
        check_survival_target(y=pd.DataFrame({"duration": time, "event": event})),
        check_survival_target(y=pd.DataFrame({"days": time, "died": event, "age": [1, 2, 3]})),
        check_survival_target(y=pd.DataFrame({"a": time, "b": event})),
        check_survival_target(y=pd.DataFrame({"x": time, "y": event, "z": 1}), time="x", event="y"),
        check_survival_target(y=Surv.from_arrays(event.astype(bool), time)),
        check_survival_target(pd.Series(time), pd.Series(event, dtype="Int64")),
    ]
    for got_time, got_event in forms:
        assert got_time.dtype == np.float64 and got_event.dtype == bool
        np.testing.assert_array_equal(got_time, expected_time)
        np.testing.assert_array_equal(got_event, expected_event)


@pytest.mark.parametrize(
    "time,event,message",
    [
        ([1.0, -2.0, 0.0], [1, 0, 1], r"`time` must be > 0; 2 values are <= 0 \(first at row 1: "),
        ([1.0, np.nan, 2.0], [1, 0, 1], r"`time` must be finite; 1 values .* row 1"),
        ([1.0, np.inf, 2.0], [1, 0, 1], r"`time` must be finite"),
        (["a", "b", "c"], [1, 0, 1], r"`time` must be numeric"),
        ([1.0, 2.0, 3.0], [1, 2, 0], r"`event` must be 0 \(censored\) or 1 \(event\); 1 values"),
        ([1.0, 2.0, 3.0], [1, np.nan, 0], r"`event` must be 0 .* row 1: nan"),
        ([1.0, 2.0, 3.0], [1, 2, 2], r"R's survival package"),
        ([1.0, 2.0, 3.0], [0, 0, 0], r"`event` has no events: all 3 rows are censored"),
        ([1.0, 2.0, 3.0], [1, 0], r"same length. Received 3 and 2"),
        ([], [], r"`time` is empty"),
    ],
)
def test_check_survival_target_errors(time, event, message):
    with pytest.raises(ValueError, match=message):
        check_survival_target(time, event)


def test_check_survival_target_table_errors():
    with pytest.raises(ValueError, match="`train_time` must be > 0"):
        check_survival_target([1.0, 0.0], [1, 1], name="train")
    with pytest.raises(ValueError, match="Could not tell which column"):
        check_survival_target(y=pd.DataFrame({"a": [1, 0], "b": [0, 1]}))
    with pytest.raises(ValueError, match="looks like a censoring indicator"):
        check_survival_target(y=pd.DataFrame({"t": [1.0, 2.0], "censored": [0, 1]}))
    with pytest.raises(ValueError, match="`event` must name a column of `y`"):
        check_survival_target(y=pd.DataFrame({"t": [1.0, 2.0], "e": [0, 1]}), time="t", event="x")
    with pytest.raises(ValueError, match=r"`y` time column 'time' must be > 0"):
        check_survival_target(y=pd.DataFrame({"time": [1.0, -1.0], "event": [1, 1]}))
    with pytest.raises(ValueError, match="must be a DataFrame or a structured array"):
        check_survival_target(y=np.ones((3, 2)))
    with pytest.raises(ValueError, match="Expected `time` and `event` arrays"):
        check_survival_target(time=[1.0])


# Metric arguments.


def test_metric_argument_errors():
    time, event, risk = make_data(0, 200)
    times = eval_times(time, event, 3)
    survival = survival_matrix(risk, times)
    with pytest.raises(ValueError, match="`risk` must have one row per example"):
        harrell_c(time, event, risk[:-1])
    with pytest.raises(ValueError, match="`risk` must be finite"):
        harrell_c(time, event, np.where(np.arange(200) == 3, np.nan, risk))
    with pytest.raises(ValueError, match="`train_event` has no events"):
        uno_c(time, event, risk, time, np.zeros(200))
    with pytest.raises(ValueError, match="no comparable pairs"):
        harrell_c([1.0, 2.0], [0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="strictly increasing"):
        time_dependent_auc(time, event, risk, times[::-1], time, event)
    with pytest.raises(ValueError, match="within the follow-up"):
        brier_scores(time, event, survival, times * 100, time, event)
    with pytest.raises(ValueError, match="one column per time"):
        brier_scores(time, event, survival[:, :2], times, time, event)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        brier_scores(time, event, survival + 1, times, time, event)
    with pytest.raises(ValueError, match="at least two times"):
        integrated_brier_score(time, event, survival[:, :1], times[:1], time, event)
    with pytest.raises(ValueError, match="`time` of test events must be <= the last observed"):
        uno_c(time * 10, event, risk, [1.0, 2.0, 3.0], [0, 1, 1])
    with pytest.raises(ValueError, match="`n_groups` must be a positive integer"):
        calibration_at_time(time, event, survival[:, 0], 1.0, n_groups=0)
