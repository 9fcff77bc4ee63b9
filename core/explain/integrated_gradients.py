"""Integrated gradients (Sundararajan et al., 2017) for any differentiable function."""

import keras
import numpy as np


def integrated_gradients(
    function, inputs, baseline, targets=None, steps=64, batch_size=4096, context=None
):
    """Attributes `function(inputs)` to each input element.

    The path integral from `baseline` to `inputs` is computed with the
    trapezoidal rule over `steps` intervals, so attributions add up to
    `function(inputs) - function(baseline)` (the completeness axiom) up to
    the integration error.

    Args:
        function: maps a float tensor `(batch, ...)` (or a list of them, when
            `inputs` is a list) to one scalar per row, `(batch,)`, or to
            several outputs per row, `(batch, k)`.
        inputs: array `(n, ...)`, or a list of arrays with the same `n`,
            moved along one path together.
        baseline: the reference point: an array (or list of arrays)
            broadcastable to `inputs`.
        targets: for a function with several outputs, the output explained
            for each row, integers of shape `(n,)`.
        steps: integration intervals; more is more exact and slower.
        batch_size: rows (examples times steps) per gradient call.
        context: None, or arrays (a dict of them, say a model's named
            inputs) with the rows of `inputs` that stay fixed along the path:
            `function` then takes them as its second argument, each row
            repeated for its path's points, their dtypes kept (ids stay
            integers).

    Returns:
        Attributions with the shape of `inputs` (a list when `inputs` is one).
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "Integrated gradients needs the TensorFlow backend. "
            f"Received backend={keras.backend.backend()!r}."
        )
    import tensorflow as tf

    several = isinstance(inputs, list | tuple)
    inputs = [np.asarray(x, dtype=np.float32) for x in (inputs if several else [inputs])]
    baseline = baseline if several else [baseline]
    if len(baseline) != len(inputs) or len({len(x) for x in inputs}) != 1:
        raise ValueError("`inputs` and `baseline` must hold the same number of arrays, of equal n.")
    baseline = [
        np.broadcast_to(np.asarray(b, dtype=np.float32), x.shape)
        for b, x in zip(baseline, inputs, strict=True)
    ]
    n_rows = len(inputs[0])
    if targets is not None:
        targets = np.asarray(targets, dtype=np.int64)
        if targets.shape != (n_rows,):
            raise ValueError(
                f"`targets` must have shape ({n_rows},). Received shape {targets.shape}."
            )
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    weights = np.full(steps + 1, 1.0 / steps, dtype=np.float32)
    weights[[0, -1]] /= 2.0
    rows_per_call = max(1, batch_size // (steps + 1))
    outs = [np.empty_like(x) for x in inputs]
    for start in range(0, n_rows, rows_per_call):
        chunk = slice(start, start + rows_per_call)
        deltas = [x[chunk] - b[chunk] for x, b in zip(inputs, baseline, strict=True)]
        paths = [
            tf.constant(_path(b[chunk], d, alphas)) for b, d in zip(baseline, deltas, strict=True)
        ]
        with tf.GradientTape() as tape:
            for path in paths:
                tape.watch(path)
            moving = paths if several else paths[0]
            if context is None:
                values = function(moving)
            else:
                fixed = keras.tree.map_structure(
                    lambda a, rows=chunk: np.repeat(np.asarray(a)[rows], steps + 1, axis=0),
                    context,
                )
                values = function(moving, fixed)
            if targets is not None:
                chosen = np.repeat(targets[chunk], steps + 1)
                selector = np.eye(values.shape[-1], dtype=np.float32)[chosen]
                values = tf.reduce_sum(values * selector, axis=-1)
        grads = tape.gradient(values, paths)
        for out, grad, delta in zip(outs, grads, deltas, strict=True):
            if grad is None:  # An input the function does not differentiate through.
                out[chunk] = 0.0
                continue
            grad = grad.numpy().reshape((len(delta), steps + 1, *delta.shape[1:]))
            out[chunk] = delta * np.tensordot(weights, np.moveaxis(grad, 1, 0), axes=1)
    return outs if several else outs[0]


def _path(start, delta, alphas):
    """Points `start + alpha * delta` for every alpha, flattened to `(n * steps, ...)`."""
    expand = (slice(None), slice(None)) + (None,) * (start.ndim - 1)
    path = start[:, None] + alphas[None, :][expand] * delta[:, None]
    return path.reshape((-1, *start.shape[1:]))
