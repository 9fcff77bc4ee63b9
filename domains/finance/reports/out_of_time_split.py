"""Split a table in time: train on the past, test on the latest rows."""

import math
import numbers

import numpy as np
import pandas as pd

from core.data.frame_checks import check_frame
from core.data.time_values import to_datetimes


def out_of_time_split(df, time_column, test_size=None, cutoff=None):
    """Split `df` so that every training row is no later than every test row.

    Rows are sorted by time (stably, so rows at the same time keep their
    order). The test set is the rows at or after `cutoff`, or else the latest
    `test_size` share of rows. Rows that share the boundary time all go to the
    test set, so no time appears on both sides.

    Args:
        df: the table to split.
        time_column: name of the column that holds the time: datetimes,
            strings that `pandas.to_datetime` parses, or numbers (e.g. a month
            index).
        test_size: share of rows to put in the test set, in (0, 1); the test
            set gets `ceil(test_size * len(df))` rows plus any rows tied with
            the earliest of them. Defaults to 0.2 when `cutoff` is not given.
        cutoff: the first test time; rows with time >= `cutoff` are the test
            set. Give either `cutoff` or `test_size`, not both. A cutoff
            without a time zone is read in the time zone of the column.

    Returns:
        `(train_df, test_df)`, each sorted by time and keeping the original
        index.
    """
    check_frame(df, "df", {"time_column": time_column})
    if test_size is not None and cutoff is not None:
        raise ValueError(
            "Give either `test_size` or `cutoff`, not both. "
            f"Received: test_size={test_size!r}, cutoff={cutoff!r}"
        )
    if cutoff is None:
        test_size = 0.2 if test_size is None else test_size
        if (
            isinstance(test_size, bool)
            or not isinstance(test_size, numbers.Real)
            or not 0.0 < test_size < 1.0
        ):
            raise ValueError(f"`test_size` must be in (0, 1). Received: test_size={test_size!r}")

    times = _times(df[time_column], time_column)
    order = np.argsort(times.to_numpy(), kind="stable")
    ordered = df.iloc[order]
    times = times.iloc[order].reset_index(drop=True)

    if cutoff is None:
        n_test = math.ceil(test_size * len(df))
        boundary = times.iloc[len(df) - n_test] if 0 < n_test <= len(df) else None
        is_test = (times >= boundary).to_numpy() if boundary is not None else np.zeros(0, bool)
    else:
        boundary = _cutoff(cutoff, times, time_column)
        try:
            is_test = (times >= boundary).to_numpy()
        except TypeError as error:
            raise ValueError(
                f"`cutoff` cannot be compared with column {time_column!r}: {error}"
            ) from None

    train, test = ordered[~is_test], ordered[is_test]
    if len(train) == 0 or len(test) == 0:
        raise ValueError(
            f"The split of column {time_column!r} at {boundary!r} leaves "
            f"{len(train)} training and {len(test)} test rows; both sides need rows. "
            f"Received {len(df)} rows with times from {times.min() if len(times) else None} "
            f"to {times.max() if len(times) else None}."
        )
    return train, test


def _times(column, name):
    """The time column as numbers or datetimes, or a ValueError naming it."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        if column.isna().any():
            raise ValueError(
                f"Column {name!r} of `df` has {int(column.isna().sum())} missing times; "
                "every row needs a time."
            )
        return column.reset_index(drop=True)
    return to_datetimes(column, name, "df").reset_index(drop=True)


def _cutoff(cutoff, times, name):
    if pd.api.types.is_numeric_dtype(times):
        if isinstance(cutoff, bool) or not isinstance(cutoff, numbers.Real):
            raise ValueError(
                f"`cutoff` must be a number like column {name!r}. Received: cutoff={cutoff!r}"
            )
        return cutoff
    try:
        boundary = pd.Timestamp(cutoff)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`cutoff` could not be parsed as a time. Received: cutoff={cutoff!r} ({error})"
        ) from None
    zone = getattr(times.dt, "tz", None)
    if zone is not None and boundary is not pd.NaT and boundary.tzinfo is None:
        boundary = boundary.tz_localize(zone)  # a naive cutoff is read in the column's zone
    return boundary
