"""What a base-size keras-hub backbone costs on a CPU: frozen, full fine-tuning and LoRA.

Two presets with random weights are built locally with keras-hub's classes
and saved with `save_to_preset` (nothing is downloaded; random weights
time the same as pretrained ones):

- BERT-base: `BertBackbone(vocabulary_size=30522, num_layers=12,
  num_heads=12, hidden_dim=768, intermediate_dim=3072,
  max_sequence_length=512)`, a `BertTextClassifierPreprocessor` on a
  WordPiece vocabulary of 30,522 tokens (BERT's specials, the characters
  and words of the reviews, then synthetic fillers);
- ViT-Base/16: `ViTBackbone(image_shape=(224, 224, 3), patch_size=16,
  num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072)` with a
  `ViTImageConverter` and a `ViTImageClassifierPreprocessor` at 224 x 224.

Each (model, mode) trains in a fresh Python process, so that its peak
resident memory (`VmHWM`) is its own:

- text: `TextClassifier(backbone=<bert folder>, max_length=128,
  ngrams=False, batch_size=16, max_epochs=1, head_epochs=0, ...)` on the
  first `--texts` reviews of `sample_data/nlp/reviews.csv` (the n-gram path
  is left out: its cost is the same in every mode);
- vision: `ImageClassifier(backbone=<vit folder>, batch_size=8,
  max_epochs=1, head_epochs=0, augment=False, ...)` on `--images` 8 x 8
  digits of `load_digits` (the toolkit resizes them to 224 x 224, 3
  channels);

with `fine_tune="frozen"` (the backbone's pooled features computed once,
the head trains on them), `fine_tune="full"` (every weight trains at
`learning_rate * fine_tune_factor`; `head_epochs=0` so that the one epoch
timed is the full one) and `lora_rank=8` (adapters on the attention query
and value projections and the head train). Every fit holds out 10% of the
rows for validation.

Figures per fit: trainable and total parameters of the model `fit` trains
(read when Keras' `fit` starts), the seconds of the training epoch
(Keras' epoch, validation pass included; the first epoch includes tracing
the graph), seconds per step (the median step after the first), seconds of
the whole `fit` call (loading the preset, tokenizing or resizing, the
features of the frozen mode), and the process' peak RSS.

Run from the repository root:

    python -m benchmarks.pretrained_cost              # about 6 min on 2 cores
    python -m benchmarks.pretrained_cost --quick      # 2-layer variants, under 3 min
        [--tasks text vision] [--modes frozen full lora] [--texts 128] [--images 64]
        [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.process_memory import maxrss_mb, rss_mb
from benchmarks.run_environment import run_environment

REPO_ROOT = Path(__file__).resolve().parents[1]
REVIEWS_CSV = REPO_ROOT / "sample_data" / "nlp" / "reviews.csv"
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BERT_BASE = {
    "vocabulary_size": 30522,
    "num_layers": 12,
    "num_heads": 12,
    "hidden_dim": 768,
    "intermediate_dim": 3072,
    "max_sequence_length": 512,
}
VIT_BASE = {
    "image_shape": (224, 224, 3),
    "patch_size": 16,
    "num_layers": 12,
    "num_heads": 12,
    "hidden_dim": 768,
    "mlp_dim": 3072,
}
MODES = {
    "frozen": {"fine_tune": "frozen"},
    "full": {"fine_tune": "full", "head_epochs": 0},
    "lora": {"lora_rank": 8},
}
TASKS = ("text", "vision")


# ---------------------------------------------------------------- presets
def synthetic_vocabulary(texts, size):
    """`size` WordPiece tokens: specials, characters, `##` characters, words, then fillers."""
    counts = {}
    for text in texts:
        for word in re.findall(r"\w+|[^\w\s]", text.lower()):
            counts[word] = counts.get(word, 0) + 1
    characters = sorted({c for word in counts for c in word})
    vocabulary = SPECIAL_TOKENS + characters + [f"##{c}" for c in characters]
    seen = set(vocabulary)
    vocabulary += [w for w in sorted(counts, key=lambda w: (-counts[w], w)) if w not in seen]
    vocabulary = vocabulary[:size]
    vocabulary += [f"[unused{i}]" for i in range(size - len(vocabulary))]
    return vocabulary


def write_bert_preset(folder, texts, config=None, sequence_length=128):
    """A BERT preset folder with random weights; returns `(folder, parameters)`."""
    import keras
    import keras_hub

    config = dict(config or BERT_BASE)
    vocabulary = synthetic_vocabulary(texts, config["vocabulary_size"])
    keras.utils.set_random_seed(0)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    backbone = keras_hub.models.BertBackbone(**config)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=sequence_length
    )
    os.makedirs(folder, exist_ok=True)
    backbone.save_to_preset(folder)
    preprocessor.save_to_preset(folder)
    return str(folder), int(backbone.count_params())


def write_vit_preset(folder, config=None):
    """A ViT preset folder with random weights; returns `(folder, parameters)`."""
    import keras
    import keras_hub

    config = dict(config or VIT_BASE)
    size = tuple(config["image_shape"][:2])
    keras.utils.set_random_seed(0)
    converter = keras_hub.layers.ViTImageConverter(image_size=size, scale=1 / 127.5, offset=-1.0)
    backbone = keras_hub.models.ViTBackbone(**config)
    os.makedirs(folder, exist_ok=True)
    keras_hub.models.ViTImageClassifierPreprocessor(image_converter=converter).save_to_preset(
        folder
    )
    backbone.save_to_preset(folder)
    return str(folder), int(backbone.count_params())


# ------------------------------------------------------------------ child
def _timed_fits(records):
    """Patches `keras.Model.fit` to record each call's trainable counts and step/epoch times."""
    import keras

    from core.backbones.hub_preset import count_weights

    original = keras.Model.fit

    class Timer(keras.callbacks.Callback):
        def __init__(self, record):
            super().__init__()
            self.record = record

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.perf_counter()
            self.step_started = self.epoch_started

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            self.record["steps"].append(now - self.step_started)
            self.step_started = now

        def on_epoch_end(self, epoch, logs=None):
            self.record["epochs"].append(time.perf_counter() - self.epoch_started)

    def fit(model, *args, **kwargs):
        record = {
            "trainable": count_weights(model.trainable_weights),
            "non_trainable": count_weights(model.non_trainable_weights),
            "steps": [],
            "epochs": [],
        }
        records.append(record)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), Timer(record)]
        return original(model, *args, **kwargs)

    keras.Model.fit = fit


def run_child(spec):
    """Fits one (task, mode) in this process; returns its figures."""
    import keras
    import pandas as pd

    keras.utils.set_random_seed(0)
    records = []
    _timed_fits(records)
    params = {**MODES[spec["mode"]], "max_epochs": 1, "random_state": 0}
    if spec["task"] == "text":
        from domains.nlp import TextClassifier

        reviews = pd.read_csv(REVIEWS_CSV, keep_default_na=False).iloc[: spec["n"]]
        X, y = reviews["text"], reviews["sentiment"]
        clf = TextClassifier(
            backbone=spec["folder"], max_length=128, ngrams=False, batch_size=16, **params
        )
    else:
        from sklearn.datasets import load_digits

        from domains.vision import ImageClassifier

        digits = load_digits()
        X = (digits.images[: spec["n"]] * (255 / 16)).astype(np.uint8)
        y = digits.target[: spec["n"]]
        clf = ImageClassifier(backbone=spec["folder"], batch_size=8, augment=False, **params)
    before = rss_mb("VmRSS")
    started = time.perf_counter()
    clf.fit(X, y)
    fit_seconds = time.perf_counter() - started
    peak = rss_mb("VmHWM")
    model = clf.model_
    trained = records[-1]  # The last stage of the fit: the one timed.
    steps = trained["steps"]
    return {
        **spec,
        "fit_calls": records,
        "trainable": trained["trainable"],
        "model_total": int(model.count_params()),
        "epoch_s": trained["epochs"][0] if trained["epochs"] else None,
        "steps_per_epoch": len(steps),
        "step_s": float(np.median(steps[1:])) if len(steps) > 1 else (steps or [None])[0],
        "first_step_s": steps[0] if steps else None,
        "fit_s": fit_seconds,
        "training_rows": spec["n"] - round(spec["n"] * 0.1),
        "rss_before_fit_mb": before,
        "peak_rss_mb": peak if peak is not None else maxrss_mb(),
    }


def spawn(spec):
    """Runs `run_child(spec)` in a fresh Python process; returns its figures."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        command = [sys.executable, "-m", "benchmarks.pretrained_cost", "--child", json.dumps(spec)]
        command += ["--child-out", out.name]
        completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        if completed.returncode != 0:
            tail = "\n".join(completed.stderr.splitlines()[-15:])
            return {**spec, "error": f"exit {completed.returncode}: {tail}"}
        return json.loads(Path(out.name).read_text())


# ----------------------------------------------------------------- report
def print_report(results):
    print()
    print(
        f"## Base-size keras-hub backbones on this CPU ({results['environment']['cpu_count']} "
        "cores): one epoch per mode, each in a fresh process"
    )
    print()
    for task, info in results["presets"].items():
        print(f"- {task}: {info['name']}, {info['parameters']:,} backbone parameters")
    print()
    print(
        "| model | mode | rows (train) | batch | trainable params | total params | trainable % "
        "| epoch s | steps | s/step | fit s | peak RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in results["runs"]:
        name = results["presets"][row["task"]]["name"]
        if "error" in row:
            print(f"| {name} | {row['mode']} | error: {row['error'].splitlines()[-1]} |")
            continue
        total = row["model_total"]
        share = 100.0 * row["trainable"] / total
        batch = 16 if row["task"] == "text" else 8
        print(
            f"| {name} | {row['mode']} | {row['n']} ({row['training_rows']}) | {batch} "
            f"| {row['trainable']:,} | {total:,} | {share:.2f}% | {row['epoch_s']:.1f} "
            f"| {row['steps_per_epoch']} | {row['step_s']:.3f} | {row['fit_s']:.1f} "
            f"| {row['peak_rss_mb']:,.0f} |"
        )
    print()
    print(
        "epoch s: Keras' training epoch with its validation pass (the first epoch includes "
        "tracing); frozen: the head's epoch on cached features; their computation is in fit s. "
        "s/step: median step after the first."
    )
    print(f"\nTotal time {results['seconds'] / 60:.1f} min.")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pretrained_cost",
        description="Trainable parameters, seconds per epoch and peak memory of base-size "
        "keras-hub backbones by fine-tuning mode, on CPU.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="2-layer variants, fewer rows: under 3 min"
    )
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--modes", nargs="+", choices=tuple(MODES), default=list(MODES))
    parser.add_argument("--texts", type=int, help="reviews per text fit (default 128; quick 32)")
    parser.add_argument("--images", type=int, help="images per vision fit (default 64; quick 16)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.texts is None:
        args.texts = 32 if args.quick else 128
    if args.images is None:
        args.images = 16 if args.quick else 64
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        result = run_child(json.loads(args.child))
        Path(args.child_out).write_text(json.dumps(result))
        return 0
    import keras
    import pandas as pd

    started = time.perf_counter()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"Machine: {os.cpu_count()} CPU(s), load average now {load}", flush=True)
    layers = {"num_layers": 2} if args.quick else {}
    suffix = " (2 layers: --quick)" if args.quick else ""
    runs, presets = [], {}
    with tempfile.TemporaryDirectory(prefix="pretrained_cost_") as folder:
        sizes = {"text": args.texts, "vision": args.images}
        for task in args.tasks:
            if task == "text":
                texts = pd.read_csv(REVIEWS_CSV, keep_default_na=False)["text"].tolist()
                path, n_params = write_bert_preset(
                    os.path.join(folder, "bert_base"), texts, {**BERT_BASE, **layers}
                )
                presets[task] = {"name": "BERT-base" + suffix, "parameters": n_params}
            else:
                path, n_params = write_vit_preset(
                    os.path.join(folder, "vit_base"), {**VIT_BASE, **layers}
                )
                presets[task] = {"name": "ViT-Base/16 224" + suffix, "parameters": n_params}
            keras.backend.clear_session()
            for mode in args.modes:
                row = spawn({"task": task, "mode": mode, "folder": path, "n": sizes[task]})
                runs.append(row)
                if "error" in row:
                    print(f"[{task} {mode}] {row['error']}", file=sys.stderr, flush=True)
                else:
                    print(
                        f"[{task} {mode}] trainable {row['trainable']:,} of "
                        f"{row['model_total']:,}; epoch {row['epoch_s']:.1f} s, "
                        f"{row['step_s']:.2f} s/step, fit {row['fit_s']:.1f} s, "
                        f"peak RSS {row['peak_rss_mb']:.0f} MB",
                        file=sys.stderr,
                        flush=True,
                    )
    results = {
        "benchmark": "pretrained_cost",
        "presets": presets,
        "runs": runs,
        "seconds": time.perf_counter() - started,
        "environment": run_environment(),
        "args": {k: v for k, v in vars(args).items() if not k.startswith("child")},
    }
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if any("error" in row for row in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
