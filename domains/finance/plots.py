"""Figures of the finance reports: score bands, calibration, stability, reason codes.

Each function draws one figure from the output of a report (or from labels
and scores) into `ax` (a matplotlib Axes; a new figure when omitted), writes
it as an image only when `path` is given (PNG unless `path` says otherwise)
and returns the Figure (`plot_calibration`: scikit-learn's
`CalibrationDisplay`). matplotlib is optional: without it each function
raises an ImportError naming `pip install "keras-domains[plots]"`.
"""

import numbers

import numpy as np
import pandas as pd

from core.metrics import binary_report
from core.plotting import (
    check_output_path,
    figure_and_axes,
    finish_figure,
    label_bars,
    plot_reliability,
    require_matplotlib,
)
from domains.finance.reports.score_checks import binary_target, check_same_length, finite_scores

# Stability verdict thresholds, as in `stability_report`.
INVESTIGATE_PSI = 0.1
SHIFTED_PSI = 0.25

_BAR = "#4C72B0"
_STABLE, _INVESTIGATE, _SHIFTED = "#55A868", "#DD8452", "#C44E52"


def plot_score_bands(report, path=None, *, ax=None):
    """Bar chart of the bad rate in each score band, with each band's size.

    Args:
        report: the dict returned by `performance_report` (its `bands` table
            is drawn; `auc`, `ks` and `bad_rate`, when present, go in the title
            and as a reference line), or that `bands` DataFrame itself.
        path: image file to write (its folder must exist), or None to write nothing.
        ax: the matplotlib Axes to draw into; a new figure when None.

    Returns:
        The matplotlib Figure.
    """
    bands, summary = _bands_table(report)
    if path is not None:
        check_output_path(path)
    require_matplotlib()

    labels = [str(int(b)) for b in bands["band"]]
    rates = bands["bad_rate"].to_numpy(dtype=np.float64)
    counts = bands["n"].to_numpy()
    fig, ax, made_here = figure_and_axes(ax, figsize=(max(5.0, 0.6 * len(labels) + 2.5), 4.0))
    x = np.arange(len(labels))
    bars = ax.bar(x, rates, color=_BAR)
    label_bars(ax, bars, [f"n={int(count)}" for count in counts])
    overall = summary.get("bad_rate")
    if _finite(overall):
        ax.axhline(overall, color="0.3", linestyle="--", linewidth=1, label=f"all: {overall:.1%}")
        ax.legend(loc="upper right", frameon=False)
    ax.set_xticks(x, labels)
    ax.set_xlabel("score band (1 = riskiest)")
    ax.set_ylabel("bad rate")
    ax.set_ylim(0, max(1e-9, float(np.nanmax(rates)) if len(rates) else 0.0) * 1.18 + 0.01)
    ax.yaxis.set_major_formatter(_percent_formatter())
    ax.spines[["top", "right"]].set_visible(False)
    title = "Bad rate by score band"
    figures = [
        f"{name.upper()} {summary[name]:.3f}"
        for name in ("auc", "ks")
        if _finite(summary.get(name))
    ]
    if figures:
        title += " (" + ", ".join(figures) + ")"
    ax.set_title(title)
    return finish_figure(fig, path, made_here)


def plot_calibration(y, proba, path=None, n_bins=10, *, ax=None):
    """Reliability diagram: mean predicted against observed bad rate per probability bin.

    The project's one reliability diagram (`core.plotting.plot_reliability`,
    scikit-learn's `CalibrationDisplay`): `n_bins` equal-width bins of [0, 1]
    (the bins of the expected calibration error), empty bins not drawn, the
    count of each bin as light bars; the title gives the Brier score and the ECE.

    Args:
        y: actual 0/1 outcomes, 1 = bad, shape `(n,)`.
        proba: predicted probabilities of the bad outcome, in [0, 1], shape `(n,)`.
        path: image file to write (its folder must exist), or None to write nothing.
        n_bins: number of bins, a positive integer.
        ax: the matplotlib Axes to draw into; a new figure when None.

    Returns:
        scikit-learn's `CalibrationDisplay` (its `figure_` is the Figure).
    """
    y = binary_target(y, "y")
    proba = finite_scores(proba, "proba")
    check_same_length(y, proba, "y", "proba")
    if len(y) == 0:
        raise ValueError("`y` and `proba` are empty; expected at least one example.")
    if np.any((proba < 0) | (proba > 1)):
        raise ValueError(
            "`proba` must hold probabilities in [0, 1]. Received values from "
            f"{proba.min():.4g} to {proba.max():.4g}."
        )
    if path is not None:
        check_output_path(path)
    brier = binary_report(y, proba)["brier"]
    return plot_reliability(
        y,
        proba,
        n_bins,
        ax=ax,
        path=path,
        title="Calibration",
        details=[f"Brier {brier:.3f}"],
        x_label="mean predicted probability of default",
        y_label="observed bad rate",
    )


def plot_stability(stability, path=None, *, ax=None):
    """Bar chart of each column's stability index (CSI), with the 0.1 and 0.25 lines.

    Args:
        stability: the DataFrame that `stability_report(expected_df, actual_df)`
            returns (indexed by column, with a `psi` column).
        path: image file to write (its folder must exist), or None to write nothing.
        ax: the matplotlib Axes to draw into; a new figure when None.

    Returns:
        The matplotlib Figure.
    """
    if isinstance(stability, dict) and "psi" in stability:
        raise ValueError(
            "`stability` must be the per-column DataFrame of `stability_report` (call it with "
            "two DataFrames). Received the dict of a single score, whose PSI is "
            f"{stability['psi']:.4f}."
        )
    _check_frame(
        stability,
        ["psi"],
        "`stability` must be a DataFrame from `stability_report` with a `psi` column.",
        "`stability` has no rows; expected one row per column.",
    )
    psi = finite_scores(stability["psi"], "stability['psi']")
    if path is not None:
        check_output_path(path)
    require_matplotlib()

    order = np.argsort(psi, kind="stable")  # barh draws bottom-up: largest on top
    names = [str(name) for name in stability.index[order]]
    values = psi[order]
    colors = [
        _SHIFTED if v >= SHIFTED_PSI else _INVESTIGATE if v >= INVESTIGATE_PSI else _STABLE
        for v in values
    ]
    fig, ax, made_here = figure_and_axes(ax, figsize=(6.5, max(2.6, 0.32 * len(names) + 1.4)))
    bars = ax.barh(np.arange(len(names)), values, color=colors)
    label_bars(ax, bars, [f"{value:.3f}" for value in values], horizontal=True, offset=3)
    ax.axvline(
        INVESTIGATE_PSI, color=_INVESTIGATE, linestyle="--", linewidth=1, label="0.1: investigate"
    )
    ax.axvline(SHIFTED_PSI, color=_SHIFTED, linestyle="--", linewidth=1, label="0.25: shifted")
    ax.set_yticks(np.arange(len(names)), names)
    ax.set_xlim(0, max(0.3, float(values.max()) * 1.2))
    ax.set_xlabel("characteristic stability index (PSI of the column)")
    ax.set_title("Stability by column")
    ax.legend(loc="best", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return finish_figure(fig, path, made_here)


def plot_reason_codes(codes, path=None, *, ax=None):
    """Horizontal bar chart of how often each column is an applicant's main reason.

    Args:
        codes: the DataFrame that `RiskScorer.reason_codes` returns (its
            `reason_1` column is counted; applicants without a reason are
            left out of the counts).
        path: image file to write (its folder must exist), or None to write nothing.
        ax: the matplotlib Axes to draw into; a new figure when None.

    Returns:
        The matplotlib Figure.
    """
    _check_frame(
        codes,
        ["reason_1"],
        "`codes` must be the DataFrame of `RiskScorer.reason_codes` with a `reason_1` column.",
        "`codes` has no rows; expected one row per applicant.",
    )
    if path is not None:
        check_output_path(path)
    require_matplotlib()

    reasons = codes["reason_1"].dropna().astype(str)
    counts = reasons.value_counts(sort=False)
    counts = counts.iloc[np.lexsort((counts.index.to_numpy(), -counts.to_numpy()))]
    counts = counts.iloc[::-1]  # barh draws bottom-up: most frequent on top
    n = len(codes)
    fig, ax, made_here = figure_and_axes(ax, figsize=(6.5, max(2.6, 0.32 * len(counts) + 1.4)))
    if len(counts):
        bars = ax.barh(np.arange(len(counts)), counts.to_numpy(), color=_BAR)
        labels = [f"{int(count)} ({count / n:.0%})" for count in counts.to_numpy()]
        label_bars(ax, bars, labels, horizontal=True, offset=3)
        ax.set_yticks(np.arange(len(counts)), list(counts.index))
        ax.set_xlim(0, counts.max() * 1.25)
        ax.xaxis.set_major_locator(_integer_locator())
    else:
        ax.text(0.5, 0.5, "no applicant lost points", ha="center", va="center")
        ax.set_yticks([])
    ax.set_xlabel("applicants with this column as reason_1")
    ax.set_title(f"Main reason code of {n} applicants")
    ax.spines[["top", "right"]].set_visible(False)
    return finish_figure(fig, path, made_here)


def _bands_table(report):
    """The band table and the summary figures of a `performance_report` result."""
    if isinstance(report, dict):
        if "bands" not in report:
            raise ValueError(
                "`report` must be the dict of `performance_report` (with a `bands` table) or "
                f"its `bands` DataFrame. Received a dict with keys {list(report)}."
            )
        bands, summary = report["bands"], report
    else:
        bands, summary = report, {}
    needed = ["band", "n", "bad_rate"]
    _check_frame(
        bands,
        needed,
        "`report` must be the dict of `performance_report` or its `bands` DataFrame "
        f"(columns {needed}).",
        "`report` has an empty `bands` table; expected at least one band.",
    )
    return bands, summary


def _check_frame(frame, columns, requirement, empty_message):
    """Raises a ValueError unless `frame` is a DataFrame with `columns` and at least one row.

    Args:
        frame: the value to check.
        columns: the column names it must have.
        requirement: the error message when it is not such a DataFrame (what it
            received is appended).
        empty_message: the error message when it has no rows.
    """
    if not isinstance(frame, pd.DataFrame) or any(c not in frame.columns for c in columns):
        received = (
            f"a DataFrame with columns {list(frame.columns)}"
            if isinstance(frame, pd.DataFrame)
            else type(frame).__name__
        )
        raise ValueError(f"{requirement} Received: {received}")
    if len(frame) == 0:
        raise ValueError(empty_message)


def _finite(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


def _integer_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)
