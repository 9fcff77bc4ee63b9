import keras
import numpy as np
from keras import ops

from core.layers.layer_checks import check_positive_integers, known_last_axis


@keras.saving.register_keras_serializable(package="keras_domains")
class TimeGapEncoding(keras.layers.Layer):
    """Encodes irregular durations (in days) as learned vectors.

    Clinical events are irregular in time: what matters is how long before
    the prediction a visit happened and how long after the previous one.
    Each duration is put on a log scale, `log1p(max(days, 0))` (a day and a
    week differ as much as a year and seven years), expanded into sinusoids
    at fixed frequencies from 0.25 to 16 cycles per log unit (so a small
    projection can resolve both short and long gaps), and the features of
    all durations of a step are projected to `output_dim`.

    Args:
        output_dim: int. Size of the encoding.
        num_frequencies: int. Sinusoid frequencies per duration.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor `(batch, steps, n_durations)`, in days.

    Returns:
        Float tensor `(batch, steps, output_dim)`.

    Example:

    >>> layer = TimeGapEncoding(output_dim=8)
    >>> layer(np.array([[[30.0, 0.0], [2.0, 28.0]]])).shape
    (1, 2, 8)
    """

    def __init__(self, output_dim, num_frequencies=8, **kwargs):
        super().__init__(**kwargs)
        check_positive_integers(output_dim=output_dim, num_frequencies=num_frequencies)
        self.output_dim = int(output_dim)
        self.num_frequencies = int(num_frequencies)
        self._frequencies = (2.0 * np.pi * np.geomspace(0.25, 16.0, self.num_frequencies)).astype(
            "float32"
        )

    def build(self, inputs_shape):
        n_durations = known_last_axis(self, inputs_shape)
        self._projection = keras.layers.Dense(
            self.output_dim, dtype=self.dtype_policy, name="projection"
        )
        self._projection.build((*inputs_shape[:-1], n_durations * (1 + 2 * self.num_frequencies)))

    def features(self, inputs):
        """The fixed features before the projection: log durations and their sinusoids."""
        log_days = ops.log1p(ops.maximum(ops.cast(inputs, self.compute_dtype), 0.0))
        angles = log_days[..., None] * ops.cast(self._frequencies, self.compute_dtype)
        parts = ops.concatenate([log_days[..., None] / 5.0, ops.sin(angles), ops.cos(angles)], -1)
        shape = ops.shape(parts)
        return ops.reshape(parts, (*shape[:-2], shape[-2] * shape[-1]))

    def call(self, inputs):
        return self._projection(self.features(inputs))

    def compute_output_shape(self, inputs_shape):
        return (*inputs_shape[:-1], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update({"output_dim": self.output_dim, "num_frequencies": self.num_frequencies})
        return config
