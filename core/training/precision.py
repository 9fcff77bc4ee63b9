"""Mixed-precision training behind the estimators' `precision` parameter."""

import contextlib

import keras

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def check_precision(precision):
    """Raises a ValueError naming the options unless `precision` is one of them."""
    if precision not in PRECISIONS:
        raise ValueError(
            f"`precision` must be one of {PRECISIONS}. Received: precision={precision!r}"
        )


@contextlib.contextmanager
def precision_policy(precision):
    """Builds layers under the Keras dtype policy `precision`, restoring the previous one after.

    Under a mixed policy layers compute in float16 or bfloat16 and keep their
    weights in float32.
    """
    check_precision(precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_outputs(model):
    """Returns `model` with float32 outputs, casting low-precision outputs at the end.

    Losses and probabilities are computed in float32 even when the layers
    compute in float16, where a softmax or log would lose precision.
    """
    if all(output.dtype == "float32" for output in model.outputs):
        return model
    outputs = keras.tree.map_structure(
        lambda tensor: keras.layers.Activation("linear", dtype="float32")(tensor), model.output
    )
    return keras.Model(model.input, outputs, name=model.name)
