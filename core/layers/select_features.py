"""Selects positions along one axis, e.g. some feature tokens."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class SelectFeatures(keras.layers.Layer):
    """Keeps the given positions along `axis`, in the given order.

    Args:
        indices: positions to keep (non-empty list of non-negative integers).
        axis: axis to select along (1: features or tokens).

    Example:
    >>> SelectFeatures([0, 2])(tokens)  # (batch, 3, dim) -> (batch, 2, dim)
    """

    def __init__(self, indices, axis=1, **kwargs):
        super().__init__(**kwargs)
        indices = [int(i) for i in indices]
        if not indices or min(indices) < 0:
            raise ValueError(
                "`indices` must be a non-empty list of non-negative integers. "
                f"Received: indices={indices}"
            )
        if axis == 0:
            raise ValueError("`axis` cannot be the batch axis (0). Received: axis=0")
        self.indices = indices
        self.axis = axis

    def call(self, inputs):
        return ops.take(inputs, ops.convert_to_tensor(self.indices, "int32"), axis=self.axis)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self.axis] = len(self.indices)
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"indices": self.indices, "axis": self.axis})
        return config
