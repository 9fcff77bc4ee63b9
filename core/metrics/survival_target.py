"""Validation of right-censored survival targets: event or censoring times and event flags."""

import numpy as np
import pandas as pd

TIME_NAMES = (
    "time",
    "duration",
    "survival_time",
    "time_to_event",
    "followup",
    "follow_up",
    "days",
    "months",
    "years",
)
EVENT_NAMES = ("event", "status", "died", "death", "dead", "observed", "event_observed", "delta")


def _first_bad(values, bad):
    """Text `first at row i: value` for the first True in the boolean mask `bad`."""
    row = int(np.flatnonzero(bad)[0])
    value = values[row]
    return f"first at row {row}: {value.item() if hasattr(value, 'item') else value!r}"


def _to_numpy(values, label):
    """A 1-D NumPy array from an array-like or a pandas Series, keeping missing values as NaN."""
    if isinstance(values, (pd.Series, pd.Index)) and isinstance(
        values.dtype, pd.api.extensions.ExtensionDtype
    ):
        if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
            values = values.to_numpy(dtype=np.float64, na_value=np.nan)
    array = np.asarray(values)
    if array.dtype == object:
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{label} must be numeric. Received values of types "
                f"{sorted({type(v).__name__ for v in array.ravel()[:100]})}."
            ) from None
    if array.ndim != 1:
        raise ValueError(
            f"{label} must be one-dimensional, one value per row. Received shape {array.shape}."
        )
    return array


def _check_time(time, label):
    """Times as a float64 array: numeric, finite and > 0."""
    time = _to_numpy(time, label)
    if time.dtype == bool or not np.issubdtype(time.dtype, np.number):
        raise ValueError(f"{label} must be numeric times. Received dtype {time.dtype}.")
    if np.issubdtype(time.dtype, np.complexfloating):
        raise ValueError(f"{label} must be real times. Received dtype {time.dtype}.")
    time = time.astype(np.float64)
    if len(time) == 0:
        raise ValueError(f"{label} is empty; expected at least one row.")
    bad = ~np.isfinite(time)
    if bad.any():
        raise ValueError(
            f"{label} must be finite; {int(bad.sum())} values are NaN or infinite "
            f"({_first_bad(time, bad)})."
        )
    bad = time <= 0
    if bad.any():
        raise ValueError(
            f"{label} must be > 0; {int(bad.sum())} values are <= 0 ({_first_bad(time, bad)})."
        )
    return time


def _check_event(event, label):
    """Event flags as a bool array: booleans or numbers equal to 0 or 1."""
    event = _to_numpy(event, label)
    if event.dtype == bool:
        return event
    if not np.issubdtype(event.dtype, np.number) or np.issubdtype(event.dtype, np.complexfloating):
        raise ValueError(f"{label} must be 0/1 or boolean. Received dtype {event.dtype}.")
    bad = ~np.isin(event, (0, 1))
    if bad.any():
        hint = ""
        if set(np.unique(event[np.isfinite(event)]).tolist()) == {1, 2}:
            hint = (
                " It looks coded as in R's survival package (1 = censored, 2 = event): "
                "pass it minus 1."
            )
        raise ValueError(
            f"{label} must be 0 (censored) or 1 (event); {int(bad.sum())} values are not "
            f"({_first_bad(event, bad)}).{hint}"
        )
    return event.astype(bool)


def check_time_event(time, event, time_label="`time`", event_label="`event`", require_event=True):
    """Checks a time array and an event array of the same length.

    Args:
        time: event or censoring times, array-like of shape `(n,)`.
        event: 1 (or True) where the event was observed, 0 where censored.
        time_label: how `time` is named in error messages.
        event_label: how `event` is named in error messages.
        require_event: whether at least one event is required.

    Returns:
        `(time, event)`: a float64 array and a bool array.
    """
    time = _check_time(time, time_label)
    event = _check_event(event, event_label)
    if len(time) != len(event):
        raise ValueError(
            f"{time_label} and {event_label} must have the same length. "
            f"Received {len(time)} and {len(event)}."
        )
    if require_event and not event.any():
        raise ValueError(
            f"{event_label} has no events: all {len(event)} rows are censored; "
            "expected at least one event (1)."
        )
    return time, event


def _columns_of(y):
    """Names and columns of a DataFrame or a structured array, or None for other inputs."""
    if isinstance(y, pd.DataFrame):
        return [str(c) for c in y.columns], {str(c): y[c] for c in y.columns}
    if isinstance(y, np.ndarray) and y.dtype.names is not None:
        return list(y.dtype.names), {n: y[n] for n in y.dtype.names}
    return None


def _is_binary(column):
    values = np.asarray(column)
    if values.dtype == bool:
        return True
    if not np.issubdtype(values.dtype, np.number):
        return False
    return bool(np.isin(values, (0, 1)).all())


def _pick_columns(names, columns, time, event, name, structured):
    """Chooses the time column and the event column of a table target."""
    if time is not None or event is not None:
        for arg, value in (("time", time), ("event", event)):
            if value not in columns:
                raise ValueError(
                    f"`{arg}` must name a column of `{name}`. Received {arg}={value!r}; "
                    f"columns are {names}."
                )
        return time, event
    lower = {n.lower(): n for n in names}
    time_found = [lower[n] for n in TIME_NAMES if n in lower]
    event_found = [lower[n] for n in EVENT_NAMES if n in lower]
    if len(time_found) == 1 and len(event_found) == 1:
        time_col, event_col = time_found[0], event_found[0]
    elif len(names) == 2:
        binary = [n for n in names if _is_binary(columns[n])]
        flags = [n for n in binary if np.asarray(columns[n]).dtype == bool]
        if len(flags) == 1:
            binary = flags
        if len(binary) != 1:
            raise ValueError(
                f"Could not tell which column of `{name}` holds the times and which the "
                f"events: expected exactly one 0/1 or boolean column. Received columns "
                f"{names}. Name them: check_survival_target(y=..., time='...', event='...')."
            )
        event_col = binary[0]
        time_col = names[1 - names.index(event_col)]
    else:
        raise ValueError(
            f"`{name}` must have a time column and an event column (names such as "
            f"{TIME_NAMES[:3]} and {EVENT_NAMES[:3]}), or exactly two columns. Received "
            f"columns {names}. Name them: check_survival_target(y=..., time='...', event='...')."
        )
    if not structured and "censor" in event_col.lower():
        raise ValueError(
            f"Column {event_col!r} of `{name}` looks like a censoring indicator (1 = censored), "
            "but the event column must be 1 where the event was observed. Pass "
            "event=1 - censored as an array."
        )
    return time_col, event_col


def check_survival_target(time=None, event=None, y=None, name="y"):
    """Checks a right-censored survival target and returns it as two arrays.

    The target is either two arrays (`time`, `event`), or `y`: a DataFrame or a
    NumPy structured array (as made by scikit-survival's `Surv.from_arrays`)
    holding both. The columns of `y` are found by name (`time` or `duration`
    ..., `event` or `status` ...), by `time=` and `event=` given as column
    names, or, for two columns, as the one 0/1 or boolean column (the event)
    and the other (the time).

    Args:
        time: times of the event or of censoring, shape `(n,)`; or, with `y`,
            the name of its time column.
        event: 1 (or True) where the event was observed, 0 where censored,
            shape `(n,)`; or, with `y`, the name of its event column.
        y: DataFrame or structured array with a time and an event column.
        name: name of `y` in error messages; for two arrays, a prefix of their
            names unless it is `"y"` (`name="train"` reads `train_time`).

    Returns:
        `(time, event)`: float64 times > 0 and a bool event array.

    Raises:
        ValueError: times not finite or <= 0, events other than 0/1, different
            lengths, no event at all, or columns that cannot be told apart.
    """
    if y is None:
        if time is None or event is None:
            raise ValueError(
                "Expected `time` and `event` arrays, or `y` with both. Received "
                f"time={'None' if time is None else 'an array'}, "
                f"event={'None' if event is None else 'an array'} and y=None."
            )
        prefix = "" if name == "y" else f"{name}_"
        return check_time_event(time, event, f"`{prefix}time`", f"`{prefix}event`")
    for arg, value in (("time", time), ("event", event)):
        if value is not None and not isinstance(value, str):
            raise ValueError(
                f"With `{name}` given, `{arg}` must be a column name or None. "
                f"Received {type(value).__name__}."
            )
    found = _columns_of(y)
    if found is None:
        raise ValueError(
            f"`{name}` must be a DataFrame or a structured array with a time and an event "
            f"column. Received {type(y).__name__}"
            f"{' of shape ' + str(np.shape(y)) if hasattr(y, 'shape') else ''}; for arrays, "
            "pass time=... and event=... instead."
        )
    names, columns = found
    structured = not isinstance(y, pd.DataFrame)
    time_col, event_col = _pick_columns(names, columns, time, event, name, structured)
    return check_time_event(
        columns[time_col],
        columns[event_col],
        f"`{name}` time column {time_col!r}",
        f"`{name}` event column {event_col!r}",
    )
