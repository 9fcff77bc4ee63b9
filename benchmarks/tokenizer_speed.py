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

    if args.json:
        results = {
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
