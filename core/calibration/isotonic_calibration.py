"""Isotonic calibration: a monotone step function from score to observed frequency."""

import numpy as np
from sklearn.isotonic import IsotonicRegression

from core.calibration.calibrator import Calibrator


class IsotonicCalibration(Calibrator):
    """Maps each probability through a non-decreasing function fitted on held-out data.

    More flexible than temperature scaling (it can fix any monotone
    distortion), so it needs more held-out rows, and it may tie cases that
    the model ranked apart. Multiclass outputs are calibrated one-vs-rest
    and the rows renormalized, as scikit-learn's `CalibratedClassifierCV`
    does; multilabel outputs label by label.

    The fitted functions are kept as their breakpoints, which makes the state
    plain JSON and prediction a `numpy.interp`.

    Args:
        mode: "binary", "multiclass" or "multilabel" (see `Calibrator`).

    Attributes:
        breakpoints_: per calibrated column, `(x, y)` lists of the fitted function.
    """

    method = "isotonic"

    def fit(self, proba, y):
        """Fits one isotonic regression per calibrated column (arguments as `Calibrator.fit`)."""
        proba = np.asarray(proba, dtype=np.float64)
        y = np.asarray(y)
        if self.mode == "binary":
            columns, targets = proba[:, 1:], y.reshape(-1, 1)
        elif self.mode == "multiclass":
            columns, targets = proba, np.eye(proba.shape[1])[y]
        else:
            columns, targets = proba, y
        self.breakpoints_ = []
        for k in range(columns.shape[1]):
            regression = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            regression.fit(columns[:, k], targets[:, k])
            self.breakpoints_.append(
                (regression.X_thresholds_.tolist(), regression.y_thresholds_.tolist())
            )
        return self

    def transform(self, proba):
        """Calibrated probabilities, in the layout they came in."""
        proba = np.asarray(proba, dtype=np.float64)
        columns = proba[:, 1:] if self.mode == "binary" else proba
        calibrated = np.column_stack(
            [np.interp(columns[:, k], x, y) for k, (x, y) in enumerate(self.breakpoints_)]
        )
        if self.mode == "binary":
            return np.column_stack([1.0 - calibrated[:, 0], calibrated[:, 0]])
        if self.mode == "multiclass":
            totals = calibrated.sum(axis=1, keepdims=True)
            # A row every one-vs-rest map sent to zero keeps the model's own probabilities.
            return np.where(totals > 0, calibrated / np.where(totals > 0, totals, 1.0), proba)
        return calibrated

    def graph_transform(self, proba):
        """`transform` as TensorFlow ops on a float64 tensor, for exported models.

        `numpy.interp` becomes a sum of clipped linear pieces (and steps where
        two breakpoints share an x), which every exporter can convert.
        """
        import tensorflow as tf

        columns = proba[:, 1:] if self.mode == "binary" else proba
        calibrated = tf.stack(
            [_graph_interp(columns[:, k], x, y) for k, (x, y) in enumerate(self.breakpoints_)],
            axis=1,
        )
        if self.mode == "binary":
            return tf.concat([1.0 - calibrated, calibrated], axis=1)
        if self.mode == "multiclass":
            totals = tf.reduce_sum(calibrated, axis=1, keepdims=True)
            safe = tf.where(totals > 0, totals, tf.ones_like(totals))
            return tf.where(totals > 0, calibrated / safe, proba)
        return calibrated

    def get_state(self):
        """JSON-ready state."""
        return {"method": self.method, "mode": self.mode, "breakpoints": self.breakpoints_}

    @classmethod
    def from_state(cls, state):
        """Rebuilds a fitted instance from `get_state()`."""
        calibrator = cls(state["mode"])
        calibrator.breakpoints_ = [(list(x), list(y)) for x, y in state["breakpoints"]]
        return calibrator


def _graph_interp(values, x, y):
    """`numpy.interp(values, x, y)` for non-decreasing `x`, as TensorFlow ops."""
    import tensorflow as tf

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    out = tf.fill(tf.shape(values), y[0])
    if len(x) < 2:
        return out
    dx, dy = np.diff(x), np.diff(y)
    column = values[:, None]
    ramps = (dx > 0) & (dy != 0)
    if ramps.any():
        low, high = x[:-1][ramps], x[1:][ramps]
        clipped = tf.minimum(tf.maximum(column, low), high)
        out += tf.reduce_sum((dy[ramps] / dx[ramps]) * (clipped - low), axis=1)
    # Where two breakpoints share an x, numpy.interp jumps to the later y at that x.
    steps = (dx == 0) & (dy != 0)
    if steps.any():
        reached = tf.cast(column >= x[:-1][steps], tf.float64)
        out += tf.reduce_sum(dy[steps] * reached, axis=1)
    return out
