"""Shared checks that every custom layer's test runs with a tiny config."""

import json
import os
import tempfile

import keras
import numpy as np
from keras import ops

ATOL = 1e-6


def _call(layer, inputs, call_kwargs, mask):
    kwargs = dict(call_kwargs)
    if mask is not None:
        kwargs["mask"] = mask
    return layer(inputs, training=False, **kwargs)


def _as_input(name, value):
    value = np.asarray(value)
    return keras.Input(shape=value.shape[1:], dtype=str(value.dtype), name=name)


def _perturb_masked(input_data, mask, rng):
    """Returns `input_data` with new values wherever `mask` is False."""
    mask = np.asarray(mask, dtype=bool)
    mask = mask.reshape(mask.shape + (1,) * (input_data.ndim - mask.ndim))
    if np.issubdtype(input_data.dtype, np.integer):
        noise = rng.integers(1, max(int(input_data.max()), 1) + 1, size=input_data.shape)
    else:
        noise = 10.0 * rng.standard_normal(input_data.shape)
    return np.where(mask, input_data, noise.astype(input_data.dtype))


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    *,
    call_kwargs=None,
    mask=None,
    expected_output_mask=None,
    run_training_check=True,
):
    """Runs the checks every layer must pass and returns the built layer.

    Args:
        layer_cls: The layer class under test.
        init_kwargs: dict of constructor arguments.
        input_data: numpy array passed as the layer's first input, or a dict
            of named arrays for a layer that takes named inputs.
        expected_output_shape: tuple, the exact output shape.
        call_kwargs: dict of extra call arguments. Array values become extra
            model inputs in the save/load round trip.
        mask: optional boolean array `(batch, seq)` passed as `mask`. When
            given, inputs at masked positions are changed and the outputs at
            unmasked positions (or the whole output, if it has no sequence
            axis) must stay the same.
        expected_output_mask: optional array; `compute_mask` must return it.
        run_training_check: whether to fit one step and check that every
            trainable weight receives a gradient.

    Returns:
        The layer under test, built and called once.
    """
    call_kwargs = dict(call_kwargs or {})
    named = isinstance(input_data, dict)
    input_data = (
        {k: np.asarray(v) for k, v in input_data.items()} if named else np.asarray(input_data)
    )
    keras.utils.set_random_seed(1337)

    layer = layer_cls(**init_kwargs)
    output = _call(layer, input_data, call_kwargs, mask)
    output_np = ops.convert_to_numpy(output)
    assert tuple(output_np.shape) == tuple(expected_output_shape), (
        f"Expected output shape {tuple(expected_output_shape)}, got {output_np.shape}"
    )
    assert np.all(np.isfinite(output_np)), "Layer output contains NaN or inf."

    if expected_output_mask is not None:
        output_mask = layer.compute_mask(input_data, mask)
        assert output_mask is not None, "Expected an output mask, got None."
        np.testing.assert_array_equal(
            ops.convert_to_numpy(output_mask), np.asarray(expected_output_mask)
        )

    # Config round trip: same config, and same outputs once weights are copied.
    config = layer.get_config()
    json.dumps(config)
    revived = layer_cls.from_config(config)
    assert revived.get_config() == config
    _call(revived, input_data, call_kwargs, mask)
    revived.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        ops.convert_to_numpy(_call(revived, input_data, call_kwargs, mask)),
        output_np,
        atol=ATOL,
    )

    # Functional model saved to `.keras` and reloaded without custom_objects.
    if named:
        first = {name: _as_input(name, value) for name, value in input_data.items()}
    else:
        first = _as_input("inputs", input_data)
    model_inputs = [first]
    model_data = [input_data]
    symbolic_kwargs = {}
    for key, value in call_kwargs.items():
        if isinstance(value, np.ndarray):
            symbolic_kwargs[key] = _as_input(key, value)
            model_inputs.append(symbolic_kwargs[key])
            model_data.append(value)
        else:
            symbolic_kwargs[key] = value
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        symbolic_kwargs["mask"] = _as_input("mask", mask)
        model_inputs.append(symbolic_kwargs["mask"])
        model_data.append(mask)
    model = keras.Model(model_inputs, layer(model_inputs[0], **symbolic_kwargs))
    np.testing.assert_allclose(
        ops.convert_to_numpy(model(model_data, training=False)), output_np, atol=ATOL
    )
    with tempfile.TemporaryDirectory() as tmp_dir:
        path = os.path.join(tmp_dir, "model.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
    reloaded_layer = reloaded.layers[-1]
    assert type(reloaded_layer) is layer_cls
    assert reloaded_layer.get_config() == config
    np.testing.assert_allclose(
        ops.convert_to_numpy(reloaded(model_data, training=False)), output_np, atol=ATOL
    )

    if mask is not None:
        rng = np.random.default_rng(0)
        perturbed = _perturb_masked(input_data, mask, rng)
        assert not np.array_equal(perturbed, input_data) or mask.all()
        perturbed_output = ops.convert_to_numpy(_call(layer, perturbed, call_kwargs, mask))
        if output_np.shape[: mask.ndim] == mask.shape:
            np.testing.assert_allclose(perturbed_output[mask], output_np[mask], atol=1e-5)
        else:
            np.testing.assert_allclose(perturbed_output, output_np, atol=1e-5)

    if run_training_check:
        _check_training_step(model, model_data, output_np)
    return layer


def _check_training_step(model, model_data, output_np):
    """Fits one large SGD step; every trainable weight must move."""
    before = [ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert before, "Layer has no trainable weights."
    rng = np.random.default_rng(1)
    target = rng.standard_normal(output_np.shape).astype("float32")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    model.fit(model_data, target, batch_size=len(target), epochs=1, verbose=0, shuffle=False)
    for weight, old in zip(model.trainable_weights, before, strict=True):
        assert not np.array_equal(ops.convert_to_numpy(weight), old), (
            f"Weight {weight.path} did not change after one training step."
        )
