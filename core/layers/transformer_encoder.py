import keras
from keras import ops

from core.layers.block_arguments import check_block_arguments


@keras.saving.register_keras_serializable(package="keras_domains")
class TransformerEncoder(keras.layers.Layer):
    """Pre-norm transformer encoder block.

    Computes `x + Dropout(MHA(LN(x)))` followed by `x + Dropout(FFN(LN(x)))`.
    The hidden size is taken from the last input axis and must be divisible by
    `num_heads`. Because the block is pre-norm, a stack of these blocks should
    be followed by one final `LayerNormalization`.

    Args:
        intermediate_dim: int. Width of the feed-forward hidden layer.
        num_heads: int. Number of attention heads.
        dropout: float in `[0, 1)`. Dropout on attention weights and on the
            output of both sub-blocks.
        activation: Activation of the feed-forward hidden layer.
        layer_norm_epsilon: float. Epsilon of both layer normalizations.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor of shape `(batch, seq_len, hidden)`.
        padding_mask: optional boolean (or 0/1) tensor of shape
            `(batch, seq_len)`; `False` marks padding that no position attends
            to. Defaults to the incoming Keras mask.
        training: Python boolean, whether dropout is active.

    Returns:
        Tensor of the input's shape. The incoming Keras mask is kept.

    Example:

    >>> layer = TransformerEncoder(intermediate_dim=16, num_heads=2)
    >>> layer(np.zeros((2, 5, 8))).shape
    (2, 5, 8)
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
        check_block_arguments(intermediate_dim, num_heads, dropout, layer_norm_epsilon)
        self.intermediate_dim = int(intermediate_dim)
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.supports_masking = True

    def build(self, inputs_shape, padding_mask_shape=None):
        hidden_dim = inputs_shape[-1]
        if hidden_dim is None:
            raise ValueError(
                "The last axis of the input to `TransformerEncoder` must be known. "
                f"Received: inputs_shape={inputs_shape}"
            )
        if hidden_dim % self.num_heads != 0:
            raise ValueError(
                "The hidden size (last input axis) must be divisible by `num_heads`. "
                f"Received: hidden size={hidden_dim}, num_heads={self.num_heads}"
            )
        policy = self.dtype_policy
        self._attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="attention_norm"
        )
        self._attention_norm.build(inputs_shape)
        self._attention = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=hidden_dim // self.num_heads,
            dropout=self.dropout,
            dtype=policy,
            name="attention",
        )
        self._attention.build(inputs_shape, inputs_shape)
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
            hidden_dim, dtype=policy, name="feedforward_output"
        )
        self._feedforward_output.build((*inputs_shape[:-1], self.intermediate_dim))
        self._feedforward_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="feedforward_dropout"
        )

    def call(self, inputs, padding_mask=None, training=None, mask=None):
        if padding_mask is None:
            padding_mask = mask
        attention_mask = None
        if padding_mask is not None:
            attention_mask = ops.expand_dims(ops.cast(padding_mask, "bool"), axis=1)

        x = inputs
        h = self._attention_norm(x)
        h = self._attention(h, h, attention_mask=attention_mask, training=training)
        x = x + self._attention_dropout(h, training=training)

        h = self._feedforward_norm(x)
        h = self._feedforward_intermediate(h)
        h = self._feedforward_output(h)
        return x + self._feedforward_dropout(h, training=training)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, inputs_shape, padding_mask_shape=None):
        return inputs_shape

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
