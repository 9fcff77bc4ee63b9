"""Time-to-event (survival) models on top of `KerasEstimator`, with right censoring."""

import warnings

import numpy as np
import pandas as pd
from keras import ops
from sklearn.utils.validation import check_is_fitted

from core.data import count_rows
from core.estimators.held_out_training import HeldOutTraining
from core.estimators.keras_estimator import KerasEstimator
from core.estimators.parameter import Parameter
from core.losses import CoxPartialLikelihood, PiecewiseHazardLoss, interval_hazards
from core.metrics import (
    brier_scores,
    calibration_at_time,
    harrell_c,
    integrated_brier_score,
    time_dependent_auc,
    uno_c,
)
from core.metrics.survival_target import check_survival_target

SURVIVAL_MODELS = ("piecewise_hazard", "cox")
# Weight of the piecewise model's per-interval deviations from a shared log-risk
# (see `core.losses.interval_hazards`).
DEVIATION_SCALE = 1.0
# Points of the default time grid (quantiles of the training event times).
GRID_POINTS = 20


class ExtrapolationWarning(UserWarning):
    """Survival was asked for beyond the longest follow-up seen in training."""


class KerasSurvival(HeldOutTraining, KerasEstimator):
    """Survival analysis with Keras: right-censored times in, survival curves out.

    The target is a time and an event flag per row (`fit(X, time=...,
    event=...)`, or `y` as a DataFrame with both, or scikit-survival's
    structured array). The constructor parameter `model` picks the output
    part:

    - `"cox"`: one log-risk per row trained on the Cox partial likelihood
      (DeepSurv, `CoxPartialLikelihood`), with Breslow's baseline hazard
      per ensemble member; assumes proportional hazards.
    - `"piecewise_hazard"`: time is cut into `n_intervals` intervals at
      quantiles of the training event times, and the model predicts each
      interval's hazard, constant within it (`PiecewiseHazardLoss`,
      PC-Hazard): the no-covariate baseline of each interval, times a
      log-risk shared by all intervals, times a per-interval deviation.
      Hazards are free per interval, so covariate effects may grow, fade or
      cross over time: no proportional-hazards assumption.

    Predictions: `predict_survival_function`, `predict_cumulative_hazard`,
    `predict_risk` (`predict` too, as in scikit-survival) and
    `predict_median_time`. `score` is Harrell's concordance index.

    Attributes:
        time_grid_: default times of the survival curves (quantiles of the
            training event times).
        interval_ends_: ends of the hazard intervals (piecewise hazard model).
        max_time_: the longest training time; later times are extrapolated flat.
        train_time_, train_event_: the training target, kept for the
            inverse-probability-of-censoring weights of `report`.
    """

    deviation_scale = DEVIATION_SCALE
    parameter_checks = {
        "model": Parameter.choice(SURVIVAL_MODELS),
        "n_intervals": Parameter.integer(minimum=2, maximum=200).or_value("auto"),
    }

    def fit(
        self,
        X,
        y=None,
        time=None,
        event=None,
        sample_weight=None,
        checkpoint_dir=None,
        callbacks=None,
    ):
        """Trains on right-censored times.

        Args:
            X: raw input of the task (a DataFrame for tables).
            y: None, or a DataFrame (or scikit-survival structured array) with
                a time and an event column.
            time: times of the event or of censoring, > 0; or the name of the
                time column of `y`, or of X when `y` is None.
            event: 1 (or True) where the event was observed, 0 where censored;
                or the name of the event column of `y` or X.
            sample_weight: optional per-row weights.
            checkpoint_dir, callbacks: as for `KerasEstimator.fit`.

        Returns:
            self.

        Raises:
            ValueError: naming the argument, for times that are not finite and
                > 0, events other than 0/1, no events at all, or lengths that
                differ from X's.
        """
        if y is None and isinstance(time, str) and isinstance(event, str):
            if not isinstance(X, pd.DataFrame) or not {time, event} <= set(X.columns):
                raise ValueError(
                    f"`time`={time!r} and `event`={event!r} name columns, so X must be a "
                    "DataFrame that has them (or pass `y`)."
                )
            y, X = X[[time, event]], X.drop(columns=[time, event])
        times, events = check_survival_target(time, event, y)
        return super().fit(
            X,
            np.column_stack([times, events]),
            sample_weight=sample_weight,
            checkpoint_dir=checkpoint_dir,
            callbacks=callbacks,
        )

    # ------------------------------------------------------------- targets
    def _encode_target(self, y, n_rows):
        """The target in the loss' format; rows stratified by event for the folds."""
        time, event = y[:, 0], y[:, 1].astype(bool)
        if len(time) != n_rows:
            raise ValueError(
                f"`X` and the survival target have different lengths: X has {n_rows} rows, "
                f"the target {len(time)}."
            )
        self.train_time_, self.train_event_ = time, event
        self.max_time_ = float(time.max())
        event_times = time[event]
        self.time_grid_ = np.unique(
            np.quantile(event_times, np.linspace(0.05, 0.95, GRID_POINTS), method="lower")
        )
        if self.model == "cox":
            return np.column_stack([time, event]).astype(np.float32), event.astype(int)
        ends = np.quantile(event_times, np.linspace(0, 1, self._n_intervals(event) + 1)[1:])
        ends[-1] = self.max_time_
        self.interval_ends_ = np.unique(ends)
        interval, share = _interval_shares(self.interval_ends_, time)
        self.log_baseline_ = _baseline_log_hazards(interval, share, event, len(self.interval_ends_))
        return np.column_stack([interval, event, share]).astype(np.float32), event.astype(int)

    def _n_intervals(self, event):
        if self.n_intervals != "auto":
            return int(self.n_intervals)
        # About 20 events per interval, between 4 and 32 intervals.
        return int(np.clip(event.sum() // 20, 4, 32))

    def _n_outputs(self):
        return 1 if self.model == "cox" else 1 + len(self.interval_ends_)

    def _task_loss(self, masked_members=None):
        if self.model == "cox":
            return CoxPartialLikelihood(masked_members=masked_members)
        return PiecewiseHazardLoss(
            self.log_baseline_, self.deviation_scale, masked_members=masked_members
        )

    def _batch_size(self, n_rows):
        size = super()._batch_size(n_rows)
        # A Cox batch is its own risk set: too few rows and the ranks are noise.
        return max(size, 64) if self.model == "cox" and self.batch_size == "auto" else size

    def _check_calibration_rows(self, n_held_out):
        """No calibration map is fitted."""

    def _fit_calibration(self, validation, folds=None):
        """Keeps the member that held out each row, for the Breslow baseline."""
        self._held_out_folds = folds

    def _train(self, inputs, targets, stratify, weights, rng, rows=None, start=None):
        super()._train(inputs, targets, stratify, weights, rng, rows=rows, start=start)
        folds = self.__dict__.pop("_held_out_folds", None)
        if self.model == "cox":
            self._fit_baseline(inputs, folds)

    def _fit_baseline(self, inputs, folds):
        """Breslow's cumulative baseline hazard of each member, on the rows it trained on."""
        log_risk = self._predict_raw(inputs)[..., 0].astype(np.float64)
        self.baseline_times_ = np.unique(self.train_time_[self.train_event_])
        baseline = np.empty((log_risk.shape[1], len(self.baseline_times_)))
        for member in range(log_risk.shape[1]):
            rows = np.ones(len(log_risk), bool) if folds is None else folds != member
            baseline[member] = _breslow(
                self.train_time_[rows],
                self.train_event_[rows],
                log_risk[rows, member],
                self.baseline_times_,
            )
        self.baseline_hazard_ = baseline

    # ---------------------------------------------------------- prediction
    def _outputs(self, X, **context):
        """The model's outputs `(n, n_members, n_outputs)` for raw input (a hook)."""
        return self._predict_raw(self._transform(X, **context))

    def _member_survival(self, outputs, times):
        """Each member's survival probabilities at `times`, `(n, n_members, k)`."""
        outputs = outputs.astype(np.float64)
        if self.model == "cox":
            index = np.searchsorted(self.baseline_times_, times, side="right")
            start = np.zeros((len(self.baseline_hazard_), 1))
            hazard = np.concatenate([start, self.baseline_hazard_], axis=1)[:, index]
            return np.exp(-hazard[None] * np.exp(outputs[..., :1]))
        hazard = np.asarray(interval_hazards(outputs, self.log_baseline_, self.deviation_scale))
        interval, share = _interval_shares(self.interval_ends_, times)
        before = np.concatenate([np.zeros((*hazard.shape[:2], 1)), hazard.cumsum(-1)], -1)
        return np.exp(-(before[..., interval] + hazard[..., interval] * share))

    def _times(self, times):
        """`times` checked (finite, >= 0), or the default grid; warns past the training range."""
        if times is None:
            return self.time_grid_
        try:
            values = np.asarray(times, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            values = np.array([np.nan])  # Not numbers: refused below, by name.
        if values.size == 0 or not np.isfinite(values).all() or (values < 0).any():
            raise ValueError(
                "`times` must be finite times >= 0, at least one. "
                f"Received: {np.asarray(times).ravel()[:5].tolist()}"
            )
        beyond = values[values > self.max_time_]
        if beyond.size:
            warnings.warn(
                f"`times` {beyond[:3].tolist()} lie beyond the longest training time "
                f"({self.max_time_:g}); survival there is extrapolated flat from that time.",
                ExtrapolationWarning,
                stacklevel=3,
            )
        return values

    def _survival(self, X, times, **context):
        return self._member_survival(self._outputs(X, **context), times).mean(axis=1)

    def predict_survival_function(self, X, times=None, **context):
        """Probability of being event-free at each of `times`.

        Args:
            X: raw input, as for `fit`.
            times: times >= 0 (default: `time_grid_`); beyond the longest
                training time the curve is held flat, with an `ExtrapolationWarning`.
            **context: the task's further prediction arguments.

        Returns:
            DataFrame: one row per input row (X's index), one column per time.
        """
        check_is_fitted(self)
        times = self._times(times)
        survival = self._survival(X, times, **context)
        return pd.DataFrame(survival, index=self.output_index(X), columns=times)

    def predict_cumulative_hazard(self, X, times=None, **context):
        """Cumulative hazard `-log S(t)` at each of `times`; as `predict_survival_function`."""
        survival = self.predict_survival_function(X, times, **context)
        return -np.log(survival.clip(lower=1e-300))

    def predict_risk(self, X, **context):
        """One risk score per row: higher means the event is expected sooner.

        The sum of the cumulative hazard over `time_grid_` (the expected
        number of events over those times, Ishwaran et al.'s ensemble
        mortality), which ranks rows the same way at every time under a Cox
        model and summarises the whole curve when hazards are not proportional.

        Returns:
            `(n,)` array.
        """
        check_is_fitted(self)
        return _risk(self._survival(X, self.time_grid_, **context))

    def predict(self, X, **context):
        """The risk score of `predict_risk`, as scikit-survival's estimators return it."""
        return self.predict_risk(X, **context)

    def predict_median_time(self, X, **context):
        """Time at which each row's survival curve falls to 0.5; inf where it never does.

        Returns:
            `(n,)` array.
        """
        check_is_fitted(self)
        return self._median_time(self._outputs(X, **context))

    def predict_with_curve(self, X, **context):
        """Risk, median time and the survival curve over `time_grid_` from one model pass.

        What a server answers; each part equals `predict_risk`,
        `predict_median_time` and `predict_survival_function(X)`.

        Returns:
            `(risk, median_time, survival)`: `(n,)`, `(n,)` and `(n, len(time_grid_))` arrays.
        """
        check_is_fitted(self)
        outputs = self._outputs(X, **context)
        survival = self._member_survival(outputs, self.time_grid_).mean(axis=1)
        return _risk(survival), self._median_time(outputs), survival

    def _median_time(self, outputs):
        """`predict_median_time` from the model's outputs."""
        if self.model == "cox":
            knots = np.concatenate([[0.0], self.baseline_times_])
        else:
            knots = np.concatenate([[0.0], self.interval_ends_])
        # The cumulative hazard reaches log 2 where survival reaches 0.5.
        survival = self._member_survival(outputs, knots).mean(axis=1)
        hazard = -np.log(np.clip(survival, 1e-300, None))
        above = hazard >= np.log(2.0)
        first = np.argmax(above, axis=1)
        median = np.full(len(hazard), np.inf)
        found = above.any(axis=1)
        if self.model == "cox":  # A step function: the time of the step below 0.5.
            median[found] = knots[first[found]]
            return median
        # Piecewise-constant hazards: the cumulative hazard is linear between knots.
        rows = np.flatnonzero(found)
        after, before = first[rows], first[rows] - 1
        h_after, h_before = hazard[rows, after], hazard[rows, before]
        share = (np.log(2.0) - h_before) / np.maximum(h_after - h_before, 1e-300)
        median[rows] = knots[before] + share * (knots[after] - knots[before])
        return median

    def score(self, X, y=None, time=None, event=None, **context):
        """Harrell's concordance index of `predict_risk` on labelled rows."""
        times, events = check_survival_target(time, event, y)
        return harrell_c(times, events, self.predict_risk(X, **context))

    # -------------------------------------------------------------- report
    def report(self, X, y=None, time=None, event=None, times=None, **context):
        """Discrimination and calibration of the survival predictions on held-out rows.

        Args:
            X: raw input (held-out data, not the training rows).
            y, time, event: the observed target, as for `fit`.
            times: evaluation times; default: the 10th to 80th percentiles of
                the observed times (inside the follow-up, as IPCW needs).
            **context: the task's further prediction arguments.

        Returns:
            dict with `n`, `events`, `harrell_c`, `uno_c`, `auc` (mean
            time-dependent AUC) and `auc_at` (per time), `integrated_brier`,
            `brier_at`, and `calibration`: predicted against Kaplan-Meier
            observed event probability by risk decile at the median time of
            `times`, as a list of dicts.
        """
        check_is_fitted(self)
        time, event = check_survival_target(time, event, y)
        if times is None:  # Inside the follow-up, as the censoring weights need.
            times = np.unique(np.percentile(time, np.linspace(10, 80, 8), method="lower"))
            times = times[times < time.max()]
        times = np.asarray(times, dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            outputs = self._outputs(X, **context)
        survival = self._member_survival(outputs, times).mean(axis=1)
        risk = _risk(self._member_survival(outputs, self.time_grid_).mean(axis=1))
        train = (self.train_time_, self.train_event_)
        auc_at, mean_auc = time_dependent_auc(time, event, 1 - survival, times, *train)
        horizon = float(times[len(times) // 2])
        calibration = calibration_at_time(
            time, event, survival[:, len(times) // 2], horizon, n_groups=10
        )
        return {
            "n": len(time),
            "events": int(event.sum()),
            "harrell_c": harrell_c(time, event, risk),
            "uno_c": uno_c(time, event, risk, *train, tau=float(times[-1])),
            "auc": float(mean_auc),
            "auc_at": {float(t): float(a) for t, a in zip(times, auc_at, strict=True)},
            "integrated_brier": integrated_brier_score(time, event, survival, times, *train),
            "brier_at": {
                float(t): float(b)
                for t, b in zip(
                    times, brier_scores(time, event, survival, times, *train), strict=True
                )
            },
            "calibration_time": horizon,
            "calibration": calibration.to_dict(orient="records"),
        }

    # ------------------------------------------------------------- explain
    def _explained(self, inputs, target):
        """`(event probability by the horizon, zeros)`: `target` is the horizon time
        (default: the median of `time_grid_`)."""
        horizon = float(np.median(self.time_grid_) if target is None else target)
        self._times([horizon])
        return _EventProbability(self, horizon), np.zeros(count_rows(inputs), dtype=int)

    # --------------------------------------------------------------- state
    def _get_fitted_state(self):
        state = {
            **super()._get_fitted_state(),
            "train_time": self.train_time_.tolist(),
            "train_event": self.train_event_.astype(int).tolist(),
            "time_grid": self.time_grid_.tolist(),
            "max_time": self.max_time_,
        }
        if self.model == "cox":
            state["baseline_times"] = self.baseline_times_.tolist()
            state["baseline_hazard"] = self.baseline_hazard_.tolist()
        else:
            state["interval_ends"] = self.interval_ends_.tolist()
            state["log_baseline"] = self.log_baseline_.tolist()
        return state

    def _set_fitted_state(self, state):
        super()._set_fitted_state(state)
        self.train_time_ = np.asarray(state["train_time"], dtype=np.float64)
        self.train_event_ = np.asarray(state["train_event"], dtype=bool)
        self.time_grid_ = np.asarray(state["time_grid"], dtype=np.float64)
        self.max_time_ = float(state["max_time"])
        if "baseline_times" in state:
            self.baseline_times_ = np.asarray(state["baseline_times"], dtype=np.float64)
            self.baseline_hazard_ = np.asarray(state["baseline_hazard"], dtype=np.float64)
        if "interval_ends" in state:
            self.interval_ends_ = np.asarray(state["interval_ends"], dtype=np.float64)
            self.log_baseline_ = np.asarray(state["log_baseline"], dtype=np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class _EventProbability:
    """Differentiable `outputs -> (batch, 1)` probability of the event by `horizon`,
    the members averaged, for integrated gradients."""

    def __init__(self, estimator, horizon):
        self.estimator, self.horizon = estimator, horizon

    def __call__(self, outputs):
        estimator = self.estimator
        if estimator.model == "cox":
            index = np.searchsorted(estimator.baseline_times_, self.horizon, side="right")
            hazard = np.zeros(len(estimator.baseline_hazard_))
            if index:
                hazard = estimator.baseline_hazard_[:, index - 1]
            hazard = ops.cast(hazard, outputs.dtype)
            survival = ops.exp(-hazard[None, :] * ops.exp(outputs[..., 0]))
        else:
            interval, share = _interval_shares(estimator.interval_ends_, [self.horizon])
            interval, share = int(interval[0]), float(share[0])
            hazard = interval_hazards(outputs, estimator.log_baseline_, estimator.deviation_scale)
            cumulative = ops.sum(hazard[..., :interval], axis=-1) + hazard[..., interval] * share
            survival = ops.exp(-cumulative)
        return ops.expand_dims(1.0 - ops.mean(survival, axis=1), -1)


def _baseline_log_hazards(interval, share, event, n_intervals):
    """Each interval's log hazard without covariates: its events over its exposure.

    The maximum-likelihood estimate of the piecewise-constant model with no
    inputs; an interval without events counts half of one, so its log stays finite.
    """
    positions = np.arange(n_intervals)
    exposure = (positions[None, :] < interval[:, None]) + (
        positions[None, :] == interval[:, None]
    ) * share[:, None]
    events = np.bincount(interval[event], minlength=n_intervals)
    return np.log(np.maximum(events, 0.5) / np.maximum(exposure.sum(axis=0), 1e-12))


def _risk(survival_on_grid):
    """`predict_risk` from the survival at the time grid: the summed cumulative hazard."""
    return -np.log(np.clip(survival_on_grid, 1e-300, None)).sum(axis=1)


def _interval_shares(ends, times):
    """The interval each time falls in, and the share of that interval elapsed by then.

    Intervals run from 0 to `ends[0]`, `ends[0]` to `ends[1]`, ...; a time
    beyond the last end gets the last interval in full (the curve is flat there).

    Returns:
        `(interval, share)`: int and float arrays shaped as `times`.
    """
    times = np.asarray(times, dtype=np.float64)
    interval = np.minimum(np.searchsorted(ends, times, side="left"), len(ends) - 1)
    starts = np.concatenate([[0.0], ends[:-1]])[interval]
    share = np.clip((times - starts) / (ends[interval] - starts), 0.0, 1.0)
    return interval, share


def _breslow(time, event, log_risk, at):
    """Breslow's cumulative baseline hazard at the times `at` (sorted).

    `dH0(t) = d(t) / sum_{j: t_j >= t} exp(f_j)` at each event time t.
    """
    shift = log_risk.max()
    risk = np.exp(log_risk - shift)
    order = np.argsort(time)
    sorted_time, sorted_risk = time[order], risk[order]
    at_risk = np.cumsum(sorted_risk[::-1])[::-1]  # Sum over rows with time >= sorted_time[i].
    first = np.searchsorted(sorted_time, at, side="left")
    deaths = np.bincount(np.searchsorted(at, time[event]), minlength=len(at))[: len(at)]
    denominator = at_risk[np.minimum(first, len(at_risk) - 1)]
    increments = np.where(first < len(sorted_time), deaths / denominator, 0.0)
    return np.cumsum(increments) * np.exp(-shift)
