"""Texts in, token ids out: the input adapter of text classifiers."""

import numpy as np
import pandas as pd

from core.preprocessing.input_adapter import InputAdapter
from core.preprocessing.text_input import as_text_list
from core.preprocessing.word_piece_tokenizer import WordPieceTokenizer

#: Bounds and rounding of an "auto" encoder length, in tokens.
AUTO_LENGTH = (16, 256)
LENGTH_MULTIPLE = 8
#: Longest row the n-gram path reads, in tokens.
MAX_NGRAM_LENGTH = 1024


class TextAdapter(InputAdapter):
    """Turns texts into int32 token ids `(n, input_length_)`, `[CLS]` first, 0-padded.

    The encoder reads the first `sequence_length_` tokens of a row; with
    `ngrams`, rows go on beyond that (up to the 99th percentile of the
    training texts' lengths, at most 1,024 tokens) so a linear n-gram path
    sees long texts whole.

    Args:
        tokenizer: a `WordPieceTokenizer`, trained by `fit` unless it already
            is (a pretrained one).
        max_length: tokens the encoder reads: an integer, or `"auto"`: the
            95th percentile of the training texts' lengths, between 16 and
            256, rounded up to a multiple of 8.
        ngrams: whether rows carry tokens beyond the encoder's context.

    Attributes:
        text_column_: the name of the training texts' Series or one-column
            DataFrame (a DataFrame is read from that column at predict), or None.
        sequence_length_: tokens the encoder reads.
        input_length_: tokens per row.
    """

    input_kind = "texts"

    def __init__(self, tokenizer, max_length="auto", ngrams=True):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.ngrams = bool(ngrams)

    def validate(self, X, reset=False):
        """The texts of X as a list of str.

        Args:
            X: a list, tuple, array or Series of strings, or a DataFrame
                with one column (or, after fit, the training texts' column).
            reset: True for training texts, whose column name is kept.

        Returns:
            list of str.
        """
        texts = as_text_list(X, "X", column=None if reset else self.text_column_)
        if reset:
            self.text_column_ = text_column(X)
        return texts

    def fit(self, texts):
        """Trains the tokenizer (unless pretrained) and sets the row lengths; returns self."""
        if not self.tokenizer.is_fitted:
            self.tokenizer.fit(texts)
        if self.max_length == "auto":
            self.sequence_length_ = auto_sequence_length(self.tokenizer, texts)
        else:
            self.sequence_length_ = int(self.max_length)
        self.input_length_ = self.sequence_length_
        if self.ngrams:
            longest = _round_up(np.percentile(token_lengths(self.tokenizer, texts), 99))
            self.input_length_ = int(
                np.clip(
                    longest, self.sequence_length_, max(MAX_NGRAM_LENGTH, self.sequence_length_)
                )
            )
        return self

    def transform(self, texts):
        """int32 token ids `(n, input_length_)` of validated texts."""
        return self.tokenizer.encode(texts, max_length=self.input_length_)

    def input_schema(self):
        return {"texts": {"column": self.text_column_, "max_tokens": self.input_length_}}

    def get_state(self):
        return {
            "tokenizer": self.tokenizer.get_state(),
            "max_length": self.max_length,
            "ngrams": self.ngrams,
            "text_column": self.text_column_,
            "sequence_length": self.sequence_length_,
            "input_length": self.input_length_,
        }

    @classmethod
    def from_state(cls, state):
        adapter = cls(
            WordPieceTokenizer.from_state(state["tokenizer"]),
            state["max_length"],
            state["ngrams"],
        )
        adapter.text_column_ = state["text_column"]
        adapter.sequence_length_ = int(state["sequence_length"])
        adapter.input_length_ = int(state["input_length"])
        return adapter


def auto_sequence_length(tokenizer, texts):
    """The `"auto"` encoder length of texts: their 95th percentile length, bounded, rounded up."""
    length = np.clip(np.percentile(token_lengths(tokenizer, texts), 95), *AUTO_LENGTH)
    return _round_up(int(length))


def token_lengths(tokenizer, texts, sample=5000):
    """Token counts (with [CLS] and [SEP]) of up to `sample` evenly spaced texts."""
    step = max(1, len(texts) // sample)
    return np.array([len(tokenizer.encode_ids(t)) + 2 for t in texts[::step]])


def _round_up(length):
    return int(LENGTH_MULTIPLE * np.ceil(length / LENGTH_MULTIPLE))


def text_column(X):
    """The name of a Series or one-column DataFrame of texts, or None."""
    if isinstance(X, pd.Series):
        return None if X.name is None else str(X.name)
    if isinstance(X, pd.DataFrame):
        return str(X.columns[0])
    return None
