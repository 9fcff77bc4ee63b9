"""Row operations on a model's input: one array, or a dict of named arrays with the same rows.

An input adapter hands the model a dict of named arrays (ids stay integers,
numbers floats); older models take one array. The training schemes and the
inference function index, count and join rows through these functions, so
they work on both without knowing which.
"""

import numpy as np


def count_rows(inputs):
    """Rows of an input: the length of the array, or of every array of the dict.

    Args:
        inputs: an array, or a dict of arrays.

    Returns:
        int.

    Raises:
        ValueError: if the arrays of a dict have different numbers of rows.
    """
    if not isinstance(inputs, dict):
        return len(inputs)
    lengths = {name: len(array) for name, array in inputs.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"The named inputs must have the same rows. Received lengths {lengths}.")
    return next(iter(lengths.values()), 0)


def take_rows(inputs, index):
    """The rows of `index` (integers, a boolean mask or a slice) of an array or of each array.

    Args:
        inputs: an array, or a dict of arrays.
        index: what selects rows.

    Returns:
        The same structure holding the selected rows.
    """
    if isinstance(inputs, dict):
        return {name: array[index] for name, array in inputs.items()}
    return inputs[index]


def concatenate_rows(parts):
    """Stacks the rows of several inputs of the same structure, in order.

    Args:
        parts: a non-empty list of arrays, or of dicts with the same names.

    Returns:
        One array, or one dict of arrays.
    """
    if isinstance(parts[0], dict):
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return np.concatenate(parts)


def repeat_rows(inputs, repeats):
    """Each row `repeats` times in a row (`numpy.repeat` along the rows)."""
    if isinstance(inputs, dict):
        return {name: np.repeat(array, repeats, axis=0) for name, array in inputs.items()}
    return np.repeat(inputs, repeats, axis=0)


def tile_rows(inputs, times):
    """All the rows, `times` times over (`numpy.tile` along the rows)."""
    if isinstance(inputs, dict):
        return {name: _tile(array, times) for name, array in inputs.items()}
    return _tile(inputs, times)


def _tile(array, times):
    return np.tile(array, (times,) + (1,) * (array.ndim - 1))
