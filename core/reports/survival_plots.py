"""Survival plots: Kaplan-Meier curves by predicted risk group, predicted curves of chosen rows."""

import numpy as np

from core.metrics.kaplan_meier import kaplan_meier
from core.metrics.survival_target import check_time_event
from core.plotting import figure_and_axes, finish_figure, require_matplotlib


def plot_kaplan_meier_by_risk(time, event, risk, n_groups=3, ax=None, path=None):
    """Kaplan-Meier survival curves of the rows split into equal groups of predicted risk.

    The groups are the quantiles of `risk` (low to high); a model whose
    ranking holds shows curves that separate in that order. Each curve
    carries its Greenwood 95% band and its group's size and events.

    Args:
        time: observed times > 0, shape `(n,)`.
        event: 1 where the event was observed, 0 where censored.
        risk: predicted risk per row (higher: earlier event), shape `(n,)`.
        n_groups: number of risk groups (2 to 10).
        ax: a matplotlib Axes to draw into (a new figure when None).
        path: if given, the figure is also written there (PNG, SVG, ...), atomically;
            a figure made here is then closed, one drawn into `ax` is not.

    Returns:
        The matplotlib `Figure`.

    Raises:
        ValueError: `risk` of another length or not finite, or `n_groups`
            outside 2 to 10 or above the number of rows.
    """
    time, event = check_time_event(time, event, require_event=False)
    risk = np.asarray(risk, dtype=np.float64).reshape(-1)
    if risk.shape != time.shape or not np.isfinite(risk).all():
        raise ValueError(
            f"`risk` must hold one finite value per row ({len(time)}). Received shape "
            f"{risk.shape}, {int((~np.isfinite(risk)).sum())} not finite."
        )
    if not isinstance(n_groups, int | np.integer) or not 2 <= n_groups <= min(10, len(time)):
        raise ValueError(
            f"`n_groups` must be an integer from 2 to {min(10, len(time))}. "
            f"Received: n_groups={n_groups!r}"
        )
    plt = require_matplotlib()
    figure, ax, made_here = figure_and_axes(ax)
    # Ranks, not values, so tied risks cannot empty a group.
    groups = np.minimum(
        (np.argsort(np.argsort(risk, kind="stable")) * n_groups) // len(risk), n_groups - 1
    )
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, n_groups))
    for g in range(n_groups):
        rows = groups == g
        n_events = int(event[rows].sum())
        label = f"risk group {g + 1} of {n_groups} (n={int(rows.sum())}, events={n_events})"
        if not event[rows].any():
            ax.step([0.0, time[rows].max()], [1.0, 1.0], where="post", color=colors[g], label=label)
            continue
        times, survival, lower, upper = kaplan_meier(time[rows], event[rows], conf_level=0.95)
        steps = np.concatenate([[0.0], times])
        ax.step(
            steps, np.concatenate([[1.0], survival]), where="post", color=colors[g], label=label
        )
        ax.fill_between(
            steps,
            np.concatenate([[1.0], lower]),
            np.concatenate([[1.0], upper]),
            step="post",
            color=colors[g],
            alpha=0.15,
        )
    title = "Observed survival by predicted risk group"
    return _finish(figure, ax, "survival (Kaplan-Meier)", title, path, made_here)


def plot_survival_curves(survival, labels=None, ax=None, path=None):
    """Predicted survival curves of chosen rows (patients, loans), one line each.

    Args:
        survival: DataFrame from `predict_survival_function`: one row per
            curve, one column per time (increasing).
        labels: legend text per row (default: the DataFrame's index).
        ax: a matplotlib Axes to draw into (a new figure when None).
        path: if given, the figure is also written there, atomically; a
            figure made here is then closed, one drawn into `ax` is not.

    Returns:
        The matplotlib `Figure`.

    Raises:
        ValueError: for no rows, more than 20, times that do not increase,
            probabilities outside [0, 1], or labels of another length.
    """
    import pandas as pd

    if not isinstance(survival, pd.DataFrame) or survival.empty:
        raise ValueError(
            "`survival` must be a non-empty DataFrame from `predict_survival_function` (rows: "
            f"curves, columns: times). Received: {type(survival).__name__}"
        )
    if len(survival) > 20:
        raise ValueError(
            f"`survival` has {len(survival)} rows; plot at most 20 curves (choose patients)."
        )
    times = np.asarray(survival.columns, dtype=np.float64)
    values = survival.to_numpy(dtype=np.float64)
    if (np.diff(times) <= 0).any() or (times < 0).any():
        raise ValueError("`survival`'s columns must be increasing times >= 0.")
    if not ((values >= 0) & (values <= 1)).all():
        raise ValueError("`survival` must hold probabilities in [0, 1].")
    labels = [str(i) for i in survival.index] if labels is None else [str(v) for v in labels]
    if len(labels) != len(survival):
        raise ValueError(
            f"`labels` must give one text per curve ({len(survival)}). Received {len(labels)}."
        )
    require_matplotlib()
    figure, ax, made_here = figure_and_axes(ax)
    if times[0] > 0:  # Every curve starts at 1 at time 0.
        times = np.concatenate([[0.0], times])
        values = np.hstack([np.ones((len(values), 1)), values])
    for row, label in zip(values, labels, strict=True):
        ax.plot(times, row, label=label)
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    return _finish(figure, ax, "predicted survival", "Predicted survival curves", path, made_here)


def _finish(figure, ax, ylabel, title, path, made_here):
    """Labels a survival plot and writes it to `path` when given (closing a figure made here)."""
    ax.set_xlabel("time")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0.0, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return finish_figure(figure, path, made_here)
