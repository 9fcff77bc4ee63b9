"""`python -m benchmarks`: every task side by side with what a user would pick instead.

Four sections (`--sections` picks them), all measured in this one process:

- quality: each task against scikit-learn or hand-written Keras baselines
  on the same folds or splits (`benchmarks.side_by_side.quality`);
- cost: the toolkit's `fit` against the same architecture trained with
  plain Keras `model.fit` (`benchmarks.side_by_side.training_cost`);
- inference: `predict_proba` against `model.predict`, a direct model call
  and the exported ONNX model (`benchmarks.side_by_side.inference`);
- scaling: fit time at growing row counts (`benchmarks.side_by_side.scaling`).

It prints one table (figure, toolkit, reference, ratio or difference,
target, met?), writes every figure to a JSON file and the scaling plot to a
PNG beside it, and exits with status 1 when a target is missed.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import importlib.metadata
import json
import platform
import sys
import time
from pathlib import Path

import keras

from benchmarks.side_by_side.figures import format_table, missed
from benchmarks.side_by_side.inference import run_inference
from benchmarks.side_by_side.quality import QUICK_TASKS, TASKS, run_quality
from benchmarks.side_by_side.scaling import TARGET_RATIO, plot_scaling, run_scaling
from benchmarks.side_by_side.training_cost import COST_TASKS, run_training_cost

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT_DIR = REPO_ROOT / "benchmarks" / "results"
JSON_NAME = "side_by_side.json"
SECTIONS = ("quality", "cost", "inference", "scaling")
# Settings that --quick changes: (full run, --quick).
PLANS = {
    "folds": (5, 3),
    "splits": (3, 1),
    "cost_repeats": (3, 1),
    "repeats": (1000, 200),
    "keras_repeats": (100, 30),
    "batch_repeats": (20, 5),
    "sizes": ((10_000, 100_000, 1_000_000), (5_000, 20_000, 80_000)),
    "epochs": (3, 2),
}


def parse_args(argv=None):
    """Parses the options; `--quick` and the full run fill in the settings left unset."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Every task side by side with what a user would pick instead, in one "
        "process: quality against scikit-learn and plain Keras baselines, training cost "
        "against plain Keras model.fit, prediction latency against Keras and ONNX Runtime, "
        "and fit time against the number of rows. Prints one table, writes JSON and a PNG "
        "plot, exits with status 1 when a target is missed.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="about 4.5 minutes: 3 folds, 1 split, capped image/text epochs, no breast "
        "cancer, fraud or sequence task, the tabular cost only, fewer timing calls, "
        "5k/20k/80k rows",
    )
    parser.add_argument(
        "--sections",
        type=_names(SECTIONS),
        default=list(SECTIONS),
        metavar="LIST",
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)",
    )
    parser.add_argument(
        "--tasks",
        type=_names(TASKS),
        metavar="LIST",
        help=f"quality tasks, a subset of {','.join(TASKS)} "
        f"(default: all; --quick: {','.join(QUICK_TASKS)})",
    )
    parser.add_argument("--folds", type=int, help="CV folds of the tabular tasks (5; quick 3)")
    parser.add_argument(
        "--splits", type=int, help="splits of the image, text and sequence tasks (3; quick 1)"
    )
    parser.add_argument(
        "--cost-tasks",
        type=_names(COST_TASKS),
        metavar="LIST",
        help=f"training-cost tasks, a subset of {','.join(COST_TASKS)} "
        "(default: all; --quick: tabular)",
    )
    parser.add_argument(
        "--cost-repeats", type=int, help="timed fit pairs per cost task, medians (3; quick 1)"
    )
    parser.add_argument(
        "--repeats", type=int, help="timed single-row calls per path (1000; quick 200)"
    )
    parser.add_argument(
        "--keras-repeats",
        type=int,
        help="timed single-row calls of model.predict and model(x) (100; quick 30)",
    )
    parser.add_argument(
        "--batch-rows", type=int, default=1000, help="rows of the batch timing (1000)"
    )
    parser.add_argument(
        "--batch-repeats", type=int, help="timed batch calls per path (20; quick 5)"
    )
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls per path (10)")
    parser.add_argument(
        "--sizes",
        type=_sizes,
        metavar="LIST",
        help="rows of the scaling fits, comma-separated (10000,100000,1000000; "
        "quick 5000,20000,80000)",
    )
    parser.add_argument("--epochs", type=int, help="epochs of the scaling fits (3; quick 2)")
    parser.add_argument(
        "--scaling-target",
        type=float,
        default=TARGET_RATIO,
        help="largest allowed ratio of seconds per row per epoch, largest size over the "
        f"next smaller one (default {TARGET_RATIO})",
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="folder of the JSON file and the plot (default benchmarks/results)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help=f"the JSON file (default OUT_DIR/{JSON_NAME})"
    )
    args = parser.parse_args(argv)
    for name, (full, quick) in PLANS.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.tasks is None:
        args.tasks = list(QUICK_TASKS if args.quick else TASKS)
    if args.cost_tasks is None:
        args.cost_tasks = ["tabular"] if args.quick else list(COST_TASKS)
    if args.json is None:
        args.json = args.out_dir / JSON_NAME
    _check(parser, args)
    return args


def _check(parser, args):
    if args.folds < 2:
        parser.error(f"--folds must be at least 2. Received: {args.folds}")
    for name in ("splits", "cost_repeats", "repeats", "keras_repeats", "batch_rows"):
        value = getattr(args, name)
        if value < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive. Received: {value}")
    if args.batch_repeats < 1 or args.warmup < 1 or args.epochs < 1:
        parser.error("--batch-repeats, --warmup and --epochs must be positive.")
    if len(args.sizes) < 2 or list(args.sizes) != sorted(set(args.sizes)):
        parser.error(f"--sizes needs at least two increasing row counts. Received: {args.sizes}")


def _names(allowed):
    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {','.join(allowed)}. Received: {text!r}"
            )
        return [name for name in allowed if name in names]

    return parse


def _sizes(text):
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers. Received: {text!r}"
        ) from None
    if min(sizes) < 100:
        raise argparse.ArgumentTypeError(f"sizes must be at least 100 rows. Received: {text!r}")
    return sizes


def run_sections(args):
    """Runs the chosen sections in order.

    Args:
        args: the parsed options.

    Returns:
        `(results, figures, seconds)`: per-section result dicts, all table
        rows, and wall-clock seconds per section.
    """
    results, figures, seconds = {}, [], {}
    for section in args.sections:
        started = time.perf_counter()
        print(f"== {section}", file=sys.stderr, flush=True)
        if section == "quality":
            result, rows = run_quality(args.tasks, args.folds, args.splits, args.seed, args.quick)
        elif section == "cost":
            result, rows = run_training_cost(args.cost_tasks, args.cost_repeats, args.seed)
        elif section == "inference":
            result, rows = run_inference(
                args.repeats,
                args.keras_repeats,
                args.batch_rows,
                args.batch_repeats,
                args.warmup,
                args.seed,
            )
        else:
            result, rows = run_scaling(args.sizes, args.epochs, args.seed, args.scaling_target)
        results[section] = result
        figures += rows
        seconds[section] = time.perf_counter() - started
    return results, figures, seconds


def write_outputs(args, argv, results, figures, seconds, started_load):
    """Writes the JSON file and, with a scaling section, the PNG plot beside it.

    Args:
        args: the parsed options.
        argv: the command-line arguments, for the record.
        results: per-section result dicts.
        figures: every table row.
        seconds: wall-clock seconds per section.
        started_load: the load average when the run started.

    Returns:
        The plot's path, or None (no scaling section, or matplotlib missing).
    """
    args.json.parent.mkdir(parents=True, exist_ok=True)
    plot = None
    if "scaling" in results:
        path = args.json.with_name(f"{args.json.stem}_scaling.png")
        try:
            plot = plot_scaling(results["scaling"], path)
        except ImportError as error:  # The plot is optional; the figures are not.
            print(f"scaling plot not written: {error}", file=sys.stderr)
    payload = {
        "benchmark": "side_by_side",
        "command": " ".join(["python -m benchmarks", *argv]),
        "settings": json.loads(json.dumps(vars(args), default=str)),
        "seconds": {**seconds, "total": sum(seconds.values())},
        "environment": _environment(started_load),
        "sections": results,
        "figures": [f.as_dict() for f in figures],
        "plot": None if plot is None else str(plot),
        "passed": not missed(figures),
    }
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return plot


def _environment(started_load):
    versions = {}
    for package in ("keras", "tensorflow", "scikit-learn", "numpy", "pandas", "onnxruntime"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "backend": keras.backend.backend(),
        "cpu_count": os.cpu_count(),
        "load_average_start": started_load,
        "load_average_end": _load_average(),
        **versions,
    }


def _load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv=None):
    """Runs the benchmark; returns the exit status (1 when a target is missed)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    started, load = time.perf_counter(), _load_average()
    results, figures, seconds = run_sections(args)
    plot = write_outputs(args, argv, results, figures, seconds, load)
    print()
    print(
        f"Side by side ({'--quick' if args.quick else 'full run'}; sections "
        f"{', '.join(args.sections)}; seed {args.seed}; {os.cpu_count()} CPUs, "
        f"load average {load} at start, {_load_average()} at end)"
    )
    print()
    print(format_table(figures))
    print()
    failed = missed(figures)
    met = sum(f.passed is True for f in figures)
    print(
        f"Targets met: {met} of {met + len(failed)}"
        + (f"; missed: {'; '.join(f.name for f in failed)}" if failed else "")
    )
    print(
        "Section times: "
        + ", ".join(f"{name} {value / 60:.1f} min" for name, value in seconds.items())
        + f"; total {(time.perf_counter() - started) / 60:.1f} min."
    )
    print(f"wrote {args.json}" + (f" and {plot}" if plot else ""))
    return 1 if failed else 0
