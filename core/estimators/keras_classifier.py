"""Classification on top of `KerasEstimator`: targets, weights, probabilities."""

import warnings

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from core.estimators.keras_estimator import KerasEstimator, _jsonable
from core.losses import EnsembleCrossEntropy

TARGET_TYPES = ("binary", "multiclass", "multilabel-indicator")


class KerasClassifier(ClassifierMixin, KerasEstimator):
    """Binary, multiclass and multilabel classification with Keras.

    The model outputs logits of shape `(batch, n_members, n_outputs)`;
    probabilities are the members' average. Targets may be any labels
    (strings, integers, booleans) or a 0/1 indicator matrix for multilabel
    problems.

    Attributes:
        classes_: the class labels (for multilabel targets, label indices).
        target_type_: "binary", "multiclass" or "multilabel-indicator".
        history_: per-epoch training and validation loss.
        n_epochs_: epochs run (early stopping may end training before `max_epochs`).
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
        missing = pd.isna(pd.DataFrame(y_array)).to_numpy()
        if missing.any():
            raise ValueError(
                f"`y` contains {int(missing.sum())} missing values (NaN or None); "
                "every row needs a label."
            )
        if y_array.dtype.kind in "fc" and not np.isfinite(y_array).all():
            raise ValueError("`y` contains infinite values; expected class labels.")
        target_type = type_of_target(y_array, input_name="y")
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
                f"Unknown label type {target_type!r} for `y`; expected one of {TARGET_TYPES}."
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
        weights = np.ones(n_rows, dtype=np.float64)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (n_rows,):
                raise ValueError(
                    f"`sample_weight` must have shape ({n_rows},). Received {sample_weight.shape}."
                )
            if not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
                raise ValueError("`sample_weight` must be finite and non-negative.")
            weights *= sample_weight
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

    def _train(self, matrix, y_encoded, stratify, weights, rng, n_members=1):
        """Chooses the validation scheme and trains.

        With several members and enough rows, members are cross-fitted: the
        rows are split into `n_members` folds (stratified when possible),
        member k trains on every fold but k, and early stopping watches the
        out-of-fold loss over all rows. Every row is used for training and
        every row for validation, which matters on tables of a few hundred
        rows, where a 15% hold-out is too small and too noisy to stop on.
        Otherwise `validation_fraction` of the rows is held out.
        """
        n_rows = len(matrix)
        targets = y_encoded.reshape(n_rows, -1).astype(np.float32)
        if self.validation_fraction and n_members >= 2 and n_rows >= 4 * n_members:
            folds = _fold_ids(n_rows, n_members, stratify, rng)
            held_out = np.eye(n_members, dtype=np.float32)[folds]
            self._fit_model(
                matrix,
                np.hstack([targets, 1.0 - held_out]),
                weights,
                (matrix, np.hstack([targets, held_out]), weights),
                loss=EnsembleCrossEntropy(mode=self._loss_mode(), masked_members=n_members),
            )
            return
        n_val = round(self.validation_fraction * n_rows)
        validation = None
        train_idx = np.arange(n_rows)
        if self.validation_fraction and n_val >= 2 and n_rows - n_val >= 2:
            try:
                train_idx, val_idx = train_test_split(
                    train_idx, test_size=n_val, stratify=stratify, random_state=rng
                )
            except ValueError:  # A class too small to stratify on.
                train_idx, val_idx = train_test_split(train_idx, test_size=n_val, random_state=rng)
            validation = (matrix[val_idx], targets[val_idx], weights[val_idx])
        self._fit_model(
            matrix[train_idx],
            targets[train_idx],
            weights[train_idx],
            validation,
            loss=EnsembleCrossEntropy(mode=self._loss_mode()),
        )

    # ---------------------------------------------------------- prediction
    def _proba_from_logits(self, logits):
        logits = logits.astype(np.float64)
        if self.target_type_ == "multiclass":
            shifted = logits - logits.max(axis=-1, keepdims=True)
            member_proba = np.exp(shifted)
            member_proba /= member_proba.sum(axis=-1, keepdims=True)
            return member_proba.mean(axis=1)
        proba = (1.0 / (1.0 + np.exp(-logits))).mean(axis=1)
        if self.target_type_ == "binary":
            return np.column_stack([1.0 - proba[:, 0], proba[:, 0]])
        return proba

    def predict_proba(self, X):
        """Predicts class probabilities.

        Args:
            X: raw input, as for `fit`.

        Returns:
            Array `(n_samples, n_classes)`, columns in `classes_` order; for
            multilabel targets, the probability of each label.
        """
        check_is_fitted(self)
        return self._proba_from_logits(self._predict_raw(self._transform(X)))

    def predict(self, X):
        """Predicts class labels (for multilabel targets, a 0/1 indicator matrix).

        Args:
            X: raw input, as for `fit`.

        Returns:
            Array of labels from `classes_`.
        """
        proba = self.predict_proba(X)
        if self.target_type_ == "multilabel-indicator":
            return (proba >= 0.5).astype(int)
        return self.classes_[np.argmax(proba, axis=1)]

    # --------------------------------------------------------------- state
    def _classifier_state(self):
        return {
            "target_type": self.target_type_,
            "classes": _jsonable(self.classes_),
            "classes_dtype": self.classes_.dtype.str if self.classes_.dtype != object else "O",
        }

    def _set_classifier_state(self, state):
        self.target_type_ = state["target_type"]
        dtype = np.dtype(state["classes_dtype"])
        self.classes_ = np.asarray(state["classes"], dtype=dtype)


def _fold_ids(n_rows, n_folds, stratify, rng):
    """Fold number of each row, stratified by `stratify` when every class allows it."""
    fold_ids = np.empty(n_rows, dtype=int)
    if stratify is not None and np.bincount(stratify).min() >= n_folds:
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=rng)
    else:
        splitter = KFold(n_folds, shuffle=True, random_state=rng)
        stratify = None
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros(n_rows), stratify)):
        fold_ids[held_out] = fold
    return fold_ids
