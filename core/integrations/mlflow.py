"""MLflow: log a fitted estimator as an MLflow model, and training as an MLflow run.

- `log_model(estimator, name, input_example=...)` writes an MLflow model with
  the `python_function` flavour: the estimator's `.kdm` file is its data,
  this module its loader, the signature comes from the input schema, and the
  pip requirements name the libraries (and extras) the model needs. Load it
  anywhere with `mlflow.pyfunc.load_model(uri).predict(frame)`.
- `MlflowCallback(estimator)` given to `fit(..., callbacks=[...])` logs the
  estimator's parameters once and every epoch's `loss`, `val_loss` and metric.
- `log_model(..., card_data=(X_test, y_test))` adds the model card (Markdown,
  YAML header and figures) to the run's artifacts.

Needs the `mlflow` extra: `pip install "keras-domains[mlflow]"`.
"""

import importlib.metadata
import json
import os
import tempfile
import warnings

import keras
import numpy as np
import pandas as pd

try:
    with warnings.catch_warnings():
        # MLflow warns about its own chat types' hints when `mlflow.pyfunc` is imported.
        warnings.filterwarnings("ignore", message=".*Any type hint", category=UserWarning)
        import mlflow
        import mlflow.pyfunc
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, Schema
except ImportError as error:
    raise ImportError(
        "core.integrations.mlflow needs MLflow, which is not installed. "
        'Install it with: pip install "keras-domains[mlflow]"'
    ) from error

from core.persistence.metadata import jsonable
from core.registry import load_task_model

#: The `.kdm` file inside the MLflow model's folder.
MODEL_FILE = "model.kdm"
#: MLflow column types of the input schema's column kinds.
COLUMN_TYPES = {"numeric": "double", "categorical": "string", "text": "string", "image": "string"}
#: The libraries every model needs, pinned to the versions that trained it.
BASE_REQUIREMENTS = ("tensorflow", "keras", "scikit-learn", "pandas", "numpy")


def log_model(estimator, name, input_example=None, card_data=None, registered_model_name=None):
    """Logs a fitted estimator as an MLflow model (`python_function` flavour) in the active run.

    Args:
        estimator: a fitted task of the project.
        name: the model's name in the run (its artifact path).
        input_example: a few raw rows (a DataFrame), stored with the model and
            used to record the output's signature.
        card_data: `(X_test, y_test)` to write the model card into the run's
            artifacts (`model_card/`), or None.
        registered_model_name: also register the model under this name, or None.

    Returns:
        MLflow's `ModelInfo` (`model_uri` loads it).

    Raises:
        ValueError: if the estimator is not fitted.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    with tempfile.TemporaryDirectory() as folder:
        path = estimator.save(os.path.join(folder, MODEL_FILE))
        with warnings.catch_warnings():
            # MLflow's example writer compares columns to a range, which pandas 3 deprecates.
            warnings.filterwarnings("ignore", message="Operation with range is deprecated")
            info = mlflow.pyfunc.log_model(
                name=name,
                loader_module=__name__,
                data_path=os.fspath(path),
                signature=model_signature(estimator, input_example),
                input_example=input_example,
                pip_requirements=pip_requirements(estimator),
                registered_model_name=registered_model_name,
            )
        if card_data is not None:
            _log_card(estimator, card_data, folder)
    return info


def model_signature(estimator, input_example=None):
    """The MLflow signature: inputs from the input schema (table columns and their kinds),
    outputs from a prediction on `input_example` when one is given."""
    inputs = None
    schema = estimator.input_schema()
    if isinstance(schema, list) and schema and all("name" in c for c in schema):
        inputs = Schema(
            [ColSpec(COLUMN_TYPES.get(c.get("kind"), "string"), c["name"]) for c in schema]
        )
    outputs = None
    if input_example is not None:
        from mlflow.models import infer_signature

        outputs = infer_signature(None, _Predictor(estimator).predict(input_example)).outputs
    if inputs is None and input_example is not None:
        from mlflow.models import infer_signature

        inputs = infer_signature(input_example).inputs
    return ModelSignature(inputs=inputs, outputs=outputs) if inputs is not None else None


def pip_requirements(estimator):
    """The packages the model needs, at the versions installed now: the base libraries,
    keras-domains with the extras the model uses (`hub` for a keras-hub preset)."""
    extras = ["hub"] if _uses_keras_hub(estimator) else []
    project = "keras-domains" + (f"[{','.join(extras)}]" if extras else "")
    requirements = [_pinned("keras-domains", project)]
    requirements += [_pinned(package) for package in BASE_REQUIREMENTS]
    if extras:
        requirements += [_pinned("keras-hub"), _pinned("tensorflow-text")]
    return [r for r in requirements if r]


class MlflowCallback(keras.callbacks.Callback):
    """Logs a fit to the active MLflow run: the parameters once, each epoch's logs as metrics.

    A scheme that trains in stages (the head, then the whole model) continues
    the step count, so every epoch has its own step.

    Args:
        estimator: the estimator being fitted (its parameters are logged).

    Example:

    >>> with mlflow.start_run():
    ...     clf.fit(X, y, callbacks=[MlflowCallback(clf)])
    ...     log_model(clf, "model", input_example=X.head())
    """

    def __init__(self, estimator):
        super().__init__()
        self.estimator = estimator
        self._step = 0
        self._logged_params = False

    def on_train_begin(self, logs=None):
        if self._logged_params:
            return
        params = jsonable(self.estimator.get_params(deep=False))
        mlflow.log_params(
            {k: v if isinstance(v, int | float | str) else json.dumps(v) for k, v in params.items()}
        )
        mlflow.set_tag("keras_domains.task", getattr(self.estimator, "task_name", None) or "")
        self._logged_params = True

    def on_epoch_end(self, epoch, logs=None):
        metrics = {k: float(v) for k, v in (logs or {}).items() if np.isfinite(float(v))}
        mlflow.log_metrics(metrics, step=self._step)
        self._step += 1


# ------------------------------------------------------------ the loader
def _load_pyfunc(data_path):
    """MLflow's entry point: the `python_function` model of a logged `.kdm` file."""
    return _Predictor(load_task_model(data_path))


class _Predictor:
    """What `mlflow.pyfunc.load_model(...).predict(frame)` runs.

    Classifiers return `predict_proba` as a DataFrame with one column per
    class; regressors `predict`; survival models `predict_risk`; other tasks
    `predict`.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def predict(self, model_input, params=None):
        estimator = self.estimator
        if hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_"):
            proba = estimator.predict_proba(model_input)
            return pd.DataFrame(proba, columns=[str(c) for c in estimator.classes_])
        if hasattr(estimator, "predict_risk"):
            return pd.DataFrame({"risk": estimator.predict_risk(model_input)})
        values = np.asarray(estimator.predict(model_input))
        if values.ndim == 1:
            return pd.DataFrame({"prediction": values})
        return pd.DataFrame(values.reshape(len(values), -1))


# ------------------------------------------------------------- helpers
def _log_card(estimator, card_data, folder):
    from core.reports import model_card, survival_model_card

    card_folder = os.path.join(folder, "model_card")
    os.makedirs(card_folder)
    X_test, y_test = card_data
    path = os.path.join(card_folder, "card.md")
    if hasattr(estimator, "predict_survival_function"):
        survival_model_card(estimator, X_test, path, y=y_test)
    else:
        model_card(estimator, X_test, y_test, path)
    mlflow.log_artifacts(card_folder, artifact_path="model_card")


def _uses_keras_hub(estimator):
    if callable(getattr(estimator, "_uses_preset", None)) and estimator._uses_preset():
        return True
    if getattr(getattr(estimator, "preprocessor_", None), "text_preset", None):
        return True
    image_preset = getattr(estimator, "_image_preset", None)
    return callable(image_preset) and image_preset() is not None


def _pinned(distribution, requirement=None):
    try:
        return f"{requirement or distribution}=={importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return None
