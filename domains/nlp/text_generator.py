"""A small GPT-style language model trained on the user's own corpus."""

import os

import keras
import numpy as np
from sklearn.utils.validation import check_is_fitted

from core.backbones.causal_lm_model import (
    FINAL_NORM,
    CachedDecoding,
    FullDecoding,
    build_causal_lm_model,
)
from core.backbones.hub_preset import (
    HubPreset,
    enable_lora,
    is_preset,
    require_keras_hub,
)
from core.estimators import KerasEstimator
from core.estimators.parameter import Parameter
from core.generation import check_sampling_args, next_token
from core.generation.hub_causal_lm import HubCausalLM, hub_causal_lm_of
from core.generation.hub_decoding import HubCachedDecoding, HubFullDecoding
from core.generation.kneser_ney_model import KneserNeyModel
from core.preprocessing import WordPieceTokenizer
from core.preprocessing.corpus_adapter import CorpusAdapter, token_blocks
from core.preprocessing.hub_corpus_adapter import HubCorpusAdapter
from core.preprocessing.text_input import as_text_list
from core.registry import register_task

#: The built-in backbone: a decoder-only transformer trained from scratch.
BUILT_IN_BACKBONES = ("transformer",)


@register_task("nlp.generation")
class TextGenerator(KerasEstimator):
    """Generates text with a decoder-only transformer trained by next-token prediction.

    Each text becomes `[CLS] tokens [SEP]` ([CLS] starts a text, [SEP] ends
    it); the texts are concatenated and cut into blocks of `max_length + 1`
    tokens, and the model learns to predict each token from the ones before
    it (causal attention). `generate` decodes with a key/value cache, so
    each new token costs one position, not the whole prefix.

    Beside the network, an interpolated Kneser-Ney n-gram model is counted on
    the training blocks and mixed into the next-token distribution, `(1 - w)
    p_network + w p_ngram`, with the share `w` that gives the validation
    blocks the lowest loss (0 keeps the network alone). On a small corpus
    the counts know its repeated phrasing better than a network trained
    from scratch, and the network knows what counts cannot see; the mixture
    is the language model's wide-and-deep. `generate`, `perplexity` and
    `score` use the mixture; the exported graph gives the network's logits.

    With a keras-hub preset as `backbone` (`"gpt2_base_en"`, a `kaggle://` or
    `hf://` handle, or a preset folder), the pretrained causal LM is
    fine-tuned on the corpus instead: texts are read with the preset's own
    tokenizer (`begin tokens end`, as its preprocessor packs them), every
    weight trains (`fine_tune="full"`) or only low-rank adapters do
    (`lora_rank`), and the saved file holds the tuned weights and the
    tokenizer, so it loads offline. The n-gram mixture stays, counted on the
    preset's token ids, with its share chosen on the validation blocks as
    above (a pretrained network that needs no counts gets a share near 0).
    The parameters of the built-in network (`vocabulary_size`, `lowercase`,
    `strip_accents`, `embedding_dim`, `num_layers`, `num_heads`,
    `intermediate_dim`, `dropout`) are then not used.

    Args:
        backbone: `"transformer"` (the built-in network, trained from
            scratch) or a keras-hub causal LM preset (GPT-2, Gemma, Llama,
            ...): a name, a `kaggle://` or `hf://` handle, or a local folder.
        fine_tune: `"full"`: every weight of the preset trains, at
            `learning_rate` (about 5e-5 suits a full GPT-2; the default 1e-3
            is the built-in network's). `"frozen"` is refused: a causal LM's
            head is its tied token embedding, so a frozen backbone leaves
            nothing to train; `lora_rank` is the light way to tune a preset.
        lora_rank: None, or the rank of low-rank adapters (LoRA) on the
            preset's attention query and value projections: only they train
            (1e-3 suits them). Not for the built-in backbone.
        vocabulary_size: subword vocabulary trained on the corpus.
        max_length: context length in tokens. With a preset too (it must
            not exceed the preset's position limit, 1024 for GPT-2): the
            preset's own packing length (1024 for GPT-2) would make every
            training step several times slower on a CPU, and texts longer
            than the context are cut into blocks anyway.
        lowercase: lowercase texts before tokenizing (off: the model keeps case).
        strip_accents: remove accents before tokenizing.
        embedding_dim: model width.
        num_layers: decoder blocks.
        num_heads: attention heads.
        intermediate_dim: feed-forward width.
        ngram_order: order of the n-gram model mixed in (3: a token given the
            two before it); 0 for the network alone.
        dropout: dropout rate.
        learning_rate: AdamW learning rate (the peak of the schedule).
        learning_rate_schedule: `"constant"`, or `"cosine"` (one warm-up
            epoch, then a cosine decay to zero at `max_epochs`, or at the last
            epoch `max_time` leaves room for). Constant is the default: on the
            docstring corpus of `benchmarks.language_model`, cosine at a peak
            of 2e-3 ended at held-out perplexity 88.3 against 84.1 for a
            constant 1e-3, both at 20 epochs.
        weight_decay: AdamW weight decay.
        batch_size: blocks per step, or "auto" (32).
        max_epochs: upper bound on epochs.
        patience: epochs without a better validation loss before stopping.
        max_time: seconds the fit may train (None: no limit); when they are spent,
            training stops and the best epoch so far is kept (`stopped_by_time_`).
        validation_fraction: share of blocks held out for early stopping.
        precision, jit_compile, distribution, privacy: training options shared
            by every task (mixed precision, XLA, tf.distribute, DP-SGD); see
            `KerasEstimator`.
        random_state: integer seed.
        verbose: 1 shows a progress bar.

    Attributes:
        tokenizer_: the fitted `WordPieceTokenizer`, or the preset's keras-hub tokenizer.
        token_counts_: training-token counts, the unigram reference of
            `unigram_perplexity`.
        ngram_model_: the fitted `KneserNeyModel` (None with `ngram_order=0`).
        ngram_weight_: its share `w` of the next-token distribution, chosen on
            the validation blocks (0 without them).
    """

    input_kind = "generation"
    adapter_class = CorpusAdapter
    parameter_checks = {
        "backbone": Parameter.choice(BUILT_IN_BACKBONES).or_preset(),
        "lora_rank": Parameter.integer(minimum=1).or_value(None),
        "max_length": Parameter.integer(minimum=8),
        "ngram_order": Parameter.integer(minimum=0),
        "lowercase": Parameter.boolean(),
        "strip_accents": Parameter.boolean(),
    }

    def __init__(
        self,
        backbone="transformer",
        fine_tune="full",
        lora_rank=None,
        vocabulary_size=8000,
        max_length=128,
        lowercase=False,
        strip_accents=False,
        embedding_dim=128,
        num_layers=4,
        num_heads=4,
        intermediate_dim=512,
        ngram_order=3,
        dropout=0.1,
        learning_rate=1e-3,
        learning_rate_schedule="constant",
        weight_decay=0.01,
        batch_size="auto",
        max_epochs=20,
        patience=3,
        max_time=None,
        validation_fraction=0.1,
        precision="float32",
        jit_compile=False,
        distribution=None,
        privacy=None,
        random_state=None,
        verbose=0,
    ):
        self._store_parameters(locals())

    # ----------------------------------------------------------------- fit
    # `fit(X, y=None, checkpoint_dir=None)` is the template's: X is a corpus of texts
    # (list, Series, array, or a one-column DataFrame); y is ignored.
    def _training_rows(self, X, y, sample_weight):
        if self._uses_preset():
            preset = HubPreset(self.backbone, "causal_lm", built_in=BUILT_IN_BACKBONES)
            preprocessor = preset.preprocessor()
            self.preprocessor_ = HubCorpusAdapter(preprocessor, self.max_length)
            texts = self.preprocessor_.validate(X, reset=True)
            return texts, len(texts), None, sample_weight
        tokenizer = WordPieceTokenizer(
            vocabulary_size=self.vocabulary_size,
            max_length=self.max_length,
            lowercase=self.lowercase,
            strip_accents=self.strip_accents,
        )
        self.preprocessor_ = CorpusAdapter(tokenizer, self.max_length)
        texts = self.preprocessor_.validate(X, reset=True)
        return texts, len(texts), None, sample_weight

    def _fit_inputs(self, texts, rng):
        """Trains the tokenizer; returns the corpus cut into blocks of `max_length + 1` ids."""
        return self.preprocessor_.fit(texts).blocks(texts), None

    def _uses_preset(self):
        return is_preset(self.backbone, BUILT_IN_BACKBONES)

    def _adapter_class(self):
        return HubCorpusAdapter if self._uses_preset() else CorpusAdapter

    def _check_params(self):
        if self.fine_tune == "frozen":
            raise ValueError(
                "`fine_tune='frozen'` would leave a TextGenerator nothing to train: a causal "
                "LM's output layer is its tied token embedding, part of the backbone. Use "
                "fine_tune='full', or lora_rank=r to train only low-rank adapters."
            )
        if self.fine_tune != "full":
            raise ValueError(f"`fine_tune` must be 'full'. Received: fine_tune={self.fine_tune!r}")
        if self.lora_rank is not None and not self._uses_preset():
            raise ValueError(
                "`lora_rank` adapts a pretrained keras-hub backbone; the built-in backbone "
                f"trains every weight from scratch. Received: lora_rank={self.lora_rank!r} with "
                f"backbone={self.backbone!r}"
            )

    def _train(self, blocks, targets, stratify, weights, rng, rows=None, start=None):
        """Next-token training on blocks, a random `validation_fraction` of them held out."""
        order = rng.permutation(len(blocks))
        n_val = round(self.validation_fraction * len(blocks))
        validation = None
        if self.validation_fraction and n_val >= 1 and len(blocks) - n_val >= 1:
            val = blocks[order[:n_val]]
            validation = (val[:, :-1], val[:, 1:], (val[:, 1:] != 0).astype(np.float32))
            blocks = blocks[order[n_val:]]
        if self._uses_preset():  # Row ids -> the keras-hub model's ids and padding mask.
            adapter = self.preprocessor_
            if validation is not None:
                validation = (adapter.model_inputs(val[:, :-1]), adapter.model_ids(val[:, 1:]))
                validation += ((val[:, 1:] != 0).astype(np.float32),)
            self._fit_model(
                adapter.model_inputs(blocks[:, :-1]),
                adapter.model_ids(blocks[:, 1:]),
                (blocks[:, 1:] != 0).astype(np.float32),
                validation,
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
        else:
            self._fit_model(
                blocks[:, :-1],
                blocks[:, 1:],
                (blocks[:, 1:] != 0).astype(np.float32),
                validation,
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
        self._fit_ngram_mix(blocks, None if validation is None else val)

    def _fit_ngram_mix(self, blocks, validation_blocks):
        """Counts the n-gram model on the training blocks; picks its share on the validation."""
        self.ngram_model_, self.ngram_weight_ = None, 0.0
        if not self.ngram_order:
            return
        self.ngram_model_ = KneserNeyModel(self.ngram_order, self._id_count()).fit(blocks)
        if validation_blocks is None:
            return
        network = np.exp(
            self._log_likelihood_function()(validation_blocks[:, :-1], validation_blocks[:, 1:])
        )
        counted = self._ngram_probabilities(validation_blocks)
        real = validation_blocks[:, 1:] != 0
        network, counted = network[real], counted[real]
        shares = np.linspace(0.0, 1.0, 21)
        losses = [-np.log((1 - w) * network + w * counted).mean() for w in shares]
        self.ngram_weight_ = float(shares[int(np.argmin(losses))])
        # Counts are cheap and lose nothing to early stopping: once the share is set,
        # they are taken on every block.
        every_block = np.concatenate([blocks, validation_blocks])
        self.ngram_model_ = KneserNeyModel(self.ngram_order, self._id_count()).fit(every_block)

    def _ngram_probabilities(self, rows):
        """P_ngram of each row's ids after the first, context from the row: `(n, length - 1)`."""
        return np.stack(
            [
                self.ngram_model_.sequence_probabilities(self._ngram_context(row))[-len(row) + 1 :]
                for row in rows
            ]
        )

    def _ngram_context(self, ids):
        """ids, with the [SEP] that precedes a text's [CLS] in the training stream.

        The counts saw every text start after the previous text's end, so the
        first words of a text are predicted from `[SEP] [CLS]` as in training.
        """
        if self._uses_preset():
            return self.preprocessor_.stream_context(ids)
        tok = self.tokenizer_
        return [tok.sep_id, *ids] if len(ids) and ids[0] == tok.cls_id else list(ids)

    def _mixed_log_probs(self, log_probs, rows):
        """The network's log-probabilities of rows' targets with the n-gram model mixed in."""
        w = self.ngram_weight_
        if not w:
            return log_probs
        return np.log((1 - w) * np.exp(log_probs) + w * self._ngram_probabilities(rows))

    @property
    def tokenizer_(self):
        """The fitted `WordPieceTokenizer`, or the preset's tokenizer (the input adapter's)."""
        return self.preprocessor_.tokenizer

    def _id_count(self):
        """Number of token ids the model and the n-gram counts know (0, padding, included)."""
        if self._uses_preset():
            return self.preprocessor_.id_count
        return len(self.tokenizer_)

    @property
    def token_counts_(self):
        """Training count of each token id (the unigram reference)."""
        return self.preprocessor_.token_counts_

    def _text_ids(self, text):
        return self.preprocessor_.text_ids(text)

    def _build_model(self, start=None):
        if self._uses_preset():
            return self._build_hub_model()
        return build_causal_lm_model(
            len(self.tokenizer_),
            self.max_length,
            embedding_dim=self.embedding_dim,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            dropout=self.dropout,
        )

    def _build_hub_model(self):
        """The preset's keras-hub CausalLM (backbone + tied LM head), LoRA enabled if asked.

        A `HubCausalLM` layer in a plain functional model from
        `{"token_ids", "padding_mask"}` to float32 logits: Keras' own `fit`
        trains it (a keras-hub task's `fit` would rebuild the arrays into a
        dataset), and the file holds no compiled state of the task's.
        """
        preset = HubPreset(self.backbone, "causal_lm", built_in=BUILT_IN_BACKBONES)
        backbone = preset.backbone()
        limit = getattr(backbone, "max_sequence_length", None)
        if limit is not None and self.max_length > limit:
            raise ValueError(
                f"`max_length`={self.max_length} is longer than the preset's context: "
                f"{type(backbone).__name__} has positions for {limit} tokens."
            )
        self.preprocessor_.keep_backbone_config(backbone)
        language_model = HubCausalLM(backbone, name="hub_causal_lm")
        if self.lora_rank is not None:
            enable_lora(language_model.task, self.lora_rank)
        inputs = {
            "token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
            "padding_mask": keras.Input((None,), dtype="int32", name="padding_mask"),
        }
        logits = keras.layers.Activation("linear", dtype="float32", name="float32_logits")(
            language_model(inputs)
        )
        return keras.Model(inputs, logits, name="causal_lm")

    def _batch_size(self, n_rows):
        return 32 if self.batch_size == "auto" else int(self.batch_size)

    # ------------------------------------------------------------ generate
    def generate(
        self,
        prompt,
        max_new_tokens=50,
        *,
        min_new_tokens=0,
        greedy=False,
        temperature=1.0,
        top_k=None,
        top_p=1.0,
        repetition_penalty=1.0,
        stop=None,
        seed=None,
        use_cache=True,
    ):
        """Continues a prompt.

        Args:
            prompt: the text to continue (may be empty), or a list of prompts.
            max_new_tokens: most tokens to add; generation also ends at the
                end-of-text token.
            min_new_tokens: the end-of-text token is not chosen before this
                many tokens.
            greedy: always take the most likely token (then temperature,
                top_k and top_p are not used).
            temperature: > 0; lower is more conservative.
            top_k: sample only from the k most likely tokens.
            top_p: sample only from the most likely tokens whose total
                probability reaches top_p (nucleus sampling), in (0, 1].
            repetition_penalty: >= 1; discourages tokens already in the text.
            stop: a string or list of strings; the text is cut before the
                first one generated and generation ends.
            seed: integer seed of the sampling (None: not reproducible).
            use_cache: decode with the key/value cache (False recomputes the
                whole prefix at each step: same result, slower).

        Returns:
            The prompt followed by the generated text (a list for a list of prompts).
        """
        check_is_fitted(self)
        if isinstance(prompt, list | tuple):
            return [
                self.generate(
                    p,
                    max_new_tokens,
                    min_new_tokens=min_new_tokens,
                    greedy=greedy,
                    temperature=temperature,
                    top_k=top_k,
                    top_p=top_p,
                    repetition_penalty=repetition_penalty,
                    stop=stop,
                    seed=seed,
                    use_cache=use_cache,
                )
                for p in as_text_list(prompt, "prompt")
            ]
        if not isinstance(prompt, str):
            raise TypeError(
                f"`prompt` must be a string. Received: {prompt!r} ({type(prompt).__name__})"
            )
        check_sampling_args(temperature, top_k, top_p, repetition_penalty)
        if (
            isinstance(max_new_tokens, bool)
            or not isinstance(max_new_tokens, int)
            or (max_new_tokens < 0)
        ):
            raise ValueError(
                "`max_new_tokens` must be a non-negative integer. "
                f"Received: max_new_tokens={max_new_tokens!r}"
            )
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        # The tokenizer's view the loop needs; a preset's adapter gives the same, on row ids.
        tok = self.preprocessor_ if self._uses_preset() else self.tokenizer_
        begin_id, end_id, banned = self._generation_ids()
        rng = np.random.default_rng(seed)
        prompt_ids = [begin_id, *tok.encode_ids(prompt)]
        decoding = self._decoding(use_cache)
        logits = decoding.start(prompt_ids)
        new_ids = []
        for _ in range(max_new_tokens):
            token = next_token(
                self._mixed_next_logits(logits, prompt_ids + new_ids),
                rng,
                greedy=greedy,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                repetition_penalty=repetition_penalty,
                previous=prompt_ids[1:] + new_ids,
                banned=banned if len(new_ids) >= min_new_tokens else [*banned, end_id],
            )
            if token == end_id:
                break
            new_ids.append(token)
            if stops and any(s in tok.decode(new_ids) for s in stops):
                break
            logits = decoding.advance(token)
        text = tok.decode(prompt_ids + new_ids)
        if stops:
            prefix = tok.decode(prompt_ids)
            continuation = text[len(prefix) :] if text.startswith(prefix) else text
            cut = min((continuation.find(s) for s in stops if s in continuation), default=-1)
            if cut >= 0:
                text = text[: len(text) - len(continuation) + cut]
        return text

    def _generation_ids(self):
        """`(begin id, end id, ids never generated)` of the tokenizer."""
        if self._uses_preset():
            adapter = self.preprocessor_
            return adapter.begin_id, adapter.end_id, adapter.banned_ids()
        tok = self.tokenizer_
        return tok.cls_id, tok.sep_id, [tok.pad_id, tok.cls_id, tok.mask_id]

    def _mixed_next_logits(self, logits, ids):
        """Next-token log-probabilities of the mixture (the network's logits when w is 0)."""
        w = self.ngram_weight_
        if not w:
            return logits
        logits = np.asarray(logits, dtype=np.float64)
        network = np.exp(logits - logits.max())
        network /= network.sum()
        context = (
            self._ngram_context(ids)[-(self.ngram_order - 1) :] if self.ngram_order > 1 else []
        )
        return np.log((1 - w) * network + w * self.ngram_model_.probabilities(context))

    def _decoding(self, use_cache):
        cache_key = "_cached_decoding" if use_cache else "_full_decoding"
        decoding = self.__dict__.get(cache_key)
        if decoding is None or decoding.model is not self.model_:
            if self._uses_preset():
                decoding = (HubCachedDecoding if use_cache else HubFullDecoding)(
                    self.model_, self.preprocessor_.max_length
                )
            else:
                decoding = (CachedDecoding if use_cache else FullDecoding)(self.model_)
            setattr(self, cache_key, decoding)
        return decoding

    # --------------------------------------------------------- perplexity
    def _nll(self, texts):
        """Summed negative log-likelihood and predicted-token count of texts."""
        check_is_fitted(self)
        texts = as_text_list(texts, "texts")
        windows = np.concatenate(
            [
                token_blocks(self._text_ids(t), self.max_length + 1, stride=self.max_length)
                for t in texts
            ]
        )
        total, count = 0.0, 0
        function = self._log_likelihood_function()
        for start in range(0, len(windows), 256):
            chunk = windows[start : start + 256]
            log_probs = self._mixed_log_probs(function(chunk[:, :-1], chunk[:, 1:]), chunk)
            # Padding targets (id 0) are not text: they are left out of the average.
            real = chunk[:, 1:] != 0
            total -= float(log_probs[real].sum())
            count += int(real.sum())
        return total, count

    def _log_likelihood_function(self):
        model = self.model_
        hub = self.preprocessor_ if self._uses_preset() else None

        def log_likelihood(inputs, targets):
            if hub is not None:  # Row ids -> the preset's ids; padding targets are left out.
                inputs, targets = hub.model_inputs(inputs), hub.model_ids(targets)
            logits = model(inputs, training=False)
            log_probs = keras.ops.log_softmax(keras.ops.cast(logits, "float32"), axis=-1)
            chosen = keras.ops.take_along_axis(log_probs, targets[:, :, None], axis=-1)
            return keras.ops.convert_to_numpy(chosen[:, :, 0])

        return log_likelihood

    def perplexity(self, texts):
        """Perplexity of texts: exp of the mean negative log-likelihood per token.

        Every token after [CLS] is predicted, [SEP] included; padding is not
        counted. Texts longer than the context are read in windows.

        Args:
            texts: held-out texts.

        Returns:
            float perplexity (lower is better; the vocabulary size is a
            uniform guess's).
        """
        total, count = self._nll(texts)
        return float(np.exp(total / max(count, 1)))

    def unigram_perplexity(self, texts):
        """Perplexity of a unigram model on the same tokens: the reference to beat.

        The unigram model predicts every token with its training frequency
        (add-one smoothed), ignoring context.

        Args:
            texts: held-out texts.

        Returns:
            float perplexity.
        """
        check_is_fitted(self)
        texts = as_text_list(texts, "texts")
        counts = self.token_counts_.astype(np.float64) + 1.0
        if self._uses_preset():
            counts[self.preprocessor_.unpredicted_ids()] = 0.0
        else:
            counts[[self.tokenizer_.pad_id, self.tokenizer_.cls_id]] = 0.0
        log_probs = np.log(np.maximum(counts, 1e-300) / counts.sum())
        ids = np.concatenate([self._text_ids(t)[1:] for t in texts])
        return float(np.exp(-log_probs[ids].mean()))

    def score(self, X, y=None):
        """Mean log-likelihood per token of `X` (higher is better), for model selection."""
        total, count = self._nll(X)
        return -total / max(count, 1)

    # -------------------------------------------------------------- embed
    def embed(self, texts, batch_size=32):
        """Text features for any scikit-learn model: the network's last hidden states, averaged.

        Each text is read as the model reads a prompt (`[CLS]` or the
        preset's begin token, then its tokens, cut to the context); the
        final hidden states of its tokens are averaged, padding left out.

        Args:
            texts: a list, array, Series or one-column DataFrame of texts.
            batch_size: texts per model call.

        Returns:
            float32 array `(n_texts, hidden size)`.
        """
        check_is_fitted(self)
        texts = as_text_list(texts, "texts")
        out = []
        for start in range(0, len(texts), batch_size):
            rows = [
                self._text_ids(t)[:-1][: self.preprocessor_.max_length]
                for t in texts[start : start + batch_size]
            ]
            ids = np.zeros((len(rows), max(len(r) for r in rows)), dtype=np.int32)
            for i, row in enumerate(rows):
                ids[i, : len(row)] = row
            real = (ids != 0).astype(np.float32)[..., None]
            states = self._hidden_states(ids)
            out.append((states * real).sum(1) / real.sum(1))
        return np.concatenate(out).astype(np.float32)

    def _hidden_states(self, ids):
        """float32 final hidden states `(n, length, width)` of row ids (0 is padding)."""
        if self._uses_preset():
            backbone = hub_causal_lm_of(self.model_).backbone
            states = backbone(self.preprocessor_.model_inputs(ids), training=False)
        else:
            hidden = keras.Model(self.model_.inputs, self.model_.get_layer(FINAL_NORM).output)
            states = hidden(ids, training=False)
        return keras.ops.convert_to_numpy(keras.ops.cast(states, "float32"))

    # --------------------------------------------------------------- state
    def _get_fitted_state(self):
        return {
            **super()._get_fitted_state(),
            "ngram_model": None if self.ngram_model_ is None else self.ngram_model_.get_state(),
            "ngram_weight": self.ngram_weight_,
        }

    def _set_fitted_state(self, state):
        if self._uses_preset():  # keras-hub registers the preset's layers for safe loading.
            require_keras_hub()
        if "preprocessor" not in state:  # Saved before the adapter held the corpus' state.
            state = {
                **state,
                "preprocessor": {
                    "tokenizer": state["tokenizer"],
                    "max_length": self.max_length,
                    "token_counts": state["token_counts"],
                },
            }
        super()._set_fitted_state(state)
        ngram = state.get("ngram_model")  # Absent in files saved before the mixture.
        self.ngram_model_ = None if ngram is None else KneserNeyModel.from_state(ngram)
        self.ngram_weight_ = float(state.get("ngram_weight", 0.0))

    def _export_head(self, logits):
        import tensorflow as tf

        return {"logits": tf.cast(logits, tf.float32)}

    def _export_description(self):
        return {
            **super()._export_description(),
            "outputs": {
                "logits": "float32 (n, length, vocabulary): the network's next-token logits at "
                "each position; padding (id 0) after a text's last token does not change them. "
                "generate() and perplexity() mix them with the n-gram model (ngram_weight)"
            },
            "ngram_weight": self.ngram_weight_,
        }

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_cached_decoding", None)
        state.pop("_full_decoding", None)
        return state

    # ---------------------------------------------------------------- demo
    @classmethod
    def demo(cls, sample_data, out_dir):
        """Trains a small generator on the sample corpus and reports perplexity.

        Returns:
            dict: a row of the demo's summary table.
        """
        with open(os.path.join(sample_data, "nlp", "corpus.txt"), encoding="utf-8") as f:
            corpus = [line.rstrip("\n") for line in f if line.strip()]
        held_out, train = corpus[:500], corpus[500:4500]  # 4,000 lines keep the demo short.
        model = cls(
            embedding_dim=64,
            num_layers=2,
            intermediate_dim=256,
            max_length=64,
            max_epochs=3,
            random_state=0,
        ).fit(train)
        model.save(os.path.join(out_dir, "text_generator.kdm"))
        sample = model.generate("The battery", max_new_tokens=20, top_k=40, seed=0)
        print(f"[demo] nlp.generation sample: {sample}", flush=True)
        return {
            "data": "nlp/corpus.txt",
            "train_rows": len(train),
            "test_rows": len(held_out),
            "metric": "perplexity",
            "value": model.perplexity(held_out),
            "baseline": f"unigram {model.unigram_perplexity(held_out):.1f}",
        }
