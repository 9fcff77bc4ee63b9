"""A Keras callback that ends training when a fit's time budget is spent."""

import time

import keras


class TimeBudget(keras.callbacks.Callback):
    """Stops training at a deadline, checked after every batch and epoch.

    The deadline belongs to the whole `fit` of an estimator, so a fit that
    trains in stages (an exact linear path, then the deep path; a head, then
    the backbone) shares one budget. With early stopping in the same run,
    Keras' `EarlyStopping(restore_best_weights=True)` restores the best
    epoch's weights when training ends, whichever callback ended it. The
    epoch cut short is still validated.

    Args:
        deadline: the `time.monotonic()` value at which to stop.

    Attributes:
        stopped: whether this callback ended the training.
    """

    def __init__(self, deadline):
        super().__init__()
        self.deadline = float(deadline)
        self.stopped = False

    def _check(self):
        if time.monotonic() >= self.deadline:
            self.model.stop_training = True
            self.stopped = True

    def on_train_batch_end(self, batch, logs=None):
        self._check()

    def on_epoch_end(self, epoch, logs=None):
        self._check()
