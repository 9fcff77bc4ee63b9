import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class TiedTokenLogits(keras.layers.Layer):
    """Vocabulary logits from hidden states, through the token embedding matrix.

    The output projection is the transpose of the input embedding (weight
    tying, as BERT's masked-LM head and GPT's output layer do), plus a
    per-token bias. With `transform`, hidden states first go through a
    dense layer (GELU) to the embedding size and a layer normalisation, as
    in BERT's masked-LM head. With `positions`, only those positions are
    scored, so a masked-LM batch never builds logits for unmasked tokens.

    Args:
        token_embedding: the `keras.layers.Embedding` whose matrix is tied.
        transform: bool. Whether to apply the dense + norm transform first.
        layer_norm_epsilon: float. Epsilon of the transform's normalisation.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor `(batch, seq_len, hidden)`.
        positions: optional integer tensor `(batch, n_positions)`: the
            positions to score.

    Returns:
        Logits `(batch, seq_len, vocabulary_size)`, or
        `(batch, n_positions, vocabulary_size)` with `positions`.
    """

    def __init__(self, token_embedding, transform=True, layer_norm_epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(token_embedding, keras.layers.Embedding):
            raise ValueError(
                "`token_embedding` must be a keras.layers.Embedding. "
                f"Received: token_embedding={token_embedding!r}"
            )
        self.token_embedding = token_embedding
        self.transform = bool(transform)
        self.layer_norm_epsilon = float(layer_norm_epsilon)

    def build(self, inputs_shape, positions_shape=None):
        if not self.token_embedding.built:
            # An embedding made by `from_config` is not built yet.
            self.token_embedding.build()
        embedding_dim = self.token_embedding.output_dim
        if self.transform:
            self._dense = keras.layers.Dense(
                embedding_dim, activation="gelu", dtype=self.dtype_policy, name="transform"
            )
            self._dense.build(inputs_shape)
            self._norm = keras.layers.LayerNormalization(
                epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="transform_norm"
            )
            self._norm.build((*inputs_shape[:-1], embedding_dim))
        elif inputs_shape[-1] != embedding_dim:
            raise ValueError(
                "Without `transform`, the hidden size must equal the embedding size. "
                f"Received: hidden size={inputs_shape[-1]}, embedding size={embedding_dim}"
            )
        self.bias = self.add_weight(
            name="bias", shape=(self.token_embedding.input_dim,), initializer="zeros"
        )

    def call(self, inputs, positions=None):
        x = inputs
        if positions is not None:
            x = ops.take_along_axis(x, ops.cast(positions, "int32")[:, :, None], axis=1)
        if self.transform:
            x = self._norm(self._dense(x))
        matrix = ops.cast(self.token_embedding.embeddings, x.dtype)
        return ops.matmul(x, ops.transpose(matrix)) + ops.cast(self.bias, x.dtype)

    def compute_output_shape(self, inputs_shape, positions_shape=None):
        steps = inputs_shape[1] if positions_shape is None else positions_shape[1]
        return (inputs_shape[0], steps, self.token_embedding.input_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "token_embedding": keras.layers.serialize(self.token_embedding),
                "transform": self.transform,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["token_embedding"] = keras.layers.deserialize(config["token_embedding"])
        return cls(**config)
