"""The first checks of a table argument: a DataFrame, with the named columns, not empty."""

import pandas as pd


def check_frame(X, name, columns=None, *, what="rows", expected="a pandas DataFrame"):
    """Raises a clear error unless `X` is a non-empty DataFrame holding `columns`.

    Args:
        X: the value received.
        name: the argument's name, used in the messages (`"X"`, `"df"`).
        columns: `{parameter name: column name}` that `X` must hold, e.g.
            `{"time_column": "date"}`; the message names both.
        what: what a row is, for the empty message (`"rows"`, `"events"`).
        expected: what `X` should be, for the type message.

    Returns:
        `X`, unchanged.

    Raises:
        TypeError: if `X` is not a DataFrame.
        ValueError: naming the missing columns and the parameters that name
            them, or saying that `X` has no rows.
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"`{name}` must be {expected}. Received: {type(X).__name__}")
    missing = {arg: col for arg, col in (columns or {}).items() if col not in X.columns}
    if missing:
        named = ", ".join(f"{col!r} (`{arg}`)" for arg, col in missing.items())
        raise ValueError(f"`{name}` has no column {named}; its columns are {list(X.columns)}.")
    if len(X) == 0:
        raise ValueError(f"`{name}` is empty (0 {what}); expected at least one row.")
    return X
