"""Optional plotting support: matplotlib on demand, figures saved atomically, shared figures.

matplotlib is an optional dependency (the `plots` extra). Nothing imports it
until a plot is asked for, and then `require_matplotlib` either returns
`matplotlib.pyplot` or raises an ImportError that says how to install it.
"""

import os
import sys

import numpy as np

from core.metrics.calibration_metrics import calibration_bins, expected_calibration_error
from core.persistence.atomic_file import atomic_path, check_file_path

INSTALL_HINT = 'pip install "keras-domains[plots]"'
#: The colour of a model's marks in the figures.
MODEL_COLOR = "#4C72B0"


def require_matplotlib():
    """Imports matplotlib for writing image files and returns `matplotlib.pyplot`.

    The non-interactive "Agg" backend is selected when pyplot has not been
    imported yet, so plots work on servers without a display. If the caller
    already imported pyplot (e.g. in a notebook), its backend is left alone.

    Returns:
        The `matplotlib.pyplot` module.

    Raises:
        ImportError: if matplotlib is not installed; the message names the
            install command `pip install "keras-domains[plots]"`.
    """
    try:
        import matplotlib

        if "matplotlib.pyplot" not in sys.modules:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            f"Plots need matplotlib, which is not installed. Install it with: {INSTALL_HINT}"
        ) from error
    return plt


def save_figure(figure, path, dpi=120, close=True):
    """Writes `figure` to `path` atomically, then closes the figure (unless `close=False`).

    The image goes to a temporary file in the destination folder, which is
    then renamed over `path`, so a crash while drawing never leaves a
    half-written image behind. The format follows the extension of `path`
    (PNG when it has none).

    Args:
        figure: a matplotlib `Figure`.
        path: destination file (str or path-like); its folder must exist.
        dpi: resolution in dots per inch.
        close: close the figure afterwards (False for a figure the caller drew into).

    Returns:
        `path`, as given.

    Raises:
        FileNotFoundError: if the folder of `path` does not exist.
    """
    plt = require_matplotlib()
    try:
        target = check_output_path(path)
        extension = os.path.splitext(target)[1].lstrip(".").lower()
        with atomic_path(target, "figure") as tmp_path:
            figure.savefig(tmp_path, format=extension or "png", dpi=dpi)
    finally:
        if close:
            plt.close(figure)
    return path


def check_output_path(path):
    """`path` as a string, or an error that names it (see `check_file_path`)."""
    return check_file_path(path, "figure")


def figure_and_axes(ax, figsize=(6.0, 4.0)):
    """`(figure, ax, made_here)`: the Figure of a given Axes, or a new figure and its Axes."""
    if ax is not None:
        return ax.figure, ax, False
    figure, ax = require_matplotlib().subplots(figsize=figsize, layout="constrained")
    return figure, ax, True


def finish_figure(figure, path, made_here):
    """Writes `figure` to `path` when one is given (closing it if this call made it).

    A figure drawn into the caller's Axes stays open: it is the caller's
    (a notebook shows it). A figure made here and written to a file is
    closed, so scripts that write many figures do not keep them all.

    Returns:
        The Figure.
    """
    if path is not None:
        save_figure(figure, path, close=made_here)
    return figure


def plot_reliability(
    y_true,
    proba,
    n_bins=10,
    *,
    ax=None,
    path=None,
    title="Reliability",
    details=(),
    x_label="predicted probability",
    y_label="observed share",
):
    """Reliability diagram: mean predicted probability against observed rate, per bin.

    The curve is drawn by scikit-learn's `CalibrationDisplay` over the bins
    of `core.metrics.calibration_bins` (equal-width, the bins of the
    expected calibration error in the title; empty bins are not drawn); a
    well calibrated model lies on the diagonal. How many examples
    fall in each bin is drawn as light bars on a second y axis. The title
    reads `"{title} ({details}, ECE {ece}, n={n})"`.

    Args:
        y_true: 0/1 outcomes, shape `(n,)`.
        proba: predicted probabilities of the outcome 1, in [0, 1], shape `(n,)`.
        n_bins: number of bins, a positive integer.
        ax: the matplotlib Axes to draw into; a new figure when None.
        path: an image file to write the figure to, or None to write nothing.
        title: the start of the title.
        details: more figures for the title, before the ECE (e.g. "Brier 0.120").
        x_label: label of the probability axis.
        y_label: label of the observed-rate axis.

    Returns:
        scikit-learn's `CalibrationDisplay` (`.figure_`, `.ax_`, `.line_`).
    """
    from sklearn.calibration import CalibrationDisplay

    bins = calibration_bins(y_true, proba, n_bins)
    counts, edges = bins["counts"], bins["edges"]
    ece = expected_calibration_error(y_true, proba, n_bins)
    figure, ax, made_here = figure_and_axes(ax, figsize=(5.0, 4.6))
    try:
        used = counts > 0
        display = CalibrationDisplay(
            bins["observed"][used], bins["predicted"][used], np.asarray(proba, np.float64)
        ).plot(ax=ax, name="model", color=MODEL_COLOR)
        counts_axis = ax.twinx()
        bars = counts_axis.bar(
            edges[:-1], counts, width=1 / len(counts), align="edge", color=MODEL_COLOR,
            alpha=0.15, edgecolor="white", label="examples per bin",
        )  # fmt: skip
        label_bars(counts_axis, bars, [str(int(c)) if c else None for c in counts], fontsize=7)
        counts_axis.set_ylim(0, max(1, counts.max()) * 4)  # The bars stay in the lower quarter.
        counts_axis.set_ylabel("examples per bin")
        ax.set_zorder(counts_axis.get_zorder() + 1)  # The curve above the bars.
        ax.patch.set_visible(False)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.legend(loc="upper left", frameon=False)
        figures = ", ".join([*details, f"ECE {ece:.3f}", f"n={int(counts.sum())}"])
        ax.set_title(f"{title} ({figures})")
        finish_figure(figure, path, made_here)
    except BaseException:
        if made_here:
            require_matplotlib().close(figure)
        raise
    return display


def label_bars(ax, bars, labels, *, horizontal=False, offset=2, fontsize=8):
    """Writes each label at the end of its bar: above a vertical bar, right of a horizontal one.

    Args:
        ax: the matplotlib axes the bars are on.
        bars: the bars, as `ax.bar` or `ax.barh` returns them.
        labels: one string per bar; a bar whose label is None is left bare.
        horizontal: whether the bars are horizontal (`ax.barh`).
        offset: gap between the bar's end and its label, in points.
        fontsize: font size of the labels.
    """
    for bar, label in zip(bars, labels, strict=True):
        if label is None:
            continue
        if horizontal:
            ax.annotate(
                label,
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(offset, 0),
                textcoords="offset points",
                va="center",
                fontsize=fontsize,
            )
        else:
            ax.annotate(
                label,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                xytext=(0, offset),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=fontsize,
            )
