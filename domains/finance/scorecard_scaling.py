"""The industry's scaling of a probability of default into scorecard points."""

import math

import numpy as np


def scorecard_factor(pdo):
    """Points per unit of ln(odds of being good): `pdo / ln 2`."""
    return pdo / math.log(2.0)


def scorecard_offset(pdo, base_score, base_odds):
    """Points at odds of 1:1: `base_score - factor * ln(base_odds)`."""
    return base_score - scorecard_factor(pdo) * math.log(base_odds)


def scorecard_points(p_default, pdo, base_score, base_odds):
    """Scorecard points of probabilities of default: higher is safer.

    `points = offset + factor * ln((1 - p) / p)`: an applicant with good:bad
    odds of `base_odds` scores `base_score`, and every `pdo` points double
    the odds.

    Args:
        p_default: probabilities of default, clipped to [1e-9, 1 - 1e-9].
        pdo: points to double the odds (> 0).
        base_score: score at the base odds.
        base_odds: good:bad odds at `base_score` (> 0).

    Returns:
        float array shaped as `p_default`.
    """
    p = np.clip(np.asarray(p_default, dtype=np.float64), 1e-9, 1 - 1e-9)
    return scorecard_offset(pdo, base_score, base_odds) + scorecard_factor(pdo) * np.log(
        (1.0 - p) / p
    )
