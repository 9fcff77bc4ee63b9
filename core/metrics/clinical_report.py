"""Discrimination, calibration and threshold metrics, as clinicians report them."""

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from core.metrics.calibration_metrics import expected_calibration_error


def binary_report(y_true, proba, threshold=0.5):
    """Metrics of a binary risk score.

    Args:
        y_true: 0/1 outcomes, shape `(n,)`.
        proba: predicted probability of the outcome, shape `(n,)`.
        threshold: probability at or above which a case is called positive.

    Returns:
        dict with `n`, `prevalence`, `auroc`, `auprc`, `brier`, `ece`,
        `threshold`, `sensitivity`, `specificity`, `ppv`, `npv`. A ratio with
        an empty denominator (e.g. PPV when nothing is called positive) is NaN.
    """
    y_true = np.asarray(y_true).astype(int).ravel()
    proba = np.asarray(proba, dtype=np.float64).ravel()
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"`threshold` must be in [0, 1]. Received: threshold={threshold!r}")
    both_classes = len(np.unique(y_true)) == 2
    called = proba >= threshold
    tp = int(np.sum(called & (y_true == 1)))
    fp = int(np.sum(called & (y_true == 0)))
    tn = int(np.sum(~called & (y_true == 0)))
    fn = int(np.sum(~called & (y_true == 1)))
    return {
        "n": len(y_true),
        "prevalence": float(y_true.mean()),
        "auroc": float(roc_auc_score(y_true, proba)) if both_classes else float("nan"),
        "auprc": float(average_precision_score(y_true, proba)) if both_classes else float("nan"),
        "brier": float(np.mean((proba - y_true) ** 2)),
        "ece": expected_calibration_error(y_true, proba),
        "threshold": float(threshold),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "ppv": _ratio(tp, tp + fp),
        "npv": _ratio(tn, tn + fn),
    }


def multiclass_report(y_codes, proba, threshold=0.5):
    """Per-class one-vs-rest binary reports and their macro average.

    Args:
        y_codes: class indices `(n,)` (for multilabel targets, a 0/1 matrix `(n, k)`).
        proba: probabilities `(n, k)`.
        threshold: as in `binary_report`, applied one-vs-rest.

    Returns:
        dict with the macro average of every `binary_report` metric, plus
        `per_class`: a list of the per-class reports.
    """
    proba = np.asarray(proba, dtype=np.float64)
    y_codes = np.asarray(y_codes)
    indicator = y_codes if y_codes.ndim == 2 else np.eye(proba.shape[1], dtype=int)[y_codes]
    per_class = [
        binary_report(indicator[:, k], proba[:, k], threshold) for k in range(proba.shape[1])
    ]
    keys = [k for k in per_class[0] if k not in ("n", "threshold")]
    macro = {k: _nan_mean([r[k] for r in per_class]) for k in keys}
    return {"n": len(proba), "threshold": float(threshold), **macro, "per_class": per_class}


def _nan_mean(values):
    """Mean of the defined values; NaN (without a warning) when none is defined."""
    values = np.asarray(values, dtype=np.float64)
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float("nan")


def _ratio(numerator, denominator):
    return float(numerator / denominator) if denominator else float("nan")
