import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class ColumnGate(keras.layers.Layer):
    """Keeps some columns' values and sets the others to a fixed reference value.

    How a multimodal model leaves out a part (a text column, an image column,
    the table) that did not help on held-out rows: the part's tokens become
    those of a reference row, the same for every row, so the part no
    longer moves any prediction. Both weights are set after training and
    are not trained; a new gate keeps every column.

    Args:
        axis: the columns' axis (1 or more; 0 is the batch).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor with the columns along `axis`.

    Returns:
        A tensor of the input's shape.

    Example:

    >>> gate = ColumnGate(axis=1)
    >>> gate(np.ones((2, 3, 4))).shape
    (2, 3, 4)
    """

    def __init__(self, axis=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or axis < 1:
            raise ValueError(f"`axis` must be an integer >= 1. Received: axis={axis!r}")
        self.axis = axis

    def build(self, input_shape):
        self.keep = self.add_weight(
            name="keep", shape=(input_shape[self.axis],), initializer="ones", trainable=False
        )
        self.reference = self.add_weight(
            name="reference", shape=tuple(input_shape[1:]), initializer="zeros", trainable=False
        )

    def call(self, inputs):
        shape = [1] * len(inputs.shape)
        shape[self.axis] = -1
        keep = ops.reshape(ops.cast(self.keep, inputs.dtype), shape)
        reference = ops.cast(self.reference, inputs.dtype)[None]
        return keep * inputs + (1.0 - keep) * reference

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
