"""Per-image standardisation: zero mean and unit variance within each image."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class PerImageStandardization(keras.layers.Layer):
    """`(x - mean(x)) / max(std(x), epsilon)` over each image's pixels and channels.

    Removes differences in exposure and brightness between images (scanners,
    stains, lighting), which a small training set cannot teach a model to ignore.

    Args:
        epsilon: lower bound of the standard deviation (flat images stay finite).

    Call arguments:
        inputs: `(batch, height, width, channels)`.

    Returns:
        Same shape.
    """

    def __init__(self, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        if not epsilon > 0:
            raise ValueError(f"`epsilon` must be positive. Received: epsilon={epsilon}")
        self.epsilon = float(epsilon)

    def call(self, inputs):
        mean = ops.mean(inputs, axis=(1, 2, 3), keepdims=True)
        std = ops.sqrt(ops.mean(ops.square(inputs - mean), axis=(1, 2, 3), keepdims=True))
        return (inputs - mean) / ops.maximum(std, self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config
