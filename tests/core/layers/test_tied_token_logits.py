import keras
import numpy as np
import pytest
import tensorflow as tf

from core.layers.tied_token_logits import TiedTokenLogits
from tests.layer_test_case import run_layer_test

VOCABULARY = 10


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _hidden(shape=(2, 5, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _embedding(dim=4):
    embedding = keras.layers.Embedding(VOCABULARY, dim)
    embedding.build()
    return embedding


def _random_bias(layer, seed=1):
    bias = np.random.default_rng(seed).standard_normal(VOCABULARY).astype("float32")
    layer.bias.assign(bias)
    return bias


@pytest.mark.parametrize("transform", [False, True])
def test_layer_basics(transform):
    run_layer_test(
        TiedTokenLogits,
        {"token_embedding": keras.layers.Embedding(VOCABULARY, 4), "transform": transform},
        _hidden(),
        (2, 5, VOCABULARY),
    )


def test_layer_basics_with_positions():
    run_layer_test(
        TiedTokenLogits,
        {"token_embedding": keras.layers.Embedding(VOCABULARY, 4), "transform": False},
        _hidden(),
        (2, 3, VOCABULARY),
        call_kwargs={"positions": np.array([[0, 4, 2], [1, 1, 3]], dtype="int32")},
    )


def test_logits_without_transform_are_hidden_times_embedding_transpose():
    embedding = _embedding()
    layer = TiedTokenLogits(embedding, transform=False)
    hidden = _hidden()
    layer(hidden)
    bias = _random_bias(layer)
    matrix = _np(embedding.embeddings)
    expected = hidden @ matrix.T + bias
    np.testing.assert_allclose(_np(layer(hidden)), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("transform", [False, True])
def test_positions_gather_rows(transform):
    layer = TiedTokenLogits(_embedding(), transform=transform)
    hidden = _hidden()
    layer(hidden)
    _random_bias(layer)
    full = _np(layer(hidden))
    positions = np.array([[4, 0, 0], [2, 3, 1]], dtype="int32")
    expected = np.stack([full[0, [4, 0, 0]], full[1, [2, 3, 1]]])
    np.testing.assert_allclose(_np(layer(hidden, positions=positions)), expected, atol=1e-6)


def test_embedding_matrix_is_shared():
    embedding = _embedding()
    layer = TiedTokenLogits(embedding, transform=False)
    hidden = _hidden()
    before = _np(layer(hidden))
    new_matrix = np.random.default_rng(2).standard_normal((VOCABULARY, 4)).astype("float32")
    embedding.embeddings.assign(new_matrix)
    after = _np(layer(hidden))
    assert not np.allclose(after, before, atol=1e-3)
    np.testing.assert_allclose(after, hidden @ new_matrix.T, rtol=1e-6, atol=1e-6)
    # The embedding's matrix is one of the layer's weights, not a copy.
    assert any(w is embedding.embeddings for w in layer.trainable_weights)


@pytest.mark.parametrize("transform", [False, True])
def test_gradient_reaches_the_embedding(transform):
    embedding = _embedding()
    layer = TiedTokenLogits(embedding, transform=transform)
    hidden = tf.constant(_hidden())
    layer(hidden)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(hidden)))
    gradient = tape.gradient(loss, embedding.embeddings.value)
    assert gradient is not None
    assert np.abs(_np(gradient)).max() > 0


def test_transform_output_shape_with_other_hidden_size():
    layer = TiedTokenLogits(_embedding(dim=4), transform=True)
    assert _np(layer(_hidden((2, 5, 6)))).shape == (2, 5, VOCABULARY)
    positions = np.array([[0, 1], [2, 3]], dtype="int32")
    assert _np(layer(_hidden((2, 5, 6)), positions=positions)).shape == (2, 2, VOCABULARY)
    symbolic = layer(keras.Input((5, 6)), positions=keras.Input((2,), dtype="int32"))
    assert tuple(symbolic.shape) == (None, 2, VOCABULARY)


def test_hidden_size_mismatch_without_transform():
    layer = TiedTokenLogits(_embedding(dim=4), transform=False)
    with pytest.raises(ValueError, match="hidden size=6, embedding size=4"):
        layer(_hidden((2, 5, 6)))


def test_token_embedding_must_be_an_embedding():
    with pytest.raises(ValueError, match=r"`token_embedding` must be a keras\.layers\.Embedding"):
        TiedTokenLogits(keras.layers.Dense(4))


def test_serialize_deserialize_round_trip():
    layer = TiedTokenLogits(_embedding(), transform=True, layer_norm_epsilon=1e-3, name="head")
    hidden = _hidden()
    outputs = _np(layer(hidden))
    revived = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(revived) is TiedTokenLogits
    assert revived.get_config() == layer.get_config()
    assert revived.transform and revived.layer_norm_epsilon == 1e-3 and revived.name == "head"
    assert revived.token_embedding.input_dim == VOCABULARY
    assert revived.token_embedding.output_dim == 4
    # The revived layer builds its own (new) embedding; with the weights copied it agrees.
    revived(hidden)
    revived.set_weights(layer.get_weights())
    np.testing.assert_allclose(_np(revived(hidden)), outputs, atol=1e-6)
