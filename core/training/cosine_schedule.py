"""A Keras callback that sets the learning rate: linear warm-up, then cosine decay to zero."""

import math
import time

import keras


class CosineSchedule(keras.callbacks.Callback):
    """Linear warm-up to `peak`, then a cosine decay that reaches zero at the last epoch.

    A model trained to the end of a decayed schedule converges in far fewer
    epochs than one at a constant rate (Loshchilov and Hutter, 2017; Smith's
    one-cycle policy). The last epoch is the one the schedule plans for: with a
    `deadline`, after every epoch the horizon shrinks to the epochs that still
    fit in the time left (at the pace measured after each epoch's first batch,
    which may trace graphs), so a fit with a time budget still ends annealed
    instead of being cut at a high rate. Training stops at the horizon.

    Args:
        peak: the learning rate after warm-up.
        epochs: the epochs planned (the schedule's horizon).
        warmup_epochs: epochs of linear warm-up from `peak / 10`.
        deadline: None, or the `time.monotonic()` value at which training ends.

    Attributes:
        horizon: the epochs the schedule decays over, after any shrinking.
    """

    def __init__(self, peak, epochs, warmup_epochs=1, deadline=None):
        super().__init__()
        if epochs < 1:
            raise ValueError(f"`epochs` must be at least 1. Received: epochs={epochs}")
        self.peak = float(peak)
        self.horizon = int(epochs)
        self.warmup_epochs = min(int(warmup_epochs), self.horizon - 1)
        self.deadline = deadline
        self._epoch = 0
        self._steps = None
        self._epoch_started = None
        self._first_batch_ended = None
        self._epoch_seconds = []

    def rate(self, epoch_fraction):
        """The learning rate at `epoch_fraction` epochs since the start of training."""
        if epoch_fraction < self.warmup_epochs:
            return self.peak * (0.1 + 0.9 * epoch_fraction / self.warmup_epochs)
        span = max(self.horizon - self.warmup_epochs, 1e-9)
        progress = min((epoch_fraction - self.warmup_epochs) / span, 1.0)
        return self.peak * 0.5 * (1.0 + math.cos(math.pi * progress))

    def on_train_begin(self, logs=None):
        self._steps = (self.params or {}).get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_started = time.monotonic()
        self._first_batch_ended = None

    def _steady_seconds(self, now):
        """The epoch's duration at the pace after its first batch, which also traces the graph."""
        first_batch = self._first_batch_ended
        if first_batch is None or not self._steps or self._steps < 2:
            return now - self._epoch_started
        return (now - first_batch) * self._steps / (self._steps - 1)

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            self._first_batch_ended = time.monotonic()

    def on_train_batch_begin(self, batch, logs=None):
        # Without a known epoch length (a dataset of unknown size) the rate moves per epoch.
        fraction = batch / self._steps if self._steps else 0.0
        self.model.optimizer.learning_rate = self.rate(self._epoch + fraction)

    def on_epoch_end(self, epoch, logs=None):
        if self.deadline is not None and self._epoch_started is not None:
            now = time.monotonic()
            self._epoch_seconds.append(self._steady_seconds(now))
            per_epoch = sum(self._epoch_seconds) / len(self._epoch_seconds)
            fits = epoch + 1 + int(max(self.deadline - now, 0.0) // per_epoch)
            self.horizon = max(min(self.horizon, fits), epoch + 1)
        if epoch + 1 >= self.horizon:  # The rate has reached zero: nothing more to learn.
            self.model.stop_training = True
