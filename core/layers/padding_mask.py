import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class PaddingMask(keras.layers.Layer):
    """Marks the real tokens of padded token ids: `ids != 0`.

    Call arguments:
        inputs: tensor of token ids (integer or float), shape `(batch, seq_len)`.

    Returns:
        Boolean tensor of the input's shape, `True` where the id is not 0.

    Example:

    >>> PaddingMask()(np.array([[5, 2, 0]]))
    [[True, True, False]]
    """

    def call(self, inputs):
        return ops.not_equal(inputs, 0)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="bool")
