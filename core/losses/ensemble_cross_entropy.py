"""Cross-entropy for models that output one set of logits per ensemble member."""

import keras
from keras import ops

MODES = ("binary", "multiclass", "multilabel")


@keras.saving.register_keras_serializable(package="keras_domains")
class EnsembleCrossEntropy(keras.losses.Loss):
    """Mean cross-entropy over the members of an ensemble, from logits.

    Each member is trained on its own loss (the loss of the average would let
    members specialise and lose the variance reduction that ensembling buys).

    With `masked_members=M`, the last `M` columns of `y_true` weigh each
    member's loss on that row (0 or 1 in practice). That is how members are
    cross-fitted: member k does not train on fold k, and the validation
    loss of a row is the loss of the one member that did not see it.

    Args:
        mode: `"binary"` and `"multilabel"` use a sigmoid per output,
            `"multiclass"` a softmax with integer targets.
        masked_members: None, or the number of per-member weight columns
            appended to `y_true`.

    Call arguments:
        y_true: `(batch, n_outputs)` floats for binary and multilabel targets,
            `(batch,)` or `(batch, 1)` class ids for multiclass targets; with
            `masked_members`, followed by that many member-weight columns.
        y_pred: logits of shape `(batch, n_members, n_outputs)`.

    Returns:
        Per-example loss, shape `(batch,)`: the mean over members (weighted
        by the member weights when given).
    """

    def __init__(self, mode="binary", masked_members=None, name="ensemble_cross_entropy", **kwargs):
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        if masked_members is not None and (
            not isinstance(masked_members, int) or masked_members < 1
        ):
            raise ValueError(
                "`masked_members` must be None or a positive integer. "
                f"Received: masked_members={masked_members!r}"
            )
        super().__init__(name=name, **kwargs)
        self.mode = mode
        self.masked_members = masked_members

    def call(self, y_true, y_pred):
        if self.masked_members is None:
            return ops.mean(self._per_member(y_true, y_pred), axis=-1)
        y_true = ops.cast(y_true, y_pred.dtype)
        member_weights = y_true[:, -self.masked_members :]
        per_member = self._per_member(y_true[:, : -self.masked_members], y_pred)
        total = ops.sum(member_weights * per_member, axis=-1)
        return total / ops.maximum(ops.sum(member_weights, axis=-1), 1e-7)

    def _per_member(self, y_true, y_pred):
        """Loss of each member on each row, `(batch, n_members)`."""
        if self.mode == "multiclass":
            labels = ops.cast(ops.reshape(y_true, (-1, 1)), "int32")
            labels = ops.broadcast_to(labels, ops.shape(y_pred)[:2])
            return keras.losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=True)
        targets = ops.expand_dims(ops.cast(y_true, y_pred.dtype), axis=1)
        targets = ops.broadcast_to(targets, ops.shape(y_pred))
        per_output = ops.binary_crossentropy(targets, y_pred, from_logits=True)
        return ops.mean(per_output, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "masked_members": self.masked_members})
        return config
