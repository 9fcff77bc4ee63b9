"""Calibration metrics."""

import numbers

import numpy as np


def calibration_bins(y_true, proba, n_bins=10):
    """Equal-width bins of predicted probabilities, with each bin's mean and observed rate.

    The bins of `expected_calibration_error` and of the reliability diagrams:
    bin `k` holds the probabilities in `[k / n_bins, (k + 1) / n_bins)`, and
    the last bin includes 1.

    Args:
        y_true: 0/1 outcomes, shape `(n,)`.
        proba: predicted probabilities of the outcome 1, shape `(n,)`.
        n_bins: number of bins on [0, 1], a positive integer.

    Returns:
        dict of arrays of length `n_bins`: `counts` (examples in each bin),
        `predicted` (mean predicted probability) and `observed` (share of
        outcome 1), both NaN for empty bins; and `edges`, the `n_bins + 1`
        bin edges.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"`n_bins` must be a positive integer. Received: n_bins={n_bins!r}")
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    proba = np.asarray(proba, dtype=np.float64).ravel()
    if y_true.shape != proba.shape:
        raise ValueError(
            f"`y_true` and `proba` must have the same length. Received {len(y_true)} "
            f"and {len(proba)}."
        )
    if len(y_true) == 0:
        raise ValueError("`y_true` is empty; expected at least one example.")
    n_bins = int(n_bins)
    bins = np.minimum((proba * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):  # Empty bins: NaN.
        predicted = np.bincount(bins, weights=proba, minlength=n_bins) / counts
        observed = np.bincount(bins, weights=y_true, minlength=n_bins) / counts
    return {
        "counts": counts,
        "predicted": predicted,
        "observed": observed,
        "edges": np.linspace(0.0, 1.0, n_bins + 1),
    }


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
    bins = calibration_bins(y_true, proba, n_bins)
    used = bins["counts"] > 0
    gaps = np.abs(bins["predicted"][used] - bins["observed"][used])
    return float((bins["counts"][used] * gaps).sum() / bins["counts"].sum())
