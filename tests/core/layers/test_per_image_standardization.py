import keras
import numpy as np
import pytest

from core.layers import PerImageStandardization
from tests.layer_test_case import run_layer_test


def _images(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0, 1, size=(3, 4, 4, 2)) * [[[[1.0]]], [[[5.0]]], [[[0.1]]]]).astype(
        "float32"
    )


def test_layer_basics():
    run_layer_test(PerImageStandardization, {}, _images(), (3, 4, 4, 2), run_training_check=False)


def test_each_image_has_zero_mean_and_unit_variance():
    out = keras.ops.convert_to_numpy(PerImageStandardization()(_images()))
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1.0, atol=1e-3)


def test_brightness_and_contrast_are_removed():
    x = _images()[:1]
    layer = PerImageStandardization()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(3.0 * x + 0.5)),
        keras.ops.convert_to_numpy(layer(x)),
        atol=1e-4,
    )


def test_flat_image_stays_finite():
    out = keras.ops.convert_to_numpy(
        PerImageStandardization()(np.full((1, 2, 2, 1), 0.7, "float32"))
    )
    np.testing.assert_array_equal(out, 0.0)


def test_bad_epsilon():
    with pytest.raises(ValueError, match="epsilon"):
        PerImageStandardization(epsilon=0)
