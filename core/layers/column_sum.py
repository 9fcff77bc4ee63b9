import keras


@keras.saving.register_keras_serializable(package="keras_domains")
class ColumnSum(keras.layers.Layer):
    """Sums per-column scores: `(batch, columns, n)` in, `(batch, n)` out.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:

    >>> ColumnSum()(np.ones((2, 3, 4))).shape
    (2, 4)
    """

    def call(self, inputs):
        return keras.ops.sum(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
