"""Group fairness of credit decisions: disparate impact and equal opportunity."""

import numbers

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from domains.finance.reports.score_checks import binary_target, check_same_length, finite_scores

FAIRNESS_COLUMNS = [
    "n",
    "positive_rate",
    "favourable_rate",
    "disparate_impact",
    "four_fifths_ok",
    "tpr_good",
    "equal_opportunity_difference",
    "auc",
]


def fairness_report(y, proba, group, threshold=0.5, reference=None):
    """Per-group rates of the favourable decision and their gaps to a reference group.

    In credit the favourable outcome is approval: an applicant is approved,
    i.e. predicted non-default, when `proba < threshold`; `proba >= threshold`
    is a positive (predicted default, declined).

    Args:
        y: actual 0/1 outcomes, 1 = bad (default), 0 = good, shape `(n,)`.
        proba: predicted probability (or any score) of default, shape `(n,)`.
        group: the protected attribute, one value per example, shape `(n,)`.
            A categorical with unused categories gives rows with `n = 0`.
        threshold: score at or above which an applicant is declined.
        reference: the group others are compared with. Defaults to the group
            with the highest favourable rate (the first such group on a tie).

    Returns:
        DataFrame with one row per group value (index named after `group` if
        it is a named Series, else `"group"`) and columns `n`,
        `positive_rate` (share declined), `favourable_rate` (share approved),
        `disparate_impact` (favourable_rate / the reference's),
        `four_fifths_ok` (disparate_impact >= 0.8; nullable boolean),
        `tpr_good` (share approved among actual goods: equal opportunity),
        `equal_opportunity_difference` (tpr_good - the reference's) and `auc`
        (within the group). Undefined entries are NaN (and `four_fifths_ok` is
        `pd.NA`), never an error: every rate of an empty group, `tpr_good` of
        a group without goods, `auc` of a group with one class, and ratios to
        a reference whose favourable rate is 0.
    """
    y = binary_target(y, "y")
    proba = finite_scores(proba, "proba")
    group_name = group.name if isinstance(group, pd.Series) and group.name is not None else None
    group = _as_series(group)
    check_same_length(y, proba, "y", "proba")
    check_same_length(y, group, "y", "group")
    if len(y) == 0:
        raise ValueError("`y`, `proba` and `group` are empty; expected at least one example.")
    if group.isna().any():
        raise ValueError(
            f"`group` must not have missing values. Received {int(group.isna().sum())}; "
            "fill them with an explicit value such as 'unknown'."
        )
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not np.isfinite(threshold)
    ):
        raise ValueError(f"`threshold` must be a finite number. Received: threshold={threshold!r}")

    if isinstance(group.dtype, pd.CategoricalDtype):
        values = list(group.cat.categories)
    else:
        values = pd.unique(group.to_numpy(dtype=object)).tolist()
        try:
            values = sorted(values)
        except TypeError:
            pass
    favourable = proba < threshold
    rows = []
    for value in values:
        mask = (group == value).to_numpy()
        rows.append(_group_rates(y[mask], proba[mask], favourable[mask]))
    table = pd.DataFrame(rows, index=pd.Index(values, name=group_name or "group"))

    if reference is None:
        rates = table["favourable_rate"].to_numpy()
        reference_position = int(np.nanargmax(rates)) if np.any(~np.isnan(rates)) else 0
    else:
        matches = [i for i, value in enumerate(values) if value == reference]
        if not matches:
            raise ValueError(
                f"`reference` must be one of the groups {values}. Received: reference={reference!r}"
            )
        reference_position = matches[0]
    ref = table.iloc[reference_position]
    ref_favourable = ref["favourable_rate"]
    if ref_favourable > 0:
        table["disparate_impact"] = table["favourable_rate"] / ref_favourable
    else:
        table["disparate_impact"] = np.nan
    impact = table["disparate_impact"]
    table["four_fifths_ok"] = pd.array(
        [pd.NA if np.isnan(d) else bool(d >= 0.8) for d in impact], dtype="boolean"
    )
    table["equal_opportunity_difference"] = table["tpr_good"] - ref["tpr_good"]
    return table[FAIRNESS_COLUMNS]


def _group_rates(y, proba, favourable):
    n = len(y)
    goods = y == 0
    favourable_rate = float(favourable.mean()) if n else np.nan
    return {
        "n": n,
        "positive_rate": float((~favourable).mean()) if n else np.nan,
        "favourable_rate": favourable_rate,
        "tpr_good": float(favourable[goods].mean()) if goods.any() else np.nan,
        "auc": float(roc_auc_score(y, proba)) if len(np.unique(y)) == 2 else np.nan,
    }


def _as_series(group):
    if isinstance(group, pd.Series):
        return group.reset_index(drop=True)
    if isinstance(group, (pd.Categorical, pd.Index)):
        return pd.Series(group)
    values = np.asarray(group)
    if values.ndim != 1:
        raise ValueError(f"`group` must be 1-D. Received an array of shape {values.shape}.")
    return pd.Series(values)
