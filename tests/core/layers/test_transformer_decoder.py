import keras
import numpy as np
import pytest
import tensorflow as tf

from core.layers import TransformerDecoder
from tests.layer_test_case import run_layer_test

MASK = np.array([[True, True, True, False, False], [True, True, True, True, True]])


def _inputs(shape=(2, 5, 8), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _layer(**kwargs):
    return TransformerDecoder(**{"intermediate_dim": 16, "num_heads": 2, **kwargs})


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_layer_basics_with_keras_mask():
    run_layer_test(
        TransformerDecoder,
        {"intermediate_dim": 16, "num_heads": 2},
        _inputs(),
        (2, 5, 8),
        mask=MASK,
        expected_output_mask=MASK,
    )


def test_layer_basics_with_padding_mask():
    run_layer_test(
        TransformerDecoder,
        {"intermediate_dim": 16, "num_heads": 2, "dropout": 0.1, "activation": "relu"},
        _inputs(),
        (2, 5, 8),
        call_kwargs={"padding_mask": MASK},
        run_training_check=False,
    )


def test_causality():
    layer = _layer()
    inputs = _inputs((2, 6, 8))
    outputs = _np(layer(inputs))
    # A random change (a constant shift would vanish in the layer normalization).
    delta = 5.0 * _inputs((2, 8), seed=1)
    for t in range(6):
        changed = inputs.copy()
        changed[:, t] += delta
        changed_outputs = _np(layer(changed))
        np.testing.assert_allclose(changed_outputs[:, :t], outputs[:, :t], atol=1e-6)
        assert not np.allclose(changed_outputs[:, t], outputs[:, t], atol=1e-3)
    # Later positions do see the change at an earlier one.
    changed = inputs.copy()
    changed[:, 0] += delta
    assert not np.allclose(_np(layer(changed))[:, 5], outputs[:, 5], atol=1e-3)


def _stale_cache(layer, batch_size, max_length):
    """A cache filled with noise, which positions not yet written must not affect."""
    cache = layer.initial_cache(batch_size, max_length)
    noise = np.random.default_rng(3).standard_normal(cache.shape).astype("float32")
    return keras.ops.convert_to_tensor(100.0 * noise)


@pytest.mark.parametrize("prefix_length", [1, 3])
def test_cache_matches_full_call(prefix_length):
    layer = _layer()
    inputs = _inputs((2, 6, 8))
    expected = _np(layer(inputs))
    assert layer.initial_cache(2, 8).shape == (2, 2, 8, 2, 4)

    cache = _stale_cache(layer, 2, 8)
    outputs, cache = layer(inputs[:, :prefix_length], cache=cache, cache_update_index=0)
    pieces = [_np(outputs)]
    for index in range(prefix_length, 6):
        outputs, cache = layer(inputs[:, index : index + 1], cache=cache, cache_update_index=index)
        assert tuple(outputs.shape) == (2, 1, 8)
        pieces.append(_np(outputs))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), expected, atol=1e-5)
    # The cache holds the keys and values of the six written positions.
    key = _np(layer._key_dense(layer._attention_norm(inputs)))
    np.testing.assert_allclose(_np(cache)[:, 0, :6], key, atol=1e-5)


def test_cache_in_tf_function_traces_once():
    layer = _layer()
    inputs = _inputs((2, 6, 8))
    expected = _np(layer(inputs))

    @tf.function
    def step(x, cache, index):
        return layer(x, cache=cache, cache_update_index=index)

    cache = _stale_cache(layer, 2, 6)
    pieces = []
    for index in range(6):
        x = tf.constant(inputs[:, index : index + 1])
        outputs, cache = step(x, cache, tf.constant(index, dtype="int32"))
        pieces.append(_np(outputs))
    assert step.experimental_get_tracing_count() == 1
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), expected, atol=1e-5)


def test_padding():
    layer = _layer()
    inputs = _inputs((2, 5, 8))
    short = _np(layer(inputs[:1, :3]))
    # Right padding: the real positions match the unpadded shorter row.
    padded = inputs.copy()
    padded[0, 3:] = 100.0
    outputs = _np(layer(padded, padding_mask=MASK))
    assert np.all(np.isfinite(outputs))
    np.testing.assert_allclose(outputs[0, :3], short[0], atol=1e-5)
    # Left padding only works through the mask (the block has no positions).
    left = np.concatenate([np.full((1, 2, 8), 100.0, "float32"), inputs[:1, :3]], axis=1)
    left_mask = np.array([[False, False, True, True, True]])
    np.testing.assert_allclose(_np(layer(left, padding_mask=left_mask))[0, 2:], short[0], atol=1e-5)
    assert not np.allclose(_np(layer(left))[0, 2:], short[0], atol=1e-3)
    # The Keras mask and an integer padding mask act like the boolean one.
    np.testing.assert_allclose(_np(layer(padded, mask=MASK)), outputs, atol=1e-6)
    np.testing.assert_allclose(
        _np(layer(padded, padding_mask=MASK.astype("int32"))), outputs, atol=1e-6
    )
    # A row that is all padding stays finite.
    empty = np.array([[False] * 5, [True] * 5])
    assert np.all(np.isfinite(_np(layer(inputs, padding_mask=empty))))


def test_cache_with_padding_mask_over_the_cache():
    layer = _layer()
    inputs = _inputs((2, 6, 8))
    padding_mask = np.array([[False, False, True, True, True, True], [True] * 6])
    expected = _np(layer(inputs, padding_mask=padding_mask))
    cache = _stale_cache(layer, 2, 6)
    outputs, cache = layer(
        inputs[:, :3], padding_mask=padding_mask, cache=cache, cache_update_index=0
    )
    pieces = [_np(outputs)]
    for index in range(3, 6):
        outputs, cache = layer(
            inputs[:, index : index + 1],
            padding_mask=padding_mask,
            cache=cache,
            cache_update_index=index,
        )
        pieces.append(_np(outputs))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), expected, atol=1e-5)


def test_symbolic_call_with_cache():
    layer = _layer()
    inputs = keras.Input((1, 8))
    cache = keras.Input((2, 6, 2, 4))
    outputs, new_cache = layer(inputs, cache=cache, cache_update_index=0)
    assert tuple(outputs.shape) == (None, 1, 8)
    assert tuple(new_cache.shape) == (None, 2, 6, 2, 4)


def test_dropout_only_in_training():
    layer = _layer(dropout=0.5)
    inputs = _inputs()
    first = _np(layer(inputs, training=False))
    np.testing.assert_allclose(_np(layer(inputs)), first, atol=1e-6)
    assert not np.allclose(_np(layer(inputs, training=True)), first)


def test_hidden_size_not_divisible_by_heads():
    with pytest.raises(ValueError, match="hidden size=5, num_heads=2"):
        _layer()(_inputs((2, 3, 5)))


def test_invalid_cache_arguments():
    layer = _layer()
    inputs = _inputs((2, 1, 8))
    layer(inputs)
    with pytest.raises(ValueError, match="`cache` and `cache_update_index` must be given together"):
        layer(inputs, cache=layer.initial_cache(2, 4))
    with pytest.raises(ValueError, match="`cache_update_index` must be given together"):
        layer(inputs, cache_update_index=0)
    with pytest.raises(ValueError, match=r"Received: cache.shape=\(2, 2, 4, 4, 2\)"):
        layer(inputs, cache=np.zeros((2, 2, 4, 4, 2), "float32"), cache_update_index=0)
    with pytest.raises(ValueError, match=r"Received: padding_mask.shape=\(2, 1\)"):
        layer(
            inputs,
            padding_mask=np.ones((2, 1), bool),
            cache=layer.initial_cache(2, 4),
            cache_update_index=0,
        )
    with pytest.raises(ValueError, match="`hidden_dim` must be given"):
        _layer().initial_cache(2, 4)


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
        _layer(**kwargs)
