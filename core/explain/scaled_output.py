"""Scaling one layer's output inside a model, for attributions to what that layer emits."""

import contextlib


@contextlib.contextmanager
def scaled_output(layer, scales):
    """Within the block, `layer` returns its output times `scales`.

    Integrated gradients over the inputs of a pretrained model's token
    embedding cannot move integer ids; scaling the embedding layer's output
    by a factor per token that goes from 0 to 1 is the same path as moving
    each token's embedding from zero to itself, and works on a model built
    elsewhere (a keras-hub backbone) without rebuilding it.

    Args:
        layer: a Keras layer called inside the model.
        scales: a tensor broadcastable to the layer's output, e.g. `(batch, seq, 1)`.
    """
    own = layer.__dict__.get("call")
    original = layer.call

    def call(*args, **kwargs):
        return original(*args, **kwargs) * scales

    layer.call = call
    try:
        yield
    finally:
        if own is None:
            del layer.call
        else:
            layer.call = own
