import keras
import numpy as np

from core.layers import DropMask, LSTMEncoder
from tests.layer_test_case import run_layer_test

MASK = np.array([[True, True, False], [True, False, False]])


def test_layer_basics():
    inputs = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")
    layer = run_layer_test(DropMask, {}, inputs, (2, 3, 4), run_training_check=False)
    assert layer.compute_mask(inputs, MASK) is None
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(inputs, mask=MASK)), inputs)


def test_ends_a_mask_without_a_warning():
    inputs = keras.Input((3, 4))
    mask = keras.Input((3,), dtype="bool")
    states = LSTMEncoder(2, return_sequences=True)(inputs, mask=mask)
    # Reshape does not support masking: without DropMask this warns (an error under pytest).
    flat = keras.layers.Reshape((6,))(DropMask()(states))
    model = keras.Model([inputs, mask], flat)
    assert model([np.ones((2, 3, 4)), MASK]).shape == (2, 6)
