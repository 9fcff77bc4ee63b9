"""Scaling: how `DiagnosisPredictor.fit` time grows with the number of rows.

Tables of each size come from the generator of `out_of_core.py`: 6 numeric
columns (one lognormal with 10% missing, one count) and 3 categorical ones
(5, 20 and 200 levels), with a label drawn from a known logistic model. Each
size is fitted once, in this process, with default parameters except a fixed
number of epochs and no early stopping (`validation_fraction=0`, so every
row trains for exactly `epochs` epochs; `n_members` stays at its default).
"""

import sys
import time

import keras
import numpy as np

from benchmarks.out_of_core import TARGET, make_rows
from benchmarks.side_by_side.figures import Figure
from core.plotting import require_matplotlib, save_figure

# Seconds per row per epoch at the largest size over the next smaller size: linear is 1.
TARGET_RATIO = 1.2


def run_scaling(sizes, epochs, seed, target=TARGET_RATIO):
    """Fits a DiagnosisPredictor on generated tables of `sizes` rows.

    Args:
        sizes: row counts, increasing.
        epochs: epochs per fit.
        seed: seed of the data and of the estimator.
        target: the largest allowed ratio of seconds per row per epoch,
            largest size over the next smaller one.

    Returns:
        `(result, figures)`.
    """
    runs = []
    for rows in sizes:
        frame, _ = make_rows(rows, np.random.default_rng(seed + rows))
        y = frame.pop(TARGET).to_numpy()
        estimator = new_estimator(epochs, seed)
        started, cpu_started = time.perf_counter(), time.process_time()
        estimator.fit(frame, y)
        seconds = time.perf_counter() - started
        runs.append(
            {
                "rows": rows,
                "epochs": int(estimator.n_epochs_),
                "batch_size": int(estimator._batch_size(rows)),
                "n_members": int(estimator._members()),
                "fit_seconds": seconds,
                "fit_cpu_seconds": time.process_time() - cpu_started,
                "training_seconds": float(estimator.training_seconds_),
                "ms_per_1k_rows_per_epoch": 1e6 * seconds / rows / estimator.n_epochs_,
            }
        )
        print(
            f"  [scaling] {rows} rows: fit {seconds:.1f} s "
            f"({runs[-1]['ms_per_1k_rows_per_epoch']:.1f} ms per 1k rows per epoch)",
            file=sys.stderr,
            flush=True,
        )
        del frame, y, estimator
        keras.backend.clear_session()
    fitted = linear_fit(runs)
    print(
        f"  [scaling] least squares: {fitted['fixed_seconds']:.1f} s per fit + "
        f"{fitted['ms_per_1k_rows_per_epoch']:.2f} ms per 1k rows per epoch",
        file=sys.stderr,
        flush=True,
    )
    result = {
        "estimator": f"DiagnosisPredictor(validation_fraction=0, max_epochs={epochs})",
        "epochs": epochs,
        "runs": runs,
        "linear_fit": fitted,
        "target": target,
    }
    return result, _figures(result)


def new_estimator(epochs, seed):
    """The estimator fitted at every size: defaults, `epochs` epochs, no early stopping."""
    from domains.medical import DiagnosisPredictor

    return DiagnosisPredictor(validation_fraction=0.0, max_epochs=epochs, random_state=seed)


def linear_fit(runs):
    """Least-squares `fit_seconds = fixed + per_row * rows * epochs` over the runs.

    Returns:
        dict with `fixed_seconds` and `ms_per_1k_rows_per_epoch` (the marginal cost).
    """
    work = np.array([r["rows"] * r["epochs"] for r in runs], dtype=float)
    seconds = np.array([r["fit_seconds"] for r in runs])
    design = np.column_stack([np.ones_like(work), work])
    (fixed, per_row), *_ = np.linalg.lstsq(design, seconds, rcond=None)
    return {"fixed_seconds": float(fixed), "ms_per_1k_rows_per_epoch": float(per_row * 1e6)}


def _figures(result):
    runs = result["runs"]
    figures = []
    pairs = [(runs[-1], runs[-2], result["target"])]
    if len(runs) > 2:
        pairs.append((runs[-1], runs[0], None))
    for large, small, target in pairs:
        figures.append(
            Figure(
                "scaling",
                f"fit ms per 1k rows per epoch: {_rows(large['rows'])} / "
                f"{_rows(small['rows'])} rows, {result['epochs']} epochs",
                f"{large['ms_per_1k_rows_per_epoch']:.2f} ({large['fit_seconds']:.1f} s)",
                f"{small['ms_per_1k_rows_per_epoch']:.2f} ({small['fit_seconds']:.1f} s)",
                large["ms_per_1k_rows_per_epoch"] / small["ms_per_1k_rows_per_epoch"],
                target=None if target is None else ("<=", target),
            )
        )
    return figures


def _rows(n):
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def plot_scaling(result, path):
    """Writes a log-log plot of fit seconds against rows, with a linear reference line.

    Args:
        result: the dict `run_scaling` returns.
        path: the PNG file to write.

    Returns:
        `path`.

    Raises:
        ImportError: when matplotlib (the `plots` extra) is not installed.
    """
    plt = require_matplotlib()
    runs = result["runs"]
    rows = np.array([r["rows"] for r in runs], dtype=float)
    seconds = np.array([r["fit_seconds"] for r in runs])
    figure, axes = plt.subplots(figsize=(6, 4.5))
    axes.loglog(rows, seconds, "o-", label="DiagnosisPredictor.fit")
    grid = np.geomspace(rows.min(), rows.max(), 50)
    axes.loglog(grid, seconds[-1] * grid / rows[-1], "--", color="gray", label="linear in rows")
    fitted = result["linear_fit"]
    model = (
        fitted["fixed_seconds"]
        + fitted["ms_per_1k_rows_per_epoch"] * 1e-6 * grid * (result["epochs"])
    )
    if np.all(model > 0):
        axes.loglog(
            grid,
            model,
            ":",
            color="tab:orange",
            label=f"{fitted['fixed_seconds']:.1f} s + "
            f"{fitted['ms_per_1k_rows_per_epoch']:.2f} ms per 1k rows per epoch",
        )
    axes.set_xticks(rows, [_rows(int(n)) for n in rows])
    axes.xaxis.set_minor_formatter(plt.NullFormatter())
    axes.set_xlabel("training rows")
    axes.set_ylabel("fit seconds")
    axes.set_title(f"Fit time against rows ({result['epochs']} epochs, no early stopping)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return save_figure(figure, path)
