"""Regression on top of `KerasEstimator`: numbers, quantiles and conformal intervals."""

import numpy as np
import pandas as pd
from keras import ops
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from core.calibration import conformal_interval, interval_scores
from core.calibration.split_conformal import check_alpha
from core.estimators.held_out_training import HeldOutTraining
from core.estimators.keras_estimator import KerasEstimator
from core.estimators.parameter import Parameter
from core.losses import REGRESSION_LOSSES, EnsembleRegressionLoss, ordered_quantiles
from core.metrics import regression_report
from core.persistence.metadata import jsonable


class KerasRegressor(RegressorMixin, HeldOutTraining, KerasEstimator):
    """Regression of one or several continuous targets with Keras.

    Targets are standardised inside (each to mean 0 and standard deviation
    1) and restored outside, so the model's scale, the learning rate and the
    Huber threshold mean the same for a cost in euros and a lab value.

    The constructor parameter `loss` picks what is learned:

    - `"squared_error"`: the mean; `"absolute_error"`: the median;
      `"huber"`: squared within one standard deviation of the target,
      absolute beyond it (robust to outliers, close to the mean).
    - `"quantile"`: the pinball loss over `quantiles=`, each target's
      quantiles kept increasing by construction (`ordered_quantiles`);
      `predict` returns the median (0.5 is added to the levels when missing).

    `predict_interval(X, alpha)` gives intervals that hold the truth with
    probability `1 - alpha` by conformal prediction on the held-out rows
    (the rows early stopping watched, or every row out of fold when members
    are cross-fitted): split conformal on absolute residuals for the point
    losses, conformalised quantile regression for the quantile loss.

    Attributes:
        n_targets_: number of targets.
        target_names_: their names (the DataFrame's columns, the Series' name, or
            `"y"` / `"y0"`, `"y1"`, ... for arrays).
        target_mean_, target_scale_: the standardisation of each target.
        quantiles_: the quantile levels the model predicts, or None.
        history_: per-epoch training and validation loss.
        n_epochs_: epochs run.
    """

    parameter_checks = {
        "loss": Parameter.choice(REGRESSION_LOSSES),
        "quantiles": Parameter.levels(),
    }

    # ------------------------------------------------------------- targets
    def _encode_target(self, y, n_rows):
        """Validates `y` and returns it standardised, `(n_rows, n_targets)` float32.

        Returns:
            `(targets, None)`: regression targets stratify nothing.
        """
        values, names, ndim = _target_matrix(y, n_rows, type(self).__name__)
        self.target_names_ = names
        self.n_targets_ = values.shape[1]
        self.target_ndim_ = ndim
        self.target_mean_ = values.mean(axis=0)
        scale = values.std(axis=0)
        self.target_scale_ = np.where(scale > 0, scale, 1.0)
        self.quantiles_ = None
        if self.loss == "quantile":
            self.quantiles_ = sorted({*(float(q) for q in self.quantiles), 0.5})
        return ((values - self.target_mean_) / self.target_scale_).astype(np.float32), None

    def _levels(self):
        """Outputs per target: the quantile levels, or one value."""
        return 1 if self.quantiles_ is None else len(self.quantiles_)

    def _n_outputs(self):
        return self.n_targets_ * self._levels()

    def _task_loss(self, masked_members=None):
        return EnsembleRegressionLoss(
            kind=self.loss, quantiles=self.quantiles_, masked_members=masked_members
        )

    def _check_calibration_rows(self, n_held_out):
        """Nothing to check before training; `predict_interval` says when too few rows were kept."""

    def _fit_calibration(self, validation, folds=None):
        """Keeps the held-out rows' predictions and truths, for `predict_interval`.

        Args:
            validation: `(inputs, standardised targets, ...)`, or None.
            folds: for cross-fitted members, the member that held out each row.
        """
        self.held_out_values_ = self.held_out_truth_ = self.held_out_folds_ = None
        if validation is None:
            return
        outputs, targets = self._held_out_outputs(validation, folds)
        self.held_out_values_ = self._member_values(outputs)[:, 0]
        truth = targets.reshape(len(targets), -1)[:, : self.n_targets_].astype(np.float64)
        self.held_out_truth_ = truth * self.target_scale_ + self.target_mean_
        self.held_out_folds_ = None if folds is None else np.asarray(folds, dtype=int)

    # ------------------------------------------------- metric per epoch
    epoch_metric = "rmse"

    def _epoch_score(self, outputs, targets):
        """Root mean squared error of the point predictions, in the targets' units."""
        values = self._member_values(outputs)[..., self._point_level()].mean(axis=1)
        truth = targets[:, : self.n_targets_] * self.target_scale_ + self.target_mean_
        return float(np.sqrt(np.mean((values - truth) ** 2)))

    # ---------------------------------------------------------- prediction
    def _member_values(self, outputs):
        """Each member's predictions in the targets' units.

        Returns:
            `(n, n_members, n_targets, n_levels)` float64.
        """
        values = np.asarray(ordered_quantiles(outputs.astype(np.float64), self._levels()))
        return values * self.target_scale_[:, None] + self.target_mean_[:, None]

    def _outputs(self, X, **context):
        """The model's outputs `(n, n_members, n_outputs)` for raw input.

        The hook a task overrides when its input does not go through
        `_transform` in one piece (files read in chunks).
        """
        return self._predict_raw(self._transform(X, **context))

    def _point_level(self):
        return 0 if self.quantiles_ is None else self.quantiles_.index(0.5)

    def _shaped(self, values):
        """`(n, n_targets, ...)` values as `predict` returns them: one target drops its axis
        when `y` was 1-D."""
        return values[:, 0] if self.target_ndim_ == 1 else values

    def predict(self, X, **context):
        """Predicts the targets: the mean (squared error), median (absolute error, quantile).

        Args:
            X: raw input, as for `fit`.
            **context: the task's further prediction arguments.

        Returns:
            `(n,)` for a 1-D `y`, else `(n, n_targets)`.
        """
        check_is_fitted(self)
        values = self._member_values(self._outputs(X, **context)).mean(axis=1)
        return self._shaped(values[..., self._point_level()])

    def predict_quantiles(self, X, **context):
        """Predicts every quantile level of `quantiles_` (quantile loss only).

        Returns:
            `(n, n_levels)` for a 1-D `y`, else `(n, n_targets, n_levels)`;
            increasing along the last axis.
        """
        check_is_fitted(self)
        if self.quantiles_ is None:
            raise ValueError(
                "`predict_quantiles` needs a model fitted with loss='quantile'. "
                f"Received: loss={self.loss!r}; `predict_interval` gives intervals for any loss."
            )
        return self._shaped(self._member_values(self._outputs(X, **context)).mean(axis=1))

    def predict_interval(self, X, alpha=0.1, **context):
        """Conformal prediction intervals that hold the truth with probability >= 1 - alpha.

        For a point loss the interval is the prediction plus and minus a
        quantile of the held-out absolute residuals (constant width). For the
        quantile loss, the band between the levels nearest `alpha / 2` and
        `1 - alpha / 2` is widened or narrowed by a quantile of how far the
        held-out truths fell outside it, so widths follow the row's
        uncertainty (conformalised quantile regression). The guarantee is
        marginal over rows exchangeable with the held-out ones, per target.

        Args:
            X: raw input, as for `predict`.
            alpha: allowed miss rate in (0, 1); 0.1 gives 90% intervals.
            **context: the task's further prediction arguments.

        Returns:
            `(n, 2)` lower and upper bounds for a 1-D `y`, else `(n, n_targets, 2)`.

        Raises:
            ValueError: if `alpha` is not in (0, 1), or the model kept too few
                held-out rows for it (or none: `validation_fraction=0`).
        """
        check_is_fitted(self)
        self._check_interval(alpha)
        members = self._member_values(self._outputs(X, **context))
        return self._shaped(self._intervals(members, alpha))

    def predict_with_interval(self, X, alpha=0.1, **context):
        """`predict` and `predict_interval` from one pass of the model (what a server answers).

        Returns:
            `(predictions, bounds)` as `predict` and `predict_interval` return
            them; bounds are None when the model kept no held-out rows.
        """
        check_is_fitted(self)
        check_alpha(alpha)
        members = self._member_values(self._outputs(X, **context))
        predictions = self._shaped(members.mean(axis=1)[..., self._point_level()])
        if getattr(self, "held_out_values_", None) is None:
            return predictions, None
        return predictions, self._shaped(self._intervals(members, alpha))

    def _check_interval(self, alpha):
        """Raises a ValueError for a bad `alpha`, or when no held-out rows were kept."""
        check_alpha(alpha)
        if getattr(self, "held_out_values_", None) is None:
            raise ValueError(
                "`predict_interval` needs held-out rows kept at fit time, and this model was "
                "fitted with validation_fraction=0. Refit with validation_fraction > 0."
            )

    def _intervals(self, members, alpha):
        """Conformal bounds `(n, n_targets, 2)` from each member's values (`_member_values`)."""
        low_level, high_level = self._band_levels(alpha)
        if self.held_out_folds_ is None:
            members = members.mean(axis=1, keepdims=True)
        held_out, truth = self.held_out_values_, self.held_out_truth_
        bounds = np.empty((len(members), self.n_targets_, 2))
        for t in range(self.n_targets_):
            scores = interval_scores(
                held_out[:, t, low_level], held_out[:, t, high_level], truth[:, t]
            )
            bounds[:, t, 0], bounds[:, t, 1] = conformal_interval(
                members[:, :, t, low_level],
                members[:, :, t, high_level],
                scores,
                alpha,
                folds=self.held_out_folds_,
            )
        return bounds

    def _band_levels(self, alpha):
        """Indices of the quantile levels nearest `alpha / 2` and `1 - alpha / 2`."""
        if self.quantiles_ is None:
            return 0, 0
        levels = np.asarray(self.quantiles_)
        return int(np.argmin(np.abs(levels - alpha / 2))), int(
            np.argmin(np.abs(levels - (1 - alpha / 2)))
        )

    def _point_average(self, outputs):
        """Differentiable `outputs -> (batch, n_targets)` point predictions in the targets'
        units, the members averaged (what `predict` returns)."""
        values = ordered_quantiles(outputs, self._levels())[..., self._point_level()]
        values = ops.mean(values, axis=1)
        return values * ops.cast(self.target_scale_, values.dtype) + ops.cast(
            self.target_mean_, values.dtype
        )

    def _target_index(self, target):
        """Index of a target given by name or position (None: the first)."""
        if target is None:
            return 0
        if target in self.target_names_:
            return self.target_names_.index(target)
        if isinstance(target, int | np.integer) and 0 <= target < self.n_targets_:
            return int(target)
        raise ValueError(
            f"`target` must be one of {self.target_names_} or an index below {self.n_targets_}. "
            f"Received: target={target!r}"
        )

    # -------------------------------------------------------------- report
    def report(self, X, y, alpha=0.1, **context):
        """RMSE, MAE, R2, and the coverage and width of the conformal intervals.

        Args:
            X: raw input (held-out data, not the training rows).
            y: true values, shaped as in `fit`.
            alpha: miss rate of the intervals reported; None leaves them out.
            **context: the task's further prediction arguments.

        Returns:
            dict: for one target, `n`, `rmse`, `mae`, `r2` and (when the model
            kept held-out rows) `alpha`, `coverage`, `mean_width`,
            `median_width`; for several, the same per target under
            `targets`, by name.
        """
        check_is_fitted(self)
        predicted = self.predict(X, **context).reshape(-1, self.n_targets_)
        truth, _, _ = _target_matrix(y, len(predicted), type(self).__name__)
        intervals = None
        if alpha is not None and getattr(self, "held_out_values_", None) is not None:
            intervals = self.predict_interval(X, alpha, **context).reshape(-1, self.n_targets_, 2)
        reports = {}
        for t, name in enumerate(self.target_names_):
            interval = None if intervals is None else intervals[:, t]
            reports[name] = regression_report(truth[:, t], predicted[:, t], interval)
            if interval is not None:
                reports[name]["alpha"] = float(alpha)
        if self.n_targets_ == 1:
            return reports[self.target_names_[0]]
        return {"n": len(predicted), "targets": reports}

    # --------------------------------------------------------------- export
    def _export_head(self, outputs):
        """Predictions as `predict` computes them (and the quantiles), in float64."""
        import tensorflow as tf

        outputs = tf.cast(outputs, tf.float64)
        values = ordered_quantiles(outputs, self._levels())
        values = tf.reduce_mean(values, axis=1) * self.target_scale_[:, None]
        values = values + self.target_mean_[:, None]
        head = {"predictions": values[..., self._point_level()]}
        if self.quantiles_ is not None:
            head["quantiles"] = values
        return head

    def _export_description(self):
        outputs = {
            "predictions": "float64 (n, n_targets), columns in `targets` order, as predict "
            "returns them"
        }
        if self.quantiles_ is not None:
            outputs["quantiles"] = "float64 (n, n_targets, n_levels), levels in `quantiles` order"
        return {
            **super()._export_description(),
            "targets": self.target_names_,
            "loss": self.loss,
            "quantiles": self.quantiles_,
            "outputs": outputs,
        }

    # --------------------------------------------------------------- state
    def _get_fitted_state(self):
        held_out = getattr(self, "held_out_values_", None)
        return {
            **super()._get_fitted_state(),
            "target_names": self.target_names_,
            "target_ndim": self.target_ndim_,
            "target_mean": self.target_mean_.tolist(),
            "target_scale": self.target_scale_.tolist(),
            "quantiles": self.quantiles_,
            "held_out_values": None if held_out is None else held_out.tolist(),
            "held_out_truth": jsonable(getattr(self, "held_out_truth_", None)),
            "held_out_folds": jsonable(getattr(self, "held_out_folds_", None)),
        }

    def _set_fitted_state(self, state):
        super()._set_fitted_state(state)
        self.target_names_ = list(state["target_names"])
        self.n_targets_ = len(self.target_names_)
        self.target_ndim_ = state["target_ndim"]
        self.target_mean_ = np.asarray(state["target_mean"], dtype=np.float64)
        self.target_scale_ = np.asarray(state["target_scale"], dtype=np.float64)
        self.quantiles_ = state["quantiles"]
        held_out = state.get("held_out_values")
        self.held_out_values_ = None if held_out is None else np.asarray(held_out)
        truth = state.get("held_out_truth")
        self.held_out_truth_ = None if truth is None else np.asarray(truth, dtype=np.float64)
        folds = state.get("held_out_folds")
        self.held_out_folds_ = None if folds is None else np.asarray(folds, dtype=int)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


def _target_matrix(y, n_rows, owner):
    """`(values, names, ndim)`: y as a finite float64 `(n_rows, n_targets)` matrix, the
    target names, and y's own number of dimensions.

    Raises:
        ValueError: naming `y`, for a missing, misshapen, non-numeric, NaN or
            infinite target.
    """
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None.")
    if isinstance(y, pd.DataFrame):
        names = [str(c) for c in y.columns]
    elif isinstance(y, pd.Series) and y.name is not None:
        names = [str(y.name)]
    else:
        names = None
    try:
        values = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        shown = np.asarray(y, dtype=object).ravel()[:5].tolist()
        raise ValueError(
            f"`y` must hold numbers for {owner}; received values such as {shown}. "
            "For class labels use a classifier."
        ) from None
    if values.ndim not in (1, 2):
        raise ValueError(
            f"`y` must be 1-D (one target) or 2-D (one column per target). "
            f"Received shape {values.shape}."
        )
    ndim = values.ndim
    values = values.reshape(len(values), -1)
    if len(values) != n_rows:
        raise ValueError(
            f"`X` and `y` have different lengths: X has {n_rows} rows, y has {len(values)}."
        )
    if len(values) == 0 or values.shape[1] == 0:
        raise ValueError(f"`y` is empty (shape {values.shape}); expected one value per row of X.")
    if np.isnan(values).any():
        raise ValueError(
            f"`y` contains {int(np.isnan(values).sum())} missing values (NaN); every row needs "
            "a target value. Drop those rows or impute them."
        )
    if not np.isfinite(values).all():
        raise ValueError(
            f"`y` contains {int((~np.isfinite(values)).sum())} infinite values; expected "
            "finite numbers."
        )
    if names is None:
        names = ["y"] if values.shape[1] == 1 else [f"y{t}" for t in range(values.shape[1])]
    return values, names, ndim
