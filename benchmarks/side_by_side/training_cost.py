"""Training cost: the toolkit's `fit` against the same model trained with plain Keras.

For each task the estimator is fitted (timed) while recording what it hands
to Keras: the training arrays, the validation data and the loss given to
`_fit_model`, and the seconds spent inside `_train_epochs` (compile plus
`model.fit`). The reference then builds the same architecture with fresh
weights (`keras.models.clone_model(est.model_)`, frozen layers kept frozen),
compiles it with the same optimizer (AdamW, same learning rate and weight
decay) and loss, and runs `model.fit` on the same arrays for exactly
`est.n_epochs_` epochs with the same batch size and validation data.

What each side includes:

- toolkit: the whole `fit(X, y)` on raw data: input checks, target
  encoding, fitting and applying the preprocessing (tokenizer, image
  resizing), the validation split (or cross-fitting folds), building the
  model, compile, `model.fit` with early stopping (best weights restored),
  the task's extras (the text model's exactly solved n-gram path) and the
  held-out predictions for calibration and conformal scores.
- Keras: `clone_model` + `compile` + `model.fit` on the already-preprocessed
  arrays, no callbacks; sample weights only when they are not all ones.
"""

import contextlib
import sys
import time

import keras
import numpy as np

from benchmarks import tabular_quality, vision_quality
from benchmarks.side_by_side.figures import Figure
from benchmarks.side_by_side.quality import reviews_frame

COST_TASKS = ("tabular", "text", "image")
TARGET_RATIO = 1.10


def run_training_cost(tasks, repeats, seed):
    """Times the toolkit's fit and the plain Keras fit of each task, interleaved.

    Args:
        tasks: names from COST_TASKS.
        repeats: timed pairs per task; the figures are medians.
        seed: the estimators' `random_state` and the Keras seed.

    Returns:
        `(results, figures)`.
    """
    _warm_up_keras()
    loaders = {"tabular": _patients, "text": _reviews, "image": _digits}
    results, figures = {}, []
    for task in tasks:
        label, make_estimator, X, y = loaders[task](seed)
        result = compare(label, make_estimator, X, y, repeats, seed)
        results[task] = result
        figures.append(
            Figure(
                "cost",
                f"{label}: fit time / Keras fit time, {result['epochs']} epochs",
                f"{result['toolkit_seconds']:.1f} s",
                f"{result['keras_seconds']:.1f} s Keras",
                result["ratio"],
                target=("<=", TARGET_RATIO),
            )
        )
    return results, figures


def compare(label, make_estimator, X, y, repeats, seed):
    """Median wall and CPU seconds of `repeats` toolkit fits and as many Keras fits.

    Args:
        label: the task's name in the output.
        make_estimator: returns a new, unfitted estimator.
        X, y: raw training data.
        repeats: timed pairs; toolkit and Keras alternate which goes first.
        seed: Keras seed of the reference fit.

    Returns:
        dict of per-repeat and median timings, and the ratios.
    """
    runs = []
    estimator, record = None, None
    for repeat in range(repeats):
        # The reference copies a fitted estimator: the first repeat fits the toolkit first,
        # later ones alternate (the previous repeat's fit, same seed, serves the reference).
        order = ("toolkit", "keras") if repeat % 2 == 0 else ("keras", "toolkit")
        run = {}
        for side in order:
            if side == "toolkit":
                estimator, record, run["toolkit"] = _toolkit_fit(make_estimator, X, y)
            else:
                run["keras"] = keras_fit(estimator, record, seed)
        run["epochs"] = int(estimator.n_epochs_)
        runs.append(run)
        print(
            f"  [cost {label}] repeat {repeat}: toolkit {run['toolkit']['seconds']:.1f} s "
            f"(of which _train_epochs {run['toolkit']['train_epochs_seconds']:.1f} s), "
            f"Keras {run['keras']['seconds']:.1f} s (model.fit "
            f"{run['keras']['fit_seconds']:.1f} s), {run['epochs']} epochs",
            file=sys.stderr,
            flush=True,
        )
        keras.backend.clear_session()
    toolkit = _medians([r["toolkit"] for r in runs])
    reference = _medians([r["keras"] for r in runs])
    return {
        "task": label,
        "repeats": runs,
        "epochs": runs[-1]["epochs"],
        "toolkit_seconds": toolkit["seconds"],
        "toolkit_cpu_seconds": toolkit["cpu_seconds"],
        "toolkit_train_epochs_seconds": toolkit["train_epochs_seconds"],
        "toolkit_train_epochs_cpu_seconds": toolkit["train_epochs_cpu_seconds"],
        # Preprocessing, validation split, model building, the task's extras, calibration.
        "toolkit_outside_train_epochs_seconds": toolkit["seconds"]
        - toolkit["train_epochs_seconds"],
        "keras_seconds": reference["seconds"],
        "keras_cpu_seconds": reference["cpu_seconds"],
        "keras_fit_seconds": reference["fit_seconds"],
        "ratio": toolkit["seconds"] / reference["seconds"],
        "cpu_ratio": toolkit["cpu_seconds"] / reference["cpu_seconds"],
        "target": TARGET_RATIO,
    }


@contextlib.contextmanager
def recorded_training(estimator):
    """Records what `fit` hands to Keras, without changing what it does.

    Within the block, the estimator's `_fit_model` keeps its arguments (the
    training arrays, validation data and loss) and `_train_epochs` adds up
    its wall-clock seconds. Both wrappers are instance attributes, removed
    on exit.

    Args:
        estimator: an unfitted KerasEstimator.

    Yields:
        dict, filled during `fit`: `X_train`, `y_train`, `sample_weight`,
        `validation`, `loss`, and `train_epochs_seconds` and
        `train_epochs_cpu_seconds` (wall-clock and process CPU seconds).
    """
    record = {"train_epochs_seconds": 0.0, "train_epochs_cpu_seconds": 0.0}
    fit_model, train_epochs = estimator._fit_model, estimator._train_epochs

    def recording_fit_model(X_train, y_train, sample_weight, validation, loss, **kwargs):
        record.update(
            X_train=X_train,
            y_train=y_train,
            sample_weight=sample_weight,
            validation=validation,
            loss=loss,
        )
        return fit_model(X_train, y_train, sample_weight, validation, loss, **kwargs)

    def timed_train_epochs(*args, **kwargs):
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return train_epochs(*args, **kwargs)
        finally:
            record["train_epochs_seconds"] += time.perf_counter() - started
            record["train_epochs_cpu_seconds"] += time.process_time() - cpu_started

    estimator._fit_model = recording_fit_model
    estimator._train_epochs = timed_train_epochs
    try:
        yield record
    finally:
        del estimator._fit_model, estimator._train_epochs


def keras_fit(estimator, record, seed):
    """Trains the estimator's architecture, freshly initialized, with plain `model.fit`.

    Args:
        estimator: the fitted estimator (its model, hyperparameters and epochs).
        record: what its `fit` handed to Keras (`recorded_training`).
        seed: Keras seed for the initialization and shuffling.

    Returns:
        dict with `seconds` and `cpu_seconds` (clone + compile + fit) and
        `fit_seconds` (the `model.fit` call alone).
    """
    X_val, y_val, w_val = _validation_arrays(record["validation"])
    weights = record["sample_weight"]
    keras.utils.set_random_seed(seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    model = keras.models.clone_model(estimator.model_)
    _copy_trainable(estimator.model_, model)
    loss = type(record["loss"]).from_config(record["loss"].get_config())
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=estimator.learning_rate, weight_decay=estimator.weight_decay
        ),
        loss=loss,
    )
    fit_started = time.perf_counter()
    model.fit(
        record["X_train"],
        record["y_train"],
        sample_weight=None if _all_ones(weights) else weights,
        validation_data=(X_val, y_val) if _all_ones(w_val) else (X_val, y_val, w_val),
        batch_size=estimator._batch_size(len(record["y_train"])),
        epochs=estimator.n_epochs_,
        shuffle=True,
        verbose=0,
    )
    ended = time.perf_counter()
    return {
        "seconds": ended - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "fit_seconds": ended - fit_started,
    }


def _toolkit_fit(make_estimator, X, y):
    estimator = make_estimator()
    with recorded_training(estimator) as record:
        started, cpu_started = time.perf_counter(), time.process_time()
        estimator.fit(X, y)
        timing = {
            "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu_started,
            "train_epochs_seconds": record["train_epochs_seconds"],
            "train_epochs_cpu_seconds": record["train_epochs_cpu_seconds"],
        }
    return estimator, record, timing


def _validation_arrays(validation):
    if validation is None:
        raise ValueError("the cost comparison needs a fit with validation data")
    X_val, y_val, *rest = validation
    return X_val, y_val, rest[0] if rest else None


def _all_ones(weights):
    return weights is None or bool(np.all(np.asarray(weights) == 1.0))


def _copy_trainable(source, copy):
    """Freezes in `copy` the layers frozen in `source` (the text model's n-gram path)."""
    for source_layer, copied_layer in zip(source.layers, copy.layers, strict=True):
        copied_layer.trainable = source_layer.trainable
        if hasattr(source_layer, "layers"):
            _copy_trainable(source_layer, copied_layer)


def _medians(timings):
    return {key: float(np.median([t[key] for t in timings])) for key in timings[0]}


def _warm_up_keras():
    """One tiny fit, so that neither side pays TensorFlow's one-time start-up."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adamw", loss="mse")
    model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=1, verbose=0)
    keras.backend.clear_session()


# --------------------------------------------------------------------- data
def _patients(seed):
    from domains.medical import DiagnosisPredictor

    table = tabular_quality.patients()
    return "DiagnosisPredictor on patients.csv", _seeded(DiagnosisPredictor, seed), table.X, table.y


def _reviews(seed):
    from domains.nlp import TextClassifier

    frame = reviews_frame()
    return (
        "TextClassifier on reviews.csv",
        _seeded(TextClassifier, seed),
        list(frame["text"]),
        frame["label"].to_numpy(),
    )


def _digits(seed):
    from domains.vision import ImageClassifier

    images, _, labels = vision_quality.digits()
    return "ImageClassifier on digits", _seeded(ImageClassifier, seed), images, labels


def _seeded(estimator_cls, seed):
    return lambda: estimator_cls(random_state=seed)
