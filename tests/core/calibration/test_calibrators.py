import json

import numpy as np
import pytest

from core.calibration import (
    IsotonicCalibration,
    TemperatureScaling,
    calibrator_from_state,
    conformal_threshold,
    nonconformity_scores,
)
from core.metrics import expected_calibration_error


def _overconfident_binary(n, seed=0):
    """True probabilities p, reported as sigmoid(3 * logit(p)): far too sure."""
    rng = np.random.default_rng(seed)
    true_p = rng.uniform(0.05, 0.95, n)
    y = (rng.uniform(size=n) < true_p).astype(int)
    reported = 1 / (1 + np.exp(-3 * np.log(true_p / (1 - true_p))))
    return np.column_stack([1 - reported, reported]), y


def test_temperature_recovers_the_distortion_and_keeps_the_ranking():
    proba, y = _overconfident_binary(4000)
    calibrator = TemperatureScaling("binary").fit(proba, y)
    assert calibrator.temperature_ == pytest.approx(3.0, rel=0.15)
    calibrated = calibrator.transform(proba)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0)
    assert np.array_equal(np.argsort(calibrated[:, 1]), np.argsort(proba[:, 1]))
    test_proba, test_y = _overconfident_binary(4000, seed=1)
    before = expected_calibration_error(test_y, test_proba[:, 1])
    after = expected_calibration_error(test_y, calibrator.transform(test_proba)[:, 1])
    assert after < before / 2


def test_temperature_multiclass_softens_rows_and_sums_to_one():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3000, 4)) * 4
    y = np.array([rng.choice(4, p=np.exp(row / 4) / np.exp(row / 4).sum()) for row in logits])
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    calibrator = TemperatureScaling("multiclass").fit(proba, y)
    assert calibrator.temperature_ == pytest.approx(4.0, rel=0.2)
    np.testing.assert_allclose(calibrator.transform(proba).sum(axis=1), 1.0)


def test_isotonic_maps_scores_to_observed_rates():
    proba, y = _overconfident_binary(4000)
    calibrator = IsotonicCalibration("binary").fit(proba, y)
    test_proba, test_y = _overconfident_binary(4000, seed=1)
    calibrated = calibrator.transform(test_proba)
    assert np.all(np.diff(calibrated[np.argsort(test_proba[:, 1]), 1]) >= -1e-12)
    assert expected_calibration_error(test_y, calibrated[:, 1]) < 0.04
    assert expected_calibration_error(test_y, test_proba[:, 1]) > 0.1


def test_isotonic_multiclass_rows_are_renormalized():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=500)
    y = rng.integers(0, 3, 500)
    calibrated = IsotonicCalibration("multiclass").fit(proba, y).transform(proba)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0)
    assert calibrated.min() >= 0


@pytest.mark.parametrize("method", [TemperatureScaling, IsotonicCalibration])
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_state_round_trips_through_json(method, mode):
    proba, y = _overconfident_binary(300)
    if mode == "multilabel":
        proba, y = proba, np.column_stack([y, 1 - y])
    calibrator = method(mode).fit(proba, y)
    restored = calibrator_from_state(json.loads(json.dumps(calibrator.get_state())))
    np.testing.assert_allclose(restored.transform(proba), calibrator.transform(proba))


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="`mode` must be one of"):
        TemperatureScaling("regression")


def test_conformal_threshold_is_the_finite_sample_quantile():
    scores = np.arange(1, 20) / 20  # 19 scores: 0.05 ... 0.95
    # ceil((19 + 1) * 0.9) = 18th smallest score.
    assert conformal_threshold(scores, 0.1) == pytest.approx(0.9)
    assert conformal_threshold(scores[::-1], 0.1) == pytest.approx(0.9)


def test_conformal_coverage_on_exchangeable_draws():
    rng = np.random.default_rng(0)
    misses = []
    for _ in range(200):
        scores = rng.uniform(size=101)
        threshold = conformal_threshold(scores[:100], 0.2)
        misses.append(scores[100] > threshold)
    assert 0.8 - 0.06 <= 1 - np.mean(misses)


def test_nonconformity_is_one_minus_true_class_probability():
    proba = np.array([[0.7, 0.3], [0.2, 0.8]])
    np.testing.assert_allclose(nonconformity_scores(proba, [0, 0]), [0.3, 0.8])


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.1", None, True])
def test_alpha_outside_the_open_interval_is_refused(alpha):
    with pytest.raises(ValueError, match="alpha"):
        conformal_threshold(np.linspace(0, 1, 50), alpha)


def test_too_few_rows_for_alpha_says_how_many():
    with pytest.raises(ValueError, match=r"at least 99 held-out calibration rows .* kept 50"):
        conformal_threshold(np.linspace(0, 1, 50), 0.01)
