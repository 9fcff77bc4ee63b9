"""TabularSurvival: losses, censoring, curves without proportional hazards, metrics, files."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from core.estimators import TabularSurvival
from core.estimators.keras_survival import ExtrapolationWarning
from core.losses import CoxPartialLikelihood, PiecewiseHazardLoss

TINY = {"embedding_dim": 4, "hidden_units": (16,), "max_epochs": 40, "random_state": 0}


def _exponential_groups(n=900, seed=0, censor_until=3.0):
    """Two groups with constant hazards 0.3 and 1.2, censored uniformly on [0, censor_until]."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["low", "high"], size=n)
    rate = np.where(group == "high", 1.2, 0.3)
    event_time = rng.exponential(1 / rate)
    censor = rng.uniform(0, censor_until, size=n)
    X = pd.DataFrame({"group": group, "noise": rng.normal(size=n)})
    return X, np.minimum(event_time, censor) + 1e-3, (event_time <= censor).astype(int), rate


def _crossing(n=1500, seed=0):
    """Treatment triples the hazard before t=1 and cuts it tenfold after: the curves cross.

    True survival at t=0.5: 0.61 treated, 0.86 not; at t=4: 0.32 treated, 0.17 not.
    """
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < 0.5
    early, late = np.where(treated, 1.0, 0.3), np.where(treated, 0.05, 0.5)
    u = rng.exponential(size=n)  # Cumulative hazard at death.
    time = np.where(u < early, u / early, 1 + (u - early) / late)
    censor = rng.uniform(1.0, 6.0, size=n)
    X = pd.DataFrame({"treated": np.where(treated, "yes", "no"), "age": rng.normal(size=n)})
    return X, np.minimum(time, censor), (time <= censor).astype(int)


@pytest.fixture(scope="module")
def groups_model():
    X, time, event, _ = _exponential_groups()
    return TabularSurvival(model="piecewise_hazard", **TINY).fit(X, time=time, event=event)


@pytest.fixture(scope="module")
def cox_model():
    X, time, event, _ = _exponential_groups()
    return TabularSurvival(model="cox", **TINY).fit(X, time=time, event=event)


# ------------------------------------------------------------------ losses
def test_piecewise_hazard_loss_is_the_exact_likelihood():
    # Outputs: a shared log-risk, then one deviation per interval (three intervals).
    outputs = np.array([[[0.3, 0.2, -1.0, 0.5]], [[-0.2, 1.0, 0.0, -0.5]]], dtype="float32")
    log_baseline = np.log([0.2, 0.3, 0.4])
    hazard = np.exp(log_baseline + outputs[:, 0, :1] + 0.5 * outputs[:, 0, 1:])
    # Row 0: event 40% into interval 1. Row 1: censored 70% into interval 2.
    y = np.array([[1, 1, 0.4], [2, 0, 0.7]], dtype="float32")
    expected = [
        hazard[0, 0] + 0.4 * hazard[0, 1] - np.log(hazard[0, 1]),
        hazard[1, 0] + hazard[1, 1] + 0.7 * hazard[1, 2],
    ]
    loss = PiecewiseHazardLoss(log_baseline, deviation_scale=0.5, reduction=None)
    np.testing.assert_allclose(loss(y, outputs), expected, rtol=1e-5)
    restored = PiecewiseHazardLoss.from_config(loss.get_config())
    np.testing.assert_allclose(restored(y, outputs), expected, rtol=1e-5)


def test_the_piecewise_model_starts_from_the_baseline_without_inputs():
    """The intervals' baseline is the no-covariate maximum likelihood: events / exposure."""
    from core.estimators.keras_survival import _baseline_log_hazards, _interval_shares

    ends = np.array([1.0, 2.0, 4.0])
    time = np.array([0.5, 1.5, 3.0, 4.0, 0.2])
    event = np.array([True, False, True, False, False])
    interval, share = _interval_shares(ends, time)
    np.testing.assert_array_equal(interval, [0, 1, 2, 2, 0])
    np.testing.assert_allclose(share, [0.5, 0.5, 0.5, 1.0, 0.2])
    exposure = [0.5 + 1 + 1 + 1 + 0.2, 0.5 + 1 + 1, 0.5 + 1.0]
    expected = np.log(np.array([1.0, 0.5, 1.0]) / exposure)  # No event in interval 1: half.
    np.testing.assert_allclose(_baseline_log_hazards(interval, share, event, 3), expected)


@pytest.mark.parametrize("masked", [False, True])
def test_cox_loss_is_the_partial_likelihood(masked):
    rng = np.random.default_rng(0)
    time, event = rng.exponential(size=12), (rng.random(12) < 0.7).astype(float)
    log_risk = rng.normal(size=(12, 2))
    members = np.ones((12, 2)) if not masked else (rng.random((12, 2)) < 0.6).astype(float)
    expected = np.zeros(12)
    for i in range(12):
        terms = []
        for k in range(2):
            at_risk = (time >= time[i]) & (members[:, k] > 0)
            if members[i, k] and event[i]:  # The row's own risk set holds the row.
                partial = np.log(np.exp(log_risk[at_risk, k]).sum()) - log_risk[i, k]
                terms.append(partial)
        expected[i] = sum(terms) / max(members[i].sum(), 1e-7)
    y = np.column_stack([time, event] + ([members] if masked else [])).astype("float32")
    loss = CoxPartialLikelihood(masked_members=2 if masked else None, reduction=None)
    predicted = loss(y, log_risk[..., None].astype("float32"))
    np.testing.assert_allclose(predicted, expected, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------- censoring
@pytest.mark.parametrize("fixture", ["groups_model", "cox_model"])
def test_censored_rows_are_not_read_as_events(fixture, request):
    """With half the rows censored, the curves still match the true exponential survival."""
    model = request.getfixturevalue(fixture)
    X = pd.DataFrame({"group": ["low", "high"], "noise": [0.0, 0.0]})
    times = np.array([0.5, 1.0, 2.0])
    predicted = model.predict_survival_function(X, times).to_numpy()
    truth = np.exp(-np.outer([0.3, 1.2], times))
    np.testing.assert_allclose(predicted, truth, atol=0.07)


def test_curves_are_survival_functions(groups_model):
    X, *_ = _exponential_groups(n=50, seed=1)
    times = np.linspace(0, 2.9, 30)
    survival = groups_model.predict_survival_function(X, times).to_numpy()
    assert np.allclose(survival[:, 0], 1.0)
    assert ((survival >= 0) & (survival <= 1)).all()
    assert (np.diff(survival, axis=1) <= 1e-12).all()
    hazard = groups_model.predict_cumulative_hazard(X, times).to_numpy()
    np.testing.assert_allclose(hazard, -np.log(survival), rtol=1e-9)


@pytest.mark.parametrize("fixture", ["groups_model", "cox_model"])
def test_median_time_is_where_the_curve_crosses_one_half(fixture, request):
    model = request.getfixturevalue(fixture)
    X = pd.DataFrame({"group": ["low", "high"], "noise": [0.0, 0.0]})
    median = model.predict_median_time(X)
    # The high-risk group reaches 0.5 near log(2) / 1.2; the low one (log(2) / 0.3 = 2.3)
    # only just before the end of follow-up, or never.
    assert median[1] == pytest.approx(np.log(2) / 1.2, abs=0.12)
    survival = model.predict_survival_function(X.iloc[[1]], [median[1] + 1e-6]).to_numpy()
    assert survival[0, 0] <= 0.5 + 1e-6
    never = model.predict_median_time(X.iloc[[0]].assign(group="low"))
    assert never[0] > 1.8


def test_median_time_is_inf_where_the_curve_stays_above_one_half():
    X, time, event, _ = _exponential_groups(n=400, seed=2, censor_until=0.5)
    model = TabularSurvival(**{**TINY, "max_epochs": 15}).fit(X, time=time, event=event)
    assert model.model == "cox"
    assert np.isinf(model.predict_median_time(X.head(5))).all()


def test_piecewise_hazard_curves_cross_where_cox_curves_cannot():
    X, time, event = _crossing()
    rows = pd.DataFrame({"treated": ["yes", "no"], "age": [0.0, 0.0]})
    times = [0.5, 4.0]
    params = {**TINY, "learning_rate": 1e-2, "max_epochs": 200}
    flexible = TabularSurvival(model="piecewise_hazard", n_intervals=12, **params)
    flexible.fit(X, time=time, event=event)
    early, late = flexible.predict_survival_function(rows, times).to_numpy().T
    assert early[0] < early[1] - 0.15 and late[0] > late[1] + 0.05
    cox = TabularSurvival(model="cox", **TINY).fit(X, time=time, event=event)
    early, late = cox.predict_survival_function(rows, times).to_numpy().T
    assert np.sign(early[0] - early[1]) == np.sign(late[0] - late[1])


# ------------------------------------------------------------------ metrics
def test_report_equals_scikit_survival_on_the_same_predictions(groups_model):
    from sksurv.metrics import (
        concordance_index_censored,
        concordance_index_ipcw,
        integrated_brier_score,
    )
    from sksurv.util import Surv

    X, time, event, _ = _exponential_groups(n=400, seed=3)
    times = np.array([0.3, 0.6, 1.0, 1.5])
    report = groups_model.report(X, time=time, event=event, times=times)
    risk = groups_model.predict_risk(X)
    survival = groups_model.predict_survival_function(X, times).to_numpy()
    train = Surv.from_arrays(groups_model.train_event_, groups_model.train_time_)
    test = Surv.from_arrays(event.astype(bool), time)
    assert report["harrell_c"] == pytest.approx(
        concordance_index_censored(event.astype(bool), time, risk)[0], abs=1e-12
    )
    assert report["uno_c"] == pytest.approx(
        concordance_index_ipcw(train, test, risk, tau=1.5)[0], abs=1e-12
    )
    assert report["integrated_brier"] == pytest.approx(
        integrated_brier_score(train, test, survival, times), abs=1e-12
    )
    assert groups_model.score(X, time=time, event=event) == report["harrell_c"]
    assert report["harrell_c"] > 0.65  # The groups' hazards differ fourfold.
    assert len(report["calibration"]) == 10


# ------------------------------------------------------------------- target
def test_the_target_comes_as_arrays_a_frame_columns_or_a_structured_array():
    from sksurv.util import Surv

    X, time, event, _ = _exponential_groups(n=200, seed=4)
    params = {**TINY, "max_epochs": 3, "model": "piecewise_hazard"}
    expected = TabularSurvival(**params).fit(X, time=time, event=event).predict_risk(X)
    frame = pd.DataFrame({"days": time, "died": event})
    fits = [
        TabularSurvival(**params).fit(X, frame),
        TabularSurvival(**params).fit(X.join(frame), time="days", event="died"),
        TabularSurvival(**params).fit(X, Surv.from_arrays(event.astype(bool), time)),
    ]
    for model in fits:
        np.testing.assert_allclose(model.predict_risk(X), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t, e: (np.r_[-1.0, t[1:]], e), "must be > 0"),
        (lambda t, e: (np.r_[0.0, t[1:]], e), "must be > 0"),
        (lambda t, e: (np.r_[np.nan, t[1:]], e), "must be finite"),
        (lambda t, e: (t, np.r_[2, e[1:]]), "0 \\(censored\\) or 1 \\(event\\)"),
        (lambda t, e: (t, np.zeros_like(e)), "has no events"),
        (lambda t, e: (t[:-1], e[:-1]), "X has 200 rows, the target 199"),
    ],
)
def test_bad_targets_are_named(change, message):
    X, time, event, _ = _exponential_groups(n=200, seed=5)
    time, event = change(time, event)
    with pytest.raises(ValueError, match=message):
        TabularSurvival(**TINY).fit(X, time=time, event=event)


def test_times_beyond_follow_up_are_flat_with_a_warning(groups_model):
    X, *_ = _exponential_groups(n=3, seed=6)
    last = groups_model.max_time_
    with pytest.warns(ExtrapolationWarning, match="beyond the longest training time"):
        survival = groups_model.predict_survival_function(X, [last, last * 2, last * 10])
    np.testing.assert_allclose(survival.iloc[:, 1], survival.iloc[:, 0])
    np.testing.assert_allclose(survival.iloc[:, 2], survival.iloc[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        groups_model.predict_survival_function(X, [last / 2])
    for bad in ([-1.0], [np.nan], [], ["one year"]):
        with pytest.raises(ValueError, match="`times` must be finite times >= 0"):
            groups_model.predict_survival_function(X, bad)


def test_bad_parameters_are_named_before_training():
    X, time, event, _ = _exponential_groups(n=100)
    with pytest.raises(ValueError, match="`model` must be one of"):
        TabularSurvival(model="weibull").fit(X, time=time, event=event)
    with pytest.raises(ValueError, match="`n_intervals` must be"):
        TabularSurvival(model="piecewise_hazard", n_intervals=1).fit(X, time=time, event=event)


# ------------------------------------------------------------ explanations
@pytest.mark.parametrize("fixture", ["groups_model", "cox_model"])
def test_attributions_add_up_to_the_event_probability(fixture, request):
    model = request.getfixturevalue(fixture)
    X = pd.DataFrame({"group": ["low", "high", "high"], "noise": [0.5, -1.0, 2.0]})
    attributions = model.explain(X, horizon=1.0, steps=128)
    probability = 1 - model.predict_survival_function(X, [1.0]).to_numpy()[:, 0]
    total = attributions.sum(axis=1).to_numpy() + attributions.attrs["baseline"]
    np.testing.assert_allclose(total, probability, atol=0.01)
    assert attributions.loc[1, "group"] > attributions.loc[0, "group"]


# ------------------------------------------------------------------- files
@pytest.mark.parametrize("fixture", ["groups_model", "cox_model"])
def test_save_load_and_pickle_keep_the_curves(fixture, request, tmp_path):
    model = request.getfixturevalue(fixture)
    X, *_ = _exponential_groups(n=20, seed=7)
    path = model.save(tmp_path / "survival.kdm")
    expected = model.predict_survival_function(X)
    for restored in (TabularSurvival.load(path), pickle.loads(pickle.dumps(model))):
        pd.testing.assert_frame_equal(restored.predict_survival_function(X), expected)
        np.testing.assert_array_equal(restored.predict_median_time(X), model.predict_median_time(X))


@pytest.mark.parametrize("fixture", ["groups_model", "cox_model"])
def test_one_pass_gives_risk_median_and_curve(fixture, request):
    model = request.getfixturevalue(fixture)
    X, *_ = _exponential_groups(n=30, seed=8)
    risk, median, survival = model.predict_with_curve(X)
    np.testing.assert_allclose(risk, model.predict_risk(X))
    np.testing.assert_array_equal(median, model.predict_median_time(X))
    np.testing.assert_allclose(survival, model.predict_survival_function(X).to_numpy())
