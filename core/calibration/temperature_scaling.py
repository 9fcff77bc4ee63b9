"""Temperature scaling: one parameter that softens or sharpens every probability."""

import numpy as np
from scipy.optimize import minimize_scalar

from core.calibration.calibrator import Calibrator

# Probabilities are clipped this far from 0 and 1 before taking logs.
EPSILON = 1e-12


class TemperatureScaling(Calibrator):
    """Divides the model's log-odds by a temperature fitted on held-out data.

    For binary and multilabel outputs each probability `p` becomes
    `sigmoid(logit(p) / T)`; for multiclass outputs the row becomes
    `softmax(log(p) / T)`. `T > 1` softens overconfident probabilities and
    `T < 1` sharpens timid ones. It works on probabilities rather than on
    raw logits so that it applies as well to an ensemble's averaged output.
    One parameter cannot reorder the cases of a binary problem, so AUROC is
    unchanged (Guo et al., 2017, "On Calibration of Modern Neural Networks").

    Args:
        mode: "binary" (probabilities `(n, 2)`), "multiclass" `(n, k)` or
            "multilabel" `(n, k)`.

    Attributes:
        temperature_: the fitted temperature.
    """

    method = "temperature"

    def fit(self, proba, y):
        """Finds the temperature that minimizes the log loss of `proba` against `y`.

        Arguments and return value as `Calibrator.fit`.
        """
        log_odds = _log_odds(np.asarray(proba, dtype=np.float64), self.mode)
        y = np.asarray(y)

        def loss(log_temperature):
            scaled = self._probabilities(log_odds / np.exp(log_temperature))
            return _log_loss(scaled, y, self.mode)

        # Bounded search over log T: T from 1/20 to 20 covers any sane model.
        result = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded")
        self.temperature_ = float(np.exp(result.x))
        return self

    def transform(self, proba):
        """Calibrated probabilities, in the layout they came in."""
        log_odds = _log_odds(np.asarray(proba, dtype=np.float64), self.mode)
        return self._probabilities(log_odds / self.temperature_)

    def graph_transform(self, proba):
        """`transform` as TensorFlow ops on a float64 tensor, for exported models."""
        import tensorflow as tf

        proba = tf.clip_by_value(proba, EPSILON, 1.0 - EPSILON)
        if self.mode == "multiclass":
            return tf.nn.softmax(tf.math.log(proba) / self.temperature_, axis=1)
        columns = proba[:, 1:] if self.mode == "binary" else proba
        # log(1 - p), not log1p: ONNX has no log1p, and 1 - p is exact for p near 1.
        log_odds = tf.math.log(columns) - tf.math.log(1.0 - columns)
        positive = 1.0 / (1.0 + tf.exp(-log_odds / self.temperature_))
        if self.mode == "binary":
            return tf.concat([1.0 - positive, positive], axis=1)
        return positive

    def _probabilities(self, log_odds):
        if self.mode == "multiclass":
            shifted = np.exp(log_odds - log_odds.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)
        positive = 1.0 / (1.0 + np.exp(-log_odds))
        if self.mode == "binary":
            return np.column_stack([1.0 - positive, positive])
        return positive

    def get_state(self):
        """JSON-ready state."""
        return {"method": self.method, "mode": self.mode, "temperature": self.temperature_}

    @classmethod
    def from_state(cls, state):
        """Rebuilds a fitted instance from `get_state()`."""
        calibrator = cls(state["mode"])
        calibrator.temperature_ = float(state["temperature"])
        return calibrator


def _log_odds(proba, mode):
    proba = np.clip(proba, EPSILON, 1.0 - EPSILON)
    if mode == "multiclass":
        return np.log(proba)
    if mode == "binary":
        proba = proba[:, 1]
    return np.log(proba) - np.log1p(-proba)


def _log_loss(proba, y, mode):
    proba = np.clip(proba, EPSILON, 1.0 - EPSILON)
    if mode == "multiclass":
        return -np.mean(np.log(proba[np.arange(len(y)), y]))
    if mode == "binary":
        proba, y = proba[:, 1], y.ravel()
    return -np.mean(y * np.log(proba) + (1 - y) * np.log1p(-proba))
