"""check_frame: the type, the named columns and the rows of a table argument."""

import pandas as pd
import pytest

from core.data import check_frame


def test_a_frame_with_its_columns_passes_unchanged():
    frame = pd.DataFrame({"date": [1, 2]})
    assert check_frame(frame, "df", {"time_column": "date"}) is frame


def test_each_failure_names_the_argument_and_what_was_received():
    with pytest.raises(TypeError, match=r"`df` must be a pandas DataFrame. Received: list"):
        check_frame([1], "df")
    with pytest.raises(
        ValueError, match=r"`X` has no column 'day' \(`time_column`\); its columns are \['date'\]"
    ):
        check_frame(pd.DataFrame({"date": [1]}), "X", {"time_column": "day"})
    with pytest.raises(ValueError, match=r"`X` is empty \(0 events\)"):
        check_frame(pd.DataFrame({"date": []}), "X", {"time_column": "date"}, what="events")
