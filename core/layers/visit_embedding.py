import keras
from keras import ops

from core.layers.layer_checks import check_booleans, check_integers_at_least


@keras.saving.register_keras_serializable(package="keras_domains")
class VisitEmbedding(keras.layers.Layer):
    """Embeds each visit as a bag of codes: the scaled sum of its code vectors.

    A visit is a padded list of code ids (0 is padding). Each code gets a
    learned vector; with `use_values`, a code that carries a value (a lab
    result, standardized) adds `value * v_code`, a learned direction per
    code, so a high and a low creatinine embed differently. The visit vector
    is the sum over its real codes divided by the square root of their
    number; padding contributes nothing, and a visit without codes is zero.

    Args:
        vocabulary_size: int. Number of code ids (0 is padding).
        embedding_dim: int. Size of each code and visit vector.
        use_values: bool. Whether codes carry values.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: code ids, integer or float, shape `(batch, visits, codes)`.
        values: float tensor of the same shape: each code's standardized
            value (0 when it has none). Only with `use_values`.
        code_gates: optional float tensor of the same shape that scales each
            code's vector (value part included) without changing the
            normalisation; all ones is the plain layer. Integrated gradients
            moves these from 0 to 1 to attribute a prediction to codes.

    Returns:
        Float tensor `(batch, visits, embedding_dim)`.

    Example:

    >>> layer = VisitEmbedding(vocabulary_size=10, embedding_dim=4)
    >>> layer(np.array([[[3, 7, 0], [0, 0, 0]]])).shape
    (1, 2, 4)
    """

    def __init__(self, vocabulary_size, embedding_dim, use_values=False, **kwargs):
        super().__init__(**kwargs)
        check_integers_at_least(
            ("vocabulary_size", vocabulary_size, 2), ("embedding_dim", embedding_dim, 1)
        )
        check_booleans(use_values=use_values)
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.use_values = use_values
        self.code_embedding = keras.layers.Embedding(
            self.vocabulary_size,
            self.embedding_dim,
            dtype=self.dtype_policy,
            name="code_embedding",
        )

    @property
    def code_embeddings(self):
        """The code `keras.layers.Embedding`; its `embeddings` is the matrix."""
        return self.code_embedding

    def build(self, inputs_shape, values_shape=None, code_gates_shape=None):
        self.code_embedding.build(inputs_shape)
        if self.use_values:
            # Zero at first: a value changes a code's vector only once it has learned how.
            self.value_embeddings = self.add_weight(
                name="value_embeddings",
                shape=(self.vocabulary_size, self.embedding_dim),
                initializer="zeros",
            )

    def code_vectors(self, inputs, values=None):
        """Each code's vector (value included), `(batch, visits, codes, embedding_dim)`."""
        ids = ops.cast(inputs, "int32")
        vectors = self.code_embedding(ids)
        if self.use_values:
            if values is None:
                raise ValueError("`values` must be given when `use_values=True`.")
            values = ops.cast(values, vectors.dtype)
            vectors = vectors + values[..., None] * ops.cast(
                ops.take(self.value_embeddings, ids, axis=0), vectors.dtype
            )
        return vectors

    def call(self, inputs, values=None, code_gates=None):
        vectors = self.code_vectors(inputs, values)
        present = ops.cast(ops.not_equal(ops.cast(inputs, "int32"), 0), vectors.dtype)
        weights = present
        if code_gates is not None:
            weights = weights * ops.cast(code_gates, vectors.dtype)
        scale = ops.sqrt(ops.maximum(ops.sum(present, axis=-1), 1.0))
        return ops.sum(weights[..., None] * vectors, axis=-2) / scale[..., None]

    def compute_output_shape(self, inputs_shape, values_shape=None, code_gates_shape=None):
        return (*inputs_shape[:-1], self.embedding_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "use_values": self.use_values,
            }
        )
        return config
