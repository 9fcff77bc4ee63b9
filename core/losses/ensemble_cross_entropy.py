"""Cross-entropy for models that output one set of logits per ensemble member."""

import keras
from keras import ops

MODES = ("binary", "multiclass", "multilabel")


@keras.saving.register_keras_serializable(package="keras_domains")
class EnsembleCrossEntropy(keras.losses.Loss):
    """Mean cross-entropy over the members of an ensemble, from logits.

    Each member is trained on its own loss (the loss of the average would let
    members specialise and lose the variance reduction that ensembling buys).

    Args:
        mode: `"binary"` and `"multilabel"` use a sigmoid per output,
            `"multiclass"` a softmax with integer targets.

    Call arguments:
        y_true: `(batch, n_outputs)` floats for binary and multilabel targets,
            `(batch,)` integer class ids for multiclass targets.
        y_pred: logits of shape `(batch, n_members, n_outputs)`.

    Returns:
        Per-example loss, shape `(batch,)`.
    """

    def __init__(self, mode="binary", name="ensemble_cross_entropy", **kwargs):
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        super().__init__(name=name, **kwargs)
        self.mode = mode

    def call(self, y_true, y_pred):
        if self.mode == "multiclass":
            labels = ops.cast(ops.reshape(y_true, (-1, 1)), "int32")
            labels = ops.broadcast_to(labels, ops.shape(y_pred)[:2])
            per_member = keras.losses.sparse_categorical_crossentropy(
                labels, y_pred, from_logits=True
            )
        else:
            targets = ops.expand_dims(ops.cast(y_true, y_pred.dtype), axis=1)
            targets = ops.broadcast_to(targets, ops.shape(y_pred))
            per_output = ops.binary_crossentropy(targets, y_pred, from_logits=True)
            per_member = ops.mean(per_output, axis=-1)
        return ops.mean(per_member, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
