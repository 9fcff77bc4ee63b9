"""Shared parameters are declared once and checked, with the same message, for every task."""

import inspect
import re

import numpy as np
import pytest

from core.estimators import TabularClassifier
from core.estimators.parameter import Parameter
from core.estimators.shared_parameters import SHARED_PARAMETERS
from core.registry import get_task, list_tasks

# A value each shared parameter must refuse.
BAD_VALUES = {
    "embedding_dim": 0,
    "num_layers": -1,
    "num_heads": 1.5,
    "intermediate_dim": True,
    "lstm_units": "64",
    "hidden_units": (16, 0),
    "vocabulary_size": 2**24 + 1,
    "dropout": 1.0,
    "n_members": 0,
    "min_frequency": 0,
    "text_columns": 3,
    "image_columns": [1],
    "text_backbone": "",
    "image_backbone": "",
    "learning_rate": -1e-3,
    "learning_rate_schedule": "one-cycle",
    "max_time": 0,
    "weight_decay": float("nan"),
    "batch_size": "big",
    "max_epochs": 0,
    "patience": 2.0,
    "validation_fraction": 1.0,
    "class_weight": "even",
    "calibration": "platt",
    "start_from": "no/such/file.kdm",
    "random_state": 1.5,
    "verbose": -1,
}
BUILT_IN = [
    name for name in list_tasks() if name.split(".")[0] in ("medical", "finance", "vision", "nlp")
]


def test_every_shared_parameter_has_a_bad_value_here():
    assert set(BAD_VALUES) == set(SHARED_PARAMETERS)


@pytest.mark.parametrize("task", BUILT_IN)
def test_defaults_pass_and_each_bad_value_is_named(task):
    cls = get_task(task)
    estimator = cls()
    estimator._check_parameters()  # Every default is accepted.
    taken = set(inspect.signature(cls.__init__).parameters) & set(SHARED_PARAMETERS)
    assert {"learning_rate", "max_epochs", "patience", "validation_fraction"} <= taken
    checks = dict(SHARED_PARAMETERS)
    for klass in reversed(cls.__mro__):  # A task may widen a shared parameter ("auto").
        checks.update(vars(klass).get("parameter_checks", {}))
    for name in sorted(taken):
        bad = cls(**{name: BAD_VALUES[name]})
        message = f"`{name}` must be {checks[name].expected}. Received: {name}="
        with pytest.raises(ValueError, match="^" + re.escape(message)):
            bad._check_parameters()


def test_bad_parameter_fails_before_any_work():
    X = np.zeros((4, 2))
    with pytest.raises(
        ValueError, match=r"`patience` must be a positive integer\. Received: patience=0"
    ):
        TabularClassifier(patience=0).fit(X, [0, 1, 0, 1])
    assert not hasattr(TabularClassifier(patience=0), "preprocessor_")


@pytest.mark.parametrize(
    ("parameter", "good", "bad"),
    [
        (Parameter.integer(minimum=0), [0, 3, np.int64(2)], [-1, True, 2.0, "1"]),
        (Parameter.integer(minimum=1, maximum=4), [1, 4], [0, 5]),
        (
            Parameter.number(minimum=0.0, maximum=1.0, include_maximum=False),
            [0, 0.5],
            [1.0, np.nan],
        ),
        (Parameter.finite_number(positive=True), [1e-9, 3], [0, -1, float("inf"), False]),
        (Parameter.choice((None, "a")), [None, "a"], ["b", 0, False]),
        (Parameter.boolean(), [True, np.bool_(False)], [1, 0, "True"]),
        (Parameter.integers(), [(1,), [2, 3]], [(), (0,), (1.5,), 3]),
        (Parameter.integer().or_value("auto"), ["auto", 2], ["Auto", 0, None]),
    ],
)
def test_parameter_kinds_accept_and_refuse(parameter, good, bad):
    for value in good:
        parameter.check("p", value)
    for value in bad:
        with pytest.raises(ValueError, match=r"^`p` must be .* Received: p="):
            parameter.check("p", value)
