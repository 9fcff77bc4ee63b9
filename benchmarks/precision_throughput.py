"""Training throughput (samples/s) in float32 against mixed_bfloat16 with XLA.

Two models with the transformer backbone: `TabularClassifier(backbone=
"transformer")` on a generated table, and `TextClassifier` (n-gram path off,
so only the transformer trains) on generated texts. Each configuration is
fitted twice, for 1 and for `--epochs` epochs, without validation; the
steady-state throughput is the extra rows over the extra seconds, so tracing
and XLA compilation do not count. The ratio mixed/float32 is measured in the
same run.

On a GPU with bfloat16 tensor cores (A100, H100, H200) mixed precision and XLA
are where the speed-up is; on a CPU bfloat16 is usually slower, and the script
says which device it ran on.

Run from the repository root:

    python -m benchmarks.precision_throughput [--rows 20000] [--epochs 4] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import time

import numpy as np
import pandas as pd

CONFIGS = {
    "float32": {"precision": "float32", "jit_compile": False},
    "mixed_bfloat16+xla": {"precision": "mixed_bfloat16", "jit_compile": True},
}


def make_table(rows, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 16)), columns=[f"x{i}" for i in range(16)])
    for i in range(4):
        X[f"c{i}"] = rng.choice([f"v{j}" for j in range(20)], size=rows)
    y = (X["x0"] - X["x1"] + (X["c0"] == "v1") + rng.logistic(size=rows) > 0).astype(int)
    return X, y


def make_texts(rows, seed=0):
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(2000)])
    y = rng.integers(0, 2, size=rows)
    texts = []
    for label in y:
        ids = rng.zipf(1.3, size=64) % 2000
        ids[:4] = rng.integers(0, 50, size=4) + 50 * label  # Words that carry the label.
        texts.append(" ".join(words[ids]))
    return texts, y


def throughput(estimator_cls, X, y, params, epochs):
    seconds = {}
    for n_epochs in (1, epochs):
        model = estimator_cls(
            max_epochs=n_epochs, validation_fraction=0.0, random_state=0, **params
        ).fit(X, y)
        seconds[n_epochs] = model.training_seconds_
    return (epochs - 1) * len(y) / max(seconds[epochs] - seconds[1], 1e-9)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import tensorflow as tf

    from core.estimators import TabularClassifier
    from domains.nlp import TextClassifier

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    models = {
        "tabular transformer": (
            TabularClassifier,
            *make_table(args.rows),
            {"backbone": "transformer", "embedding_dim": 32, "batch_size": 256},
        ),
        "text transformer": (
            TextClassifier,
            *make_texts(args.rows),
            {"ngrams": False, "vocabulary_size": 4000, "max_length": 64, "batch_size": 128},
        ),
    }
    results = {"device": device, "rows": args.rows, "epochs": args.epochs, "models": {}}
    print(f"device: {device}; rows: {args.rows}; samples/s over epochs 2-{args.epochs}")
    for name, (cls, X, y, params) in models.items():
        figures = {}
        for label, options in CONFIGS.items():
            started = time.perf_counter()
            figures[label] = throughput(cls, X, y, {**params, **options}, args.epochs)
            print(
                f"  {name:20s} {label:20s} {figures[label]:10.0f} samples/s "
                f"({time.perf_counter() - started:.0f} s)"
            )
        figures["ratio"] = figures["mixed_bfloat16+xla"] / figures["float32"]
        print(f"  {name:20s} mixed/float32 ratio: {figures['ratio']:.2f}")
        results["models"][name] = figures
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
