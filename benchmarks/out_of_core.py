"""Peak memory of `TabularClassifier` training from a Parquet file: streaming, not loading.

`TabularClassifier.fit(path, target=...)` reads a CSV or Parquet file in
bounded chunks: one pass counts the rows and draws a bounded random sample
(preprocessing) and hold-out (early stopping), then every epoch streams the
training rows through `tf.data`. This benchmark checks that memory does not
grow with the file: it writes a large Parquet file (`--rows`, default
5,000,000 rows) and a small one (`--small-rows`, default 100,000) with the
same generator, and trains on each in a fresh Python process, so that the two
peaks are independent:

    TabularClassifier(n_members=1, batch_size=1024, max_epochs=1, random_state=0)
        .fit(path, target="label")

Each child process reports its peak resident set size (`VmHWM` from
`/proc/self/status`, or `ru_maxrss` where there is no `/proc`), read at the
end of fit and again after predicting the test file; its resident size after
the imports and before `fit`; the wall-clock seconds of `fit`; and the ROC AUC
on a held-out test file (`--test-rows`, default 50,000, predicted from the
path in chunks).

Data: 6 numeric columns (one lognormal with 10% missing values, one Poisson
count) and 3 categorical ones (5, 20 and 200 levels, the last Zipf-like); the
label is drawn from a logistic model with main effects, one interaction, a
threshold effect and per-category effects (prevalence about 30%). The files
are written in chunks of 250,000 rows (one row group each), so writing is
bounded too, to a temporary folder that is deleted at the end. The AUC of the
true probabilities on the test rows is printed as the ceiling.

Target: peak RSS of the large run <= 1.5 x peak RSS of the small run.

Run from the repository root:

    python -m benchmarks.out_of_core [--rows 5000000] [--small-rows 100000]
        [--epochs 1] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.process_memory import maxrss_mb, rss_mb

ROOT = Path(__file__).resolve().parents[1]
RATIO_TARGET = 1.5
TARGET = "label"
WRITE_CHUNK = 250_000  # Rows generated and written at once (one row group).
LEVELS = {"region": 5, "product": 20, "merchant": 200}


# -------------------------------------------------------------------- data
def make_rows(n, rng):
    """`n` rows of the synthetic table and their true probabilities.

    Returns:
        `(DataFrame with the features and "label", true probability array)`.
    """
    import pandas as pd

    x = rng.normal(size=(n, 4))
    income = rng.lognormal(10.0, 0.6, size=n)
    visits = rng.poisson(2.0, size=n).astype(np.float64)
    codes = {name: _category_codes(rng, n, k) for name, k in LEVELS.items()}
    effects = {
        name: np.random.default_rng(k).normal(0.0, 0.6, size=k) for name, k in LEVELS.items()
    }
    logit = (
        -1.7
        + 0.9 * x[:, 0]
        - 0.7 * x[:, 1]
        + 0.5 * x[:, 2] * x[:, 3]
        + 0.8 * (x[:, 2] > 1.0)
        - 0.6 * (np.log(income) - 10.0)
        + 0.25 * visits
        + sum(effects[name][codes[name]] for name in LEVELS)
    )
    proba = 1.0 / (1.0 + np.exp(-logit))
    income[rng.random(n) < 0.1] = np.nan  # Missing completely at random.
    frame = pd.DataFrame(
        {
            "x0": x[:, 0],
            "x1": x[:, 1],
            "x2": x[:, 2],
            "x3": x[:, 3],
            "income": income,
            "visits": visits,
            **{name: _category_names(name, codes[name]) for name in LEVELS},
        }
    )
    frame[TARGET] = (rng.random(n) < proba).astype(np.int8)
    return frame, proba


def _category_codes(rng, n, k):
    """Category codes 0..k-1 with Zipf-like frequencies (uniform for few levels)."""
    if k <= 5:
        return rng.integers(0, k, size=n)
    weights = 1.0 / np.arange(1, k + 1)
    return rng.choice(k, size=n, p=weights / weights.sum())


def _category_names(name, codes):
    names = np.asarray([f"{name}_{i:03d}" for i in range(codes.max() + 1)], dtype=object)
    return names[codes]


def write_parquet(path, n_rows, seed):
    """Writes `n_rows` generated rows to `path`, `WRITE_CHUNK` rows at a time.

    Returns:
        Seconds spent.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    writer = None
    try:
        for start in range(0, n_rows, WRITE_CHUNK):
            frame, _ = make_rows(min(WRITE_CHUNK, n_rows - start), rng)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=WRITE_CHUNK)
    finally:
        if writer is not None:
            writer.close()
    return time.perf_counter() - started


# ------------------------------------------------------------------- child
def _peak_mb():
    peak = rss_mb("VmHWM")
    return peak if peak is not None else maxrss_mb()


def train_child(train_path, test_path, params_json, result_path):
    """Runs in a fresh process: fits from `train_path`, scores `test_path`; writes JSON."""
    import keras
    import pyarrow.parquet as pq
    from sklearn.metrics import roc_auc_score

    from core.estimators import TabularClassifier

    keras.utils.set_random_seed(0)
    params = json.loads(params_json)
    before = rss_mb("VmRSS")
    started = time.perf_counter()
    cpu_started = time.process_time()
    clf = TabularClassifier(**params).fit(train_path, target=TARGET)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    fit_peak = _peak_mb()
    started = time.perf_counter()
    proba = clf.predict_proba(test_path)[:, 1]
    predict_seconds = time.perf_counter() - started
    labels = pq.read_table(test_path, columns=[TARGET]).column(TARGET).to_numpy()
    result = {
        "rss_before_fit_mb": before,
        "fit_peak_rss_mb": fit_peak,
        "peak_rss_mb": _peak_mb(),
        "peak_source": "VmHWM" if rss_mb("VmHWM") is not None else "ru_maxrss",
        "fit_seconds": seconds,
        "fit_cpu_seconds": cpu_seconds,
        "predict_seconds": predict_seconds,
        "epochs": clf.n_epochs_,
        "train_loss": clf.history_["loss"][-1],
        "val_loss": clf.history_.get("val_loss", [None])[-1],
        "test_auc": float(roc_auc_score(labels, proba)),
    }
    Path(result_path).write_text(json.dumps(result))


def run_child(train_path, test_path, params, timeout):
    """Trains in a fresh interpreter; returns the child's result dict plus its total seconds."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_path = handle.name
    code = "import sys; from benchmarks.out_of_core import train_child; train_child(*sys.argv[1:5])"
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            [sys.executable, "-c", code, str(train_path), str(test_path), json.dumps(params),
             result_path],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )  # fmt: skip
        if completed.returncode != 0:
            raise SystemExit(
                f"training on {train_path} failed (exit {completed.returncode}):\n"
                f"{completed.stderr[-3000:]}"
            )
        result = json.loads(Path(result_path).read_text())
    finally:
        Path(result_path).unlink(missing_ok=True)
    result["process_seconds"] = time.perf_counter() - started
    # The largest peak among the finished children so far, as the kernel reports it.
    result["ru_maxrss_children_mb"] = (
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        if sys.platform != "darwin"
        else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0 / 1024.0
    )
    return result


# ---------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.out_of_core",
        description="Peak RSS of TabularClassifier training from a large generated Parquet "
        "file against a small one, each in a fresh process (streaming, not loading).",
    )
    parser.add_argument(
        "--rows", type=int, default=5_000_000, help="rows of the large file (default 5000000)"
    )
    parser.add_argument(
        "--small-rows", type=int, default=100_000, help="rows of the small file (default 100000)"
    )
    parser.add_argument(
        "--test-rows", type=int, default=50_000, help="rows of the test file (default 50000)"
    )
    parser.add_argument("--epochs", type=int, default=1, help="max_epochs (default 1)")
    parser.add_argument("--batch-size", type=int, default=1024, help="batch_size (default 1024)")
    parser.add_argument(
        "--timeout", type=int, default=3600, help="seconds allowed per training (default 3600)"
    )
    parser.add_argument("--tmp-dir", help="where to write the files (default: system temp)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.small_rows < 1000:
        parser.error(f"--small-rows must be at least 1000. Received: {args.small_rows}")
    if args.rows <= args.small_rows:
        parser.error(
            f"--rows must be above --small-rows. Received: {args.rows} <= {args.small_rows}"
        )
    if args.test_rows < 100 or args.epochs < 1 or args.batch_size < 1:
        parser.error("--test-rows must be >= 100, --epochs and --batch-size >= 1.")
    return args


def main(argv=None):
    from sklearn.metrics import roc_auc_score

    args = parse_args(argv)
    started = time.perf_counter()
    params = {
        "n_members": 1,
        "batch_size": args.batch_size,
        "max_epochs": args.epochs,
        "random_state": 0,
    }
    work = Path(tempfile.mkdtemp(prefix="out_of_core_", dir=args.tmp_dir))
    runs = []
    try:
        test_frame, test_proba = make_rows(args.test_rows, np.random.default_rng(12345))
        test_path = work / "test.parquet"
        test_frame.to_parquet(test_path, index=False)
        oracle_auc = float(roc_auc_score(test_frame[TARGET], test_proba))
        prevalence = float(test_frame[TARGET].mean())
        del test_frame, test_proba
        for n_rows in (args.small_rows, args.rows):
            path = work / f"train_{n_rows}.parquet"
            write_seconds = write_parquet(path, n_rows, seed=n_rows)
            size_mb = path.stat().st_size / 1e6
            print(
                f"  [write] {n_rows} rows, {size_mb:.1f} MB, in {write_seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            result = run_child(path, test_path, params, args.timeout)
            result.update({"rows": n_rows, "file_mb": size_mb, "write_seconds": write_seconds})
            result["rows_per_second"] = n_rows * result["epochs"] / result["fit_seconds"]
            print(
                f"  [train] {n_rows} rows: peak RSS {result['peak_rss_mb']:.0f} MB, "
                f"fit {result['fit_seconds']:.1f} s, test AUC {result['test_auc']:.4f}",
                file=sys.stderr,
                flush=True,
            )
            runs.append(result)
            path.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    small, large = runs
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    passed = ratio <= RATIO_TARGET
    print()
    print(
        f"== TabularClassifier({', '.join(f'{k}={v}' for k, v in params.items())})"
        f".fit(parquet_path, target={TARGET!r}), each run in a fresh process"
    )
    print(
        f"   {'rows':>9} {'file MB':>8} {'RSS before MB':>14} {'peak (fit) MB':>14} "
        f"{'peak MB':>8} {'fit s':>8} {'rows/s':>8} {'epochs':>6} {'test AUC':>9}"
    )
    for r in runs:
        print(
            f"   {r['rows']:>9} {r['file_mb']:>8.1f} {r['rss_before_fit_mb']:>14.0f} "
            f"{r['fit_peak_rss_mb']:>14.0f} {r['peak_rss_mb']:>8.0f} {r['fit_seconds']:>8.1f} "
            f"{r['rows_per_second']:>8.0f} {r['epochs']:>6} {r['test_auc']:>9.4f}"
        )
    print(
        f"   test file: {args.test_rows} rows, prevalence {prevalence:.3f}, "
        f"AUC of the true probabilities {oracle_auc:.4f} (ceiling)"
    )
    print()
    print(
        f"Target: peak RSS {large['rows']} / {small['rows']} rows = "
        f"{large['peak_rss_mb']:.0f} / {small['peak_rss_mb']:.0f} MB = {ratio:.2f}x "
        f"(<= {RATIO_TARGET}x)  {'PASS' if passed else 'FAIL'}"
    )
    elapsed = time.perf_counter() - started
    print(f"Total time {elapsed / 60:.1f} min.")
    if args.json:
        import keras
        import pyarrow
        import tensorflow as tf

        payload = {
            "benchmark": "out_of_core",
            "rows": args.rows,
            "small_rows": args.small_rows,
            "test_rows": args.test_rows,
            "params": params,
            "runs": runs,
            "ratio": ratio,
            "target": RATIO_TARGET,
            "oracle_auc": oracle_auc,
            "test_prevalence": prevalence,
            "seconds": elapsed,
            "environment": {
                "python": platform.python_version(),
                "keras": keras.__version__,
                "tensorflow": tf.__version__,
                "pyarrow": pyarrow.__version__,
                "cpu_count": os.cpu_count(),
            },
            "passed": passed,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
