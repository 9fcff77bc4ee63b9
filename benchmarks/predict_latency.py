"""Prediction speed of `DiagnosisPredictor.predict_proba` against Keras `model.predict`.

Target: the median single-row `predict_proba` (a one-row DataFrame in,
preprocessing included) is at least 20 times faster than `model.predict` on
the same Keras model and the already-preprocessed row. Both are timed side
by side, interleaved, in one process, after warm-up calls.

Also reported, for information: a 1,000-row batch through both paths, the
preprocessing share of a single-row call, and whether both paths give the
same probabilities (max abs difference below 1e-5).

Run from the repository root:

    python -m benchmarks.predict_latency [--repeats 200] [--keras-repeats 50] [--json out.json]
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
import pandas as pd

from domains.medical import DiagnosisPredictor

REPO_ROOT = Path(__file__).resolve().parents[1]
PATIENTS_CSV = REPO_ROOT / "sample_data" / "medical" / "patients.csv"
TARGET_SPEEDUP = 20.0
AGREEMENT_TOLERANCE = 1e-5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.predict_latency",
        description="Single-row and batch prediction latency: predict_proba vs model.predict.",
    )
    parser.add_argument(
        "--repeats", type=int, default=200, help="timed single-row predict_proba calls"
    )
    parser.add_argument(
        "--keras-repeats", type=int, default=50, help="timed single-row model.predict calls"
    )
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls of each path first")
    parser.add_argument("--batch-rows", type=int, default=1000, help="rows in the batch comparison")
    parser.add_argument(
        "--batch-repeats", type=int, default=10, help="timed calls of each path for the batch"
    )
    parser.add_argument("--max-epochs", type=int, default=5, help="epochs of the fitted model")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    for name in ("repeats", "keras_repeats", "warmup", "batch_rows", "batch_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    return args


def load_patients():
    frame = pd.read_csv(PATIENTS_CSV)
    # The table columns: the note and the x-ray are `multimodal_quality`'s.
    return frame.drop(columns=["patient_id", "diagnosis", "note", "xray"]), frame[
        "diagnosis"
    ].to_numpy()


def probability_from_logits(logits):
    """Positive-class probability from the model's `(n, members, 1)` logits."""
    logits = np.asarray(logits, dtype=np.float64)
    return (1.0 / (1.0 + np.exp(-logits))).mean(axis=1)[:, 0]


def summary(seconds):
    ms = np.asarray(seconds) * 1e3
    return {
        "n": len(ms),
        "median_ms": float(np.median(ms)),
        "p90_ms": float(np.percentile(ms, 90)),
        "min_ms": float(ms.min()),
    }


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def single_row(clf, X, args):
    """Interleaved single-row timings of both paths (and of the preprocessing alone)."""
    n_rows = len(X)
    rows = [X.iloc[[i % n_rows]] for i in range(args.warmup + args.repeats)]
    encoded = [clf.preprocessor_.transform(row) for row in rows]  # The model's named inputs.
    for row, inputs in zip(rows[: args.warmup], encoded[: args.warmup], strict=True):
        clf.predict_proba(row)
        clf.model_.predict(inputs, verbose=0)
        clf.preprocessor_.transform(row)

    ours, keras_times, preprocessing = [], [], []
    max_diff = 0.0
    # Spread the slower model.predict calls evenly among the predict_proba calls.
    keras_at = set(np.linspace(0, args.repeats - 1, args.keras_repeats).round().astype(int))
    for k in range(args.repeats):
        row, inputs = rows[args.warmup + k], encoded[args.warmup + k]
        seconds, proba = timed(clf.predict_proba, row)
        ours.append(seconds)
        seconds, _ = timed(clf.preprocessor_.transform, row)
        preprocessing.append(seconds)
        if k in keras_at:
            seconds, logits = timed(clf.model_.predict, inputs, verbose=0)
            keras_times.append(seconds)
            diff = np.abs(proba[:, 1] - probability_from_logits(logits)).max()
            max_diff = max(max_diff, float(diff))
    # `keras_at` may hold fewer points than asked when keras_repeats > repeats.
    while len(keras_times) < args.keras_repeats:
        seconds, _ = timed(clf.model_.predict, encoded[-1], verbose=0)
        keras_times.append(seconds)
    return summary(ours), summary(keras_times), summary(preprocessing), max_diff


def batch(clf, X, args):
    """Timings of one `batch_rows`-row call through each path, interleaved."""
    index = np.arange(args.batch_rows) % len(X)
    frame = X.iloc[index].reset_index(drop=True)
    inputs = clf.preprocessor_.transform(frame)
    clf.predict_proba(frame)
    clf.model_.predict(inputs, verbose=0)
    ours, keras_times = [], []
    for _ in range(args.batch_repeats):
        seconds, proba = timed(clf.predict_proba, frame)
        ours.append(seconds)
        seconds, logits = timed(clf.model_.predict, inputs, verbose=0)
        keras_times.append(seconds)
    max_diff = float(np.abs(proba[:, 1] - probability_from_logits(logits)).max())
    return summary(ours), summary(keras_times), max_diff


def print_report(results):
    single, batch_result = results["single_row"], results["batch"]
    print()
    print(
        f"Model: DiagnosisPredictor, {results['fit']['epochs']} epoch(s), "
        f"{results['fit']['n_members']} members, fitted in {results['fit']['seconds']:.1f} s "
        f"on {results['fit']['rows']} rows"
    )
    print()
    header = f"{'call':<52} {'n':>5} {'median ms':>10} {'p90 ms':>9}"
    print(header)
    print("-" * len(header))
    lines = [
        ("predict_proba(1-row DataFrame)", single["predict_proba"]),
        ("  of which preprocessor_.transform(1-row DataFrame)", single["preprocessing"]),
        ("model_.predict(1 row encoded, verbose=0)", single["model_predict"]),
        (f"predict_proba({batch_result['rows']}-row DataFrame)", batch_result["predict_proba"]),
        (
            f"model_.predict({batch_result['rows']} rows encoded, verbose=0)",
            batch_result["model_predict"],
        ),
    ]
    for name, stats in lines:
        print(f"{name:<52} {stats['n']:>5} {stats['median_ms']:>10.3f} {stats['p90_ms']:>9.3f}")
    print()
    verdict = "PASS" if single["passed"] else "FAIL"
    print(
        f"single row: model.predict / predict_proba (medians) = {single['speedup']:.1f}x "
        f"(target >= {TARGET_SPEEDUP:.0f}x)  {verdict}"
    )
    print(
        f"batch of {batch_result['rows']}: model.predict / predict_proba (medians) = "
        f"{batch_result['speedup']:.2f}x  (informational)"
    )
    agree = "PASS" if results["agreement"]["passed"] else "FAIL"
    print(
        f"agreement: max |p(predict_proba) - p(model.predict)| = "
        f"{results['agreement']['max_abs_diff']:.2e} (tolerance {AGREEMENT_TOLERANCE:g})  "
        f"{agree}"
    )


def main(argv=None):
    args = parse_args(argv)
    X, y = load_patients()
    clf = DiagnosisPredictor(max_epochs=args.max_epochs, random_state=args.random_state)
    fit_seconds, _ = timed(clf.fit, X, y)

    ours, keras_single, preprocessing, single_diff = single_row(clf, X, args)
    batch_ours, batch_keras, batch_diff = batch(clf, X, args)
    speedup = keras_single["median_ms"] / ours["median_ms"]
    max_diff = max(single_diff, batch_diff)
    results = {
        "benchmark": "predict_latency",
        "fit": {
            "rows": len(X),
            "epochs": clf.n_epochs_,
            "n_members": clf._members(),
            "seconds": fit_seconds,
        },
        "single_row": {
            "predict_proba": ours,
            "preprocessing": preprocessing,
            "model_predict": keras_single,
            "speedup": speedup,
            "target": TARGET_SPEEDUP,
            "passed": bool(speedup >= TARGET_SPEEDUP),
        },
        "batch": {
            "rows": args.batch_rows,
            "predict_proba": batch_ours,
            "model_predict": batch_keras,
            "speedup": batch_keras["median_ms"] / batch_ours["median_ms"],
        },
        "agreement": {
            "max_abs_diff": max_diff,
            "tolerance": AGREEMENT_TOLERANCE,
            "passed": bool(max_diff < AGREEMENT_TOLERANCE),
        },
        "environment": {
            "python": platform.python_version(),
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "cpu_count": os.cpu_count(),
        },
        "args": vars(args),
    }
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0 if results["single_row"]["passed"] and results["agreement"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
