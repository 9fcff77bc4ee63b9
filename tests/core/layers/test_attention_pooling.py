import keras
import numpy as np

from core.layers import AttentionPooling
from tests.layer_test_case import run_layer_test

MASK = np.array([[True, True, False, False], [True, True, True, True], [False, True, False, False]])


def _inputs(shape=(3, 4, 3), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_layer_basics():
    layer = run_layer_test(AttentionPooling, {}, _inputs(), (3, 3), mask=MASK)
    assert layer.compute_mask(_inputs(), MASK) is None


def test_single_unmasked_step_is_returned():
    inputs = _inputs()
    pooled = _np(AttentionPooling()(inputs, mask=MASK))
    np.testing.assert_allclose(pooled[2], inputs[2, 1], atol=1e-6)


def test_weights_are_a_distribution_over_unmasked_steps():
    pooled, weights = AttentionPooling()(_inputs(), mask=MASK, return_attention_scores=True)
    weights = _np(weights)
    assert weights.shape == (3, 4)
    np.testing.assert_array_equal(weights[~MASK], 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(_np(pooled), np.einsum("bt,btd->bd", weights, _inputs()), atol=1e-6)


def test_equal_scores_give_masked_mean():
    layer = AttentionPooling()
    inputs = _inputs()
    layer(inputs)
    layer._score.set_weights([np.zeros_like(w) for w in layer._score.get_weights()])
    pooled = _np(layer(inputs, mask=MASK))
    expected = (inputs * MASK[:, :, None]).sum(axis=1) / MASK.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(pooled, expected, atol=1e-6)


def test_fully_masked_row_gives_zeros():
    mask = np.array([[False] * 4, [True] * 4, [True] * 4])
    pooled = _np(AttentionPooling()(_inputs(), mask=mask))
    assert np.all(np.isfinite(pooled))
    np.testing.assert_array_equal(pooled[0], 0.0)


def test_consumes_keras_mask_in_functional_model():
    tokens = np.array([[3, 4, 0, 0], [5, 0, 0, 0]])
    inputs = keras.Input(shape=(4,), dtype="int32")
    embedded = keras.layers.Embedding(10, 3, mask_zero=True)(inputs)
    pooled = AttentionPooling()(embedded)
    model = keras.Model(inputs, keras.layers.Dense(2)(pooled))
    assert getattr(pooled, "_keras_mask", None) is None
    embeddings = _np(model.layers[1].embeddings)
    # Row 1 has one real token, so the pooled vector is its embedding.
    pooling_model = keras.Model(inputs, pooled)
    np.testing.assert_allclose(_np(pooling_model(tokens))[1], embeddings[5], atol=1e-6)
    assert model.predict(tokens, verbose=0).shape == (2, 2)


def test_attention_scores_in_functional_model():
    inputs = keras.Input(shape=(4, 3))
    mask = keras.Input(shape=(4,), dtype="bool")
    pooled, weights = AttentionPooling()(inputs, mask=mask, return_attention_scores=True)
    assert tuple(pooled.shape) == (None, 3)
    assert tuple(weights.shape) == (None, 4)
    model = keras.Model([inputs, mask], [pooled, weights])
    _, weights = model([_inputs(), MASK])
    np.testing.assert_array_equal(_np(weights)[~MASK], 0.0)
