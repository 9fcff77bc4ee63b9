"""Kaplan-Meier curves by predicted risk group, drawn into a given Axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from core.reports.survival_plots import plot_kaplan_meier_by_risk


def _cohort(n=600, seed=0):
    """Exponential event times whose hazard grows with `risk`; uniform censoring."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    event_time = rng.exponential(1.0 / np.exp(risk))
    censor_time = rng.uniform(0.5, 3.0, size=n)
    return np.minimum(event_time, censor_time), event_time <= censor_time, risk


def test_draws_one_curve_per_group_ordered_by_risk_into_the_given_axes():
    time, event, risk = _cohort()
    figure, ax = plt.subplots()
    returned = plot_kaplan_meier_by_risk(time, event, risk, n_groups=3, ax=ax)
    assert returned is figure
    curves = [line for line in ax.get_lines() if line.get_label().startswith("risk group")]
    assert len(curves) == 3
    # Survival at the end of follow-up falls from the lowest to the highest risk group.
    final = [line.get_ydata()[-1] for line in curves]
    assert final[0] > final[1] > final[2]
    assert all(line.get_ydata()[0] == 1.0 for line in curves)
    assert len(ax.collections) == 3  # The Greenwood bands.
    sizes = [int(line.get_label().split("n=")[1].split(",")[0]) for line in curves]
    assert sum(sizes) == len(time) and max(sizes) - min(sizes) <= 1
    plt.close(figure)


def test_writes_the_file_and_keeps_a_given_figure_open(tmp_path):
    time, event, risk = _cohort(n=200)
    figure, ax = plt.subplots()
    plot_kaplan_meier_by_risk(time, event, risk, ax=ax, path=tmp_path / "km.png")
    assert (tmp_path / "km.png").stat().st_size > 1000
    assert plt.fignum_exists(figure.number)
    plt.close(figure)
    own = plot_kaplan_meier_by_risk(time, event, risk, path=tmp_path / "own.png")
    assert not plt.fignum_exists(own.number)


def test_tied_risks_still_fill_every_group():
    time, event, _ = _cohort(n=90)
    figure = plot_kaplan_meier_by_risk(time, event, np.zeros(90), n_groups=3)
    curves = [line for line in figure.axes[0].get_lines() if "risk group" in line.get_label()]
    assert [line.get_label().split("n=")[1].split(",")[0] for line in curves] == ["30"] * 3
    plt.close(figure)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"risk": np.zeros(5)}, "`risk` must hold one finite value per row"),
        ({"risk": np.full(10, np.nan)}, "not finite"),
        ({"n_groups": 1}, "`n_groups` must be an integer from 2"),
        ({"n_groups": 2.5}, "`n_groups`"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    time, event = np.arange(1.0, 11.0), np.ones(10)
    args = {"risk": np.arange(10.0), **kwargs}
    with pytest.raises(ValueError, match=match):
        plot_kaplan_meier_by_risk(time, event, args.pop("risk"), **args)


def test_survival_curves_draw_one_line_per_row_from_one_at_time_zero(tmp_path):
    import pandas as pd

    from core.reports import plot_survival_curves

    times = [30.0, 365.0, 730.0]
    survival = pd.DataFrame([[0.95, 0.7, 0.5], [0.9, 0.4, 0.2]], index=["P1", "P2"], columns=times)
    figure, ax = plt.subplots()
    assert plot_survival_curves(survival, ax=ax) is figure
    curves = [line for line in ax.get_lines() if line.get_label() in ("P1", "P2")]
    assert [line.get_label() for line in curves] == ["P1", "P2"]
    np.testing.assert_allclose(curves[1].get_xdata(), [0.0, *times])
    np.testing.assert_allclose(curves[1].get_ydata(), [1.0, 0.9, 0.4, 0.2])
    plt.close(figure)
    path = tmp_path / "curves.png"
    plot_survival_curves(survival, labels=["Ann", "Bob"], path=path)
    assert path.stat().st_size > 0


@pytest.mark.parametrize(
    "survival, message",
    [
        ([[0.5]], "non-empty DataFrame"),
        ({"columns": [2.0, 1.0], "values": [[0.9, 0.8]]}, "increasing times"),
        ({"columns": [1.0, 2.0], "values": [[0.9, 1.2]]}, r"probabilities in \[0, 1\]"),
    ],
)
def test_survival_curves_refuse_what_is_not_a_curve(survival, message):
    import pandas as pd

    from core.reports import plot_survival_curves

    if isinstance(survival, dict):
        survival = pd.DataFrame(survival["values"], columns=survival["columns"])
    with pytest.raises(ValueError, match=message):
        plot_survival_curves(survival)
