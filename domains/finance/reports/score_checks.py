"""Checks of the labels and scores that the finance reports and plots take."""

import numpy as np
import pandas as pd


def binary_target(y, name):
    """`y` as an int array of 0/1 (1 = bad), or a ValueError naming `name`.

    Args:
        y: 1-D labels: 0/1 numbers, booleans or their strings.
        name: the argument's name, for the message.

    Returns:
        An int64 array of 0 and 1.
    """
    values = _one_dimensional(y, name)
    try:
        numeric = values.astype(np.float64)
    except (TypeError, ValueError):
        numeric = None
    if numeric is None or not np.all(np.isin(numeric, (0.0, 1.0))):
        seen = pd.unique(values)[:5].tolist()
        raise ValueError(
            f"`{name}` must hold only 0 (good) and 1 (bad). Received values such as {seen}."
        )
    return numeric.astype(np.int64)


def finite_scores(scores, name):
    """`scores` as a float array of finite numbers, or a ValueError naming `name`.

    Args:
        scores: 1-D numbers.
        name: the argument's name, for the message.

    Returns:
        A float64 array.
    """
    values = _one_dimensional(scores, name)
    try:
        values = values.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must hold numbers. Received values of dtype {values.dtype}."
        ) from None
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"`{name}` must hold finite numbers. Received {int(np.sum(~np.isfinite(values)))} "
            "missing or infinite values."
        )
    return values


def check_same_length(a, b, name_a, name_b):
    """Raises a ValueError naming both arguments when `a` and `b` differ in length.

    Args:
        a: a sized object.
        b: another.
        name_a: the name of `a`, for the message.
        name_b: the name of `b`.
    """
    if len(a) != len(b):
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same length. Received {len(a)} and {len(b)}."
        )


def _one_dimensional(values, name):
    """`values` as a 1-D numpy array, or a ValueError naming `name`."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D. Received an array of shape {values.shape}.")
    return values
