import numbers

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class SparseLinear(keras.layers.Layer):
    """A linear model over sparse features given as padded `(id, value)` pairs.

    Each row lists the features it has: feature ids and their values,
    padded with value 0 (whose id does not matter). The output is
    `bias + sum_k value_k * kernel[id_k]`, i.e. `x @ kernel + bias` for the
    sparse row `x`, without ever building the dense `(batch, num_features)`
    matrix. This is the "wide" path of a wide-and-deep model over, say,
    counts of thousands of codes. `sparse_features` gives the same inputs
    as a `scipy.sparse` matrix, so a convex solver can fit the weights
    exactly and load them with `set_coefficients`.

    Args:
        num_features: int. Number of feature ids.
        output_dim: int. Outputs (e.g. logits) per row.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: feature ids `(batch, slots)`, integer or float.
        values: float tensor `(batch, slots)`: each feature's value.

    Returns:
        Float tensor `(batch, output_dim)`.

    Example:

    >>> layer = SparseLinear(num_features=10, output_dim=2)
    >>> layer(np.array([[3, 7, 0]]), values=np.array([[1.0, 0.5, 0.0]])).shape
    (1, 2)
    """

    def __init__(self, num_features, output_dim, **kwargs):
        super().__init__(**kwargs)
        for arg_name, value in (("num_features", num_features), ("output_dim", output_dim)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"`{arg_name}` must be a positive integer. Received: {arg_name}={value}"
                )
        self.num_features = int(num_features)
        self.output_dim = int(output_dim)

    def build(self, inputs_shape, values_shape=None):
        self.kernel = self.add_weight(
            name="kernel", shape=(self.num_features, self.output_dim), initializer="zeros"
        )
        self.bias = self.add_weight(name="bias", shape=(self.output_dim,), initializer="zeros")

    def call(self, inputs, values):
        ids = ops.cast(inputs, "int32")
        weights = ops.take(self.kernel, ids, axis=0)
        values = ops.cast(values, weights.dtype)
        return ops.sum(values[..., None] * weights, axis=-2) + self.bias

    def sparse_features(self, ids, values):
        """The layer's input as a sparse matrix: `call(ids, values) == X @ kernel + bias`.

        Args:
            ids: integer array `(n, slots)`.
            values: float array `(n, slots)`; zeros are padding.

        Returns:
            `scipy.sparse.csr_matrix` of shape `(n, num_features)` (repeated ids add up).
        """
        import scipy.sparse

        ids = np.asarray(ids).astype(np.int64)
        values = np.asarray(values, dtype=np.float64)
        if ids.shape != values.shape or ids.ndim != 2:
            raise ValueError(
                "`ids` and `values` must be 2-D arrays of the same shape. "
                f"Received shapes {ids.shape} and {values.shape}."
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_features):
            raise ValueError(
                f"Feature ids must be in [0, {self.num_features}). "
                f"Received ids from {ids.min()} to {ids.max()}."
            )
        rows = np.repeat(np.arange(len(ids)), ids.shape[1])
        matrix = scipy.sparse.csr_matrix(
            (values.ravel(), (rows, ids.ravel())), shape=(len(ids), self.num_features)
        )
        matrix.eliminate_zeros()
        return matrix

    def set_coefficients(self, kernel, bias):
        """Sets the weights, e.g. a fitted linear model's `coef_.T` and `intercept_`.

        Args:
            kernel: array `(num_features, output_dim)`.
            bias: array `(output_dim,)`.
        """
        if not self.built:
            self.build(None)
        self.kernel.assign(np.asarray(kernel, dtype="float32").reshape(self.kernel.shape))
        self.bias.assign(np.asarray(bias, dtype="float32").reshape(self.bias.shape))

    def compute_output_shape(self, inputs_shape, values_shape=None):
        return (inputs_shape[0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update({"num_features": self.num_features, "output_dim": self.output_dim})
        return config
