"""Cross-entropy for models that output one set of logits per ensemble member."""

import keras
from keras import ops

from core.losses.ensemble_loss import EnsembleLoss

MODES = ("binary", "multiclass", "multilabel")


@keras.saving.register_keras_serializable(package="keras_domains")
class EnsembleCrossEntropy(EnsembleLoss):
    """Mean cross-entropy over the members of an ensemble, from logits.

    See `EnsembleLoss` for the members and their cross-fitting masks.

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
    """

    def __init__(self, mode="binary", masked_members=None, name="ensemble_cross_entropy", **kwargs):
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        super().__init__(masked_members=masked_members, name=name, **kwargs)
        self.mode = mode

    def _per_member(self, y_true, y_pred, member_weights):
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
        config["mode"] = self.mode
        return config
