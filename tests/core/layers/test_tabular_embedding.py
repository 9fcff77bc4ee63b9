import keras
import numpy as np
import pytest

from core.layers import TabularEmbedding
from tests.layer_test_case import run_layer_test

# 2 numeric values and their 2 missing indicators; codes for columns of 4 and 3 codes.
NUMERIC = np.array(
    [[0.5, -1.0, 0.0, 0.0], [0.0, 2.0, 1.0, 0.0], [-0.3, 0.0, 0.0, 1.0]], dtype="float32"
)
CODES = np.array([[2, 1], [3, 2], [0, 0]], dtype="int32")
INPUTS = {"numeric": NUMERIC, "categorical": CODES}


def _weights(layer, name):
    return keras.ops.convert_to_numpy(getattr(layer, name))


def test_layer_basics():
    run_layer_test(
        TabularEmbedding,
        {"num_numeric": 2, "categorical_cardinalities": [4, 3], "embedding_dim": 4},
        INPUTS,
        (3, 4, 4),
    )


def test_numeric_only():
    run_layer_test(
        TabularEmbedding,
        {"num_numeric": 2, "categorical_cardinalities": [], "embedding_dim": 3},
        {"numeric": NUMERIC},
        (3, 2, 3),
        run_training_check=False,
    )


def test_categorical_only():
    run_layer_test(
        TabularEmbedding,
        {"num_numeric": 0, "categorical_cardinalities": [4, 3], "embedding_dim": 3},
        {"categorical": CODES},
        (3, 2, 3),
        run_training_check=False,
    )


def test_numeric_token_is_affine_plus_missing_embedding():
    layer = TabularEmbedding(2, [4, 3], embedding_dim=4)
    output = keras.ops.convert_to_numpy(layer(INPUTS))
    kernel = _weights(layer, "numeric_kernel")
    bias = _weights(layer, "numeric_bias")
    missing = _weights(layer, "missing_embeddings")
    values, flags = NUMERIC[:, :2], NUMERIC[:, 2:4]
    expected = values[:, :, None] * kernel + bias + flags[:, :, None] * missing
    np.testing.assert_allclose(output[:, :2], expected, rtol=1e-6, atol=1e-6)


def test_categorical_codes_look_up_own_column_rows():
    layer = TabularEmbedding(1, [4, 3], embedding_dim=2)
    # Column 0 owns table rows 0..3, column 1 rows 4..6.
    codes = np.array([[0, 0], [3, 2], [2, 1]], dtype="int32")
    inputs = {"numeric": np.zeros((3, 2), "float32"), "categorical": codes}
    output = keras.ops.convert_to_numpy(layer(inputs))[:, 1:]
    table = _weights(layer, "categorical_embeddings")
    bias = _weights(layer, "categorical_bias")
    rows = codes + np.array([0, 4])
    np.testing.assert_allclose(output, table[rows] + bias, atol=1e-6)


def test_invalid_codes_go_to_unknown_slot():
    layer = TabularEmbedding(0, [3], embedding_dim=2)
    codes = np.array([[3], [70_000_000], [-1], [1]], dtype="int32")  # Above 2**24 too.
    output = keras.ops.convert_to_numpy(layer({"categorical": codes}))
    unknown = _weights(layer, "categorical_embeddings")[1] + _weights(layer, "categorical_bias")[0]
    for row in output:
        np.testing.assert_allclose(row[0], unknown, atol=1e-6)
    missing = keras.ops.convert_to_numpy(layer({"categorical": np.zeros((1, 1), "int32")}))[0, 0]
    assert not np.allclose(missing, unknown)


def test_large_codes_survive_mixed_precision():
    # Integer codes are never autocast: bfloat16 could not even hold 299.
    layer = TabularEmbedding(1, [300], embedding_dim=4, dtype="mixed_bfloat16")
    output = layer(
        {"numeric": np.array([[0.5, 0.0]], "float32"), "categorical": np.array([[299]], "int32")}
    )
    assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
    token = keras.ops.convert_to_numpy(keras.ops.cast(output, "float32"))[0, 1]
    table = _weights(layer, "categorical_embeddings")
    expected = table[299] + _weights(layer, "categorical_bias")[0]
    np.testing.assert_allclose(token, expected, atol=2e-2)
    assert not np.allclose(token, table[1] + _weights(layer, "categorical_bias")[0], atol=2e-2)


def test_events_of_a_sequence_keep_their_axis():
    layer = TabularEmbedding(2, [4, 3], embedding_dim=4)
    flat = keras.ops.convert_to_numpy(layer(INPUTS))
    stacked = {name: np.stack([array, array[::-1]], axis=1) for name, array in INPUTS.items()}
    tokens = keras.ops.convert_to_numpy(layer(stacked))
    assert tokens.shape == (3, 2, 4, 4)
    np.testing.assert_allclose(tokens[:, 0], flat, atol=1e-6)
    np.testing.assert_allclose(tokens[:, 1], flat[::-1], atol=1e-6)


def test_compute_output_shape():
    layer = TabularEmbedding(3, [5], embedding_dim=6)
    shapes = {"numeric": (None, 6), "categorical": (None, 1)}
    assert layer.compute_output_shape(shapes) == (None, 4, 6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"num_numeric": -1},
            "`num_numeric` must be a non-negative integer. Received: num_numeric=-1",
        ),
        ({"num_numeric": 1.5}, "`num_numeric` must be a non-negative integer"),
        ({"categorical_cardinalities": [4, 1]}, "must be an integer >= 2"),
        ({"categorical_cardinalities": 4}, "`categorical_cardinalities` must be a list"),
        (
            {"embedding_dim": 0},
            "`embedding_dim` must be a positive integer. Received: embedding_dim=0",
        ),
        ({"num_numeric": 0, "categorical_cardinalities": []}, "needs at least one feature"),
    ],
)
def test_invalid_arguments(kwargs, message):
    args = {"num_numeric": 2, "categorical_cardinalities": [4], "embedding_dim": 4, **kwargs}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        TabularEmbedding(**args)


@pytest.mark.parametrize(
    "inputs",
    [
        np.zeros((2, 5), "float32"),  # One packed matrix: columns by position, refused.
        {"numeric": np.zeros((2, 4), "float32")},  # The codes are missing.
        {"numeric": np.zeros((2, 3), "float32"), "categorical": np.zeros((2, 1), "int32")},
        {"numeric": np.zeros((2, 4), "float32"), "codes": np.zeros((2, 1), "int32")},
    ],
)
def test_wrong_inputs_are_named_in_the_error(inputs):
    layer = TabularEmbedding(2, [4], embedding_dim=4)
    with pytest.raises(
        ValueError, match=r"expects a dict of inputs \{'numeric': 4, 'categorical': 1\}"
    ):
        layer(inputs)
