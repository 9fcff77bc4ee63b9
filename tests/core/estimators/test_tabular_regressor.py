"""TabularRegressor: losses, standardised targets, conformal intervals, files, CLI, server."""

import asyncio
import concurrent.futures
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.calibration import conformal_interval, interval_scores
from core.cli import main
from core.estimators import TabularRegressor
from core.losses import EnsembleRegressionLoss, ordered_quantiles

TINY = {"embedding_dim": 4, "hidden_units": (16,), "max_epochs": 40, "random_state": 0}


def _table(n=600, seed=0, noise=1.0, heteroscedastic=False):
    """Rows with a numeric and a categorical column, and a target linear in both."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    kind = rng.choice(["a", "b", "c"], size=n)
    scale = noise * (0.2 + 2.0 * (x > 0)) if heteroscedastic else noise
    y = 3.0 * x + np.where(kind == "b", 4.0, 0.0) + rng.normal(size=n) * scale
    return pd.DataFrame({"x": x, "kind": kind}), pd.Series(y, name="cost")


@pytest.fixture(scope="module")
def point_model():
    X, y = _table()
    return TabularRegressor(**TINY).fit(X, y)


@pytest.fixture(scope="module")
def quantile_model():
    X, y = _table(heteroscedastic=True)
    # The tail quantiles learn slowly under the pinball loss' small gradients.
    params = {**TINY, "learning_rate": 1e-2, "max_epochs": 200}
    return TabularRegressor(loss="quantile", **params).fit(X, y)


# ------------------------------------------------------------------ losses
def test_each_loss_matches_its_formula():
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(5, 1)).astype("float32")
    y_pred = rng.normal(size=(5, 2, 1)).astype("float32")
    error = y_true[:, None, :] - y_pred
    expected = {
        "squared_error": error**2,
        "absolute_error": np.abs(error),
        "huber": np.where(np.abs(error) <= 1, 0.5 * error**2, np.abs(error) - 0.5),
    }
    for kind, per_member in expected.items():
        loss = EnsembleRegressionLoss(kind=kind, reduction=None)
        np.testing.assert_allclose(loss(y_true, y_pred), per_member.mean(axis=(1, 2)), rtol=1e-5)


def test_pinball_loss_over_ordered_quantiles():
    levels = [0.1, 0.5, 0.9]
    outputs = np.array([[[0.0, -3.0, 2.0]]], dtype="float32")  # One row, member, target.
    quantiles = np.asarray(ordered_quantiles(outputs, 3))[0, 0, 0]
    softplus = np.log1p(np.exp([-3.0, 2.0]))
    np.testing.assert_allclose(quantiles, [0.0, softplus[0], softplus.sum()], rtol=1e-6)
    y = np.array([[1.0]], dtype="float32")
    error = 1.0 - quantiles
    pinball = np.maximum(np.array(levels) * error, (np.array(levels) - 1) * error).mean()
    loss = EnsembleRegressionLoss(kind="quantile", quantiles=levels, reduction=None)
    np.testing.assert_allclose(loss(y, outputs), [pinball], rtol=1e-5)


def test_quantiles_never_cross(quantile_model):
    X, _ = _table(n=200, seed=5)
    quantiles = quantile_model.predict_quantiles(X)
    assert quantiles.shape == (200, 3)
    assert (np.diff(quantiles, axis=1) > 0).all()
    np.testing.assert_allclose(quantile_model.predict(X), quantiles[:, 1])


def test_the_median_loss_resists_outliers():
    X, y = _table(n=600, seed=1)
    outliers = np.random.default_rng(1).random(len(y)) < 0.1
    y_dirty = y + np.where(outliers, 60.0, 0.0)
    X_test, y_test = _table(n=300, seed=2)
    errors = {
        loss: np.abs(TabularRegressor(loss=loss, **TINY).fit(X, y_dirty).predict(X_test) - y_test)
        for loss in ("squared_error", "absolute_error")
    }
    assert np.median(errors["absolute_error"]) < 0.7 * np.median(errors["squared_error"])


# ------------------------------------------------------------------ targets
def test_predictions_are_in_the_targets_units(point_model):
    X, y = _table(n=300, seed=3)
    report = point_model.report(X, y)
    assert report["r2"] > 0.85
    assert report["rmse"] < 1.6  # The noise's standard deviation is 1.
    assert point_model.score(X, y) == pytest.approx(report["r2"])


def test_a_target_in_millions_trains_like_one_in_units():
    X, y = _table(n=400, seed=4)
    params = {**TINY, "max_epochs": 10}
    small = TabularRegressor(**params).fit(X, y).predict(X)
    large = TabularRegressor(**params).fit(X, y * 1e6 + 5e7).predict(X)
    np.testing.assert_allclose((large - 5e7) / 1e6, small, atol=1e-3)


def test_several_targets_keep_their_names_and_columns():
    X, y = _table(n=400, seed=6)
    targets = pd.DataFrame({"cost": y, "days": -2.0 * y + 10})
    model = TabularRegressor(**TINY).fit(X, targets)
    assert model.target_names_ == ["cost", "days"]
    predicted = model.predict(X)
    assert predicted.shape == (400, 2)
    assert np.corrcoef(predicted[:, 0], predicted[:, 1])[0, 1] < -0.95
    assert model.predict_interval(X.head(3)).shape == (3, 2, 2)
    report = model.report(X, targets)
    assert set(report["targets"]) == {"cost", "days"}
    assert report["targets"]["days"]["r2"] > 0.8


# ---------------------------------------------------------------- intervals
@pytest.mark.parametrize("n_folds", [1, 4])
def test_conformal_intervals_cover_over_many_seeds(n_folds):
    """Split conformal (one fold) and CV+ (four) reach 90% marginal coverage with an
    imperfect model, over 300 draws of the held-out and new rows."""
    covered = []
    for seed in range(300):
        rng = np.random.default_rng(seed)
        x_held, x_new = rng.normal(size=200), rng.normal(size=200)
        y_held = 2 * x_held + rng.standard_t(3, size=200)
        y_new = 2 * x_new + rng.standard_t(3, size=200)
        slopes = 1.8 + 0.1 * rng.normal(size=n_folds)  # Each member a little wrong.
        folds = rng.integers(0, n_folds, size=200) if n_folds > 1 else None
        member = np.zeros(200, int) if folds is None else folds
        scores = np.abs(y_held - slopes[member] * x_held)
        predicted = x_new[:, None] * slopes[None, :]
        low, high = conformal_interval(predicted, predicted, scores, 0.1, folds=folds)
        covered.append(np.mean((low <= y_new) & (y_new <= high)))
    assert 0.89 <= np.mean(covered) <= 0.915


def test_interval_scores_of_a_band():
    scores = interval_scores(np.array([0.0, 0.0, 0.0]), np.array([2.0, 2.0, 2.0]), [-1.0, 1.0, 5])
    np.testing.assert_allclose(scores, [1.0, -1.0, 3.0])


@pytest.mark.parametrize("loss", ["squared_error", "quantile"])
def test_estimator_intervals_cover_new_rows(loss):
    coverages = []
    for seed in range(3):
        X, y = _table(n=400, seed=10 + seed, heteroscedastic=True)
        # Conformal coverage holds for any model, so a short fit is enough.
        params = {**TINY, "max_epochs": 15, "random_state": seed}
        model = TabularRegressor(loss=loss, **params).fit(X, y)
        X_new, y_new = _table(n=2000, seed=100 + seed, heteroscedastic=True)
        low, high = model.predict_interval(X_new, alpha=0.1).T
        coverages.append(np.mean((low <= y_new) & (y_new <= high)))
    assert 0.86 <= np.mean(coverages) <= 0.94, coverages


def test_quantile_intervals_follow_the_noise(quantile_model, point_model):
    X, _ = _table(n=1000, seed=7)
    width = np.diff(quantile_model.predict_interval(X), axis=1).ravel()
    calm, noisy = width[X["x"] <= 0], width[X["x"] > 0]
    assert noisy.mean() > 2 * calm.mean()
    constant = np.diff(point_model.predict_interval(X), axis=1).ravel()
    # Absolute residuals: one width, up to the spread of the cross-fitted members (CV+).
    assert constant.std() < 0.05 * constant.mean()


def test_a_smaller_alpha_gives_wider_intervals(quantile_model):
    X, _ = _table(n=50, seed=8)
    narrow = np.diff(quantile_model.predict_interval(X, alpha=0.3), axis=1)
    wide = np.diff(quantile_model.predict_interval(X, alpha=0.05), axis=1)
    assert (wide > narrow).all()


def test_one_pass_gives_prediction_and_interval(quantile_model):
    X, _ = _table(n=20, seed=9)
    predictions, bounds = quantile_model.predict_with_interval(X, alpha=0.2)
    np.testing.assert_allclose(predictions, quantile_model.predict(X))
    np.testing.assert_allclose(bounds, quantile_model.predict_interval(X, alpha=0.2))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "y, message",
    [
        (np.r_[np.nan, np.ones(99)], "1 missing values"),
        (np.r_[np.inf, np.ones(99)], "1 infinite values"),
        (np.array(["cheap"] * 100, dtype=object), "must hold numbers"),
        (np.ones(99), "X has 100 rows, y has 99"),
        (None, "requires y to be passed"),
    ],
)
def test_bad_targets_are_named(y, message):
    X, _ = _table(n=100)
    with pytest.raises(ValueError, match=message):
        TabularRegressor(**TINY).fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"quantiles": (0.9, 0.5, 0.1)}, "increasing order"),
        ({"quantiles": (0.0, 0.5)}, r"levels in \(0, 1\)"),
        ({"loss": "pinball"}, "`loss` must be one of"),
    ],
)
def test_bad_parameters_are_named_before_training(params, message):
    X, y = _table(n=100)
    with pytest.raises(ValueError, match=message):
        TabularRegressor(**params).fit(X, y)


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.1"])
def test_alpha_outside_zero_one_is_refused(point_model, alpha):
    X, _ = _table(n=5)
    with pytest.raises(ValueError, match="`alpha` must be"):
        point_model.predict_interval(X, alpha=alpha)


def test_intervals_need_held_out_rows():
    X, y = _table(n=100)
    model = TabularRegressor(validation_fraction=0.0, **{**TINY, "max_epochs": 2}).fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction=0"):
        model.predict_interval(X)
    assert "coverage" not in model.report(X, y)
    with pytest.raises(ValueError, match="loss='quantile'"):
        model.predict_quantiles(X)


def test_too_few_held_out_rows_for_alpha_says_how_many(point_model):
    X, _ = _table(n=5)
    with pytest.raises(ValueError, match="needs at least 999 held-out"):
        point_model.predict_interval(X, alpha=0.001)


# ------------------------------------------------------------ explanations
def test_attributions_add_up_to_the_prediction(point_model):
    X, _ = _table(n=4, seed=11)
    attributions = point_model.explain(X, steps=128)
    assert list(attributions.columns) == ["x", "kind"]
    total = attributions.sum(axis=1).to_numpy() + attributions.attrs["baseline"]
    np.testing.assert_allclose(total, point_model.predict(X), atol=0.05)
    # The target rises with x, so a row above the median x gets a positive share.
    above = X["x"] > X["x"].median()
    assert (attributions.loc[above, "x"] > 0).all()


# ------------------------------------------------------------------- files
def test_save_load_and_pickle_keep_predictions_and_intervals(quantile_model, tmp_path):
    X, _ = _table(n=30, seed=12)
    path = quantile_model.save(tmp_path / "cost.kdm")
    for restored in (TabularRegressor.load(path), pickle.loads(pickle.dumps(quantile_model))):
        np.testing.assert_array_equal(restored.predict(X), quantile_model.predict(X))
        np.testing.assert_array_equal(
            restored.predict_interval(X), quantile_model.predict_interval(X)
        )


def test_export_runs_without_keras_domains(point_model, quantile_model, tmp_path):
    X, _ = _table(n=25, seed=13)
    cases = {}
    for fmt, path in (("saved_model", tmp_path / "sm"), ("onnx", tmp_path / "m.onnx")):
        point_model.export(path, format=fmt)
        cases[fmt] = {"path": str(path), "format": fmt, "feed": point_model.export_inputs(X)}
    with open(tmp_path / "cases.pkl", "wb") as f:
        pickle.dump(cases, f)
    subprocess.run(
        [sys.executable, "-m", "tests.core.export.load_exports", tmp_path / "cases.pkl",
         tmp_path / "out.npz"],
        check=True,
    )  # fmt: skip
    results = np.load(tmp_path / "out.npz")
    for fmt in cases:
        np.testing.assert_allclose(results[fmt][:, 0], point_model.predict(X), rtol=1e-5)
    info = quantile_model.export(tmp_path / "q", format="saved_model")
    companion = json.loads(Path(info["companion"]).read_text())
    assert companion["quantiles"] == [0.05, 0.5, 0.95] and companion["targets"] == ["cost"]


# ------------------------------------------------------------- CLI, server
def test_cli_trains_predicts_and_evaluates_a_regression(tmp_path, capsys):
    X, y = _table(n=300, seed=14)
    data = X.assign(cost=y, days=y / 2 + 1)
    data.to_csv(tmp_path / "stays.csv", index=False)
    model = tmp_path / "stays.kdm"
    settings = ["--set", "hidden_units=16", "--set", "max_epochs=20", "--set", "random_state=0"]
    assert main(["train", "tabular.regression", "--data", str(tmp_path / "stays.csv"),
                 "--target", "cost,days", "--out", str(model), *settings]) == 0  # fmt: skip
    assert main(["predict", str(model), "--data", str(tmp_path / "stays.csv"),
                 "--out", str(tmp_path / "p.csv"), "--alpha", "0.2"]) == 0  # fmt: skip
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert list(predicted.columns) == [
        "prediction_cost", "prediction_days",
        "lower_80_cost", "upper_80_cost", "lower_80_days", "upper_80_days",
    ]  # fmt: skip
    assert (predicted["lower_80_cost"] < predicted["prediction_cost"]).all()
    capsys.readouterr()
    assert main(["evaluate", str(model), "--data", str(tmp_path / "stays.csv"),
                 "--target", "cost,days"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["targets"]["cost"]["r2"] > 0.7
    assert 0.8 < report["targets"]["days"]["coverage"] <= 1.0


def test_cli_refuses_regression_without_a_target(tmp_path, capsys):
    X, y = _table(n=50)
    X.assign(cost=y).to_csv(tmp_path / "t.csv", index=False)
    code = main(["train", "tabular.regression", "--data", str(tmp_path / "t.csv"),
                 "--out", str(tmp_path / "m.kdm")])  # fmt: skip
    assert code == 2
    assert "--target is required" in capsys.readouterr().err
    assert not (tmp_path / "m.kdm").exists()


def test_the_server_answers_values_intervals_and_explanations(quantile_model):
    from core.serving.served_model import ServedModel

    X, _ = _table(n=3, seed=15)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        served = ServedModel("cost", quantile_model, "Cost", pool, pool, batch_wait_s=0)
        asyncio.run(served.start())
        rows = X.to_dict(orient="records")
        body = served.predict_model.model_validate({"rows": rows})
        answer = asyncio.run(served.predict(body))
        explained = asyncio.run(served.explain(served.explain_model.model_validate({"rows": rows})))
    values = [p["value"] for p in answer["predictions"]]
    np.testing.assert_allclose(values, quantile_model.predict(X))
    intervals = [p["interval"] for p in answer["predictions"]]
    np.testing.assert_allclose(intervals, quantile_model.predict_interval(X, alpha=0.1))
    assert set(explained["explanations"][0]["attributions"]) == {"x", "kind"}
