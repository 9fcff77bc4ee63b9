"""RiskScorer: points, reason codes, monotone constraints, excluded columns, files, errors."""

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from core.backbones.tabular_model import tabular_model_parts
from domains.finance import RiskScorer, fairness_report

TINY = dict(
    embedding_dim=4, hidden_units=(16,), n_members=2, max_epochs=40, patience=5, learning_rate=1e-2
)


def tiny(**params):
    return RiskScorer(**{**TINY, "random_state": 0, **params})


def applicants(n=500, seed=0):
    """A small credit table whose default risk rises with debt and falls with income."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(10, 0.5, n),
            "debt_to_income": rng.uniform(0, 1, n),
            "late_payments": rng.poisson(1.0, n),
            "housing": rng.choice(["own", "rent", "free"], n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    frame.loc[rng.random(n) < 0.05, "income"] = np.nan
    logit = (
        -2.5
        + 3.0 * frame["debt_to_income"]
        + 0.6 * frame["late_payments"]
        - 0.8 * (np.log(frame["income"].fillna(22000)) - 10)
        + 0.5 * (frame["housing"] == "rent")
    )
    default = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, pd.Series(default, name="default")


@pytest.fixture(scope="module")
def data():
    return applicants()


@pytest.fixture(scope="module")
def scorer(data):
    X, y = data
    return tiny(monotone_constraints={"debt_to_income": 1, "income": -1}, exclude=["sex"]).fit(
        X.iloc[:400], y.iloc[:400]
    )


def test_probability_of_default_ranks_applicants(scorer, data):
    X, y = data
    proba = scorer.predict_proba(X.iloc[400:])[:, 1]
    assert roc_auc_score(y.iloc[400:], proba) > 0.7


def test_points_follow_the_industry_scaling(scorer, data):
    X, _ = data
    p = scorer.predict_proba(X.iloc[:20])[:, 1]
    factor = 20.0 / math.log(2.0)
    offset = 600.0 - factor * math.log(50.0)
    np.testing.assert_allclose(scorer.points(X.iloc[:20]), offset + factor * np.log((1 - p) / p))
    # pdo points double the odds; base odds score base_score.
    assert offset + factor * math.log(100.0) == pytest.approx(620.0)
    assert offset + factor * math.log(50.0) == pytest.approx(600.0)


def test_scaling_is_saved_with_the_model(data, tmp_path):
    X, y = data
    model = tiny(pdo=40, base_score=500, base_odds=20, max_epochs=3).fit(X.iloc[:200], y.iloc[:200])
    reloaded = RiskScorer.load(model.save(tmp_path / "scorer.kdm"))
    assert (reloaded.pdo, reloaded.base_score, reloaded.base_odds) == (40, 500, 20)
    np.testing.assert_allclose(reloaded.points(X.iloc[200:]), model.points(X.iloc[200:]), atol=1e-4)
    assert reloaded.reference_.keys() == model.reference_.keys() == {"numeric", "categorical"}
    for name, rows in model.reference_.items():
        assert reloaded.reference_[name].dtype == rows.dtype
        np.testing.assert_array_equal(reloaded.reference_[name], rows)


@pytest.mark.parametrize(("column", "sign"), [("debt_to_income", 1), ("income", -1)])
def test_risk_is_monotone_in_constrained_columns(scorer, data, column, sign):
    X, _ = data
    low, high = X[column].min(), X[column].max()
    grid = np.linspace(low - (high - low), high + (high - low), 60)
    for i in range(8):  # Several applicants: monotone whatever the other columns hold.
        rows = pd.concat([X.iloc[[i]]] * len(grid), ignore_index=True)
        rows[column] = grid
        risk = scorer.predict_proba(rows)[:, 1]
        assert (sign * np.diff(risk) >= -1e-7).all()
        assert sign * (risk[-1] - risk[0]) > 0


def test_excluded_columns_are_not_used_but_may_be_passed(scorer, data):
    X, y = data
    assert "sex" not in scorer.feature_names_in_ and scorer.excluded_columns_ == ["sex"]
    flipped = X.iloc[400:].assign(sex=lambda f: np.where(f["sex"] == "F", "M", "F"))
    np.testing.assert_allclose(scorer.predict_proba(flipped), scorer.predict_proba(X.iloc[400:]))
    np.testing.assert_allclose(
        scorer.predict_proba(X.iloc[400:].drop(columns=["sex"])), scorer.predict_proba(X.iloc[400:])
    )
    # The protected attribute is still there for the fairness report.
    report = fairness_report(
        y.iloc[400:], scorer.predict_proba(X.iloc[400:])[:, 1], X["sex"].iloc[400:]
    )
    assert set(report.index) == {"F", "M"}


def test_reason_codes_name_the_columns_that_cost_points(scorer, data):
    X, _ = data
    codes = scorer.reason_codes(X.iloc[400:430], n=3)
    assert list(codes.columns) == [
        "reason_1", "reason_2", "reason_3", "points_1", "points_2", "points_3",
    ]  # fmt: skip
    assert list(codes.index) == list(X.index[400:430])
    points = codes[["points_1", "points_2", "points_3"]].to_numpy()
    filled = ~np.isnan(points)
    assert (points[filled] > 0).all()
    # Largest loss first, and reasons are model features only.
    assert (np.nan_to_num(points[:, 0]) >= np.nan_to_num(points[:, 1])).all()
    used = set(codes[["reason_1", "reason_2", "reason_3"]].stack().dropna())
    assert used <= set(scorer.feature_names_in_)
    # The riskiest applicant by debt is told so.
    worst = X.iloc[400:430]["debt_to_income"].idxmax()
    assert "debt_to_income" in codes.loc[worst, ["reason_1", "reason_2", "reason_3"]].tolist()


def test_reason_points_add_up_to_the_gap_to_the_reference(scorer, data):
    X, _ = data
    rows = X.iloc[400:405]
    lost = -scorer._column_attributions(
        scorer.preprocessor_.transform(rows.drop(columns=["sex"])),
        scorer.reference_,
        scorer._points_of,
        steps=64,
    )
    reference_points = scorer._points_of(scorer._head_call(
        tabular_model_parts(scorer.model_).head, scorer.reference_
    )).numpy().mean()  # fmt: skip
    np.testing.assert_allclose(-lost.sum(axis=1), scorer.points(rows) - reference_points, atol=0.5)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"monotone_constraints": {"salary": 1}}, "salary"),
        ({"monotone_constraints": {"housing": 1}}, "'housing' is not numeric"),
        ({"monotone_constraints": {"income": 2}}, "must be \\+1 or -1"),
        ({"pdo": 0}, "`pdo` must be a positive number"),
        ({"pdo": -20}, "`pdo` must be a positive number"),
        ({"base_odds": 0}, "`base_odds` must be a positive number"),
        ({"exclude": ["religion"]}, "religion"),
    ],
)
def test_bad_settings_name_the_argument(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        tiny(**params).fit(X.iloc[:100], y.iloc[:100])


def test_multiclass_targets_are_refused(data):
    X, _ = data
    with pytest.raises(ValueError, match="binary"):
        tiny().fit(X.iloc[:90], np.repeat(["a", "b", "c"], 30))


def test_loaded_parameters_equal_the_saved_ones(data, tmp_path):
    X, y = data
    model = tiny(max_epochs=1, exclude=["sex"], monotone_constraints={"income": -1})
    model.fit(X.iloc[:100], y.iloc[:100])
    loaded = RiskScorer.load(model.save(tmp_path / "m.kdm"))
    assert loaded.get_params() == model.get_params()
    assert loaded.exclude == ["sex"] and loaded.hidden_units == (16,)
