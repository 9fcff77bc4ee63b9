"""Classification on top of `KerasEstimator`: targets, weights, probabilities, trust."""

import warnings

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import roc_auc_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from core.calibration import (
    CALIBRATORS,
    calibrator_from_state,
    conformal_threshold,
    nonconformity_scores,
)
from core.calibration.split_conformal import check_alpha
from core.estimators.held_out_training import HeldOutTraining, row_weights
from core.estimators.keras_estimator import KerasEstimator
from core.losses import EnsembleCrossEntropy
from core.metrics import binary_report, expected_calibration_error, multiclass_report
from core.persistence.metadata import jsonable

TARGET_TYPES = ("binary", "multiclass", "multilabel-indicator")

#: Held-out rows each calibration method needs at least. Isotonic regression
#: fits a step function, so it needs many more rows than one temperature.
MIN_CALIBRATION_ROWS = {"temperature": 20, "isotonic": 100}


class KerasClassifier(ClassifierMixin, HeldOutTraining, KerasEstimator):
    """Binary, multiclass and multilabel classification with Keras.

    The model outputs logits of shape `(batch, n_members, n_outputs)`;
    probabilities are the members' average. Targets may be any labels
    (strings, integers, booleans) or a 0/1 indicator matrix for multilabel
    problems.

    Trust features shared by every classifier:

    - `calibration="temperature"` or `"isotonic"` (a constructor parameter
      of each subclass) fits a calibration map on the held-out validation
      rows at the end of `fit`; `predict_proba` returns calibrated
      probabilities and `calibration_report` compares ECE and Brier score
      before and after.
    - `predict_set(X, alpha)` returns split conformal label sets, from the
      nonconformity scores of the held-out rows kept at fit time.

    The held-out rows are the ones early stopping watched (out-of-fold rows
    when ensemble members are cross-fitted; the latest rows for
    out-of-time validation). Their only influence on the weights is the
    choice of the stopping epoch.

    Attributes:
        classes_: the class labels (for multilabel targets, label indices).
        target_type_: "binary", "multiclass" or "multilabel-indicator".
        history_: per-epoch training and validation loss.
        n_epochs_: epochs run (early stopping may end training before `max_epochs`).
        calibrator_: the fitted calibration map, or None.
        conformal_scores_: nonconformity scores of the held-out rows, sorted
            (within each fold for cross-fitted members); None for multilabel
            targets or without held-out rows.
        conformal_folds_: for cross-fitted members, the member that held out
            each scored row; else None.
    """

    #: Target types the task accepts; a subset of TARGET_TYPES.
    _target_types = TARGET_TYPES

    # ------------------------------------------------------------- targets
    def _encode_target(self, y, n_rows):
        """Validates `y` and encodes it for the loss.

        Returns:
            `(encoded, stratify)`: targets in the loss' format and labels to
            stratify the validation split by (None for multilabel).
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
            y = y.iloc[:, 0]
        y_array = np.asarray(y)
        if y_array.ndim == 2 and y_array.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it is used "
                "as y.ravel().",
                DataConversionWarning,
                stacklevel=3,
            )
            y_array = y_array.ravel()
        if y_array.ndim not in (1, 2):
            raise ValueError(
                f"`y` must be 1-D labels or a 2-D indicator matrix. Received shape {y_array.shape}."
            )
        if len(y_array) != n_rows:
            raise ValueError(
                f"`X` and `y` have different lengths: X has {n_rows} rows, y has {len(y_array)}."
            )
        if len(y_array) == 0:
            raise ValueError("`y` is empty (0 labels); expected one label per row of X.")
        missing = pd.isna(pd.DataFrame(y_array)).to_numpy()
        if missing.any():
            raise ValueError(
                f"`y` contains {int(missing.sum())} missing values (NaN or None); "
                "every row needs a label."
            )
        if y_array.dtype.kind in "fc" and not np.isfinite(y_array).all():
            raise ValueError("`y` contains infinite values; expected class labels.")
        if y_array.dtype.kind == "f" and (np.abs(y_array) >= 2.0**63).any():
            raise ValueError(
                f"`y` has values as large as {float(np.abs(y_array).max()):.3g}, beyond integer "
                "class labels (|y| < 2**63); expected class labels."
            )
        try:
            if y_array.dtype == object:
                is_string = [isinstance(v, str) for v in y_array.ravel().tolist()]
                if any(is_string) and not all(is_string):
                    raise TypeError("strings mixed with other labels")
            target_type = type_of_target(y_array, input_name="y")
        except TypeError:  # Labels that cannot be sorted: strings mixed with numbers.
            kinds = sorted({type(v).__name__ for v in y_array.ravel().tolist()})
            what = f"mixes label types {kinds}" if len(kinds) > 1 else f"has {kinds} labels"
            raise TypeError(
                f"`y` {what}, which cannot be sorted into classes; expected labels of one type "
                f"(all strings, all numbers or all booleans). Received: "
                f"{y_array.ravel()[:5].tolist()}"
            ) from None
        if target_type in TARGET_TYPES and target_type not in self._target_types:
            supported = (
                "Only binary classification is supported."
                if self._target_types == ("binary",)
                else f"{type(self).__name__} supports {self._target_types} targets."
            )
            raise ValueError(
                f"{supported} "
                f"Received a {target_type!r} target with classes "
                f"{np.unique(y_array).tolist()[:10]}."
            )
        if target_type not in TARGET_TYPES:
            if target_type == "continuous":
                raise ValueError(
                    "`y` looks continuous (non-integer floats); a classifier needs class "
                    "labels. Received target type 'continuous'."
                )
            raise ValueError(
                f"Unknown label type {target_type!r} for `y`; expected one of {TARGET_TYPES}. "
                f"Received dtype {y_array.dtype}, e.g. {y_array.ravel()[:5].tolist()}; labels "
                "must be strings, integers or booleans of one type."
            )
        self.target_type_ = target_type
        if target_type == "multilabel-indicator":
            self.classes_ = np.arange(y_array.shape[1])
            return y_array.astype(np.float32), None
        self.classes_, codes = np.unique(y_array, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"`y` contains a single class ({self.classes_[0]!r}); a classifier needs "
                "at least two classes."
            )
        if target_type == "binary":
            return codes.reshape(-1, 1).astype(np.float32), codes
        return codes.astype(np.int32), codes

    def _loss_mode(self):
        return {
            "binary": "binary",
            "multiclass": "multiclass",
            "multilabel-indicator": "multilabel",
        }[self.target_type_]

    def _n_outputs(self):
        if self.target_type_ == "multiclass":
            return len(self.classes_)
        if self.target_type_ == "multilabel-indicator":
            return len(self.classes_)
        return 1

    def _sample_weights(self, y_codes, sample_weight, n_rows):
        weights = row_weights(sample_weight, n_rows)
        if self.class_weight is not None:
            if y_codes is None:
                raise ValueError(
                    "`class_weight` is not supported for multilabel targets; pass "
                    "`sample_weight` instead."
                )
            class_weight = self.class_weight
            if isinstance(class_weight, dict):
                unknown = set(class_weight) - set(self.classes_.tolist())
                if unknown:
                    raise ValueError(
                        f"`class_weight` has labels {sorted(map(str, unknown))} that are not "
                        f"in y's classes {self.classes_.tolist()}."
                    )
                class_weight = {
                    np.flatnonzero(self.classes_ == k)[0].item(): v for k, v in class_weight.items()
                }
            elif class_weight != "balanced":
                raise ValueError(
                    "`class_weight` must be None, 'balanced' or a dict {label: weight}. "
                    f"Received: class_weight={self.class_weight!r}"
                )
            weights *= compute_sample_weight(class_weight, y_codes)
        if weights.sum() <= 0:
            raise ValueError("All sample weights are zero; nothing to learn from.")
        return weights.astype(np.float32)

    def _members(self):
        """Ensemble members the model averages; each is cross-fitted when there are several."""
        return 1

    def _task_loss(self, masked_members=None):
        return EnsembleCrossEntropy(mode=self._loss_mode(), masked_members=masked_members)

    def _train_out_of_time(self, inputs, y_encoded, stratify, weights, times, start=None):
        """The out-of-time scheme: the latest `validation_fraction` of rows are held out.

        Early stopping and calibration then watch the rows most like those a
        deployed model meets next (fraud, credit). When the latest rows lack
        a class, a stratified sample of all rows is held out instead.

        Args:
            times: one sortable time per row.
        """
        order = np.argsort(times, kind="stable")
        n_val = round(self.validation_fraction * len(times))
        train_idx, val_idx = order, None
        if n_val >= 2 and len(times) - n_val >= 2:
            train_idx, val_idx = order[:-n_val], order[-n_val:]
            if stratify is not None and len(np.unique(stratify[val_idx])) < len(self.classes_):
                rng = np.random.RandomState(0)
                val_idx = np.concatenate(
                    [
                        rng.choice(np.flatnonzero(stratify == c), size=n, replace=False)
                        for c, n in _stratified_counts(stratify, n_val)
                    ]
                )
                train_idx = np.setdiff1d(order, val_idx)
        self._fit_held_out(inputs, y_encoded, weights, train_idx, val_idx, start)

    # --------------------------------------------------------------- trust
    def _check_calibration_rows(self, n_held_out):
        """Fails before training when calibration is asked for without enough held-out rows."""
        calibration = getattr(self, "calibration", None)
        if calibration is None:
            return
        needed = MIN_CALIBRATION_ROWS[calibration]
        if n_held_out < needed:
            raise ValueError(
                f"calibration={calibration!r} needs at least {needed} held-out validation "
                f"rows; this fit holds out {n_held_out} (validation_fraction="
                f"{self.validation_fraction}). Raise `validation_fraction`, pass more rows, "
                + (
                    "or use calibration='temperature'."
                    if calibration == "isotonic"
                    else "or set calibration=None."
                )
            )

    def _fit_calibration(self, validation, folds=None):
        """Fits the calibration map and keeps the conformal scores of the held-out rows.

        Call it once the model is trained.

        Args:
            validation: `(inputs, targets, ...)` arrays in the loss' format, a
                dataset of such batches, or None (no held-out rows).
            folds: for cross-fitted members, the member that held each row
                out; that member's logits are the row's held-out prediction.
        """
        self.calibrator_ = None
        self.conformal_scores_ = None
        self.conformal_folds_ = None
        if validation is None:
            self._check_calibration_rows(0)
            return
        logits, targets = self._held_out_outputs(validation, folds)
        self._check_calibration_rows(len(logits))
        proba = self._member_proba(logits)
        if self.target_type_ == "multilabel-indicator":
            labels = targets.reshape(len(targets), -1)
        else:
            labels = targets.reshape(-1).astype(int)
            scores = nonconformity_scores(proba, labels)
            if folds is None:
                self.conformal_scores_ = np.sort(scores)
            else:  # Sorted within each fold, for the CV+ rule of `predict_set`.
                order = np.lexsort((scores, folds))
                self.conformal_scores_, self.conformal_folds_ = scores[order], folds[order]
        if getattr(self, "calibration", None) is not None:
            if self.target_type_ != "multilabel-indicator" and len(np.unique(labels)) < 2:
                raise ValueError(
                    f"calibration={self.calibration!r} needs both outcomes among the held-out "
                    f"rows; all {len(labels)} are of class {self.classes_[labels[0]]!r}."
                )
            mode = self._loss_mode()
            self.calibrator_ = CALIBRATORS[self.calibration](mode).fit(proba, labels)

    def predict_set(self, X, alpha=0.1, allow_empty=False, **predict_kwargs):
        """Split conformal label sets that hold the true label with probability >= 1 - alpha.

        A class enters a row's set when one minus its predicted probability
        is at most the conformal quantile of the held-out rows' scores. The
        guarantee is marginal (over rows) and assumes new rows are
        exchangeable with the held-out ones. A row whose every class is too
        unlikely gets an empty set under the plain rule; by default the class
        `predict` returns is always in the set, which can only raise coverage.

        Args:
            X: raw input, as for `predict_proba`.
            alpha: allowed miss rate in (0, 1); 0.1 gives 90% coverage.
            allow_empty: keep the plain rule's sets, empty ones included (a
                flag for rows unlike the held-out ones), without adding the
                predicted class.
            **predict_kwargs: further arguments of the task's `predict_proba`.

        Returns:
            Boolean array `(n_samples, n_classes)`, columns in `classes_` order.

        Raises:
            ValueError: if `alpha` is not in (0, 1), the target is multilabel,
                or too few rows were held out for this `alpha`.
        """
        check_is_fitted(self)
        check_alpha(alpha)
        if self.target_type_ == "multilabel-indicator":
            raise ValueError(
                "`predict_set` gives one set of mutually exclusive classes per row; for a "
                "multilabel target use `predict_proba` per label."
            )
        if getattr(self, "conformal_scores_", None) is None:
            raise ValueError(
                "`predict_set` needs held-out rows kept at fit time, and this model was fitted "
                "with validation_fraction=0. Refit with validation_fraction > 0."
            )
        member_proba = self._member_proba(self._logits(X, **predict_kwargs), average=False)
        proba = member_proba.mean(axis=1)
        if self.conformal_folds_ is None:
            sets = 1.0 - proba <= conformal_threshold(self.conformal_scores_, alpha)
        else:
            sets = self._cross_fitted_sets(member_proba, alpha)
        if not allow_empty:  # The class `predict` returns, from the calibrated probabilities.
            calibrator = getattr(self, "calibrator_", None)
            shown = proba if calibrator is None else calibrator.transform(proba)
            sets[np.arange(len(sets)), np.argmax(shown, axis=1)] = True
        return sets

    def _cross_fitted_sets(self, member_proba, alpha):
        """Label sets by the CV+ rule (Romano, Sesia & Candes, 2020).

        With cross-fitted members no single model scored every held-out row:
        row i was scored by member k(i). So a candidate label's score is
        computed by each member and compared with the held-out scores of the
        rows that member held out; the label enters the set when fewer than
        `(1 - alpha)(n + 1)` held-out rows score strictly lower. Comparing a
        single member's held-out scores with the ensemble's softer average
        instead would under-cover.
        """
        scores, folds = self.conformal_scores_, self.conformal_folds_
        n = len(scores)
        conformal_threshold(scores, alpha)  # Raises when there are too few rows for alpha.
        beaten = np.zeros(member_proba[:, 0].shape)
        for member in range(member_proba.shape[1]):
            held_out = scores[folds == member]
            beaten += np.searchsorted(held_out, 1.0 - member_proba[:, member], side="left")
        return beaten < (1.0 - alpha) * (n + 1)

    def calibration_report(self, X, y, **predict_kwargs):
        """Expected calibration error and Brier score before and after calibration.

        Args:
            X: raw input, as for `predict_proba` (held-out data, not the training rows).
            y: true labels (a 0/1 matrix for multilabel targets).
            **predict_kwargs: further arguments of the task's `predict_proba`.

        Returns:
            dict with `method` (None when uncalibrated), `n`, `ece_before`,
            `ece_after`, `brier_before`, `brier_after`. Binary: of the positive
            class; multiclass: ECE of the top-class confidence and the
            multiclass Brier score; multilabel: averages over labels.
        """
        check_is_fitted(self)
        logits = self._logits(X, **predict_kwargs)
        before, after = self._member_proba(logits), self._proba_from_logits(logits)
        indicator = self._indicator(y, len(after))
        summary = {"method": getattr(self, "calibration", None), "n": len(after)}
        for name, proba in (("before", before), ("after", after)):
            summary[f"ece_{name}"], summary[f"brier_{name}"] = _calibration_errors(
                indicator, proba, self.target_type_
            )
        return summary

    def _with_calibration(self, report, X, y, **predict_kwargs):
        """Adds `calibration_report` under "calibration" when a map was fitted."""
        if getattr(self, "calibrator_", None) is not None:
            report["calibration"] = self.calibration_report(X, y, **predict_kwargs)
        return report

    def _indicator(self, y, n_rows):
        """0/1 matrix `(n, n_columns of predict_proba)` of the true labels."""
        y = np.asarray(y)
        if len(y) != n_rows:
            raise ValueError(
                f"`X` and `y` have different lengths: X has {n_rows} rows, y has {len(y)}."
            )
        if self.target_type_ == "multilabel-indicator":
            return y.reshape(n_rows, -1).astype(float)
        return np.eye(len(self.classes_))[self._class_codes(y)]

    def _class_codes(self, y):
        """Indices into `classes_` of the labels `y`; a ValueError names labels unseen in fit."""
        unknown = set(np.unique(y).tolist()) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(
                f"`y` has labels {sorted(map(str, unknown))} not seen during fit; "
                f"known classes: {self.classes_.tolist()}."
            )
        return np.searchsorted(self.classes_, y)

    def _labels_report(self, y, proba, threshold):
        """`binary_report` or `multiclass_report` of `proba` against the true labels `y`.

        Args:
            y: true labels (a 0/1 matrix for multilabel targets).
            proba: probabilities in `predict_proba`'s layout.
            threshold: probability at or above which a case is called positive.

        Returns:
            The report dict, without the calibration part.
        """
        if self.target_type_ == "multilabel-indicator":
            return multiclass_report(y, proba, threshold)
        codes = self._class_codes(y)
        if self.target_type_ == "binary":
            return binary_report(codes, proba[:, 1], threshold)
        return multiclass_report(codes, proba, threshold)

    # ------------------------------------------------- metric per epoch
    @property
    def epoch_metric(self):
        """`"accuracy"` for one label among several classes, else `"auc"` (macro over labels)."""
        return "accuracy" if getattr(self, "target_type_", None) == "multiclass" else "auc"

    def _epoch_score(self, outputs, targets):
        proba = self._member_proba(outputs)
        if self.target_type_ == "multiclass":
            return float(np.mean(np.argmax(proba, axis=1) == targets[:, 0].astype(int)))
        if self.target_type_ == "binary":
            proba = proba[:, 1:]
        scores = [
            roc_auc_score(truth, score)
            for truth, score in zip(targets[:, : proba.shape[1]].T, proba.T, strict=True)
            if 0 < truth.mean() < 1
        ]
        return float(np.mean(scores)) if scores else float("nan")

    # ---------------------------------------------------------- prediction
    def _proba_from_logits(self, logits):
        """Probabilities in `predict_proba`'s layout, calibrated when a map was fitted."""
        proba = self._member_proba(logits)
        calibrator = getattr(self, "calibrator_", None)
        return proba if calibrator is None else calibrator.transform(proba)

    def _member_proba(self, logits, average=True):
        """Probabilities before any calibration: the members' average, or per member.

        Returns:
            `(n, n_columns)` in `predict_proba`'s layout, or `(n, n_members,
            n_columns)` when `average` is False.
        """
        logits = logits.astype(np.float64)
        if self.target_type_ == "multiclass":
            shifted = logits - logits.max(axis=-1, keepdims=True)
            proba = np.exp(shifted)
            proba /= proba.sum(axis=-1, keepdims=True)
        else:
            proba = 1.0 / (1.0 + np.exp(-logits))
            if self.target_type_ == "binary":
                proba = np.concatenate([1.0 - proba, proba], axis=-1)
        return proba.mean(axis=1) if average else proba

    def _logits(self, X, **context):
        """The model's logits `(n, n_members, n_outputs)` for raw input.

        The hook a task overrides when its input does not go through
        `_transform` in one piece (files read in chunks, images from
        folders). It must not change the estimator: prediction runs from many
        threads at once.

        Args:
            X: raw input, as for `fit`.
            **context: the task's further prediction arguments (`history`,
                `prediction_time`, ...), passed to `_transform`.
        """
        return self._predict_raw(self._transform(X, **context))

    def predict_proba(self, X, **context):
        """Predicts class probabilities.

        Args:
            X: raw input, as for `fit`.
            **context: the task's further prediction arguments, e.g. the
                earlier transactions (`history`) of a fraud model or the
                `prediction_time` of a visit-sequence model.

        Returns:
            Array `(n_samples, n_classes)`, columns in `classes_` order; for
            multilabel targets, the probability of each label.
        """
        check_is_fitted(self)
        return self._proba_from_logits(self._logits(X, **context))

    def predict_proba_values(self, rows, columns):
        """Probabilities of table rows given as plain value tuples; None: use `predict_proba`.

        A fast path for the model server; table tasks implement it (see
        `TabularClassifier`), others return None.

        Args:
            rows: sequences of values, one per row, in the order of `columns`.
            columns: the input column names.
        """
        return None

    def predict(self, X, **context):
        """Predicts class labels (for multilabel targets, a 0/1 indicator matrix).

        Args:
            X: raw input, as for `fit`.
            **context: further prediction arguments, as for `predict_proba`.

        Returns:
            Array of labels from `classes_`.
        """
        proba = self.predict_proba(X, **context)
        if self.target_type_ == "multilabel-indicator":
            return (proba >= 0.5).astype(int)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None, **context):
        """Accuracy of `predict` (exact-match accuracy for multilabel targets).

        Args:
            X: raw input, as for `fit`.
            y: true labels, matched to the rows `predict` returns (see
                `_aligned_truth`).
            sample_weight: optional weights of those rows.
            **context: further prediction arguments, as for `predict_proba`.

        Returns:
            float.
        """
        from sklearn.metrics import accuracy_score

        truth, weights = self._aligned_truth(X, y, sample_weight)
        return float(accuracy_score(truth, self.predict(X, **context), sample_weight=weights))

    def _aligned_truth(self, X, y, sample_weight):
        """`(labels, weights)` in the order of the rows `predict` returns: X's own rows here.

        A task whose predictions are per entity (a patient) rather than per
        input row matches them by the entity's id.
        """
        return y, sample_weight

    # --------------------------------------------------------------- export
    def _export_head(self, logits):
        """Probabilities as `predict_proba` computes them, in float64 TensorFlow ops."""
        import tensorflow as tf

        logits = tf.cast(logits, tf.float64)
        if self.target_type_ == "multiclass":
            proba = tf.nn.softmax(logits, axis=-1)
        else:
            # Spelled out: onnxruntime's float64 Sigmoid is only float32-accurate.
            proba = 1.0 / (1.0 + tf.exp(-logits))
            if self.target_type_ == "binary":
                proba = tf.concat([1.0 - proba, proba], axis=-1)
        proba = tf.reduce_mean(proba, axis=1)
        calibrator = getattr(self, "calibrator_", None)
        if calibrator is not None:
            proba = calibrator.graph_transform(proba)
        return {"probabilities": proba}

    def _export_description(self):
        return {
            **super()._export_description(),
            "target_type": self.target_type_,
            "classes": jsonable(self.classes_),
            "calibration": getattr(self, "calibration", None),
            "outputs": {
                "probabilities": "float64 (n, n_classes), columns in `classes` order, "
                "as predict_proba returns them"
            },
        }

    # --------------------------------------------------------------- state
    def _get_fitted_state(self):
        calibrator = getattr(self, "calibrator_", None)
        scores = getattr(self, "conformal_scores_", None)
        return {
            **super()._get_fitted_state(),
            "target_type": self.target_type_,
            "classes": jsonable(self.classes_),
            "classes_dtype": self.classes_.dtype.str if self.classes_.dtype != object else "O",
            "calibrator": None if calibrator is None else calibrator.get_state(),
            "conformal_scores": None if scores is None else scores.tolist(),
            "conformal_folds": jsonable(getattr(self, "conformal_folds_", None)),
        }

    def _set_fitted_state(self, state):
        super()._set_fitted_state(state)
        self.target_type_ = state["target_type"]
        dtype = np.dtype(state["classes_dtype"])
        self.classes_ = np.asarray(state["classes"], dtype=dtype)
        calibrator, scores = state.get("calibrator"), state.get("conformal_scores")
        self.calibrator_ = None if calibrator is None else calibrator_from_state(calibrator)
        self.conformal_scores_ = None if scores is None else np.asarray(scores)
        folds = state.get("conformal_folds")
        self.conformal_folds_ = None if folds is None else np.asarray(folds, dtype=int)


def _calibration_errors(indicator, proba, target_type):
    """`(ece, brier)` of probabilities against a 0/1 label matrix of the same shape."""
    if target_type == "binary":
        return (
            expected_calibration_error(indicator[:, 1], proba[:, 1]),
            float(np.mean((proba[:, 1] - indicator[:, 1]) ** 2)),
        )
    if target_type == "multiclass":
        top = np.argmax(proba, axis=1)
        rows = np.arange(len(proba))
        return (
            expected_calibration_error(indicator[rows, top], proba[rows, top]),
            float(np.mean(np.sum((proba - indicator) ** 2, axis=1))),
        )
    eces = [expected_calibration_error(indicator[:, k], proba[:, k]) for k in range(proba.shape[1])]
    return float(np.mean(eces)), float(np.mean((proba - indicator) ** 2))


def _stratified_counts(labels, total):
    """How many of each class a validation sample of `total` rows takes."""
    classes, counts = np.unique(labels, return_counts=True)
    shares = np.maximum(1, np.round(counts / counts.sum() * total).astype(int))
    return list(zip(classes, np.minimum(shares, counts - 1), strict=True))
