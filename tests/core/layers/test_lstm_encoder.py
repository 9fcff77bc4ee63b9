import keras
import numpy as np
import pytest

from core.layers import LSTMEncoder
from tests.layer_test_case import run_layer_test

MASK = np.array([[True, True, True, False, False], [True, True, True, True, True]])


def _inputs(shape=(2, 5, 3), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_layer_basics_final_state():
    layer = run_layer_test(LSTMEncoder, {"units": 4}, _inputs(), (2, 4), mask=MASK)
    assert layer.compute_mask(_inputs(), MASK) is None


def test_layer_basics_bidirectional_sequences():
    run_layer_test(
        LSTMEncoder,
        {"units": 3, "bidirectional": True, "return_sequences": True, "dropout": 0.1},
        _inputs(),
        (2, 5, 6),
        mask=MASK,
        expected_output_mask=MASK,
    )


@pytest.mark.parametrize("bidirectional", [False, True])
def test_masked_trailing_steps_match_shorter_sequence(bidirectional):
    layer = LSTMEncoder(3, bidirectional=bidirectional)
    inputs = _inputs()
    padded = keras.ops.convert_to_numpy(layer(inputs, mask=MASK))
    short = keras.ops.convert_to_numpy(layer(inputs[:1, :3]))
    assert padded.shape == (2, 6 if bidirectional else 3)
    np.testing.assert_allclose(padded[0], short[0], atol=1e-6)
    # Without the mask the padding steps do count.
    assert not np.allclose(keras.ops.convert_to_numpy(layer(inputs))[0], short[0], atol=1e-4)


def test_output_dim_and_shape():
    assert LSTMEncoder(4).output_dim == 4
    assert LSTMEncoder(4, bidirectional=True).output_dim == 8
    layer = LSTMEncoder(4, bidirectional=True, return_sequences=True)
    assert layer.compute_output_shape((None, 7, 2)) == (None, 7, 8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"units": 0}, "`units` must be a positive integer. Received: units=0"),
        ({"bidirectional": "yes"}, "`bidirectional` must be a boolean"),
        ({"return_sequences": 1}, "`return_sequences` must be a boolean"),
        ({"dropout": -0.1}, r"`dropout` must be a float in \[0, 1\)"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSTMEncoder(**{"units": 4, **kwargs})
