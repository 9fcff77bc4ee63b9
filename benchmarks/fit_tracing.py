"""Fit time with the optimizer built before tracing, against Keras' lazy build.

Keras builds an optimizer's slot variables inside the first trace of the
train step when nothing built them before; tf.function then traces the step
a second time. `KerasEstimator` builds them first (`build_before_tracing`).
This script fits the same estimators both ways, interleaved in one process,
and counts the traces of the train step.

Target: one trace per fit with the optimizer built first (two without), and
the patients table fitted at least 1.2 times faster (the case where tracing
is most of a fit; the larger graphs gain less in ratio, as much in seconds).

Run from the repository root:

    python -m benchmarks.fit_tracing [--repeats 2] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
PATIENTS_CSV = REPO_ROOT / "sample_data" / "medical" / "patients.csv"
REVIEWS_CSV = REPO_ROOT / "sample_data" / "nlp" / "reviews.csv"
TARGET_SPEEDUP = 1.2


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fit_tracing",
        description="Fit time and train-step traces: optimizer built before tracing vs lazily.",
    )
    parser.add_argument("--repeats", type=int, default=2, help="fits of each case each way")
    parser.add_argument("--max-epochs", type=int, default=5, help="epochs of each fit")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return parser.parse_args(argv)


def cases(max_epochs):
    """`{name: (make estimator, X, y)}`: a table, a table with a note and an x-ray, texts."""
    from core.estimators import TabularClassifier
    from domains.medical import DiagnosisPredictor
    from domains.nlp import TextClassifier

    patients = pd.read_csv(PATIENTS_CSV, keep_default_na=True)
    # The x-ray paths are relative to the CSV's folder.
    patients["xray"] = [
        None if pd.isna(p) else str(PATIENTS_CSV.parent / p) for p in patients["xray"]
    ]
    y = patients.pop("diagnosis")
    X = patients.drop(columns=["patient_id"])
    reviews = pd.read_csv(REVIEWS_CSV)
    common = {"max_epochs": max_epochs, "random_state": 0}
    return {
        "table (patients, 4 members)": (
            lambda: DiagnosisPredictor(**common),
            X.drop(columns=["note", "xray"]),
            y,
        ),
        "table + note + x-ray (2 members)": (
            lambda: TabularClassifier(n_members=2, **common),
            X,
            y,
        ),
        "texts (reviews)": (
            lambda: TextClassifier(**common),
            reviews["text"].tolist(),
            reviews["sentiment"].to_numpy(),
        ),
    }


class TraceCounter:
    """Counts traces of Keras' TensorFlow train step while installed."""

    def __init__(self):
        from keras.src.backend.tensorflow import trainer

        self._trainer = trainer.TensorFlowTrainer
        self._original = self._trainer.train_step
        self.count = 0

    def __enter__(self):
        original = self._original

        def counted(model, data):
            self.count += 1  # Runs only while tracing: the traced graph holds the ops.
            return original(model, data)

        self._trainer.train_step = counted
        return self

    def __exit__(self, *exc):
        self._trainer.train_step = self._original


def timed_fit(make, X, y, lazy):
    """`(seconds, traces)` of one fit; `lazy` leaves the optimizer to Keras' lazy build."""
    from core.estimators import keras_estimator

    hook = keras_estimator.build_before_tracing
    if lazy:
        keras_estimator.build_before_tracing = lambda optimizer, model: None
    try:
        with TraceCounter() as traces:
            start = time.perf_counter()
            make().fit(X, y)
            seconds = time.perf_counter() - start
    finally:
        keras_estimator.build_before_tracing = hook
    return seconds, traces.count


def main(argv=None):
    args = parse_args(argv)
    results = {}
    for name, (make, X, y) in cases(args.max_epochs).items():
        timed_fit(make, X, y, lazy=False)  # Imports and first-use costs, untimed.
        runs = {"built first": [], "lazy": []}
        traces = {}
        for _ in range(args.repeats):
            for way, lazy in (("built first", False), ("lazy", True)):
                seconds, count = timed_fit(make, X, y, lazy)
                runs[way].append(seconds)
                traces[way] = count
        medians = {way: statistics.median(times) for way, times in runs.items()}
        results[name] = {
            "seconds": runs,
            "median_seconds": medians,
            "traces_per_fit": traces,
            "speedup": medians["lazy"] / medians["built first"],
        }
        print(f"{name}: done", flush=True)

    print()
    header = f"{'case':<34} {'built first':>12} {'lazy':>8} {'speed-up':>9} {'traces':>8}"
    print(header)
    print("-" * len(header))
    for name, result in results.items():
        medians, traces = result["median_seconds"], result["traces_per_fit"]
        print(
            f"{name:<34} {medians['built first']:>11.1f}s {medians['lazy']:>7.1f}s "
            f"{result['speedup']:>8.2f}x {traces['built first']:>3} vs {traces['lazy']}"
        )
    table = results["table (patients, 4 members)"]
    passed = table["speedup"] >= TARGET_SPEEDUP and all(
        r["traces_per_fit"]["built first"] == 1 for r in results.values()
    )
    print(
        f"\ntarget: one trace per fit, and >= {TARGET_SPEEDUP}x on the patients table: "
        f"{'met' if passed else 'MISSED'}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
