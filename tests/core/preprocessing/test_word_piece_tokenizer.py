import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from core.preprocessing import WordPieceTokenizer
from core.preprocessing import word_piece_tokenizer as module

SENTENCES = [
    "The cat sat on the mat.",
    "A dog sat on the log!",
    "The dog and the cat (and a bird) played, then slept.",
    "Is the cat on the mat? Yes: the cat is [still] there.",
    "Cats and dogs play on mats; birds sing on logs.",
]
PLAY_WORDS = "play playing played player plays replay replays redo rerun read reading"
MULTILINGUAL = [
    "Café au lait, s'il vous plaît. Le café est chaud.",
    "我爱北京天安门。北京很大。",
    "مرحبا بالعالم مرحبا",
    "I love pizza 🍕🍕 and tacos 🌮 😀😀",
]


def _fit(texts, **kwargs):
    params = {"vocabulary_size": 200, "min_frequency": 1, **kwargs}
    return WordPieceTokenizer(**params).fit(texts)


@pytest.fixture(scope="module")
def tokenizer():
    return _fit(SENTENCES * 3)


# ---------------------------------------------------------------- special ids
def test_special_tokens_are_ids_zero_to_four(tokenizer):
    assert tokenizer.vocabulary_[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    ids = [tokenizer.pad_id, tokenizer.unk_id, tokenizer.cls_id]
    ids += [tokenizer.sep_id, tokenizer.mask_id]
    assert ids == [0, 1, 2, 3, 4]
    assert tokenizer.special_ids == [0, 1, 2, 3, 4]
    assert tokenizer.token_to_id("[MASK]") == 4
    assert tokenizer.id_to_token(3) == "[SEP]"
    assert tokenizer.token_to_id("not-a-piece") == tokenizer.unk_id
    assert len(tokenizer) == len(tokenizer.vocabulary_)
    assert len(set(tokenizer.vocabulary_)) == len(tokenizer.vocabulary_)


# ------------------------------------------------------------------ training
def test_merges_follow_counts_and_break_ties_by_string_order():
    # a: 4 times word-initial; b: 3 times inside a word; c: once.
    tokenizer = _fit(["ab ab ab ac"], vocabulary_size=10)
    assert tokenizer.vocabulary_[5:] == ["a", "##b", "##c", "ab", "ac"]
    # Equal counts: the pair that sorts first as strings is merged first.
    tokenizer = _fit(["ac ab"], vocabulary_size=10)
    assert tokenizer.vocabulary_[5:] == ["a", "##b", "##c", "ab", "ac"]


def test_vocabulary_size_is_respected():
    for size in (10, 12, 40):
        tokenizer = _fit(SENTENCES, vocabulary_size=size)
        assert len(tokenizer) <= size
    # Enough room: merging stops when no pair is left.
    tokenizer = _fit(["aa bb"], vocabulary_size=1000)
    assert tokenizer.vocabulary_[5:] == ["##a", "##b", "a", "b", "aa", "bb"]


def test_min_frequency_drops_rare_characters_and_pairs():
    tokenizer = _fit(["ab ab ab xy"], min_frequency=2)
    assert "x" not in tokenizer.vocabulary_
    assert "ab" in tokenizer.vocabulary_
    assert tokenizer.tokenize("ab xy") == ["ab", "[UNK]"]


def test_fit_is_deterministic_and_independent_of_hash_seed(tokenizer):
    texts = SENTENCES * 3
    assert _fit(texts).vocabulary_ == tokenizer.vocabulary_
    code = (
        "import json, sys\n"
        "from core.preprocessing.word_piece_tokenizer import WordPieceTokenizer\n"
        "texts = json.loads(sys.stdin.read())\n"
        "tok = WordPieceTokenizer(vocabulary_size=200, min_frequency=1).fit(texts)\n"
        "print(json.dumps(tok.vocabulary_))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert json.loads(result.stdout) == tokenizer.vocabulary_


def test_fit_accepts_series_arrays_and_generators(tokenizer):
    texts = SENTENCES * 3
    for given in (pd.Series(texts), np.array(texts, dtype=object), (t for t in texts)):
        assert _fit(given).vocabulary_ == tokenizer.vocabulary_
    ids = tokenizer.encode(pd.Series(SENTENCES, index=range(10, 15)))
    np.testing.assert_array_equal(ids, tokenizer.encode(SENTENCES))


# ------------------------------------------------------------------ encoding
def test_round_trip_gives_the_normalised_text(tokenizer):
    for text in [*SENTENCES, "the cat sat on the mat."]:
        assert tokenizer.decode(tokenizer.encode_ids(text)) == text.lower()
    assert tokenizer.tokenize("The cat sat.") == ["the", "cat", "sat", "."]


def test_unseen_words_are_split_into_known_pieces():
    tokenizer = _fit([PLAY_WORDS] * 2, vocabulary_size=40)
    pieces = tokenizer.tokenize("replaying")
    assert len(pieces) > 1
    assert "[UNK]" not in pieces
    assert all(p in tokenizer.vocabulary_ for p in pieces)
    assert all(p.startswith("##") for p in pieces[1:])
    assert tokenizer.decode(tokenizer.encode_ids("replaying")) == "replaying"


def test_unseen_character_gives_unk(tokenizer):
    assert tokenizer.tokenize("zebra") == ["[UNK]"]
    assert tokenizer.tokenize("the cat € mat") == ["the", "cat", "[UNK]", "mat"]
    assert tokenizer.encode_ids("catz") == [tokenizer.unk_id]
    assert tokenizer.tokenize("a" * 101) == ["[UNK]"]


def test_multilingual_text_emoji_and_accents():
    stripped = _fit(MULTILINGUAL * 2)
    pieces = stripped.tokenize("Café 北京 مرحبا 🍕.")
    assert pieces == ["cafe", "北", "京", "مرحبا", "🍕", "."]
    assert stripped.decode(stripped.encode_ids("北京很大。")) == "北京很大。"
    assert stripped.decode(stripped.encode_ids("I love pizza 🍕")) == "i love pizza 🍕"

    kept = _fit(MULTILINGUAL * 2, strip_accents=False, lowercase=False)
    assert kept.tokenize("Café") == ["Café"]
    # A decomposed accent is composed first (NFC), so it is the same word.
    assert kept.tokenize("Cafe\u0301") == ["Café"]
    assert stripped.tokenize("Cafe\u0301") == stripped.tokenize("café") == ["cafe"]
    assert kept.tokenize("Cafe") != kept.tokenize("Café")


def test_control_and_zero_width_characters_are_removed(tokenizer):
    assert tokenizer.tokenize("ca\u200bt\x00 s\u00adat\t\n on\u3000the\u00a0mat") == [
        "cat",
        "sat",
        "on",
        "the",
        "mat",
    ]
    assert tokenizer.tokenize("\u200d\u200b\ufeff") == []


def test_empty_and_whitespace_texts(tokenizer):
    ids = tokenizer.encode(["", "  \t\n "], max_length=6)
    np.testing.assert_array_equal(ids, [[2, 3, 0, 0, 0, 0]] * 2)
    assert tokenizer.encode_ids("") == []
    assert tokenizer.tokenize("   ") == []
    assert tokenizer.decode([]) == ""
    assert tokenizer.encode([]).shape == (0, tokenizer.max_length)


def test_rows_are_cls_ids_sep_then_padding(tokenizer):
    text = "the cat sat on the mat."
    body = tokenizer.encode_ids(text)
    ids = tokenizer.encode([text, "cat"], max_length=12)
    assert ids.dtype == np.int32
    assert ids.shape == (2, 12)
    assert ids[0].tolist() == [2, *body, 3] + [0] * (12 - len(body) - 2)
    assert ids[1, :3].tolist() == [2, tokenizer.token_to_id("cat"), 3]
    assert not ids[1, 3:].any()
    assert tokenizer.encode([text]).shape == (1, tokenizer.max_length)

    plain = tokenizer.encode([text], max_length=12, add_special_tokens=False)
    assert plain[0].tolist() == body + [0] * (12 - len(body))


def test_truncation_keeps_sep(tokenizer):
    text = "the cat sat on the mat."
    body = tokenizer.encode_ids(text)
    ids = tokenizer.encode([text], max_length=5)
    assert ids[0].tolist() == [2, *body[:3], 3]
    assert tokenizer.encode([text], max_length=2)[0].tolist() == [2, 3]
    plain = tokenizer.encode([text], max_length=3, add_special_tokens=False)
    assert plain[0].tolist() == body[:3]


def test_one_megabyte_text_is_truncated(tokenizer):
    texts = [
        "the cat sat on the mat. " * 42_000,
        "the\u00a0café\u200b北京 🍕" * 100_000,
        "." * 1_000_000,
        "a" * 1_000_000,
    ]
    ids = tokenizer.encode(texts, max_length=16)
    assert ids.shape == (4, 16)
    assert (ids[:3, -1] == tokenizer.sep_id).all()
    assert (ids[:, 0] == tokenizer.cls_id).all()
    assert ids[3, :3].tolist() == [2, 1, 3]
    assert ids[0, 1:-1].tolist() == tokenizer.encode_ids("the cat sat on the mat. " * 3)[:14]


def test_long_texts_are_read_in_pieces_the_same_way():
    tokenizer = _fit(MULTILINGUAL * 2)
    # Long enough to be read in pieces; a piece never splits a word or an accent.
    text = " ".join(f"Cafe\u0301{i % 7} 北京 s'il مرحبا 🍕🍕" for i in range(3000))
    length = len(tokenizer.encode_ids(text)) + 2
    np.testing.assert_array_equal(
        tokenizer.encode([text], max_length=length)[0, 1:-1], tokenizer.encode_ids(text)
    )


def test_word_cache_is_bounded(tokenizer, monkeypatch):
    monkeypatch.setattr(module, "CACHE_LIMIT", 3)
    fresh = WordPieceTokenizer.from_state(tokenizer.get_state())
    ids = fresh.encode(SENTENCES)
    assert len(fresh._cache) <= 3
    np.testing.assert_array_equal(ids, tokenizer.encode(SENTENCES))


# ------------------------------------------------------------------ decoding
def test_decode_spacing_and_special_tokens(tokenizer):
    text = "the dog and the cat (and a bird) played, then slept."
    ids = tokenizer.encode([text], max_length=40)[0]
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode(ids, skip_special_tokens=False) == f"[CLS] {text} [SEP]"
    assert tokenizer.decode([tokenizer.mask_id, tokenizer.token_to_id("cat")]) == "cat"
    assert tokenizer.decode(np.array([4, 1, 0], dtype=np.int64), skip_special_tokens=False) == (
        "[MASK] [UNK]"
    )
    pieces = [tokenizer.token_to_id(t) for t in ("[", "cat", "##s", "]", "?")]
    assert "##s" in tokenizer.vocabulary_
    assert tokenizer.decode(pieces) == "[cats]?"


# --------------------------------------------------------------------- state
def test_state_json_round_trip(tokenizer):
    state = json.loads(json.dumps(tokenizer.get_state()))
    loaded = WordPieceTokenizer.from_state(state)
    assert loaded.vocabulary_ == tokenizer.vocabulary_
    assert loaded.max_length == tokenizer.max_length
    texts = [*SENTENCES, "zebra café 🍕", ""]
    np.testing.assert_array_equal(loaded.encode(texts), tokenizer.encode(texts))
    unpickled = pickle.loads(pickle.dumps(tokenizer))
    np.testing.assert_array_equal(unpickled.encode(texts), tokenizer.encode(texts))


def test_from_state_rejects_bad_states(tokenizer):
    state = tokenizer.get_state()
    bad = dict(state, vocabulary=["[UNK]", "[PAD]", *state["vocabulary"][2:]])
    with pytest.raises(ValueError, match=r"must start with the special tokens"):
        WordPieceTokenizer.from_state(bad)
    with pytest.raises(ValueError, match=r"must not repeat a token"):
        WordPieceTokenizer.from_state(dict(state, vocabulary=[*state["vocabulary"], "cat"]))
    with pytest.raises(ValueError, match=r"keys 'config' and 'vocabulary'"):
        WordPieceTokenizer.from_state({"vocabulary": state["vocabulary"]})


# ---------------------------------------------------------------- bad input
def test_texts_must_be_a_list_of_strings(tokenizer):
    message = "`texts` must be a list of strings, not a single string"
    with pytest.raises(TypeError, match=message):
        WordPieceTokenizer().fit("the cat sat")
    with pytest.raises(TypeError, match=message):
        tokenizer.encode("the cat sat")
    cases = [
        (None, r"`texts\[3\]` must be a string\. Received: None \(NoneType\)"),
        (float("nan"), r"`texts\[3\]` must be a string\. Received: nan \(float\)"),
        (7, r"`texts\[3\]` must be a string\. Received: 7 \(int\)"),
    ]
    for value, match in cases:
        texts = ["a b", "c", "d", value]
        with pytest.raises(TypeError, match=match):
            WordPieceTokenizer().fit(texts)
        with pytest.raises(TypeError, match=match):
            tokenizer.encode(texts)
    with pytest.raises(TypeError, match=r"`text` must be a string"):
        tokenizer.encode_ids(["the cat"])
    with pytest.raises(ValueError, match=r"`texts` must be one-dimensional"):
        tokenizer.encode(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match=r"`texts` is empty"):
        WordPieceTokenizer().fit([])
    with pytest.raises(ValueError, match=r"`texts` contains no words"):
        WordPieceTokenizer().fit(["", "  "])


def test_parameters_are_checked(tokenizer):
    message = r"`vocabulary_size` must be an integer >= 10\. Received: vocabulary_size=3"
    with pytest.raises(ValueError, match=message):
        WordPieceTokenizer(vocabulary_size=3)
    with pytest.raises(ValueError, match=r"`max_length` must be an integer >= 2.*max_length=1"):
        WordPieceTokenizer(max_length=1)
    with pytest.raises(ValueError, match=r"`min_frequency` must be a positive integer"):
        WordPieceTokenizer(min_frequency=0)
    with pytest.raises(TypeError, match=r"`lowercase` must be True or False"):
        WordPieceTokenizer(lowercase="yes")
    with pytest.raises(ValueError, match=r"`max_length` must be an integer >= 2.*max_length=1"):
        tokenizer.encode(["a"], max_length=1)
    with pytest.raises(ValueError, match=r"`max_length` must be an integer >= 1.*max_length=0"):
        tokenizer.encode(["a"], max_length=0, add_special_tokens=False)
    with pytest.raises(ValueError, match=r"`ids` must be token ids in \[0, \d+\)\. Received"):
        tokenizer.decode([2, 99999])
    with pytest.raises(ValueError, match=r"`id` must be an integer in \[0, \d+\)"):
        tokenizer.id_to_token(-1)


def test_use_before_fit_raises_not_fitted():
    unfitted = WordPieceTokenizer()
    assert unfitted  # truthiness does not need the vocabulary
    for call in (
        lambda: unfitted.encode(["a"]),
        lambda: unfitted.encode_ids("a"),
        lambda: unfitted.tokenize("a"),
        lambda: unfitted.decode([2]),
        lambda: unfitted.get_state(),
        lambda: len(unfitted),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()
