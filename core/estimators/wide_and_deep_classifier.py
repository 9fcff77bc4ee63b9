"""Classifiers whose model is an exactly fitted linear path plus a deep path on its residual."""

import abc
import random

import keras
import numpy as np
import scipy.sparse

from core.data import count_rows, take_rows
from core.estimators.keras_classifier import KerasClassifier


class WideAndDeepClassifier(KerasClassifier, abc.ABC):
    """A `KerasClassifier` whose logits are a frozen linear path plus a deep path.

    The linear path (n-gram or code-count features) is a convex problem, so
    it is solved to its optimum by scikit-learn's logistic regression, its L2
    penalty chosen by cross-validation on the training rows, rather than
    approximated by SGD.
    It is then frozen, and the deep path, whose logits start at zero, learns
    the rest with early stopping. Unless the whole model lowers the linear
    model's validation loss by more than one standard error (paired over the
    validation rows), the linear model is kept alone and `deep_path_kept_`
    is False: a deep path fitted to a few hundred rows can fake a gain that
    a paired test does not grant.

    Subclasses build a model with such a linear path and implement:

    - `_has_linear_path()`: whether this configuration has one;
    - `_linear_features(model, X)`: the sparse features of rows of X;
    - `_set_linear_path(model, coef, intercept)`: loads the fitted
      `(n_features, n_outputs)` coefficients and `(n_outputs,)` intercepts
      and freezes the path;
    - `LINEAR_C_GRID`, `LINEAR_C_DEFAULT` (for fewer than 4 rows per fold),
      `LINEAR_MAX_ITER`, `LINEAR_CV_FOLDS`, and `LINEAR_NAIVE_BAYES` (scale
      the features of each binary label by their naive Bayes log-count
      ratio before the regression, NB-SVM style; for sentiment-like text).

    `KerasClassifier._train` fits the calibration map afterwards.
    """

    LINEAR_C_GRID = (0.1, 1.0, 10.0)
    LINEAR_C_DEFAULT = 1.0
    LINEAR_MAX_ITER = 1000
    LINEAR_CV_FOLDS = 3
    LINEAR_NAIVE_BAYES = False

    def _train_model(self, X_train, y_train, sample_weight, validation, loss, data_key=None):
        """The linear path by logistic regression, then the deep path and the keep rule."""
        if not self._has_linear_path():
            self.deep_path_kept_, self.linear_C_ = True, None
            return self._train_deep_path(
                X_train, y_train, sample_weight, validation, loss, data_key
            )
        self.linear_C_ = self._fit_linear_path(X_train, y_train, sample_weight, validation)
        linear_weights = self.model_.get_weights()
        linear_losses = _validation_losses(self.model_, loss, validation)
        history = self._train_deep_path(X_train, y_train, sample_weight, validation, loss, data_key)
        self.deep_path_kept_ = True
        if validation is not None:
            gain = linear_losses - _validation_losses(self.model_, loss, validation)
            standard_error = gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else np.inf
            if not gain.mean() > standard_error:
                self.model_.set_weights(linear_weights)
                self.deep_path_kept_ = False
        return history

    def _train_deep_path(self, X_train, y_train, sample_weight, validation, loss, data_key=None):
        """Hook: trains the deep path once the linear path is fixed; returns its history.

        By default every trainable layer trains at `learning_rate`; a
        pretrained encoder trains in stages (`BackboneFineTuning`).
        """
        return super()._train_model(X_train, y_train, sample_weight, validation, loss, data_key)

    def _fit_linear_path(self, X_train, y_train, sample_weight, validation):
        """Fits the linear path by logistic regression, one per label; returns the chosen C.

        C is chosen by stratified `LINEAR_CV_FOLDS`-fold cross-validation on
        the training rows (summed held-out log loss), as a data scientist
        tunes a TF-IDF + logistic regression baseline; the validation rows
        stay unseen for the keep rule, calibration and conformal sets.
        """
        features = self._linear_features(self.model_, X_train)
        # Columns that are zero on every training row get a zero coefficient under the L2
        # penalty; leaving them out gives the same fit, many times faster for hashed n-grams.
        active = active_columns(features)
        n_columns, features = features.shape[1], features[:, active]
        targets = y_train.reshape(len(y_train), -1)
        if self.target_type_ == "multiclass":
            targets = targets[:, :1].astype(int)
        else:  # One binary model per label.
            targets = targets.astype(int)
        n_classes = len(self.classes_) if self.target_type_ == "multiclass" else None
        C = self._linear_penalty(features, targets, sample_weight, n_classes)
        coef, intercept = fit_logistic(
            features,
            targets,
            sample_weight,
            C,
            self.LINEAR_MAX_ITER,
            n_classes,
            self.LINEAR_NAIVE_BAYES,
        )
        full_coef = np.zeros((len(coef), n_columns))
        full_coef[:, active] = coef
        self._set_linear_path(self.model_, full_coef.T, intercept)
        return float(C)

    def _linear_penalty(self, features, targets, sample_weight, n_classes=None):
        """The C of `LINEAR_C_GRID` with the least cross-validated log loss on the training rows."""
        return linear_penalty(
            features,
            targets,
            sample_weight,
            grid=tuple(self.LINEAR_C_GRID),
            default=self.LINEAR_C_DEFAULT,
            folds=self.LINEAR_CV_FOLDS,
            max_iter=self.LINEAR_MAX_ITER,
            n_classes=n_classes,
            naive_bayes=self.LINEAR_NAIVE_BAYES,
        )

    def _get_fitted_state(self):
        return {
            **super()._get_fitted_state(),
            "deep_path_kept": bool(self.deep_path_kept_),
            "linear_C": self.linear_C_,
        }

    def _set_fitted_state(self, state):
        super()._set_fitted_state(state)
        # Files saved before these keys moved here lack them for text models.
        self.deep_path_kept_ = state.get("deep_path_kept")
        self.linear_C_ = state.get("linear_C")

    @abc.abstractmethod
    def _has_linear_path(self):
        """Whether the built model has the linear path (e.g. `ngrams=False` has none)."""

    @abc.abstractmethod
    def _linear_features(self, model, X):
        """The linear path's input features for the model inputs `X`, as a matrix."""

    @abc.abstractmethod
    def _set_linear_path(self, model, coef, intercept):
        """Writes the fitted coefficients `(features, outputs)` and intercepts into `model`."""


def linear_penalty(
    features, targets, sample_weight, grid, default, folds, max_iter, n_classes, naive_bayes
):
    """The C of `grid` with the least summed held-out log loss over `folds` folds.

    Args:
        features: `(rows, features)` matrix, dense or sparse.
        targets: as `fit_logistic` takes them.
        sample_weight: per-row weights, or None.
        grid: the penalties tried.
        default: the C returned when there are fewer than 4 rows per fold.
        folds: cross-validation folds (stratified for one binary or multiclass target).
        max_iter, n_classes, naive_bayes: as `fit_logistic` takes them.

    Returns:
        The chosen C.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.unique(targets[:, 0], return_counts=True)[1]
    if len(grid) == 1 or len(targets) < 4 * folds:
        return default
    seed = random.randrange(2**31 - 1)  # Drawn from the fit's seeded state.
    if targets.shape[1] == 1 and counts.min() >= folds:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(
            features, targets[:, 0]
        )
    else:
        splits = KFold(folds, shuffle=True, random_state=seed).split(features)
    weights = np.ones(len(targets)) if sample_weight is None else np.asarray(sample_weight)
    losses = np.zeros(len(grid))
    for train, held_out in splits:
        for k, C in enumerate(grid):
            coef, intercept = fit_logistic(
                features[train], targets[train], weights[train], C, max_iter, n_classes,
                naive_bayes,
            )  # fmt: skip
            losses[k] += _held_out_log_loss(
                features[held_out], targets[held_out], weights[held_out], coef, intercept,
                n_classes,
            )  # fmt: skip
    return grid[int(np.argmin(losses))]


def active_columns(features):
    """Indices of the columns with a non-zero value in some row (dense or sparse matrix)."""
    if scipy.sparse.issparse(features):
        active = np.unique(features.tocsr().indices)
    else:
        active = np.flatnonzero(np.any(features != 0, axis=0))
    # scikit-learn refuses a matrix without columns; one zero column fits the intercept alone.
    return active if len(active) else np.arange(min(1, features.shape[1]))


def _validation_losses(model, loss, validation):
    """Per-row weighted validation losses, or None without validation."""
    if validation is None:
        return None
    X_val, y_val, w_val = validation
    # Called directly, in chunks: `model.predict` would trace a new function after each compile.
    predictions = np.concatenate(
        [
            keras.ops.convert_to_numpy(model(take_rows(X_val, slice(i, i + 256)), training=False))
            for i in range(0, count_rows(X_val), 256)
        ]
    )
    losses = keras.ops.convert_to_numpy(loss.call(y_val, predictions)).astype(np.float64)
    losses = losses.reshape(len(y_val), -1).mean(axis=1)
    return losses * np.asarray(w_val, dtype=np.float64)


def fit_logistic(features, targets, sample_weight, C, max_iter, n_classes=None, naive_bayes=False):
    """Logistic regression(s) on `targets`: `(rows, 1)` class ids, or `(rows, labels)` of 0/1.

    Args:
        n_classes: for multiclass targets, the number of classes (one
            softmax model); None fits one binary model per target column.
        naive_bayes: scale each binary model's features by their naive Bayes
            log-count ratio first (NB-SVM, Wang and Manning 2012); the
            returned coefficients are for the unscaled features.

    Returns:
        `(coef, intercept)`: `(outputs, features)` and `(outputs,)`. A class
        absent from these rows gets zero weights and a very low intercept; a
        label that never or always occurs gets zero weights and its log-odds.
    """
    from sklearn.linear_model import LogisticRegression

    if n_classes is not None:
        model = LogisticRegression(C=C, max_iter=max_iter, tol=1e-4)
        model.fit(features, targets[:, 0], sample_weight=sample_weight)
        coef = np.zeros((n_classes, features.shape[1]))
        intercept = np.full(n_classes, -30.0)
        coef[model.classes_], intercept[model.classes_] = model.coef_, model.intercept_
        return coef, intercept
    coefs, intercepts = [], []
    for target in targets.T:
        if len(np.unique(target)) < 2:
            coefs.append(np.zeros((1, features.shape[1])))
            rate = np.clip(target.mean(), 1e-3, 1 - 1e-3)
            intercepts.append(np.array([np.log(rate / (1 - rate))]))
            continue
        scale = log_count_ratios(features, target) if naive_bayes else None
        scaled = features if scale is None else features @ scipy.sparse.diags(scale)
        model = LogisticRegression(C=C, max_iter=max_iter, tol=1e-4)
        model.fit(scaled, target, sample_weight=sample_weight)
        coefs.append(model.coef_ if scale is None else model.coef_ * scale)
        intercepts.append(model.intercept_)
    return np.vstack(coefs), np.concatenate(intercepts)


def log_count_ratios(features, target, alpha=1.0):
    """|log((p / |p|) / (q / |q|))| of each feature, p and q its smoothed presence per class."""
    present = (features != 0).astype(np.float64)
    positive = alpha + np.asarray(present[target == 1].sum(axis=0)).ravel()
    negative = alpha + np.asarray(present[target == 0].sum(axis=0)).ravel()
    return np.abs(np.log(positive / positive.sum()) - np.log(negative / negative.sum()))


def _held_out_log_loss(features, targets, weights, coef, intercept, n_classes=None):
    """Summed weighted log loss of `fit_logistic`'s model on held-out rows."""
    logits = np.asarray(features @ coef.T) + intercept
    if n_classes is not None:  # Multiclass: softmax over classes.
        logits = logits - logits.max(axis=1, keepdims=True)
        log_proba = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        losses = -log_proba[np.arange(len(targets)), targets[:, 0]]
    else:  # Binary labels: one sigmoid each, losses summed over labels.
        losses = (np.logaddexp(0, logits) - targets * logits).sum(axis=1)
    return float(np.sum(weights * losses))
