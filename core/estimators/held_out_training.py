"""The supervised training scheme: cross-fitted ensemble members, or a held-out share of rows."""

import keras
import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from core.data import count_rows, take_rows


class HeldOutTraining:
    """Trains a supervised task so that every prediction it trusts comes from unseen rows.

    A mixin for `KerasEstimator` subclasses with a target (classifiers,
    regressors, survival models). They supply:

    - `_task_loss(masked_members)`: the Keras loss of the target kind;
    - `_members()`: ensemble members the model outputs;
    - `_fit_calibration(validation, folds)`: what is learned from the
      held-out rows once the model is trained (a calibration map, conformal
      scores);
    - `_check_calibration_rows(n_held_out)`: fails before training when
      too few rows would be held out for that.
    """

    def _train(self, inputs, targets, stratify, weights, rng, rows=None, start=None):
        """The default training scheme: cross-fitted members, or a held-out share of rows.

        With several members and enough rows, members are cross-fitted: the
        rows are split into `n_members` folds (stratified when possible),
        member k trains on every fold but k, and early stopping watches the
        out-of-fold loss over all rows. Every row is used for training and
        every row for validation, which matters on tables of a few hundred
        rows, where a 15% hold-out is too small and too noisy to stop on.
        Otherwise `validation_fraction` of the rows is held out.
        """
        n_rows, n_members = count_rows(inputs), self._members()
        targets = targets.reshape(n_rows, -1).astype(np.float32)
        if self.validation_fraction and n_members >= 2 and n_rows >= 4 * n_members:
            self._check_calibration_rows(n_rows)
            folds = fold_ids(n_rows, n_members, stratify, rng)
            held_out = np.eye(n_members, dtype=np.float32)[folds]
            self._fit_model(
                inputs,
                np.hstack([targets, 1.0 - held_out]),
                weights,
                (inputs, np.hstack([targets, held_out]), weights),
                loss=self._task_loss(masked_members=n_members),
                start=start,
            )
            self._fit_calibration((inputs, targets), folds=folds)
            return
        n_val = round(self.validation_fraction * n_rows)
        train_idx, val_idx = np.arange(n_rows), None
        if self.validation_fraction and n_val >= 2 and n_rows - n_val >= 2:
            try:
                train_idx, val_idx = train_test_split(
                    train_idx, test_size=n_val, stratify=stratify, random_state=rng
                )
            except ValueError:  # A class too small to stratify on.
                train_idx, val_idx = train_test_split(train_idx, test_size=n_val, random_state=rng)
        self._fit_held_out(inputs, targets, weights, train_idx, val_idx, start)

    def _sample_weights(self, stratify, sample_weight, n_rows):
        """Per-row training weights (ones by default); a classifier adds class weights."""
        weights = row_weights(sample_weight, n_rows)
        if weights.sum() <= 0:
            raise ValueError("All sample weights are zero; nothing to learn from.")
        return weights.astype(np.float32)

    def _fit_held_out(self, inputs, targets, weights, train_idx, val_idx, start):
        """Trains on `train_idx`; early stopping and calibration use `val_idx` (or none)."""
        validation = None
        if val_idx is not None:
            validation = (take_rows(inputs, val_idx), targets[val_idx], weights[val_idx])
        self._check_calibration_rows(0 if validation is None else len(validation[1]))
        self._fit_model(
            take_rows(inputs, train_idx),
            targets[train_idx],
            weights[train_idx],
            validation,
            loss=self._task_loss(),
            start=start,
        )
        self._fit_calibration(validation)

    def _held_out_outputs(self, validation, folds=None):
        """The model's outputs and the targets of the held-out rows, from arrays or a dataset.

        Args:
            validation: `(inputs, targets, ...)` arrays or a dataset of such batches.
            folds: for cross-fitted members, the member that held each row out;
                only that member's output is kept, as `(n, 1, n_outputs)`.
        """
        if isinstance(validation, tuple | list):
            outputs, targets = self._predict_raw(validation[0]), np.asarray(validation[1])
        else:
            outputs, targets = [], []
            for batch in validation:
                outputs.append(self._predict_raw(keras.tree.map_structure(np.asarray, batch[0])))
                targets.append(np.asarray(batch[1]))
            outputs, targets = np.concatenate(outputs), np.concatenate(targets)
        if folds is not None:
            outputs = outputs[np.arange(len(outputs)), folds][:, None, :]
        return outputs, targets


def row_weights(sample_weight, n_rows):
    """Checked per-row training weights: ones when `sample_weight` is None.

    Raises:
        ValueError: for a wrong shape, or a weight that is negative or not finite.
    """
    if sample_weight is None:
        return np.ones(n_rows, dtype=np.float64)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n_rows,):
        raise ValueError(f"`sample_weight` must have shape ({n_rows},). Received {weights.shape}.")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("`sample_weight` must be finite and non-negative.")
    return weights


def fold_ids(n_rows, n_folds, stratify, rng):
    """Fold number of each row, stratified by `stratify` when every class allows it."""
    ids = np.empty(n_rows, dtype=int)
    if stratify is not None and np.bincount(stratify).min() >= n_folds:
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=rng)
    else:
        splitter = KFold(n_folds, shuffle=True, random_state=rng)
        stratify = None
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros(n_rows), stratify)):
        ids[held_out] = fold
    return ids
