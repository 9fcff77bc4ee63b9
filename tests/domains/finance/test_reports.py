"""Finance reports on plain scores: performance, stability, fairness, fraud metrics, splits."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from domains.finance.reports import (
    average_precision,
    fairness_report,
    out_of_time_split,
    performance_report,
    precision_at_k_per_day,
    recall_at_fpr,
    stability_report,
)
from domains.finance.reports.stability_report import EPSILON, _verdict


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    proba = np.clip(0.35 * y + 0.65 * rng.random(500), 0.0, 1.0)
    return y, proba


# ------------------------------------------------------------ performance_report
def test_performance_hand_example():
    # Goods score 0.1 and 0.4, bads 0.35 and 0.8: 3 of the 4 bad/good pairs are ordered.
    report = performance_report([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], n_bands=2)
    assert report["auc"] == pytest.approx(0.75)
    assert report["gini"] == pytest.approx(0.5)
    assert report["ks"] == pytest.approx(0.5)  # threshold 0.8: TPR 0.5, FPR 0
    assert report["n"] == 4
    assert report["bad_rate"] == pytest.approx(0.5)


def test_ks_and_gini_match_sklearn_roc_curve(scored):
    y, proba = scored
    report = performance_report(y, proba)
    fpr, tpr, _ = roc_curve(y, proba)
    assert report["ks"] == pytest.approx(np.max(tpr - fpr))
    assert report["auc"] == pytest.approx(roc_auc_score(y, proba))
    assert report["gini"] == pytest.approx(2 * roc_auc_score(y, proba) - 1)
    assert 0.3 < report["ks"] < 1.0


def test_band_table_hand_example():
    bands = performance_report([1, 0, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.3, 0.2, 0.1], n_bands=3)[
        "bands"
    ]
    assert list(bands.columns) == [
        "band",
        "n",
        "n_bad",
        "bad_rate",
        "min_proba",
        "max_proba",
        "cumulative_bad_share",
        "cumulative_good_share",
    ]
    assert bands["band"].tolist() == [1, 2, 3]
    assert bands["n"].tolist() == [2, 2, 2]
    assert bands["n_bad"].tolist() == [1, 1, 0]
    assert bands["min_proba"].tolist() == [0.8, 0.3, 0.1]
    assert bands["max_proba"].tolist() == [0.9, 0.7, 0.2]
    np.testing.assert_allclose(bands["bad_rate"], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(bands["cumulative_bad_share"], [0.5, 1.0, 1.0])
    np.testing.assert_allclose(bands["cumulative_good_share"], [0.25, 0.5, 1.0])


def test_band_table_sums_and_order(scored):
    y, proba = scored
    bands = performance_report(y, proba, n_bands=10)["bands"]
    assert bands["n"].tolist() == [50] * 10  # 500 distinct scores: exact deciles
    assert bands["n"].sum() == len(y)
    assert bands["n_bad"].sum() == y.sum()
    assert bands["cumulative_bad_share"].iloc[-1] == pytest.approx(1.0)
    assert bands["cumulative_good_share"].iloc[-1] == pytest.approx(1.0)
    assert bands["cumulative_bad_share"].is_monotonic_increasing
    # Riskiest first, and bands do not overlap.
    assert (bands["min_proba"].to_numpy()[:-1] > bands["max_proba"].to_numpy()[1:]).all()
    # A useful score captures bads faster than goods.
    assert bands["cumulative_bad_share"].iloc[0] > bands["cumulative_good_share"].iloc[0]


def test_tied_scores_never_straddle_two_bands():
    proba = np.repeat([0.1, 0.2, 0.5], [50, 30, 20])
    y = (np.arange(100) % 3 == 0).astype(int)
    bands = performance_report(y, proba, n_bands=10)["bands"]
    assert bands["n"].tolist() == [20, 30, 50]
    assert (bands["min_proba"] == bands["max_proba"]).all()
    assert bands["n_bad"].sum() == y.sum()


def test_single_class_gives_nan_not_crash():
    report = performance_report([0, 0, 0], [0.1, 0.5, 0.9])
    assert np.isnan(report["auc"]) and np.isnan(report["gini"]) and np.isnan(report["ks"])
    assert report["bad_rate"] == 0.0
    assert report["bands"]["cumulative_bad_share"].isna().all()
    assert report["bands"]["cumulative_good_share"].iloc[-1] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("y", "proba", "n_bands", "names"),
    [
        ([0, 1, 1], [0.1, 0.2], 10, ["`y`", "`proba`", "3", "2"]),
        ([0, 2], [0.1, 0.2], 10, ["`y`", "0", "1"]),
        (["good", "bad"], [0.1, 0.2], 10, ["`y`"]),
        ([0, 1], [0.1, np.nan], 10, ["`proba`", "finite"]),
        ([0, 1], ["a", "b"], 10, ["`proba`", "numbers"]),
        ([0, 1], [0.1, 0.2], 0, ["`n_bands`", "n_bands=0"]),
        ([], [], 10, ["empty"]),
    ],
)
def test_performance_errors_name_the_argument(y, proba, n_bands, names):
    with pytest.raises(ValueError) as error:
        performance_report(y, proba, n_bands=n_bands)
    for name in names:
        assert name in str(error.value)


# ------------------------------------------------------------ stability_report
def test_psi_hand_example():
    expected = np.arange(1, 11)  # 5 bins fixed on it: (-inf, 2], (2, 4], (4, 6], (6, 8], (8, inf)
    actual = [0, 1, 2, 3, 3, 5, 7, 9, 20, 30]  # shares 0.3, 0.2, 0.1, 0.1, 0.3
    report = stability_report(expected, actual, bins=5)
    e = np.full(5, 0.2)
    a = np.array([0.3, 0.2, 0.1, 0.1, 0.3])
    assert report["psi"] == pytest.approx(np.sum((a - e) * np.log(a / e)))
    assert report["psi"] == pytest.approx(0.2 * np.log(1.5) + 0.2 * np.log(2.0))
    assert report["verdict"] == "investigate"
    table = report["bins"]
    assert list(table.columns) == [
        "bin",
        "expected_n",
        "actual_n",
        "expected_share",
        "actual_share",
        "psi_contribution",
    ]
    assert table["bin"].tolist() == ["(-inf, 2]", "(2, 4]", "(4, 6]", "(6, 8]", "(8, inf)"]
    assert table["expected_n"].tolist() == [2, 2, 2, 2, 2]
    assert table["actual_n"].tolist() == [3, 2, 1, 1, 3]
    assert table["psi_contribution"].sum() == pytest.approx(report["psi"])


def test_identical_samples_are_stable_with_zero_psi(scored):
    _, proba = scored
    report = stability_report(proba, pd.Series(proba[::-1]))
    assert report["psi"] == pytest.approx(0.0, abs=1e-12)
    assert report["verdict"] == "stable"
    assert report["bins"]["expected_n"].tolist() == [50] * 10


def test_empty_bin_uses_epsilon_and_psi_stays_finite():
    expected = np.arange(1, 11)
    actual = np.full(10, 100)  # everything in the top bin; four bins are empty
    report = stability_report(expected, actual, bins=5)
    e = np.full(5, 0.2)
    a = np.array([EPSILON] * 4 + [1.0])
    assert EPSILON == 1e-4
    assert np.isfinite(report["psi"])
    assert report["psi"] == pytest.approx(np.sum((a - e) * np.log(a / e)))
    assert report["bins"]["actual_share"].tolist()[:4] == [0.0] * 4  # raw shares reported
    assert report["verdict"] == "shifted"


def test_categorical_psi_with_unseen_category():
    report = stability_report(pd.Series(["a", "a", "b", "b"]), pd.Series(["a", "b", "c", "c"]))
    table = report["bins"].set_index("bin")
    assert table.index.tolist() == ["a", "b", "other"]
    assert table.loc["other", "expected_n"] == 0
    assert table.loc["other", "actual_n"] == 2
    expected_psi = 2 * (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.5 - EPSILON) * np.log(0.5 / EPSILON)
    assert report["psi"] == pytest.approx(expected_psi)


def test_missing_values_get_their_own_bin():
    report = stability_report([1.0, 2.0, 3.0, np.nan], [1.0, np.nan, np.nan, np.nan], bins=2)
    table = report["bins"].set_index("bin")
    assert table.loc["missing", "expected_n"] == 1
    assert table.loc["missing", "actual_n"] == 3
    assert table["expected_n"].sum() == 4 and table["actual_n"].sum() == 4
    assert report["verdict"] == "shifted"


def test_verdict_thresholds():
    assert _verdict(0.0) == "stable"
    assert _verdict(0.0999) == "stable"
    assert _verdict(0.1) == "investigate"
    assert _verdict(0.2499) == "investigate"
    assert _verdict(0.25) == "shifted"
    assert _verdict(3.0) == "shifted"


def test_csi_per_column_flags_only_the_shifted_column():
    rng = np.random.default_rng(1)
    base = pd.DataFrame(
        {
            "income": rng.normal(50, 10, 1000),
            "age": rng.normal(40, 8, 1000),
            "region": rng.choice(["north", "south"], 1000),
        }
    )
    recent = base.copy()
    recent["income"] = recent["income"] + 15  # shifted
    recent = recent[["region", "age", "income"]]  # column order does not matter
    report = stability_report(base, recent)
    assert list(report.columns) == ["psi", "verdict"]
    assert report.index.tolist() == ["income", "age", "region"]
    assert report.loc["age", "psi"] == pytest.approx(0.0, abs=1e-12)
    assert report.loc["region", "psi"] == pytest.approx(0.0, abs=1e-12)
    assert report.loc["age", "verdict"] == "stable"
    assert report.loc["income", "psi"] > 0.25
    assert report.loc["income", "verdict"] == "shifted"


def test_stability_errors():
    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    with pytest.raises(ValueError, match=r"`actual`.*ndarray"):
        stability_report(frame, np.array([1, 2]))
    with pytest.raises(ValueError, match=r"`expected`.*ndarray"):
        stability_report(np.array([1, 2]), frame)
    with pytest.raises(ValueError) as error:
        stability_report(frame, pd.DataFrame({"a": [1, 2], "c": [3, 4]}))
    assert "'b'" in str(error.value) and "'c'" in str(error.value)
    assert "'a'" not in str(error.value)
    with pytest.raises(ValueError, match=r"`expected` is empty"):
        stability_report([], [1, 2])
    with pytest.raises(ValueError, match=r"`actual` is empty"):
        stability_report([1, 2], np.array([]))
    with pytest.raises(ValueError, match=r"`actual` is empty"):
        stability_report(frame, frame.iloc[:0])
    with pytest.raises(ValueError, match=r"`bins`.*bins=0"):
        stability_report([1, 2], [1, 2], bins=0)
    with pytest.raises(ValueError, match=r"`expected` must be 1-D"):
        stability_report(np.ones((2, 2)), [1, 2])
    with pytest.raises(ValueError, match=r"column 'a' of `actual`"):
        stability_report(frame, pd.DataFrame({"a": ["x", "y"], "b": [3, 4]}))


# ------------------------------------------------------------ fairness_report
@pytest.fixture
def toy_credit():
    # Group A: approved (proba < 0.5) 2 of 4; goods approved 2 of 3.
    # Group B: approved 3 of 4; goods approved 2 of 2.
    y = [0, 0, 0, 1, 0, 1, 0, 1]
    proba = [0.1, 0.2, 0.6, 0.7, 0.1, 0.2, 0.3, 0.9]
    group = ["A", "A", "A", "A", "B", "B", "B", "B"]
    return y, proba, group


def test_disparate_impact_by_hand(toy_credit):
    report = fairness_report(*toy_credit)
    assert list(report.columns) == [
        "n",
        "positive_rate",
        "favourable_rate",
        "disparate_impact",
        "four_fifths_ok",
        "tpr_good",
        "equal_opportunity_difference",
        "auc",
    ]
    assert report.index.tolist() == ["A", "B"]
    assert report["n"].tolist() == [4, 4]
    np.testing.assert_allclose(report["favourable_rate"], [0.5, 0.75])
    np.testing.assert_allclose(report["positive_rate"], [0.5, 0.25])
    # Reference defaults to B, the group with the highest favourable rate.
    np.testing.assert_allclose(report["disparate_impact"], [0.5 / 0.75, 1.0])
    assert report["four_fifths_ok"].tolist() == [False, True]
    np.testing.assert_allclose(report["tpr_good"], [2 / 3, 1.0])
    np.testing.assert_allclose(report["equal_opportunity_difference"], [2 / 3 - 1.0, 0.0])
    np.testing.assert_allclose(report["auc"], [1.0, 0.75])


def test_explicit_reference_and_threshold(toy_credit):
    y, proba, group = toy_credit
    report = fairness_report(y, proba, pd.Series(group, name="sex"), reference="A")
    assert report.index.name == "sex"
    np.testing.assert_allclose(report["disparate_impact"], [1.0, 1.5])
    np.testing.assert_allclose(report["equal_opportunity_difference"], [0.0, 1 / 3])
    # At threshold 0.65, A approves 3 of 4 and B still 3 of 4.
    relaxed = fairness_report(y, proba, group, threshold=0.65)
    np.testing.assert_allclose(relaxed["disparate_impact"], [1.0, 1.0])
    # A score equal to the threshold is declined: A's 0.6 is not approved at 0.6.
    at_edge = fairness_report(y, proba, group, threshold=0.6)
    assert at_edge.loc["A", "favourable_rate"] == pytest.approx(0.5)


def test_single_class_and_empty_groups_give_nan_not_crash():
    y = [0, 0, 1, 1, 0, 1]
    proba = [0.1, 0.7, 0.8, 0.2, 0.3, 0.9]
    group = pd.Categorical(
        ["goods", "goods", "bads", "bads", "mixed", "mixed"],
        categories=["bads", "goods", "mixed", "nobody"],
    )
    report = fairness_report(y, proba, group)
    assert report.index.tolist() == ["bads", "goods", "mixed", "nobody"]
    assert np.isnan(report.loc["goods", "auc"])
    assert np.isnan(report.loc["bads", "auc"])
    assert np.isnan(report.loc["bads", "tpr_good"])  # no actual goods
    assert report.loc["mixed", "auc"] == pytest.approx(1.0)
    assert report.loc["nobody", "n"] == 0
    assert report[["favourable_rate", "disparate_impact", "auc"]].loc["nobody"].isna().all()
    assert report.loc["nobody", "four_fifths_ok"] is pd.NA


def test_reference_with_no_approvals_gives_nan_impact():
    report = fairness_report(
        [0, 1, 0, 1], [0.9, 0.8, 0.1, 0.9], ["A", "A", "B", "B"], reference="A"
    )
    assert report["disparate_impact"].isna().all()
    assert report["four_fifths_ok"].isna().all()


def test_fairness_errors(toy_credit):
    y, proba, group = toy_credit
    with pytest.raises(ValueError, match=r"`y` and `group`.*8 and 7"):
        fairness_report(y, proba, group[:7])
    with pytest.raises(ValueError, match=r"`y` and `proba`"):
        fairness_report(y, proba[:7], group)
    with pytest.raises(ValueError, match=r"`reference`.*'C'"):
        fairness_report(y, proba, group, reference="C")
    with pytest.raises(ValueError, match=r"`group`.*missing"):
        fairness_report(y, proba, ["A"] * 7 + [None])
    with pytest.raises(ValueError, match=r"`threshold`"):
        fairness_report(y, proba, group, threshold="high")


# ------------------------------------------------------------ fraud metrics
def test_average_precision_is_sklearns(scored):
    y, proba = scored
    assert average_precision(y, proba) == pytest.approx(average_precision_score(y, proba))
    assert np.isnan(average_precision([0, 0], [0.1, 0.2]))


def test_precision_at_k_per_day_by_hand():
    # Day 1 (3 transactions): top 2 are 0.9 (fraud) and 0.8 (legit) -> 1/2.
    # Day 2 (1 transaction, fewer than k): 0.5 (fraud) -> 1/1. Mean of days: 0.75.
    y = [0, 1, 1, 1]
    scores = [0.8, 0.5, 0.1, 0.9]
    timestamps = ["2024-03-01 23:59", "2024-03-02 00:01", "2024-03-01 08:00", "2024-03-01 12:00"]
    assert precision_at_k_per_day(y, scores, timestamps, k=2) == pytest.approx(0.75)
    # k=1: day 1's top is fraud, day 2's too.
    assert precision_at_k_per_day(y, scores, pd.to_datetime(timestamps), k=1) == 1.0
    # k=3: day 1 has 2 frauds of 3, day 2 1 of 1.
    assert precision_at_k_per_day(y, scores, timestamps, k=3) == pytest.approx((2 / 3 + 1) / 2)


def test_recall_at_fpr_by_hand():
    y = [1, 1, 1, 1] + [0] * 10
    scores = [0.95, 0.9, 0.5, 0.2, 0.92, 0.8, 0.7, 0.6, 0.4, 0.3, 0.25, 0.15, 0.1, 0.05]
    assert recall_at_fpr(y, scores, max_fpr=0.05) == pytest.approx(0.25)  # no legit flagged
    assert recall_at_fpr(y, scores, max_fpr=0.1) == pytest.approx(0.5)  # one legit flagged
    assert recall_at_fpr(y, scores, max_fpr=0.35) == pytest.approx(0.5)
    assert recall_at_fpr(y, scores, max_fpr=0.45) == pytest.approx(0.75)
    assert np.isnan(recall_at_fpr([1, 1], [0.2, 0.3]))


def test_fraud_metric_errors():
    with pytest.raises(ValueError, match=r"`y` and `scores`.*3 and 2"):
        recall_at_fpr([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"`y` and `scores`"):
        average_precision([0, 1, 1], [0.1, 0.2])
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"`max_fpr`"):
            recall_at_fpr([0, 1], [0.1, 0.2], max_fpr=bad)
    with pytest.raises(ValueError, match=r"`k`.*k=0"):
        precision_at_k_per_day([0, 1], [0.1, 0.2], ["2024-01-01", "2024-01-02"], k=0)
    with pytest.raises(ValueError, match=r"`timestamps`.*parsed"):
        precision_at_k_per_day([0, 1], [0.1, 0.2], ["2024-01-01", "not a date"], k=1)
    with pytest.raises(ValueError, match=r"`timestamps`.*numbers"):
        precision_at_k_per_day([0, 1], [0.1, 0.2], [1_700_000_000, 1_700_086_400], k=1)
    with pytest.raises(ValueError, match=r"`y` and `timestamps`.*2 and 3"):
        precision_at_k_per_day([0, 1], [0.1, 0.2], ["2024-01-01"] * 3, k=1)
    with pytest.raises(ValueError, match=r"`timestamps`.*missing"):
        precision_at_k_per_day([0, 1], [0.1, 0.2], ["2024-01-01", None], k=1)


# ------------------------------------------------------------ out_of_time_split
@pytest.fixture
def loans():
    days = [3, 1, 4, 2, 3, 1, 2, 3, 5, 4]
    frame = pd.DataFrame(
        {
            "opened": [f"2024-01-0{d}" for d in days],
            "amount": np.arange(10) * 100,
        }
    )
    return frame.sample(frac=1.0, random_state=0)


def test_out_of_time_split_orders_and_never_overlaps(loans):
    train, test = out_of_time_split(loans, "opened", test_size=0.2)
    # The latest 2 rows are days 5 and 4; the other day-4 row joins them (ties go to test).
    assert len(train) + len(test) == len(loans)
    assert set(train.index).isdisjoint(test.index)
    assert set(train.index) | set(test.index) == set(loans.index)
    assert sorted(test["opened"]) == ["2024-01-04", "2024-01-04", "2024-01-05"]
    assert pd.to_datetime(train["opened"]).max() < pd.to_datetime(test["opened"]).min()
    assert pd.to_datetime(train["opened"]).is_monotonic_increasing
    assert pd.to_datetime(test["opened"]).is_monotonic_increasing
    # Rows are kept whole: amounts travel with their dates.
    assert (train["amount"] == loans.loc[train.index, "amount"]).all()


def test_out_of_time_split_default_and_cutoff(loans):
    train, test = out_of_time_split(loans, "opened")
    assert len(test) == 3  # default 0.2, plus the tie at the boundary
    train, test = out_of_time_split(loans, "opened", cutoff="2024-01-03")
    assert sorted(test["opened"].unique()) == ["2024-01-03", "2024-01-04", "2024-01-05"]
    assert len(test) == 6 and len(train) == 4
    numeric = pd.DataFrame({"month": [5, 1, 3, 2, 4], "x": range(5)})
    train, test = out_of_time_split(numeric, "month", cutoff=4)
    assert train["month"].tolist() == [1, 2, 3] and test["month"].tolist() == [4, 5]


def test_out_of_time_split_errors(loans):
    with pytest.raises(ValueError, match=r"'closed'"):
        out_of_time_split(loans, "closed")
    with pytest.raises(ValueError, match=r"'opened'.*parsed"):
        out_of_time_split(loans.assign(opened="someday"), "opened")
    with pytest.raises(ValueError, match=r"'opened'.*0 test rows"):
        out_of_time_split(loans, "opened", cutoff="2030-01-01")
    with pytest.raises(ValueError, match=r"'opened'.*0 training"):
        out_of_time_split(loans.assign(opened="2024-01-01"), "opened")
    with pytest.raises(ValueError, match=r"`test_size`.*test_size=1.5"):
        out_of_time_split(loans, "opened", test_size=1.5)
    with pytest.raises(ValueError, match=r"`test_size` or `cutoff`"):
        out_of_time_split(loans, "opened", test_size=0.3, cutoff="2024-01-03")
    with pytest.raises(ValueError, match=r"`cutoff`.*parsed"):
        out_of_time_split(loans, "opened", cutoff="whenever")
    with pytest.raises(ValueError, match=r"`df` is empty"):
        out_of_time_split(loans.iloc[:0], "opened")
    with pytest.raises(TypeError, match=r"`df`"):
        out_of_time_split(loans.to_numpy(), "opened")
