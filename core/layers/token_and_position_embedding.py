import keras
from keras import ops

from core.layers.layer_checks import check_booleans, check_positive_integers


@keras.saving.register_keras_serializable(package="keras_domains")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Sum of a token embedding and a learned position embedding.

    Inputs may be shorter than `sequence_length`; positions `0..seq_len-1`
    are used. Token id 0 is padding when `mask_zero` is set.

    Args:
        vocabulary_size: int. Number of token ids.
        sequence_length: int. Longest sequence the layer accepts.
        embedding_dim: int. Size of each embedding.
        mask_zero: bool. Whether token id 0 is padding and produces a mask.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: integer tensor of token ids, shape `(batch, seq_len)`; with
            `reverse`, float hidden states `(batch, seq_len, embedding_dim)`.
        reverse: bool. Map hidden states to vocabulary logits with the
            transposed token matrix (a tied output layer, as in GPT).

    Returns:
        Float tensor of shape `(batch, seq_len, embedding_dim)` (with `reverse`,
        logits `(batch, seq_len, vocabulary_size)`), with the
        Keras mask `inputs != 0` when `mask_zero`.

    Example:

    >>> layer = TokenAndPositionEmbedding(10, sequence_length=5, embedding_dim=4)
    >>> layer(np.array([[3, 7, 0]])).shape
    (1, 3, 4)
    """

    def __init__(self, vocabulary_size, sequence_length, embedding_dim, mask_zero=True, **kwargs):
        super().__init__(**kwargs)
        check_positive_integers(
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            embedding_dim=embedding_dim,
        )
        check_booleans(mask_zero=mask_zero)
        self.vocabulary_size = int(vocabulary_size)
        self.sequence_length = int(sequence_length)
        self.embedding_dim = int(embedding_dim)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.token_embedding = keras.layers.Embedding(
            self.vocabulary_size,
            self.embedding_dim,
            mask_zero=mask_zero,
            dtype=self.dtype_policy,
            name="token_embedding",
        )

    @property
    def token_embeddings(self):
        """The token `keras.layers.Embedding`; its `embeddings` is the matrix."""
        return self.token_embedding

    def build(self, inputs_shape):
        seq_len = inputs_shape[-1]
        if seq_len is not None and seq_len > self.sequence_length:
            raise ValueError(
                f"Inputs are longer than `sequence_length`. Received: input length={seq_len}, "
                f"sequence_length={self.sequence_length}"
            )
        self.token_embedding.build(inputs_shape)
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.sequence_length, self.embedding_dim),
            initializer="glorot_uniform",
        )

    def call(self, inputs, reverse=False):
        if reverse:
            # Hidden states to vocabulary logits through the same matrix (weight tying).
            matrix = ops.cast(self.token_embedding.embeddings, inputs.dtype)
            return ops.matmul(inputs, ops.transpose(matrix))
        tokens = self.token_embedding(inputs)
        seq_len = ops.shape(inputs)[-1]
        positions = ops.slice(self.position_embeddings, (0, 0), (seq_len, self.embedding_dim))
        return tokens + ops.cast(positions, tokens.dtype)

    def compute_mask(self, inputs, mask=None, reverse=False):
        if reverse or not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, inputs_shape):
        return (*inputs_shape, self.embedding_dim)

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            return keras.KerasTensor(
                (*inputs.shape[:-1], self.vocabulary_size), dtype=self.compute_dtype
            )
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "embedding_dim": self.embedding_dim,
                "mask_zero": self.mask_zero,
            }
        )
        return config
