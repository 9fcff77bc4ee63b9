import numpy as np
import pytest

from core.metrics import expected_calibration_error
from core.plotting import plot_reliability, require_matplotlib


def test_the_reliability_diagram_draws_the_bins_of_the_ece_into_the_given_axes(tmp_path):
    plt = require_matplotlib()
    y = [0, 1, 1, 1, 0]
    proba = [0.1, 0.3, 0.6, 1.0, 0.5]
    figure, ax = plt.subplots()
    try:
        display = plot_reliability(
            y, proba, n_bins=4, ax=ax, title="Calibration", details=["Brier 0.100"],
            x_label="p", y_label="rate",
        )  # fmt: skip
        assert display.ax_ is ax and display.figure_ is figure
        ece = expected_calibration_error(y, proba, n_bins=4)
        assert ax.get_title() == f"Calibration (Brier 0.100, ECE {ece:.3f}, n=5)"
        np.testing.assert_allclose(display.line_.get_xdata(), [0.1, 0.3, 0.55, 1.0])
        np.testing.assert_allclose(display.line_.get_ydata(), [0.0, 1.0, 0.5, 1.0])
        (counts_axis,) = [a for a in figure.axes if a is not ax]  # The twin axis of the counts.
        assert [bar.get_height() for bar in counts_axis.patches] == [1, 1, 2, 1]
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("p", "rate")
        assert list(tmp_path.iterdir()) == []  # No path: nothing written.
    finally:
        plt.close(figure)


def test_the_reliability_diagram_skips_empty_bins_writes_only_to_path_and_checks_input(tmp_path):
    plt = require_matplotlib()
    display = plot_reliability([0, 1], [0.05, 0.95], path=tmp_path / "r.png")
    assert len(display.line_.get_xdata()) == 2
    assert display.ax_.get_title().startswith("Reliability (ECE ")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert plt.get_fignums() == []  # Made here and written: closed.
    with pytest.raises(ValueError, match="`n_bins` must be a positive integer"):
        plot_reliability([0, 1], [0.1, 0.9], n_bins=0)
    assert plt.get_fignums() == []
