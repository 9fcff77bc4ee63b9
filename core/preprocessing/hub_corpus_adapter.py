"""A corpus read with a keras-hub preset's own tokenizer: the input adapter of a pretrained LM."""

import numpy as np

from core.backbones.hub_preset import preprocessor_from_state, preprocessor_state
from core.preprocessing.corpus_adapter import token_blocks
from core.preprocessing.input_adapter import InputAdapter
from core.preprocessing.text_input import as_text_list

# Texts tokenized per call of the keras-hub tokenizer.
_TOKENIZE_CHUNK = 1024


class HubCorpusAdapter(InputAdapter):
    """Turns texts into token streams of a keras-hub causal LM preset, for fine-tuning it.

    Each text becomes `begin tokens end`, as the preset's preprocessor packs
    it: `begin` is the preset's start token (its end token when it adds
    none), `end` its end token. Texts are joined into one stream (where
    begin and end are the same token, as GPT-2's `<|endoftext|>`, one copy
    separates two texts, as in GPT-2's pretraining) and cut into blocks of
    `max_length + 1` ids.

    The ids this adapter gives are the preset's ids plus one (its "row
    ids"), so that 0 is padding, as for every language model of the
    project (GPT-2's id 0 is the real token "!"); `model_inputs` and
    `model_ids` turn them back into the preset's ids and padding mask.

    Args:
        preprocessor: the preset's `keras_hub.models.CausalLMPreprocessor`.
        max_length: the model's context in tokens.
        files: `preprocessor_state` of the preprocessor (set by
            `keep_backbone_config` when the backbone is loaded), or None.

    Attributes:
        token_counts_: int64 count of each row id in the training corpus
            (padding and a begin token that is never predicted count 0).
    """

    input_kind = "generation"

    def __init__(self, preprocessor, max_length, files=None):
        self.preprocessor = preprocessor
        self.max_length = int(max_length)
        self.files = files

    # ------------------------------------------------------------ tokens
    @property
    def tokenizer(self):
        """The preset's keras-hub tokenizer."""
        return self.preprocessor.tokenizer

    @property
    def id_count(self):
        """Number of row ids: the preset's vocabulary plus padding (0)."""
        return int(self.tokenizer.vocabulary_size()) + 1

    @property
    def end_id(self):
        """Row id of the preset's end token (it ends every text)."""
        end = self.tokenizer.end_token_id
        if end is None:
            raise ValueError(
                f"The preset's tokenizer ({type(self.tokenizer).__name__}) has no end token; a "
                "causal LM needs one to end its texts."
            )
        return int(end) + 1

    @property
    def begin_id(self):
        """Row id of the token each text starts with (given, never predicted)."""
        start = getattr(self.tokenizer, "start_token_id", None)
        if start is None or not getattr(self.preprocessor, "add_start_token", True):
            return self.end_id
        return int(start) + 1

    def banned_ids(self):
        """Row ids a generated text never holds: padding, and a begin or pad token of its own."""
        banned = {0}
        if self.begin_id != self.end_id:
            banned.add(self.begin_id)
        pad = getattr(self.tokenizer, "pad_token_id", None)
        if pad is not None and int(pad) + 1 != self.end_id:
            banned.add(int(pad) + 1)
        return sorted(banned)

    def unpredicted_ids(self):
        """Row ids never predicted in the stream: padding, and a begin token unlike the end."""
        return [0] if self.begin_id == self.end_id else [0, self.begin_id]

    def encode_ids(self, text):
        """int32 row ids of one text's tokens (no begin or end)."""
        return self._encode([text])[0]

    def _encode(self, texts):
        rows = []
        for start in range(0, len(texts), _TOKENIZE_CHUNK):
            ids = self.tokenizer(list(texts[start : start + _TOKENIZE_CHUNK]))
            if hasattr(ids, "to_list"):  # A tf.RaggedTensor.
                ids = ids.to_list()
            rows += [np.asarray(row, dtype=np.int32).reshape(-1) + 1 for row in ids]
        return rows

    def decode(self, ids):
        """The text of row ids, without padding, begin and end tokens."""
        special = {0, self.begin_id, self.end_id}
        kept = [int(i) - 1 for i in ids if int(i) not in special]
        if not kept:
            return ""
        text = self.tokenizer.detokenize(kept)
        if hasattr(text, "numpy"):
            text = text.numpy()
        return text.decode("utf-8", errors="replace") if isinstance(text, bytes) else str(text)

    def text_ids(self, text):
        """int32 row ids `begin tokens end` of one text."""
        return np.asarray([self.begin_id, *self.encode_ids(text), self.end_id], dtype=np.int32)

    def stream(self, texts):
        """The row ids of texts, one after the other (one separator where begin is end)."""
        pieces = []
        for ids in self._encode(texts):
            if not pieces or self.begin_id != self.end_id:
                pieces.append([self.begin_id])
            pieces += [ids, [self.end_id]]
        return np.concatenate(pieces).astype(np.int32)

    def stream_context(self, ids):
        """ids, with what precedes a text's begin token in the training stream (its end token)."""
        ids = list(ids)
        if self.begin_id != self.end_id and ids and ids[0] == self.begin_id:
            return [self.end_id, *ids]
        return ids

    def blocks(self, texts):
        """Training rows: the stream cut into `max_length + 1` row ids (see `token_blocks`)."""
        return token_blocks(self.stream(texts), self.max_length + 1)

    @staticmethod
    def model_ids(rows):
        """The preset's ids of row ids (padding becomes id 0, masked by `padding_mask`)."""
        return np.maximum(np.asarray(rows, dtype=np.int32) - 1, 0)

    def model_inputs(self, rows):
        """The keras-hub model's input for row ids: `{"token_ids", "padding_mask"}`."""
        rows = np.asarray(rows, dtype=np.int32)
        return {"token_ids": self.model_ids(rows), "padding_mask": (rows != 0).astype(np.int32)}

    # ---------------------------------------------------------- contract
    def validate(self, X, reset=False):
        """The texts of X (a list, array, Series or one-column DataFrame) as a list of str."""
        return as_text_list(X, "X")

    def fit(self, texts):
        """Counts the training tokens (the unigram reference); returns self."""
        counts = np.bincount(self.stream(texts), minlength=self.id_count)
        counts[self.unpredicted_ids()] = 0
        self.token_counts_ = counts.astype(np.int64)
        return self

    def transform(self, texts):
        """Prompts as the model reads them: `begin tokens`, cut to the context, right-padded."""
        rows = [self.text_ids(t)[:-1][: self.max_length] for t in texts]
        ids = np.zeros((len(rows), max(len(r) for r in rows)), dtype=np.int32)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
        return self.model_inputs(ids)

    def keep_backbone_config(self, backbone):
        """Keeps the files that rebuild the preprocessor offline (needs the backbone's config)."""
        self.files = preprocessor_state(self.preprocessor, backbone)

    def input_schema(self):
        return {
            "texts": {
                "context_tokens": self.max_length,
                "tokenizer": type(self.tokenizer).__name__,
            }
        }

    def get_state(self):
        if self.files is None:
            raise ValueError(
                "HubCorpusAdapter has no preprocessor files yet; call keep_backbone_config first."
            )
        return {
            "kind": "keras_hub",
            "preprocessor_files": self.files,
            "max_length": self.max_length,
            "token_counts": self.token_counts_.tolist(),
        }

    @classmethod
    def from_state(cls, state):
        preprocessor = preprocessor_from_state(state["preprocessor_files"], "causal_lm")
        adapter = cls(preprocessor, state["max_length"], files=state["preprocessor_files"])
        adapter.token_counts_ = np.asarray(state["token_counts"], dtype=np.int64)
        return adapter

    def __getstate__(self):
        return self.get_state()

    def __setstate__(self, state):
        self.__dict__.update(type(self).from_state(state).__dict__)
