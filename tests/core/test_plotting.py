import numpy as np
import pytest

from core.metrics import expected_calibration_error
from core.plotting import reliability_figure, require_matplotlib


def test_reliability_figure_draws_the_bins_of_the_ece():
    plt = require_matplotlib()
    y = [0, 1, 1, 1, 0]
    proba = [0.1, 0.3, 0.6, 1.0, 0.5]
    figure = reliability_figure(
        y,
        proba,
        n_bins=4,
        title="Calibration",
        details=["Brier 0.100"],
        x_label="p",
        y_label="rate",
    )
    try:
        ax, hist = figure.axes
        ece = expected_calibration_error(y, proba, n_bins=4)
        assert ax.get_title() == f"Calibration (Brier 0.100, ECE {ece:.3f}, n=5)"
        _, model = ax.get_lines()
        np.testing.assert_allclose(model.get_xdata(), [0.1, 0.3, 0.55, 1.0])
        np.testing.assert_allclose(model.get_ydata(), [0.0, 1.0, 0.5, 1.0])
        assert [bar.get_height() for bar in hist.patches] == [1, 1, 2, 1]
        assert (hist.get_xlabel(), ax.get_ylabel()) == ("p", "rate")
    finally:
        plt.close(figure)


def test_reliability_figure_skips_empty_bins_and_checks_its_input():
    plt = require_matplotlib()
    figure = reliability_figure([0, 1], [0.05, 0.95])
    try:
        assert len(figure.axes[0].get_lines()[1].get_xdata()) == 2
        assert figure.axes[0].get_title().startswith("Reliability (ECE ")
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="`n_bins` must be a positive integer"):
        reliability_figure([0, 1], [0.1, 0.9], n_bins=0)
    assert plt.get_fignums() == []
