import keras
from keras import ops

from core.layers.layer_checks import known_last_axis


@keras.saving.register_keras_serializable(package="keras_domains")
class AttentionPooling(keras.layers.Layer):
    """Pools a sequence into one vector with learned additive attention.

    Each step gets the score `v . tanh(W x_t + b)`; the scores are softmaxed
    over the unmasked steps and the output is the weighted sum of the steps.
    A row whose steps are all masked pools to zeros.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor of shape `(batch, seq_len, hidden)`.
        mask: optional boolean tensor of shape `(batch, seq_len)`; defaults to
            the incoming Keras mask, which this layer consumes.
        return_attention_scores: bool. Whether to also return the attention
            weights.

    Returns:
        Tensor of shape `(batch, hidden)`, and the weights of shape
        `(batch, seq_len)` when `return_attention_scores` is set.

    Example:

    >>> layer = AttentionPooling()
    >>> layer(np.zeros((2, 5, 8))).shape
    (2, 8)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, inputs_shape):
        hidden_dim = known_last_axis(self, inputs_shape)
        self._projection = keras.layers.Dense(
            hidden_dim, activation="tanh", dtype=self.dtype_policy, name="projection"
        )
        self._projection.build(inputs_shape)
        self._score = keras.layers.Dense(1, use_bias=False, dtype=self.dtype_policy, name="score")
        self._score.build((*inputs_shape[:-1], hidden_dim))

    def call(self, inputs, mask=None, return_attention_scores=False):
        scores = ops.squeeze(self._score(self._projection(inputs)), axis=-1)
        # Softmax in float32 so the masking constant is representable.
        scores = ops.cast(scores, "float32")
        if mask is not None:
            mask = ops.cast(mask, "bool")
            scores = ops.where(mask, scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            # A fully masked row softmaxes to uniform weights; zero them.
            weights = ops.where(mask, weights, 0.0)
        weights = ops.cast(weights, inputs.dtype)
        pooled = ops.sum(weights[:, :, None] * inputs, axis=1)
        if return_attention_scores:
            return pooled, weights
        return pooled

    def compute_mask(self, inputs, mask=None):
        return None
