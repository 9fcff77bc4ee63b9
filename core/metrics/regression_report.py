"""Accuracy of predicted numbers, and of prediction intervals."""

import numpy as np
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score


def regression_report(y_true, predicted, interval=None):
    """Error metrics of one target's predictions, and the coverage of their intervals.

    Args:
        y_true: observed values `(n,)`.
        predicted: predicted values `(n,)`.
        interval: optional `(n, 2)` lower and upper bounds.

    Returns:
        dict with `n`, `rmse`, `mae`, `r2` (NaN with fewer than two rows) and,
        with `interval`, `coverage` (share of rows inside their bounds,
        bounds included), `mean_width` and `median_width`.
    """
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    predicted = np.asarray(predicted, dtype=np.float64).ravel()
    if len(y_true) != len(predicted):
        raise ValueError(
            f"`y_true` and `predicted` have different lengths: {len(y_true)} and {len(predicted)}."
        )
    report = {
        "n": len(y_true),
        "rmse": float(np.sqrt(mean_squared_error(y_true, predicted))),
        "mae": float(mean_absolute_error(y_true, predicted)),
        "r2": float(r2_score(y_true, predicted)) if len(y_true) >= 2 else float("nan"),
    }
    if interval is not None:
        low, high = np.asarray(interval, dtype=np.float64).T
        width = high - low
        report["coverage"] = float(np.mean((low <= y_true) & (y_true <= high)))
        report["mean_width"] = float(np.mean(width))
        report["median_width"] = float(np.median(width))
    return report
