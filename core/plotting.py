"""Optional plotting support: matplotlib on demand, figures saved atomically, shared figures.

matplotlib is an optional dependency (the `plots` extra). Nothing imports it
until a plot is asked for, and then `require_matplotlib` either returns
`matplotlib.pyplot` or raises an ImportError that says how to install it.
"""

import os
import sys

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


def reliability_figure(
    y_true,
    proba,
    n_bins=10,
    title="Reliability",
    details=(),
    x_label="predicted probability",
    y_label="observed share",
):
    """Reliability diagram: mean predicted probability against observed rate, per bin.

    The bins are those of `core.metrics.calibration_bins` (equal-width, the
    bins of the expected calibration error); empty bins are not drawn. A
    well calibrated model lies on the diagonal. A lower panel shows how many
    examples fall in each bin. The title reads
    `"{title} ({details}, ECE {ece}, n={n})"`.

    Args:
        y_true: 0/1 outcomes, shape `(n,)`.
        proba: predicted probabilities of the outcome 1, in [0, 1], shape `(n,)`.
        n_bins: number of bins, a positive integer.
        title: the start of the title.
        details: more figures for the title, before the ECE (e.g. "Brier 0.120").
        x_label: label of the probability axis.
        y_label: label of the observed-rate axis.

    Returns:
        A matplotlib `Figure` (write it with `save_figure`, which closes it).
    """
    bins = calibration_bins(y_true, proba, n_bins)
    counts, edges = bins["counts"], bins["edges"]
    used = counts > 0
    ece = expected_calibration_error(y_true, proba, n_bins)
    plt = require_matplotlib()
    fig, (ax, hist) = plt.subplots(
        2,
        1,
        figsize=(5.0, 5.6),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1]},
        layout="constrained",
    )
    try:
        ax.plot(
            [0, 1], [0, 1], color="0.5", linestyle="--", linewidth=1, label="perfectly calibrated"
        )
        ax.plot(
            bins["predicted"][used],
            bins["observed"][used],
            marker="o",
            color=MODEL_COLOR,
            label="model",
        )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(y_label)
        ax.legend(loc="upper left", frameon=False)
        figures = ", ".join([*details, f"ECE {ece:.3f}", f"n={int(counts.sum())}"])
        ax.set_title(f"{title} ({figures})")
        width = 1 / len(counts)
        bars = hist.bar(
            edges[:-1], counts, width=width, align="edge", color=MODEL_COLOR, edgecolor="white"
        )
        label_bars(
            hist,
            bars,
            [str(int(count)) if count else None for count in counts],
            offset=1,
            fontsize=7,
        )
        hist.set_ylim(0, max(1, counts.max()) * 1.3)
        hist.set_xlabel(x_label)
        hist.set_ylabel("count")
        for axis in (ax, hist):
            axis.spines[["top", "right"]].set_visible(False)
    except BaseException:
        plt.close(fig)
        raise
    return fig


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
