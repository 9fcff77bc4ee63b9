"""Calibration metrics."""

import numpy as np


def expected_calibration_error(y_true, proba, n_bins=10):
    """Expected calibration error of binary probabilities, with equal-width bins.

    ECE = sum over bins of (bin size / n) * |mean predicted - observed rate|.
    Empty bins contribute nothing.

    Args:
        y_true: 0/1 outcomes, shape `(n,)`.
        proba: predicted probabilities of the outcome 1, shape `(n,)`.
        n_bins: number of bins on [0, 1].

    Returns:
        The ECE, a float in [0, 1].
    """
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    proba = np.asarray(proba, dtype=np.float64).ravel()
    if y_true.shape != proba.shape:
        raise ValueError(
            f"`y_true` and `proba` must have the same length. Received {len(y_true)} "
            f"and {len(proba)}."
        )
    if len(y_true) == 0:
        raise ValueError("`y_true` is empty; expected at least one example.")
    bins = np.minimum((proba * n_bins).astype(int), n_bins - 1)
    predicted = np.bincount(bins, weights=proba, minlength=n_bins)
    observed = np.bincount(bins, weights=y_true, minlength=n_bins)
    return float(np.abs(predicted - observed).sum() / len(y_true))
