import keras
import numpy as np
import pytest
import tensorflow as tf

from core.explain import integrated_gradients


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_linear_function_attributions_are_exact():
    rng = _rng()
    w = rng.standard_normal(5).astype("float32")
    x = rng.standard_normal((4, 5)).astype("float32")
    b = rng.standard_normal(5).astype("float32")
    attributions = integrated_gradients(lambda t: tf.linalg.matvec(t, w), x, b, steps=4)
    assert attributions.shape == x.shape
    np.testing.assert_allclose(attributions, (x - b) * w, rtol=1e-5, atol=1e-5)


def test_separable_nonlinear_function_attributions():
    # For f(x) = sum_i sin(x_i), each attribution is sin(x_i) - sin(b_i).
    rng = _rng(1)
    x = rng.uniform(-2, 2, (3, 6)).astype("float32")
    attributions = integrated_gradients(
        lambda t: tf.reduce_sum(tf.sin(t), axis=-1), x, 0.0, steps=128
    )
    np.testing.assert_allclose(attributions, np.sin(x), atol=1e-3)


def test_completeness_for_a_small_keras_model():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )
    rng = _rng(2)
    x = rng.standard_normal((5, 4)).astype("float32") * 2
    b = np.zeros(4, dtype="float32")

    def f(t):
        return model(t)[:, 0]

    attributions = integrated_gradients(f, x, b, steps=128)
    gap = keras.ops.convert_to_numpy(f(x)) - keras.ops.convert_to_numpy(f(b[None]))
    assert np.abs(gap).max() > 0.05  # a non-trivial difference to explain
    np.testing.assert_allclose(attributions.sum(axis=1), gap, atol=1e-3)


def test_three_dimensional_inputs():
    rng = _rng(3)
    weights = rng.standard_normal((3, 4)).astype("float32")
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    b = rng.standard_normal(4).astype("float32")  # broadcast over batch and tokens
    linear = integrated_gradients(lambda t: tf.reduce_sum(t * weights, axis=(1, 2)), x, b, steps=4)
    assert linear.shape == (2, 3, 4)
    np.testing.assert_allclose(linear, (x - b) * weights, rtol=1e-5, atol=1e-5)

    def quartic(t):
        return tf.reduce_sum(tf.reduce_sum(t, axis=-1) ** 4 * weights[:, 0], axis=-1)

    attributions = integrated_gradients(quartic, x, b, steps=256)
    expected = (x.sum(-1) ** 4 * weights[:, 0]).sum(-1) - (
        np.broadcast_to(b, x.shape).sum(-1) ** 4 * weights[:, 0]
    ).sum(-1)
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), expected, rtol=1e-3, atol=1e-3)


def test_batching_does_not_change_the_result():
    rng = _rng(4)
    x = rng.standard_normal((7, 3)).astype("float32")

    def f(t):
        return tf.reduce_sum(tf.tanh(t) * tf.constant([1.0, -2.0, 0.5]), axis=-1)

    one_call = integrated_gradients(f, x, 0.0, steps=16, batch_size=4096)
    many_calls = integrated_gradients(f, x, 0.0, steps=16, batch_size=20)  # one row per call
    np.testing.assert_allclose(many_calls, one_call, rtol=1e-6, atol=1e-6)
    # Each row's attributions only depend on that row.
    np.testing.assert_allclose(
        integrated_gradients(f, x[3:4], 0.0, steps=16), one_call[3:4], rtol=1e-6, atol=1e-6
    )


def test_input_equal_to_baseline_gets_zero_attribution():
    x = _rng(5).standard_normal((2, 4)).astype("float32")
    attributions = integrated_gradients(lambda t: tf.reduce_sum(t**3, axis=-1), x, x, steps=8)
    np.testing.assert_array_equal(attributions, 0.0)


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_trapezoid_rule_is_exact_for_quadratics(steps):
    # The gradient of sum(x^2) is linear along the path, so even one interval is exact.
    x = np.array([[1.0, -2.0, 3.0]], dtype="float32")
    b = np.array([0.5, 0.5, 0.5], dtype="float32")
    attributions = integrated_gradients(lambda t: tf.reduce_sum(t**2, axis=-1), x, b, steps=steps)
    np.testing.assert_allclose(attributions, x**2 - b**2, rtol=1e-6)


def test_several_inputs_move_along_one_path():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 2)).astype("float32")
    w_a, w_b = np.array([1.0, -2.0, 0.5], "float32"), np.array([3.0, 1.0], "float32")

    def f(tensors):
        x, y = tensors
        # The product couples the two inputs, so a path moving them separately would differ.
        return tf.reduce_sum(x * w_a, axis=-1) * tf.reduce_sum(y * w_b, axis=-1)

    attr_a, attr_b = integrated_gradients(f, [a, b], [np.zeros(3), np.zeros(2)], steps=128)
    total = attr_a.sum(axis=1) + attr_b.sum(axis=1)
    np.testing.assert_allclose(total, f([a, b]).numpy(), rtol=1e-3, atol=1e-4)
    assert attr_a.shape == a.shape and attr_b.shape == b.shape


def test_context_arrays_stay_fixed_and_keep_their_integer_dtype():
    # f(x) = sum(x * w[ids]): the ids select the weights and never move along the path.
    weights = tf.constant([0.5, -2.0, 3.0, 7.0])
    seen = []

    def function(x, context):
        seen.append(context["ids"].dtype)
        return tf.reduce_sum(x * tf.gather(weights, context["ids"]), axis=1)

    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], dtype=np.float32)
    ids = np.array([[0, 1], [2, 3], [3, 3]], dtype=np.int32)
    attributions = integrated_gradients(
        function, x, np.zeros_like(x), steps=4, batch_size=10, context={"ids": ids}
    )
    np.testing.assert_allclose(attributions, x * weights.numpy()[ids], rtol=1e-5)
    assert set(seen) == {np.dtype(np.int32)}  # Every batch (of 2 rows x 5 points) got integer ids.
