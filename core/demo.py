"""`keras-domains demo`: trains every registered task on the shipped sample data."""

import os
import tempfile
import time

from core.registry import get_task, list_tasks

SAMPLE_DATA_ENV = "KERAS_DOMAINS_SAMPLE_DATA"


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


def run_demo(sample_data=None, out_dir=None):
    """Runs each task's `demo` and prints one summary table.

    Args:
        sample_data: the sample data folder (found automatically when None).
        out_dir: where models are saved (a temporary folder when None).

    Returns:
        0 when every task's demo succeeded, 1 otherwise.
    """
    sample_data = find_sample_data(sample_data)
    rows, failed = [], False
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = out_dir or tmp
        os.makedirs(out_dir, exist_ok=True)
        for name in list_tasks():
            task = get_task(name)
            if not hasattr(task, "demo"):
                continue
            print(f"[demo] {name} ...", flush=True)
            started = time.perf_counter()
            try:
                row = task.demo(sample_data, out_dir)
            except Exception as error:  # Report every task, then fail at the end.
                failed = True
                row = {"data": "-", "metric": "error", "value": str(error)[:60]}
            row = {"task": name, **row, "seconds": f"{time.perf_counter() - started:.1f}"}
            rows.append(row)
    _print_table(rows)
    return 1 if failed else 0


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
