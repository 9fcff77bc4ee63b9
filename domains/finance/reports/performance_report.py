"""Discrimination of a credit score: AUC, Gini, KS and the band (decile) table."""

import numbers

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from domains.finance.reports.score_checks import binary_target, check_same_length, finite_scores

BAND_COLUMNS = [
    "band",
    "n",
    "n_bad",
    "bad_rate",
    "min_proba",
    "max_proba",
    "cumulative_bad_share",
    "cumulative_good_share",
]


def performance_report(y, proba, n_bands=10):
    """How well a score separates bad (1) from good (0) outcomes.

    Works on any score where higher means riskier; no model is needed.

    Args:
        y: 0/1 outcomes, 1 = bad (default), shape `(n,)`.
        proba: score or probability of the bad outcome, shape `(n,)`.
        n_bands: number of equal-count bands of the score (10 gives deciles).
            Cut points are quantiles of `proba`; tied scores always share a
            band, so heavily tied scores may give fewer bands than asked for.

    Returns:
        dict with `n`, `bad_rate` (share of 1s), `auc`, `gini` (2 * AUC - 1),
        `ks` (the maximum over thresholds of TPR - FPR) and `bands`, a
        DataFrame with one row per band, riskiest (highest scores) first and
        columns `band` (1 = riskiest), `n`, `n_bad`, `bad_rate`, `min_proba`,
        `max_proba`, `cumulative_bad_share` (share of all bads in this band
        and the riskier ones, the capture rate) and `cumulative_good_share`.
        When `y` holds a single class, `auc`, `gini` and `ks` are NaN, and so
        is the cumulative share of the class that never occurs.
    """
    y = binary_target(y, "y")
    proba = finite_scores(proba, "proba")
    check_same_length(y, proba, "y", "proba")
    if len(y) == 0:
        raise ValueError("`y` and `proba` are empty; expected at least one example.")
    if isinstance(n_bands, bool) or not isinstance(n_bands, numbers.Integral) or n_bands < 1:
        raise ValueError(f"`n_bands` must be a positive integer. Received: n_bands={n_bands!r}")

    if len(np.unique(y)) == 2:
        auc = float(roc_auc_score(y, proba))
        fpr, tpr, _ = roc_curve(y, proba)
        ks = float(np.max(tpr - fpr))
        gini = 2.0 * auc - 1.0
    else:
        auc = gini = ks = float("nan")
    return {
        "n": len(y),
        "bad_rate": float(y.mean()),
        "auc": auc,
        "gini": gini,
        "ks": ks,
        "bands": _band_table(y, proba, int(n_bands)),
    }


def _band_table(y, proba, n_bands):
    """Equal-count bands of `proba`, riskiest first; ties never straddle two bands."""
    cuts = quantile_cuts(proba, n_bands)
    position = np.searchsorted(cuts, proba, side="left")  # bands are (cut_i-1, cut_i]
    used, position = np.unique(position, return_inverse=True)
    band = len(used) - position  # 1 = highest scores
    frame = pd.DataFrame({"band": band, "bad": y, "proba": proba})
    table = (
        frame.groupby("band", sort=True)
        .agg(
            n=("bad", "size"),
            n_bad=("bad", "sum"),
            min_proba=("proba", "min"),
            max_proba=("proba", "max"),
        )
        .reset_index()
    )
    table["n"] = table["n"].astype(np.int64)
    table["n_bad"] = table["n_bad"].astype(np.int64)
    table["bad_rate"] = table["n_bad"] / table["n"]
    n_bad, n_good = int(y.sum()), int(len(y) - y.sum())
    cumulative_bad = table["n_bad"].cumsum()
    cumulative_good = (table["n"] - table["n_bad"]).cumsum()
    table["cumulative_bad_share"] = cumulative_bad / n_bad if n_bad else np.nan
    table["cumulative_good_share"] = cumulative_good / n_good if n_good else np.nan
    return table[BAND_COLUMNS]


def quantile_cuts(values, n_bins):
    """Distinct cut points that split `values` into `n_bins` equal-count bins (c_i-1, c_i].

    Cut i is the smallest observed value with at least i / n_bins of the values
    at or below it (the "inverted CDF" quantile, in exact integer arithmetic).
    Tied cuts are collapsed and a cut at the maximum is dropped, so every bin
    holds at least one value and ties never straddle two bins. The score bands
    here and the bins of `stability_report` are cut this way.

    Args:
        values: a non-empty 1-D array of numbers.
        n_bins: the number of bins wanted, a positive integer.

    Returns:
        The sorted cut points, at most `n_bins - 1` of them (fewer with ties).
    """
    ordered = np.sort(values)
    n = len(ordered)
    positions = [(k * n + n_bins - 1) // n_bins - 1 for k in range(1, n_bins)]
    cuts = np.unique(ordered[positions]) if positions else ordered[:0]
    return cuts[cuts < ordered[-1]]
