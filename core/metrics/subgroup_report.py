"""Discrimination, calibration and sensitivity per subgroup, with bootstrap intervals.

A model that is good on average can be poor for one site, sex or age band.
`subgroup_report` scores every group with the same probabilities and the
same threshold, so the rows can be compared, and gives each figure a
bootstrap percentile interval, so a small group's noise is visible.

The bootstrap is vectorised: each group's resamples are drawn as one index
matrix, and AUROC (rank statistic), AUPRC (average precision), ECE and
sensitivity are computed for all resamples at once.
"""

import numbers

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from core.metrics.calibration_metrics import expected_calibration_error

#: Label of the row that holds every example.
ALL_GROUP = "all"
#: Label of the group of rows whose group value is missing.
MISSING_GROUP = "(missing)"
#: Equal-width bins of the ECE, as in `expected_calibration_error`.
ECE_BINS = 10
#: Resampled values per bootstrap chunk; bounds the memory of large groups.
_CHUNK_VALUES = 1_000_000

METRICS = ("auroc", "auprc", "ece", "sensitivity")
COLUMNS = [
    "group",
    "n",
    "prevalence",
    *(f"{m}{suffix}" for m in METRICS for suffix in ("", "_low", "_high")),
]


def subgroup_report(
    estimator,
    X,
    y,
    groups,
    threshold=0.5,
    positive_class=None,
    n_bootstrap=200,
    confidence=0.95,
    random_state=0,
):
    """Per-group AUROC, AUPRC, ECE and sensitivity of a fitted classifier.

    `estimator.predict_proba(X)` is called once; every group is scored
    one-vs-rest for the positive class, at the same `threshold`. Intervals
    are bootstrap percentile intervals: rows are resampled with replacement
    within each group. Resamples that hold a single class give no AUROC or
    AUPRC (and, without positives, no sensitivity) and are left out of those
    intervals.

    Args:
        estimator: a fitted classifier with `classes_` and `predict_proba`
            (any keras-domains classifier, or a scikit-learn one).
        X: input, as for `estimator.predict_proba`.
        y: true labels `(n,)` (for a multilabel model, the 0/1 indicator
            matrix `(n, n_labels)`).
        groups: group label of each row, array-like `(n,)`; or, when `X` is
            a DataFrame, the name of one of its columns. Rows whose group is
            missing form the group `"(missing)"`.
        threshold: probability at or above which a row is called positive.
        positive_class: the class scored one-vs-rest. Binary: default
            `classes_[1]`. Multiclass: required, one of `classes_`.
            Multilabel: required, a label index.
        n_bootstrap: resamples per group; 0 leaves the intervals NaN.
        confidence: coverage of the intervals, in (0, 1).
        random_state: seed (int, None or `numpy.random.Generator`) of the resampling.

    Returns:
        DataFrame with one row per group, the `"all"` row first and the
        groups in sorted order, and columns `group`, `n`, `prevalence`, then
        `auroc`, `auprc`, `ece`, `sensitivity`, each followed by its `_low`
        and `_high` bounds. A group with a single class has NaN AUROC and
        AUPRC (and NaN sensitivity when it has no positives). `attrs` holds
        `positive_class`, `threshold`, `confidence` and `n_bootstrap`.

    Raises:
        ValueError: for groups, y or X of different lengths, an unknown
            `groups` column, labels in `y` that are not in `classes_`, a
            missing or unknown `positive_class`, or a `threshold`,
            `n_bootstrap` or `confidence` out of range.
    """
    check_threshold(threshold)
    _check_bootstrap(n_bootstrap, confidence)
    values = group_values(groups, X)
    classes, kind = target_info(estimator)
    positive = positive_index(classes, kind, positive_class)
    targets = encode_targets(y, classes, kind)
    rows = n_rows(X)
    if rows is not None:  # Before predicting, which may take a while.
        check_length(values, rows, "groups")
        check_length(targets, rows, "y")
    proba = check_proba(estimator.predict_proba(X), classes)
    check_length(values, len(proba), "groups")
    check_length(targets, len(proba), "y")
    y01, score = one_vs_rest(targets, proba, kind, positive)
    table = subgroup_table(y01, score, values, threshold, n_bootstrap, confidence, random_state)
    table.attrs["positive_class"] = plain_label(classes[positive])
    return table


def subgroup_table(y01, score, groups, threshold, n_bootstrap, confidence, random_state):
    """The table of `subgroup_report`, from outcomes, scores and group values.

    Args:
        y01: is each row of the positive class, `(n,)`.
        score: probability of the positive class, `(n,)`.
        groups: group label per row, `(n,)`; missing values form `"(missing)"`.
        threshold, n_bootstrap, confidence, random_state: as in `subgroup_report`.

    Returns:
        The DataFrame described in `subgroup_report` (without `positive_class` in `attrs`).
    """
    rng = np.random.default_rng(random_state)
    codes, labels = _group_codes(groups)
    rows = [(ALL_GROUP, np.arange(len(y01)))]
    rows += [(label, np.flatnonzero(codes == k)) for k, label in enumerate(labels)]
    records = []
    for label, index in rows:
        metrics = binary_metrics_with_intervals(
            y01[index], score[index], threshold, n_bootstrap, confidence, rng
        )
        records.append({"group": label, **metrics})
    table = pd.DataFrame.from_records(records, columns=COLUMNS)
    table["n"] = table["n"].astype(int)
    table.attrs.update(
        {
            "threshold": float(threshold),
            "confidence": float(confidence),
            "n_bootstrap": int(n_bootstrap),
        }
    )
    return table


# --------------------------------------------------------------- the metrics
def binary_metrics_with_intervals(y01, score, threshold, n_bootstrap, confidence, rng):
    """n, prevalence and each metric of `METRICS` with its bootstrap interval.

    Args:
        y01: boolean outcomes `(m,)`, m >= 1.
        score: probabilities of the outcome `(m,)`.
        threshold: probability at or above which a row is called positive.
        n_bootstrap: resamples (0: NaN intervals).
        confidence: coverage of the intervals.
        rng: a `numpy.random.Generator`.

    Returns:
        dict with `n`, `prevalence` and, for each metric, the point estimate
        and its `_low` and `_high` bounds.
    """
    y01 = np.asarray(y01, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    m = len(y01)
    point = _resample_metrics(y01, score, np.arange(m)[None, :], threshold)
    point["ece"] = np.array([expected_calibration_error(y01, score, n_bins=ECE_BINS)])
    result = {"n": m, "prevalence": float(y01.mean())}
    samples = {name: [] for name in METRICS}
    chunk = max(1, _CHUNK_VALUES // m)
    for start in range(0, n_bootstrap, chunk):
        index = rng.integers(0, m, size=(min(chunk, n_bootstrap - start), m))
        for name, values in _resample_metrics(y01, score, index, threshold).items():
            samples[name].append(values)
    for name in METRICS:
        values = np.concatenate(samples[name]) if samples[name] else np.empty(0)
        low, high = _percentile_interval(values, confidence)
        result[name] = float(point[name][0])
        result[f"{name}_low"] = low
        result[f"{name}_high"] = high
    return result


def _resample_metrics(y01, score, index, threshold):
    """AUROC, AUPRC, ECE and sensitivity of each row of resample indices `index` `(b, m)`."""
    y = y01[index]
    s = score[index]
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    return {
        "auroc": _auroc(y, s, n_pos, n_neg),
        "auprc": _average_precision(y, s, n_pos, n_neg),
        "ece": _ece(y, s),
        "sensitivity": _safe_divide((y & (s >= threshold)).sum(axis=1), n_pos),
    }


def _auroc(y, s, n_pos, n_neg):
    """Row-wise ROC AUC by the rank-sum (Mann-Whitney) statistic; ties count one half."""
    ranks = rankdata(s, axis=1)
    rank_sum = np.where(y, ranks, 0.0).sum(axis=1)
    return _safe_divide(rank_sum - n_pos * (n_pos + 1) / 2.0, n_pos * n_neg)


def _average_precision(y, s, n_pos, n_neg):
    """Row-wise average precision, with ties handled as scikit-learn does.

    AP is the mean, over positives, of the precision at the lowest threshold
    that still calls that positive (the end of its block of tied scores).
    """
    m = y.shape[1]
    order = np.argsort(-s, axis=1, kind="stable")
    y_sorted = np.take_along_axis(y, order, axis=1)
    s_sorted = np.take_along_axis(s, order, axis=1)
    precision = np.cumsum(y_sorted, axis=1) / np.arange(1, m + 1)
    block_end = np.ones_like(y_sorted)
    block_end[:, :-1] = s_sorted[:, :-1] != s_sorted[:, 1:]
    positions = np.where(block_end, np.arange(m), m)
    end_of_block = np.minimum.accumulate(positions[:, ::-1], axis=1)[:, ::-1]
    precision_at_end = np.take_along_axis(precision, end_of_block, axis=1)
    total = np.where(y_sorted, precision_at_end, 0.0).sum(axis=1)
    return _safe_divide(total, np.where(n_neg > 0, n_pos, 0))


def _ece(y, s):
    """Row-wise `expected_calibration_error`, with the same equal-width bins."""
    b, m = y.shape
    bins = np.minimum((s * ECE_BINS).astype(int), ECE_BINS - 1)
    flat = (bins + ECE_BINS * np.arange(b)[:, None]).ravel()
    predicted = np.bincount(flat, weights=s.ravel(), minlength=b * ECE_BINS)
    observed = np.bincount(flat, weights=y.ravel().astype(np.float64), minlength=b * ECE_BINS)
    return np.abs(predicted - observed).reshape(b, ECE_BINS).sum(axis=1) / m


def _safe_divide(numerator, denominator):
    """numerator / denominator, NaN (without a warning) where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    defined = denominator > 0
    return np.where(defined, numerator / np.where(defined, denominator, 1.0), np.nan)


def _percentile_interval(values, confidence):
    defined = values[np.isfinite(values)]
    if defined.size == 0:
        return float("nan"), float("nan")
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(defined, [tail, 100.0 - tail])
    return float(low), float(high)


# ------------------------------------------------------- targets and classes
def target_info(estimator):
    """`(classes_, target type)` of a fitted classifier.

    The target type is `estimator.target_type_` when the estimator has one
    (keras-domains classifiers), else binary for two classes and multiclass
    for more (scikit-learn classifiers).
    """
    classes = getattr(estimator, "classes_", None)
    if classes is None or not hasattr(estimator, "predict_proba"):
        raise ValueError(
            "`estimator` must be a fitted classifier with `classes_` and `predict_proba`. "
            f"Received: {type(estimator).__name__}"
        )
    classes = np.asarray(classes)
    kind = getattr(estimator, "target_type_", None)
    if kind is None:
        kind = "binary" if len(classes) == 2 else "multiclass"
    if kind not in ("binary", "multiclass", "multilabel-indicator"):
        raise ValueError(f"Unsupported target type {kind!r} of {type(estimator).__name__}.")
    return classes, kind


def positive_index(classes, kind, positive_class):
    """Column of `predict_proba` scored one-vs-rest; see `subgroup_report`."""
    listed = [plain_label(c) for c in classes]
    if kind == "multilabel-indicator":
        if (
            isinstance(positive_class, bool)
            or not isinstance(positive_class, numbers.Integral)
            or not 0 <= positive_class < len(classes)
        ):
            raise ValueError(
                "`positive_class` is required for a multilabel model: the index of the label "
                f"to score, one of {listed}. Received: positive_class={positive_class!r}"
            )
        return int(positive_class)
    if positive_class is None:
        if kind == "binary":
            return 1
        raise ValueError(
            "`positive_class` is required for a multiclass model (it is scored one-vs-rest); "
            f"pass one of classes_ {listed}."
        )
    matches = [i for i, c in enumerate(listed) if same_label(c, positive_class)]
    if not matches:
        raise ValueError(
            f"`positive_class` must be one of classes_ {listed}. "
            f"Received: positive_class={positive_class!r}"
        )
    return matches[0]


def encode_targets(y, classes, kind, name="y"):
    """Class indices `(n,)` of y, or for multilabel the 0/1 matrix `(n, k)` as bool."""
    if y is None:
        raise ValueError(f"`{name}` is required: the true labels of the rows of X.")
    if isinstance(y, pd.DataFrame) and kind != "multilabel-indicator" and y.shape[1] == 1:
        y = y.iloc[:, 0]
    values = np.asarray(y)
    if kind == "multilabel-indicator":
        if values.ndim != 2 or values.shape[1] != len(classes):
            raise ValueError(
                f"`{name}` must be a 0/1 indicator matrix with {len(classes)} columns for this "
                f"multilabel model. Received shape {values.shape}."
            )
        numeric = pd.DataFrame(values).apply(pd.to_numeric, errors="coerce").to_numpy()
        if not np.isin(numeric, (0, 1)).all():
            raise ValueError(f"`{name}` must hold only 0 and 1 for a multilabel model.")
        return numeric.astype(bool)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D labels. Received shape {values.shape}.")
    codes = pd.Index(classes).get_indexer(values)
    if (codes < 0).any():
        unknown = sorted({str(v) for v in values[codes < 0].tolist()})
        raise ValueError(
            f"`{name}` has labels {unknown[:10]} that are not in the model's classes_ "
            f"{[plain_label(c) for c in classes]}."
        )
    return codes


def check_proba(proba, classes):
    """`predict_proba`'s output as a float matrix with one column per class."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        raise ValueError(
            f"`predict_proba` returned shape {proba.shape}; expected (n, {len(classes)})."
        )
    return proba


def one_vs_rest(targets, proba, kind, positive):
    """`(y01, score)`: is each row of the positive class, and its probability."""
    if kind == "multilabel-indicator":
        return targets[:, positive], proba[:, positive]
    return targets == positive, proba[:, positive]


def check_threshold(threshold):
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not 0.0 <= threshold <= 1.0
    ):
        raise ValueError(f"`threshold` must be in [0, 1]. Received: threshold={threshold!r}")


def _check_bootstrap(n_bootstrap, confidence):
    if (
        isinstance(n_bootstrap, bool)
        or not isinstance(n_bootstrap, numbers.Integral)
        or n_bootstrap < 0
    ):
        raise ValueError(
            f"`n_bootstrap` must be a non-negative integer. Received: n_bootstrap={n_bootstrap!r}"
        )
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0.0 < confidence < 1.0
    ):
        raise ValueError(f"`confidence` must be in (0, 1). Received: confidence={confidence!r}")


# -------------------------------------------------------------------- groups
def group_values(groups, X):
    """One group value per row, from an array-like or a column of X."""
    if groups is None:
        raise ValueError("`groups` is required: one group label per row, or a column name of X.")
    if np.ndim(groups) == 0:  # A column name.
        if not isinstance(X, pd.DataFrame):
            raise ValueError(
                f"`groups`={groups!r} names a column, but X is a {type(X).__name__}, not a "
                "DataFrame; pass one group label per row instead."
            )
        if groups not in X.columns:
            raise ValueError(
                f"`groups` names the column {groups!r}, which X does not have; "
                f"its columns are {list(X.columns)[:20]}."
            )
        return X[groups].to_numpy()
    values = np.asarray(groups, dtype=object) if not isinstance(groups, np.ndarray) else groups
    if values.ndim != 1:
        raise ValueError(f"`groups` must be 1-D, one label per row. Received shape {values.shape}.")
    return values


def _group_codes(values):
    """Group index of each row (-1: missing) and the sorted group labels.

    Rows with a missing group value form a last group, `MISSING_GROUP`.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = [plain_label(u) for u in uniques]
    try:
        order = sorted(range(len(labels)), key=lambda i: labels[i])
    except TypeError:  # Mixed types: sort by their text.
        order = sorted(range(len(labels)), key=lambda i: str(labels[i]))
    rank = np.empty(len(labels), dtype=int)
    rank[order] = np.arange(len(labels))
    known = codes >= 0
    sorted_codes = np.full(len(codes), len(labels))
    sorted_codes[known] = rank[codes[known]]
    labels = [labels[i] for i in order]
    if not known.all():
        labels.append(MISSING_GROUP)
    return sorted_codes, labels


# ------------------------------------------------------------------- helpers
def n_rows(X):
    """Number of rows of X when it can be told without predicting (not for a folder path)."""
    if isinstance(X, str | bytes) or not hasattr(X, "__len__"):
        return None
    try:
        return len(X)
    except TypeError:
        return None


def check_length(values, n_rows, name):
    if len(values) != n_rows:
        raise ValueError(
            f"`{name}` must have one entry per row of X: X has {n_rows} rows, "
            f"{name} has {len(values)}."
        )


def same_label(a, b):
    """`a == b` for labels, where True is not the class 1."""
    b = plain_label(b)
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def plain_label(value):
    """A numpy scalar as the Python value (for readable messages and tables)."""
    return value.item() if isinstance(value, np.generic) else value
