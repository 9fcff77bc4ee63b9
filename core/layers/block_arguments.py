"""Argument checks shared by the transformer blocks."""

import numbers


def check_block_arguments(intermediate_dim, num_heads, dropout, layer_norm_epsilon):
    """Raises a ValueError naming the first argument of a transformer block out of range."""
    for arg_name, value in (("intermediate_dim", intermediate_dim), ("num_heads", num_heads)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
            raise ValueError(
                f"`{arg_name}` must be a positive integer. Received: {arg_name}={value}"
            )
    if not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be a float in [0, 1). Received: dropout={dropout}")
    if not isinstance(layer_norm_epsilon, numbers.Real) or layer_norm_epsilon <= 0:
        raise ValueError(
            "`layer_norm_epsilon` must be a positive float. "
            f"Received: layer_norm_epsilon={layer_norm_epsilon}"
        )
