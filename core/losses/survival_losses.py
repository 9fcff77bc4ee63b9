"""Survival losses for models that output one prediction per ensemble member."""

import keras
from keras import ops

from core.losses.ensemble_loss import EnsembleLoss


@keras.saving.register_keras_serializable(package="keras_domains")
class DiscreteHazardLoss(EnsembleLoss):
    """Negative log-likelihood of a discrete-time hazard model (logistic hazard).

    Time is cut into intervals; the model outputs, per interval, the logit
    of the hazard: the probability that the event happens in that interval
    given that it had not happened before (Brown, 1975; Gensheimer & Narasimhan's
    nnet-survival, 2019; Kvamme & Borgan's logistic hazard, 2021). A row
    whose event falls in interval k contributes "no event" in intervals
    0..k-1 and "event" in k; a row censored in interval k contributes "no
    event" in 0..k. The hazards of different intervals are free, so the
    hazard ratio between two rows may change over time: no proportional
    hazards assumption.

    See `EnsembleLoss` for the members and their cross-fitting masks.

    Call arguments:
        y_true: `(batch, 2)`: the interval index of the event or censoring
            time, and the event flag (1 event, 0 censored); with
            `masked_members`, followed by that many member-weight columns.
        y_pred: hazard logits `(batch, n_members, n_intervals)`.
    """

    def __init__(self, masked_members=None, name="discrete_hazard_loss", **kwargs):
        super().__init__(masked_members=masked_members, name=name, **kwargs)

    def _per_member(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        n_intervals = ops.shape(y_pred)[-1]
        interval = ops.cast(y_true[:, 0], "int32")
        positions = ops.arange(n_intervals, dtype="int32")
        at_risk = ops.cast(positions[None, :] <= interval[:, None], y_pred.dtype)
        happened = ops.cast(positions[None, :] == interval[:, None], y_pred.dtype)
        targets = happened * y_true[:, 1:2]
        targets = ops.broadcast_to(ops.expand_dims(targets, 1), ops.shape(y_pred))
        per_interval = ops.binary_crossentropy(targets, y_pred, from_logits=True)
        return ops.sum(per_interval * ops.expand_dims(at_risk, 1), axis=-1)


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

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        log_risk = y_pred[..., 0]
        if self.masked_members is None:
            weights = ops.ones_like(log_risk)
        else:
            weights = y_true[:, -self.masked_members :]
        time, event = y_true[:, 0], y_true[:, 1]
        # at_risk[i, j]: row j is still at risk at row i's time.
        at_risk = ops.cast(time[None, :] >= time[:, None], y_pred.dtype)
        shift = ops.stop_gradient(ops.max(log_risk, axis=0, keepdims=True))
        risk_sums = ops.matmul(at_risk, ops.exp(log_risk - shift) * weights)
        log_sums = ops.log(ops.maximum(risk_sums, 1e-30)) + shift
        per_member = ops.expand_dims(event, 1) * (log_sums - log_risk) * weights
        return ops.sum(per_member, axis=-1) / ops.maximum(ops.sum(weights, axis=-1), 1e-7)

    def _per_member(self, y_true, y_pred):
        raise NotImplementedError("The Cox loss is computed over the batch in `call`.")
