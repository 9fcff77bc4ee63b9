import datetime

import numpy as np
import pandas as pd
import pytest

from core.data.time_values import MAX_SECONDS, parse_times, to_datetimes

DAY = 86400.0


def test_dates_become_days_or_seconds_since_1970_utc():
    values = pd.Series(["1970-01-02T00:00Z", "1970-01-03T12:00Z", "1970-01-02T01:00+01:00"])
    days, is_datetime = parse_times(values, "t")
    assert is_datetime
    np.testing.assert_allclose(days, [1.0, 2.5, 1.0])
    seconds, _ = parse_times(values, "t", unit="seconds")
    np.testing.assert_allclose(seconds, [DAY, 2.5 * DAY, DAY])


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(pd.to_datetime(["1970-01-02", "1970-01-04"])),
        pd.Series(pd.to_datetime(["1970-01-02 01:00", "1970-01-04 01:00"])).dt.tz_localize(
            "Europe/Paris"
        ),
        pd.Series([datetime.date(1970, 1, 2), datetime.date(1970, 1, 4)]),
        pd.Series(["Jan 2 1970", "1970-01-04"]),  # Not all ISO 8601: each by its own format.
        ["1970-01-02", "1970-01-04"],  # Any array-like.
    ],
)
def test_every_kind_of_date_is_read(values):
    days, is_datetime = parse_times(values, "t")
    assert is_datetime
    np.testing.assert_allclose(days, [1.0, 3.0])


def test_numbers_are_taken_as_the_unit():
    for values in (pd.Series([3, 1]), pd.Series([3.0, 1.0]), pd.Series([3, 1.0], dtype=object)):
        times, is_datetime = parse_times(values, "t", unit="seconds")
        assert not is_datetime
        np.testing.assert_array_equal(times, [3.0, 1.0])


def test_different_utc_offsets_are_converted_to_utc():
    summer_and_winter = pd.Series(["2024-03-30T10:00+01:00", "2024-04-01T10:00+02:00"])
    parsed = to_datetimes(summer_and_winter, "t")
    assert str(parsed.dt.tz) == "UTC"
    assert parsed.dt.hour.tolist() == [9, 8]
    # One zone is kept, so the caller can read other times in it.
    one_zone = to_datetimes(pd.Series(["2024-01-01T10:00+01:00"] * 2), "t")
    assert one_zone.dt.hour.tolist() == [10, 10]
    assert str(one_zone.dt.tz) == "UTC+01:00"


def test_index_is_kept():
    parsed = to_datetimes(pd.Series(["2024-01-01", "2024-01-02"], index=[7, 3]), "t")
    assert parsed.index.tolist() == [7, 3]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["2024-01-01", None], r"Column 't' of `X` has 1 missing times \(rows \[1\]\)"),
        ([1.0, np.nan], r"Column 't' of `X` has 1 missing times \(rows \[1\]\)"),
        (pd.Series([pd.NaT, pd.Timestamp(0)]), r"has 1 missing times \(rows \[0\]\)"),
        ([True, False], r"Column 't' of `X` holds booleans; expected datetimes"),
        (
            ["2024-01-01", "someday"],
            r"has 1 values that could not be parsed as dates: \['someday'\]",
        ),
        (
            np.array([5, "2020-01-01"], dtype=object),
            r"mixes numbers \['5'\] with dates; expected .*, not a mix",
        ),
        (
            ["2024-01-01T10:00", "2024-01-02T00:00+01:00"],
            r"mixes times with a time zone \('2024-01-02T00:00\+01:00'\) and without one",
        ),
        (
            [datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC), datetime.datetime(2024, 1, 2)],
            "mixes times with a time zone",
        ),
        (["3000-01-01", "2024-01-01"], r"has dates \['3000-01-01'\] outside the years 1677 to"),
        ([np.inf, 1.0], r"has numeric times \[inf\] outside \+-106752 days"),
        ([1e300], r"has numeric times \[1e\+300\] outside"),
    ],
)
def test_bad_times_name_the_column_and_the_argument(values, message):
    with pytest.raises(ValueError, match=message):
        parse_times(values, "t")


def test_the_range_of_numbers_follows_the_unit():
    assert parse_times([MAX_SECONDS], "t", unit="seconds")[0][0] == MAX_SECONDS
    with pytest.raises(ValueError, match="outside"):
        parse_times([MAX_SECONDS / DAY + 1], "t", unit="days")
    with pytest.raises(ValueError, match=r"`unit` must be one of \['seconds', 'days'\]"):
        parse_times([1.0], "t", unit="hours")


def test_to_datetimes_refuses_numbers_and_names_an_argument_alone():
    with pytest.raises(ValueError, match=r"`timestamps` holds numbers \(dtype int64\)"):
        to_datetimes([1_700_000_000, 1_700_086_400], argument="timestamps")
    with pytest.raises(ValueError, match=r"`when` holds numbers"):
        to_datetimes(pd.Series([1, 2], dtype=object), argument="when")
    # One value: no row numbers in the message.
    with pytest.raises(ValueError, match=r"^`when` has 1 missing times; every row"):
        to_datetimes([pd.NaT], argument="when")
