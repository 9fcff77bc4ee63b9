"""The scikit-learn base class that every keras-domains task builds on."""

import abc
import contextlib
import hashlib
import inspect
import json
import os
import random
import time
import warnings

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from core.estimators.shared_parameters import SHARED_PARAMETERS
from core.inference import InferenceFunction
from core.persistence import (
    ModelFileError,
    model_from_bytes,
    model_to_bytes,
    read_archive,
    write_archive,
)
from core.persistence.metadata import jsonable, library_versions
from core.training import (
    WEAK_PRIVACY_EPSILON,
    CosineSchedule,
    DifferentialPrivacy,
    HeldOutMetric,
    StepTrainer,
    TimeBudget,
    TrainingCheckpoint,
    WeakPrivacyWarning,
    check_distribution,
    check_precision,
    distribution_strategy,
    float32_outputs,
    precision_policy,
    worker_index,
)

# Training options every task takes; an estimator without the parameter gets the default.
_OPTION_DEFAULTS = {
    "precision": "float32",
    "jit_compile": False,
    "distribution": None,
    "privacy": None,
    "max_time": None,
}


class KerasEstimator(BaseEstimator, abc.ABC):
    """Training, fast inference, pickling and one-file persistence for a Keras model.

    Subclasses implement the task: they turn raw input into the model's
    input, one array or a dict of named arrays with integer ids
    (`_transform`), build the Keras model (`_build_model`), and say what must
    be saved besides the model (`_get_fitted_state` / `_set_fitted_state`).
    This class runs the training loop (seeding, validation split, early
    stopping with the best weights restored, progress bar) and predicts
    without `model.predict`'s per-call overhead.

    Parameters are stored by `__init__` and only read in `fit`, as
    scikit-learn requires. Every task takes these training options:

    - `precision`: `"float32"`, or `"mixed_float16"` / `"mixed_bfloat16"`
      (Keras mixed precision: layers compute in 16 bits, weights and outputs
      stay float32; float16 gets loss scaling).
    - `jit_compile`: passed to `model.compile`: False, True (XLA) or `"auto"`.
    - `distribution`: None (one device, a GPU when there is one),
      `"mirrored"` (`tf.distribute.MirroredStrategy` over the local GPUs or
      logical CPUs) or `"multi_worker"` (`MultiWorkerMirroredStrategy` over
      the cluster in `TF_CONFIG`; every worker runs the same `fit`).
    - `privacy`: None, or DP-SGD settings `{"l2_norm_clip": C,
      "noise_multiplier": s, "delta": d}` (or `"target_epsilon"` in place of
      the noise). Early stopping is off under DP-SGD, and the epsilon spent is
      in `privacy_spent_` and in the saved model's metadata.
    - `max_time`: None, or the seconds a `fit` may take. Training stops
      when they are spent (checked after every batch) and keeps the best
      epoch so far; `stopped_by_time_` says whether it did.

    `fit(..., checkpoint_dir=DIR)` saves the training state after every
    epoch; the same call after a crash resumes at the last completed epoch.
    """

    #: Name under which the task is registered, e.g. "medical.diagnosis".
    task_name = None
    #: The raw input `fit` and `predict` take: "table", "transactions", "events",
    #: "images", "texts" or "generation". Serving and export read it, with `input_schema()`.
    input_kind = None
    #: What `explain` attributes a prediction to: "columns", "reason_codes", "tokens",
    #: "events" or "heat_map"; None when the task has no `explain`.
    explanation_kind = None
    #: old parameter name -> new one, so files saved under the old names still load.
    renamed_parameters = {}
    #: The `InputAdapter` class of the fitted `preprocessor_`: the template saves and
    #: restores its state and reads `input_schema` from it.
    adapter_class = None

    # ------------------------------------------------------------ training
    def _training_options(self):
        """Checks the training options shared by every task, before any work is done.

        Raises:
            ValueError: naming the parameter, for a bad `precision`,
                `distribution`, `privacy` or `jit_compile`.
        """
        check_precision(self._option("precision"))
        check_distribution(self._option("distribution"))
        if self._option("jit_compile") not in (True, False, "auto"):
            raise ValueError(
                "`jit_compile` must be True, False or 'auto'. "
                f"Received: jit_compile={self._option('jit_compile')!r}"
            )
        privacy = self._option("privacy")
        if privacy is None:
            return None
        spec = DifferentialPrivacy(privacy)
        if self._option("distribution") is not None:
            raise ValueError(
                "`privacy` trains on one device; set distribution=None. "
                f"Received: distribution={self._option('distribution')!r}"
            )
        if self._option("precision") == "mixed_float16":
            raise ValueError(
                "`privacy` clips per-example gradients in float32 or bfloat16; "
                "precision='mixed_float16' needs loss scaling that would distort the clipping. "
                "Use precision='mixed_bfloat16' or 'float32'."
            )
        if getattr(self, "calibration", None) is not None:
            raise ValueError(
                "`calibration` fits a map on held-out rows outside the privacy accounting; "
                "set calibration=None when `privacy` is set."
            )
        return spec

    def _option(self, name):
        return getattr(self, name, _OPTION_DEFAULTS[name])

    def _store_parameters(self, arguments):
        """Stores each constructor argument, unchanged, under its own name.

        Tasks keep scikit-learn's explicit `__init__` signatures (which
        `get_params` reads) and call this with `locals()` instead of one
        assignment per parameter. Checks wait for `fit`, as scikit-learn asks.

        Args:
            arguments: the constructor's `locals()`.
        """
        for name in inspect.signature(type(self).__init__).parameters:
            if name != "self":
                setattr(self, name, arguments[name])

    # ------------------------------------------------------------ template
    def fit(self, X, y=None, sample_weight=None, checkpoint_dir=None, callbacks=None, **context):
        """Learns the preprocessing from raw data and trains the model.

        The sequence is the same for every task; a task supplies the hooks:
        `_training_rows` (validate the raw input, match labels and weights to
        its rows), `_fit_inputs` (learn the preprocessing, return the model's
        input), `_train` (the training scheme) and `_fit_finished`. Tasks
        that read data larger than memory also supply `_is_stream` and
        `_fit_stream`.

        Args:
            X: raw input of the task's `input_kind`.
            y: labels (classifiers); None where the task finds them itself
                (an image folder, a `target` column) or has none (a language model).
            sample_weight: optional per-row weights.
            checkpoint_dir: folder for a checkpoint after every epoch; if a
                run with the same data and parameters was killed, training
                resumes at its last completed epoch.
            callbacks: Keras callbacks (`TensorBoard`, `CSVLogger`, your own)
                called by every training run of the fit, whatever the scheme;
                their logs hold `loss`, `val_loss` where rows are held out, and
                the task's held-out metric (`val_auc`, `val_accuracy`, `val_rmse`,
                `val_concordance`). A training scheme that trains in stages (head,
                then backbone) runs them once per stage. An error raised by a
                callback stops the fit with that error.
            **context: the task's further fit arguments (`target`,
                `prediction_time`, ...).

        Returns:
            self.

        Raises:
            ValueError: naming the parameter or argument, for a bad parameter
                or input, before any training.
        """
        self._begin_fit(checkpoint_dir, callbacks)
        try:
            if self._is_stream(X):
                return self._fit_stream(X, y, sample_weight, **context)
            rows, n_rows, y, sample_weight = self._training_rows(X, y, sample_weight, **context)
            targets, stratify = self._encode_target(y, n_rows)
            weights = self._sample_weights(stratify, sample_weight, n_rows)
            with self._seeded() as rng:
                inputs, start = self._fit_inputs(rows, rng)
                self._train(inputs, targets, stratify, weights, rng, rows=rows, start=start)
            self._fit_finished(rows)
            return self
        except BaseException:
            # A fit that fails (a bad row, a callback's error, Ctrl-C) leaves no half-trained
            # model behind: the estimator is unfitted, as scikit-learn's are.
            for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
                delattr(self, name)
            raise
        finally:
            self._user_callbacks = []  # Callbacks hold the model: never pickled with it.

    def _begin_fit(self, checkpoint_dir=None, callbacks=None):
        """Checks every parameter, `checkpoint_dir` and `callbacks` before any work is done."""
        self._training_options()
        self._check_parameters()
        if checkpoint_dir is not None and not isinstance(checkpoint_dir, str | os.PathLike):
            raise TypeError(
                "`checkpoint_dir` must be a folder path (str or os.PathLike). "
                f"Received: checkpoint_dir={checkpoint_dir!r}"
            )
        if checkpoint_dir is not None and os.path.isfile(checkpoint_dir):
            raise ValueError(
                f"`checkpoint_dir` must be a folder; {os.fspath(checkpoint_dir)!r} is a file."
            )
        self._checkpoint_dir = checkpoint_dir
        self._user_callbacks = _checked_callbacks(callbacks)
        max_time = self._option("max_time")
        self._fit_deadline = None if max_time is None else time.monotonic() + float(max_time)
        self.stopped_by_time_ = False

    def _check_parameters(self):
        """Checks each constructor parameter declared in `SHARED_PARAMETERS` or `parameter_checks`.

        Then `_check_params` checks what depends on several parameters.

        Raises:
            ValueError: naming the parameter, what it accepts and what it received.
        """
        checks = dict(SHARED_PARAMETERS)
        for klass in reversed(type(self).__mro__):
            checks.update(vars(klass).get("parameter_checks", {}))
        for name, value in self.get_params(deep=False).items():
            if name in checks:
                checks[name].check(name, value)
        self._check_params()

    #: name -> `Parameter` for the task's own parameters (merged along the class hierarchy).
    parameter_checks = {}

    def _check_params(self):
        """Hook: checks that involve several parameters (e.g. an image size and a patch size)."""

    def _is_stream(self, X):
        """Hook: whether `fit` reads X from disk in chunks (`_fit_stream`) rather than memory."""
        return False

    def _fit_stream(self, X, y, sample_weight, **context):
        """Hook: fits from data streamed from disk; see `TabularClassifier`."""
        raise NotImplementedError(f"{type(self).__name__} does not stream its training data.")

    @abc.abstractmethod
    def _training_rows(self, X, y, sample_weight, **context):
        """Hook: validates the raw training input and matches labels and weights to its rows.

        Returns:
            `(rows, n_rows, y, sample_weight)`: the validated input in the
            task's own form (passed on to `_fit_inputs`, `_train` and
            `_fit_finished`), the number of training rows, and the labels and
            weights in that row order.
        """

    @abc.abstractmethod
    def _fit_inputs(self, rows, rng):
        """Hook: learns the preprocessing from the training rows.

        Args:
            rows: as returned by `_training_rows`.
            rng: the fit's seeded `numpy.random.RandomState`.

        Returns:
            `(inputs, start)`: the model's training input (a matrix, or what
            the task's `_train` takes), and what `_build_model(start)` needs
            besides the fitted preprocessing (pretrained layers, rows to adapt
            a layer to), or None.
        """

    @abc.abstractmethod
    def _train(self, inputs, targets, stratify, weights, rng, rows=None, start=None):
        """Hook: the training scheme (`KerasClassifier` gives holdout, cross-fitted members and
        out-of-time); it passes `start` on to `_fit_model`."""

    def _encode_target(self, y, n_rows):
        """Hook: labels in the loss' format; a task without labels ignores `y`.

        Returns:
            `(targets, stratify)`.
        """
        return None, None

    def _sample_weights(self, stratify, sample_weight, n_rows):
        """Hook: per-row training weights; a task without labels takes none."""
        if sample_weight is not None:
            raise ValueError(
                f"{type(self).__name__} does not take `sample_weight`. "
                f"Received: sample_weight of type {type(sample_weight).__name__}."
            )
        return None

    def _fit_finished(self, rows):
        """Hook: called at the end of `fit` with the validated training rows."""

    def _new_model(self, start=None):
        """Builds the task's model in the distribution's scope, under the precision policy.

        Args:
            start: what `_fit_inputs` returned for `_build_model`, or None.
        """
        with self._strategy_scope(), precision_policy(self._option("precision")):
            return float32_outputs(self._build_model(start))

    def _strategy_scope(self):
        strategy = distribution_strategy(self._option("distribution"))
        return contextlib.nullcontext() if strategy is None else strategy.scope()

    def _fit_model(
        self, X_train, y_train, sample_weight, validation, loss, start=None, data_key=None
    ):
        """Builds, compiles and trains `self.model_`.

        Args:
            X_train: the model's input (an array or a dict of named arrays), or a
                batched `tf.data.Dataset` of `(inputs, targets)` (then `y_train`
                and `sample_weight` are None).
            y_train: targets in the loss' format.
            sample_weight: per-row weights, or None.
            validation: `(X_val, y_val, w_val)`, a dataset, or None to train
                without early stopping.
            loss: a Keras loss.
            start: passed to `_build_model`.
            data_key: bytes that stand for a dataset in the checkpoint's fingerprint
                (arrays count by content, a dataset only by its type).
        """
        started = time.perf_counter()
        self.model_ = self._new_model(start)
        history = self._train_model(X_train, y_train, sample_weight, validation, loss, data_key)
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.items()}
        self.n_epochs_ = len(self.history_["loss"])
        self.training_seconds_ = time.perf_counter() - started
        self._predict_function = InferenceFunction(self.model_)

    def _train_model(self, X_train, y_train, sample_weight, validation, loss, data_key=None):
        """Hook: trains the freshly built `model_`; returns the history of every epoch.

        A scheme that trains in stages overrides it: an exact linear path
        before the deep one (`WideAndDeepClassifier`), or the head before the
        backbone (`ImageClassifier` with `start_from`).
        """
        return self._train_epochs(
            X_train,
            y_train,
            sample_weight,
            validation,
            loss,
            self.learning_rate,
            self._epoch_limit(self._steps_per_epoch(X_train, y_train)),
            data_key=data_key,
        )

    def _steps_per_epoch(self, X_train, y_train):
        """Optimizer steps in one epoch: batches of the arrays, or of a batched dataset."""
        if y_train is not None:
            return -(-len(y_train) // self._batch_size(len(y_train)))
        cardinality = int(X_train.cardinality())
        return cardinality if cardinality > 0 else None

    def _epoch_limit(self, steps_per_epoch):
        """Hook: the epochs a training run may take; `max_epochs` unless a task plans them."""
        return self.max_epochs

    def _train_epochs(
        self,
        X_train,
        y_train,
        sample_weight,
        validation,
        loss,
        learning_rate,
        epochs,
        stage="main",
        data_key=None,
    ):
        """Trains `self.model_` for `epochs` epochs (fewer with early stopping).

        Runs Keras' `model.fit`, or the estimator's own `StepTrainer` where
        fit cannot go (multi-worker training, DP-SGD). With a
        `checkpoint_dir` given to `fit`, the state is saved after every
        epoch and a killed run resumes at its last completed epoch.

        Args:
            stage: names this training run within one `fit`, for its checkpoint.

        Returns:
            The Keras history dict, over every epoch of the run (resumed ones included).
        """
        privacy = self._training_options()
        distribution = self._option("distribution")
        own_loop = privacy is not None or distribution == "multi_worker"
        n_rows = len(y_train) if y_train is not None else None
        batch_size = self._batch_size(n_rows) if n_rows is not None else None
        if privacy is not None:
            epochs = self._plan_privacy(privacy, n_rows, batch_size, epochs)
        with self._strategy_scope():
            optimizer = keras.optimizers.AdamW(
                learning_rate=learning_rate, weight_decay=self.weight_decay
            )
            if own_loop and self._option("precision") == "mixed_float16":
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            if not own_loop:
                self.model_.compile(
                    optimizer=optimizer, loss=loss, jit_compile=self._option("jit_compile")
                )
                optimizer = self.model_.optimizer
                build_before_tracing(optimizer, self.model_)
        callbacks = []
        early_stopping = None
        # Choosing the best epoch on held-out rows would spend privacy that DP-SGD does not count.
        if validation is not None and privacy is None:
            early_stopping = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.patience, restore_best_weights=True
            )
            callbacks.append(early_stopping)
        deadline = getattr(self, "_fit_deadline", None)
        schedule = self._learning_rate_schedule(learning_rate, epochs, deadline)
        if schedule is not None:
            callbacks.append(schedule)
        time_budget = None
        if deadline is not None:
            time_budget = TimeBudget(deadline)
            callbacks.append(time_budget)
        data = (X_train, y_train, sample_weight) if data_key is None else (X_train, data_key)
        checkpoint = self._checkpoint(stage, data, early_stopping)
        initial_epoch = 0
        if checkpoint is not None:
            callbacks.append(checkpoint)
            initial_epoch = checkpoint.restore(self.model_, optimizer)
        user_callbacks = getattr(self, "_user_callbacks", [])
        if user_callbacks:
            metric = self._epoch_metric(validation, loss)
            if metric is not None:  # First, so that every callback after it reads the metric.
                callbacks.insert(0, metric)
            # After ours: a user's logger sees the epoch once early stopping has judged it.
            callbacks.extend(user_callbacks)
        self.resumed_from_epoch_ = initial_epoch
        if checkpoint is not None and checkpoint.finished:
            history = checkpoint.history
        elif own_loop:
            trainer = StepTrainer(
                self.model_,
                loss,
                optimizer,
                strategy=distribution_strategy(distribution),
                privacy=privacy,
                seed=random.randrange(2**31 - 1),
                verbose=self.verbose,
            )
            history = trainer.fit(
                X_train,
                y_train,
                sample_weight,
                validation,
                epochs,
                batch_size,
                callbacks=callbacks,
                initial_epoch=initial_epoch,
            )
        else:
            if isinstance(X_train, np.ndarray | dict):
                batching = {"batch_size": batch_size, "shuffle": True}
            else:  # A dataset batches and shuffles itself.
                batching = {"shuffle": False}
            history = self.model_.fit(
                X_train,
                y_train,
                sample_weight=sample_weight,
                validation_data=validation,
                epochs=epochs,
                initial_epoch=initial_epoch,
                callbacks=callbacks,
                verbose=1 if self.verbose else 0,
                **batching,
            ).history
        if checkpoint is not None:
            checkpoint.mark_finished()
            history = checkpoint.history
        if time_budget is not None and time_budget.stopped:
            self.stopped_by_time_ = True
        if privacy is not None:
            self._spend_privacy(privacy, n_rows, batch_size, len(history["loss"]))
        return history

    def _epoch_metric(self, validation, loss):
        """A callback that adds the task's held-out metric to each epoch's logs, or None.

        Built only when the user passes callbacks (it costs a prediction of
        the held-out rows per epoch), for held-out rows in memory and a
        target part with `epoch_metric` and `_epoch_score`.

        Args:
            validation: the run's `(inputs, targets, weights)` held-out rows, or
                what else the run validates on (None, a dataset).
            loss: the run's loss (`masked_members` tells cross-fitted members).
        """
        if self.epoch_metric is None or not isinstance(validation, tuple | list):
            return None
        inputs, targets = validation[0], np.asarray(validation[1])
        targets = targets.reshape(len(targets), -1)
        masked, folds = getattr(loss, "masked_members", None), None
        if masked:  # Cross-fitted members: the last columns say which member held each row out.
            folds = np.argmax(targets[:, -masked:], axis=1)
            targets = targets[:, :-masked]
        return HeldOutMetric(
            f"val_{self.epoch_metric}",
            inputs,
            lambda outputs: self._epoch_score(outputs, targets),
            folds,
        )

    #: The name of the held-out metric `_epoch_score` computes, or None.
    epoch_metric = None

    def _epoch_score(self, outputs, targets):
        """Hook: the held-out metric of the model's outputs `(n, members, outputs)`."""
        raise NotImplementedError

    def _learning_rate_schedule(self, learning_rate, epochs, deadline):
        """Hook: a callback that moves the learning rate during one training run, or None.

        A task with the parameter `learning_rate_schedule="cosine"` gets
        `core.training.CosineSchedule` (warm-up, then a cosine decay to zero
        at the run's last epoch, or at the last one `max_time` leaves room
        for); without it, or with `"constant"`, the rate stays (AdamW's own
        adaptation).

        Args:
            learning_rate: the run's peak rate.
            epochs: the run's epoch limit.
            deadline: the fit's `max_time` deadline (`time.monotonic()`), or None.
        """
        if getattr(self, "learning_rate_schedule", "constant") != "cosine":
            return None
        return CosineSchedule(learning_rate, epochs, deadline=deadline)

    def _checkpoint(self, stage, data, early_stopping):
        directory = getattr(self, "_checkpoint_dir", None)
        if directory is None:
            return None
        if self._option("distribution") == "multi_worker":
            # Workers may not share a disk; each keeps its own (identical) state.
            directory = os.path.join(directory, f"worker-{worker_index()}")
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "verbose"}
        fingerprint = hashlib.sha256(
            json.dumps([type(self).__qualname__, stage, jsonable(params)], default=repr).encode()
            + _data_digest(data)
        ).hexdigest()
        return TrainingCheckpoint(directory, stage, fingerprint, early_stopping)

    def _plan_privacy(self, privacy, n_rows, batch_size, epochs):
        """Solves the noise for a target epsilon; returns the epochs to train."""
        if n_rows is None:
            raise ValueError(
                "`privacy` needs the training rows in memory to account for them; this task "
                "streamed its data from files."
            )
        if batch_size > n_rows:
            raise ValueError(
                f"`privacy` needs batch_size <= training rows; got {batch_size} > {n_rows}."
            )
        privacy.solve_noise(batch_size / n_rows, epochs * (n_rows // batch_size))
        return epochs

    def _spend_privacy(self, privacy, n_rows, batch_size, n_epochs):
        sampling_rate = batch_size / n_rows
        steps = n_epochs * (n_rows // batch_size)
        self.privacy_spent_ = {
            "epsilon": privacy.epsilon(sampling_rate, steps),
            "delta": privacy.delta,
            "noise_multiplier": privacy.noise_multiplier,
            "l2_norm_clip": privacy.l2_norm_clip,
            "steps": steps,
            "sampling_rate": sampling_rate,
            "accountant": "dp-accounting RDP, Poisson-sampled Gaussian",
        }
        epsilon = self.privacy_spent_["epsilon"]
        if epsilon > WEAK_PRIVACY_EPSILON:
            warnings.warn(
                f"This training spent epsilon={epsilon:.3g} (delta={privacy.delta:g}), above "
                f"{WEAK_PRIVACY_EPSILON:g}: the privacy guarantee is weak. To spend less, raise "
                f"'noise_multiplier' (now {privacy.noise_multiplier:.3g}) or set "
                "'target_epsilon', train fewer epochs (max_epochs), or use a smaller "
                f"batch_size (now {batch_size}, {sampling_rate:.2%} of the rows per step).",
                WeakPrivacyWarning,
                stacklevel=4,
            )

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
    def _predict_raw(self, inputs):
        """Runs the model on its input (an array, or named arrays) through the compiled function."""
        return self._predict_function(inputs)

    def warm_up(self):
        """Traces the compiled inference function now, so the first prediction is no slower.

        A server calls it once after loading; `fit` and `load` leave the
        tracing to the first prediction.

        Returns:
            self.
        """
        check_is_fitted(self)
        self._predict_raw(self._predict_function.zeros())
        return self

    # -------------------------------------------------- pickling and files
    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_predict_function", None)
        state.pop("_checkpoint_dir", None)
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
        self._predict_function = InferenceFunction(model)

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
        state = {"params": jsonable(params), "fitted": self._get_fitted_state()}
        metadata = {
            "estimator": f"{type(self).__module__}.{type(self).__qualname__}",
            "task": self.task_name,
            "versions": library_versions(),
            "input_schema": self.input_schema(),
            "classes": jsonable(getattr(self, "classes_", None)),
            "training": {
                "epochs": self.n_epochs_,
                "seconds": round(self.training_seconds_, 3),
                "final": {k: v[-1] for k, v in self.history_.items()},
                "best_val_loss": min(self.history_["val_loss"])
                if "val_loss" in self.history_
                else None,
            },
            "privacy": getattr(self, "privacy_spent_", None),
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
        try:
            estimator = cls(**cls._params_from_json(state["params"]))
            estimator._set_fitted_state(state["fitted"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(
                f"{path!r}: the saved estimator state is incomplete or does not match "
                f"{own} ({type(error).__name__}: {error})."
            ) from error
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
        params = {cls.renamed_parameters.get(key, key): value for key, value in params.items()}
        return {
            key: tuple(value)
            if isinstance(value, list) and isinstance(defaults.get(key), tuple | str)
            else value
            for key, value in params.items()
        }

    def _get_fitted_state(self):
        """What `save` keeps besides the model and the parameters, as plain JSON.

        Each subclass adds its own keys to `super()._get_fitted_state()`;
        `_set_fitted_state` reads them back in the same chain.
        """
        state = {
            "history": self.history_,
            "n_epochs": self.n_epochs_,
            "training_seconds": self.training_seconds_,
            "privacy_spent": getattr(self, "privacy_spent_", None),
            "stopped_by_time": bool(getattr(self, "stopped_by_time_", False)),
        }
        if self.adapter_class is not None:
            state["preprocessor"] = self.preprocessor_.get_state()
        return state

    def _set_fitted_state(self, state):
        """Restores what `_get_fitted_state` returned; subclasses chain through `super()`."""
        self.history_ = state["history"]
        self.n_epochs_ = state["n_epochs"]
        self.training_seconds_ = state["training_seconds"]
        self.stopped_by_time_ = state.get("stopped_by_time", False)  # Absent before max_time.
        if state.get("privacy_spent") is not None:
            self.privacy_spent_ = state["privacy_spent"]
        if self.adapter_class is not None:
            self.preprocessor_ = self._adapter_class().from_state(state["preprocessor"])

    def _adapter_class(self):
        """The adapter class of this configuration: `adapter_class` unless a part replaces it.

        A pretrained keras-hub encoder, say, brings its own tokenizer.
        """
        return self.adapter_class

    def _transform(self, X, **context):
        """The model's input for raw X: the input adapter validates it, then transforms it.

        Args:
            X: raw input, as for `predict`.
            **context: the task's further prediction arguments (`history`,
                `prediction_time`, ...), passed to the adapter's `validate`.
        """
        check_is_fitted(self)
        return self.preprocessor_.transform(self.preprocessor_.validate(X, **context))

    def output_index(self, X):
        """Labels of the rows `predict` returns for X: X's own rows unless a task groups them.

        Args:
            X: raw input, as for `predict`.

        Returns:
            `pandas.Index`; a named one (e.g. patient ids) labels entities, not input rows.
        """
        import pandas as pd

        return X.index if isinstance(X, pd.DataFrame | pd.Series) else pd.RangeIndex(len(X))

    def input_schema(self):
        """The raw input the fitted estimator takes, as plain JSON (saved in the model file).

        Returns:
            For tables, a list of `{"name", "kind", ...}` per column; for other
            input kinds a dict keyed by the kind's parts; None when the task has
            no input adapter.
        """
        check_is_fitted(self)
        return None if self.adapter_class is None else self.preprocessor_.input_schema()

    # --------------------------------------------------------------- export
    def export(self, path, format="saved_model"):
        """Exports the model for serving without keras-domains: a SavedModel or an ONNX file.

        The graph holds the model, the output head (probabilities averaged
        over ensemble members, calibration included) and, where the format
        allows, the preprocessing: tables take raw column values, images
        raw pixels. A companion JSON file beside it lists the inputs, the
        outputs and the classes, with the fitted preprocessing the caller
        still has to apply (tokenizers, event-history encoders).
        `export_inputs(X)` gives the graph's inputs for raw data.

        Args:
            path: a folder for `"saved_model"` (serving signature
                `serving_default`), a file such as `model.onnx` for `"onnx"`.
            format: `"saved_model"` or `"onnx"` (needs the `export` extra).

        Returns:
            dict with `path`, `format` and `companion` (the JSON file).
        """
        check_is_fitted(self)
        from core.export import ModelExporter

        exporter = ModelExporter(
            self._export_signature(), self._export_head, self._export_description()
        )
        return exporter.export(path, format=format)

    def export_inputs(self, X, **kwargs):
        """The inputs of the exported model for raw data.

        Args:
            X: raw input, as for `predict_proba`.
            **kwargs: further arguments of the task's `predict_proba`.

        Returns:
            dict `{input name: numpy array}`, ready for a SavedModel signature
            or an onnxruntime session.
        """
        check_is_fitted(self)
        return self._export_signature().feed(X, **kwargs)

    def _export_signature(self):
        """The exported graph's inputs; by default the model's own input matrix."""
        from core.export import ExportSignature

        return ExportSignature(self.model_, self._transform, self._export_preprocessing())

    def _export_preprocessing(self):
        """What the caller applies before the graph, for the companion JSON."""
        return {
            "in_python": f"{type(self).__name__}.export_inputs(X)",
            "fitted_state": jsonable(self._get_fitted_state()),
        }

    def _export_head(self, outputs):
        """Named output tensors of the exported graph, from the model's output."""
        return {"outputs": outputs}

    def _export_description(self):
        return {
            "task": self.task_name,
            "estimator": f"{type(self).__module__}.{type(self).__qualname__}",
            "outputs": {"outputs": "the Keras model's output"},
        }

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")


def _data_digest(data):
    """SHA-256 of the training arrays and keys (a dataset counts by its structure only)."""
    digest = hashlib.sha256()
    for leaf in keras.tree.flatten(data):
        if isinstance(leaf, np.ndarray):
            digest.update(str((leaf.shape, leaf.dtype.str)).encode())
            digest.update(np.ascontiguousarray(leaf).data)
        elif isinstance(leaf, bytes):
            digest.update(leaf)
        else:
            digest.update(repr(type(leaf)).encode())
    return digest.digest()


def _checked_callbacks(callbacks):
    """`callbacks` as a list of Keras callbacks, or a ValueError that names the argument."""
    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.Callback):
        return [callbacks]
    expected = "`callbacks` must be a list of `keras.callbacks.Callback` instances. Received: "
    if not isinstance(callbacks, list | tuple):
        raise ValueError(expected + f"a {type(callbacks).__name__}.")
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise ValueError(expected + f"an element of type {type(callback).__name__}.")
    return list(callbacks)


def build_before_tracing(optimizer, model):
    """Creates the optimizer's slot variables now, before `model.fit` traces its train step.

    Built lazily, the slots would be created inside the first trace of the
    train step, and tf.function then traces that step a second time: every
    fit would pay for two traces of its graph
    (`python -m benchmarks.fit_tracing` measures the difference).

    Args:
        optimizer: the compiled model's optimizer.
        model: the compiled model.
    """
    optimizer.build(model.trainable_variables)
