"""The table part of a task: a DataFrame in, feature tokens, explanations per column."""

import numpy as np
import pandas as pd
import scipy.sparse
from sklearn.utils.validation import check_is_fitted

from core.backbones import BACKBONES, IMAGE_BACKBONES, build_tabular_model
from core.backbones.hub_image_model import preset_image_size
from core.backbones.hub_preset import HubPreset, is_preset
from core.backbones.image_model import image_augmentation
from core.backbones.multimodal_model import (
    HubImageSpec,
    HubTextSpec,
    build_multimodal_model,
    multimodal_model_parts,
)
from core.backbones.tabular_model import tabular_model_parts
from core.data import (
    TableSource,
    count_rows,
    is_table_path,
    repeat_rows,
    take_rows,
    tile_rows,
)
from core.estimators.column_explanations import ColumnExplanations
from core.estimators.parameter import Parameter
from core.estimators.wide_and_deep_classifier import active_columns
from core.explain import integrated_gradients
from core.preprocessing import CATEGORICAL_INPUT, NUMERIC_INPUT
from core.preprocessing.multimodal_preprocessor import BUILT_IN_TEXT, MultimodalPreprocessor

# Columns named in an error message, at most.
_SHOWN_COLUMNS = 20
#: A multimodal model leaves parts out only when that lowers the held-out loss by this share.
KEEP_MARGIN = 0.01
# Rows per call when the keep rule runs the column encoder and the head.
_KEEP_RULE_CHUNK = 4096


class TableInput(ColumnExplanations):
    """The input part of a table task, for any target kind.

    A mixin placed before the target part (`KerasClassifier`,
    `KerasRegressor`) in a task's bases. It validates the DataFrame
    (`TabularPreprocessor`), records scikit-learn's `n_features_in_` and
    `feature_names_in_`, builds the tabular model with the target part's
    `_n_outputs()`, reads large files in chunks at prediction time, explains
    predictions per column, and exports a graph that takes raw column values.
    The task provides the constructor parameters the model reads
    (`backbone`, `embedding_dim`, `hidden_units`, `num_layers`,
    `num_heads`, `dropout`, `n_members`, `min_frequency`), and the target
    part provides `_explained(inputs, target)`: a differentiable map from the
    model's outputs to `(batch, n)` predictions, and the index of the one
    explained for each row.
    """

    input_kind = "table"
    adapter_class = MultimodalPreprocessor
    explanation_kind = "columns"
    parameter_checks = {"backbone": Parameter.choice(BACKBONES)}
    #: Scaled numbers (in inter-quartile ranges from the median) are clipped to
    #: +-input_clip, so one extreme value cannot dominate a probability or a hazard.
    input_clip = 5.0

    # ----------------------------------------------------------------- fit
    # `fit(X, y=None, sample_weight=None, checkpoint_dir=None, target=None)` is the
    # template's (`KerasEstimator.fit`): X is a DataFrame or 2-D array; `target` may
    # name the column of X that holds the labels.
    def _training_rows(self, X, y, sample_weight, target=None):
        if target is not None:
            X, y = self._split_target(X, y, target)
        frame = self._validate_X(X, fitting=True)
        return frame, len(frame), y, sample_weight

    def _fit_inputs(self, frame, rng):
        inputs = self.preprocessor_.fit_transform(frame)
        if self.verbose:
            kinds = ", ".join(f"{c}: {k}" for c, k in self.preprocessor_.column_kinds_.items())
            print(f"{type(self).__name__} column kinds: {kinds}")
        # The n-gram paths learn their document frequencies from the training texts.
        return inputs, inputs if self.preprocessor_.text_columns_ else None

    def _fit_finished(self, frame):
        """Called at the end of `fit` with the validated feature DataFrame.

        That is the whole training DataFrame, or for a file the bounded
        random sample the preprocessing was fitted on. Subclasses keep what
        they need from it (`RiskScorer`: its reference applicants).
        """

    @staticmethod
    def _split_target(X, y, target):
        """`(features, labels)` of a DataFrame whose column `target` holds the labels."""
        if y is not None:
            raise ValueError(
                "Pass the labels either as `y` or as the column named by `target`, not both. "
                f"Received: target={target!r} and y of type {type(y).__name__}."
            )
        if not isinstance(X, pd.DataFrame):
            raise ValueError(
                "`target` names a column, so X must be a DataFrame or a file path. "
                f"Received: X of type {type(X).__name__}."
            )
        if target not in X.columns:
            raise ValueError(
                f"`target`={target!r} is not a column of X. Its columns ({X.shape[1]}): "
                f"{shown_columns(X.columns)}."
            )
        return X.drop(columns=[target]), X[target]

    def _table_outputs(self, X, **context):
        """The model's outputs for raw rows; a file path is read in chunks.

        A label column in the file is ignored.

        Raises:
            ValueError: if a file lacks columns the model was fitted on.
        """
        if not is_table_path(X):
            return self._predict_raw(self._transform(X, **context))
        source = TableSource(X)
        columns = None
        if hasattr(self, "feature_names_in_"):
            columns = list(self.feature_names_in_)
            missing = [c for c in columns if c not in source.columns]
            if missing:
                raise ValueError(
                    f"{source.path!r} lacks columns {shown_columns(missing)} that the model was "
                    f"fitted on. Its columns ({len(source.columns)}): "
                    f"{shown_columns(source.columns)}."
                )
        parts = [self._predict_raw(self._transform(c)) for c in source.chunks(columns)]
        if not parts:
            return np.zeros((0, self._members(), self._n_outputs()), np.float32)
        return np.concatenate(parts)

    def _members(self):
        if self.n_members == "auto":
            return 4 if self.backbone == "mlp" else 1
        return int(self.n_members)

    def _build_model(self, start=None):
        pre = self.preprocessor_
        if pre.is_multimodal:
            return self._build_multimodal_model(start)
        return build_tabular_model(
            len(pre.numeric_columns_), pre.cardinalities_, self._n_outputs(), **self._head_options()
        )

    def _text_spec(self, adapter):
        """What the model builder needs to know of a text column's adapter."""
        if not hasattr(adapter, "encoder_inputs_"):  # The built-in tokenizer.
            return (len(adapter.tokenizer), adapter.sequence_length_, adapter.input_length_)
        preset = HubPreset(
            self.preprocessor_.text_preset, "text", parameter="text_backbone",
            built_in=BUILT_IN_TEXT,
        )  # fmt: skip
        preset.preprocessor()  # Checks that the preset is a text encoder.
        return HubTextSpec(
            preset.backbone(),
            tuple(adapter.encoder_inputs_),
            len(adapter.ngram_tokenizer),
            adapter.sequence_length_,
            adapter.input_length_,
        )

    def _image_spec(self, shape):
        """What the model builder needs to know of an image column read at `shape`."""
        preset = self._image_preset()
        if preset is None:
            return shape
        return HubImageSpec(preset.backbone(), preset.preprocessor().image_converter, *shape)

    def _head_options(self):
        """The model settings that tables with and without text or images share."""
        return {
            "backbone": self.backbone,
            "embedding_dim": self.embedding_dim,
            "hidden_units": tuple(self.hidden_units),
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "dropout": self.dropout,
            "n_members": self._members(),
            "monotone_columns": self._monotone_columns(),
            "value_range": self.preprocessor_.clip,
        }

    def _build_multimodal_model(self, training_inputs=None):
        """The model of rows with text or image columns: one token per column, fused.

        Args:
            training_inputs: the encoded training rows, whose texts set the
                n-gram paths' document frequencies; None leaves them at 1.
        """
        pre = self.preprocessor_
        seed = None if self.random_state is None else int(self.random_state)
        model = build_multimodal_model(
            len(pre.numeric_columns_),
            pre.cardinalities_,
            [self._text_spec(adapter) for adapter in pre.text_adapters_],
            [self._image_spec(shape) for shape in pre.image_shapes_],
            self._n_outputs(),
            text_backbone=(
                "transformer" if pre.text_preset else getattr(self, "text_backbone", "transformer")
            ),
            image_backbone=(
                "cnn" if self._image_preset() else getattr(self, "image_backbone", "cnn")
            ),
            augmentation=lambda: image_augmentation(seed=seed),
            **self._head_options(),
        )
        if training_inputs is not None:
            encoder = multimodal_model_parts(model).column_encoder
            for i in range(len(pre.text_columns_)):
                encoder.get_layer(f"text_{i}_ngrams").adapt(training_inputs[f"text_{i}"])
        return model

    # ------------------------------------------------- exact n-gram paths
    def _train_model(self, X_train, y_train, sample_weight, validation, loss, data_key=None):
        """Fits the text columns' n-gram paths exactly first (when the target part can), then
        trains the rest of the model on what they leave."""
        # Rows in memory only: a table streamed from files keeps its n-gram paths on SGD.
        if self.preprocessor_.text_columns_ and isinstance(X_train, dict) and y_train is not None:
            self._fit_ngram_paths(X_train, y_train, sample_weight, loss)
        caches = self._feature_caches(X_train, validation)
        try:
            return super()._train_model(X_train, y_train, sample_weight, validation, loss, data_key)
        finally:
            for layer in caches:
                layer.clear()

    def _feature_caches(self, X_train, validation):
        """Fills the feature cache of each image column read by a frozen preset with the
        training and validation rows' images; returns the `CachedFeatures` layers."""
        if not self.preprocessor_.is_multimodal or not isinstance(X_train, dict):
            return []
        encoder = multimodal_model_parts(self.model_).column_encoder
        names = {layer.name for layer in encoder.layers}
        caches = []
        for i in range(len(self.preprocessor_.image_columns_)):
            if f"image_{i}_features" not in names:
                continue
            codes = [X_train[f"image_{i}"]]
            if isinstance(validation, tuple | list) and validation[0] is not X_train:
                codes.append(validation[0][f"image_{i}"])
            width = max(c.shape[1] for c in codes)
            padded = [np.pad(c, ((0, 0), (0, width - c.shape[1]))) for c in codes]
            caches.append(encoder.get_layer(f"image_{i}_features"))
            caches[-1].cache(np.concatenate(padded))
        return caches

    def _fit_ngram_paths(self, X_train, y_train, sample_weight, loss):
        """Solves each member's n-gram paths exactly, on the rows that member trains on, and
        freezes them.

        The solver (`_ngram_linear_model`) fits one linear model over every
        text column's TF-IDF n-grams beside the table's columns (scaled
        numbers with their missing flags, one-hot categories), so the words'
        weights are adjusted for what the table already tells; only the
        n-gram weights and the intercept are kept, and the model's table
        paths learn the table's part again beside them. A linear model on a
        few thousand short texts is a convex problem that SGD beside a deep
        path fits worse than a solver (as `WideAndDeepClassifier` found).
        """
        n_members, n_outputs = self._members(), self._n_outputs()
        parts = multimodal_model_parts(self.model_)
        layers = [
            parts.column_encoder.get_layer(f"text_{i}_ngrams")
            for i in range(len(self.preprocessor_.text_columns_))
        ]
        blocks = [layer.sparse_features(X_train[f"text_{i}"]) for i, layer in enumerate(layers)]
        ngrams = scipy.sparse.hstack(blocks, format="csr")
        active = active_columns(ngrams)
        y_train = np.asarray(y_train).reshape(len(y_train), -1)
        masked = getattr(loss, "masked_members", None)
        targets = y_train[:, :-masked] if masked else y_train
        trains = y_train[:, -masked:] > 0 if masked else np.ones((len(y_train), n_members), bool)
        weights = np.ones(len(y_train)) if sample_weight is None else np.asarray(sample_weight)
        solved = self._ngram_linear_model(
            ngrams[:, active], self._table_features(X_train), targets, weights, trains
        )
        if solved is None:
            return
        slots = np.zeros((ngrams.shape[1], n_members * n_outputs))
        for m, (coef, intercept) in enumerate(solved):
            slots[active, m * n_outputs : (m + 1) * n_outputs] = coef.T
            wide = parts.head.get_layer(f"member_{m}_wide")
            wide.set_weights([wide.get_weights()[0], intercept.astype(np.float32)])
        first = 0
        for layer, block in zip(layers, blocks, strict=True):
            layer.set_slot_weights(slots[first : first + block.shape[1]])
            layer.trainable = False
            first += block.shape[1]

    def _table_features(self, inputs):
        """The table's columns as a linear model reads them: `[scaled numbers and missing
        flags | one-hot categories]`, sparse."""
        blocks = []
        if NUMERIC_INPUT in inputs:
            blocks.append(scipy.sparse.csr_matrix(np.asarray(inputs[NUMERIC_INPUT], np.float64)))
        if CATEGORICAL_INPUT in inputs:
            codes = np.asarray(inputs[CATEGORICAL_INPUT], np.int64)
            offsets = np.concatenate([[0], np.cumsum(self.preprocessor_.cardinalities_)])
            rows = np.repeat(np.arange(len(codes)), codes.shape[1])
            columns = (codes + offsets[:-1]).ravel()
            blocks.append(
                scipy.sparse.csr_matrix(
                    (np.ones(len(columns)), (rows, columns)), shape=(len(codes), offsets[-1])
                )
            )
        if not blocks:
            return None
        return scipy.sparse.hstack(blocks, format="csr")

    def _ngram_linear_model(self, ngrams, table, targets, weights, trains):
        """Hook: each member's exact linear model of the targets on n-grams beside the table.

        Args:
            ngrams: sparse `(rows, n-grams)`, the text columns' TF-IDF n-grams side by side.
            table: sparse `(rows, table features)` (see `_table_features`), or None.
            targets: the rows' targets in the loss' format, without member masks.
            weights: per-row training weights.
            trains: `(rows, n_members)` booleans, the rows each member trains on.

        Returns:
            Per member `(n-gram coef (n_outputs, n-grams), intercept (n_outputs,))`, or
            None where the target part has no solver (the paths then train by SGD).
        """
        return None

    # ------------------------------------------------------------ keep rule
    def _fit_calibration(self, validation, folds=None):
        if self.preprocessor_.is_multimodal and isinstance(validation, tuple | list):
            self._keep_parts(validation, folds)
        super()._fit_calibration(validation, folds=folds)

    def _column_parts(self):
        """`{part: (token positions, n-gram positions)}`: the table, then each text
        and image column, as the keep rule weighs them."""
        pre = self.preprocessor_
        n_table = len(pre.numeric_columns_) + len(pre.categorical_columns_)
        parts = {"table": (list(range(n_table)), [])} if n_table else {}
        for i, name in enumerate(pre.text_columns_):
            parts[name] = ([n_table + i], [i])
        for j, name in enumerate(pre.image_columns_):
            parts[name] = ([n_table + len(pre.text_columns_) + j], [])
        return parts

    def _keep_parts(self, validation, folds):
        """The keep rule: leaves out the parts without which the held-out loss is lower.

        On the held-out rows (each row's out-of-fold member when members are
        cross-fitted), the task's loss is computed with every part, with each
        part alone, and (from three parts on) without each part; a part is
        left out only when some choice without it beats keeping everything
        by `KEEP_MARGIN`, so a multimodal model does no worse than its best
        single part by more than noise. A part left out is held at its mean
        tokens (and n-gram scores) over the held-out rows (`ColumnGate`), so
        it no longer moves predictions.

        With monotone constraints the table is always kept. Sets
        `kept_parts_` (`{part: bool}`, "table" for the numbers and
        categories, then each text and image column) and `part_losses_`
        (`{choice: held-out loss}`).
        """
        model_parts = multimodal_model_parts(self.model_)
        head = model_parts.head
        inputs, targets = validation[0], np.asarray(validation[1], np.float32)
        n_rows = count_rows(inputs)
        chunks = [
            self._head_inputs(take_rows(inputs, rows))
            for rows in (slice(i, i + _KEEP_RULE_CHUNK) for i in range(0, n_rows, _KEEP_RULE_CHUNK))
        ]
        encoded = [np.concatenate(column) for column in zip(*chunks, strict=True)]
        # A part left out is held at its mean over the held-out rows: what its
        # tokens add on average stays, what varies from row to row goes.
        reference = [a.mean(axis=0) for a in encoded]
        parts = self._column_parts()
        loss = self._task_loss()

        def held_out_loss(kept):
            arrays = [a.copy() for a in encoded]
            for part, (tokens, ngrams) in parts.items():
                if part not in kept:
                    arrays[0][:, :, tokens] = reference[0][:, tokens]
                    if ngrams:
                        arrays[1][:, ngrams] = reference[1][ngrams]
            outputs = []
            for i in range(0, n_rows, _KEEP_RULE_CHUNK):
                chunk = [a[i : i + _KEEP_RULE_CHUNK] for a in arrays]
                outputs.append(np.asarray(head(chunk if len(chunk) > 1 else chunk[0])))
            outputs = np.concatenate(outputs)
            if folds is not None:
                outputs = outputs[np.arange(n_rows), folds][:, None, :]
            return float(loss(targets, outputs))

        names = list(parts)
        choices = {"all": names}
        if len(names) > 1:
            choices.update({f"only {p}": [p] for p in names})
        if len(names) > 2:
            choices.update({f"without {p}": [q for q in names if q != p] for p in names})
        if self._monotone_columns():  # The constrained columns stay: the table is kept.
            choices = {c: kept for c, kept in choices.items() if "table" in kept}
        self.part_losses_ = {choice: held_out_loss(kept) for choice, kept in choices.items()}
        best = min(self.part_losses_, key=self.part_losses_.get)
        if self.part_losses_[best] >= (1.0 - KEEP_MARGIN) * self.part_losses_["all"]:
            best = "all"
        kept = choices[best]
        self.kept_parts_ = {part: part in kept for part in names}
        if best == "all":
            return
        keep = np.ones(encoded[0].shape[2], np.float32)
        keep_ngrams = np.ones(len(self.preprocessor_.text_columns_), np.float32)
        for part, (tokens, ngrams) in parts.items():
            if part not in kept:
                keep[tokens] = 0.0
                keep_ngrams[ngrams] = 0.0
        model_parts.column_gate.keep.assign(keep)
        model_parts.column_gate.reference.assign(reference[0])
        if model_parts.has("ngram_gate"):
            model_parts.ngram_gate.keep.assign(keep_ngrams)
            model_parts.ngram_gate.reference.assign(reference[1])

    def _monotone_columns(self):
        """`(numeric_index, sign)` pairs the model must be monotone in; none here."""
        return []

    # --------------------------------------------------------------- input
    def _validate_X(self, X, fitting):
        """X as the table adapter reads it; fitting starts a new adapter and records
        scikit-learn's `n_features_in_` and `feature_names_in_`."""
        if fitting:
            self.preprocessor_ = self._new_preprocessor()
        frame = self.preprocessor_.validate(X, reset=fitting, owner=type(self).__name__)
        if fitting:
            self.n_features_in_ = frame.shape[1]
            if self.preprocessor_.named_input_:
                self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        return frame

    def _new_preprocessor(self):
        text_backbone = getattr(self, "text_backbone", "transformer")
        image_preset = self._image_preset()
        return MultimodalPreprocessor(
            min_frequency=self.min_frequency,
            clip=self.input_clip,
            text_columns=getattr(self, "text_columns", None),
            image_columns=getattr(self, "image_columns", None),
            # Images are read at the size the preset was trained on.
            image_size=(
                "auto"
                if image_preset is None
                else preset_image_size(image_preset.preprocessor().image_converter)
            ),
            text_preset=text_backbone if is_preset(text_backbone, BUILT_IN_TEXT) else None,
        )

    def _image_preset(self):
        """The keras-hub preset of `image_backbone`, or None for a built-in backbone."""
        image_backbone = getattr(self, "image_backbone", "cnn")
        if not is_preset(image_backbone, IMAGE_BACKBONES):
            return None
        return HubPreset(
            image_backbone, "image", parameter="image_backbone", built_in=IMAGE_BACKBONES
        )

    def _transform(self, X):
        return self.preprocessor_.transform(self._validate_X(X, fitting=False))

    # ------------------------------------------------------------- explain
    def explain(self, X, target=None, steps=64):
        """Per-row, per-column attributions by integrated gradients.

        Each column's token is moved from a reference row (median numbers,
        nothing missing, the most frequent category) to the row's own token;
        the change in the prediction is split between the columns, so a
        row's attributions add up to its prediction minus the reference's.

        Args:
            X: raw input, as for `predict`.
            target: what to explain. Classifiers: a class label (for
                multilabel targets, a label index); default: the positive
                class for binary targets, the most probable class or label of
                each row otherwise. Regressors: a target name or index;
                default: the first target.
            steps: integration steps.

        Returns:
            DataFrame with one row per input row (same index) and one column
            per input column, in the units of the prediction explained
            (probability for classifiers, the target's own units for
            regressors). `attrs["baseline"]` holds the reference row's
            prediction per row. With `calibration`, the probability explained
            is the model's own, before the calibration map.
        """
        check_is_fitted(self)
        frame = self._validate_X(X, fitting=False)
        inputs = self.preprocessor_.transform(frame)
        output, targets = self._explained(inputs, target)
        reference = self.preprocessor_.baseline()
        values = self._column_attributions(inputs, reference, output, targets=targets, steps=steps)
        attributions = self._attribution_frame(values, X)
        base = np.asarray(output(self._reference_logits(reference)))[0]
        attributions.attrs["baseline"] = base[targets].tolist()
        return attributions

    def _column_attributions(self, inputs, references, output, targets=None, steps=64):
        """Integrated gradients per input column, averaged over reference rows.

        Args:
            inputs: preprocessed rows (the preprocessor's named arrays), n of them.
            references: preprocessed reference rows, k of them; each row's
                attributions are averaged over the k paths.
            output: differentiable map from the model's logits to `(batch,)`
                or `(batch, k)` values to explain.
            targets: output index per row when `output` has several.
            steps: integration steps.

        Returns:
            `(n, n_columns)` attributions, columns in token order (numeric, then
            categorical); they add up to `output(row) - mean(output(references))`.
        """
        n, k = count_rows(inputs), count_rows(references)
        rows = repeat_rows(inputs, k)
        base_rows = tile_rows(references, n)
        targets = None if targets is None else np.repeat(targets, k)
        if self.preprocessor_.is_multimodal:
            per_column = self._mixed_attributions(rows, base_rows, output, targets, steps)
            return per_column.reshape(n, k, -1).mean(axis=1)
        parts = tabular_model_parts(self.model_)
        embedding, head = parts.embedding, parts.head
        tokens = np.asarray(embedding(rows))
        base_tokens = np.asarray(embedding(base_rows))
        if len(head.inputs) == 1:
            token_attr = integrated_gradients(
                lambda t: output(head(t, training=False)),
                tokens, base_tokens, targets=targets, steps=steps,
            )  # fmt: skip
            per_column = token_attr.sum(axis=-1)
        else:  # Monotone columns reach the head as raw numbers, beside the tokens.
            numeric, base_numeric = rows[NUMERIC_INPUT], base_rows[NUMERIC_INPUT]
            token_attr, feature_attr = integrated_gradients(
                lambda pair: output(head(pair, training=False)),
                [tokens, numeric], [base_tokens, base_numeric], targets=targets, steps=steps,
            )  # fmt: skip
            per_column = token_attr.sum(axis=-1) + self._fold_feature_columns(feature_attr)
        return per_column.reshape(n, k, -1).mean(axis=1)

    def _mixed_attributions(self, rows, base_rows, output, targets, steps):
        """Integrated gradients over a multimodal model's column tokens and n-gram scores.

        A text column's attribution is its token's plus its n-gram path's; the
        reference has no note and no image (their learned "missing" tokens).
        """
        parts = multimodal_model_parts(self.model_)
        encoded = self._head_inputs(rows)
        base = self._head_inputs(base_rows)
        head = parts.head
        if len(encoded) == 1:
            token_attr = integrated_gradients(
                lambda t: output(head(t, training=False)),
                encoded[0], base[0], targets=targets, steps=steps,
            )  # fmt: skip
            return token_attr.sum(axis=(1, 3))  # Over members and token units.
        attributions = integrated_gradients(
            lambda arrays: output(head(arrays, training=False)),
            encoded, base, targets=targets, steps=steps,
        )  # fmt: skip
        per_column = attributions[0].sum(axis=(1, 3))
        pre = self.preprocessor_
        n_table = len(pre.numeric_columns_) + len(pre.categorical_columns_)
        if pre.text_columns_:
            n_texts = len(pre.text_columns_)
            per_column[:, n_table : n_table + n_texts] += attributions[1].sum(axis=-1)
        if self._monotone_columns():  # The constrained columns' raw numbers.
            per_column[:, :n_table] += self._fold_feature_columns(attributions[-1])
        return per_column

    def _head_inputs(self, rows):
        """What a multimodal model's head takes for encoded rows, as a list of arrays."""
        parts = multimodal_model_parts(self.model_)
        arrays = [np.asarray(t) for t in _as_list(parts.column_encoder(rows, training=False))]
        if self._monotone_columns():
            arrays.append(np.asarray(rows[NUMERIC_INPUT], np.float32))
        return arrays

    def _reference_logits(self, reference):
        """The model's output for the reference row, through its head."""
        if self.preprocessor_.is_multimodal:
            arrays = self._head_inputs(reference)
            head = multimodal_model_parts(self.model_).head
            return head(arrays if len(arrays) > 1 else arrays[0], training=False)
        return self._head_call(tabular_model_parts(self.model_).head, reference)

    def _fold_feature_columns(self, numeric_attr):
        """Per column in token order: a numeric column's value and missing-indicator
        attributions added together; categorical columns get none this way."""
        n_numeric = len(self.preprocessor_.numeric_columns_)
        numeric = numeric_attr[:, :n_numeric] + numeric_attr[:, n_numeric : 2 * n_numeric]
        categorical = np.zeros((len(numeric), len(self.preprocessor_.categorical_columns_)))
        return np.hstack([numeric, categorical])

    def _head_call(self, head, inputs):
        tokens = tabular_model_parts(self.model_).embedding(inputs)
        if len(head.inputs) == 1:
            return head(tokens, training=False)
        from keras import ops

        return head([tokens, ops.convert_to_tensor(inputs[NUMERIC_INPUT])], training=False)

    def _attribution_frame(self, values, X):
        """Token-ordered attributions as a DataFrame in the input's column order and index."""
        pre = self.preprocessor_
        names = (
            pre.numeric_columns_ + pre.categorical_columns_ + pre.text_columns_ + pre.image_columns_
        )
        frame = pd.DataFrame(values, columns=names)[pre.feature_names_in_]
        if hasattr(self, "feature_names_in_"):
            frame.columns = list(self.feature_names_in_)
        if isinstance(X, pd.DataFrame):
            frame.index = X.index
        return frame

    # --------------------------------------------------------------- state
    def _get_fitted_state(self):
        state = {
            **super()._get_fitted_state(),
            "kept_parts": getattr(self, "kept_parts_", None),
            "part_losses": getattr(self, "part_losses_", None),
            "n_features_in": self.n_features_in_,
            "feature_names_in": (
                list(self.feature_names_in_) if hasattr(self, "feature_names_in_") else None
            ),
        }
        return state

    def _set_fitted_state(self, state):
        super()._set_fitted_state(state)
        if self.preprocessor_.named_input_ is None:
            self.preprocessor_.named_input_ = state["feature_names_in"] is not None
        self.n_features_in_ = state["n_features_in"]
        if state.get("kept_parts") is not None:
            self.kept_parts_ = state["kept_parts"]
            self.part_losses_ = state["part_losses"]
        if state["feature_names_in"] is not None:
            self.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)

    def _export_signature(self):
        pre = self.preprocessor_
        if pre.is_multimodal:
            raise ValueError(
                f"{type(self).__name__} reads text columns {pre.text_columns_} and image "
                f"columns {pre.image_columns_}, whose tokenizer and image reading stay in "
                "Python: serve it with `keras-domains serve` instead of exporting it, or fit "
                "it on the numbers and categories alone to export."
            )
        from core.export import TableSignature

        return TableSignature(
            self.model_, self.preprocessor_, lambda X: self._validate_X(X, fitting=False)
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.target_tags.required = True
        tags.non_deterministic = self.random_state is None
        return tags


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def shown_columns(columns):
    """The first columns of a list, for an error message."""
    columns = [str(c) for c in columns]
    if len(columns) <= _SHOWN_COLUMNS:
        return columns
    return [*columns[:_SHOWN_COLUMNS], f"... {len(columns) - _SHOWN_COLUMNS} more"]
