"""The base of the losses for models that output one prediction per ensemble member."""

import abc

import keras
from keras import ops


class EnsembleLoss(keras.losses.Loss, abc.ABC):
    """Mean loss over the members of an ensemble, each member trained on its own loss.

    The loss of the average would let members specialise and lose the
    variance reduction that ensembling buys.

    With `masked_members=M`, the last `M` columns of `y_true` weigh each
    member's loss on that row (0 or 1 in practice). That is how members are
    cross-fitted: member k does not train on fold k, and the validation
    loss of a row is the loss of the one member that did not see it.
    Subclasses say what one member's loss on one row is (`_per_member`).

    Args:
        masked_members: None, or the number of per-member weight columns
            appended to `y_true`.

    Call arguments:
        y_true: `(batch, n_target_columns)`; with `masked_members`, followed by
            that many member-weight columns.
        y_pred: `(batch, n_members, n_outputs)`.

    Returns:
        Per-example loss, shape `(batch,)`: the mean over members (weighted
        by the member weights when given).
    """

    def __init__(self, masked_members=None, name=None, **kwargs):
        if masked_members is not None and (
            not isinstance(masked_members, int) or masked_members < 1
        ):
            raise ValueError(
                "`masked_members` must be None or a positive integer. "
                f"Received: masked_members={masked_members!r}"
            )
        super().__init__(name=name, **kwargs)
        self.masked_members = masked_members

    def call(self, y_true, y_pred):
        if self.masked_members is None:
            return ops.mean(self._per_member(y_true, y_pred, None), axis=-1)
        y_true = ops.cast(y_true, y_pred.dtype)
        member_weights = y_true[:, -self.masked_members :]
        per_member = self._per_member(y_true[:, : -self.masked_members], y_pred, member_weights)
        total = ops.sum(member_weights * per_member, axis=-1)
        return total / ops.maximum(ops.sum(member_weights, axis=-1), 1e-7)

    @abc.abstractmethod
    def _per_member(self, y_true, y_pred, member_weights):
        """Loss of each member on each row, `(batch, n_members)`.

        `member_weights` (`(batch, n_members)` or None) are the rows each member
        counts; only a loss over the whole batch (Cox's risk sets) reads them.
        """

    def get_config(self):
        config = super().get_config()
        config["masked_members"] = self.masked_members
        return config
