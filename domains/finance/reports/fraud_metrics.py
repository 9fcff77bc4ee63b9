"""Ranking metrics of fraud scores, as fraud teams read them."""

import numbers

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_curve

from core.data.time_values import to_datetimes
from domains.finance.reports.score_checks import binary_target, check_same_length, finite_scores


def average_precision(y, scores):
    """Average precision (area under the precision-recall curve), as scikit-learn computes it.

    Args:
        y: 0/1 labels, 1 = fraud, shape `(n,)`.
        scores: fraud scores, higher = more suspicious, shape `(n,)`.

    Returns:
        The average precision, a float in [0, 1]; NaN when `y` holds no fraud
        (it is undefined then).
    """
    y, scores = _validate(y, scores)
    if not y.any():
        return float("nan")
    return float(average_precision_score(y, scores))


def precision_at_k_per_day(y, scores, timestamps, k):
    """Mean over days of the fraud share among each day's `k` highest scores.

    This is what a team that can review `k` alerts a day gets. A day with
    fewer than `k` transactions uses all of them; every day counts equally.
    Tied scores are ranked in their input order.

    Args:
        y: 0/1 labels, 1 = fraud, shape `(n,)`.
        scores: fraud scores, higher = more suspicious, shape `(n,)`.
        timestamps: when each transaction happened: datetimes or strings that
            `pandas.to_datetime` parses, shape `(n,)`. The day is the calendar
            date in the timestamps' own time zone (in UTC when their UTC
            offsets differ); see `core.data.time_values.to_datetimes`.
        k: alerts reviewed per day, a positive integer.

    Returns:
        The mean daily precision at `k`, a float in [0, 1].
    """
    y, scores = _validate(y, scores)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"`k` must be a positive integer. Received: k={k!r}")
    days = _days(timestamps)
    check_same_length(y, days, "y", "timestamps")
    frame = pd.DataFrame({"day": days, "y": y, "score": scores})
    frame = frame.sort_values("score", ascending=False, kind="stable")
    top = frame.groupby("day", sort=True).head(int(k))
    return float(top.groupby("day")["y"].mean().mean())


def recall_at_fpr(y, scores, max_fpr=0.01):
    """Highest recall (share of fraud caught) at a false-positive rate of at most `max_fpr`.

    Thresholds are taken between distinct scores, so tied scores are flagged
    together or not at all.

    Args:
        y: 0/1 labels, 1 = fraud, shape `(n,)`.
        scores: fraud scores, higher = more suspicious, shape `(n,)`.
        max_fpr: largest acceptable share of legitimate transactions flagged,
            in (0, 1).

    Returns:
        The recall, a float in [0, 1]; NaN when `y` holds a single class
        (recall or false-positive rate is then undefined).
    """
    if (
        isinstance(max_fpr, bool)
        or not isinstance(max_fpr, numbers.Real)
        or not 0.0 < max_fpr < 1.0
    ):
        raise ValueError(f"`max_fpr` must be in (0, 1). Received: max_fpr={max_fpr!r}")
    y, scores = _validate(y, scores)
    if len(np.unique(y)) < 2:
        return float("nan")
    fpr, tpr, _ = roc_curve(y, scores, drop_intermediate=False)
    # The curve starts at (0, 0), so at least one point always qualifies.
    return float(np.max(tpr[fpr <= max_fpr]))


def _validate(y, scores):
    y = binary_target(y, "y")
    scores = finite_scores(scores, "scores")
    check_same_length(y, scores, "y", "scores")
    if len(y) == 0:
        raise ValueError("`y` and `scores` are empty; expected at least one example.")
    return y, scores


def _days(timestamps):
    """Calendar days of `timestamps`, or a ValueError naming the argument."""
    try:
        values = pd.Series(timestamps).reset_index(drop=True)
    except (TypeError, ValueError):
        shape = np.shape(timestamps)
        raise ValueError(f"`timestamps` must be 1-D. Received a shape of {shape}.") from None
    return to_datetimes(values, argument="timestamps").dt.normalize().to_numpy()
