"""MLflow: a logged model loads with `mlflow.pyfunc` and predicts what the estimator does."""

import builtins
import importlib
import sys

import numpy as np
import pandas as pd
import pytest

from core.estimators import TabularClassifier, TabularRegressor
from core.integrations import mlflow as integration

mlflow = integration.mlflow  # Imported by the integration, without its import-time warning.

SMALL = dict(hidden_units=(8,), embedding_dim=4, max_epochs=3, n_members=2, random_state=0)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A local file store (no server, no network), made the tracking URI for the test."""
    # MLflow 3 keeps the file store for those who opt in; it needs no database or server.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    yield tmp_path
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.normal(60, 10, 200), "sex": rng.choice(["F", "M"], 200)})
    y = ((X["age"] - 60) / 10 + rng.normal(size=200) > 0).astype(int)
    return X, y


def test_a_logged_classifier_predicts_the_same_probabilities(store, table):
    from core.integrations.mlflow import MlflowCallback, log_model

    X, y = table
    model = TabularClassifier(**SMALL)
    with mlflow.start_run() as run:
        model.fit(X, y, callbacks=[MlflowCallback(model)])
        info = log_model(model, "model", input_example=X.head(3), card_data=(X, y))
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    predicted = loaded.predict(X.head(20))
    assert list(predicted.columns) == ["0", "1"]
    np.testing.assert_allclose(predicted.to_numpy(), model.predict_proba(X.head(20)), atol=1e-6)
    # The signature comes from the input schema: one column per feature, of its kind.
    inputs = {c.name: c.type.name for c in loaded.metadata.get_input_schema().inputs}
    assert inputs == {"age": "double", "sex": "string"}
    with open(mlflow.pyfunc.get_model_dependencies(info.model_uri), encoding="utf-8") as f:
        pinned = f.read()
    assert "keras-domains==" in pinned and "tensorflow==" in pinned and "keras-hub" not in pinned

    recorded = mlflow.get_run(run.info.run_id).data
    assert recorded.params["hidden_units"] == "[8]" and recorded.params["max_epochs"] == "3"
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "val_auc")
    # One point per epoch (MLflow 3 may list a point twice when a model is logged in the run).
    by_step = {m.step: m.value for m in history}
    assert sorted(by_step) == list(range(model.n_epochs_))
    assert by_step[model.n_epochs_ - 1] == pytest.approx(model.history_["val_auc"][-1])
    artifacts = {
        a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "model_card")
    }
    assert {"model_card/card.md", "model_card/card_roc.png"} <= artifacts


def test_a_logged_regressor_predicts_values(store, table):
    from core.integrations.mlflow import log_model

    X, _ = table
    target = X["age"] * 2.0
    model = TabularRegressor(**SMALL).fit(X, target)
    with mlflow.start_run():
        info = log_model(model, "regressor", input_example=X.head(2))
    predicted = mlflow.pyfunc.load_model(info.model_uri).predict(X.head(10))
    np.testing.assert_allclose(predicted["prediction"], model.predict(X.head(10)), rtol=1e-6)


def test_without_mlflow_the_error_names_the_install(monkeypatch):
    real_import = builtins.__import__

    def no_mlflow(name, *args, **kwargs):
        if name == "mlflow" or name.startswith("mlflow."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mlflow)
    monkeypatch.delitem(sys.modules, "core.integrations.mlflow", raising=False)
    with pytest.raises(ImportError, match=r'pip install "keras-domains\[mlflow\]"'):
        importlib.import_module("core.integrations.mlflow")
