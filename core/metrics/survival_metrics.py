"""Metrics for right-censored survival predictions, in NumPy.

Each metric reproduces scikit-survival's (`sksurv.metrics`) definition and its
handling of ties; the tests check them against it. Differences:

- Risk scores within `tied_tol` count as tied. scikit-survival tests
  `abs(a - b) <= tied_tol`, we compare `b` with `a - tied_tol` and
  `a + tied_tol`; the two agree except for differences within a rounding
  error of `tied_tol` itself. Equal scores are tied in both.
- IPCW weights are needed only where they are used: scikit-survival refuses
  any test time beyond the last training time, we refuse only those whose
  weight enters the metric.
- `times` must be strictly increasing (scikit-survival sorts them silently,
  which can mismatch the columns of the predictions).
"""

import numbers

import numpy as np
import pandas as pd

from core.metrics.kaplan_meier import (
    censoring_survival,
    kaplan_meier_steps,
    log_log_interval,
    step_at,
)
from core.metrics.survival_target import check_time_event


def _check_scores(values, n, label, ndim=(1,)):
    """Finite float64 predictions with `n` rows."""
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be numeric.") from None
    if values.ndim not in ndim:
        raise ValueError(
            f"{label} must have {' or '.join(str(d) for d in ndim)} dimensions. "
            f"Received shape {values.shape}."
        )
    if values.shape[0] != n:
        raise ValueError(
            f"{label} must have one row per example of `time` ({n}). Received {values.shape[0]}."
        )
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{label} must be finite; {int(bad.sum())} values are NaN or infinite.")
    return values


def _check_tol(tied_tol):
    if isinstance(tied_tol, bool) or not isinstance(tied_tol, numbers.Real) or not tied_tol >= 0:
        raise ValueError(f"`tied_tol` must be a number >= 0. Received: tied_tol={tied_tol!r}")
    return float(tied_tol)


def _check_times(times, time, min_count=1):
    """Evaluation times: strictly increasing, within [min(time), max(time))."""
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if times.ndim != 1 or len(times) < min_count:
        raise ValueError(
            f"`times` must be a 1-D array of at least {min_count} time(s). "
            f"Received shape {times.shape}."
        )
    if not np.isfinite(times).all() or (np.diff(times) <= 0).any():
        raise ValueError(f"`times` must be finite and strictly increasing. Received {times}.")
    if times[0] < time.min() or times[-1] >= time.max():
        raise ValueError(
            f"`times` must lie within the follow-up of the test data, "
            f"[{time.min()!r}, {time.max()!r}). Received [{times[0]!r}, {times[-1]!r}]."
        )
    return times


def _inverse_g(train_time, train_event, at, label):
    """1 / G(at) from the training censoring distribution, 0 where G is 0."""
    g = censoring_survival(train_time, train_event, at, label)
    return np.divide(1.0, g, out=np.zeros_like(g), where=g > 0)


def _count_after_below(start, limit, ranks):
    """For each query q: #{p >= start[q] : ranks[p] < limit[q]}, in O(n log^2 n).

    `ranks` is a permutation of 0..n-1. The prefix [0, start) is cut into
    dyadic blocks (one per set bit of `start`); at each level the ranks are
    sorted within blocks, so a block's count is one binary search.
    """
    n = len(ranks)
    positions = np.arange(n, dtype=np.int64)
    below_before = np.zeros(len(start), dtype=np.int64)
    level = 0
    while (1 << level) <= n:
        keys = np.sort((positions >> level) * n + ranks)
        has_block = ((start >> level) & 1).astype(bool)
        block = (start[has_block] >> level) - 1
        found = np.searchsorted(keys, block * n + limit[has_block], side="left")
        below_before[has_block] += found - block * (1 << level)
        level += 1
    return limit - below_before


def _concordance(time, event, risk, weights, tied_tol):
    """Weighted concordance over comparable pairs (i event, j later or censored at t_i)."""
    n = len(time)
    # Sort by (time, censored): comparable partners of an event come after its tie group.
    _, time_index = np.unique(time, return_inverse=True)
    key = time_index.astype(np.int64) * 2 + (~event)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    risk_order = np.argsort(risk, kind="stable")
    sorted_risk = risk[risk_order]
    ranks_by_row = np.empty(n, dtype=np.int64)
    ranks_by_row[risk_order] = np.arange(n)
    ranks = ranks_by_row[order]

    rows = np.flatnonzero(event)
    start = np.searchsorted(sorted_key, key[rows], side="right")
    low = np.searchsorted(sorted_risk, risk[rows] - tied_tol, side="left")
    high = np.searchsorted(sorted_risk, risk[rows] + tied_tol, side="right")
    counts = _count_after_below(np.concatenate((start, start)), np.concatenate((low, high)), ranks)
    concordant, up_to_tied = counts[: len(rows)], counts[len(rows) :]
    comparable = n - start
    if not comparable.any():
        raise ValueError(
            "The data has no comparable pairs (an event followed by a later time or by a "
            "censoring at the same time); the concordance index is undefined."
        )
    w = weights[rows]
    numerator = np.sum(w * (concordant + 0.5 * (up_to_tied - concordant)))
    denominator = np.sum(w * comparable)
    if denominator == 0:
        raise ValueError("All comparable pairs have weight 0; the concordance index is undefined.")
    return float(numerator / denominator)


def harrell_c(time, event, risk, tied_tol=1e-8):
    """Harrell's concordance index of risk scores on right-censored data.

    A pair is comparable when the shorter time is an event; events tied in time
    are not comparable with each other, an event and a censoring at the same
    time are (the censored row outlived the event). Pairs with risks within
    `tied_tol` count 1/2. Same as `sksurv.metrics.concordance_index_censored`.

    Args:
        time: event or censoring times > 0, shape `(n,)`.
        event: 1 (or True) where the event was observed, 0 where censored.
        risk: risk scores, higher meaning an earlier event, shape `(n,)`.
        tied_tol: risk differences up to this count as ties.

    Returns:
        The concordance index, a float in [0, 1].
    """
    time, event = check_time_event(time, event)
    risk = _check_scores(risk, len(time), "`risk`")
    return _concordance(time, event, risk, np.ones(len(time)), _check_tol(tied_tol))


def uno_c(time, event, risk, train_time, train_event, tau=None, tied_tol=1e-8):
    """Uno's IPCW concordance index, which does not depend on the test censoring.

    Each comparable pair with the event at t_i < `tau` weighs 1 / G(t_i)^2,
    G being the Kaplan-Meier censoring survival of the training data. Same as
    `sksurv.metrics.concordance_index_ipcw`.

    Args:
        time: test event or censoring times > 0, shape `(n,)`.
        event: test events, 1 (or True) where observed.
        risk: risk scores, higher meaning an earlier event, shape `(n,)`.
        train_time: training times, for the censoring distribution.
        train_event: training events.
        tau: truncation time; only events before it count. Needed when test
            events lie beyond the training follow-up.
        tied_tol: risk differences up to this count as ties.

    Returns:
        The concordance index, a float in [0, 1].
    """
    time, event = check_time_event(time, event)
    train_time, train_event = check_time_event(
        train_time, train_event, "`train_time`", "`train_event`"
    )
    risk = _check_scores(risk, len(time), "`risk`")
    if tau is not None and (
        isinstance(tau, bool) or not isinstance(tau, numbers.Real) or not np.isfinite(tau)
    ):
        raise ValueError(f"`tau` must be a finite number or None. Received: tau={tau!r}")
    used = event if tau is None else event & (time < tau)
    weights = np.zeros(len(time))
    label = "`time` of test events" + ("" if tau is None else " before `tau`")
    weights[used] = _inverse_g(train_time, train_event, time[used], label) ** 2
    if (weights[used] == 0).any():
        raise ValueError(
            "The training censoring survival G is 0 at some test event time; pass a smaller `tau`."
        )
    return _concordance(time, event, risk, weights, _check_tol(tied_tol))


def time_dependent_auc(time, event, risk, times, train_time, train_event, tied_tol=1e-8):
    """Cumulative/dynamic AUC at given times, with IPCW, and its weighted mean.

    At time t, cases are events by t (weighted 1 / G(t_i)) and controls are
    rows still event-free after t. The mean weights AUC(t) by the drop of the
    test Kaplan-Meier curve at each time. Same as
    `sksurv.metrics.cumulative_dynamic_auc`.

    Args:
        time: test event or censoring times > 0, shape `(n,)`.
        event: test events, 1 (or True) where observed.
        risk: risk scores, shape `(n,)`, or one column per time, `(n, k)`.
        times: strictly increasing times within [min(time), max(time)), `(k,)`.
        train_time: training times, for the censoring distribution.
        train_event: training events.
        tied_tol: risk differences up to this count as ties.

    Returns:
        `(auc, mean_auc)`: AUC at each time, shape `(k,)`, and their mean.
    """
    time, event = check_time_event(time, event)
    train_time, train_event = check_time_event(
        train_time, train_event, "`train_time`", "`train_event`"
    )
    times = _check_times(times, time)
    risk = _check_scores(risk, len(time), "`risk`", ndim=(1, 2))
    tied_tol = _check_tol(tied_tol)
    n, k = len(time), len(times)
    if risk.ndim == 1:
        risk = np.broadcast_to(risk[:, None], (n, k))
    elif risk.shape[1] != k:
        raise ValueError(
            f"`risk` must have one column per time ({k}). Received shape {risk.shape}."
        )
    needed = event & (time <= times[-1])
    ipcw = np.zeros(n)
    ipcw[needed] = _inverse_g(train_time, train_event, time[needed], "`time` of test events")
    if (ipcw[needed] == 0).any():
        raise ValueError(
            "The training censoring survival G is 0 at some test event time before "
            "`times[-1]`; pass smaller `times`."
        )

    order = np.argsort(-risk, axis=0, kind="stable")
    sorted_risk = np.take_along_axis(risk, order, axis=0)
    sorted_time = time[order]
    is_case = (sorted_time <= times) & event[order]
    is_control = sorted_time > times
    if not is_case.any(axis=0).all():
        first = times[~is_case.any(axis=0)][0]
        raise ValueError(
            f"`times` must each follow at least one test event; none by time {first!r}."
        )
    true_pos = np.cumsum(is_case * ipcw[order], axis=0)
    true_pos /= true_pos[-1]
    false_pos = np.cumsum(is_control, axis=0) / is_control.sum(axis=0)
    # Thresholds between tied risks do not exist: move each point to the end of its tie run.
    is_last = np.ones((n, k), dtype=bool)
    is_last[:-1] = ~(np.abs(np.diff(sorted_risk, axis=0)) <= tied_tol)
    run_end = np.where(is_last, np.arange(n)[:, None], n)
    run_end = np.minimum.accumulate(run_end[::-1], axis=0)[::-1]
    zero = np.zeros((1, k))
    tp = np.concatenate((zero, np.take_along_axis(true_pos, run_end, axis=0)))
    fp = np.concatenate((zero, np.take_along_axis(false_pos, run_end, axis=0)))
    auc = np.trapezoid(tp, fp, axis=0)
    if k == 1:
        return auc, float(auc[0])
    km_times, km_survival, _ = kaplan_meier_steps(time, event)
    survival = step_at(km_times, km_survival, time.max(), times, "`times`")
    drop = -np.diff(np.concatenate(([1.0], survival)))
    return auc, float(np.sum(auc * drop) / (1.0 - survival[-1]))


def _check_survival_at_times(survival_at_times, n, k):
    survival = _check_scores(survival_at_times, n, "`survival_at_times`", ndim=(1, 2))
    if survival.ndim == 1 and k == 1:
        survival = survival[:, None]
    if survival.ndim != 2 or survival.shape[1] != k:
        raise ValueError(
            f"`survival_at_times` must have one column per time ({k}). "
            f"Received shape {survival.shape}."
        )
    if ((survival < 0) | (survival > 1)).any():
        raise ValueError("`survival_at_times` must be probabilities in [0, 1].")
    return survival


def brier_scores(time, event, survival_at_times, times, train_time, train_event):
    """Brier scores at given times, with inverse-probability-of-censoring weights.

    BS(t) = mean of S(t|x_i)^2 / G(t_i) over events by t and
    (1 - S(t|x_i))^2 / G(t) over rows event-free after t; rows censored by t
    weigh 0. Same as `sksurv.metrics.brier_score`.

    Args:
        time: test event or censoring times > 0, shape `(n,)`.
        event: test events, 1 (or True) where observed.
        survival_at_times: predicted survival probabilities, `(n, k)`;
            column j at `times[j]`.
        times: strictly increasing times within [min(time), max(time)), `(k,)`.
        train_time: training times, for the censoring distribution.
        train_event: training events.

    Returns:
        Brier score at each time, shape `(k,)`.
    """
    time, event = check_time_event(time, event)
    train_time, train_event = check_time_event(
        train_time, train_event, "`train_time`", "`train_event`"
    )
    times = _check_times(times, time)
    survival = _check_survival_at_times(survival_at_times, len(time), len(times))
    needed = event & (time <= times[-1])
    inverse_g_row = np.zeros(len(time))
    inverse_g_row[needed] = _inverse_g(
        train_time, train_event, time[needed], "`time` of test events"
    )
    inverse_g_t = _inverse_g(train_time, train_event, times, "`times`")
    is_case = (time[:, None] <= times) & event[:, None]
    is_control = time[:, None] > times
    terms = (
        np.square(survival) * is_case * inverse_g_row[:, None]
        + np.square(1.0 - survival) * is_control * inverse_g_t
    )
    return terms.mean(axis=0)


def integrated_brier_score(time, event, survival_at_times, times, train_time, train_event):
    """Integrated Brier score: trapezoidal mean of `brier_scores` over `times`.

    Same as `sksurv.metrics.integrated_brier_score`.

    Args:
        time: test event or censoring times > 0, shape `(n,)`.
        event: test events, 1 (or True) where observed.
        survival_at_times: predicted survival probabilities, `(n, k)`.
        times: at least two strictly increasing times within
            [min(time), max(time)), `(k,)`.
        train_time: training times, for the censoring distribution.
        train_event: training events.

    Returns:
        The integrated Brier score, a float.
    """
    times_array = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if times_array.ndim != 1 or len(times_array) < 2:
        raise ValueError(
            f"`times` must hold at least two times to integrate over. Received {times_array}."
        )
    scores = brier_scores(time, event, survival_at_times, times, train_time, train_event)
    return float(np.trapezoid(scores, times_array) / (times_array[-1] - times_array[0]))


def calibration_at_time(time, event, survival_at_t, t, n_groups=10, conf_level=0.95):
    """Predicted against Kaplan-Meier observed event probability by `t`, per risk group.

    Rows are split into `n_groups` groups of about equal size by predicted
    event probability 1 - S(t|x) (tied predictions stay in one group). In
    each, the observed probability is 1 minus the Kaplan-Meier survival at
    `t`, with a log(-log) confidence interval from Greenwood's variance.

    Args:
        time: event or censoring times > 0, shape `(n,)`.
        event: 1 (or True) where the event was observed, 0 where censored.
        survival_at_t: predicted survival probabilities at `t`, shape `(n,)`.
        t: the time horizon, > 0.
        n_groups: number of risk groups (10: deciles).
        conf_level: level of the confidence interval.

    Returns:
        DataFrame with one row per non-empty group, from lowest to highest
        risk: `group`, `n`, `events` (events by `t`), `predicted` (mean
        predicted event probability), `observed`, `lower`, `upper`. The
        observed columns are NaN where the group's follow-up ends before `t`.
    """
    time, event = check_time_event(time, event)
    survival = _check_scores(survival_at_t, len(time), "`survival_at_t`")
    if ((survival < 0) | (survival > 1)).any():
        raise ValueError("`survival_at_t` must be probabilities in [0, 1].")
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 < t < np.inf:
        raise ValueError(f"`t` must be a finite number > 0. Received: t={t!r}")
    if isinstance(n_groups, bool) or not isinstance(n_groups, numbers.Integral) or n_groups < 1:
        raise ValueError(f"`n_groups` must be a positive integer. Received: n_groups={n_groups!r}")
    if isinstance(conf_level, bool) or not isinstance(conf_level, numbers.Real):
        raise ValueError(f"`conf_level` must be in (0, 1). Received: conf_level={conf_level!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"`conf_level` must be in (0, 1). Received: conf_level={conf_level!r}")
    n = len(time)
    predicted = 1.0 - survival
    first_rank = np.searchsorted(np.sort(predicted), predicted, side="left")
    group = first_rank * int(n_groups) // n
    rows = []
    for g in np.unique(group):
        member = group == g
        g_time, g_event = time[member], event[member]
        km_times, km_survival, greenwood = kaplan_meier_steps(g_time, g_event)
        index = np.searchsorted(km_times, t, side="right") - 1
        if index < 0:
            s, lower, upper = 1.0, 1.0, 1.0
        else:
            s = km_survival[index]
            low, up = log_log_interval(
                km_survival[index : index + 1], greenwood[index : index + 1], conf_level
            )
            lower, upper = float(low[0]), float(up[0])
        if t > g_time.max() and s > 0:
            s, lower, upper = np.nan, np.nan, np.nan
        rows.append(
            {
                "group": len(rows) + 1,
                "n": int(member.sum()),
                "events": int((g_event & (g_time <= t)).sum()),
                "predicted": float(predicted[member].mean()),
                "observed": 1.0 - s,
                "lower": 1.0 - upper,
                "upper": 1.0 - lower,
            }
        )
    return pd.DataFrame(rows)
