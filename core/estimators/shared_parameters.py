"""The constructor parameters many tasks share, each declared once with its check.

A task's `__init__` lists its parameters explicitly, as scikit-learn needs;
`KerasEstimator._check_parameters` checks every one of them found here (or
in the task's own `parameter_checks`) once, at the start of `fit`. The
training options `precision`, `jit_compile`, `distribution` and `privacy`
have richer checks of their own in `core.training`.
"""

import numbers
import os

import numpy as np

from core.calibration import CALIBRATORS
from core.estimators.parameter import Parameter

_POSITIVE = Parameter.integer(minimum=1)
_RATE = Parameter.number(minimum=0.0, maximum=1.0, include_maximum=False)

#: name -> Parameter, for every parameter that two or more tasks take.
SHARED_PARAMETERS = {
    # Model size.
    "embedding_dim": _POSITIVE,
    "num_layers": _POSITIVE,
    "num_heads": _POSITIVE,
    "intermediate_dim": _POSITIVE,
    "lstm_units": _POSITIVE,
    "hidden_units": Parameter.integers(minimum=1),
    # Token ids reach the model as int32; past 2**24 the embedding table alone takes gigabytes.
    "vocabulary_size": Parameter.integer(minimum=8, maximum=2**24),
    "dropout": _RATE,
    "n_members": _POSITIVE.or_value("auto"),
    "min_frequency": _POSITIVE,
    # Optimisation.
    # 0 is allowed: it freezes the weights, e.g. to check that fine-tuning starts from a file.
    "learning_rate": Parameter.number(minimum=0.0),
    # "cosine": `core.training.CosineSchedule` (warm-up, then decay to zero at the last epoch).
    "learning_rate_schedule": Parameter.choice(("cosine", "constant")),
    "weight_decay": Parameter.number(minimum=0.0),
    "batch_size": _POSITIVE.or_value("auto"),
    "max_epochs": _POSITIVE,
    "patience": _POSITIVE,
    # Seconds a fit may train; training stops when they are spent, keeping the best epoch.
    "max_time": Parameter(
        "None or a positive number of seconds",
        lambda v: (
            v is None
            or (
                isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v) and v > 0
            )
        ),
    ),
    "validation_fraction": _RATE,
    # Tables with text and image columns (`core.preprocessing.MultimodalPreprocessor`).
    "text_columns": Parameter(
        "None or a list of column names", lambda v: v is None or _is_names(v)
    ),
    "image_columns": Parameter(
        "None or a list of column names", lambda v: v is None or _is_names(v)
    ),
    "text_backbone": Parameter.choice(("transformer", "lstm")).or_preset(),
    "image_backbone": Parameter.choice(("cnn", "vit")).or_preset(),
    # Targets and trust.
    "class_weight": Parameter(
        "None, 'balanced' or a dict {label: weight}",
        lambda v: v is None or isinstance(v, dict) or (isinstance(v, str) and v == "balanced"),
    ),
    "calibration": Parameter(
        f"None, {' or '.join(map(repr, CALIBRATORS))}",
        lambda v: v is None or (isinstance(v, str) and v in CALIBRATORS),
    ),
    # Where training starts: a saved model of the task, or an encoder file from `pretrain`.
    "start_from": Parameter(
        "None or the path of an existing file (a saved model, or an encoder from `pretrain`)",
        lambda v: v is None or (isinstance(v, str | os.PathLike) and os.path.isfile(v)),
    ),
    # Reproducibility and output.
    "random_state": Parameter(
        "None, an integer or a numpy RandomState",
        lambda v: (
            v is None
            or isinstance(v, np.random.RandomState)
            or (isinstance(v, numbers.Integral) and not isinstance(v, bool))
        ),
    ),
    "verbose": Parameter.integer(minimum=0).or_value(True, False),
}


def _is_names(value):
    if isinstance(value, str):
        return True
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
