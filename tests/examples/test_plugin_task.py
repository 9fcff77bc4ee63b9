"""A third-party task gets the whole template without writing it.

`examples/plugin_task` is installed with pip into a folder of its own, as a
user would install a plugin; the registry finds `retail.churn` through the
package's entry point, and the task, which defines none of fit, predict,
save or export, is fitted, calibrated, saved, exported, served, explained and
run from the command line.
"""

import asyncio
import importlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from core import registry
from core.registry import get_task, list_tasks

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "plugin_task"
PACKAGE = "retail_churn"
TINY = dict(
    embedding_dim=4, hidden_units=(8,), n_members=2, learning_rate=1e-2, max_epochs=10,
    patience=5, min_frequency=1, random_state=0,
)  # fmt: skip
N_TRAIN = 300


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The plugin pip-installed (offline) into a folder on `sys.path`; removed again after."""
    source = tmp_path_factory.mktemp("source") / "plugin_task"
    # A copy, so that the build's `build/` and `*.egg-info` folders stay out of the repository.
    shutil.copytree(
        PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    target = tmp_path_factory.mktemp("site-packages")
    command = [
        sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
        "--no-index", "--no-cache-dir", "--disable-pip-version-check", "--quiet",
        "--target", str(target), str(source),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    before = dict(registry._TASKS)
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        for name in set(registry._TASKS) - set(before):
            del registry._TASKS[name]
        for module in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[module]
        importlib.invalidate_caches()


@pytest.fixture(scope="module")
def customers(installed):
    """`(X_train, y_train, X_test, y_test)` from the package's own sample table."""
    frame = importlib.import_module(PACKAGE).make_customers(600, seed=0)
    y = frame.pop("churned")
    return frame[:N_TRAIN], y[:N_TRAIN], frame[N_TRAIN:], y[N_TRAIN:]


@pytest.fixture(scope="module")
def fitted(customers):
    X, y, _, _ = customers
    return get_task("retail.churn")(**TINY).fit(X, y)


# ------------------------------------------------------------------ registry
def test_the_entry_point_registers_the_task(installed, capsys):
    (entry_point,) = importlib.metadata.entry_points(
        group=registry.ENTRY_POINT_GROUP, name="retail.churn"
    )
    assert entry_point.dist.name == "keras-domains-retail"
    cls = get_task("retail.churn")
    assert (cls.__module__, cls.__name__) == ("retail_churn.churn_predictor", "ChurnPredictor")
    assert cls.task_name == "retail.churn"
    assert "retail.churn" in list_tasks()
    from core.cli import main

    assert main(["tasks"]) == 0
    assert "retail.churn" in capsys.readouterr().out


def test_the_task_writes_only_its_parameters_and_its_extra(installed):
    from core.estimators import TabularClassifier

    cls = get_task("retail.churn")
    assert issubclass(cls, TabularClassifier)
    own = {name for name in vars(cls) if callable(vars(cls)[name])}
    assert own == {"__init__", "retention_list"}
    assert (cls.input_kind, cls.explanation_kind) == ("table", "columns")
    assert cls().calibration == "temperature"


# ---------------------------------------------------------------- template
def test_fit_and_predict_proba(fitted, customers):
    _, _, X_test, y_test = customers
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert set(fitted.predict(X_test)) <= {0, 1}
    assert roc_auc_score(y_test, proba[:, 1]) > 0.6


def test_calibration_and_conformal_sets(fitted, customers):
    _, _, X_test, y_test = customers
    assert fitted.calibrator_ is not None
    report = fitted.calibration_report(X_test, y_test)
    assert report["method"] == "temperature" and report["n"] == len(X_test)
    sets = fitted.predict_set(X_test, alpha=0.1)
    assert sets.shape == (len(X_test), 2)
    coverage = sets[np.arange(len(sets)), np.searchsorted(fitted.classes_, y_test)].mean()
    assert coverage >= 0.85


def test_save_and_load(fitted, customers, tmp_path):
    _, _, X_test, _ = customers
    path = fitted.save(tmp_path / "churn.kdm")
    loaded = type(fitted).load(path)
    assert loaded.metadata_["task"] == "retail.churn"
    np.testing.assert_allclose(
        loaded.predict_proba(X_test), fitted.predict_proba(X_test), atol=1e-6
    )


def test_export_saved_model(fitted, customers, tmp_path):
    import tensorflow as tf

    _, _, X_test, _ = customers
    written = fitted.export(tmp_path / "churn_saved_model", format="saved_model")
    serve = tf.saved_model.load(written["path"]).signatures["serving_default"]
    feed = fitted.export_inputs(X_test)
    outputs = serve(**{name: tf.constant(value) for name, value in feed.items()})
    np.testing.assert_allclose(
        outputs["probabilities"].numpy(), fitted.predict_proba(X_test), rtol=0, atol=1e-5
    )


def test_served_predictions(fitted, customers):
    from core.serving import ModelServer

    _, _, X_test, _ = customers
    rows = X_test[:20]
    server = ModelServer({"churn": fitted}, batch_wait_ms=0)
    served = server.models["churn"]
    body = served.predict_model.model_validate({"rows": json.loads(rows.to_json(orient="records"))})

    async def ask():
        await served.start()
        try:
            return await served.predict(body)
        finally:
            await served.stop()

    try:
        answer = asyncio.run(ask())
    finally:
        server.close()
    assert answer["task"] == "retail.churn"
    got = [p["probabilities"]["1"] for p in answer["predictions"]]
    np.testing.assert_allclose(got, fitted.predict_proba(rows)[:, 1], atol=1e-6)


def test_explain_one_attribution_per_column(fitted, customers):
    _, _, X_test, _ = customers
    attributions = fitted.explain(X_test[:10])
    assert list(attributions.columns) == list(X_test.columns)
    assert attributions.index.equals(X_test.index[:10])
    assert np.isfinite(attributions.to_numpy()).all()


# ------------------------------------------------------------- domain extra
def test_retention_list_ranks_revenue_at_risk(fitted, customers):
    _, _, X_test, _ = customers
    X = X_test[:40]
    revenue = 12.0 * X["monthly_charges"].fillna(70.0).to_numpy()
    ranked = fitted.retention_list(X, revenue, budget=10)
    assert len(ranked) == 10
    assert ranked["revenue_at_risk"].is_monotonic_decreasing
    proba = pd.Series(fitted.predict_proba(X)[:, 1], index=X.index)
    np.testing.assert_allclose(
        ranked["revenue_at_risk"], proba[ranked.index] * ranked["revenue"], rtol=1e-12
    )
    every = fitted.retention_list(X, revenue)
    assert every.index[:10].equals(ranked.index)
    assert every["revenue_at_risk"].iloc[9] >= every["revenue_at_risk"].iloc[10:].max()
    reasons = ranked[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel()
    assert {r for r in reasons if r is not None} <= set(X.columns)  # None: no more reasons.
    assert ranked["reason_1"].notna().any()
    with pytest.raises(ValueError, match="`budget` must be a positive integer"):
        fitted.retention_list(X, revenue, budget=0)
    with pytest.raises(ValueError, match="`revenue` must hold one finite number per row"):
        fitted.retention_list(X, revenue[:5])


# ------------------------------------------------------------- command line
def test_command_line_train_then_predict_in_a_fresh_process(installed, customers, tmp_path):
    """`keras-domains train` here, then `predict` in a new process that finds the plugin."""
    from core.cli import main

    X, y, X_test, _ = customers
    train_csv, test_csv = tmp_path / "customers.csv", tmp_path / "new_customers.csv"
    X.assign(churned=y).to_csv(train_csv, index=False)
    X_test[:25].to_csv(test_csv, index=False)
    model, predictions = tmp_path / "churn.kdm", tmp_path / "predictions.csv"
    settings = [
        "hidden_units=[8]",
        "embedding_dim=4",
        "n_members=1",
        "max_epochs=3",
        "random_state=0",
    ]
    train = ["train", "retail.churn", "--data", str(train_csv), "--target", "churned",
             "--out", str(model), *(f"--set={s}" for s in settings)]  # fmt: skip
    assert main(train) == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "predict", str(model), "--data", str(test_csv),
         "--out", str(predictions)],
        cwd=ROOT, env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(predictions)
    assert list(out.columns) == ["prediction", "proba_0", "proba_1"]
    expected = get_task("retail.churn").load(model).predict_proba(pd.read_csv(test_csv))
    np.testing.assert_allclose(out[["proba_0", "proba_1"]], expected, atol=1e-6)
    assert (out["prediction"] == expected.argmax(axis=1)).all()
