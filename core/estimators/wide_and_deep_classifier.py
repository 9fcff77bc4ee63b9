"""Classifiers whose model is an exactly fitted linear path plus a deep path on its residual."""

import abc

import keras
import numpy as np
import scipy.sparse

from core.estimators.keras_classifier import KerasClassifier


class WideAndDeepClassifier(KerasClassifier, abc.ABC):
    """A `KerasClassifier` whose logits are a frozen linear path plus a deep path.

    The linear path (n-gram or code-count features) is a convex problem, so
    it is solved to its optimum by scikit-learn's logistic regression, its L2
    penalty chosen on the validation rows, rather than approximated by SGD.
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
    - `LINEAR_C_GRID`, `LINEAR_C_DEFAULT` (without validation rows) and
      `LINEAR_MAX_ITER`.

    `KerasClassifier._train` fits the calibration map afterwards.
    """

    LINEAR_C_GRID = (0.1, 1.0, 10.0)
    LINEAR_C_DEFAULT = 1.0
    LINEAR_MAX_ITER = 1000

    def _train_model(self, X_train, y_train, sample_weight, validation, loss, data_key=None):
        """The linear path by logistic regression, then the deep path and the keep rule."""
        if not self._has_linear_path():
            self.deep_path_kept_, self.linear_C_ = True, None
            return super()._train_model(X_train, y_train, sample_weight, validation, loss, data_key)
        self.linear_C_ = self._fit_linear_path(X_train, y_train, sample_weight, validation)
        linear_weights = self.model_.get_weights()
        linear_losses = _validation_losses(self.model_, loss, validation)
        history = super()._train_model(X_train, y_train, sample_weight, validation, loss, data_key)
        self.deep_path_kept_ = True
        if validation is not None:
            gain = linear_losses - _validation_losses(self.model_, loss, validation)
            standard_error = gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else np.inf
            if not gain.mean() > standard_error:
                self.model_.set_weights(linear_weights)
                self.deep_path_kept_ = False
        return history

    def _fit_linear_path(self, X_train, y_train, sample_weight, validation):
        """Fits the linear path by logistic regression, one per label; returns the chosen C."""
        from sklearn.linear_model import LogisticRegression

        features = self._linear_features(self.model_, X_train)
        # Columns that are zero on every training row get a zero coefficient under the L2
        # penalty; leaving them out gives the same fit, many times faster for hashed n-grams.
        active = _active_columns(features)
        n_columns, features = features.shape[1], features[:, active]
        targets = y_train.reshape(len(y_train), -1)
        if self.target_type_ == "multiclass":
            targets = [targets[:, 0].astype(int)]
        else:  # One binary model per label.
            targets = [targets[:, j].astype(int) for j in range(targets.shape[1])]
        val_features = None
        if validation is not None:
            val_features = self._linear_features(self.model_, validation[0])[:, active]
            val_targets = validation[1].reshape(len(validation[1]), -1)
        best = None
        for C in self.LINEAR_C_GRID if validation is not None else (self.LINEAR_C_DEFAULT,):
            coefs, intercepts, val_loss = [], [], 0.0
            for j, target in enumerate(targets):
                if len(np.unique(target)) < 2:  # A label that never or always occurs.
                    coefs.append(np.zeros((1, features.shape[1])))
                    rate = np.clip(target.mean(), 1e-3, 1 - 1e-3)
                    intercepts.append(np.array([np.log(rate / (1 - rate))]))
                    continue
                model = LogisticRegression(C=C, max_iter=self.LINEAR_MAX_ITER, tol=1e-4)
                model.fit(features, target, sample_weight=sample_weight)
                coefs.append(model.coef_)
                intercepts.append(model.intercept_)
                if val_features is not None:
                    val_loss += _log_loss(
                        model, val_features, val_targets[:, 0 if len(targets) == 1 else j]
                    )
            if best is None or val_loss < best[0]:
                best = (val_loss, C, np.vstack(coefs), np.concatenate(intercepts))
        _, C, active_coef, intercept = best
        coef = np.zeros((len(active_coef), n_columns))
        coef[:, active] = active_coef
        self._set_linear_path(self.model_, coef.T, intercept)
        return float(C)

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


def _active_columns(features):
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
            keras.ops.convert_to_numpy(model(X_val[i : i + 256], training=False))
            for i in range(0, len(X_val), 256)
        ]
    )
    losses = keras.ops.convert_to_numpy(loss.call(y_val, predictions)).astype(np.float64)
    losses = losses.reshape(len(X_val), -1).mean(axis=1)
    return losses * np.asarray(w_val, dtype=np.float64)


def _log_loss(model, features, target):
    from sklearn.metrics import log_loss

    return log_loss(target.astype(int), model.predict_proba(features), labels=model.classes_)
