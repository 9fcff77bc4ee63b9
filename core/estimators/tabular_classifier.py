"""A deep classifier for raw tables: numbers, categories and missing values in."""

import os

import numpy as np
import pandas as pd
import scipy.sparse
from sklearn.utils.validation import check_is_fitted

from core.data import (
    TableSource,
    chunk_dataset,
    count_rows,
    is_table_path,
)
from core.estimators.keras_classifier import KerasClassifier
from core.estimators.table_input import TableInput
from core.estimators.wide_and_deep_classifier import (
    fit_logistic,
    linear_penalty,
    log_count_ratios,
)

# Fitting from a file: rows of the random sample that preprocessing is fitted on,
STREAM_SAMPLE_ROWS = 100_000
# the most held-out validation rows (kept in memory),
STREAM_VALIDATION_ROWS = 20_000
# and rows of the training stream's shuffle buffer.
STREAM_SHUFFLE_ROWS = 65_536

#: The text columns' n-gram logistic regressions: penalties tried, the one for tiny
#: tables, and the solver's iterations (as `TextClassifier`'s).
NGRAM_C_GRID = (1.0, 4.0, 16.0, 64.0)
NGRAM_C_DEFAULT = 4.0
NGRAM_MAX_ITER = 1000


class TabularClassifier(TableInput, KerasClassifier):
    """Classifier for a pandas DataFrame of mixed columns, with the scikit-learn API.

    Each column becomes a learned feature token (`TabularEmbedding`); an
    ensemble of heads, each a linear path plus an MLP or a feature-token
    transformer, reads the tokens. Preprocessing is learned in `fit` and
    saved with the model, so `predict` takes the same raw DataFrame.

    Tables larger than memory: `fit`, `predict` and `predict_proba` also
    take the path of a CSV file, a Parquet file or a folder of Parquet files
    (`fit(path, target="label_column")`), read in bounded chunks. `fit` then
    fits the preprocessing on a uniform random sample of at most
    `STREAM_SAMPLE_ROWS` rows, holds out a random `validation_fraction` of
    the rows (at most `STREAM_VALIDATION_ROWS`, kept in memory for early
    stopping and calibration) and streams the other rows through `tf.data`
    every epoch, shuffled in a buffer of `STREAM_SHUFFLE_ROWS` rows (Parquet
    row groups are also read in a new order every epoch). Ensemble members
    are then trained jointly on that stream rather than cross-fitted, which
    needs every row in memory; `min_frequency` counts categories in the sample.

    Args:
        backbone: `"mlp"` (default; strongest on small tables) or `"transformer"`.
        embedding_dim: size of each feature token.
        hidden_units: widths of the MLP layers.
        num_layers: transformer blocks (transformer backbone).
        num_heads: attention heads (transformer backbone).
        dropout: dropout rate in the deep path.
        n_members: ensemble members averaged at prediction time; `"auto"`
            uses 4 for the MLP and 1 for the transformer.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW decoupled weight decay.
        batch_size: rows per step, or `"auto"` (16 to 512, growing with the data).
        max_epochs: upper bound on epochs; early stopping usually ends sooner.
        patience: epochs without a better validation loss before stopping.
        max_time: seconds the fit may train (None: no limit); when they are spent,
            training stops and the best epoch so far is kept (`stopped_by_time_`).
        validation_fraction: share of rows held out for early stopping;
            0 trains `max_epochs` epochs on everything.
        class_weight: None, `"balanced"` or `{label: weight}`.
        calibration: None, `"temperature"` or `"isotonic"`: a calibration map fitted
            on the held-out validation rows at the end of `fit` (see `KerasClassifier`).
        min_frequency: categories rarer than this share the "unknown" slot.
        text_columns: columns of free text (notes, descriptions), or None to
            detect them: string columns whose values average three words or
            more and are mostly distinct. Each becomes one token from its own
            text encoder, plus a TF-IDF-like n-gram linear path.
        image_columns: columns of image file paths, or None to detect them
            (every value an existing image file). Each becomes one token from
            an image backbone that reads the files batch by batch.
        text_backbone: the text columns' encoder, `"transformer"` or `"lstm"`
            (trained with the task), or a keras-hub text preset (a name, handle
            or folder), read frozen with its own tokenizer.
        image_backbone: the image columns' backbone, `"cnn"` or `"vit"`.
        precision, jit_compile, distribution, privacy: training options shared
            by every task (mixed precision, XLA, tf.distribute, DP-SGD); see
            `KerasEstimator`.
        random_state: integer seed; two fits with the same seed give the same model.
        verbose: 1 shows a progress bar per epoch.

    Attributes:
        classes_: class labels.
        n_features_in_: number of input columns.
        feature_names_in_: input column names (when `X` had string column names).
        preprocessor_: the fitted `TabularPreprocessor`.
        history_: per-epoch losses.
        n_epochs_: epochs trained.
    """

    task_name = "tabular.classification"

    def __init__(
        self,
        backbone="mlp",
        embedding_dim=8,
        hidden_units=(64, 32),
        num_layers=2,
        num_heads=2,
        dropout=0.2,
        n_members="auto",
        learning_rate=1e-3,
        weight_decay=1e-2,
        batch_size="auto",
        max_epochs=300,
        patience=15,
        max_time=None,
        validation_fraction=0.15,
        class_weight=None,
        calibration=None,
        min_frequency=5,
        text_columns=None,
        image_columns=None,
        text_backbone="transformer",
        image_backbone="cnn",
        precision="float32",
        jit_compile=False,
        distribution=None,
        privacy=None,
        random_state=None,
        verbose=0,
    ):
        self._store_parameters(locals())

    # `fit(X, y=None, sample_weight=None, checkpoint_dir=None, target=None)` is the
    # template's (`KerasEstimator.fit`): X is a DataFrame or 2-D array, or a CSV or
    # Parquet path streamed from disk; `target` names the label column of either.

    # ----------------------------------------------------------- from files
    def _is_stream(self, X):
        return is_table_path(X)

    def _fit_stream(self, path, y, sample_weight, target=None):
        """Fits from a table on disk, holding only bounded parts of it in memory.

        One pass over the file counts the rows, collects the classes and
        their counts, draws the preprocessing sample and the held-out rows
        (a seeded per-row draw, so the training stream skips the same rows
        every epoch). Training then streams the other rows (`_file_dataset`).
        """
        if y is not None:
            raise ValueError(
                "`y` must be None when X is a file path; name the label column with `target`. "
                f"Received: y of type {type(y).__name__}."
            )
        if sample_weight is not None:
            raise ValueError(
                "`sample_weight` is not supported when X is a file path; use `class_weight`, "
                "or pass a DataFrame."
            )
        if target is None:
            raise ValueError(
                f"`target` must name the label column when X is a file path ({os.fspath(path)!r}). "
                "Received: target=None."
            )
        if self._option("privacy") is not None:
            raise ValueError(
                "`privacy` accounts for every training row, which needs the rows in memory; "
                "fit from a DataFrame, or set privacy=None to stream from a file."
            )
        source = TableSource(path)
        source.check_columns([target], "target")
        with self._seeded() as rng:
            scan_seed, shuffle_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
            scan = source.scan(
                target,
                sample_rows=STREAM_SAMPLE_ROWS,
                holdout_fraction=self.validation_fraction,
                holdout_rows=STREAM_VALIDATION_ROWS,
                seed=scan_seed,
            )
            sample = self._validate_X(scan.sample.drop(columns=[target]), fitting=True)
            class_weights = self._file_classes(scan, target)
            self.preprocessor_.fit(sample)
            n_val = len(scan.holdout)
            if n_val < 2 or scan.n_rows - n_val < 2:
                scan, n_val = scan.without_holdout(), 0
            validation = None
            if n_val:
                validation = self._encode_rows(scan.holdout, target, class_weights)
            self._check_calibration_rows(n_val)
            dataset = self._file_dataset(
                source, scan, target, class_weights, scan.n_rows - n_val, shuffle_seed
            )
            # A checkpoint fingerprints arrays by content; the stream counts by its files.
            data_key = bytes.fromhex(source.fingerprint()) + str(target).encode()
            self._fit_model(
                dataset,
                None,
                None,
                validation,
                loss=self._task_loss(),
                data_key=data_key,
            )
            self._fit_calibration(validation)
        self._fit_finished(sample)
        return self

    def _file_classes(self, scan, target):
        """Sets the classes from the scanned target values; returns each class' weight."""
        if scan.n_missing_labels:
            raise ValueError(
                f"`target` column {target!r} has {scan.n_missing_labels} missing values (NaN "
                f"or None) among {scan.n_rows} rows; every row needs a label."
            )
        labels = np.asarray(pd.Series(list(scan.label_counts)))
        try:
            self._encode_target(labels, len(labels))
        except (TypeError, ValueError) as error:  # Said of `y`: name the column.
            raise type(error)(f"`target` column {target!r}: {error}") from error
        counts = np.asarray([scan.label_counts[c] for c in self.classes_], dtype=np.float64)
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            weights = counts.sum() / (len(counts) * counts)  # As compute_sample_weight does.
        else:
            n_classes = len(self.classes_)
            weights = self._sample_weights(np.arange(n_classes), None, n_classes)
        return weights.astype(np.float32)

    def _encode_rows(self, frame, target, class_weights):
        """`(inputs, targets, weights)` of rows read from a file: named arrays, float32 arrays."""
        if len(frame) == 0:
            empty = self.preprocessor_.empty(0)
            return empty, np.zeros((0, 1), np.float32), np.zeros(0, np.float32)
        codes = pd.Index(self.classes_).get_indexer(frame[target])
        if (codes < 0).any():
            unknown = frame[target][codes < 0].unique().tolist()[:5]
            raise ValueError(
                f"`target` column {target!r} has labels {unknown} that the scan of the file did "
                f"not see (classes {self.classes_.tolist()}); did the file change during fit?"
            )
        features = self._validate_X(frame.drop(columns=[target]), fitting=False)
        inputs = self.preprocessor_.transform(features)
        return inputs, codes.astype(np.float32).reshape(-1, 1), class_weights[codes]

    def _file_dataset(self, source, scan, target, class_weights, n_train, seed):
        """The training rows of a file as a shuffled, batched `tf.data.Dataset`.

        Every epoch reads the file again chunk by chunk (Parquet row groups
        in a new order), drops the held-out rows, encodes each chunk and
        hands out batches from a bounded shuffle buffer: only a chunk and the
        buffer are ever in memory.
        """
        import tensorflow as tf

        columns = [*self.feature_names_in_, target]

        def chunks(epoch):
            for chunk in source.chunks(columns, shuffle_seed=seed + epoch):
                yield chunk[~scan.holdout_mask(chunk.index)]

        def encode(chunk):
            return self._encode_rows(chunk, target, class_weights)

        widths = self.preprocessor_.output_widths_
        signature = (
            {name: tf.TensorSpec((None, width), dtype) for name, (width, dtype) in widths.items()},
            tf.TensorSpec((None, 1), tf.float32),
            tf.TensorSpec((None,), tf.float32),
        )
        batch_size = self._batch_size(n_train)
        return chunk_dataset(
            chunks, encode, signature, batch_size, STREAM_SHUFFLE_ROWS, seed, n_rows=n_train
        )

    def predict_proba_values(self, rows, columns):
        """Probabilities of rows given as plain value tuples, without building a DataFrame.

        The model server's hot path: one row costs a fraction of a
        millisecond here against several through `predict_proba(DataFrame)`.

        Args:
            rows: sequences of values, one per row, in the order of `columns`.
            columns: the input column names.

        Returns:
            `(n, n_classes)` array as `predict_proba` returns it, or None when a
            value needs `predict_proba`'s DataFrame checks and messages.
        """
        check_is_fitted(self)
        inputs = self.preprocessor_.transform_values(rows, columns)
        if inputs is None:
            return None
        return self._proba_from_logits(self._predict_raw(inputs))

    def _logits(self, X, **context):
        return self._table_outputs(X, **context)

    # ------------------------------------------------------ n-gram paths
    def _ngram_linear_model(self, ngrams, table, targets, weights, trains):
        """Logistic regression on the n-grams beside the table, per member.

        For a binary target the n-grams are scaled by their naive Bayes
        log-count ratio on the member's rows first (NB-SVM, as `TextClassifier`
        does). C is chosen by 3-fold cross-validation on the first member's rows.
        """
        n_classes = len(self.classes_) if self.target_type_ == "multiclass" else None
        targets = targets[:, :1].astype(int) if n_classes else targets.astype(int)
        n_table = 0 if table is None else table.shape[1]

        def features(rows):
            scale = np.ones(ngrams.shape[1])
            if self.target_type_ == "binary":
                scale = log_count_ratios(ngrams[rows], targets[rows, 0])
            scaled = ngrams[rows] @ scipy.sparse.diags(scale)
            joined = scaled if table is None else scipy.sparse.hstack([table[rows], scaled])
            return joined.tocsr(), scale

        options = {"max_iter": NGRAM_MAX_ITER, "n_classes": n_classes}
        first = trains[:, 0]
        C = linear_penalty(
            features(first)[0], targets[first], weights[first], grid=NGRAM_C_GRID,
            default=NGRAM_C_DEFAULT, folds=3, naive_bayes=False, **options,
        )  # fmt: skip
        solved = []
        for rows in trains.T:
            joined, scale = features(rows)
            coef, intercept = fit_logistic(joined, targets[rows], weights[rows], C, **options)
            solved.append((coef[:, n_table:] * scale, intercept))
        return solved

    # ------------------------------------------------------------- explain
    def _explained(self, inputs, target):
        return self._member_average, self._explained_outputs(inputs, target)

    def _explained_outputs(self, inputs, target):
        """Index of the output explained for each row."""
        if target is not None:
            matches = np.flatnonzero(self.classes_ == target)
            if len(matches) == 0:
                raise ValueError(
                    f"`target` must be one of {self.classes_.tolist()}. Received: target={target!r}"
                )
            return np.full(count_rows(inputs), matches[0])
        if self.target_type_ == "binary":
            return np.ones(count_rows(inputs), dtype=int)
        return np.argmax(self._proba_from_logits(self._predict_raw(inputs)), axis=1)

    def _member_average(self, logits):
        """Differentiable `logits -> probabilities` in `predict_proba`'s layout."""
        from keras import ops

        if self.target_type_ == "multiclass":
            return ops.mean(ops.softmax(logits, axis=-1), axis=1)
        proba = ops.mean(ops.sigmoid(logits), axis=1)
        if self.target_type_ == "binary":
            return ops.concatenate([1.0 - proba, proba], axis=-1)
        return proba

    # -------------------------------------------------------------- report
    def report(self, X, y, threshold=0.5):
        """Discrimination, calibration and threshold metrics on labelled data.

        Args:
            X: raw input.
            y: true labels.
            threshold: probability at or above which a case is called positive
                (one-vs-rest for more than two classes).

        Returns:
            dict with `auroc`, `auprc`, `brier`, `ece`, `sensitivity`,
            `specificity`, `ppv`, `npv`, `prevalence`, `n`, `threshold`; for
            more than two classes, their one-vs-rest macro averages and `per_class`.
        """
        check_is_fitted(self)
        proba = self.predict_proba(X)
        y = np.asarray(y)
        if len(y) != len(proba):
            raise ValueError(
                f"`X` and `y` have different lengths: X has {len(proba)} rows, y has {len(y)}."
            )
        return self._with_calibration(self._labels_report(y, proba, threshold), X, y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
