"""Unpacks a flat row into a patient's visits and sparse history features."""

import keras
from keras import ops

from core.layers.layer_checks import check_booleans, check_integers_at_least


@keras.saving.register_keras_serializable(package="keras_domains")
class VisitSequenceSplit(keras.layers.Layer):
    """Splits `[codes | values | times | wide ids | wide values]` into named tensors.

    A flat float layout keeps the model single-input, so one compiled
    function serves predictions (ids travel as floats, exact below 2**24).
    The blocks, in order:

    - `codes`: `num_visits * num_codes` code ids, visit by visit (0: padding);
    - `values`: as many standardized values (only with `use_values`);
    - `times`: `num_visits * 2` durations in days: before the prediction
      time, and since the previous visit;
    - `wide_ids`, `wide_values`: `wide_slots` sparse feature ids and values
      (only when `wide_slots > 0`).

    Args:
        num_visits: int. Visit slots per row.
        num_codes: int. Code slots per visit.
        use_values: bool. Whether the row has the values block.
        wide_slots: int. Sparse feature slots (0: no wide blocks).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: float tensor `(batch, width)`, `width` as `flat_width(...)`.

    Returns:
        A dict with `codes` `(batch, num_visits, num_codes)` (float ids),
        `values` (with `use_values`), `times` `(batch, num_visits, 2)`,
        `visit_mask` `(batch, num_visits)` booleans (True where the visit has
        a code), and `wide_ids`, `wide_values` `(batch, wide_slots)` (when
        `wide_slots > 0`).
    """

    def __init__(self, num_visits, num_codes, use_values=False, wide_slots=0, **kwargs):
        super().__init__(**kwargs)
        check_integers_at_least(
            ("num_visits", num_visits, 1),
            ("num_codes", num_codes, 1),
            ("wide_slots", wide_slots, 0),
        )
        check_booleans(use_values=use_values)
        self.num_visits = int(num_visits)
        self.num_codes = int(num_codes)
        self.use_values = use_values
        self.wide_slots = int(wide_slots)

    @staticmethod
    def flat_width(num_visits, num_codes, use_values=False, wide_slots=0):
        """Width of the flat row for this layout."""
        cells = num_visits * num_codes
        return cells * (2 if use_values else 1) + 2 * num_visits + 2 * wide_slots

    def _blocks(self):
        v, c, k = self.num_visits, self.num_codes, self.wide_slots
        blocks = [("codes", v * c, (v, c))]
        if self.use_values:
            blocks.append(("values", v * c, (v, c)))
        blocks.append(("times", 2 * v, (v, 2)))
        if k:
            blocks += [("wide_ids", k, (k,)), ("wide_values", k, (k,))]
        return blocks

    def call(self, inputs):
        outputs, start = {}, 0
        for name, size, shape in self._blocks():
            outputs[name] = ops.reshape(inputs[:, start : start + size], (-1, *shape))
            start += size
        outputs["visit_mask"] = ops.any(ops.not_equal(outputs["codes"], 0), axis=-1)
        return outputs

    def compute_output_spec(self, inputs):
        batch = inputs.shape[0]
        outputs = {
            name: keras.KerasTensor((batch, *shape), dtype=self.compute_dtype)
            for name, _, shape in self._blocks()
        }
        outputs["visit_mask"] = keras.KerasTensor((batch, self.num_visits), dtype="bool")
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_visits": self.num_visits,
                "num_codes": self.num_codes,
                "use_values": self.use_values,
                "wide_slots": self.wide_slots,
            }
        )
        return config
