"""Texts in, a keras-hub preset's packed token ids (and n-gram ids) out."""

import warnings

import keras
import numpy as np

from core.backbones.hub_preset import preprocessor_from_state, preprocessor_state
from core.backbones.hub_text_model import NGRAM_INPUT
from core.preprocessing.input_adapter import InputAdapter
from core.preprocessing.text_adapter import (
    AUTO_LENGTH,
    LENGTH_MULTIPLE,
    MAX_NGRAM_LENGTH,
    text_column,
    token_lengths,
)
from core.preprocessing.text_input import as_text_list
from core.preprocessing.word_piece_tokenizer import WordPieceTokenizer


class HubTextAdapter(InputAdapter):
    """Tokenizes texts with a keras-hub preset's own preprocessor, for a pretrained encoder.

    The preset's tokenizer and packer give the encoder's inputs
    (`token_ids`, `padding_mask` and, for BERT, `segment_ids`), with its own
    special tokens, cut to `sequence_length_` tokens; a text cut there
    warns once. With `ngrams`, a `WordPieceTokenizer` trained on the
    training texts gives the linear n-gram path its ids of the whole text
    (`ngram_ids`, up to 1,024 tokens), as for the built-in encoder.

    Args:
        preprocessor: the preset's `keras_hub.models.TextClassifierPreprocessor`.
        backbone: the preset's backbone (its config is kept with the tokenizer,
            so the preprocessor can be rebuilt offline); needed by `fit`.
        max_length: tokens the encoder reads: an integer (at most the
            preset's), or `"auto"`: the 95th percentile of the training
            texts' lengths, between 16 and the preset's sequence length.
        ngrams: whether to give the n-gram path its own ids.
        ngram_tokenizer: the n-gram path's `WordPieceTokenizer` (trained by
            `fit` unless it already is).

    Attributes:
        text_column_: the training texts' column name, or None.
        sequence_length_: tokens the encoder reads.
        input_length_: n-gram ids per row (0 without `ngrams`).
        encoder_inputs_: names of the encoder's inputs the preprocessor gives.
        preset_files_: the preprocessor as preset files (`preprocessor_state`).
    """

    input_kind = "texts"

    def __init__(
        self, preprocessor, backbone=None, max_length="auto", ngrams=True, ngram_tokenizer=None
    ):
        self.preprocessor = preprocessor
        self.backbone = backbone
        self.max_length = max_length
        self.ngrams = bool(ngrams)
        self.ngram_tokenizer = ngram_tokenizer
        self._warned = False

    @property
    def tokenizer(self):
        """The preset's tokenizer."""
        return self.preprocessor.tokenizer

    @property
    def preset_length(self):
        """The longest sequence the preset takes: its preprocessor's length, within the
        backbone's position embeddings."""
        length = int(self.preprocessor.sequence_length)
        positions = getattr(self.backbone, "max_sequence_length", None)
        return length if positions is None else min(length, int(positions))

    def validate(self, X, reset=False):
        """The texts of X as a list of str (see `TextAdapter.validate`)."""
        texts = as_text_list(X, "X", column=None if reset else self.text_column_)
        if reset:
            self.text_column_ = text_column(X)
        return texts

    def fit(self, texts):
        """Sets the encoder length and trains the n-gram tokenizer; returns self."""
        self.preset_files_ = preprocessor_state(self.preprocessor, self.backbone)
        lengths = self._preset_lengths(texts)
        self.encoder_inputs_ = sorted(self.preprocessor(texts[:1]).keys())
        if self.max_length == "auto":
            length = -(-int(np.percentile(lengths, 95)) // LENGTH_MULTIPLE) * LENGTH_MULTIPLE
            self.sequence_length_ = int(np.clip(length, AUTO_LENGTH[0], self.preset_length))
        else:
            self.sequence_length_ = min(int(self.max_length), self.preset_length)
        self.input_length_ = 0
        if self.ngrams:
            if not self.ngram_tokenizer.is_fitted:
                self.ngram_tokenizer.fit(texts)
            longest = np.percentile(token_lengths(self.ngram_tokenizer, texts), 99)
            longest = -(-int(longest) // LENGTH_MULTIPLE) * LENGTH_MULTIPLE
            self.input_length_ = int(np.clip(longest, AUTO_LENGTH[0], MAX_NGRAM_LENGTH))
        return self

    def _preset_lengths(self, texts, sample=5000):
        """Tokens of each text under the preset's tokenizer, two specials included."""
        ids = self.tokenizer(texts[:sample])
        return np.asarray([len(row) for row in ids]) + 2

    def transform(self, texts):
        """`{input name: int32 array}` of validated texts for the model."""
        self.preprocessor.sequence_length = self.sequence_length_
        packed = {
            name: keras.ops.convert_to_numpy(value).astype(np.int32)
            for name, value in self.preprocessor(list(texts)).items()
        }
        if not self._warned and len(texts):
            cut = packed["padding_mask"][:, -1].astype(bool)
            if cut.any() and (self._preset_lengths(texts) > self.sequence_length_).any():
                warnings.warn(
                    f"{int(cut.sum())} of {len(texts)} texts are longer than the encoder's "
                    f"{self.sequence_length_} tokens and were cut for it"
                    + (" (the n-gram path reads them further)." if self.ngrams else "."),
                    UserWarning,
                    stacklevel=3,
                )
                self._warned = True
        if self.ngrams:
            packed[NGRAM_INPUT] = self.ngram_tokenizer.encode(texts, max_length=self.input_length_)
        return packed

    def input_schema(self):
        return {
            "texts": {
                "column": self.text_column_,
                "max_tokens": max(self.sequence_length_, self.input_length_),
            }
        }

    def get_state(self):
        return {
            "preset_files": self.preset_files_,
            "max_length": self.max_length,
            "ngrams": self.ngrams,
            "ngram_tokenizer": self.ngram_tokenizer.get_state() if self.ngrams else None,
            "text_column": self.text_column_,
            "sequence_length": self.sequence_length_,
            "input_length": self.input_length_,
            "encoder_inputs": self.encoder_inputs_,
        }

    @classmethod
    def from_state(cls, state):
        adapter = cls(
            preprocessor_from_state(state["preset_files"], "text"),
            max_length=state["max_length"],
            ngrams=state["ngrams"],
            ngram_tokenizer=WordPieceTokenizer.from_state(state["ngram_tokenizer"])
            if state["ngrams"]
            else None,
        )
        adapter.preset_files_ = state["preset_files"]
        adapter.text_column_ = state["text_column"]
        adapter.sequence_length_ = int(state["sequence_length"])
        adapter.input_length_ = int(state["input_length"])
        adapter.encoder_inputs_ = list(state["encoder_inputs"])
        return adapter
