"""Kaplan-Meier curves by predicted risk group: do the groups a model ranks apart stay apart?"""

import numpy as np

from core.metrics.kaplan_meier import kaplan_meier
from core.metrics.survival_target import check_time_event
from core.plotting import require_matplotlib, save_figure


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
    given = ax is not None
    figure, ax = (ax.figure, ax) if given else plt.subplots(figsize=(6.0, 4.0))
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
    ax.set_xlabel("time")
    ax.set_ylabel("survival (Kaplan-Meier)")
    ax.set_ylim(0.0, 1.02)
    ax.set_title("Observed survival by predicted risk group")
    ax.legend(fontsize=8)
    if path is not None:
        save_figure(figure, path, close=not given)
    return figure
