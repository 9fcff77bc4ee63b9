"""Unpacks a flat row into the current event and its history, for sequence models."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_domains")
class EventHistorySplit(keras.layers.Layer):
    """Splits `[current | history events | history gaps | history present]`.

    A flat layout keeps the model single-input, so one compiled function
    serves predictions. The history holds the `window` preceding events,
    oldest first; absent ones (at the start of a sequence) have present = 0.

    Args:
        num_features: features per event.
        window: number of history slots (0: the current event only).

    Call arguments:
        inputs: `(batch, num_features + window * (num_features + 2))`.

    Returns:
        `(events, gaps, mask)`: `events` `(batch, window + 1, num_features)`
        with the current event last; `gaps` `(batch, window + 1, 1)`, the
        current event's gap 0; `mask` `(batch, window + 1)` booleans, the
        current event always present.
    """

    def __init__(self, num_features, window, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_features, int) or num_features < 1:
            raise ValueError(
                f"`num_features` must be a positive integer. Received: num_features={num_features}"
            )
        if not isinstance(window, int) or window < 0:
            raise ValueError(f"`window` must be an integer >= 0. Received: window={window}")
        self.num_features = num_features
        self.window = window

    def call(self, inputs):
        f, w = self.num_features, self.window
        current = inputs[:, None, :f]
        if w == 0:
            ones = ops.ones_like(inputs[:, :1])
            return current, ops.zeros_like(ones)[:, :, None], ops.cast(ones, "bool")
        history = ops.reshape(inputs[:, f : f + w * f], (-1, w, f))
        gaps = inputs[:, f + w * f : f + w * f + w]
        present = inputs[:, f + w * f + w : f + w * f + 2 * w]
        events = ops.concatenate([history, current], axis=1)
        gaps = ops.concatenate([gaps, ops.zeros_like(gaps[:, :1])], axis=1)[:, :, None]
        present = ops.concatenate([present, ops.ones_like(present[:, :1])], axis=1)
        return events, gaps, ops.greater(present, 0.5)

    def compute_output_spec(self, inputs):
        steps = self.window + 1
        batch = inputs.shape[0]
        return (
            keras.KerasTensor((batch, steps, self.num_features), dtype=self.compute_dtype),
            keras.KerasTensor((batch, steps, 1), dtype=self.compute_dtype),
            keras.KerasTensor((batch, steps), dtype="bool"),
        )

    def get_config(self):
        config = super().get_config()
        config.update({"num_features": self.num_features, "window": self.window})
        return config
