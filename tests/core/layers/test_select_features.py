import numpy as np
import pytest

from core.layers import SelectFeatures
from tests.layer_test_case import run_layer_test


def test_layer_basics_and_order():
    tokens = np.arange(2 * 4 * 3, dtype="float32").reshape(2, 4, 3)
    layer = run_layer_test(
        SelectFeatures, {"indices": [3, 0]}, tokens, (2, 2, 3), run_training_check=False
    )
    np.testing.assert_array_equal(np.asarray(layer(tokens)), tokens[:, [3, 0]])


def test_columns_of_a_matrix():
    matrix = np.arange(10, dtype="float32").reshape(2, 5)
    np.testing.assert_array_equal(np.asarray(SelectFeatures([1, 4])(matrix)), matrix[:, [1, 4]])


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"indices": []}, "indices"), ({"indices": [0], "axis": 0}, "axis")]
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SelectFeatures(**kwargs)
