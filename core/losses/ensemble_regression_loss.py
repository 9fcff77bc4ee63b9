"""Regression losses for models that output one prediction per ensemble member."""

import keras
from keras import ops

from core.losses.ensemble_loss import EnsembleLoss

REGRESSION_LOSSES = ("squared_error", "absolute_error", "huber", "quantile")


def ordered_quantiles(outputs, n_quantiles):
    """Quantile predictions that cannot cross, from a model's unconstrained outputs.

    The first output of each target is its lowest quantile; each further one
    adds a softplus (positive) step, so the quantiles increase by
    construction rather than by sorting after the fact.

    Args:
        outputs: `(..., n_targets * n_quantiles)` tensor or array.
        n_quantiles: quantiles per target.

    Returns:
        `(..., n_targets, n_quantiles)` tensor, increasing along the last axis.
    """
    shape = ops.shape(outputs)
    outputs = ops.reshape(outputs, (*shape[:-1], -1, n_quantiles))
    if n_quantiles == 1:
        return outputs
    steps = outputs[..., 1:]
    # softplus spelled out: onnxruntime has no float64 Softplus for exported graphs.
    steps = ops.maximum(steps, 0.0) + ops.log1p(ops.exp(-ops.abs(steps)))
    return ops.concatenate([outputs[..., :1], outputs[..., :1] + ops.cumsum(steps, axis=-1)], -1)


@keras.saving.register_keras_serializable(package="keras_domains")
class EnsembleRegressionLoss(EnsembleLoss):
    """Squared, absolute, Huber or pinball (quantile) loss, per ensemble member.

    See `EnsembleLoss` for the members and their cross-fitting masks.

    Args:
        kind: one of `REGRESSION_LOSSES`.
        quantiles: increasing levels in (0, 1), for `kind="quantile"`; the
            outputs are read through `ordered_quantiles`.
        delta: where the Huber loss turns from squared to linear, in the
            (standardised) target's units.
        masked_members: None, or the number of per-member weight columns
            appended to `y_true`.

    Call arguments:
        y_true: `(batch, n_targets)`; with `masked_members`, followed by that
            many member-weight columns.
        y_pred: `(batch, n_members, n_targets)`, or `(batch, n_members,
            n_targets * n_quantiles)` for the quantile loss.
    """

    def __init__(
        self,
        kind="squared_error",
        quantiles=None,
        delta=1.0,
        masked_members=None,
        name="ensemble_regression_loss",
        **kwargs,
    ):
        if kind not in REGRESSION_LOSSES:
            raise ValueError(f"`kind` must be one of {REGRESSION_LOSSES}. Received: kind={kind!r}")
        if kind == "quantile" and not quantiles:
            raise ValueError("kind='quantile' needs `quantiles`, increasing levels in (0, 1).")
        super().__init__(masked_members=masked_members, name=name, **kwargs)
        self.kind = kind
        self.quantiles = None if quantiles is None else [float(q) for q in quantiles]
        self.delta = float(delta)

    def _per_member(self, y_true, y_pred, member_weights):
        targets = ops.expand_dims(ops.cast(y_true, y_pred.dtype), axis=1)
        if self.kind == "quantile":
            predicted = ordered_quantiles(y_pred, len(self.quantiles))
            error = ops.expand_dims(targets, -1) - predicted
            levels = ops.convert_to_tensor(self.quantiles, dtype=y_pred.dtype)
            pinball = ops.maximum(levels * error, (levels - 1.0) * error)
            return ops.mean(pinball, axis=(-2, -1))
        error = targets - y_pred
        if self.kind == "squared_error":
            per_target = ops.square(error)
        elif self.kind == "absolute_error":
            per_target = ops.abs(error)
        else:
            absolute = ops.abs(error)
            linear = ops.minimum(absolute, self.delta)
            per_target = 0.5 * ops.square(linear) + self.delta * (absolute - linear)
        return ops.mean(per_target, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"kind": self.kind, "quantiles": self.quantiles, "delta": self.delta})
        return config
