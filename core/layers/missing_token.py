import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class MissingToken(keras.layers.Layer):
    """Replaces the token of a missing value (an empty note, no image) by a learned token.

    A missing piece is then neither an error nor a zero input that the
    encoder would read as content: the model learns what "no note" means.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        token: float tensor `(batch, dim)`, the encoder's token for each row.
        present: bool tensor `(batch,)`, whether the row has the value, or
            `(batch, steps)` (a padding mask): present where any step is.

    Returns:
        Float tensor `(batch, dim)`.

    Example:

    >>> layer = MissingToken()
    >>> layer(np.ones((2, 4)), np.array([True, False])).shape
    (2, 4)
    """

    def build(self, token_shape, present_shape=None):
        self.missing = self.add_weight(
            name="missing", shape=(token_shape[-1],), initializer="zeros"
        )

    def call(self, token, present):
        present = ops.reshape(ops.cast(present, "bool"), (ops.shape(token)[0], -1))
        present = ops.cast(ops.any(present, axis=-1, keepdims=True), self.compute_dtype)
        return present * token + (1.0 - present) * self.missing

    def compute_output_shape(self, token_shape, present_shape=None):
        return token_shape
