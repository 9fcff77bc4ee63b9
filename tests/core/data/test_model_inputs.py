"""Row operations on one array or on a dict of named arrays, as the training schemes use them."""

import numpy as np
import pytest

from core.data import concatenate_rows, count_rows, repeat_rows, take_rows, tile_rows


def _named(n=4):
    return {
        "numeric": np.arange(2 * n, dtype=np.float32).reshape(n, 2),
        "categorical": np.arange(n, dtype=np.int32).reshape(n, 1) + 100,
    }


def test_rows_of_named_arrays_move_together_and_keep_their_dtypes():
    named = _named()
    picked = take_rows(named, np.array([3, 0]))
    np.testing.assert_array_equal(picked["numeric"], [[6, 7], [0, 1]])
    np.testing.assert_array_equal(picked["categorical"], [[103], [100]])
    assert picked["categorical"].dtype == np.int32
    assert count_rows(named) == 4 and count_rows(picked) == 2
    joined = concatenate_rows([picked, take_rows(named, slice(1, 2))])
    np.testing.assert_array_equal(joined["categorical"][:, 0], [103, 100, 101])


def test_repeat_and_tile_pair_every_row_with_every_reference():
    rows, references = take_rows(_named(), slice(0, 2)), take_rows(_named(), slice(2, 4))
    repeated, tiled = repeat_rows(rows, 2), tile_rows(references, 2)
    np.testing.assert_array_equal(repeated["categorical"][:, 0], [100, 100, 101, 101])
    np.testing.assert_array_equal(tiled["categorical"][:, 0], [102, 103, 102, 103])
    assert tiled["numeric"].shape == (4, 2)


def test_a_single_array_works_the_same_way():
    array = np.arange(6).reshape(3, 2)
    assert count_rows(array) == 3
    np.testing.assert_array_equal(take_rows(array, [2]), [[4, 5]])
    np.testing.assert_array_equal(repeat_rows(array, 2)[:, 0], [0, 0, 2, 2, 4, 4])
    np.testing.assert_array_equal(tile_rows(array[:1], 3), [[0, 1]] * 3)
    assert concatenate_rows([array, array]).shape == (6, 2)


def test_named_arrays_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match=r"same rows.*'numeric': 4.*'categorical': 3"):
        count_rows({"numeric": np.zeros((4, 2)), "categorical": np.zeros((3, 1))})
