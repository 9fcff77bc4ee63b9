"""Prediction intervals by split conformal prediction and its cross-fitted form, CV+.

Split conformal regression (Lei et al., 2018): on rows the model never
trained on, each row's score is its absolute residual, or for a quantile
model how far the truth fell outside the predicted band (conformalised
quantile regression, Romano, Patterson & Candes, 2019). A new row's interval
is its prediction widened by the `ceil((n + 1)(1 - alpha))`-th smallest
score, which covers the truth with probability at least `1 - alpha` when
held-out and new rows are exchangeable.

With cross-fitted ensemble members each held-out row was scored by the one
member k(i) that did not train on it, so the new row's bounds are read per
member (CV+, Barber et al., 2021): the upper bound is that rank among
`upper_k(i)(x) + score_i` over the held-out rows, the lower one among
`lower_k(i)(x) - score_i`.
"""

import numpy as np

from core.calibration.split_conformal import conformal_rank

# Values held at once while ranking CV+ bounds: about 32 MB of float64.
_CHUNK_VALUES = 2**22


def interval_scores(lower, upper, truth):
    """Nonconformity scores of held-out rows: how far the truth fell outside `[lower, upper]`.

    For a point prediction (`lower` is `upper`) that is the absolute
    residual; inside a quantile band the score is negative.

    Args:
        lower, upper: predicted bounds `(n,)`.
        truth: observed values `(n,)`.

    Returns:
        Scores `(n,)`.
    """
    return np.maximum(np.asarray(lower) - truth, truth - np.asarray(upper)).astype(np.float64)


def conformal_interval(lower, upper, scores, alpha, folds=None):
    """Bounds that hold a new row's true value with probability at least `1 - alpha`.

    Args:
        lower, upper: predictions of the new rows `(m, k)`: one column per
            member that held out rows (`k = 1` for a single held-out split,
            where the column is the ensemble's prediction).
        scores: held-out scores `(n,)` from `interval_scores`.
        alpha: allowed miss rate in (0, 1).
        folds: `(n,)` member (column) that held out each scored row, or None
            for one split.

    Returns:
        `(low, high)`, each `(m,)`.

    Raises:
        ValueError: if `alpha` is not in (0, 1) or too few rows were held out for it.
    """
    scores = np.asarray(scores, dtype=np.float64)
    lower, upper = np.asarray(lower, np.float64), np.asarray(upper, np.float64)
    rank = conformal_rank(len(scores), alpha)
    if folds is None:
        margin = np.partition(scores, rank - 1)[rank - 1]
        return lower[:, 0] - margin, upper[:, 0] + margin
    folds = np.asarray(folds, dtype=int)
    low, high = np.empty(len(lower)), np.empty(len(upper))
    step = max(1, _CHUNK_VALUES // len(scores))
    for start in range(0, len(lower), step):
        rows = slice(start, start + step)
        above = upper[rows][:, folds] + scores
        below = scores - lower[rows][:, folds]
        high[rows] = np.partition(above, rank - 1, axis=1)[:, rank - 1]
        low[rows] = -np.partition(below, rank - 1, axis=1)[:, rank - 1]
    return low, high
