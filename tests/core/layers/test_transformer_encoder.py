import keras
import numpy as np
import pytest

from core.layers import TransformerEncoder
from tests.layer_test_case import run_layer_test

MASK = np.array([[True, True, True, False, False], [True, True, True, True, True]])


def _inputs(shape=(2, 5, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_layer_basics_with_keras_mask():
    run_layer_test(
        TransformerEncoder,
        {"intermediate_dim": 8, "num_heads": 2},
        _inputs(),
        (2, 5, 4),
        mask=MASK,
        expected_output_mask=MASK,
    )


def test_layer_basics_with_padding_mask():
    run_layer_test(
        TransformerEncoder,
        {"intermediate_dim": 8, "num_heads": 2, "dropout": 0.1, "activation": "relu"},
        _inputs(),
        (2, 5, 4),
        call_kwargs={"padding_mask": MASK},
        run_training_check=False,
    )


def test_padding_does_not_affect_unmasked_positions():
    keras.utils.set_random_seed(0)
    layer = TransformerEncoder(intermediate_dim=8, num_heads=2)
    inputs = _inputs()
    changed = inputs.copy()
    changed[0, 3:] = 100.0
    outputs = keras.ops.convert_to_numpy(layer(inputs, padding_mask=MASK))
    changed_outputs = keras.ops.convert_to_numpy(layer(changed, padding_mask=MASK))
    np.testing.assert_allclose(changed_outputs[MASK], outputs[MASK], atol=1e-5)
    # Without the mask the same change must leak into the real positions.
    unmasked = keras.ops.convert_to_numpy(layer(changed))
    assert not np.allclose(unmasked[0, :3], outputs[0, :3], atol=1e-3)
    # The Keras mask and an integer padding mask act like the boolean one.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(inputs, mask=MASK)), outputs, atol=1e-6
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(inputs, padding_mask=MASK.astype("int32"))),
        outputs,
        atol=1e-6,
    )


def test_residual_connections():
    layer = TransformerEncoder(intermediate_dim=8, num_heads=2)
    inputs = _inputs()
    layer(inputs)
    for dense in (layer._attention._output_dense, layer._feedforward_output):
        dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(inputs)), inputs, atol=1e-6)


def test_dropout_only_in_training():
    keras.utils.set_random_seed(0)
    layer = TransformerEncoder(intermediate_dim=8, num_heads=2, dropout=0.5)
    inputs = _inputs()
    first = keras.ops.convert_to_numpy(layer(inputs, training=False))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(inputs)), first, atol=1e-6)
    trained = keras.ops.convert_to_numpy(layer(inputs, training=True))
    assert not np.allclose(trained, first)


def test_fully_padded_row_is_finite():
    layer = TransformerEncoder(intermediate_dim=8, num_heads=2)
    mask = np.array([[False] * 5, [True] * 5])
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(layer(_inputs(), padding_mask=mask))))


def test_hidden_size_not_divisible_by_heads():
    layer = TransformerEncoder(intermediate_dim=8, num_heads=2)
    with pytest.raises(ValueError, match="hidden size=5, num_heads=2"):
        layer(_inputs((2, 3, 5)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_heads": 0}, "`num_heads` must be a positive integer. Received: num_heads=0"),
        ({"num_heads": 2.0}, "`num_heads` must be a positive integer"),
        ({"intermediate_dim": -4}, "`intermediate_dim` must be a positive integer"),
        ({"dropout": 1.0}, r"`dropout` must be a float in \[0, 1\). Received: dropout=1.0"),
        ({"layer_norm_epsilon": 0}, "`layer_norm_epsilon` must be a positive float"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerEncoder(**{"intermediate_dim": 8, "num_heads": 2, **kwargs})
