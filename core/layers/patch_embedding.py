"""Image patches as tokens, for vision transformers."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class PatchEmbedding(keras.layers.Layer):
    """Splits an image into patches and embeds each one, plus a learned position (ViT).

    A strided convolution with kernel = stride = `patch_size` is a linear
    projection of each non-overlapping patch.

    Args:
        patch_size: side of a square patch, in pixels.
        embedding_dim: size of each patch token.

    Call arguments:
        inputs: `(batch, height, width, channels)`, height and width multiples of `patch_size`.

    Returns:
        `(batch, (height / patch_size) * (width / patch_size), embedding_dim)`.
    """

    def __init__(self, patch_size, embedding_dim, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("patch_size", patch_size), ("embedding_dim", embedding_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")
        self.patch_size = patch_size
        self.embedding_dim = embedding_dim
        self.projection = keras.layers.Conv2D(
            embedding_dim, patch_size, strides=patch_size, name="projection"
        )

    def build(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f"Image size ({height}, {width}) must be a multiple of `patch_size`="
                f"{self.patch_size}."
            )
        self.num_patches = (height // self.patch_size) * (width // self.patch_size)
        self.projection.build(input_shape)
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.num_patches, self.embedding_dim),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        )

    def call(self, inputs):
        patches = self.projection(inputs)
        tokens = ops.reshape(patches, (-1, self.num_patches, self.embedding_dim))
        return tokens + self.position_embeddings

    def compute_output_shape(self, input_shape):
        patches = (input_shape[1] // self.patch_size) * (input_shape[2] // self.patch_size)
        return (input_shape[0], patches, self.embedding_dim)

    def get_config(self):
        config = super().get_config()
        config.update({"patch_size": self.patch_size, "embedding_dim": self.embedding_dim})
        return config
