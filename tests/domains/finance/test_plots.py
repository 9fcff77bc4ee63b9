"""Finance plots: valid PNGs, optional matplotlib, input errors, atomic saves."""

import builtins
import os
import sys

import numpy as np
import pandas as pd
import pytest

from core import plotting
from core.plotting import require_matplotlib, save_figure
from domains.finance import performance_report, stability_report
from domains.finance.plots import (
    plot_calibration,
    plot_reason_codes,
    plot_score_bands,
    plot_stability,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INSTALL = 'pip install "keras-domains[plots]"'


def scores(n=400, seed=0):
    rng = np.random.default_rng(seed)
    proba = rng.beta(2, 5, n)
    y = (rng.random(n) < proba).astype(int)
    return y, proba


def frames(seed=0):
    rng = np.random.default_rng(seed)
    early = pd.DataFrame(
        {
            "income": rng.lognormal(10.3, 0.4, 500),
            "loan_amount": rng.lognormal(9.0, 0.6, 500),
            "purpose": rng.choice(["car", "business", "education"], 500),
        }
    )
    late = early.assign(income=early["income"] * 0.7, loan_amount=early["loan_amount"] * 1.5)
    return early, late


def reason_codes_frame():
    return pd.DataFrame(
        {
            "reason_1": ["debt_to_income", "income", "debt_to_income", None, "age"],
            "reason_2": ["income", None, "age", None, None],
            "points_1": [12.0, 4.0, 9.5, np.nan, 1.2],
            "points_2": [3.0, np.nan, 2.0, np.nan, np.nan],
        }
    )


def check_png(path):
    """A real PNG that matplotlib reads back with a sensible size."""
    import matplotlib.image

    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert 200 <= height <= 3000 and 200 <= width <= 3000
    assert image.std() > 0  # not a blank canvas


def open_figures():
    return require_matplotlib().get_fignums()


@pytest.fixture
def plots():
    y, proba = scores()
    early, late = frames()
    return {
        "score_bands": lambda path: plot_score_bands(performance_report(y, proba), path),
        "calibration": lambda path: plot_calibration(y, proba, path, n_bins=8),
        "stability": lambda path: plot_stability(stability_report(early, late), path),
        "reason_codes": lambda path: plot_reason_codes(reason_codes_frame(), path),
    }


@pytest.mark.parametrize("name", ["score_bands", "calibration", "stability", "reason_codes"])
def test_each_plot_writes_a_png_only_when_given_a_path(plots, name, tmp_path):
    path = tmp_path / f"{name}.png"
    drawn = plots[name](path)
    figure = getattr(drawn, "figure_", drawn)  # The calibration plot returns its Display.
    assert figure.axes
    check_png(path)
    assert sorted(os.listdir(tmp_path)) == [f"{name}.png"]  # no temporary file left
    assert open_figures() == []  # the figure was made here and written: closed


def test_each_plot_draws_into_the_given_axes(tmp_path):
    plt = require_matplotlib()
    y, proba = scores()
    early, late = frames()
    figure, axes = plt.subplots(2, 2)
    try:
        report = performance_report(y, proba)
        assert plot_score_bands(report, ax=axes[0, 0]) is figure
        heights = [bar.get_height() for bar in axes[0, 0].patches]
        np.testing.assert_allclose(heights, report["bands"]["bad_rate"])
        display = plot_calibration(y, proba, n_bins=8, ax=axes[0, 1])
        assert display.ax_ is axes[0, 1] and len(display.line_.get_xdata()) <= 8
        stability = stability_report(early, late)
        assert plot_stability(stability, ax=axes[1, 0]) is figure
        widths = sorted(bar.get_width() for bar in axes[1, 0].patches)
        np.testing.assert_allclose(widths, np.sort(stability["psi"]))
        codes = reason_codes_frame()
        assert plot_reason_codes(codes, ax=axes[1, 1]) is figure
        counts = sorted(bar.get_width() for bar in axes[1, 1].patches)
        assert counts == sorted(codes["reason_1"].dropna().value_counts().tolist())
        assert os.listdir(tmp_path) == []  # No path: nothing written.
        assert open_figures() == [figure.number]  # The caller's figure stays open.
    finally:
        plt.close(figure)


def test_reason_codes_without_any_reason_still_draws(tmp_path):
    codes = pd.DataFrame({"reason_1": [None, None], "points_1": [np.nan, np.nan]})
    plot_reason_codes(codes, tmp_path / "none.png")
    check_png(tmp_path / "none.png")


def test_missing_matplotlib_names_the_install_command(monkeypatch, tmp_path):
    for module in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, module)
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match="plots") as error:
        require_matplotlib()
    assert INSTALL in str(error.value)
    y, proba = scores()
    with pytest.raises(ImportError) as error:
        plot_calibration(y, proba, tmp_path / "calibration.png")
    assert INSTALL in str(error.value)
    assert os.listdir(tmp_path) == []


def test_matplotlib_blocked_in_sys_modules(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError) as error:
        require_matplotlib()
    assert INSTALL in str(error.value)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda p: plot_score_bands({"auc": 0.7}, p), "`report`"),
        (lambda p: plot_score_bands(pd.DataFrame({"band": [1]}), p), "`report`"),
        (lambda p: plot_score_bands([0.1, 0.2], p), "`report`"),
        (lambda p: plot_calibration([0, 1, 2], [0.1, 0.5, 0.9], p), "`y`"),
        (lambda p: plot_calibration([0, 1], [0.1, 0.5, 0.9], p), "same length"),
        (lambda p: plot_calibration([0, 1], [0.1, np.nan], p), "`proba`"),
        (lambda p: plot_calibration([0, 1], [-0.1, 1.4], p), r"\[0, 1\]"),
        (lambda p: plot_calibration([0, 1], [0.1, 0.9], p, n_bins=0), "`n_bins`"),
        (lambda p: plot_calibration([], [], p), "empty"),
        (lambda p: plot_stability({"psi": 0.02, "verdict": "stable"}, p), "`stability`"),
        (lambda p: plot_stability(pd.DataFrame({"csi": [0.1]}), p), "`stability`"),
        (lambda p: plot_stability(pd.DataFrame({"psi": []}), p), "`stability`"),
        (lambda p: plot_reason_codes(pd.DataFrame({"points_1": [1.0]}), p), "`codes`"),
        (lambda p: plot_reason_codes(["income"], p), "`codes`"),
        (lambda p: plot_reason_codes(pd.DataFrame({"reason_1": []}), p), "`codes`"),
    ],
)
def test_bad_input_names_the_argument(call, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        call(tmp_path / "bad.png")
    assert os.listdir(tmp_path) == []


def test_bad_path_is_named(tmp_path):
    y, proba = scores()
    missing = tmp_path / "no_such_folder" / "calibration.png"
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        plot_calibration(y, proba, missing)
    with pytest.raises(ValueError, match="`path`"):
        plot_calibration(y, proba, 42)


def test_save_figure_replaces_atomically_and_cleans_up_on_failure(tmp_path, monkeypatch):
    plt = require_matplotlib()
    path = tmp_path / "figure.png"
    path.write_bytes(b"old image")

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])

    def broken_savefig(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, path)
    assert os.listdir(tmp_path) == ["figure.png"]  # no temporary file
    assert path.read_bytes() == b"old image"  # the old image is untouched
    assert open_figures() == []

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    assert save_figure(fig, path) == path
    check_png(path)
    assert os.listdir(tmp_path) == ["figure.png"]

    fig, _ = plt.subplots()
    with pytest.raises(FileNotFoundError, match="missing"):
        save_figure(fig, tmp_path / "missing" / "figure.png")
    assert open_figures() == []


def test_install_hint_is_the_documented_command():
    assert plotting.INSTALL_HINT == INSTALL
