"""Time columns read one way everywhere: datetimes, date strings or numbers, with clear errors.

Two functions share the rules:

- `parse_times` turns a column into float days or seconds since 1970-01-01
  (numbers are taken as they are), and says whether it held dates;
- `to_datetimes` turns a column of dates into pandas datetimes and refuses
  numbers.

The rules:

- datetime columns are used as they are, time zone included;
- strings are read as ISO 8601 when they all are, and otherwise each by its
  own format (pandas' `format="mixed"`), so one odd row never makes pandas
  guess a format for the whole column;
- times with different UTC offsets (a summer and a winter time) are
  converted to UTC; a mix of times with and without a time zone is refused,
  since nothing says which zone the naive ones are in;
- numbers among strings are refused (pandas would guess what they mean);
- missing values (None, NaN, NaT), booleans, unreadable values and dates
  outside the years 1677 to 2262 (what pandas' nanosecond datetimes hold)
  are refused;
- numbers (`parse_times` only) must be finite, and within the same span
  when read as `unit` since 1970-01-01.

Every error names the column and the argument it came in (or the argument
alone, for a value that is not a column), what was expected, and up to
three of the values received.
"""

import numbers

import numpy as np
import pandas as pd

#: Seconds in each `unit` that `parse_times` returns.
SECONDS_PER_UNIT = {"seconds": 1.0, "days": 86400.0}
#: The largest time, in seconds either side of 1970-01-01, that pandas' datetimes hold.
MAX_SECONDS = float(np.floor(pd.Timestamp.max.value / 1e9))
MAX_SHOWN = 5
DATE_EXAMPLE = "date strings such as '2020-03-01'"


def parse_times(values, column=None, argument="X", unit="days"):
    """Times as float days (or seconds), and whether they were dates.

    Args:
        values: the times: a Series (or array-like) of datetimes, date strings
            or numbers.
        column: the name of the column `values` came from, for messages; None
            when `values` is an argument of its own.
        argument: the argument that held `values` (e.g. "X").
        unit: "days" or "seconds": the unit of the numbers returned, and the
            unit numbers in `values` are taken to be in.

    Returns:
        `(times, is_datetime)`: `times` is a float64 array, in `unit`s since
        1970-01-01 UTC for dates (a time zone is converted to UTC, naive
        times are taken as UTC) and the numbers themselves otherwise;
        `is_datetime` says whether `values` held dates.

    Raises:
        ValueError: for missing, unreadable or out-of-range times, booleans,
            numbers mixed with dates, times with and without a time zone,
            or an unknown `unit`.
    """
    if unit not in SECONDS_PER_UNIT:
        raise ValueError(f"`unit` must be one of {list(SECONDS_PER_UNIT)}. Received: unit={unit!r}")
    values = _series(values)
    where = _where(column, argument)
    expected = f"expected datetimes, {DATE_EXAMPLE}, or numbers of {unit}"
    _check_present(values, where)
    if values.dtype == object and len(values) and values.map(is_number).all():
        values = values.astype(np.float64)
    if values.dtype.kind in "iuf":
        times = values.to_numpy(dtype=np.float64)
        limit = MAX_SECONDS / SECONDS_PER_UNIT[unit]
        bad = ~(np.abs(times) <= limit)  # Infinite or beyond the span of dates.
        if bad.any():
            examples = pd.unique(times[bad])[:3].tolist()
            raise ValueError(
                f"{where} has numeric times {examples} outside +-{limit:.6g} {unit} "
                f"(the years 1677 to 2262 from 1970-01-01); {expected}."
            )
        return times, False
    parsed = _datetimes(values, where, expected)
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds = (parsed - pd.Timestamp(0)).dt.total_seconds().to_numpy(dtype=np.float64)
    return seconds / SECONDS_PER_UNIT[unit], True


def to_datetimes(values, column=None, argument="X"):
    """Dates as a pandas datetime Series; numbers are refused.

    Args:
        values: a Series (or array-like) of datetimes or date strings.
        column: the name of the column `values` came from, for messages; None
            when `values` is an argument of its own.
        argument: the argument that held `values` (e.g. "timestamps").

    Returns:
        A datetime64 Series with the index of `values`: naive when the times
        had no time zone, in their zone when they shared one, in UTC when
        their UTC offsets differ.

    Raises:
        ValueError: for missing, unreadable or out-of-range times, numbers,
            booleans, or times with and without a time zone.
    """
    values = _series(values)
    where = _where(column, argument)
    expected = f"expected datetimes or {DATE_EXAMPLE}"
    _check_present(values, where)
    if values.dtype.kind in "iufc" or (
        values.dtype == object and len(values) and values.map(is_number).all()
    ):
        raise ValueError(
            f"{where} holds numbers (dtype {values.dtype}); {expected}. Convert numbers "
            "first, e.g. `pd.to_datetime(seconds, unit='s')`."
        )
    return _datetimes(values, where, expected)


def is_number(value):
    """Whether `value` is a real number (booleans are not)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _series(values):
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, pd.Index):
        return values.to_series(index=pd.RangeIndex(len(values)))
    return pd.Series(values)


def _where(column, argument):
    return f"`{argument}`" if column is None else f"Column {column!r} of `{argument}`"


def _check_present(values, where):
    absent = values.isna().to_numpy(dtype=bool)
    if absent.any():
        rows = f" (rows {values.index[absent][:MAX_SHOWN].tolist()})" if len(values) > 1 else ""
        raise ValueError(
            f"{where} has {int(absent.sum())} missing times{rows}; every row needs a time."
        )


def _datetimes(values, where, expected):
    """`values` (present, not numbers) as datetimes, or a ValueError starting with `where`."""
    if values.dtype.kind == "b":
        raise ValueError(f"{where} holds booleans; {expected}.")
    if values.dtype.kind == "M":
        parsed = values
    else:
        if values.dtype == object:
            number = values.map(is_number).to_numpy(dtype=bool)
            if number.any():  # pandas would guess what numbers among dates mean.
                examples = values[number].map(str).unique()[:3].tolist()
                raise ValueError(
                    f"{where} mixes numbers {examples} with dates; {expected}, not a mix."
                )
        try:
            parsed = _parse(values, utc=False)
        except (TypeError, ValueError, OverflowError):  # Different UTC offsets.
            parsed = None
        if parsed is None or parsed.dtype.kind != "M" or parsed.isna().any():
            parsed = _parse(values, utc=True)  # Any offsets; naive times taken as UTC.
            bad = parsed.isna().to_numpy(dtype=bool)
            if bad.any():
                examples = values[bad].map(str).unique()[:3].tolist()
                raise ValueError(
                    f"{where} has {int(bad.sum())} values that could not be parsed as dates: "
                    f"{examples}; {expected}."
                )
            _check_one_kind_of_zone(values, where)
    utc = parsed if parsed.dt.tz is None else parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = ((utc < pd.Timestamp.min) | (utc > pd.Timestamp.max)).to_numpy(dtype=bool)
    if bad.any():
        examples = values[bad].map(str).unique()[:3].tolist()
        raise ValueError(
            f"{where} has dates {examples} outside the years 1677 to 2262; {expected}."
        )
    return parsed


def _parse(values, utc):
    """ISO 8601 when every value is, else each value by its own format; NaT where unreadable."""
    parsed = pd.to_datetime(values, errors="coerce", format="ISO8601", utc=utc)
    if parsed.isna().any():
        parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=utc)
    return parsed


def _check_one_kind_of_zone(values, where):
    """Refuses a mix of times with and without a time zone (read one by one: a rare path)."""
    examples = {}
    for value in pd.unique(values.to_numpy(dtype=object)):
        try:
            examples.setdefault(pd.Timestamp(value).tzinfo is not None, value)
        except (TypeError, ValueError, OverflowError):
            continue
        if len(examples) == 2:
            raise ValueError(
                f"{where} mixes times with a time zone ({str(examples[True])!r}) and without "
                f"one ({str(examples[False])!r}); give every time a zone, or none."
            )
