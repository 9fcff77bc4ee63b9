"""`keras-domains demo`: trains every registered task on the shipped sample data."""

import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

from core.registry import get_task, list_tasks
from core.tensorflow_import import import_tensorflow_quietly

SAMPLE_DATA_ENV = "KERAS_DOMAINS_SAMPLE_DATA"
#: Seconds each built-in demo took on 2 cores, to start the longest first.
DEMO_SECONDS = {
    "medical.diagnosis": 60,
    "vision.image_classification": 56,
    "finance.credit_risk": 41,
    "nlp.text": 38,
    "nlp.generation": 38,
    "finance.fraud": 23,
    "medical.survival": 9,
    "medical.sequence": 8,
    "finance.lifetime_default": 8,
}


def find_sample_data(folder=None):
    """Locates the `sample_data/` folder.

    Looks at, in order: `folder`, the `KERAS_DOMAINS_SAMPLE_DATA` variable,
    `./sample_data`, and the repository the package was installed from.

    Raises:
        FileNotFoundError: naming every place looked at.
    """
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = [folder] if folder else []
    candidates += [
        os.environ.get(SAMPLE_DATA_ENV),
        "sample_data",
        os.path.join(here, "sample_data"),
    ]
    candidates = [c for c in candidates if c]
    for candidate in candidates:
        if os.path.isdir(candidate):
            return os.path.abspath(candidate)
    raise FileNotFoundError(
        f"No sample data folder found; looked in {candidates}. Run the demo from the repository "
        f"root, pass --sample-data, or set {SAMPLE_DATA_ENV}."
    )


def run_demo(sample_data=None, out_dir=None, workers=None, quiet=False):
    """Runs each task's `demo` and prints one summary table.

    Tasks run in `workers` processes at once (each task trains small models
    whose Python overhead leaves a core idle), longest first; the table lists
    them in name order.

    Args:
        sample_data: the sample data folder (found automatically when None).
        out_dir: where models are saved (a temporary folder when None).
        workers: processes; None uses one per core, at most 2; 1 runs in this process.
        quiet: keep TensorFlow's native start-up lines of the worker processes
            off stderr (`core.tensorflow_import.import_tensorflow_quietly`).

    Returns:
        0 when every task's demo succeeded, 1 otherwise.
    """
    sample_data = find_sample_data(sample_data)
    names = [name for name in list_tasks() if hasattr(get_task(name), "demo")]
    # Longest first, so that the two workers finish together.
    names.sort(key=lambda name: (-DEMO_SECONDS.get(name, 0), name))
    workers = workers or max(1, min(2, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = out_dir or tmp
        os.makedirs(out_dir, exist_ok=True)
        if workers == 1:
            rows = [demo_row(name, sample_data, out_dir) for name in names]
        else:
            context = multiprocessing.get_context("spawn")
            initializer = import_tensorflow_quietly if quiet else None
            with ProcessPoolExecutor(workers, mp_context=context, initializer=initializer) as pool:
                rows = list(pool.map(demo_row, names, repeat(sample_data), repeat(out_dir)))
    rows.sort(key=lambda row: row["task"])
    _print_table(rows)
    return 1 if any(row["metric"] == "error" for row in rows) else 0


def demo_row(name, sample_data, out_dir):
    """Runs one task's `demo`; returns its row of the summary table (an error row if it fails).

    Args:
        name: the registered task name.
        sample_data: the sample data folder.
        out_dir: where the task saves its model.
    """
    print(f"[demo] {name} ...", flush=True)
    started = time.perf_counter()
    try:
        row = get_task(name).demo(sample_data, out_dir)
    except Exception as error:  # Report every task, then fail at the end.
        row = {"data": "-", "metric": "error", "value": str(error)[:60]}
    return {"task": name, **row, "seconds": f"{time.perf_counter() - started:.1f}"}


def _print_table(rows):
    columns = ["task", "data", "train_rows", "test_rows", "metric", "value", "baseline", "seconds"]
    cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    print()
    print(line)
    print("-" * len(line))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _cell(value):
    return f"{value:.3f}" if isinstance(value, float) else str(value)
