"""Population stability (PSI) of a score and characteristic stability (CSI) of columns."""

import itertools
import numbers

import numpy as np
import pandas as pd

from domains.finance.reports.performance_report import quantile_cuts

EPSILON = 1e-4
"""Share used in place of an empty bin's zero share, so that PSI stays finite."""

BIN_COLUMNS = [
    "bin",
    "expected_n",
    "actual_n",
    "expected_share",
    "actual_share",
    "psi_contribution",
]


def stability_report(expected, actual, bins=10):
    """How far the distribution of `actual` has moved away from `expected`.

    PSI = sum over bins of (A_i - E_i) * ln(A_i / E_i), where E_i and A_i are
    the shares of the expected and actual samples in bin i. Bins are fixed on
    the expected sample: for numbers, quantile cut points of `expected` (ties
    collapsed, outer edges -inf and +inf); for anything else, one bin per
    category of `expected` plus an `"other"` bin for categories it never saw.
    Missing values get their own `"missing"` bin. A zero share is replaced by
    `EPSILON` (1e-4) in the formula so that an empty bin gives a large but
    finite PSI.

    Verdicts: PSI < 0.1 is `"stable"`, 0.1 <= PSI < 0.25 `"investigate"`,
    PSI >= 0.25 `"shifted"`.

    Args:
        expected: the reference sample (e.g. development scores): a 1-D array
            or Series, or a DataFrame.
        actual: the sample to compare (e.g. this month's scores), of the same
            kind as `expected`; DataFrames must have the same columns.
        bins: number of quantile bins for numeric data.

    Returns:
        For 1-D inputs, a dict with `psi`, `verdict` and `bins`, a DataFrame
        with columns `bin`, `expected_n`, `actual_n`, `expected_share`,
        `actual_share` and `psi_contribution` (shares are the raw ones, before
        `EPSILON`). For DataFrames, a DataFrame indexed by column name with
        columns `psi` (that column's CSI) and `verdict`.
    """
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins < 1:
        raise ValueError(f"`bins` must be a positive integer. Received: bins={bins!r}")
    expected_is_frame = isinstance(expected, pd.DataFrame)
    actual_is_frame = isinstance(actual, pd.DataFrame)
    if expected_is_frame != actual_is_frame:
        raise ValueError(
            "`expected` and `actual` must both be DataFrames or both be 1-D arrays/Series. "
            f"Received: expected={type(expected).__name__}, actual={type(actual).__name__}."
        )
    if expected_is_frame:
        return _frame_report(expected, actual, int(bins))
    expected = _as_series(expected, "expected")
    actual = _as_series(actual, "actual")
    table = _bin_table(expected, actual, int(bins), "expected", "actual")
    psi = float(table["psi_contribution"].sum())
    return {"psi": psi, "verdict": _verdict(psi), "bins": table}


def _frame_report(expected, actual, bins):
    only_expected = [c for c in expected.columns if c not in set(actual.columns)]
    only_actual = [c for c in actual.columns if c not in set(expected.columns)]
    if only_expected or only_actual:
        raise ValueError(
            "`expected` and `actual` must have the same columns. Columns only in "
            f"`expected`: {only_expected}; columns only in `actual`: {only_actual}."
        )
    if expected.shape[1] == 0:
        raise ValueError("`expected` and `actual` have no columns; expected at least one.")
    for frame, name in ((expected, "expected"), (actual, "actual")):
        if len(frame) == 0:
            raise ValueError(f"`{name}` is empty; expected at least one row.")
    psi = []
    for column in expected.columns:
        table = _bin_table(
            expected[column],
            actual[column],
            bins,
            f"column {column!r} of `expected`",
            f"column {column!r} of `actual`",
        )
        psi.append(float(table["psi_contribution"].sum()))
    report = pd.DataFrame(
        {"psi": psi, "verdict": [_verdict(p) for p in psi]},
        index=pd.Index(expected.columns, name="column"),
    )
    return report


def _as_series(values, name):
    if isinstance(values, pd.Series):
        series = values.reset_index(drop=True)
    else:
        array = np.asarray(values)
        if array.ndim != 1:
            raise ValueError(
                f"`{name}` must be 1-D (or a DataFrame). Received an array of shape {array.shape}."
            )
        series = pd.Series(array)
    if len(series) == 0:
        raise ValueError(f"`{name}` is empty; expected at least one value.")
    return series


def _is_numeric(series):
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _bin_table(expected, actual, bins, expected_name, actual_name):
    """Counts, shares and PSI terms of `actual` against bins fixed on `expected`."""
    if _is_numeric(expected):
        if not _is_numeric(actual):
            try:
                actual = pd.to_numeric(actual.astype(object), errors="raise")
            except (TypeError, ValueError):
                raise ValueError(
                    f"{actual_name} must hold numbers like {expected_name}. Received values of "
                    f"dtype {actual.dtype}."
                ) from None
        labels, n_optional, expected_codes, actual_codes = _numeric_bins(expected, actual, bins)
    else:
        labels, n_optional, expected_codes, actual_codes = _categorical_bins(expected, actual)
    size = len(labels)
    expected_n = np.bincount(expected_codes, minlength=size)
    actual_n = np.bincount(actual_codes, minlength=size)
    # The last `n_optional` bins ("other", "missing") are listed only when used.
    keep = np.ones(size, dtype=bool)
    optional = np.arange(size) >= size - n_optional
    keep[optional & (expected_n + actual_n == 0)] = False
    labels = [label for label, kept in zip(labels, keep, strict=True) if kept]
    expected_n, actual_n = expected_n[keep], actual_n[keep]
    expected_share = expected_n / len(expected)
    actual_share = actual_n / len(actual)
    e = np.where(expected_share > 0, expected_share, EPSILON)
    a = np.where(actual_share > 0, actual_share, EPSILON)
    return pd.DataFrame(
        {
            "bin": labels,
            "expected_n": expected_n.astype(np.int64),
            "actual_n": actual_n.astype(np.int64),
            "expected_share": expected_share,
            "actual_share": actual_share,
            "psi_contribution": (a - e) * np.log(a / e),
        },
        columns=BIN_COLUMNS,
    )


def _numeric_bins(expected, actual, bins):
    """Quantile bins (cut_i-1, cut_i] of the expected values, then a missing bin."""
    e = expected.to_numpy(dtype=np.float64, na_value=np.nan)
    a = actual.to_numpy(dtype=np.float64, na_value=np.nan)
    present = e[~np.isnan(e)]
    if present.size:
        cuts = quantile_cuts(present, bins)
    else:
        cuts = np.array([], dtype=np.float64)
    edges = [-np.inf, *cuts.tolist(), np.inf]
    labels = [
        f"({_edge(lo)}, {_edge(hi)}{')' if np.isinf(hi) else ']'}"
        for lo, hi in itertools.pairwise(edges)
    ]
    missing = len(labels)
    labels.append("missing")

    def codes(values):
        found = np.searchsorted(cuts, values, side="left")
        return np.where(np.isnan(values), missing, found)

    return labels, 1, codes(e), codes(a)


def _edge(value):
    return "inf" if value == np.inf else "-inf" if value == -np.inf else f"{value:.6g}"


def _categorical_bins(expected, actual):
    """One bin per category of `expected`, then "other" (unseen) and "missing"."""
    expected_missing = expected.isna().to_numpy()
    actual_missing = actual.isna().to_numpy()
    categories = pd.unique(expected[~expected_missing].to_numpy(dtype=object))
    try:
        categories = sorted(categories)
    except TypeError:
        categories = list(categories)
    position = {category: index for index, category in enumerate(categories)}
    other, missing = len(categories), len(categories) + 1

    def codes(values, is_missing):
        return np.array(
            [
                missing if gone else position.get(value, other)
                for value, gone in zip(values.to_numpy(dtype=object), is_missing, strict=True)
            ],
            dtype=np.int64,
        )

    labels = [str(category) for category in categories] + ["other", "missing"]
    return labels, 2, codes(expected, expected_missing), codes(actual, actual_missing)


def _verdict(psi):
    if psi < 0.1:
        return "stable"
    if psi < 0.25:
        return "investigate"
    return "shifted"
