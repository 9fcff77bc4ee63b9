import numbers

import keras

from core.layers.layer_checks import check_positive_integers


class TransformerBlock(keras.layers.Layer):
    """Base of the pre-norm transformer blocks: what an encoder and a decoder block share.

    A block computes `x + Dropout(Attention(LN(x)))` followed by
    `x + Dropout(FFN(LN(x)))`. This base holds the arguments and their checks,
    the layer norm before the attention, the feed-forward half and the config;
    a subclass builds its attention between `_build_attention_norm` and
    `_build_feedforward` and calls `_add_and_feed_forward` on its result.
    The sub-layers keep the attribute names they always had (`_attention_norm`,
    `_feedforward_output`, ...), which are their paths in saved models.

    Args:
        intermediate_dim: int. Width of the feed-forward hidden layer.
        num_heads: int. Number of attention heads.
        dropout: float in `[0, 1)`. Dropout on attention weights and on the
            output of both sub-blocks.
        activation: Activation of the feed-forward hidden layer.
        layer_norm_epsilon: float. Epsilon of both layer normalizations.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(
        self,
        intermediate_dim,
        num_heads,
        dropout=0.0,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_arguments(intermediate_dim, num_heads, dropout, layer_norm_epsilon)
        self.intermediate_dim = int(intermediate_dim)
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.supports_masking = True

    def _check_hidden_dim(self, hidden_dim, received):
        if hidden_dim is None:
            raise ValueError(
                f"The last axis of the input to `{type(self).__name__}` must be known. "
                f"Received: {received}"
            )
        if hidden_dim % self.num_heads != 0:
            raise ValueError(
                "The hidden size (last input axis) must be divisible by `num_heads`. "
                f"Received: hidden size={hidden_dim}, num_heads={self.num_heads}"
            )

    def _build_attention_norm(self, inputs_shape):
        self._attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="attention_norm"
        )
        self._attention_norm.build(inputs_shape)

    def _build_feedforward(self, inputs_shape):
        """The attention's output dropout and the feed-forward half (after the attention)."""
        policy = self.dtype_policy
        self._attention_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="attention_dropout"
        )
        self._feedforward_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="feedforward_norm"
        )
        self._feedforward_norm.build(inputs_shape)
        self._feedforward_intermediate = keras.layers.Dense(
            self.intermediate_dim,
            activation=self.activation,
            dtype=policy,
            name="feedforward_intermediate",
        )
        self._feedforward_intermediate.build(inputs_shape)
        self._feedforward_output = keras.layers.Dense(
            inputs_shape[-1], dtype=policy, name="feedforward_output"
        )
        self._feedforward_output.build((*inputs_shape[:-1], self.intermediate_dim))
        self._feedforward_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="feedforward_dropout"
        )

    def _add_and_feed_forward(self, x, attended, training):
        """`x` plus the attention's output, then plus the feed-forward of that."""
        x = x + self._attention_dropout(attended, training=training)
        h = self._feedforward_norm(x)
        h = self._feedforward_intermediate(h)
        h = self._feedforward_output(h)
        return x + self._feedforward_dropout(h, training=training)

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "num_heads": self.num_heads,
                "dropout": self.dropout,
                "activation": keras.activations.serialize(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config


def _check_arguments(intermediate_dim, num_heads, dropout, layer_norm_epsilon):
    """Raises a ValueError naming the first argument of a transformer block out of range."""
    check_positive_integers(intermediate_dim=intermediate_dim, num_heads=num_heads)
    if not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be a float in [0, 1). Received: dropout={dropout}")
    if not isinstance(layer_norm_epsilon, numbers.Real) or layer_norm_epsilon <= 0:
        raise ValueError(
            "`layer_norm_epsilon` must be a positive float. "
            f"Received: layer_norm_epsilon={layer_norm_epsilon}"
        )
