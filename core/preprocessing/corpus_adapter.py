"""A corpus in, token streams and prompts out: the input adapter of language models."""

import numpy as np

from core.preprocessing.input_adapter import InputAdapter
from core.preprocessing.text_input import as_text_list
from core.preprocessing.word_piece_tokenizer import WordPieceTokenizer


class CorpusAdapter(InputAdapter):
    """Turns texts into `[CLS] tokens [SEP]` id streams for next-token prediction.

    `fit` trains the tokenizer (unless it is pretrained) and counts the
    tokens (the unigram reference); `transform` gives prompts as the model
    reads them (`[CLS]` first, cut to the context, right-padded with 0), and
    `blocks` the training corpus concatenated and cut into rows of
    `max_length + 1` ids.

    Args:
        tokenizer: a `WordPieceTokenizer`, trained by `fit` unless it already is.
        max_length: the model's context in tokens.

    Attributes:
        token_counts_: int64 count of each token id in the training corpus
            ([CLS], which is given and never predicted, counts 0).
    """

    input_kind = "generation"

    def __init__(self, tokenizer, max_length):
        self.tokenizer = tokenizer
        self.max_length = int(max_length)

    def validate(self, X, reset=False):
        """The texts of X (a list, array, Series or one-column DataFrame) as a list of str."""
        return as_text_list(X, "X")

    def fit(self, texts):
        """Trains the tokenizer (unless pretrained) and counts the tokens; returns self."""
        if not self.tokenizer.is_fitted:
            self.tokenizer.fit(texts)
        counts = np.bincount(self.stream(texts), minlength=len(self.tokenizer))
        counts[self.tokenizer.cls_id] = 0
        self.token_counts_ = counts.astype(np.int64)
        return self

    def text_ids(self, text):
        """int32 ids `[CLS] tokens [SEP]` of one text."""
        tok = self.tokenizer
        return np.asarray([tok.cls_id, *tok.encode_ids(text), tok.sep_id], dtype=np.int32)

    def stream(self, texts):
        """The ids of texts, one after the other."""
        return np.concatenate([self.text_ids(t) for t in texts])

    def blocks(self, texts):
        """Training rows: the stream cut into `max_length + 1` ids (see `token_blocks`)."""
        return token_blocks(self.stream(texts), self.max_length + 1)

    def transform(self, texts):
        """int32 prompt ids `(n, longest)`: `[CLS]` first, cut to the context, 0-padded."""
        rows = [self.text_ids(t)[:-1][: self.max_length] for t in texts]
        ids = np.zeros((len(rows), max(len(r) for r in rows)), dtype=np.int32)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
        return ids

    def input_schema(self):
        return {"texts": {"context_tokens": self.max_length}}

    def get_state(self):
        return {
            "tokenizer": self.tokenizer.get_state(),
            "max_length": self.max_length,
            "token_counts": self.token_counts_.tolist(),
        }

    @classmethod
    def from_state(cls, state):
        adapter = cls(WordPieceTokenizer.from_state(state["tokenizer"]), state["max_length"])
        adapter.token_counts_ = np.asarray(state["token_counts"], dtype=np.int64)
        return adapter


def token_blocks(ids, size, stride=None):
    """Cuts a token stream into rows of `size` tokens (the last padded with 0).

    Consecutive rows overlap by one token (`stride = size - 1` by default),
    so every token but the first is a target exactly once.
    """
    stride = stride or size - 1
    n_rows = max(1, int(np.ceil(max(len(ids) - 1, 1) / stride)))
    out = np.zeros((n_rows, size), dtype=np.int32)
    for i in range(n_rows):
        piece = ids[i * stride : i * stride + size]
        out[i, : len(piece)] = piece
    return out
