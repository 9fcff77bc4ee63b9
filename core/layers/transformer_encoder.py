import keras
from keras import ops

from core.layers.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="keras_domains")
class TransformerEncoder(TransformerBlock):
    """Pre-norm transformer encoder block.

    Computes `x + Dropout(MHA(LN(x)))` followed by `x + Dropout(FFN(LN(x)))`.
    The hidden size is taken from the last input axis and must be divisible by
    `num_heads`. Because the block is pre-norm, a stack of these blocks should
    be followed by one final `LayerNormalization`.

    Args:
        intermediate_dim, num_heads, dropout, activation, layer_norm_epsilon,
        **kwargs: as `TransformerBlock` documents them (feed-forward width,
            attention heads, dropout rate, feed-forward activation, layer-norm
            epsilon, base layer arguments).

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

    def build(self, inputs_shape, padding_mask_shape=None):
        hidden_dim = inputs_shape[-1]
        self._check_hidden_dim(hidden_dim, f"inputs_shape={inputs_shape}")
        self._build_attention_norm(inputs_shape)
        self._attention = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=hidden_dim // self.num_heads,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="attention",
        )
        self._attention.build(inputs_shape, inputs_shape)
        self._build_feedforward(inputs_shape)

    def call(self, inputs, padding_mask=None, training=None, mask=None):
        if padding_mask is None:
            padding_mask = mask
        attention_mask = None
        if padding_mask is not None:
            attention_mask = ops.expand_dims(ops.cast(padding_mask, "bool"), axis=1)

        h = self._attention_norm(inputs)
        h = self._attention(h, h, attention_mask=attention_mask, training=training)
        return self._add_and_feed_forward(inputs, h, training)

    def compute_output_shape(self, inputs_shape, padding_mask_shape=None):
        return inputs_shape
