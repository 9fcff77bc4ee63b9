"""Subword pieces into words, and two tokenizations' word attributions onto one list."""

import difflib
import unicodedata

#: Markers that start a new word in byte-pair (GPT-2, RoBERTa) and SentencePiece vocabularies.
WORD_START_MARKERS = ("Ġ", "▁")
#: The marker of a WordPiece continuation.
CONTINUATION_MARKER = "##"


def group_pieces(pieces):
    """Joins subword pieces into words, summing their scores.

    A piece continues the word before it when it starts with `##`
    (WordPiece), or when the row uses word-start markers (`Ġ`, `▁`) and it
    has none.

    Args:
        pieces: list of `(piece, score)` in text order.

    Returns:
        `(words, starts)`: list of `(word, score)`, and the index in `pieces`
        of each word's first piece.
    """
    marked = any(piece.startswith(WORD_START_MARKERS) for piece, _ in pieces)
    words, starts = [], []
    for k, (piece, score) in enumerate(pieces):
        if piece.startswith(CONTINUATION_MARKER) and words:
            word, total = words[-1]
            words[-1] = (word + piece[len(CONTINUATION_MARKER) :], total + score)
        elif marked and not piece.startswith(WORD_START_MARKERS) and words:
            word, total = words[-1]
            words[-1] = (word + piece, total + score)
        else:
            words.append((piece.lstrip("".join(WORD_START_MARKERS)), score))
            starts.append(k)
    return words, starts


def align_words(words, other):
    """For each word of `other`, the index of the same word in `words`, or None.

    Two tokenizers of one text (a pretrained encoder's and the n-gram
    path's) may case, accent and cut it differently; words are matched on
    their lowercase, accent-free form by the longest matching blocks, in order.

    Args:
        words: list of `(word, score)`.
        other: list of `(word, score)`.

    Returns:
        list, as long as `other`, of int or None.
    """
    matcher = difflib.SequenceMatcher(
        None, [_plain(w) for w, _ in words], [_plain(w) for w, _ in other], autojunk=False
    )
    matches = [None] * len(other)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            matches[block.b + k] = block.a + k
    return matches


def _plain(word):
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
