import keras
import numpy as np
import pytest

from core.layers import TokenAndPositionEmbedding
from tests.layer_test_case import run_layer_test

TOKENS = np.array([[3, 7, 2, 0, 0], [5, 5, 9, 1, 4]], dtype="int32")
KWARGS = {"vocabulary_size": 10, "sequence_length": 5, "embedding_dim": 4}


def test_layer_basics():
    run_layer_test(
        TokenAndPositionEmbedding,
        KWARGS,
        TOKENS,
        (2, 5, 4),
        expected_output_mask=TOKENS != 0,
    )


def test_output_is_token_plus_position():
    layer = TokenAndPositionEmbedding(**KWARGS)
    short = TOKENS[:, :3]
    output = keras.ops.convert_to_numpy(layer(short))
    table = keras.ops.convert_to_numpy(layer.token_embeddings.embeddings)
    positions = keras.ops.convert_to_numpy(layer.position_embeddings)
    np.testing.assert_allclose(output, table[short] + positions[:3], atol=1e-6)


def test_same_token_differs_by_position():
    layer = TokenAndPositionEmbedding(**KWARGS)
    output = keras.ops.convert_to_numpy(layer(np.array([[5, 5, 5]])))
    assert not np.allclose(output[0, 0], output[0, 1])
    assert not np.allclose(output[0, 1], output[0, 2])


def test_mask():
    layer = TokenAndPositionEmbedding(**KWARGS)
    mask = keras.ops.convert_to_numpy(layer.compute_mask(TOKENS))
    np.testing.assert_array_equal(mask, TOKENS != 0)
    unmasked = TokenAndPositionEmbedding(**KWARGS, mask_zero=False)
    unmasked(TOKENS)
    assert unmasked.compute_mask(TOKENS) is None


def test_token_embeddings_property():
    layer = TokenAndPositionEmbedding(**KWARGS)
    layer(TOKENS)
    assert isinstance(layer.token_embeddings, keras.layers.Embedding)
    assert tuple(layer.token_embeddings.embeddings.shape) == (10, 4)


def test_variable_length_in_compiled_model():
    inputs = keras.Input(shape=(None,), dtype="int32")
    model = keras.Model(inputs, TokenAndPositionEmbedding(**KWARGS)(inputs))
    assert model.predict(TOKENS[:, :2], verbose=0).shape == (2, 2, 4)
    assert model.predict(TOKENS, verbose=0).shape == (2, 5, 4)


def test_input_longer_than_sequence_length():
    layer = TokenAndPositionEmbedding(**KWARGS)
    with pytest.raises(ValueError, match="input length=6, sequence_length=5"):
        layer(np.ones((2, 6), "int32"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vocabulary_size": 0}, "`vocabulary_size` must be a positive integer"),
        ({"sequence_length": None}, "`sequence_length` must be a positive integer"),
        (
            {"embedding_dim": -2},
            "`embedding_dim` must be a positive integer. Received: embedding_dim=-2",
        ),
        ({"mask_zero": "true"}, "`mask_zero` must be a boolean"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TokenAndPositionEmbedding(**{**KWARGS, **kwargs})


def test_reverse_maps_hidden_states_to_logits_with_the_same_matrix():
    layer = TokenAndPositionEmbedding(10, sequence_length=5, embedding_dim=4)
    layer(np.array([[1, 2]]))
    hidden = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    logits = keras.ops.convert_to_numpy(layer(hidden, reverse=True))
    matrix = keras.ops.convert_to_numpy(layer.token_embeddings.embeddings)
    np.testing.assert_allclose(logits, hidden @ matrix.T, rtol=1e-5, atol=1e-6)
    ids = keras.Input((None,), dtype="int32")
    model = keras.Model(ids, layer(layer(ids), reverse=True))
    assert model.output_shape == (None, None, 10)
