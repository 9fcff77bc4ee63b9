"""Argument and input-shape checks that several layers share, with their error messages."""

import numbers


def check_positive_integers(**arguments):
    """Raises a ValueError naming the first argument that is not a positive integer.

    Args:
        **arguments: `name=value` pairs, checked in order; bools are refused.
    """
    for arg_name, value in arguments.items():
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
            raise ValueError(
                f"`{arg_name}` must be a positive integer. Received: {arg_name}={value}"
            )


def check_integers_at_least(*checks):
    """Raises a ValueError naming the first argument that is not an integer at least its minimum.

    Args:
        *checks: `(name, value, minimum)` triples, checked in order; bools are refused.
    """
    for arg_name, value, low in checks:
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
            raise ValueError(
                f"`{arg_name}` must be an integer >= {low}. Received: {arg_name}={value}"
            )


def check_booleans(**arguments):
    """Raises a ValueError naming the first argument that is not a bool.

    Args:
        **arguments: `name=value` pairs, checked in order.
    """
    for arg_name, value in arguments.items():
        if not isinstance(value, bool):
            raise ValueError(f"`{arg_name}` must be a boolean. Received: {arg_name}={value}")


def known_last_axis(layer, inputs_shape):
    """The size of the last input axis, which `layer` needs to build its weights.

    Args:
        layer: the layer being built (its class names it in the error).
        inputs_shape: the input shape passed to `build`.

    Returns:
        The last axis' size; a ValueError if it is unknown (None).
    """
    size = inputs_shape[-1]
    if size is None:
        raise ValueError(
            f"The last axis of the input to `{type(layer).__name__}` must be known. "
            f"Received: inputs_shape={inputs_shape}"
        )
    return size
