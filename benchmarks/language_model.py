"""`TextGenerator` against an interpolated Kneser-Ney n-gram model, and its training speed.

Corpora (nothing is downloaded), each split 90/10 into training and held-out
texts by a fixed-seed shuffle (`--seed`):

- corpus: the shipped `sample_data/nlp/corpus.txt` (one product review a line);
- docstrings: real prose, the docstring paragraphs of installed numpy, scipy
  and scikit-learn (built as in `benchmarks.text_quality`), one paragraph of
  8 to 120 words a text, at most `--max-texts` (default 8,000) texts.

Models, on the same tokens (the fitted `TextGenerator`'s own subword tokenizer,
each text as `[CLS] tokens [SEP]`, every token after [CLS] predicted):

- TextGenerator: `TextGenerator(random_state=seed)`, defaults unless
  `--set key=value`. `fit` holds out `validation_fraction` of the training
  blocks and stops when their loss (log perplexity) has not improved for
  `patience` epochs, keeping the best epoch.
- Kneser-Ney: interpolated Kneser-Ney of order `--order` (default 3) with
  absolute discount 0.75, continuation counts at the lower orders and a
  uniform floor, trained on the same training token ids (the
  classic n-gram reference; written here, about 60 lines).
- Unigram: `TextGenerator.unigram_perplexity`, for scale.

Speed: a plain Keras `model.fit` of the same architecture (`keras.models.clone_model`
of the fitted model, freshly initialised), on the same blocks, batch size, loss, optimizer and
validation rows, for as many epochs as `TextGenerator.fit` ran (at most
`--speed-epochs`, default 3, each side), against `TextGenerator.fit` with
`max_epochs` set to that number and early stopping off: tokens per second of
training, first epoch included on both sides.

Targets (exit status 1 when one is missed): held-out perplexity below the
Kneser-Ney model's on every corpus; `TextGenerator.fit` at most 1.1x the time
of Keras' `model.fit` per epoch.

Run from the repository root:

    python -m benchmarks.language_model [--corpora corpus docstrings] [--order 3]
        [--set max_epochs=10] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import platform
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import keras
import numpy as np

from benchmarks import text_quality
from benchmarks.generation_speed import load_corpus
from benchmarks.settings import parse_settings
from domains.nlp import TextGenerator

CORPORA = ("corpus", "docstrings")
DOCSTRING_PACKAGES = ("numpy", "scipy", "sklearn")
DOC_WORDS = (8, 120)
HELD_OUT = 0.1
TARGET_SPEED_RATIO = 1.1


# ------------------------------------------------------------------- corpora
def docstring_corpus(max_texts, seed):
    """Docstring paragraphs of installed packages: real, varied technical prose."""
    names = text_quality.name_pattern(DOCSTRING_PACKAGES)
    texts = []
    for package in DOCSTRING_PACKAGES:
        for paragraphs in text_quality.package_docstrings(package):
            for paragraph in paragraphs:
                text = " ".join(names.sub(" ", paragraph).split())
                if DOC_WORDS[0] <= len(text.split()) <= DOC_WORDS[1]:
                    texts.append(text)
    texts = list(dict.fromkeys(texts))
    rng = np.random.default_rng(seed)
    return [texts[i] for i in np.sort(rng.permutation(len(texts))[:max_texts])]


def split(texts, seed):
    order = np.random.default_rng(seed).permutation(len(texts))
    n_held_out = round(HELD_OUT * len(texts))
    held_out = [texts[i] for i in np.sort(order[:n_held_out])]
    return [texts[i] for i in np.sort(order[n_held_out:])], held_out


# ---------------------------------------------------------------- Kneser-Ney
class KneserNey:
    """Interpolated Kneser-Ney n-gram model over token ids.

    Args:
        order: n-gram order (3: trigrams).
        vocabulary_size: number of token ids (for the uniform floor).
        discount: absolute discount subtracted from every seen count.
    """

    def __init__(self, order, vocabulary_size, discount=0.75):
        self.order, self.vocabulary_size, self.discount = order, vocabulary_size, discount

    def fit(self, sequences):
        """Counts n-grams of each sequence; its first id is the start token, never predicted."""
        top = Counter()  # Highest order: real counts.
        for seq in sequences:
            padded = [seq[0]] * (self.order - 2) + list(seq)
            for i in range(self.order - 1, len(padded)):
                top[tuple(padded[i - self.order + 1 : i + 1])] += 1
        # Lower orders: continuation counts (distinct left extensions).
        self.counts = {self.order: top}
        for n in range(self.order - 1, 0, -1):
            self.counts[n] = Counter(gram[1:] for gram in self.counts[n + 1])
        self.context_totals, self.context_types = {}, {}
        for n, counts in self.counts.items():
            totals, types = defaultdict(int), defaultdict(int)
            for gram, count in counts.items():
                totals[gram[:-1]] += count
                types[gram[:-1]] += 1
            self.context_totals[n], self.context_types[n] = totals, types
        return self

    def probability(self, context, token):
        """P(token | the last order - 1 ids of context), interpolated down to a uniform floor."""
        p = 1.0 / self.vocabulary_size
        for n in range(1, self.order + 1):
            ctx = tuple(context[len(context) - n + 1 :]) if n > 1 else ()
            total = self.context_totals[n].get(ctx, 0)
            if total == 0:
                continue  # Unseen context: keep the lower order's estimate.
            count = self.counts[n].get((*ctx, token), 0)
            backoff = self.discount * self.context_types[n][ctx] / total
            p = max(count - self.discount, 0.0) / total + backoff * p
        return p

    def perplexity(self, sequences):
        log_sum, n_tokens = 0.0, 0
        for seq in sequences:
            padded = [seq[0]] * (self.order - 2) + list(seq)
            for i in range(self.order - 1, len(padded)):
                log_sum -= np.log(self.probability(padded[:i], padded[i]))
                n_tokens += 1
        return float(np.exp(log_sum / max(n_tokens, 1)))


# -------------------------------------------------------------------- speed
def keras_fit_seconds(generator, train_texts, epochs, seed):
    """Seconds of a plain Keras `model.fit` on the blocks `TextGenerator.fit` trains on."""
    from core.preprocessing.corpus_adapter import token_blocks

    keras.utils.set_random_seed(seed)
    stream = np.concatenate([generator._text_ids(t) for t in train_texts])
    blocks = token_blocks(stream, generator.max_length + 1)
    order = np.random.default_rng(seed).permutation(len(blocks))
    n_val = round(generator.validation_fraction * len(blocks))
    val, blocks = blocks[order[:n_val]], blocks[order[n_val:]]
    # The same architecture, freshly initialised, as the training-cost benchmark does.
    model = keras.models.clone_model(generator.model_)
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=generator.learning_rate, weight_decay=generator.weight_decay
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    started = time.perf_counter()
    model.fit(
        blocks[:, :-1],
        blocks[:, 1:],
        sample_weight=(blocks[:, 1:] != 0).astype(np.float32),
        validation_data=(val[:, :-1], val[:, 1:], (val[:, 1:] != 0).astype(np.float32)),
        batch_size=generator._batch_size(len(blocks)),
        epochs=epochs,
        shuffle=True,
        verbose=0,
    )
    seconds = time.perf_counter() - started
    keras.backend.clear_session()
    return seconds, int(blocks.size)


# ---------------------------------------------------------------------- run
def run_corpus(name, texts, args):
    train, held_out = split(texts, args.seed)
    params = {**args.params, "random_state": args.seed}
    started = time.perf_counter()
    generator = TextGenerator(**params).fit(train)
    fit_seconds = time.perf_counter() - started
    ids = [generator._text_ids(t) for t in train]
    held_out_ids = [generator._text_ids(t) for t in held_out]
    kn = KneserNey(args.order, len(generator.tokenizer_)).fit(ids)
    result = {
        "corpus": name,
        "texts": {"train": len(train), "held_out": len(held_out)},
        "tokens": {"train": int(sum(len(s) - 1 for s in ids))},
        "params": params,
        "fit_seconds": fit_seconds,
        "epochs": generator.n_epochs_,
        "max_epochs": generator.max_epochs,
        "stopped_early": generator.n_epochs_ < generator.max_epochs,
        "best_epoch": int(np.argmin(generator.history_["val_loss"])) + 1
        if "val_loss" in generator.history_
        else None,
        "validation_perplexity_by_epoch": [
            float(np.exp(v)) for v in generator.history_.get("val_loss", [])
        ],
        "perplexity": {
            "TextGenerator": generator.perplexity(held_out),
            f"Kneser-Ney {args.order}-gram": kn.perplexity(held_out_ids),
            "unigram": generator.unigram_perplexity(held_out),
            **mixture_parts(generator, held_out),
        },
        "ngram_weight": generator.ngram_weight_,
    }
    epochs = min(args.speed_epochs, generator.n_epochs_)
    timed = TextGenerator(**{**params, "max_epochs": epochs, "patience": epochs + 1})
    started = time.perf_counter()
    timed.fit(train)
    toolkit_seconds = timed.training_seconds_
    keras_seconds, tokens = keras_fit_seconds(timed, train, epochs, args.seed)
    result["speed"] = {
        "epochs": epochs,
        "tokens_per_epoch": tokens,
        "TextGenerator.fit tokens/s": tokens * epochs / toolkit_seconds,
        "keras model.fit tokens/s": tokens * epochs / keras_seconds,
        "time_ratio": toolkit_seconds / keras_seconds,
    }
    ppl = result["perplexity"]
    result["verdicts"] = {
        "below_kneser_ney": ppl["TextGenerator"] < ppl[f"Kneser-Ney {args.order}-gram"],
        f"fit_within_{TARGET_SPEED_RATIO}x_of_keras": result["speed"]["time_ratio"]
        <= TARGET_SPEED_RATIO,
    }
    return result


def mixture_parts(generator, texts):
    """Held-out perplexity of each part of the generator's mixture alone."""
    if generator.ngram_model_ is None:
        return {}
    share, parts = generator.ngram_weight_, {}
    try:
        for name, weight in (("its network alone", 0.0), ("its n-gram alone", 1.0)):
            generator.ngram_weight_ = weight
            parts[name] = generator.perplexity(texts)
    finally:
        generator.ngram_weight_ = share
    return parts


def print_result(result):
    print()
    print(
        f"== {result['corpus']}: {result['texts']['train']} training texts "
        f"({result['tokens']['train']} tokens), {result['texts']['held_out']} held out"
    )
    print(
        f"   TextGenerator.fit: {result['fit_seconds']:.0f}s, {result['epochs']} epochs of "
        f"{result['max_epochs']} (stopped early: {result['stopped_early']}; best epoch "
        f"{result['best_epoch']})"
    )
    print(f"   TextGenerator's n-gram share, chosen on validation: {result['ngram_weight']:.2f}")
    for model, ppl in result["perplexity"].items():
        print(f"   held-out perplexity {model:<26} {ppl:>9.1f}")
    speed = result["speed"]
    print(
        f"   training speed over {speed['epochs']} epoch(s): TextGenerator.fit "
        f"{speed['TextGenerator.fit tokens/s']:.0f} tokens/s, Keras model.fit "
        f"{speed['keras model.fit tokens/s']:.0f} tokens/s; time ratio "
        f"{speed['time_ratio']:.2f}x"
    )
    for verdict, passed in result["verdicts"].items():
        print(f"   {verdict}: {'PASS' if passed else 'FAIL'}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.language_model",
        description="TextGenerator's held-out perplexity against interpolated Kneser-Ney, "
        "and its training speed against Keras model.fit.",
    )
    parser.add_argument("--corpora", nargs="+", choices=CORPORA, default=list(CORPORA))
    parser.add_argument("--order", type=int, default=3, help="Kneser-Ney order (default 3)")
    parser.add_argument("--max-texts", type=int, default=8000, help="docstring texts at most")
    parser.add_argument("--speed-epochs", type=int, default=3, help="epochs timed per side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="TextGenerator parameter (repeatable), e.g. --set max_epochs=10",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.order < 2:
        parser.error(f"--order must be at least 2: {args.order}")
    if args.speed_epochs < 1:
        parser.error(f"--speed-epochs must be positive: {args.speed_epochs}")
    args.params = parse_settings(args.overrides, TextGenerator, reserved={"random_state": "--seed"})
    return args


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    results = []
    for name in args.corpora:
        texts = load_corpus() if name == "corpus" else docstring_corpus(args.max_texts, args.seed)
        results.append(run_corpus(name, texts, args))
        print_result(results[-1])
    print(f"\nTotal time {(time.perf_counter() - started) / 60:.1f} min.")
    if args.json:
        payload = {
            "benchmark": "language_model",
            "environment": {
                "python": platform.python_version(),
                "keras": keras.__version__,
                "cpu_count": os.cpu_count(),
            },
            "results": results,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return 0 if all(all(r["verdicts"].values()) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
