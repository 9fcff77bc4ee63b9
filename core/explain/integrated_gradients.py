"""Integrated gradients (Sundararajan et al., 2017) for any differentiable function."""

import keras
import numpy as np


def integrated_gradients(function, inputs, baseline, targets=None, steps=64, batch_size=4096):
    """Attributes `function(inputs)` to each input element.

    The path integral from `baseline` to `inputs` is computed with the
    trapezoidal rule over `steps` intervals, so attributions add up to
    `function(inputs) - function(baseline)` (the completeness axiom) up to
    the integration error.

    Args:
        function: maps a float tensor `(batch, ...)` to one scalar per row,
            `(batch,)`, or to several outputs per row, `(batch, k)`.
        inputs: array `(n, ...)`.
        baseline: array broadcastable to `inputs`: the reference point.
        targets: for a function with several outputs, the output explained
            for each row, integers of shape `(n,)`.
        steps: integration intervals; more is more exact and slower.
        batch_size: rows (examples times steps) per gradient call.

    Returns:
        Array with the shape of `inputs`.
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "Integrated gradients needs the TensorFlow backend. "
            f"Received backend={keras.backend.backend()!r}."
        )
    import tensorflow as tf

    inputs = np.asarray(inputs, dtype=np.float32)
    if targets is not None:
        targets = np.asarray(targets, dtype=np.int64)
        if targets.shape != (len(inputs),):
            raise ValueError(
                f"`targets` must have shape ({len(inputs)},). Received shape {targets.shape}."
            )
    baseline = np.broadcast_to(np.asarray(baseline, dtype=np.float32), inputs.shape)
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    weights = np.full(steps + 1, 1.0 / steps, dtype=np.float32)
    weights[[0, -1]] /= 2.0
    rows_per_call = max(1, batch_size // (steps + 1))
    out = np.empty_like(inputs)
    for start in range(0, len(inputs), rows_per_call):
        x = inputs[start : start + rows_per_call]
        b = baseline[start : start + rows_per_call]
        shape = (len(x), steps + 1, *x.shape[1:])
        expand = (slice(None), slice(None)) + (None,) * (x.ndim - 1)
        path = b[:, None] + alphas[None, :][expand] * (x - b)[:, None]
        path = tf.constant(path.reshape((-1, *x.shape[1:])))
        with tf.GradientTape() as tape:
            tape.watch(path)
            values = function(path)
            if targets is not None:
                chosen = np.repeat(targets[start : start + rows_per_call], steps + 1)
                selector = np.eye(values.shape[-1], dtype=np.float32)[chosen]
                values = tf.reduce_sum(values * selector, axis=-1)
        grads = tape.gradient(values, path).numpy().reshape(shape)
        avg_grads = np.tensordot(weights, np.moveaxis(grads, 1, 0), axes=1)
        out[start : start + rows_per_call] = (x - b) * avg_grads
    return out
