"""Kaplan-Meier estimates of the survival function and of the censoring distribution.

Conventions follow scikit-survival (`sksurv.nonparametric`): at a time where
events and censorings tie, the events happen first, so the censored rows are
still at risk for the events and the events are no longer at risk for the
censoring distribution. Both curves are right-continuous steps: the value at
`t` includes what happened at `t`.
"""

import numbers

import numpy as np
from scipy import stats

from core.metrics.survival_target import check_time_event


def _counts(time, event):
    """Unique times with their numbers of events, of rows at risk and of censorings."""
    unique, inverse, counts = np.unique(time, return_inverse=True, return_counts=True)
    n_events = np.bincount(inverse, weights=event, minlength=len(unique)).astype(np.int64)
    n_at_risk = len(time) - np.concatenate(([0], np.cumsum(counts)[:-1]))
    return unique, n_events, n_at_risk, counts - n_events


def kaplan_meier_steps(time, event):
    """Kaplan-Meier steps at event times with the Greenwood sum; inputs already checked."""
    unique, n_events, n_at_risk, _ = _counts(time, event)
    keep = n_events > 0
    d, r = n_events[keep].astype(np.float64), n_at_risk[keep].astype(np.float64)
    survival = np.cumprod(1.0 - d / r)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(r != d, d / (r * (r - d)), 0.0)
    return unique[keep], survival, np.cumsum(ratio)


def log_log_interval(survival, greenwood, conf_level):
    """Pointwise log(-log S) confidence interval, as scikit-survival computes it."""
    eps = np.finfo(np.float64).eps
    positive = survival > eps
    log_s = np.zeros_like(survival)
    np.log(survival, where=positive, out=log_s)
    theta = np.zeros_like(survival)
    np.true_divide(np.sqrt(greenwood), log_s, where=log_s < -eps, out=theta)
    z = stats.norm.isf((1.0 - conf_level) / 2.0)
    lower = np.exp(np.exp(-z * theta) * log_s)
    upper = np.exp(np.exp(z * theta) * log_s)
    lower[~positive] = 0.0
    upper[~positive] = 0.0
    return lower, upper


def step_at(knots, values, last_time, at, label):
    """Right-continuous step function (1 before the first knot) evaluated at `at`.

    Beyond `last_time` (the last observed time) the curve is unknown unless it
    has already reached 0.
    """
    at = np.asarray(at, dtype=np.float64)
    final = values[-1] if len(values) else 1.0
    beyond = at > last_time
    if final > 0 and beyond.any():
        raise ValueError(
            f"{label} must be <= the last observed time {last_time!r}, where the curve "
            f"is still {final:.4g} > 0. Received {at[beyond].max()!r}."
        )
    index = np.searchsorted(knots, at, side="right") - 1
    return np.where(index >= 0, np.concatenate((values, [1.0]))[index], 1.0)


def kaplan_meier(time, event, conf_level=None):
    """Kaplan-Meier estimate of the survival function S(t) = P(T > t).

    Args:
        time: event or censoring times > 0, shape `(n,)`.
        event: 1 (or True) where the event was observed, 0 where censored.
        conf_level: if given (e.g. 0.95), also return pointwise confidence
            limits from Greenwood's variance with the log(-log) transform, as
            scikit-survival's `kaplan_meier_estimator(conf_type="log-log")`.

    Returns:
        `(times, survival)`: the unique event times, increasing, and S at
        each (S is 1 before the first and constant between them); with
        `conf_level`, `(times, survival, lower, upper)`.
    """
    time, event = check_time_event(time, event, require_event=False)
    times, survival, greenwood = kaplan_meier_steps(time, event)
    if conf_level is None:
        return times, survival
    if (
        isinstance(conf_level, bool)
        or not isinstance(conf_level, numbers.Real)
        or not 0 < conf_level < 1
    ):
        raise ValueError(
            f"`conf_level` must be a number in (0, 1). Received: conf_level={conf_level!r}"
        )
    lower, upper = log_log_interval(survival, greenwood, float(conf_level))
    return times, survival, lower, upper


def kaplan_meier_at(time, event, at):
    """Kaplan-Meier survival S(t) evaluated at given times.

    Args:
        time: event or censoring times > 0, shape `(n,)`.
        event: 1 (or True) where the event was observed, 0 where censored.
        at: times at which to evaluate, any shape; each <= max(time) unless the
            curve has reached 0.

    Returns:
        Array shaped like `at` with S at each time.
    """
    time, event = check_time_event(time, event, require_event=False)
    times, survival, _ = kaplan_meier_steps(time, event)
    return step_at(times, survival, time.max(), at, "`at`")


def censoring_survival(time, event, at, label="`at`"):
    """Kaplan-Meier estimate of the censoring survival G(t) = P(C > t), for IPCW weights.

    Censorings tied with events count as happening just after them (the event
    rows leave the risk set first), and G is right-continuous: G(t) includes
    censorings at `t` itself. This is scikit-survival's
    `CensoringDistributionEstimator`, whose IPCW weight for an event at y is
    1 / G(y).

    Args:
        time: event or censoring times > 0 (training data), shape `(n,)`.
        event: 1 (or True) where the event was observed, 0 where censored.
        at: times at which to evaluate G, any shape; each <= max(time) unless
            G has reached 0.
        label: how `at` is named in error messages.

    Returns:
        Array shaped like `at` with G at each time.
    """
    time, event = check_time_event(time, event, require_event=False)
    unique, n_events, n_at_risk, n_censored = _counts(time, event)
    keep = n_censored > 0
    c = n_censored[keep].astype(np.float64)
    r = (n_at_risk - n_events)[keep].astype(np.float64)
    return step_at(unique[keep], np.cumprod(1.0 - c / r), time.max(), at, label)
