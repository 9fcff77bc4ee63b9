"""A WordPiece subword tokenizer learned from the user's own corpus, in pure Python."""

import functools
import gc
import heapq
import itertools
import re
import unicodedata
from collections import Counter, defaultdict

import numpy as np
from sklearn.exceptions import NotFittedError

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(len(SPECIAL_TOKENS))
CONTINUATION_PREFIX = "##"
MIN_VOCABULARY_SIZE = 10
# At most this many distinct characters start the vocabulary (the most frequent).
MAX_ALPHABET = 1000
# Longer words are a single [UNK], as in BERT.
MAX_WORD_CHARS = 100
# The word -> ids cache is cleared when it grows past this many words.
CACHE_LIMIT = 500_000
# Texts longer than this are read in pieces of about CHUNK_CHARS characters
# and tokenized only until `max_length` tokens are produced.
LONG_TEXT_CHARS = 8192
CHUNK_CHARS = 2048
# Rows encoded per block of `encode`, so the temporary Python lists stay small.
ROWS_PER_BLOCK = 8192

# CJK ideographs are words of their own, as in BERT (Hangul and kana are not).
CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2EE5F),
    (0x2F800, 0x2FA1F),
    (0x30000, 0x323AF),
)
# Closing punctuation is glued to the previous word in `decode`; opening to the next.
# The full-width forms are those of Chinese and Japanese text.
CLOSING = frozenset(".,!?;:)]}'\u3002\u3001\uff0c\uff01\uff1f\uff1b\uff1a\uff09\u300d\u300f\u3011")
OPENING = frozenset("([{\uff08\u300c\u300e\u3010")

_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
_WHITESPACE = re.compile(r"\s")


class WordPieceTokenizer:
    """Splits text into subword ids with a WordPiece vocabulary learned by `fit`.

    Text is normalised (Unicode NFC, optional lower-casing and accent
    stripping, control characters removed), then split into words: runs of
    letters, digits and combining marks; every other non-space character
    (punctuation, symbols, emoji) and every CJK ideograph is a word of its own.
    Each word is then cut greedily into the longest pieces of the vocabulary,
    as BERT does; pieces inside a word start with `"##"`. A word longer than
    100 characters, or one the vocabulary cannot cover, is a single `[UNK]`.

    `fit` learns the vocabulary as Hugging Face's WordPiece trainer does: it
    starts from the characters of the corpus (at most the 1,000 most frequent,
    each seen at least `min_frequency` times, as a word-initial piece and as a
    `"##"` piece where seen there), then repeatedly merges the most frequent
    pair of adjacent pieces over the word counts, until the vocabulary holds
    `vocabulary_size` entries or no pair occurs `min_frequency` times. Ties go
    to the pair that sorts first as strings, so training is deterministic.

    The ids `0..4` are `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]` and `[MASK]`. The
    whole state is plain JSON (`get_state` / `from_state`).

    Args:
        vocabulary_size: the largest vocabulary `fit` may learn, special tokens
            included; an integer >= 10.
        max_length: length of the rows that `encode` returns by default,
            `[CLS]` and `[SEP]` included; an integer >= 2.
        lowercase: whether text is lower-cased.
        strip_accents: whether accents and other non-spacing marks are
            removed (`"café"` becomes `"cafe"`).
        min_frequency: characters and pairs of pieces seen fewer times than
            this in the corpus are not learned.

    Attributes:
        vocabulary_: the learned pieces; a piece's index is its id.

    Example:
    >>> tokenizer = WordPieceTokenizer(vocabulary_size=8000).fit(texts)
    >>> ids = tokenizer.encode(texts, max_length=64)  # int32 (n_texts, 64)
    >>> tokenizer.decode(ids[0])
    """

    def __init__(
        self,
        vocabulary_size=8000,
        max_length=128,
        lowercase=True,
        strip_accents=True,
        min_frequency=2,
    ):
        if not _is_int(vocabulary_size, MIN_VOCABULARY_SIZE):
            raise ValueError(
                f"`vocabulary_size` must be an integer >= {MIN_VOCABULARY_SIZE}. "
                f"Received: vocabulary_size={vocabulary_size!r}"
            )
        _check_max_length(max_length, add_special_tokens=True)
        if not _is_int(min_frequency, 1):
            raise ValueError(
                "`min_frequency` must be a positive integer. "
                f"Received: min_frequency={min_frequency!r}"
            )
        for name, value in (("lowercase", lowercase), ("strip_accents", strip_accents)):
            if not isinstance(value, bool | np.bool_):
                raise TypeError(f"`{name}` must be True or False. Received: {name}={value!r}")
        self.vocabulary_size = int(vocabulary_size)
        self.max_length = int(max_length)
        self.lowercase = bool(lowercase)
        self.strip_accents = bool(strip_accents)
        self.min_frequency = int(min_frequency)

    def __repr__(self):
        return (
            f"WordPieceTokenizer(vocabulary_size={self.vocabulary_size}, "
            f"max_length={self.max_length}, lowercase={self.lowercase}, "
            f"strip_accents={self.strip_accents}, min_frequency={self.min_frequency})"
        )

    @property
    def is_fitted(self):
        """Whether the vocabulary is learned (by `fit`, or restored by `from_state`)."""
        return hasattr(self, "vocabulary_")

    # ------------------------------------------------------------------ fit
    def fit(self, texts):
        """Learns the vocabulary from a corpus.

        Args:
            texts: a list, tuple, array, pandas Series or other iterable of
                strings, with at least one word in all.

        Returns:
            self.
        """
        texts = _as_text_list(texts)
        if not texts:
            raise ValueError(
                "`texts` is empty; expected at least one string to learn the vocabulary from."
            )
        word_counts = Counter()
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise _item_error(index, text)
            word_counts.update(self._words(text))
        if not word_counts:
            raise ValueError(
                "`texts` contains no words (only empty or whitespace strings); expected "
                f"some text to learn the vocabulary from. Received: {len(texts)} texts"
            )
        # Training holds millions of small containers; the cyclic garbage
        # collector would scan them again and again (twice the time) and finds
        # nothing to free, so it pauses meanwhile.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.vocabulary_ = _train(word_counts, self.vocabulary_size, self.min_frequency)
        finally:
            if collecting:
                gc.enable()
        return self._index()

    def _index(self):
        """Look-up tables derived from `vocabulary_`; called after fit and load."""
        self._token_ids = {token: i for i, token in enumerate(self.vocabulary_)}
        lengths = [
            len(t) - len(CONTINUATION_PREFIX) if t.startswith(CONTINUATION_PREFIX) else len(t)
            for t in self.vocabulary_[len(SPECIAL_TOKENS) :]
        ]
        self._longest_piece = max(lengths, default=1)
        self._cache = {}
        return self

    def _check_fitted(self):
        if not hasattr(self, "vocabulary_"):
            raise NotFittedError(
                "This WordPieceTokenizer instance is not fitted yet. Call `fit` with a "
                "list of texts first, or load one with `WordPieceTokenizer.from_state`."
            )

    # ------------------------------------------------------------ splitting
    def _normalize(self, text):
        """The normalised text, and the patterns that fit its characters."""
        if text.isascii():
            if self.lowercase:
                text = text.lower()
            return _ASCII_CONTROL.sub("", text), _patterns(astral=False)
        patterns = _patterns(astral=max(text) > "\uffff")
        text = unicodedata.normalize("NFC", text)
        if self.lowercase:
            text = text.lower()
        if self.strip_accents:
            text = patterns.nonspacing_marks.sub("", unicodedata.normalize("NFD", text))
            # Recomposes what is left, such as Hangul syllables.
            text = unicodedata.normalize("NFC", text)
        return patterns.controls.sub("", text), patterns

    def _words(self, text):
        text, patterns = self._normalize(text)
        return patterns.words.findall(text)

    def _iter_words(self, text):
        """Words of a text of any length, normalising it piece by piece."""
        if len(text) <= LONG_TEXT_CHARS:
            yield from self._words(text)
            return
        start = 0
        while start < len(text):
            # Cut just after a whitespace, so no word (nor accent) is split.
            space = _WHITESPACE.search(text, start + CHUNK_CHARS)
            end = space.end() if space else len(text)
            chunk, patterns = self._normalize(text[start:end])
            for match in patterns.words.finditer(chunk):
                yield match.group()
            start = end

    def _word_ids(self, word):
        """Greedy longest-match-first pieces of one word, cached."""
        ids = []
        if len(word) > MAX_WORD_CHARS:
            ids.append(UNK_ID)
        else:
            lookup = self._token_ids
            start = 0
            while start < len(word):
                prefix = CONTINUATION_PREFIX if start else ""
                end = min(len(word), start + self._longest_piece)
                while end > start:
                    piece = lookup.get(prefix + word[start:end])
                    if piece is not None:
                        break
                    end -= 1
                else:
                    ids = [UNK_ID]
                    break
                ids.append(piece)
                start = end
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = ids
        return ids

    def _text_ids(self, text, limit=None):
        """Ids of one text, without special tokens; at least `limit` of them if it has them."""
        cache = self._cache
        ids = []
        if limit is None or len(text) <= LONG_TEXT_CHARS:
            for word in self._words(text):
                pieces = cache.get(word)
                ids += self._word_ids(word) if pieces is None else pieces
            return ids
        for word in self._iter_words(text):
            pieces = cache.get(word)
            ids += self._word_ids(word) if pieces is None else pieces
            if len(ids) >= limit:
                break
        return ids

    # ------------------------------------------------------------- encoding
    def encode(self, texts, max_length=None, add_special_tokens=True):
        """Encodes texts into padded rows of token ids.

        Each row is `[CLS]`, the text's ids, `[SEP]`, then `[PAD]` (0) up to
        `max_length`. A longer text is truncated and keeps its `[SEP]`; it is
        only tokenized until enough ids are produced, so a very long text
        costs little.

        Args:
            texts: a list, tuple, array, pandas Series or other iterable of
                strings.
            max_length: length of the rows; defaults to `self.max_length`.
            add_special_tokens: whether rows start with `[CLS]` and end with
                `[SEP]`.

        Returns:
            int32 array of shape `(len(texts), max_length)`.
        """
        self._check_fitted()
        texts = _as_text_list(texts)
        length = self.max_length if max_length is None else max_length
        _check_max_length(length, add_special_tokens)
        length = int(length)
        budget = length - 2 if add_special_tokens else length
        out = np.zeros((len(texts), length), dtype=np.int32)
        for first in range(0, len(texts), ROWS_PER_BLOCK):
            block = texts[first : first + ROWS_PER_BLOCK]
            flat, sizes = [], []
            for index, text in enumerate(block, start=first):
                if not isinstance(text, str):
                    raise _item_error(index, text)
                ids = self._text_ids(text, budget)
                if len(ids) > budget:
                    del ids[budget:]
                if add_special_tokens:
                    flat.append(CLS_ID)
                    flat += ids
                    flat.append(SEP_ID)
                    sizes.append(len(ids) + 2)
                else:
                    flat += ids
                    sizes.append(len(ids))
            _scatter_rows(out[first : first + len(block)], flat, sizes)
        return out

    def encode_ids(self, text):
        """Ids of one text: no special tokens, no padding, no truncation.

        Args:
            text: a string.

        Returns:
            list of ints.
        """
        self._check_fitted()
        _check_text(text)
        return self._text_ids(text)

    def tokenize(self, text):
        """The pieces of one text as strings; pieces inside a word start with `"##"`.

        Args:
            text: a string.

        Returns:
            list of strings (an uncovered word is `"[UNK]"`).
        """
        ids = self.encode_ids(text)
        return [self.vocabulary_[i] for i in ids]

    def decode(self, ids, skip_special_tokens=True):
        """Turns ids back into text.

        Pieces starting with `"##"` are glued to the previous piece, words are
        joined by single spaces, except before closing punctuation
        (`. , ! ? ; : ) ] } '` and their full-width forms), after opening
        brackets and between CJK ideographs. Normalisation (case, accents,
        spacing) is not undone.

        Args:
            ids: a sequence or 1-D array of token ids.
            skip_special_tokens: whether `[CLS]`, `[SEP]` and `[MASK]` are left
                out. `[PAD]` (0) is always left out; `[UNK]` is always kept.

        Returns:
            a string.
        """
        self._check_fitted()
        ids = np.asarray(ids)
        if ids.ndim != 1 or not (ids.size == 0 or np.issubdtype(ids.dtype, np.integer)):
            raise ValueError(
                "`ids` must be a 1-D sequence of integer token ids. "
                f"Received: array of shape {ids.shape} and dtype {ids.dtype}"
            )
        bad = np.flatnonzero((ids < 0) | (ids >= len(self.vocabulary_)))
        if bad.size:
            raise ValueError(
                f"`ids` must be token ids in [0, {len(self.vocabulary_)}). "
                f"Received: ids[{bad[0]}]={ids[bad[0]]}"
            )
        skipped = {CLS_ID, SEP_ID, MASK_ID} if skip_special_tokens else set()
        words = []
        for i in ids.tolist():
            if i == PAD_ID or i in skipped:
                continue
            token = self.vocabulary_[i]
            if token.startswith(CONTINUATION_PREFIX):
                if words:
                    words[-1] += token[len(CONTINUATION_PREFIX) :]
                    continue
                token = token[len(CONTINUATION_PREFIX) :]
            words.append(token)
        parts = []
        previous = None
        for word in words:
            glued = (
                previous is None
                or word in CLOSING
                or previous in OPENING
                or (_is_cjk_word(word) and _is_cjk_word(previous))
            )
            if not glued:
                parts.append(" ")
            parts.append(word)
            previous = word
        return "".join(parts)

    # -------------------------------------------------------------- look-up
    def id_to_token(self, id):
        """The piece of a token id.

        Args:
            id: an integer in `[0, len(self))`.

        Returns:
            a string.
        """
        self._check_fitted()
        if not _is_int(id, 0) or id >= len(self.vocabulary_):
            raise ValueError(
                f"`id` must be an integer in [0, {len(self.vocabulary_)}). Received: id={id!r}"
            )
        return self.vocabulary_[id]

    def token_to_id(self, token):
        """The id of a piece; `unk_id` for a piece not in the vocabulary.

        Args:
            token: a string such as `"play"`, `"##ing"` or `"[MASK]"`.

        Returns:
            an integer.
        """
        self._check_fitted()
        if not isinstance(token, str):
            raise TypeError(
                f"`token` must be a string. Received: {token!r} ({type(token).__name__})"
            )
        return self._token_ids.get(token, UNK_ID)

    @property
    def pad_id(self):
        return PAD_ID

    @property
    def unk_id(self):
        return UNK_ID

    @property
    def cls_id(self):
        return CLS_ID

    @property
    def sep_id(self):
        return SEP_ID

    @property
    def mask_id(self):
        return MASK_ID

    @property
    def special_ids(self):
        """The ids of `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]` and `[MASK]`, sorted."""
        return list(range(len(SPECIAL_TOKENS)))

    def __len__(self):
        self._check_fitted()
        return len(self.vocabulary_)

    def __bool__(self):
        # Without this, `if tokenizer:` would call __len__ and fail before fit.
        return True

    # ---------------------------------------------------------------- state
    def get_state(self):
        """Returns the parameters and the fitted vocabulary as a JSON-serialisable dict."""
        self._check_fitted()
        return {
            "config": {
                "vocabulary_size": self.vocabulary_size,
                "max_length": self.max_length,
                "lowercase": self.lowercase,
                "strip_accents": self.strip_accents,
                "min_frequency": self.min_frequency,
            },
            "vocabulary": list(self.vocabulary_),
        }

    @classmethod
    def from_state(cls, state):
        """Rebuilds a fitted tokenizer from `get_state()` output.

        Args:
            state: the dict that `get_state` returned (possibly through JSON).

        Returns:
            a fitted `WordPieceTokenizer`.
        """
        if not isinstance(state, dict) or not {"config", "vocabulary"} <= state.keys():
            raise ValueError(
                "`state` must be a dict with keys 'config' and 'vocabulary', as returned "
                f"by `get_state`. Received: {_short_repr(state)}"
            )
        vocabulary = state["vocabulary"]
        if not isinstance(vocabulary, list | tuple) or not all(
            isinstance(t, str) and t for t in vocabulary
        ):
            raise ValueError(
                "`state['vocabulary']` must be a list of non-empty strings. "
                f"Received: {_short_repr(vocabulary)}"
            )
        if list(vocabulary[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(
                f"`state['vocabulary']` must start with the special tokens {SPECIAL_TOKENS}. "
                f"Received: {list(vocabulary[: len(SPECIAL_TOKENS)])}"
            )
        if len(set(vocabulary)) != len(vocabulary):
            duplicates = sorted(t for t, n in Counter(vocabulary).items() if n > 1)
            raise ValueError(
                "`state['vocabulary']` must not repeat a token. "
                f"Received duplicates: {duplicates[:5]}"
            )
        tokenizer = cls(**state["config"])
        tokenizer.vocabulary_ = list(vocabulary)
        return tokenizer._index()

    def __getstate__(self):
        # Pickles carry the vocabulary, not the encoding cache.
        state = dict(self.__dict__)
        for key in ("_cache", "_token_ids", "_longest_piece"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if hasattr(self, "vocabulary_"):
            self._index()


# -------------------------------------------------------------------- training
def _train(word_counts, vocabulary_size, min_frequency):
    """The vocabulary learned from `{word: count}` by frequency-based merges.

    Pair counts are updated incrementally: an index from each pair to the
    words that hold it limits each merge to those words, and a heap with lazy
    invalidation (an entry is checked against the current count when it is
    popped) finds the next pair.
    """
    words = [(w, n) for w, n in word_counts.items() if len(w) <= MAX_WORD_CHARS]
    initial, inner = Counter(), Counter()
    for word, count in words:
        initial[word[0]] += count
        for char in word[1:]:
            inner[char] += count
    totals = initial + inner
    chars = sorted(
        (c for c, n in totals.items() if n >= min_frequency), key=lambda c: (-totals[c], c)
    )
    alphabet = []
    for char in chars[:MAX_ALPHABET]:
        if initial[char]:
            alphabet.append((initial[char], char))
        if inner[char]:
            alphabet.append((inner[char], CONTINUATION_PREFIX + char))
    alphabet.sort(key=lambda item: (-item[0], item[1]))
    vocabulary = SPECIAL_TOKENS + [t for _, t in alphabet[: vocabulary_size - len(SPECIAL_TOKENS)]]
    token_ids = {token: i for i, token in enumerate(vocabulary)}

    # Words as lists of piece ids; words with a piece outside the alphabet are
    # left out, since they can only encode to [UNK].
    sequences, counts = [], []
    for word, count in words:
        symbols = [token_ids.get(word[0])]
        symbols += [token_ids.get(CONTINUATION_PREFIX + c) for c in word[1:]]
        if len(symbols) > 1 and None not in symbols:
            sequences.append(symbols)
            counts.append(count)
    pair_counts = defaultdict(int)
    where = defaultdict(set)
    for index, (symbols, count) in enumerate(zip(sequences, counts, strict=True)):
        for pair in itertools.pairwise(symbols):
            pair_counts[pair] += count
            where[pair].add(index)
    heap = [
        (-n, vocabulary[a], vocabulary[b], a, b)
        for (a, b), n in pair_counts.items()
        if n >= min_frequency
    ]
    heapq.heapify(heap)

    while len(vocabulary) < vocabulary_size and heap:
        negative, piece_a, piece_b, a, b = heapq.heappop(heap)
        count = pair_counts.get((a, b), 0)
        if count != -negative:
            # Stale entry: counts of old pairs only go down, so it is pushed back
            # with its current count.
            if count >= min_frequency:
                heapq.heappush(heap, (-count, piece_a, piece_b, a, b))
            continue
        token = piece_a + piece_b[len(CONTINUATION_PREFIX) :]
        new = token_ids.get(token)
        if new is None:
            new = token_ids[token] = len(vocabulary)
            vocabulary.append(token)
        grown = set()
        for index in where.pop((a, b)):
            symbols = sequences[index]
            merged = _merge(symbols, a, b, new)
            if merged is None:
                continue
            # Words are short: recounting a word's pairs costs no more than
            # tracking which of them changed.
            count = counts[index]
            for pair in itertools.pairwise(symbols):
                pair_counts[pair] -= count
            for pair in itertools.pairwise(merged):
                pair_counts[pair] += count
                if new in pair:
                    where[pair].add(index)
                    grown.add(pair)
            sequences[index] = merged
        del pair_counts[(a, b)]
        # Only pairs holding the new piece can have gained counts.
        for pair in grown:
            count = pair_counts[pair]
            if count >= min_frequency:
                heapq.heappush(heap, (-count, vocabulary[pair[0]], vocabulary[pair[1]], *pair))
    return vocabulary


def _merge(symbols, a, b, new):
    """`symbols` with each `a, b` replaced by `new`, left to right; None if there is none."""
    n = len(symbols)
    i = 0
    merged = None
    while i < n - 1:
        if symbols[i] == a and symbols[i + 1] == b:
            if merged is None:
                merged = symbols[:i]
            merged.append(new)
            i += 2
        else:
            if merged is not None:
                merged.append(symbols[i])
            i += 1
    if merged is not None and i == n - 1:
        merged.append(symbols[-1])
    return merged


# -------------------------------------------------------------------- helpers
class _Patterns:
    """Regular expressions for the characters of the first plane, or of all planes.

    `re` matches a class of first-plane characters with a bitmap, but one with
    astral ranges by scanning them, several times slower: so texts without
    astral characters (nearly all) get patterns without them.
    """

    def __init__(self, astral):
        tables = _unicode_tables()
        if not astral:
            tables = {k: [c for c in codes if c < 0x10000] for k, codes in tables.items()}
        word = _char_class(_ranges(tables["word"]))
        cjk = _char_class(r for r in CJK_RANGES if astral or r[1] < 0x10000)
        # Words: runs of letters, digits and marks (no underscore, no CJK); a
        # CJK ideograph; any other single non-space character.
        self.words = re.compile(f"[{word}]+|[{cjk}]|\\S")
        self.nonspacing_marks = re.compile(f"[{_char_class(_ranges(tables['nonspacing']))}]+")
        self.controls = re.compile(f"[{_char_class(_ranges(tables['controls']))}]+")


@functools.cache
def _unicode_tables():
    """Code points of word characters, non-spacing marks and control characters."""
    word, nonspacing, controls = [], [], []
    # Marks, format and control characters, and letters other than CJK
    # ideographs, all lie in planes 0, 1 and 14.
    for code in (*range(0x20000), *range(0xE0000, 0xE1000)):
        char = chr(code)
        category = unicodedata.category(char)
        if category[0] == "M" or (char.isalnum() and not _is_cjk_code(code)):
            word.append(code)
            if category == "Mn":
                nonspacing.append(code)
        elif category in ("Cf", "Cs") or (category == "Cc" and not char.isspace()):
            controls.append(code)
    return {"word": word, "nonspacing": nonspacing, "controls": controls}


@functools.cache
def _patterns(astral):
    return _Patterns(astral)


def _ranges(code_points):
    ranges = []
    for code in code_points:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return ranges


def _char_class(ranges):
    return "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)


def _is_cjk_code(code):
    return any(lo <= code <= hi for lo, hi in CJK_RANGES)


def _is_cjk_word(word):
    return len(word) == 1 and _is_cjk_code(ord(word))


def _scatter_rows(out, flat, sizes):
    """Writes rows of different lengths, given end to end in `flat`, into `out`."""
    if not flat:
        return
    sizes = np.asarray(sizes, dtype=np.int64)
    rows = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    columns = np.arange(len(flat)) - np.repeat(starts, sizes)
    out[rows, columns] = np.asarray(flat, dtype=np.int32)


def _is_int(value, minimum):
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= minimum


def _check_max_length(max_length, add_special_tokens):
    minimum = 2 if add_special_tokens else 1
    if not _is_int(max_length, minimum):
        reason = " to hold [CLS] and [SEP]" if add_special_tokens else ""
        raise ValueError(
            f"`max_length` must be an integer >= {minimum}{reason}. "
            f"Received: max_length={max_length!r}"
        )


def _short_repr(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _item_error(index, value):
    return TypeError(
        f"`texts[{index}]` must be a string. Received: {_short_repr(value)} "
        f"({type(value).__name__})"
    )


def _check_text(text):
    if not isinstance(text, str):
        raise TypeError(
            f"`text` must be a string. Received: {_short_repr(text)} ({type(text).__name__})"
        )


def _as_text_list(texts):
    """`texts` as a list, after checking it is a collection and not a single string."""
    if isinstance(texts, str | bytes):
        raise TypeError(
            "`texts` must be a list of strings, not a single string. "
            f"Received: {_short_repr(texts)}; wrap it in a list: [text]"
        )
    ndim = getattr(texts, "ndim", 1)
    if ndim != 1:
        raise ValueError(
            "`texts` must be one-dimensional: a list, array or Series of strings. "
            f"Received: {type(texts).__name__} of shape {getattr(texts, 'shape', None)}"
        )
    if hasattr(texts, "tolist"):
        return texts.tolist()
    if isinstance(texts, list):
        return texts
    try:
        return list(texts)
    except TypeError:
        raise TypeError(
            f"`texts` must be a list of strings. Received: {_short_repr(texts)} "
            f"({type(texts).__name__})"
        ) from None
