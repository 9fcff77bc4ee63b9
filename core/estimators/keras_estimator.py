"""The scikit-learn base class that every keras-domains task builds on."""

import contextlib
import importlib.metadata
import inspect
import logging
import platform
import random
import time

import keras
import numpy as np
import sklearn
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from core.persistence import (
    ModelFileError,
    model_from_bytes,
    model_to_bytes,
    read_archive,
    write_archive,
)

# Rows per call of the compiled inference function; larger inputs go in chunks.
INFERENCE_CHUNK = 4096


class KerasEstimator(BaseEstimator):
    """Training, fast inference, pickling and one-file persistence for a Keras model.

    Subclasses implement the task: they turn raw input into a float matrix
    (`_transform`), build the Keras model (`_build_model`), and say what must
    be saved besides the model (`_get_fitted_state` / `_set_fitted_state`).
    This class runs the training loop (seeding, validation split, early
    stopping with the best weights restored, progress bar) and predicts
    without `model.predict`'s per-call overhead.

    Parameters are stored by `__init__` and only read in `fit`, as
    scikit-learn requires.
    """

    #: Name under which the task is registered, e.g. "medical.diagnosis".
    task_name = None

    # ------------------------------------------------------------ training
    def _fit_model(self, X_train, y_train, sample_weight, validation, loss):
        """Builds, compiles and trains `self.model_`.

        Args:
            X_train: float32 inputs, or a batched `tf.data.Dataset` of
                `(inputs, targets)` (then `y_train` and `sample_weight` are None).
            y_train: targets in the loss' format.
            sample_weight: per-row weights, or None.
            validation: `(X_val, y_val, w_val)`, a dataset, or None to train
                without early stopping.
            loss: a Keras loss.
        """
        self.model_ = self._build_model()
        started = time.perf_counter()
        history = self._train_epochs(
            X_train, y_train, sample_weight, validation, loss, self.learning_rate, self.max_epochs
        )
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.items()}
        self.n_epochs_ = len(self.history_["loss"])
        self.training_seconds_ = time.perf_counter() - started
        self._predict_function = _InferenceFunction(self.model_)

    def _train_epochs(
        self, X_train, y_train, sample_weight, validation, loss, learning_rate, epochs
    ):
        """Compiles `self.model_` and runs `epochs` epochs (fewer with early stopping).

        Returns:
            The Keras history dict.
        """
        self.model_.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=learning_rate, weight_decay=self.weight_decay
            ),
            loss=loss,
            jit_compile=False,
        )
        callbacks = []
        if validation is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=self.patience,
                    restore_best_weights=True,
                )
            )
        if isinstance(X_train, np.ndarray):
            batching = {"batch_size": self._batch_size(len(X_train)), "shuffle": True}
        else:  # A dataset batches and shuffles itself.
            batching = {"shuffle": False}
        history = self.model_.fit(
            X_train,
            y_train,
            sample_weight=sample_weight,
            validation_data=validation,
            epochs=epochs,
            callbacks=callbacks,
            verbose=1 if self.verbose else 0,
            **batching,
        )
        return history.history

    def _batch_size(self, n_rows):
        if self.batch_size != "auto":
            return int(self.batch_size)
        # Small tables train best with small batches; large ones need throughput.
        return int(np.clip(2 ** np.round(np.log2(max(n_rows, 1) / 16)), 16, 512))

    @contextlib.contextmanager
    def _seeded(self):
        """Seeds Python, NumPy and the backend so that two fits give the same model.

        The caller's global Python and NumPy random states are restored on
        exit, as a scikit-learn estimator leaves them.

        Yields:
            A `numpy.random.RandomState` for the estimator's own draws (splits).
        """
        seed = self.random_state
        if seed is None:
            seed = np.random.default_rng().integers(0, 2**31 - 1)
        elif isinstance(seed, np.random.RandomState):
            seed = seed.randint(0, 2**31 - 1)
        # The legacy global generator is what Keras reseeds, so that is what is restored.
        python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002
        keras.utils.set_random_seed(int(seed))
        try:
            yield np.random.RandomState(int(seed))
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)  # noqa: NPY002

    # ----------------------------------------------------------- inference
    def _predict_raw(self, matrix):
        """Runs the model on a float matrix, in chunks, without `model.predict`.

        `model.predict` builds a data pipeline on every call, which costs tens
        of milliseconds; a compiled function called directly costs well under one.
        """
        if len(matrix) <= INFERENCE_CHUNK:
            return self._predict_function(matrix)
        chunks = [
            self._predict_function(matrix[i : i + INFERENCE_CHUNK])
            for i in range(0, len(matrix), INFERENCE_CHUNK)
        ]
        return np.concatenate(chunks, axis=0)

    # -------------------------------------------------- pickling and files
    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_predict_function", None)
        model = state.pop("model_", None)
        if model is not None:
            state["_model_bytes"] = model_to_bytes(model)
        return state

    def __setstate__(self, state):
        model_bytes = state.pop("_model_bytes", None)
        self.__dict__.update(state)
        if model_bytes is not None:
            self._set_model(model_from_bytes(model_bytes))

    def _set_model(self, model):
        """Sets `model_` and its compiled inference function (traced on first call)."""
        self.model_ = model
        self._predict_function = _InferenceFunction(model)

    def save(self, path):
        """Saves the fitted estimator to one file.

        The file is written to a temporary name and renamed, so a crash while
        saving never leaves a half-written model at `path`.

        Args:
            path: destination, conventionally ending in `.kdm`.

        Returns:
            The path written.
        """
        check_is_fitted(self)
        params = self.get_params(deep=False)
        state = {"params": _jsonable(params), "fitted": self._get_fitted_state()}
        metadata = {
            "estimator": f"{type(self).__module__}.{type(self).__qualname__}",
            "task": self.task_name,
            "versions": _library_versions(),
            "input_schema": self._input_schema(),
            "classes": _jsonable(getattr(self, "classes_", None)),
            "training": {
                "epochs": self.n_epochs_,
                "seconds": round(self.training_seconds_, 3),
                "final": {k: v[-1] for k, v in self.history_.items()},
                "best_val_loss": min(self.history_["val_loss"])
                if "val_loss" in self.history_
                else None,
            },
        }
        write_archive(path, model_to_bytes(self.model_), state, metadata)
        return path

    @classmethod
    def load(cls, path):
        """Loads an estimator saved with `save`.

        Args:
            path: a file written by `save`.

        Returns:
            A fitted estimator whose predictions equal the saved one's.

        Raises:
            ModelFileError: if the file is not a model of this class, or is
                truncated or altered.
        """
        model_bytes, state, metadata = read_archive(path)
        saved = metadata.get("estimator", "")
        own = f"{cls.__module__}.{cls.__qualname__}"
        if saved != own and cls is not KerasEstimator:
            raise ModelFileError(f"{path!r} holds a {saved}, not a {own}.")
        estimator = cls(**cls._params_from_json(state["params"]))
        estimator._set_fitted_state(state["fitted"])
        try:
            estimator._set_model(model_from_bytes(model_bytes))
        except Exception as error:
            raise ModelFileError(
                f"{path!r}: the Keras model could not be loaded: {error}"
            ) from error
        estimator.metadata_ = metadata
        return estimator

    @classmethod
    def _params_from_json(cls, params):
        """Turns saved parameters back into constructor arguments.

        JSON has no tuples: a saved list becomes a tuple again where the
        constructor's default is a tuple (`hidden_units`) or a string option
        that a tuple may replace (`image_size="auto"`); lists stay lists
        elsewhere (`exclude`).
        """
        defaults = {
            name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
        }
        return {
            key: tuple(value)
            if isinstance(value, list) and isinstance(defaults.get(key), tuple | str)
            else value
            for key, value in params.items()
        }

    def _check_validation_fraction(self):
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(
                "`validation_fraction` must be in [0, 1). "
                f"Received: validation_fraction={self.validation_fraction!r}"
            )

    def _base_fitted_state(self):
        return {
            "history": self.history_,
            "n_epochs": self.n_epochs_,
            "training_seconds": self.training_seconds_,
        }

    def _set_base_fitted_state(self, state):
        self.history_ = state["history"]
        self.n_epochs_ = state["n_epochs"]
        self.training_seconds_ = state["training_seconds"]

    def _output_index(self, X):
        """Labels of the rows `predict` returns for X: X's own rows unless a subclass groups them.

        Returns:
            `pandas.Index`; a named one (e.g. patient ids) labels entities, not input rows.
        """
        import pandas as pd

        return X.index if isinstance(X, pd.DataFrame | pd.Series) else pd.RangeIndex(len(X))

    def _input_schema(self):
        return None

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")


class _InferenceFunction:
    """Calls a model through one traced graph, built on first use.

    For TensorFlow the graph is a concrete function: calling it skips
    `tf.function`'s argument matching, which is most of the cost of a
    one-row call. Tracing waits for the first prediction, so `fit` and
    `load` pay nothing for it.
    """

    def __init__(self, model):
        self._model = model
        self._call = None

    def __call__(self, matrix):
        if self._call is None:
            self._call = self._trace()
        return self._call(np.asarray(matrix, dtype=np.float32))

    def _trace(self):
        model = self._model
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            _quiet_retracing_warning(tf)
            spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
            concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
            return lambda matrix: concrete(tf.constant(matrix)).numpy()
        if backend == "jax":
            import jax

            function = jax.jit(lambda x: model(x, training=False))
            return lambda matrix: np.asarray(function(matrix))
        return lambda matrix: keras.ops.convert_to_numpy(model(matrix, training=False))


class _DropRetracingWarning(logging.Filter):
    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def _quiet_retracing_warning(tf):
    """Drops TensorFlow's retracing warning, which fires when many models are fitted in a row.

    Each fitted model gets its own compiled function, traced once; that is
    the intended cost, not the accidental retracing the warning is about.
    """
    logger = tf.get_logger()
    if not any(isinstance(f, _DropRetracingWarning) for f in logger.filters):
        logger.addFilter(_DropRetracingWarning())


def _library_versions():
    versions = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }
    for package in ("keras-domains", "tensorflow", "pandas"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _jsonable(value):
    """Converts numpy values, arrays and tuples into plain JSON types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.random.RandomState):
        raise ValueError(
            "Cannot save an estimator whose `random_state` is a RandomState instance; "
            "use an integer seed."
        )
    return value
