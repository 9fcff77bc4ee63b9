import keras
import numpy as np
import pytest

from core.layers import PatchEmbedding
from tests.layer_test_case import run_layer_test


def _images(shape=(2, 8, 8, 1), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_layer_basics():
    run_layer_test(PatchEmbedding, {"patch_size": 4, "embedding_dim": 5}, _images(), (2, 4, 5))


def test_each_token_sees_only_its_patch():
    layer = PatchEmbedding(4, 3)
    x = _images()
    before = keras.ops.convert_to_numpy(layer(x))
    x2 = x.copy()
    x2[:, :4, :4] += 10.0  # Top-left patch only.
    after = keras.ops.convert_to_numpy(layer(x2))
    assert not np.allclose(after[:, 0], before[:, 0])
    np.testing.assert_allclose(after[:, 1:], before[:, 1:], atol=1e-5)


def test_positions_distinguish_identical_patches():
    layer = PatchEmbedding(4, 3)
    tokens = keras.ops.convert_to_numpy(layer(np.ones((1, 8, 8, 1), "float32")))
    assert not np.allclose(tokens[0, 0], tokens[0, 1])


def test_image_size_must_be_a_multiple_of_the_patch():
    with pytest.raises(ValueError, match="multiple of `patch_size`"):
        PatchEmbedding(3, 4)(_images())


@pytest.mark.parametrize(
    "kwargs", [{"patch_size": 0, "embedding_dim": 2}, {"patch_size": 2, "embedding_dim": 0}]
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="positive integer"):
        PatchEmbedding(**kwargs)
