"""Optional plotting support: matplotlib on demand, and figures saved atomically.

matplotlib is an optional dependency (the `plots` extra). Nothing imports it
until a plot is asked for, and then `require_matplotlib` either returns
`matplotlib.pyplot` or raises an ImportError that says how to install it.
"""

import os
import sys

from core.persistence.atomic_file import atomic_path, check_file_path

INSTALL_HINT = 'pip install "keras-domains[plots]"'


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


def save_figure(figure, path, dpi=120):
    """Writes `figure` to `path` atomically, then closes the figure.

    The image goes to a temporary file in the destination folder, which is
    then renamed over `path`, so a crash while drawing never leaves a
    half-written image behind. The format follows the extension of `path`
    (PNG when it has none).

    Args:
        figure: a matplotlib `Figure`.
        path: destination file (str or path-like); its folder must exist.
        dpi: resolution in dots per inch.

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
        plt.close(figure)
    return path


def check_output_path(path):
    """`path` as a string, or an error that names it (see `check_file_path`)."""
    return check_file_path(path, "figure")
