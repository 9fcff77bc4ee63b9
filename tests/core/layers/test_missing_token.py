import numpy as np
from keras import ops

from core.layers.missing_token import MissingToken
from tests.layer_test_case import run_layer_test

TOKENS = np.arange(12, dtype="float32").reshape(3, 4)


def test_layer_contract():
    run_layer_test(
        MissingToken,
        {},
        TOKENS,
        (3, 4),
        call_kwargs={"present": np.array([True, False, True])},
    )


def test_missing_rows_get_the_learned_token_and_present_rows_keep_theirs():
    layer = MissingToken()
    layer.build((None, 4))
    layer.missing.assign(np.full(4, 7.0, "float32"))
    out = ops.convert_to_numpy(layer(TOKENS, np.array([True, False, True])))
    np.testing.assert_array_equal(out[[0, 2]], TOKENS[[0, 2]])
    np.testing.assert_array_equal(out[1], np.full(4, 7.0))


def test_a_padding_mask_marks_a_row_present_when_any_step_is():
    layer = MissingToken()
    layer.build((None, 4))
    layer.missing.assign(np.full(4, -1.0, "float32"))
    mask = np.array([[True, False], [False, False], [False, True]])
    out = ops.convert_to_numpy(layer(TOKENS, mask))
    np.testing.assert_array_equal(out[1], np.full(4, -1.0))
    np.testing.assert_array_equal(out[[0, 2]], TOKENS[[0, 2]])
