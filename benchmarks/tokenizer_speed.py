"""Speed of `WordPieceTokenizer`: fitting, and encoding against one Keras training epoch.

Data: `--n` short synthetic texts (default 1,000,000), seeded: 5 to 20 words
each, drawn with a Zipf distribution (exponent 1.1) from a vocabulary of
`--words` made-up words (default 5,000) built from random syllables, with
some capitalised first words, numbers and end punctuation.

What it times:

- `WordPieceTokenizer(vocabulary_size=8000).fit` on the first 100,000 texts
  (`--fit-texts`);
- `encode(texts, max_length=64)` on all `--n` texts, with the word cache cold
  (as after `fit` or `from_state`);
- as the reference, one training epoch of a small Keras text model,
  Embedding(8000, 64) + GlobalAveragePooling1D + Dense(1), batch 256, on a
  100,000-row slice of the encoded ids (after an untimed warm-up epoch on
  2,560 rows, so tracing is not counted), scaled to `--n` rows.

Target: encoding the corpus costs less than one training epoch on it
(encode time / scaled epoch time < 1), so tokenization is not the bottleneck.

Beside ours, the same fit and encode by Hugging Face `tokenizers` (Rust), set
up as ours behaves: `BertNormalizer` (lowercase, strip accents, CJK characters
split), `BertPreTokenizer`, `WordPieceTrainer(vocab_size=8000,
min_frequency=2)` with the same special tokens, `[CLS] ... [SEP]`, truncation
and padding to 64, `encode_batch` on all texts (its own threads). And a
behaviour check: our fitted vocabulary loaded into a Hugging Face WordPiece
model, both tokenizers run on probe texts (accents, capitals, CJK, emoji,
punctuation, a long word, a 5,000-word text) and on 10,000 corpus texts; the
share of texts whose pieces agree is printed (skipped when `tokenizers` is
not installed).

Run from the repository root:

    python -m benchmarks.tokenizer_speed [--n 1000000] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import keras
import numpy as np

from core.preprocessing import WordPieceTokenizer

SYLLABLES = (
    "ka ri to ne su mo la vi pe do gu chi an el or ist ung ment tion er ing ly "
    "bra str pl qu ex sh th ou ai ee oo"
).split()
ENDINGS = [".", ".", ".", "?", "!", ""]
VOCABULARY_SIZE = 8000
MAX_LENGTH = 64
EPOCH_ROWS = 100_000
BATCH_SIZE = 256
WARMUP_ROWS = 2560
TARGET_RATIO = 1.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tokenizer_speed",
        description="WordPieceTokenizer fit and encode speed, against one Keras epoch.",
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="texts to encode")
    parser.add_argument("--fit-texts", type=int, default=100_000, help="texts to fit on")
    parser.add_argument("--words", type=int, default=5000, help="made-up words to draw from")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    for name in ("n", "fit_texts", "words"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    return args


def make_words(n_words, rng):
    """`n_words` distinct made-up words of 1 to 4 syllables."""
    words = set()
    while len(words) < n_words:
        size = rng.integers(1, 5)
        words.add("".join(rng.choice(SYLLABLES, size)))
    return sorted(words)


def make_texts(n_texts, n_words, seed):
    """Synthetic short texts with Zipf-distributed words."""
    rng = np.random.default_rng(seed)
    words = np.array(make_words(n_words, rng), dtype=object)
    rng.shuffle(words)
    probabilities = 1.0 / np.arange(1, n_words + 1) ** 1.1
    probabilities /= probabilities.sum()
    lengths = rng.integers(5, 21, n_texts)
    drawn = words[rng.choice(n_words, size=int(lengths.sum()), p=probabilities)]
    # A few numbers, as real texts have.
    numbers = rng.random(drawn.size) < 0.02
    drawn[numbers] = rng.integers(0, 2000, int(numbers.sum())).astype(str)
    capital = rng.random(n_texts) < 0.5
    endings = rng.choice(ENDINGS, n_texts)
    texts = []
    start = 0
    for length, upper, ending in zip(lengths.tolist(), capital, endings, strict=True):
        text = " ".join(drawn[start : start + length]) + ending
        texts.append(text.capitalize() if upper else text)
        start += length
    return texts


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def epoch_seconds(ids, seed):
    """Seconds of one training epoch of a small text model on `ids`."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((ids.shape[1],), dtype="int32"),
            keras.layers.Embedding(VOCABULARY_SIZE, 64),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    labels = (ids[:, 1] % 2).astype("float32")
    warmup = min(WARMUP_ROWS, len(ids))
    model.fit(ids[:warmup], labels[:warmup], batch_size=BATCH_SIZE, epochs=1, verbose=0)
    seconds, _ = timed(model.fit, ids, labels, batch_size=BATCH_SIZE, epochs=1, verbose=0)
    return seconds


PROBES = [
    "Café déjà vu, naïve résumé!",
    "UPPER lower MiXeD case",
    "東京は日本の首都です",
    "mixed 中文 and english words",
    "emoji 🙂 and symbols #@%",
    "a pneumonoultramicroscopicsilicovolcanoconiosis case",
    "numbers 3.14159 and 2,000 and 1e-5",
    " ".join(["long"] * 5000),
]


def hugging_face_figures(ours, fit_texts, texts):
    """Fit and encode times of Hugging Face `tokenizers` set up as ours, and the agreement
    of the two on the same vocabulary; None without the package."""
    try:
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    except ImportError:
        print("Hugging Face tokenizers: not installed, skipped")
        return None
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    def configured(model):
        tokenizer = Tokenizer(model)
        tokenizer.normalizer = normalizers.BertNormalizer(
            lowercase=True, strip_accents=True, handle_chinese_chars=True
        )
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        return tokenizer

    hf = configured(models.WordPiece(unk_token="[UNK]"))
    trainer = trainers.WordPieceTrainer(
        vocab_size=VOCABULARY_SIZE, min_frequency=2, special_tokens=specials
    )
    seconds_fit, _ = timed(hf.train_from_iterator, fit_texts, trainer=trainer)
    hf.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", hf.token_to_id("[CLS]")), ("[SEP]", hf.token_to_id("[SEP]"))],
    )
    hf.enable_truncation(MAX_LENGTH)
    hf.enable_padding(length=MAX_LENGTH, pad_id=hf.token_to_id("[PAD]"))
    seconds_encode, encoded = timed(hf.encode_batch, texts)
    print(
        f"Hugging Face tokenizers: fit {seconds_fit:.2f} s (vocabulary "
        f"{hf.get_vocab_size():,}), encode {len(texts):,} texts {seconds_encode:.2f} s "
        f"({len(texts) / seconds_encode:,.0f} texts/s, {os.cpu_count()} threads)"
    )

    vocabulary = {ours.id_to_token(i): i for i in range(len(ours))}
    same_vocabulary = configured(models.WordPiece(vocabulary, unk_token="[UNK]"))

    def agreement(samples):
        agree = 0
        for text in samples:
            theirs = same_vocabulary.encode(text, add_special_tokens=False).tokens
            agree += theirs == ours.tokenize(text)
        return agree / len(samples)

    probes, corpus = agreement(PROBES), agreement(texts[:10_000])
    disagreeing = [
        text[:40]
        for text in PROBES
        if same_vocabulary.encode(text, add_special_tokens=False).tokens != ours.tokenize(text)
    ]
    print(
        f"same vocabulary, same pieces: {probes:.0%} of {len(PROBES)} probes, "
        f"{corpus:.2%} of 10,000 corpus texts; probes that differ: {disagreeing}"
    )
    return {
        "fit_seconds": seconds_fit,
        "encode_seconds": seconds_encode,
        "texts_per_second": len(texts) / seconds_encode,
        "vocabulary": hf.get_vocab_size(),
        "probe_agreement": probes,
        "corpus_agreement": corpus,
        "probes_that_differ": disagreeing,
        "encoded_rows": len(encoded),
    }


def main(argv=None):
    args = parse_args(argv)
    seconds_data, texts = timed(make_texts, args.n, args.words, args.random_state)
    words_per_text = sum(t.count(" ") + 1 for t in texts[:10_000]) / min(len(texts), 10_000)
    print(f"{args.n:,} synthetic texts ({words_per_text:.1f} words each) in {seconds_data:.1f} s")

    fit_texts = texts[: args.fit_texts]
    tokenizer = WordPieceTokenizer(vocabulary_size=VOCABULARY_SIZE, max_length=MAX_LENGTH)
    seconds_fit, _ = timed(tokenizer.fit, fit_texts)
    print(
        f"fit on {len(fit_texts):,} texts: {seconds_fit:.2f} s, "
        f"vocabulary of {len(tokenizer):,} pieces"
    )

    seconds_encode, ids = timed(tokenizer.encode, texts, max_length=MAX_LENGTH)
    tokens = int((ids != tokenizer.pad_id).sum())
    print(
        f"encode {args.n:,} texts (max_length={MAX_LENGTH}): {seconds_encode:.2f} s, "
        f"{args.n / seconds_encode:,.0f} texts/s, {tokens / seconds_encode:,.0f} tokens/s, "
        f"{np.mean(ids != tokenizer.pad_id) * MAX_LENGTH:.1f} tokens per row"
    )

    rows = min(EPOCH_ROWS, args.n)
    seconds_epoch_slice = epoch_seconds(ids[:rows], args.random_state)
    seconds_epoch = seconds_epoch_slice * args.n / rows
    print(
        f"Keras epoch (Embedding {VOCABULARY_SIZE}x64 + average pooling + Dense, batch "
        f"{BATCH_SIZE}): {seconds_epoch_slice:.2f} s on {rows:,} rows, "
        f"{seconds_epoch:.2f} s scaled to {args.n:,}"
    )
    ratio = seconds_encode / seconds_epoch
    passed = bool(ratio < TARGET_RATIO)
    print(
        f"encode time / epoch time = {ratio:.2f} (target < {TARGET_RATIO:g})  "
        f"{'PASS' if passed else 'FAIL'}"
    )

    hugging_face = hugging_face_figures(tokenizer, fit_texts, texts)

    if args.json:
        results = {
            "hugging_face": hugging_face,
            "benchmark": "tokenizer_speed",
            "texts": args.n,
            "words_per_text": words_per_text,
            "fit": {
                "texts": len(fit_texts),
                "seconds": seconds_fit,
                "vocabulary": len(tokenizer),
            },
            "encode": {
                "seconds": seconds_encode,
                "texts_per_second": args.n / seconds_encode,
                "tokens": tokens,
            },
            "epoch": {"rows": rows, "seconds": seconds_epoch_slice, "scaled": seconds_epoch},
            "ratio": ratio,
            "target": TARGET_RATIO,
            "passed": passed,
            "environment": {
                "python": platform.python_version(),
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
                "cpu_count": os.cpu_count(),
            },
            "args": vars(args),
        }
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
