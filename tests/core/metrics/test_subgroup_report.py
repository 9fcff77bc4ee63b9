import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from core.metrics import expected_calibration_error, subgroup_report
from core.metrics.subgroup_report import COLUMNS, _resample_metrics


class FixedProba:
    """A fitted classifier whose probabilities are the columns of X named "p<k>"."""

    def __init__(self, classes, target_type=None):
        self.classes_ = np.asarray(classes)
        if target_type is not None:
            self.target_type_ = target_type

    def predict_proba(self, X):
        return X[[f"p{k}" for k in range(len(self.classes_))]].to_numpy()


def binary_data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(n), 2)  # Rounded: ties, as real scores have.
    y = np.where(rng.random(n) < p, "sick", "well")
    site = rng.choice(["b", "a", "c"], n)
    # classes_ sorted: "sick" is classes_[0], "well" classes_[1] (the default positive).
    X = pd.DataFrame({"p0": p, "p1": 1 - p, "site": site})
    return X, y, site


def test_per_group_metrics_match_sklearn():
    X, y, site = binary_data()
    model = FixedProba(["sick", "well"])
    report = subgroup_report(model, X, y, site, threshold=0.4, n_bootstrap=50)
    assert list(report.columns) == COLUMNS
    assert report["group"].tolist() == ["all", "a", "b", "c"]
    assert report.attrs["positive_class"] == "well"
    for _, row in report.iterrows():
        rows = np.ones(len(y), bool) if row["group"] == "all" else site == row["group"]
        truth, score = y[rows] == "well", X["p1"].to_numpy()[rows]
        assert row["n"] == rows.sum()
        assert row["prevalence"] == pytest.approx(truth.mean())
        assert row["auroc"] == pytest.approx(roc_auc_score(truth, score))
        assert row["auprc"] == pytest.approx(average_precision_score(truth, score))
        assert row["ece"] == pytest.approx(expected_calibration_error(truth, score))
        assert row["sensitivity"] == pytest.approx((score[truth] >= 0.4).mean())


def test_positive_class_picks_the_probability_column():
    X, y, site = binary_data()
    report = subgroup_report(
        FixedProba(["sick", "well"]), X, y, site, positive_class="sick", n_bootstrap=0
    )
    truth = y == "sick"
    assert report.loc[0, "auroc"] == pytest.approx(roc_auc_score(truth, X["p0"]))
    assert report.attrs["positive_class"] == "sick"


def test_intervals_hold_the_estimate_and_are_reproducible():
    X, y, site = binary_data()
    model = FixedProba(["sick", "well"])
    first = subgroup_report(model, X, y, site, random_state=1)
    again = subgroup_report(model, X, y, site, random_state=1)
    pd.testing.assert_frame_equal(first, again)
    for name in ("auroc", "auprc", "sensitivity"):
        assert (first[f"{name}_low"] <= first[name]).all()
        assert (first[name] <= first[f"{name}_high"]).all()
    assert (first["ece_low"] <= first["ece_high"]).all()
    wider = subgroup_report(model, X, y, site, confidence=0.99, random_state=1)
    assert (
        wider["auroc_high"] - wider["auroc_low"] >= first["auroc_high"] - first["auroc_low"]
    ).all()
    none = subgroup_report(model, X, y, site, n_bootstrap=0)
    assert none["auroc_low"].isna().all() and none["auroc"].notna().all()


def test_groups_may_name_a_column_of_X():
    X, y, site = binary_data()
    model = FixedProba(["sick", "well"])
    by_name = subgroup_report(model, X, y, "site", n_bootstrap=20)
    by_values = subgroup_report(model, X, y, pd.Series(site), n_bootstrap=20)
    pd.testing.assert_frame_equal(by_name, by_values)


def test_single_class_groups_give_nan_without_warnings():
    X = pd.DataFrame({"p0": [0.9, 0.8, 0.3, 0.2, 0.6, 0.4], "p1": [0.1, 0.2, 0.7, 0.8, 0.4, 0.6]})
    y = np.array([0, 0, 0, 1, 1, 0])
    groups = ["only_negatives"] * 3 + ["mixed"] * 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = subgroup_report(FixedProba([0, 1]), X, y, groups, n_bootstrap=100)
    row = report.set_index("group").loc["only_negatives"]
    assert np.isnan(row["auroc"]) and np.isnan(row["auprc"]) and np.isnan(row["sensitivity"])
    assert np.isnan(row["auroc_low"]) and np.isnan(row["sensitivity_high"])
    assert row["ece"] == pytest.approx(expected_calibration_error([0, 0, 0], [0.1, 0.2, 0.7]))
    mixed = report.set_index("group").loc["mixed"]  # Resamples of one class are skipped.
    assert mixed["auroc"] == pytest.approx(roc_auc_score([1, 1, 0], [0.8, 0.4, 0.6]))
    assert 0 <= mixed["auroc_low"] <= mixed["auroc_high"] <= 1


def test_missing_group_values_form_their_own_last_group():
    X, y, _ = binary_data(n=40)
    groups = np.array([1.0, 2.0, np.nan, 10.0] * 10)
    report = subgroup_report(FixedProba(["sick", "well"]), X, y, groups, n_bootstrap=0)
    assert report["group"].tolist() == ["all", 1.0, 2.0, 10.0, "(missing)"]
    assert report["n"].tolist() == [40, 10, 10, 10, 10]


def test_multiclass_is_one_vs_rest_and_needs_the_class():
    rng = np.random.default_rng(2)
    proba = rng.dirichlet([1, 1, 1], size=90)
    X = pd.DataFrame(proba, columns=["p0", "p1", "p2"])
    y = rng.choice(["cat", "dog", "fox"], 90)
    model = FixedProba(["cat", "dog", "fox"], "multiclass")
    groups = np.repeat(["x", "y"], 45)
    with pytest.raises(ValueError, match=r"required.*\['cat', 'dog', 'fox'\]"):
        subgroup_report(model, X, y, groups)
    report = subgroup_report(model, X, y, groups, positive_class="dog", n_bootstrap=0)
    assert report.loc[1, "auroc"] == pytest.approx(roc_auc_score(y[:45] == "dog", proba[:45, 1]))


def test_multilabel_takes_a_label_index():
    rng = np.random.default_rng(3)
    proba = rng.random((60, 2))
    X = pd.DataFrame(proba, columns=["p0", "p1"])
    y = (rng.random((60, 2)) < proba).astype(int)
    model = FixedProba([0, 1], "multilabel-indicator")
    with pytest.raises(ValueError, match="required for a multilabel model: the index"):
        subgroup_report(model, X, y, np.zeros(60))
    report = subgroup_report(model, X, y, np.zeros(60), positive_class=1, n_bootstrap=0)
    assert report.loc[0, "auroc"] == pytest.approx(roc_auc_score(y[:, 1], proba[:, 1]))


def test_works_with_a_scikit_learn_classifier():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] + rng.normal(size=80) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    report = subgroup_report(model, X, y, X[:, 1] > 0, n_bootstrap=20)
    assert report["group"].tolist() == ["all", False, True]
    assert report.loc[0, "auroc"] == pytest.approx(roc_auc_score(y, model.predict_proba(X)[:, 1]))


def test_vectorised_bootstrap_metrics_match_sklearn_on_resamples():
    rng = np.random.default_rng(5)
    for _ in range(20):
        m = int(rng.integers(2, 30))
        y = rng.random(m) < 0.4
        s = np.round(rng.random(m), 1)  # Many ties.
        index = rng.integers(0, m, size=(4, m))
        metrics = _resample_metrics(y, s, index, 0.5)
        for b in range(4):
            truth, score = y[index[b]], s[index[b]]
            assert metrics["ece"][b] == pytest.approx(expected_calibration_error(truth, score))
            if truth.all() or not truth.any():
                assert np.isnan(metrics["auroc"][b]) and np.isnan(metrics["auprc"][b])
                continue
            assert metrics["auroc"][b] == pytest.approx(roc_auc_score(truth, score))
            assert metrics["auprc"][b] == pytest.approx(average_precision_score(truth, score))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"groups": ["a"] * 5}, "`groups` must have one entry per row of X: X has 150 rows"),
        ({"groups": "ward"}, r"column 'ward', which X does not have.*'site'"),
        ({"y": np.array(["well"] * 3)}, "`y` must have one entry per row of X"),
        ({"y": np.array(["well"] * 149 + ["dead"])}, r"labels \['dead'\] that are not in"),
        ({"threshold": 1.5}, r"`threshold` must be in \[0, 1\]"),
        ({"positive_class": "ill"}, r"must be one of classes_ \['sick', 'well'\]"),
        ({"n_bootstrap": -1}, "`n_bootstrap` must be a non-negative integer"),
        ({"confidence": 1.0}, r"`confidence` must be in \(0, 1\)"),
    ],
)
def test_errors_name_the_argument(change, message):
    X, y, site = binary_data()
    arguments = {"groups": site, "y": y, **change}
    with pytest.raises(ValueError, match=message):
        subgroup_report(FixedProba(["sick", "well"]), X, **arguments)


def test_a_column_name_needs_a_dataframe():
    with pytest.raises(ValueError, match="names a column, but X is a ndarray"):
        subgroup_report(FixedProba([0, 1]), np.zeros((3, 2)), [0, 1, 0], "site")
