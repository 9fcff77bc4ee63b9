"""Survival losses for models that output one prediction per ensemble member."""

import keras
from keras import ops

from core.losses.ensemble_loss import EnsembleLoss


def interval_hazards(outputs, log_baseline, deviation_scale):
    """Each interval's hazard from a piecewise-hazard model's outputs.

    `log hazard_k = log_baseline_k + outputs[0] + deviation_scale * outputs[1 + k]`:
    the baseline is fixed at fit time (the intervals' hazards without covariates),
    `outputs[0]` is a log-risk shared by every interval (what a Cox model has), and
    the per-interval deviations let a row's hazard ratio change over time. Scaling
    the deviations down makes them cost more weight, so the fit stays near
    proportional hazards unless the data show otherwise.

    Args:
        outputs: `(..., 1 + n_intervals)`.
        log_baseline: `(n_intervals,)` log hazards of the intervals.
        deviation_scale: weight of the per-interval deviations.

    Returns:
        `(..., n_intervals)` hazards, each the cumulative hazard of its whole interval.
    """
    log_baseline = ops.cast(ops.convert_to_tensor(log_baseline), outputs.dtype)
    log_hazard = log_baseline + outputs[..., :1] + deviation_scale * outputs[..., 1:]
    return ops.exp(ops.clip(log_hazard, -30.0, 30.0))


@keras.saving.register_keras_serializable(package="keras_domains")
class PiecewiseHazardLoss(EnsembleLoss):
    """Negative log-likelihood of a piecewise-constant hazard over learned time intervals.

    Time is cut into intervals (at quantiles of the event times); the model
    outputs, per interval, the hazard accumulated over the whole interval
    (constant within it). A row with time t in interval k has been exposed to
    every earlier interval in full and to the share of interval k up to t;
    the log-likelihood is `event * log(hazard_k) - sum of hazard * exposure`.
    Censored times are used exactly, not rounded to an interval's end (which
    biases the survival of a discrete-time model upwards under heavy
    censoring). The intervals' hazards are free, so the hazard ratio between
    two rows may change over time: no proportional-hazards assumption. This
    is the PC-Hazard model of Kvamme & Borgan (2021), a continuous-time form
    of the discrete-time hazards of nnet-survival and the logistic hazard.

    See `EnsembleLoss` for the members and their cross-fitting masks.

    Call arguments:
        y_true: `(batch, 3)`: the interval index of the event or censoring
            time, the event flag (1 event, 0 censored), and the share of that
            interval elapsed at the time; with `masked_members`, followed by
            that many member-weight columns.
        y_pred: `(batch, n_members, 1 + n_intervals)`, read through `interval_hazards`.

    Args:
        log_baseline: the intervals' log hazards without covariates.
        deviation_scale: weight of the per-interval deviations (see `interval_hazards`).
        masked_members: None, or the number of per-member weight columns.
    """

    def __init__(
        self,
        log_baseline,
        deviation_scale=1.0,
        masked_members=None,
        name="piecewise_hazard_loss",
        **kwargs,
    ):
        super().__init__(masked_members=masked_members, name=name, **kwargs)
        self.log_baseline = [float(v) for v in log_baseline]
        self.deviation_scale = float(deviation_scale)

    def _per_member(self, y_true, y_pred, member_weights):
        y_true = ops.cast(y_true, y_pred.dtype)
        n_intervals = len(self.log_baseline)
        interval = ops.cast(y_true[:, 0], "int32")
        positions = ops.arange(n_intervals, dtype="int32")
        before = ops.cast(positions[None, :] < interval[:, None], y_pred.dtype)
        current = ops.cast(positions[None, :] == interval[:, None], y_pred.dtype)
        exposure = before + current * y_true[:, 2:3]
        hazard = interval_hazards(y_pred, self.log_baseline, self.deviation_scale)
        cumulative = ops.sum(hazard * ops.expand_dims(exposure, 1), axis=-1)
        log_hazard = ops.sum(ops.log(hazard) * ops.expand_dims(current, 1), axis=-1)
        return cumulative - ops.expand_dims(y_true[:, 1], 1) * log_hazard

    def get_config(self):
        config = super().get_config()
        config.update({"log_baseline": self.log_baseline, "deviation_scale": self.deviation_scale})
        return config


@keras.saving.register_keras_serializable(package="keras_domains")
class CoxPartialLikelihood(EnsembleLoss):
    """Negative Cox partial log-likelihood over the batch (DeepSurv; Katzman et al., 2018).

    The model outputs one log-risk per row; an event at time t contributes
    `log sum_{j at risk at t} exp(f_j) - f_i`, the risk set being the rows of
    the batch whose time is at least t (Breslow's handling of ties). The
    loss only ranks rows, so it assumes proportional hazards: one row's
    hazard is a constant multiple of another's at every time.

    With `masked_members`, a member's risk sets hold only the rows it trains
    on (or, for validation, the rows it held out). Sample weights weigh each
    row's term, not its place in others' risk sets.

    Call arguments:
        y_true: `(batch, 2)`: time and event flag; with `masked_members`,
            followed by that many member-weight columns.
        y_pred: log-risks `(batch, n_members, 1)`.
    """

    def __init__(self, masked_members=None, name="cox_partial_likelihood", **kwargs):
        super().__init__(masked_members=masked_members, name=name, **kwargs)

    def _per_member(self, y_true, y_pred, member_weights):
        y_true = ops.cast(y_true, y_pred.dtype)
        log_risk = y_pred[..., 0]
        weights = ops.ones_like(log_risk) if member_weights is None else member_weights
        time, event = y_true[:, 0], y_true[:, 1]
        # at_risk[i, j]: row j is still at risk at row i's time.
        at_risk = ops.cast(time[None, :] >= time[:, None], y_pred.dtype)
        shift = ops.stop_gradient(ops.max(log_risk, axis=0, keepdims=True))
        risk_sums = ops.matmul(at_risk, ops.exp(log_risk - shift) * weights)
        log_sums = ops.log(ops.maximum(risk_sums, 1e-30)) + shift
        return ops.expand_dims(event, 1) * (log_sums - log_risk)
