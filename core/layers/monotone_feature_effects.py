"""Additive effects that are monotone in chosen input columns, by construction."""

import keras
import numpy as np
from keras import ops

RAW_GAIN = 10.0


@keras.saving.register_keras_serializable(package="keras_domains")
class MonotoneFeatureEffects(keras.layers.Layer):
    """Sum of per-column monotone piecewise-linear functions, one output logit.

    For column j with value x_j (scaled, within `[-value_range, value_range]`)
    and missing indicator m_j, the output is
    `sum_j sign_j * f_j(x_j) + mu_j * m_j`, where
    `f_j(x) = sum_k w_jk * clip((x - c_k) / (c_{k+1} - c_k), 0, 1)` is a sum of
    ramps between fixed knots `c_k` with weights `w_jk = softplus(10 raw_jk) / 10 >= 0`.
    So `f_j` is non-decreasing for any weights: the monotonicity is a property
    of the architecture, not something training is encouraged towards.

    Args:
        value_indices: input positions of the constrained columns' values.
        missing_indices: input positions of their missing indicators (same
            length), or None when the input has none.
        signs: +1 (output increases with the value) or -1, per column.
        num_knots: knots of each piecewise-linear function.
        value_range: the knots span `[-value_range, value_range]`.

    Call arguments:
        inputs: `(batch, n_inputs)` floats holding the values (and indicators).

    Returns:
        `(batch, 1)`, plus a learned bias.
    """

    def __init__(
        self,
        value_indices,
        missing_indices=None,
        signs=None,
        num_knots=16,
        value_range=5.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        value_indices = [int(i) for i in value_indices]
        if not value_indices:
            raise ValueError("`value_indices` must name at least one column. Received: []")
        signs = [1] * len(value_indices) if signs is None else [int(s) for s in signs]
        if len(signs) != len(value_indices) or any(s not in (-1, 1) for s in signs):
            raise ValueError(
                f"`signs` must hold +1 or -1 for each of the {len(value_indices)} columns. "
                f"Received: signs={signs}"
            )
        if missing_indices is not None:
            missing_indices = [int(i) for i in missing_indices]
            if len(missing_indices) != len(value_indices):
                raise ValueError(
                    "`missing_indices` must have one entry per value index. "
                    f"Received {len(missing_indices)} for {len(value_indices)} columns."
                )
        if not isinstance(num_knots, int) or num_knots < 2:
            raise ValueError(
                f"`num_knots` must be an integer >= 2. Received: num_knots={num_knots}"
            )
        if not value_range > 0:
            raise ValueError(f"`value_range` must be positive. Received: value_range={value_range}")
        self.value_indices = value_indices
        self.missing_indices = missing_indices
        self.signs = signs
        self.num_knots = num_knots
        self.value_range = float(value_range)

    def build(self, input_shape):
        n_columns = len(self.value_indices)
        self.raw_weights = self.add_weight(
            name="raw_weights",
            shape=(n_columns, self.num_knots - 1),
            initializer="zeros",
        )
        if self.missing_indices is not None:
            self.missing_effects = self.add_weight(
                name="missing_effects", shape=(n_columns,), initializer="zeros"
            )
        self.bias = self.add_weight(name="bias", shape=(), initializer="zeros")

    def call(self, inputs):
        knots = np.linspace(-self.value_range, self.value_range, self.num_knots, dtype="float32")
        starts = ops.convert_to_tensor(knots[:-1], self.compute_dtype)
        widths = ops.convert_to_tensor(np.diff(knots), self.compute_dtype)
        values = ops.take(inputs, ops.convert_to_tensor(self.value_indices, "int32"), axis=1)
        ramps = ops.clip((values[:, :, None] - starts) / widths, 0.0, 1.0)
        effects = ops.sum(ramps * self._ramp_weights(), axis=-1)
        output = ops.sum(effects * ops.convert_to_tensor(self.signs, self.compute_dtype), axis=-1)
        if self.missing_indices is not None:
            missing = ops.take(inputs, ops.convert_to_tensor(self.missing_indices, "int32"), axis=1)
            output = output + ops.sum(missing * self.missing_effects, axis=-1)
        return (output + self.bias)[:, None]

    def _ramp_weights(self):
        # softplus(g * raw) / g: non-negative, and the gain lets Adam's fixed-size
        # steps in `raw` move the weights as fast as an ordinary layer's.
        return ops.softplus(RAW_GAIN * self.raw_weights) / RAW_GAIN

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "value_indices": self.value_indices,
                "missing_indices": self.missing_indices,
                "signs": self.signs,
                "num_knots": self.num_knots,
                "value_range": self.value_range,
            }
        )
        return config
