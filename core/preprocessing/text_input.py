"""Validation of text inputs: any sequence of strings in, a list of str out."""

import numpy as np
import pandas as pd


def as_text_list(X, argument="X", column=None):
    """Returns the texts of `X` as a list of `str`, or raises a clear error.

    Args:
        X: a list, tuple, NumPy array or pandas Series of strings, or a
            DataFrame holding the texts in `column` (or in its only column).
        argument: the argument's name, for error messages.
        column: the text column of a DataFrame.

    Returns:
        A list of str.

    Raises:
        TypeError: for a single string, or an item that is not a string
            (naming its index and type).
        ValueError: for an empty input, or a DataFrame without the column.
    """
    if isinstance(X, str | bytes):
        raise TypeError(
            f"`{argument}` must be a list of strings, not a single string. "
            f"Wrap it in a list: [{X[:30]!r}]."
        )
    if isinstance(X, pd.DataFrame):
        if column is not None and column in X.columns:
            X = X[column]
        elif X.shape[1] == 1:
            X = X.iloc[:, 0]
        else:
            expected = f"a column {column!r}" if column else "exactly one column"
            raise ValueError(
                f"`{argument}` must be texts; a DataFrame needs {expected}. "
                f"Received columns {list(X.columns)[:10]}."
            )
    if isinstance(X, pd.Series):
        values = X.tolist()
    elif isinstance(X, np.ndarray):
        if X.ndim != 1:
            raise ValueError(f"`{argument}` must be 1-D texts. Received shape {X.shape}.")
        values = X.tolist()
    elif isinstance(X, list | tuple):
        values = list(X)
    else:
        try:
            values = list(X)
        except TypeError:
            raise TypeError(
                f"`{argument}` must be a list of strings. Received: {type(X).__name__}"
            ) from None
    if not values:
        raise ValueError(f"`{argument}` is empty; at least one text is required.")
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise TypeError(
                f"`{argument}[{i}]` must be a string. Received: {value!r} ({type(value).__name__})"
            )
    return values
