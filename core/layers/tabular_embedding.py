import math
import numbers

import keras
from keras import ops

from core.layers.layer_checks import check_positive_integers

#: Names of the two inputs (those `TabularPreprocessor.transform` returns).
NUMERIC = "numeric"
CATEGORICAL = "categorical"


@keras.saving.register_keras_serializable(package="keras_domains")
class TabularEmbedding(keras.layers.Layer):
    """Turns one row of a preprocessed table into a sequence of feature tokens.

    The input is a dict of two named arrays (as `TabularPreprocessor`
    returns): `"numeric"`, floats `[values | missing indicators]` of width
    `2 * num_numeric`, and `"categorical"`, integer codes of width
    `len(categorical_cardinalities)`; a block without columns is left out.
    Numeric values are expected to be imputed and scaled already, missing
    indicators are 0/1, and category code 0 means missing, 1 unknown or rare
    and 2.. the known categories. Any code outside `[0, cardinality)` is
    looked up in the unknown slot 1.

    Numeric column `f` becomes `x_f * W_f + b_f + missing_f * M_f`; categorical
    column `j` becomes the row of its own embedding table for the code plus a
    per-column bias. Numeric tokens come first, then categorical ones, each in
    column order.

    Args:
        num_numeric: int. Number of numeric columns (may be 0).
        categorical_cardinalities: list of int. Number of codes of each
            categorical column, counting the two reserved codes 0 and 1
            (so each must be at least 2). May be empty.
        embedding_dim: int. Size of each feature token.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: dict `{"numeric": (batch, 2 * num_numeric) floats,
            "categorical": (batch, len(categorical_cardinalities)) ints}`.
            Axes between the batch and the columns (the events of a
            sequence, say) are kept: `(batch, steps, width)` inputs give
            `(batch, steps, num_features, embedding_dim)` tokens.

    Returns:
        Float tensor of shape `(batch, num_features, embedding_dim)` with
        `num_features = num_numeric + len(categorical_cardinalities)`.

    Example:

    >>> layer = TabularEmbedding(2, [4], embedding_dim=8)
    >>> x = {"numeric": np.array([[0.5, -1.0, 0.0, 1.0]]),  # 2 values, 2 flags
    ...      "categorical": np.array([[3]], dtype="int32")}
    >>> layer(x).shape
    (1, 3, 8)
    """

    def __init__(self, num_numeric, categorical_cardinalities, embedding_dim, **kwargs):
        super().__init__(**kwargs)
        if (
            not isinstance(num_numeric, numbers.Integral)
            or isinstance(num_numeric, bool)
            or num_numeric < 0
        ):
            raise ValueError(
                f"`num_numeric` must be a non-negative integer. Received: num_numeric={num_numeric}"
            )
        if isinstance(categorical_cardinalities, (str, bytes)) or not hasattr(
            categorical_cardinalities, "__iter__"
        ):
            raise ValueError(
                "`categorical_cardinalities` must be a list of integers. "
                f"Received: categorical_cardinalities={categorical_cardinalities}"
            )
        cardinalities = list(categorical_cardinalities)
        for cardinality in cardinalities:
            if (
                not isinstance(cardinality, numbers.Integral)
                or isinstance(cardinality, bool)
                or cardinality < 2
            ):
                raise ValueError(
                    "Every entry of `categorical_cardinalities` must be an integer "
                    ">= 2 (codes 0 and 1 are reserved for missing and unknown). "
                    f"Received: categorical_cardinalities={categorical_cardinalities}"
                )
        check_positive_integers(embedding_dim=embedding_dim)
        if num_numeric + len(cardinalities) == 0:
            raise ValueError(
                "`TabularEmbedding` needs at least one feature. Received: "
                f"num_numeric={num_numeric}, "
                f"categorical_cardinalities={categorical_cardinalities}"
            )
        self.num_numeric = int(num_numeric)
        self.categorical_cardinalities = [int(c) for c in cardinalities]
        self.embedding_dim = int(embedding_dim)
        self.num_categorical = len(self.categorical_cardinalities)
        self.num_features = self.num_numeric + self.num_categorical
        # Start of each column's rows in the flat categorical table.
        self._offsets = [0]
        for cardinality in self.categorical_cardinalities[:-1]:
            self._offsets.append(self._offsets[-1] + cardinality)

    def _uniform(self):
        scale = 1.0 / math.sqrt(self.embedding_dim)
        return keras.initializers.RandomUniform(-scale, scale)

    def build(self, input_shape):
        expected = {NUMERIC: 2 * self.num_numeric, CATEGORICAL: self.num_categorical}
        wanted = {name: width for name, width in expected.items() if width}
        received = (
            {name: shape[-1] for name, shape in input_shape.items()}
            if isinstance(input_shape, dict)
            else None
        )
        if (
            received is None
            or set(received) != set(wanted)
            or any(received[name] not in (None, width) for name, width in wanted.items())
        ):
            raise ValueError(
                f"`TabularEmbedding` expects a dict of inputs {wanted} (name: columns; "
                f"num_numeric={self.num_numeric} values and missing indicators, "
                f"{self.num_categorical} categorical codes). Received: input_shape={input_shape}"
            )
        dim = self.embedding_dim
        if self.num_numeric:
            self.numeric_kernel = self.add_weight(
                name="numeric_kernel",
                shape=(self.num_numeric, dim),
                initializer=self._uniform(),
            )
            self.numeric_bias = self.add_weight(
                name="numeric_bias",
                shape=(self.num_numeric, dim),
                initializer=self._uniform(),
            )
            self.missing_embeddings = self.add_weight(
                name="missing_embeddings",
                shape=(self.num_numeric, dim),
                initializer=self._uniform(),
            )
        if self.num_categorical:
            self.categorical_embeddings = self.add_weight(
                name="categorical_embeddings",
                shape=(sum(self.categorical_cardinalities), dim),
                initializer=self._uniform(),
            )
            self.categorical_bias = self.add_weight(
                name="categorical_bias",
                shape=(self.num_categorical, dim),
                initializer=self._uniform(),
            )

    def call(self, inputs):
        tokens = []
        n = self.num_numeric
        numeric, codes = inputs.get(NUMERIC), inputs.get(CATEGORICAL)
        if n:
            values = ops.cast(numeric[..., :n], self.compute_dtype)
            missing = ops.cast(numeric[..., n : 2 * n], self.compute_dtype)
            tokens.append(
                values[..., None] * self.numeric_kernel
                + self.numeric_bias
                + missing[..., None] * self.missing_embeddings
            )
        if self.num_categorical:
            codes = ops.cast(codes, "int32")
            cardinalities = ops.convert_to_tensor(self.categorical_cardinalities, "int32")
            valid = ops.logical_and(ops.greater_equal(codes, 0), ops.less(codes, cardinalities))
            codes = ops.where(valid, codes, 1)
            indices = codes + ops.convert_to_tensor(self._offsets, "int32")
            embedded = ops.take(self.categorical_embeddings, indices, axis=0)
            tokens.append(embedded + self.categorical_bias)
        if len(tokens) == 1:
            return tokens[0]
        return ops.concatenate(tokens, axis=-2)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            input_shape = next(iter(input_shape.values()))
        return (*input_shape[:-1], self.num_features, self.embedding_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_numeric": self.num_numeric,
                "categorical_cardinalities": list(self.categorical_cardinalities),
                "embedding_dim": self.embedding_dim,
            }
        )
        return config
