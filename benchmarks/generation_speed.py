"""Generation speed of `TextGenerator`: the key/value cache against recomputing the prefix.

`generate(..., use_cache=True)` runs only the new token through the model at
each step, attending to cached keys and values; `use_cache=False` runs the
whole prefix again at every step. Both must give the same greedy text, and
the cache must be faster, more so as the prefix grows.

What it does: trains a small `TextGenerator` on `sample_data/nlp/corpus.txt`
without its first `--held-out` lines (default 500), with a context long
enough for the prefix to grow (`max_length=256`; other parameters with
`--set`). Then it times, with and without the cache, one untimed warm-up
call of each path and `--repeats` (default 3) timed calls of each,
interleaved, keeping the median:

- `generate(prompt, max(--lengths), greedy=True)` itself. A trained model
  ends its text after a sentence: greedy generation stops at the
  end-of-text token long before 256 tokens, so this row is short;
- for each of `--lengths` (default 32 128 256 new tokens), the loop that
  `generate` runs, with the same decoding classes (`CachedDecoding`,
  `FullDecoding` from `core.backbones.causal_lm_model`) and the same
  `next_token(greedy=True)`, but with the end-of-text token banned, so that
  exactly that many tokens are generated and the prefix grows to its full
  length. Prompt encoding and the final decoding are timed too, as in
  `generate`. Past `max_length` tokens both paths keep the last half of the
  context, as `generate` does.

Finally it reports the perplexity of the held-out lines against a unigram
model's.

Targets (exit status 1 when one is missed): the same greedy text with and
without the cache in every row; the cache faster (speed-up > 1) at the
longest length; held-out perplexity below the unigram perplexity.

Run from the repository root:

    python -m benchmarks.generation_speed [--lengths 32 128 256] [--repeats 3]
        [--set max_epochs=6] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.run_environment import run_environment
from benchmarks.settings import parse_settings
from core.backbones.causal_lm_model import CachedDecoding, FullDecoding
from core.generation import next_token
from domains.nlp import TextGenerator

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_TXT = REPO_ROOT / "sample_data" / "nlp" / "corpus.txt"
DEFAULT_PARAMS = {
    "embedding_dim": 64,
    "num_layers": 2,
    "intermediate_dim": 256,
    "max_length": 256,
    "max_epochs": 4,
}
TARGET_SPEEDUP = 1.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.generation_speed",
        description="TextGenerator.generate tokens/s with and without the key/value cache, "
        "and held-out perplexity against a unigram model.",
    )
    parser.add_argument(
        "--lengths",
        type=int,
        nargs="+",
        default=[32, 128, 256],
        help="new tokens per generate call (default 32 128 256)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed calls of each path per length (median)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls of each path first")
    parser.add_argument("--prompt", default="The battery", help="text to continue")
    parser.add_argument(
        "--held-out", type=int, default=500, help="first corpus lines kept out of training"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="TextGenerator parameter, value a Python literal or JSON (repeatable), e.g. "
        "--set max_epochs=6 --set embedding_dim=128",
    )
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    for name in ("repeats", "held_out"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.warmup < 0:
        parser.error("--warmup must be a non-negative integer")
    if any(n < 1 for n in args.lengths):
        parser.error(f"--lengths must be positive integers. Received: {args.lengths}")
    args.params = parse_settings(
        args.overrides, TextGenerator, DEFAULT_PARAMS, {"random_state": "--random-state"}
    )
    return args


def load_corpus():
    with open(CORPUS_TXT, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def new_tokens(generator, prompt, text):
    """Tokens added to `prompt`, counted by re-encoding the output."""
    tokenizer = generator.tokenizer_
    return len(tokenizer.encode_ids(text)) - len(tokenizer.encode_ids(prompt))


def forced_generate(generator, decoding, prompt, length):
    """`generate(prompt, length, greedy=True)` with the end-of-text token banned.

    The same steps as `TextGenerator.generate`: encode the prompt, run it
    through `decoding`, then choose a token and advance `length` times, and
    decode the ids; only the end-of-text token can never be chosen.

    Returns:
        `(text, new token ids)`.
    """
    tokenizer = generator.tokenizer_
    prompt_ids = [tokenizer.cls_id, *tokenizer.encode_ids(prompt)]
    banned = [tokenizer.pad_id, tokenizer.cls_id, tokenizer.mask_id, tokenizer.sep_id]
    rng = np.random.default_rng(0)  # Not used by greedy decoding.
    logits = decoding.start(prompt_ids)
    new_ids = []
    for _ in range(length):
        token = next_token(logits, rng, greedy=True, banned=banned)
        new_ids.append(token)
        logits = decoding.advance(token)
    return tokenizer.decode(prompt_ids + new_ids), new_ids


def time_paths(calls, args):
    """Median seconds and outputs of each of `calls` (name -> function), interleaved."""
    for _ in range(args.warmup):
        for call in calls.values():
            call()
    seconds = {name: [] for name in calls}
    outputs = {name: [] for name in calls}
    for repeat in range(args.repeats):
        # Alternate which path goes first, so both see the same machine load.
        order = list(calls) if repeat % 2 == 0 else list(calls)[::-1]
        for name in order:
            elapsed, output = timed(calls[name])
            seconds[name].append(elapsed)
            outputs[name].append(output)
    return seconds, outputs


def row(label, requested, tokens, seconds, same_text, text):
    result = {"label": label, "requested": requested, "tokens": tokens, "same_text": same_text}
    for name, values in seconds.items():
        median = float(np.median(values))
        result[name] = {
            "seconds": values,
            "median_s": median,
            "tokens_per_s": tokens / median if median > 0 else float("nan"),
        }
    result["speedup"] = result["no_cache"]["median_s"] / result["cache"]["median_s"]
    result["text"] = text
    return result


def time_generate(generator, prompt, length, args):
    """Greedy `generate` with and without the cache (it may stop early)."""
    calls = {
        "cache": lambda: generator.generate(prompt, length, greedy=True, use_cache=True),
        "no_cache": lambda: generator.generate(prompt, length, greedy=True, use_cache=False),
    }
    seconds, texts = time_paths(calls, args)
    same = len(set(texts["cache"] + texts["no_cache"])) == 1
    tokens = new_tokens(generator, prompt, texts["cache"][0])
    return row("generate()", length, tokens, seconds, same, texts["cache"][0])


def time_forced(generator, decodings, prompt, length, args):
    """The generate loop with and without the cache, exactly `length` new tokens."""
    calls = {
        name: (lambda d=decoding: forced_generate(generator, d, prompt, length))
        for name, decoding in decodings.items()
    }
    seconds, outputs = time_paths(calls, args)
    ids = [tuple(new) for name in calls for _, new in outputs[name]]
    same = len(set(ids)) == 1
    return row("EOS banned", length, length, seconds, same, outputs["cache"][0][0])


def sampled_agreement(generator, prompt, length):
    """Whether seeded top-k sampling gives the same text with and without the cache."""
    texts = [
        generator.generate(prompt, length, top_k=40, seed=0, use_cache=use_cache)
        for use_cache in (True, False)
    ]
    return {"same_text": texts[0] == texts[1], "text": texts[0]}


def print_report(results):
    fit = results["fit"]
    print()
    print(
        f"Model: TextGenerator {json.dumps(results['params'])}, random_state="
        f"{results['random_state']}; {fit['epochs']} epoch(s) in {fit['seconds']:.1f} s on "
        f"{fit['lines']} lines, final val_loss {fit['val_loss']}"
    )
    print(
        f"greedy decoding of {results['prompt']!r}, median of {results['repeats']} after "
        f"{results['warmup']} warm-up call(s) of each path"
    )
    print()
    header = (
        f"{'call':<12} {'new tokens':>10} {'cache s':>8} {'cache tok/s':>11} "
        f"{'no-cache s':>10} {'no-cache tok/s':>14} {'speed-up':>8}  same text"
    )
    print(header)
    print("-" * len(header))
    for line in [results["generate"], *results["lengths"]]:
        cache, full = line["cache"], line["no_cache"]
        tokens = (
            f"{line['tokens']}"
            if line["tokens"] == line["requested"]
            else (f"{line['tokens']} of {line['requested']}")
        )
        print(
            f"{line['label']:<12} {tokens:>10} {cache['median_s']:>8.3f} "
            f"{cache['tokens_per_s']:>11.1f} {full['median_s']:>10.3f} "
            f"{full['tokens_per_s']:>14.1f} {line['speedup']:>7.2f}x  "
            f"{'yes' if line['same_text'] else 'NO'}"
        )
    generated = results["generate"]
    print(f"\ngenerate() text ({generated['tokens']} new tokens): {generated['text'][:160]!r}")
    longest = results["lengths"][-1]
    print(f"EOS banned, {longest['tokens']} new tokens: {longest['text'][:160]!r}")
    sampled = results["sampled"]
    print(
        f"sampled generate() (top_k=40, seed=0), same text with and without the cache: "
        f"{'yes' if sampled['same_text'] else 'no'} (informational): {sampled['text'][:120]!r}"
    )
    quality = results["perplexity"]
    print(
        f"\nheld-out perplexity ({quality['lines']} lines): {quality['model']:.2f}, unigram "
        f"{quality['unigram']:.2f} (ratio {quality['model'] / quality['unigram']:.3f})"
    )
    print()
    checks = results["checks"]
    same = _verdict(checks["same"])
    print(f"same greedy text with and without the cache in every row: {same}")
    print(
        f"speed-up at {longest['requested']} new tokens: {longest['speedup']:.2f}x "
        f"(target > {TARGET_SPEEDUP:g}x)  {_verdict(checks['speedup'])}"
    )
    print(f"perplexity below the unigram perplexity: {_verdict(checks['perplexity'])}")


def _verdict(passed):
    return "PASS" if passed else "FAIL"


def main(argv=None):
    args = parse_args(argv)
    corpus = load_corpus()
    if args.held_out >= len(corpus):
        raise SystemExit(f"--held-out must be below the {len(corpus)} corpus lines")
    held_out, train = corpus[: args.held_out], corpus[args.held_out :]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"Machine: {os.cpu_count()} CPU(s), load average now {load}")
    print(f"Training on {len(train)} lines ...", flush=True)
    generator = TextGenerator(**args.params, random_state=args.random_state)
    fit_seconds, _ = timed(generator.fit, train)

    lengths = sorted(set(args.lengths))
    print(f"timing generate(..., {lengths[-1]}) ...", file=sys.stderr, flush=True)
    generate_row = time_generate(generator, args.prompt, lengths[-1], args)
    # Built once, as `generate` keeps them: each compiles its graph on the first call.
    decodings = {
        "cache": CachedDecoding(generator.model_),
        "no_cache": FullDecoding(generator.model_),
    }
    rows = []
    for length in lengths:
        print(f"timing {length} new tokens ...", file=sys.stderr, flush=True)
        rows.append(time_forced(generator, decodings, args.prompt, length, args))
    sampled = sampled_agreement(generator, args.prompt, min(64, lengths[-1]))
    perplexity = generator.perplexity(held_out)
    unigram = generator.unigram_perplexity(held_out)
    checks = {
        "same": all(line["same_text"] for line in [generate_row, *rows]),
        "speedup": bool(rows[-1]["speedup"] > TARGET_SPEEDUP),
        "perplexity": bool(perplexity < unigram),
    }
    val_loss = generator.history_.get("val_loss")
    results = {
        "benchmark": "generation_speed",
        "params": args.params,
        "random_state": args.random_state,
        "prompt": args.prompt,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "fit": {
            "lines": len(train),
            "epochs": generator.n_epochs_,
            "seconds": fit_seconds,
            "val_loss": round(val_loss[-1], 4) if val_loss else None,
            "history": generator.history_,
        },
        "generate": generate_row,
        "lengths": rows,
        "sampled": sampled,
        "perplexity": {"lines": len(held_out), "model": perplexity, "unigram": unigram},
        "checks": checks,
        "environment": run_environment(),
        "args": {k: v for k, v in vars(args).items() if k != "params"},
    }
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
