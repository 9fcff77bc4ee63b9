import math

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    roc_auc_score,
)

from core.metrics import (
    binary_report,
    calibration_bins,
    expected_calibration_error,
    multiclass_report,
)

# 10 cases, 4 positive. At threshold 0.5: TP 3, FN 1, FP 2, TN 4.
Y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 0])
P = np.array([0.9, 0.6, 0.4, 0.7, 0.2, 0.1, 0.5, 0.05, 0.8, 0.3])

# 7 cases, 3 classes; rows sum to one.
Y3 = np.array([0, 1, 2, 2, 1, 0, 2])
P3 = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.3, 0.6, 0.1],
        [0.1, 0.3, 0.6],
        [0.2, 0.2, 0.6],
        [0.5, 0.4, 0.1],
        [0.4, 0.5, 0.1],
        [0.1, 0.1, 0.8],
    ]
)


# ---------------------------------------------------------------- calibration
def test_ece_hand_computed_ten_bins():
    proba = [0.05, 0.15, 0.15, 0.62, 0.68, 0.97]
    y = [0, 0, 1, 1, 0, 1]
    # bins 0: |0.05 - 0| x1, 1: |0.15 - 0.5| x2, 6: |0.65 - 0.5| x2, 9: |0.97 - 1| x1
    expected = (0.05 + 2 * 0.35 + 2 * 0.15 + 0.03) / 6
    assert expected_calibration_error(y, proba) == pytest.approx(expected)


def test_ece_hand_computed_two_bins():
    # bin [0, .5): mean 0.2, rate 0.5; bin [.5, 1]: mean 0.75, rate 1.
    ece = expected_calibration_error([0, 1, 1, 1], [0.1, 0.3, 0.6, 0.9], n_bins=2)
    assert ece == pytest.approx(0.5 * 0.3 + 0.5 * 0.25)


def test_ece_perfect_and_worst():
    assert expected_calibration_error([0, 0, 0, 1], [0.25] * 4) == pytest.approx(0.0)
    assert expected_calibration_error([1, 0], [1.0, 0.0]) == pytest.approx(0.0)
    assert expected_calibration_error([0, 1], [1.0, 0.0]) == pytest.approx(1.0)


def test_ece_matches_a_loop_over_bins():
    rng = np.random.default_rng(0)
    proba = rng.uniform(size=500)
    y = (rng.uniform(size=500) < proba**2).astype(int)
    edges = np.linspace(0.0, 1.0, 16)
    expected = 0.0
    for k in range(15):
        upper = proba <= edges[k + 1] if k == 14 else proba < edges[k + 1]
        in_bin = (proba >= edges[k]) & upper
        if in_bin.any():
            expected += in_bin.mean() * abs(proba[in_bin].mean() - y[in_bin].mean())
    assert expected > 0.05
    assert expected_calibration_error(y, proba, n_bins=15) == pytest.approx(expected)


def test_ece_bad_input():
    with pytest.raises(ValueError, match="same length"):
        expected_calibration_error([0, 1, 1], [0.2, 0.4])
    with pytest.raises(ValueError, match="empty"):
        expected_calibration_error([], [])
    for n_bins in (0, 1.5, True):
        with pytest.raises(ValueError, match=r"`n_bins` must be a positive integer"):
            expected_calibration_error([0, 1], [0.2, 0.4], n_bins=n_bins)


def test_calibration_bins_hand_computed():
    bins = calibration_bins([0, 1, 1, 1, 0], [0.1, 0.3, 0.6, 1.0, 0.5], n_bins=4)
    # [0, .25): 0.1 | [.25, .5): 0.3 | [.5, .75): 0.6, 0.5 | [.75, 1]: 1.0 (1 is in the last bin).
    np.testing.assert_array_equal(bins["counts"], [1, 1, 2, 1])
    np.testing.assert_allclose(bins["predicted"], [0.1, 0.3, 0.55, 1.0])
    np.testing.assert_allclose(bins["observed"], [0.0, 1.0, 0.5, 1.0])
    np.testing.assert_allclose(bins["edges"], [0, 0.25, 0.5, 0.75, 1])
    empty = calibration_bins([1], [0.9], n_bins=2)
    assert np.isnan(empty["predicted"][0]) and np.isnan(empty["observed"][0])
    assert empty["counts"].tolist() == [0, 1]


# --------------------------------------------------------------------- binary
def test_binary_report_hand_computed():
    report = binary_report(Y, P)
    tn, fp, fn, tp = confusion_matrix(Y, P >= 0.5).ravel()
    assert (tp, fn, fp, tn) == (3, 1, 2, 4)
    assert report["n"] == 10 and report["threshold"] == 0.5
    assert report["prevalence"] == pytest.approx(0.4)
    assert report["sensitivity"] == pytest.approx(3 / 4)
    assert report["specificity"] == pytest.approx(4 / 6)
    assert report["ppv"] == pytest.approx(3 / 5)
    assert report["npv"] == pytest.approx(4 / 5)
    assert report["brier"] == pytest.approx(brier_score_loss(Y, P))
    assert report["ece"] == pytest.approx(expected_calibration_error(Y, P))


def test_binary_report_ranking_metrics():
    report = binary_report(Y, P)
    # AUROC as the share of (positive, negative) pairs ranked correctly, ties half.
    pos, neg = P[Y == 1][:, None], P[Y == 0][None, :]
    pairs = (pos > neg) + 0.5 * (pos == neg)
    assert report["auroc"] == pytest.approx(pairs.mean())
    assert report["auroc"] == pytest.approx(roc_auc_score(Y, P))
    assert report["auprc"] == pytest.approx(average_precision_score(Y, P))


def test_binary_report_threshold_moves_the_cut():
    # 0.4 is called positive at threshold 0.4 (>=), not at 0.41.
    assert binary_report(Y, P, threshold=0.4)["sensitivity"] == pytest.approx(1.0)
    assert binary_report(Y, P, threshold=0.41)["sensitivity"] == pytest.approx(0.75)


def test_binary_report_empty_denominators_are_nan():
    nothing_called = binary_report(Y, P, threshold=1.0)
    assert math.isnan(nothing_called["ppv"])
    assert nothing_called["sensitivity"] == 0.0
    assert nothing_called["specificity"] == 1.0
    assert nothing_called["npv"] == pytest.approx(6 / 10)

    no_positives = binary_report(np.zeros(4), [0.1, 0.6, 0.2, 0.3])
    assert math.isnan(no_positives["sensitivity"])
    assert math.isnan(no_positives["auroc"]) and math.isnan(no_positives["auprc"])
    assert no_positives["ppv"] == 0.0 and no_positives["specificity"] == pytest.approx(0.75)

    no_negatives = binary_report(np.ones(3), [0.9, 0.8, 0.7])
    assert math.isnan(no_negatives["specificity"]) and math.isnan(no_negatives["npv"])
    assert no_negatives["sensitivity"] == 1.0


@pytest.mark.parametrize("threshold", [-0.1, 1.5])
def test_binary_report_bad_threshold(threshold):
    with pytest.raises(ValueError, match="threshold"):
        binary_report(Y, P, threshold=threshold)


# ----------------------------------------------------------------- multiclass
def test_multiclass_report_macro_averages():
    report = multiclass_report(Y3, P3)
    # One-vs-rest at 0.5 -- class 0: TP1 FN1 FP1 TN4; class 1: same; class 2: TP3 TN4.
    assert report["n"] == 7 and len(report["per_class"]) == 3
    assert report["sensitivity"] == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert report["specificity"] == pytest.approx((0.8 + 0.8 + 1.0) / 3)
    assert report["ppv"] == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert report["npv"] == pytest.approx((0.8 + 0.8 + 1.0) / 3)
    assert report["prevalence"] == pytest.approx(1 / 3)
    assert report["auroc"] == pytest.approx(
        roc_auc_score(Y3, P3, multi_class="ovr", average="macro")
    )
    for k, per_class in enumerate(report["per_class"]):
        assert per_class["prevalence"] == pytest.approx(np.mean(Y3 == k))


def test_multiclass_macro_skips_nan():
    # At 0.75 only class 2 calls anything positive, so only its PPV (1.0) is defined.
    report = multiclass_report(Y3, P3, threshold=0.75)
    assert [math.isnan(r["ppv"]) for r in report["per_class"]] == [True, True, False]
    assert report["ppv"] == pytest.approx(1.0)
    assert report["threshold"] == 0.75


def test_multilabel_indicator_targets():
    indicator = np.array([[1, 0], [1, 1], [0, 1], [0, 0], [1, 0]])
    proba = np.array([[0.8, 0.3], [0.6, 0.7], [0.2, 0.9], [0.4, 0.1], [0.3, 0.2]])
    report = multiclass_report(indicator, proba)
    first, second = report["per_class"]
    assert first["prevalence"] == pytest.approx(0.6)
    assert second["prevalence"] == pytest.approx(0.4)
    assert first["sensitivity"] == pytest.approx(2 / 3) and second["sensitivity"] == 1.0
    assert report["sensitivity"] == pytest.approx((2 / 3 + 1.0) / 2)
