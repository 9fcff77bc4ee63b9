import keras
import numpy as np
import pytest

from core.layers import ResidualBlock
from tests.layer_test_case import run_layer_test


def _images(shape=(2, 6, 6, 3), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_layer_basics_identity_shortcut():
    layer = run_layer_test(ResidualBlock, {"filters": 3}, _images(), (2, 6, 6, 3))
    assert layer.shortcut_conv is None


def test_layer_basics_projection_shortcut():
    layer = run_layer_test(
        ResidualBlock, {"filters": 4, "strides": 2, "dropout": 0.1}, _images(), (2, 3, 3, 4)
    )
    assert layer.shortcut_conv is not None


def test_identity_path_is_added():
    layer = ResidualBlock(3)
    x = np.abs(_images())
    layer(x)
    for conv in (layer.conv1, layer.conv2):  # F(x) = 0: the block passes relu(x) through.
        conv.kernel.assign(np.zeros(conv.kernel.shape))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=False)), x, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"filters": 0}, "filters"),
        ({"filters": 2, "strides": 3}, "strides"),
        ({"filters": 2, "dropout": 1.0}, "dropout"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResidualBlock(**kwargs)
