import keras
import numpy as np

from core.inference.inference_function import InferenceFunction


class HeldOutMetric(keras.callbacks.Callback):
    """Adds a task's metric on the held-out rows to each epoch's logs (e.g. `val_auc`).

    Keras' own metrics would see the ensemble's raw outputs and, with
    cross-fitted members, every member on every row; this one scores each
    row by the member that did not train on it, as `val_loss` does.

    Args:
        name: the log key, e.g. `"val_auc"`.
        inputs: the held-out rows' model inputs.
        score: `outputs -> float`, given the model's outputs on `inputs`,
            `(n, n_members, n_outputs)`, reduced to each row's held-out member
            when `folds` is given.
        folds: the member that held out each row, or None.
    """

    def __init__(self, name, inputs, score, folds=None):
        super().__init__()
        self.name, self.inputs, self.score, self.folds = name, inputs, score, folds
        self._predict = None

    def on_train_begin(self, logs=None):
        self._predict = InferenceFunction(self.model)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        outputs = np.asarray(self._predict(self.inputs))
        if self.folds is not None:
            outputs = outputs[np.arange(len(outputs)), self.folds][:, None, :]
        logs[self.name] = float(self.score(outputs))
