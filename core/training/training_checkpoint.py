"""Saves the training state each epoch so that a killed `fit` resumes where it stopped."""

import json
import os

import keras
import numpy as np

from core.persistence.atomic_file import atomic_write

FILE_PREFIX = "checkpoint-"


class TrainingCheckpoint(keras.callbacks.Callback):
    """Keras callback: the whole training state after each epoch, in one atomically written file.

    The file holds the model's weights, the optimizer's variables (Adam's
    moments and step count), the history so far and the early-stopping
    state (best loss, patience used, best weights). It is written to a
    temporary name and renamed, so a process killed at any instant leaves
    either the previous epoch's file or this one, never a torn one. Keras'
    own `BackupAndRestore` restores the weights, the optimizer and the
    epoch, but not the early-stopping state (a resumed run would restart its
    patience and lose its best weights) nor the history, and it writes the
    weights and the epoch as two files, so a kill between them leaves a
    pair that disagree.

    Before training, `restore()` loads the file if there is one; the caller
    then starts at `initial_epoch`. A file from a different run (another
    model or other data) is refused rather than resumed.

    Args:
        directory: folder for the checkpoint files; created if missing.
        stage: name of this training run within one `fit` (a fine-tuning
            `fit` trains twice), so that each has its own file.
        fingerprint: a string that identifies the run: the estimator's
            parameters and the data's shape and digest.
        early_stopping: the run's `EarlyStopping` callback, or None. It must
            come before this callback in the callback list, so that an
            epoch's file includes that epoch's early-stopping decision.
    """

    def __init__(self, directory, stage, fingerprint, early_stopping=None):
        super().__init__()
        self.directory = os.fspath(directory)
        self.stage = stage
        self.fingerprint = fingerprint
        self.early_stopping = early_stopping
        self.path = os.path.join(self.directory, f"{FILE_PREFIX}{stage}.npz")
        self.initial_epoch = 0
        self.history = {}
        self.finished = False
        self._saved = None
        self._optimizer = None
        self._last_epoch = None

    # ------------------------------------------------------------ restore
    def restore(self, model, optimizer):
        """Loads the last saved epoch into `model` and `optimizer`, if a file exists.

        Args:
            model: the freshly built model of the same run.
            optimizer: its optimizer (built here if it is not yet).

        Returns:
            The epoch to start at (0 when there is nothing to resume). Call it
            before training even then: it binds the optimizer to be saved.

        Raises:
            ValueError: if the file belongs to another run, or cannot be read.
        """
        self._optimizer = optimizer
        if not os.path.exists(self.path):
            return 0
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
            info = json.loads(str(arrays.pop("info")))
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(
                f"`checkpoint_dir`: {self.path!r} is not a readable training checkpoint "
                f"({error}). Delete it to start over."
            ) from error
        if info["fingerprint"] != self.fingerprint:
            raise ValueError(
                f"`checkpoint_dir`: {self.path!r} was saved by a different training run "
                "(other parameters or other data); resuming it would mix two runs. Use an "
                "empty folder, or delete the file to start over."
            )
        model.set_weights(_unpack(arrays, "model", info["n_model"]))
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        for variable, value in zip(
            optimizer.variables, _unpack(arrays, "optimizer", info["n_optimizer"]), strict=True
        ):
            variable.assign(value)
        self._saved = info
        if info["n_best"]:
            self._saved["best_weights"] = _unpack(arrays, "best", info["n_best"])
        self.history = info["history"]
        self.finished = info["finished"]
        self.initial_epoch = info["epoch"]
        return self.initial_epoch

    def on_train_begin(self, logs=None):
        # EarlyStopping resets itself in its own on_train_begin, which runs first.
        saved, stopping = self._saved, self.early_stopping
        if saved is None or stopping is None or saved["early_stopping"] is None:
            return
        state = saved["early_stopping"]
        stopping.wait = state["wait"]
        stopping.best = state["best"]
        stopping.best_epoch = state["best_epoch"]
        stopping.stopped_epoch = state["stopped_epoch"]
        stopping.best_weights = saved.get("best_weights")

    # --------------------------------------------------------------- save
    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.finished = bool(self.model.stop_training)
        self.save(epoch + 1)

    def mark_finished(self):
        """Records that this stage ran to its end, so a resumed `fit` skips it."""
        self.finished = True
        if self._last_epoch is not None:
            self.save(self._last_epoch)

    def save(self, epoch):
        """Writes the state after `epoch` completed epochs, atomically."""
        os.makedirs(self.directory, exist_ok=True)
        stopping = self.early_stopping
        best_weights = (
            [] if stopping is None or stopping.best_weights is None else stopping.best_weights
        )
        info = {
            "fingerprint": self.fingerprint,
            "epoch": int(epoch),
            "finished": self.finished,
            "history": self.history,
            "n_model": len(self.model.weights),
            "n_optimizer": len(self._optimizer.variables),
            "n_best": len(best_weights),
            "early_stopping": None
            if stopping is None
            else {
                "wait": int(stopping.wait),
                "best": None if stopping.best is None else float(stopping.best),
                "best_epoch": int(stopping.best_epoch),
                "stopped_epoch": int(stopping.stopped_epoch),
            },
        }
        arrays = {"info": np.array(json.dumps(info))}
        arrays.update(_pack("model", self.model.get_weights()))
        arrays.update(_pack("optimizer", [np.asarray(v) for v in self._optimizer.variables]))
        arrays.update(_pack("best", best_weights))
        with atomic_write(self.path, what="training checkpoint") as f:
            np.savez(f, **arrays)
        self._last_epoch = int(epoch)

    def remove(self):
        """Deletes this stage's file (after the whole `fit` succeeded)."""
        if os.path.exists(self.path):
            os.remove(self.path)


def _pack(prefix, values):
    return {f"{prefix}_{i}": np.asarray(v) for i, v in enumerate(values)}


def _unpack(arrays, prefix, count):
    return [arrays[f"{prefix}_{i}"] for i in range(count)]
