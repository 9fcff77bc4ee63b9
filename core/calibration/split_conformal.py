"""Split conformal prediction for classifiers (Vovk et al.; Angelopoulos & Bates, 2021).

On held-out rows the model never trained on, each row's nonconformity score
is one minus the probability it gave the true class. For a new row, the
label set holds every class whose score would be at most the
`ceil((n + 1)(1 - alpha)) / n` empirical quantile of the held-out scores.
If the held-out and new rows are exchangeable, the set contains the true
label with probability at least `1 - alpha`, whatever the model.
"""

import math

import numpy as np


def nonconformity_scores(proba, codes):
    """One minus the probability of the true class, per row.

    Args:
        proba: probabilities `(n, k)`.
        codes: true class indices `(n,)`.

    Returns:
        Scores `(n,)`, low when the model was confident and right.
    """
    proba = np.asarray(proba, dtype=np.float64)
    return 1.0 - proba[np.arange(len(proba)), np.asarray(codes, dtype=int)]


def check_alpha(alpha):
    """Raises a ValueError unless `alpha` is a number in (0, 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.number):
        raise ValueError(f"`alpha` must be a number in (0, 1). Received: alpha={alpha!r}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(
            "`alpha` must be in (0, 1), the share of label sets allowed to miss the true label "
            f"(0.1 for 90% coverage). Received: alpha={alpha!r}"
        )


def conformal_threshold(scores, alpha):
    """The score quantile that gives coverage of at least `1 - alpha`.

    Args:
        scores: held-out nonconformity scores `(n,)`.
        alpha: allowed miss rate, in (0, 1).

    Returns:
        The threshold: a class enters a row's set when its score is at or below it.

    Raises:
        ValueError: if `alpha` is not in (0, 1), or there are too few held-out
            rows for it (fewer than `(1 - alpha) / alpha`); the message says how many.
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    return float(scores[conformal_rank(len(scores), alpha) - 1])


def conformal_rank(n, alpha):
    """The rank among `n` held-out scores whose value gives coverage of at least `1 - alpha`.

    Args:
        n: held-out rows.
        alpha: allowed miss rate, in (0, 1).

    Returns:
        `ceil((n + 1)(1 - alpha))`, 1-based.

    Raises:
        ValueError: if `alpha` is not in (0, 1), or there are too few held-out
            rows for it (fewer than `(1 - alpha) / alpha`); the message says how many.
    """
    check_alpha(alpha)
    # The tolerance keeps float error from pushing e.g. 90.0000001 up to rank 91.
    rank = math.ceil((n + 1) * (1.0 - alpha) - 1e-9)
    if rank > n:
        needed = math.ceil((1.0 - alpha) / alpha - 1e-9)
        raise ValueError(
            f"alpha={alpha} needs at least {needed} held-out calibration rows for a finite "
            f"prediction set; the model kept {n}. Use a larger `alpha`, more training rows or a "
            "larger `validation_fraction`."
        )
    return rank
