import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class DropMask(keras.layers.Layer):
    """Passes its input through unchanged and ends the Keras mask there.

    A layer called with `mask=` (e.g. `LSTMEncoder(return_sequences=True)`)
    hands the mask on to the next layers; one that does not support masking
    then warns that it drops it. Put this layer after the last one that
    needs the mask, where padding has been dealt with, so the mask stops
    without a warning.

    Call arguments:
        inputs: any tensor.
        mask: the incoming Keras mask, ignored.

    Returns:
        The input, without a mask.

    Example:

    >>> DropMask()(np.ones((2, 3)), mask=np.array([[True, True, False]] * 2)).shape
    (2, 3)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        # A new tensor: the input tensor itself carries the mask.
        return ops.copy(inputs)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, inputs_shape):
        return inputs_shape
