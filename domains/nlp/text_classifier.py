"""Text classification with a trained tokenizer, masked-LM pretraining and token explanations."""

import os
import time

import keras
import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from core.backbones.hub_preset import (
    FINE_TUNE_MODES,
    HubPreset,
    check_fine_tuning,
    enable_lora,
    hub_backbone_of,
    is_preset,
)
from core.backbones.hub_text_model import (
    NGRAM_INPUT,
    build_hub_text_classifier_model,
    freeze_pooler,
    hub_text_model_parts,
    pooled_features_model,
)
from core.backbones.text_model import (
    EMBEDDING_LAYER,
    TEXT_BACKBONES,
    build_masked_lm_model,
    build_text_classifier_model,
    build_text_encoder,
    text_backbone_parts,
    text_model_parts,
)
from core.estimators import WideAndDeepClassifier
from core.estimators.backbone_fine_tuning import BackboneFineTuning
from core.estimators.parameter import Parameter
from core.explain import integrated_gradients
from core.explain.scaled_output import scaled_output
from core.explain.word_alignment import align_words, group_pieces
from core.layers.padding_mask import PaddingMask
from core.persistence.metadata import jsonable
from core.persistence.start_file import read_start_file, write_encoder_file
from core.preprocessing import WordPieceTokenizer
from core.preprocessing.hub_text_adapter import HubTextAdapter
from core.preprocessing.text_adapter import TextAdapter
from core.preprocessing.text_input import as_text_list
from core.pretraining import mask_tokens
from core.registry import register_task

# L2 penalties tried for the n-gram path (inverse strength, as scikit-learn's C).
#: The metadata kind of a file written by `save_backbone`.
BACKBONE_FILE_KIND = "text-backbone"
# Architecture parameters that a pretrained backbone fixes.
ENCODER_PARAMS = (
    "backbone",
    "embedding_dim",
    "num_layers",
    "num_heads",
    "intermediate_dim",
    "lstm_units",
)


@register_task("nlp.text")
class TextClassifier(BackboneFineTuning, WideAndDeepClassifier):
    """Classifies texts: a subword tokenizer, a transformer or LSTM encoder, and n-grams.

    The model is wide and deep: an encoder (transformer blocks or a
    bidirectional LSTM over subword embeddings) reads the first
    `max_length` tokens, and a linear model over TF-IDF weighted subword
    unigrams and hashed bigrams reads the whole text; their logits add.
    `pretrain(texts)` first trains the encoder as a masked language model
    on unlabelled texts, which is what helps when labels are few.

    With a pretrained keras-hub encoder as `backbone` (BERT, DistilBERT,
    RoBERTa, DeBERTa, ...), the deep path is that encoder, reading the
    preset's own tokens (its tokenizer, special tokens and sequence
    length), and it trains by `fine_tune` or `lora_rank`; the n-gram path
    and the keep rule stay as they are, on a tokenizer of their own.

    Args:
        backbone: `"transformer"`, `"lstm"`, or a keras-hub text encoder: a
            preset name (`"bert_tiny_en_uncased"`, ...), a `kaggle://` or
            `hf://` handle, or a local preset folder.
        start_from: None, or the path of a file whose tokenizer, embeddings
            and encoder this classifier starts from: one written by
            `pretrain` or `save_backbone`, or a saved TextClassifier. The file
            then fixes the architecture parameters below. Being a parameter,
            it survives `clone`, `GridSearchCV` and `set_params`.
        vocabulary_size: subword vocabulary trained on the texts.
        max_length: tokens the encoder reads per text, or `"auto"`: the 95th
            percentile of the training texts' lengths (16 to 256; with a
            preset, 16 to the preset's sequence length, which also caps an
            integer).
        lowercase: lowercase texts before tokenizing.
        strip_accents: remove accents before tokenizing.
        embedding_dim: token embedding size (transformer width).
        num_layers: transformer blocks or LSTM layers.
        num_heads: attention heads.
        intermediate_dim: transformer feed-forward width.
        lstm_units: LSTM state size per direction.
        ngrams: add the linear n-gram path (reads up to 1,024 tokens).
        ngram_buckets: hashed bigram slots of the n-gram path.
        dropout: dropout rate.
        pretrain_epochs: masked-LM epochs on the training texts inside `fit`,
            when no pretrained encoder is given (0: none).
        fine_tune: how a preset's encoder trains: `"full"` (the head first on
            the frozen encoder's features for `head_epochs`, then every layer
            at `learning_rate * fine_tune_factor`) or `"frozen"` (only the
            head trains, on features computed once per fit).
        lora_rank: None, or the rank of LoRA adapters on the preset's
            attention layers: only they and the head train, at `learning_rate`.
        head_epochs: epochs of the head alone before full fine-tuning.
        fine_tune_factor: learning-rate multiplier of full fine-tuning, or
            `"auto"`: `sqrt(300,000 / encoder parameters)`, at most 1 (0.05 for
            BERT-base, whose fine-tuning needs 2e-5 to 5e-5; 0.26 for a 4 M
            BERT-tiny; small encoders barely move at BERT-base's rate).
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        batch_size: texts per step, or "auto" (32 below 2,000 texts, 64 below
            20,000, else 128).
        max_epochs: upper bound on epochs.
        patience: epochs without a better validation loss before stopping.
        max_time: seconds the fit may train (None: no limit); when they are spent,
            training stops and the best epoch so far is kept (`stopped_by_time_`).
        validation_fraction: share of texts held out for early stopping.
        class_weight: None, "balanced" or a dict.
        calibration: None, `"temperature"` or `"isotonic"`: a calibration map fitted
            on the held-out validation rows at the end of `fit` (see `KerasClassifier`).
        precision, jit_compile, distribution, privacy: training options shared
            by every task (mixed precision, XLA, tf.distribute, DP-SGD); see
            `KerasEstimator`.
        random_state: integer seed.
        verbose: 1 shows progress bars.

    Attributes:
        classes_: class labels (label indices for multilabel targets).
        preprocessor_: the fitted `TextAdapter` (its `tokenizer` is also `tokenizer_`).
        tokenizer_: the fitted `WordPieceTokenizer`.
        encoder_config_: the encoder architecture actually used.
        deep_path_kept_: whether the encoder beat the n-gram path alone.
        linear_C_: the n-gram path's chosen penalty (None without it).
        pretrain_history_: masked-LM loss per epoch of the last `pretrain`.
    """

    input_kind = "texts"
    adapter_class = TextAdapter
    explanation_kind = "tokens"
    parameter_checks = {
        "backbone": Parameter.choice(TEXT_BACKBONES).or_preset(),
        "fine_tune": Parameter.choice(FINE_TUNE_MODES),
        "lora_rank": Parameter.integer(minimum=1).or_value(None),
        "head_epochs": Parameter.integer(minimum=0),
        "fine_tune_factor": Parameter.number(minimum=0.0).or_value("auto"),
        "max_length": Parameter.integer(minimum=4).or_value("auto"),
        "ngrams": Parameter.boolean(),
        "ngram_buckets": Parameter.integer(minimum=1),
        "pretrain_epochs": Parameter.integer(minimum=0),
    }

    # L2 penalties tried for the n-gram path (inverse strength, as scikit-learn's C).
    LINEAR_C_GRID = (1.0, 4.0, 16.0, 64.0)
    LINEAR_C_DEFAULT = 4.0
    LINEAR_MAX_ITER = 1000
    # Binary labels: n-grams weighted by their naive Bayes log-count ratio (NB-SVM).
    LINEAR_NAIVE_BAYES = True

    def __init__(
        self,
        backbone="transformer",
        start_from=None,
        vocabulary_size=8000,
        max_length="auto",
        lowercase=True,
        strip_accents=True,
        embedding_dim=64,
        num_layers=2,
        num_heads=4,
        intermediate_dim=128,
        lstm_units=64,
        ngrams=True,
        ngram_buckets=2**18,
        dropout=0.1,
        pretrain_epochs=0,
        fine_tune="full",
        lora_rank=None,
        head_epochs=1,
        fine_tune_factor="auto",
        learning_rate=1e-3,
        weight_decay=1e-4,
        batch_size="auto",
        max_epochs=20,
        patience=3,
        max_time=None,
        validation_fraction=0.1,
        class_weight=None,
        calibration=None,
        precision="float32",
        jit_compile=False,
        distribution=None,
        privacy=None,
        random_state=None,
        verbose=0,
    ):
        self._store_parameters(locals())

    # ------------------------------------------------------------ pretrain
    def pretrain(self, texts, path, epochs=3, batch_size=64, learning_rate=None):
        """Trains the tokenizer and encoder on unlabelled texts (masked-LM); writes them to `path`.

        15% of the real tokens of each text are selected; 80% of those become
        [MASK], 10% a random token, 10% stay; the loss is the cross-entropy
        of the selected tokens only, through an output layer tied to the
        token embedding. The encoder is written to `path` and `start_from`
        is set to it, so the next `fit` (of this estimator or of its clones)
        fine-tunes it. With `start_from` already set, pretraining continues
        from that file.

        Args:
            texts: unlabelled texts (list, Series, array).
            path: file to write the pretrained tokenizer and encoder to.
            epochs: passes over the texts (each with new masks).
            batch_size: texts per step.
            learning_rate: AdamW learning rate (default `learning_rate`).

        Returns:
            self.
        """
        texts = as_text_list(texts, "texts")
        self._check_parameters()
        if self._uses_preset():
            raise ValueError(
                f"`pretrain` trains the built-in encoder; backbone={self.backbone!r} is a "
                "pretrained preset. To pretrain it further on your texts, fit keras-hub's "
                "`MaskedLM` and save it as a preset folder (see the README)."
            )
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise ValueError(f"`epochs` must be a positive integer. Received: epochs={epochs!r}")
        with self._seeded() as rng:
            source = self._start_source()
            if source is None:
                adapter = TextAdapter(self._new_tokenizer(), self.max_length, ngrams=False)
                tokenizer, config = adapter.fit(texts).tokenizer, self._own_encoder_config(adapter)
                embedding, encoder = self._new_encoder(config)
            else:
                tokenizer, config, embedding, encoder = source
            ids = tokenizer.encode(texts, max_length=config["sequence_length"])
            started = time.perf_counter()
            losses = self._masked_lm_epochs(
                ids, tokenizer, embedding, encoder, rng, epochs, batch_size, learning_rate
            )
        self.pretrain_history_ = {
            "loss": losses,
            "seconds": time.perf_counter() - started,
            "texts": len(texts),
        }
        path = self._write_backbone(path, tokenizer, config, embedding, encoder)
        return self.set_params(start_from=path)

    def _masked_lm_epochs(
        self, ids, tokenizer, embedding, encoder, rng, epochs, batch_size, learning_rate
    ):
        max_predictions = int(np.ceil(0.15 * ids.shape[1])) + 2
        model = build_masked_lm_model(embedding, encoder, max_predictions)
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=learning_rate or self.learning_rate, weight_decay=self.weight_decay
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=False,
        )
        losses = []
        for _ in range(epochs):
            inputs, positions, labels, weights = mask_tokens(
                ids,
                rng,
                vocabulary_size=len(tokenizer),
                mask_id=tokenizer.mask_id,
                special_ids=tokenizer.special_ids,
                max_predictions=max_predictions,
            )
            history = model.fit(
                [inputs, positions],
                labels,
                sample_weight=weights,
                batch_size=batch_size,
                epochs=1,
                shuffle=True,
                verbose=1 if self.verbose else 0,
            )
            # The loss is averaged over all slots; per predicted token it is larger.
            losses.append(float(history.history["loss"][0] * weights.size / weights.sum()))
        return losses

    def save_backbone(self, path):
        """Saves the fitted tokenizer, embeddings and encoder for another TextClassifier.

        Start another classifier from it with `TextClassifier(start_from=path)`.

        Args:
            path: destination file (conventionally `.kdm`).

        Returns:
            The path written.
        """
        if not hasattr(self, "model_"):
            raise ValueError(
                "`save_backbone` needs a fitted TextClassifier; `pretrain` writes its own file."
            )
        parts = text_model_parts(self.model_)
        return self._write_backbone(
            path, self.tokenizer_, self.encoder_config_, parts.embedding, parts.encoder
        )

    def _write_backbone(self, path, tokenizer, config, embedding, encoder):
        ids = keras.Input((config["sequence_length"],), dtype="int32", name="token_ids")
        states = encoder([embedding(ids), PaddingMask(name="padding_mask")(ids)])
        backbone_model = keras.Model(ids, states, name="text_backbone")
        state = {"tokenizer": tokenizer.get_state(), "encoder_config": config}
        return write_encoder_file(path, backbone_model, state, BACKBONE_FILE_KIND, type(self))

    def _start_source(self):
        """`(tokenizer, config, embedding, encoder)` of the `start_from` file, or None."""
        if self.start_from is None:
            return None
        kind, *content = read_start_file(self.start_from, BACKBONE_FILE_KIND, type(self))
        if kind == "encoder":
            model, state = content
            parts = text_backbone_parts(model)
            tokenizer = WordPieceTokenizer.from_state(state["tokenizer"])
            return tokenizer, state["encoder_config"], parts.embedding, parts.encoder
        (source,) = content
        parts = text_model_parts(source.model_)
        return source.tokenizer_, source.encoder_config_, parts.embedding, parts.encoder

    # ----------------------------------------------------------------- fit
    # `fit(X, y, sample_weight=None, checkpoint_dir=None)` is the template's: X is texts
    # (list, Series, array, or a one-column DataFrame), y labels of any type or a 0/1
    # indicator matrix for multilabel. A pretrained encoder is fine-tuned.
    def _training_rows(self, X, y, sample_weight):
        if self._uses_preset():
            self._preset = HubPreset(self.backbone, "text", built_in=TEXT_BACKBONES)
            self.preprocessor_ = HubTextAdapter(
                self._preset.preprocessor(),
                self._preset.backbone(load_weights=False),
                self.max_length,
                self.ngrams,
                self._new_tokenizer() if self.ngrams else None,
            )
        else:
            self.preprocessor_ = TextAdapter(self._new_tokenizer(), self.max_length, self.ngrams)
        texts = self.preprocessor_.validate(X, reset=True)
        return texts, len(texts), y, sample_weight

    def _uses_preset(self):
        return is_preset(self.backbone, TEXT_BACKBONES)

    def _adapter_class(self):
        return HubTextAdapter if self._uses_preset() else TextAdapter

    def _check_params(self):
        check_fine_tuning(self.fine_tune, self.lora_rank, self._uses_preset(), "a keras-hub preset")
        if self._uses_preset() and (self.start_from is not None or self.pretrain_epochs):
            raise ValueError(
                f"backbone={self.backbone!r} is a pretrained preset; `start_from` and "
                "`pretrain_epochs` start the built-in encoder. Received: "
                f"start_from={self.start_from!r}, pretrain_epochs={self.pretrain_epochs!r}."
            )

    def _fit_inputs(self, texts, rng):
        if self._uses_preset():
            adapter = self.preprocessor_.fit(texts)
            self.encoder_config_ = {
                "backbone": self.backbone,
                "sequence_length": adapter.sequence_length_,
            }
            inputs = adapter.transform(texts)
            return inputs, {"ids": inputs.get(NGRAM_INPUT)}
        source = self._start_source()
        if source is not None:  # The pretrained tokenizer and encoder length are kept.
            self.preprocessor_.tokenizer = source[0]
            self.preprocessor_.max_length = source[1]["sequence_length"]
        adapter = self.preprocessor_.fit(texts)
        config = source[1] if source is not None else self._own_encoder_config(adapter)
        if source is None and self.pretrain_epochs:
            embedding, encoder = self._new_encoder(config)
            ids = adapter.tokenizer.encode(texts, max_length=config["sequence_length"])
            self._masked_lm_epochs(
                ids, adapter.tokenizer, embedding, encoder, rng, self.pretrain_epochs, 64, None
            )
            source = (adapter.tokenizer, config, embedding, encoder)
        self.encoder_config_ = config
        ids = adapter.transform(texts)
        # The n-gram path adapts to the training ids; pretrained layers seed the encoder.
        start = {"ids": ids, "layers": None if source is None else source[2:]}
        return ids, start

    @property
    def tokenizer_(self):
        """The fitted `WordPieceTokenizer` (the input adapter's)."""
        return self.preprocessor_.tokenizer

    @property
    def input_length_(self):
        """Tokens per input row: what the encoder reads, more for the n-gram path."""
        return self.preprocessor_.input_length_

    def _new_tokenizer(self):
        return WordPieceTokenizer(
            vocabulary_size=self.vocabulary_size,
            max_length=16,
            lowercase=self.lowercase,
            strip_accents=self.strip_accents,
        )

    def _own_encoder_config(self, adapter):
        """The encoder architecture from the parameters, for a fitted `TextAdapter`."""
        config = {name: getattr(self, name) for name in ENCODER_PARAMS}
        config["sequence_length"] = adapter.sequence_length_
        config["vocabulary_size"] = len(adapter.tokenizer)
        return config

    @staticmethod
    def _new_encoder(config):
        from core.layers import TokenAndPositionEmbedding

        embedding = TokenAndPositionEmbedding(
            config["vocabulary_size"],
            config["sequence_length"],
            config["embedding_dim"],
            mask_zero=False,
            name=EMBEDDING_LAYER,
        )
        encoder = build_text_encoder(
            config["sequence_length"],
            config["embedding_dim"],
            backbone=config["backbone"],
            num_layers=config["num_layers"],
            num_heads=config["num_heads"],
            intermediate_dim=config["intermediate_dim"],
            lstm_units=config["lstm_units"],
        )
        return embedding, encoder

    def _build_model(self, start):
        if self._uses_preset():
            return self._build_preset_model(start)
        config = self.encoder_config_
        model = build_text_classifier_model(
            config["vocabulary_size"],
            config["sequence_length"],
            self._n_outputs(),
            input_length=self.input_length_,
            embedding_dim=config["embedding_dim"],
            ngram_buckets=self.ngram_buckets,
            ngrams=self.ngrams,
            dropout=self.dropout,
            backbone=config["backbone"],
            num_layers=config["num_layers"],
            num_heads=config["num_heads"],
            intermediate_dim=config["intermediate_dim"],
            lstm_units=config["lstm_units"],
        )
        parts = text_model_parts(model)
        if self.ngrams:
            parts.linear_path.adapt(start["ids"])
        if start["layers"] is not None:
            embedding, encoder = start["layers"]
            parts.embedding.set_weights(embedding.get_weights())
            parts.encoder.set_weights(encoder.get_weights())
        return model

    def _build_preset_model(self, start):
        adapter = self.preprocessor_
        model = build_hub_text_classifier_model(
            self._preset.backbone(),
            adapter.encoder_inputs_,
            adapter.sequence_length_,
            self._n_outputs(),
            ngram_vocabulary_size=len(adapter.ngram_tokenizer) if self.ngrams else None,
            input_length=adapter.input_length_,
            ngram_buckets=self.ngram_buckets,
            ngrams=self.ngrams,
            dropout=self.dropout,
        )
        if self.ngrams:
            hub_text_model_parts(model).linear_path.adapt(start["ids"])
        if self.lora_rank is not None:
            enable_lora(model, self.lora_rank)
        return model

    def _model_parts(self, model):
        return hub_text_model_parts(model) if self._uses_preset() else text_model_parts(model)

    def _train_deep_path(self, X_train, y_train, sample_weight, validation, loss, data_key=None):
        """A preset's encoder trains by `fine_tune` or LoRA (`BackboneFineTuning`)."""
        if not self._uses_preset():
            return super()._train_deep_path(
                X_train, y_train, sample_weight, validation, loss, data_key
            )
        return self._train_pretrained(
            X_train, y_train, sample_weight, validation, loss, self.max_epochs
        )

    def _backbone_part(self):
        return hub_backbone_of(self.model_)

    def _head_model(self):
        return pooled_features_model(self._model_parts(self.model_).body)[1]

    def _unfreeze_backbone(self, backbone):
        super()._unfreeze_backbone(backbone)
        freeze_pooler(backbone)

    def _head_data(self, inputs, y=None, weights=None):
        """The frozen encoder's pooled features and the n-gram path's logits of model inputs."""
        parts = self._model_parts(self.model_)
        features_model, head = pooled_features_model(parts.body)
        encoder_inputs = {name: inputs[name] for name in self.preprocessor_.encoder_inputs_}
        features = features_model.predict(encoder_inputs, batch_size=64, verbose=0)
        n_outputs = head.output.shape[-1]
        offset = np.zeros((len(features), n_outputs), np.float32)
        if self.ngrams:
            ids = inputs[NGRAM_INPUT]
            for start in range(0, len(ids), 1024):
                rows = slice(start, start + 1024)
                offset[rows] = keras.ops.convert_to_numpy(parts.linear_path(ids[rows]))
        return {"pooled_features": features, "linear_logits": offset}, y, weights

    def _has_linear_path(self):
        return bool(self.ngrams)

    def _linear_features(self, model, X):
        ids = X[NGRAM_INPUT] if isinstance(X, dict) else X
        return self._model_parts(model).linear_path.sparse_features(ids.astype(np.int64))

    def _set_linear_path(self, model, coef, intercept):
        parts = self._model_parts(model)
        ngram = parts.linear_path
        ngram.set_slot_weights(coef)
        deep_logits = parts.deep_logits
        kernel, _ = deep_logits.get_weights()
        deep_logits.set_weights([kernel, intercept.astype(np.float32)])
        ngram.trainable = False

    def _batch_size(self, n_rows):
        if self.batch_size != "auto":
            return int(self.batch_size)
        return 32 if n_rows < 2000 else 64 if n_rows < 20000 else 128

    # ---------------------------------------------------------- prediction
    def explain(self, X, target=None, level="word", steps=32):
        """Integrated gradients per token: what moved each text's score.

        The path runs from the texts with every token's embedding (and its
        n-gram weights) at zero to the texts as they are; a token's
        attribution is the integral's share of its embedding and n-gram
        gates, so the attributions of a text add up to its logit minus the
        all-blank text's logit.

        Args:
            X: texts.
            target: class explained (default: the predicted one). For binary
                tasks attributions are for the positive class' logit, negated
                when explaining the negative class.
            level: `"word"` sums subword pieces into words; `"subword"` keeps them.
            steps: integration intervals.

        Returns:
            A list, per text, of `(token, attribution)` pairs in text order
            ([CLS], [SEP] and padding left out).
        """
        if level not in ("word", "subword"):
            raise ValueError(f"`level` must be 'word' or 'subword'. Received: level={level!r}")
        ids = self._transform(X)
        targets = self._explained_targets(ids, target)
        if self._uses_preset():
            return self._preset_explanations(ids, targets, level, steps)
        attributions, _ = self._token_attributions(ids, targets, steps)
        return [
            self._tokens_with_scores(row, scores, level, self.tokenizer_)
            for row, scores in zip(ids.astype(np.int64), attributions, strict=True)
        ]

    def _preset_explanations(self, inputs, targets, level, steps):
        """Integrated gradients over a preset's token embeddings and the n-gram gates.

        Each word's embedding output is scaled from 0 to 1 (`scaled_output`),
        the preset's special tokens and padding kept as they are; the n-gram
        path's tokens are gated from 0 to 1 as for the built-in encoder. The
        preset's pieces are joined into words, and each n-gram path word is
        added onto the same word (its first piece at `level="subword"`;
        `align_words`); words only the n-gram path read come last.
        """
        outputs, signs = targets
        adapter = self.preprocessor_
        parts = self._model_parts(self.model_)
        embedding = hub_backbone_of(self.model_).token_embedding
        token_ids = inputs["token_ids"]
        moving = inputs["padding_mask"].astype(bool) & ~np.isin(
            token_ids, adapter.tokenizer.special_token_ids
        )
        moved = [np.ones((*token_ids.shape, 1), np.float32)]
        baseline = [np.where(moving, 0.0, 1.0)[..., None].astype(np.float32)]
        if self.ngrams:  # Its special tokens stay too, so the words' scores add up.
            ngram_ids = inputs[NGRAM_INPUT]
            moved.append((ngram_ids != 0).astype(np.float32))
            special = np.isin(ngram_ids, adapter.ngram_tokenizer.special_ids) & (ngram_ids != 0)
            baseline.append(special.astype(np.float32))

        def scores(path, fixed):
            with scaled_output(embedding, path[0]):
                logits = parts.body(
                    {name: fixed[name] for name in adapter.encoder_inputs_}, training=False
                )
            if self.ngrams:
                logits += parts.linear_path(fixed[NGRAM_INPUT], token_gates=path[1])
            return logits

        attributions = integrated_gradients(
            scores,
            moved,
            baseline,
            targets=outputs,
            steps=steps,
            batch_size=2 * (steps + 1),
            context=inputs,
        )
        explanations = []
        for i, sign in enumerate(signs):
            pieces = [
                (adapter.tokenizer.id_to_token(int(token)), float(score) * sign)
                for token, score, kept in zip(
                    token_ids[i], attributions[0][i, :, 0], moving[i], strict=True
                )
                if kept
            ]
            words, starts = group_pieces(pieces)
            shown = [list(pair) for pair in (pieces if level == "subword" else words)]
            if self.ngrams:  # The n-gram path's words onto the same words (first piece).
                ngram_words = self._tokens_with_scores(
                    inputs[NGRAM_INPUT][i].astype(np.int64),
                    attributions[1][i] * sign,
                    "word",
                    adapter.ngram_tokenizer,
                )
                for (word, score), match in zip(
                    ngram_words, align_words(words, ngram_words), strict=True
                ):
                    if match is None:  # Past the encoder's length, or cut otherwise.
                        shown.append([word, score])
                    else:
                        shown[starts[match] if level == "subword" else match][1] += score
            words = [(token, float(score)) for token, score in shown]
            explanations.append(words)
        return explanations

    def embed(self, X):
        """The encoder's pooled features of texts, for any scikit-learn model.

        The built-in encoder's attention-pooled states, or the mean of a
        preset's token states, before the deep path's dropout.

        Args:
            X: texts, as for `predict`.

        Returns:
            float32 array `(n_texts, n_features)`.
        """
        check_is_fitted(self)
        inputs = self._transform(X)
        parts = self._model_parts(self.model_)
        features, _ = pooled_features_model(parts.body)
        if self._uses_preset():
            encoder_inputs = {name: inputs[name] for name in self.preprocessor_.encoder_inputs_}
            return features.predict(encoder_inputs, batch_size=64, verbose=0)
        deep_ids = inputs[:, : self.encoder_config_["sequence_length"]]
        out = []
        for start in range(0, len(deep_ids), 256):
            ids = deep_ids[start : start + 256]
            embedded = parts.embedding(ids)
            mask = keras.ops.convert_to_tensor(ids != 0)
            out.append(keras.ops.convert_to_numpy(features([embedded, mask], training=False)))
        return np.concatenate(out).astype(np.float32)

    def _explained_targets(self, ids, target):
        logits = self._predict_raw(ids)
        ids = logits  # Rows of the model input, whatever its structure.
        if target is None:
            if self.target_type_ == "multiclass":
                return np.argmax(logits.mean(axis=1), axis=1), np.ones(len(ids))
            if self.target_type_ == "binary":
                predicted = (logits.mean(axis=1)[:, 0] > 0).astype(int)
                return np.zeros(len(ids), dtype=int), np.where(predicted == 1, 1.0, -1.0)
            return np.argmax(logits.mean(axis=1), axis=1), np.ones(len(ids))
        matches = np.flatnonzero(self.classes_ == target)
        if len(matches) == 0:
            raise ValueError(
                f"`target` must be one of {self.classes_.tolist()}. Received: target={target!r}"
            )
        if self.target_type_ == "binary":
            return np.zeros(len(ids), dtype=int), np.full(len(ids), 1.0 if matches[0] else -1.0)
        return np.full(len(ids), matches[0]), np.ones(len(ids))

    def _token_attributions(self, ids, targets, steps=32):
        """Attributions `(n, input_length)`, signed for the explained class, and the signs."""
        import tensorflow as tf

        outputs, signs = targets
        seq = self.encoder_config_["sequence_length"]
        parts = text_model_parts(self.model_)
        embedding, body = parts.embedding, parts.body
        ngram = parts.linear_path if self.ngrams else None
        deep_ids = ids[:, :seq]
        token_vectors = keras.ops.convert_to_numpy(
            embedding.token_embeddings(deep_ids.astype(np.int32))
        )
        positions = keras.ops.convert_to_numpy(embedding.position_embeddings)[None, :seq]
        real = (ids != 0).astype(np.float32)

        def text_scores(row):
            """Logits of one text along its integration path (every path point shares its mask)."""
            mask = tf.constant(deep_ids[row : row + 1] != 0)
            row_ids = tf.constant(ids[row : row + 1])

            def scores(inputs):
                vectors, gates = inputs
                n_points = tf.shape(vectors)[0]
                masks = tf.repeat(mask, n_points, axis=0)
                logits = body([vectors + positions, masks], training=False)
                if ngram is not None:
                    logits += ngram(tf.repeat(row_ids, n_points, axis=0), token_gates=gates)
                return logits

            return scores

        vector_attr = np.zeros_like(token_vectors)
        gate_attr = np.zeros_like(real)
        for i in range(len(ids)):
            rows = slice(i, i + 1)
            vector_attr[rows], gate_attr[rows] = integrated_gradients(
                text_scores(i),
                [token_vectors[rows], real[rows]],
                [np.zeros_like(token_vectors[rows]), np.zeros_like(real[rows])],
                targets=outputs[rows],
                steps=steps,
            )
        attributions = gate_attr.copy()
        attributions[:, :seq] += vector_attr.sum(axis=-1)
        return attributions * signs[:, None], signs

    @staticmethod
    def _tokens_with_scores(row, scores, level, tokenizer):
        pairs = []
        special = set(tokenizer.special_ids)
        for token_id, score in zip(row, scores, strict=True):
            if token_id == 0:
                break
            if token_id in special:
                continue
            token = tokenizer.id_to_token(int(token_id))
            if level == "word" and token.startswith("##") and pairs:
                word, total = pairs[-1]
                pairs[-1] = (word + token[2:], total + float(score))
            else:
                pairs.append((token, float(score)))
        return pairs

    def report(self, X, y, threshold=0.5):
        """Accuracy, balanced accuracy, macro F1 and (binary) ROC AUC on labelled texts.

        Args:
            X: texts.
            y: true labels.
            threshold: decision threshold on the positive class (binary only).

        Returns:
            dict of metrics, with `n`.
        """
        from sklearn.metrics import (
            accuracy_score,
            balanced_accuracy_score,
            f1_score,
            roc_auc_score,
        )

        proba = self.predict_proba(X)
        y = np.asarray(y)
        if self.target_type_ == "multilabel-indicator":
            predicted = (proba >= threshold).astype(int)
            metrics = {
                "n": len(y),
                "subset_accuracy": float(accuracy_score(y, predicted)),
                "macro_f1": float(f1_score(y, predicted, average="macro", zero_division=0)),
            }
            return self._with_calibration(metrics, X, y)
        if self.target_type_ == "binary":
            predicted = self.classes_[(proba[:, 1] >= threshold).astype(int)]
        else:
            predicted = self.classes_[np.argmax(proba, axis=1)]
        metrics = {
            "n": len(y),
            "accuracy": float(accuracy_score(y, predicted)),
            "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
            "macro_f1": float(f1_score(y, predicted, average="macro")),
        }
        if self.target_type_ == "binary" and len(np.unique(y)) == 2:
            metrics["roc_auc"] = float(roc_auc_score(y == self.classes_[1], proba[:, 1]))
        return self._with_calibration(metrics, X, y)

    # --------------------------------------------------------------- state
    def _get_fitted_state(self):
        return {
            **super()._get_fitted_state(),
            "encoder_config": jsonable(self.encoder_config_),
        }

    def _set_fitted_state(self, state):
        if "preprocessor" not in state:  # Saved before the adapter held the text input's state.
            state = {**state, "preprocessor": _legacy_adapter_state(state, self.ngrams)}
        super()._set_fitted_state(state)
        self.encoder_config_ = state["encoder_config"]

    # ---------------------------------------------------------------- demo
    @classmethod
    def demo(cls, sample_data, out_dir):
        """Pretrains on the sample corpus, fine-tunes on the labelled reviews.

        Returns:
            dict: a row of the demo's summary table.
        """
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split

        folder = os.path.join(sample_data, "nlp")
        reviews = pd.read_csv(os.path.join(folder, "reviews.csv"), keep_default_na=False)
        with open(os.path.join(folder, "corpus.txt"), encoding="utf-8") as f:
            corpus = [line.rstrip("\n") for line in f if line.strip()]
        train, test = train_test_split(
            reviews, test_size=0.25, stratify=reviews["sentiment"], random_state=0
        )
        # A quarter of the corpus and one masked-LM epoch keep the demo short; examples/ and
        # benchmarks/ pretrain on all of it, longer.
        model = cls(random_state=0).pretrain(
            corpus[:2000] + train["text"].tolist(),
            os.path.join(out_dir, "text_encoder.kdm"),
            epochs=1,
        )
        model.fit(train["text"], train["sentiment"])
        model.save(os.path.join(out_dir, "text_classifier.kdm"))
        accuracy = model.score(test["text"], test["sentiment"])
        tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        baseline = LogisticRegression(C=4.0, max_iter=2000).fit(
            tfidf.fit_transform(train["text"]), train["sentiment"]
        )
        baseline_accuracy = baseline.score(tfidf.transform(test["text"]), test["sentiment"])
        return {
            "data": "nlp/reviews.csv (sentiment)",
            "train_rows": len(train),
            "test_rows": len(test),
            "metric": "accuracy",
            "value": accuracy,
            "baseline": f"tfidf+LR {baseline_accuracy:.3f}",
        }


def _legacy_adapter_state(state, ngrams):
    return {
        "tokenizer": state["tokenizer"],
        "max_length": state["encoder_config"]["sequence_length"],
        "ngrams": ngrams,
        "text_column": state["text_column"],
        "sequence_length": state["encoder_config"]["sequence_length"],
        "input_length": state["input_length"],
    }
