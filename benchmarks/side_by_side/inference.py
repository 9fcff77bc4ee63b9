"""Inference: `predict_proba` against Keras and the exported ONNX model, single row and batch.

A `DiagnosisPredictor` (default parameters, `max_epochs=5`) is fitted on
`sample_data/medical/patients.csv`, then, after `warmup` untimed calls of
every path, these calls are timed side by side, interleaved so that they
see the same machine load:

- `predict_proba(DataFrame)`: validation and preprocessing included;
- `model.predict(matrix, verbose=0)` on the row already preprocessed by
  `est._transform`;
- the Keras model called directly, `model(matrix, training=False)`;
- the model exported with `est.export(path, format="onnx")` (preprocessing
  in the graph), run by onnxruntime on `est.export_inputs(DataFrame)`,
  built before the clock starts ("arrays given");
- the same with `est.export_inputs(DataFrame)` inside the clock ("DataFrame
  in"): the like-for-like row, since `predict_proba` takes the DataFrame.

Inputs are built before timing; rows cycle through the table.
"""

import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from benchmarks import tabular_quality
from benchmarks.side_by_side.figures import Figure

TARGET_SPEEDUP = 20.0  # model.predict / predict_proba, one row (as predict_latency.py).
AGREEMENT_TOLERANCE = 1e-5
# Paths slow enough (tens of ms per call) to be timed on `keras_repeats` rows only.
SLOW_PATHS = ("model.predict", "model(x)")


def run_inference(repeats, keras_repeats, batch_rows, batch_repeats, warmup, seed):
    """Fits the model, exports it, and times every prediction path.

    Args:
        repeats: timed single-row calls of `predict_proba` and onnxruntime.
        keras_repeats: timed single-row calls of the slow Keras paths
            (`model.predict`, `model(x)`), spread evenly among the others.
        batch_rows: rows of the batch comparison.
        batch_repeats: timed batch calls of every path.
        warmup: untimed calls of every path first.
        seed: the estimator's `random_state`.

    Returns:
        `(result, figures)`.
    """
    from domains.medical import DiagnosisPredictor

    table = tabular_quality.patients()
    X, y = table.X, table.y
    estimator = DiagnosisPredictor(max_epochs=5, random_state=seed).fit(X, y)
    with tempfile.TemporaryDirectory(prefix="side_by_side_onnx_") as folder:
        started = time.perf_counter()
        onnx, onnx_note = onnx_predictor(estimator, X.iloc[:2], Path(folder))
        export_seconds = time.perf_counter() - started
        paths = _prediction_paths(estimator, onnx)
        rows = [X.iloc[[i % len(X)]] for i in range(warmup + repeats)]
        single, single_diff = _time_single_rows(paths, rows, warmup, keras_repeats)
        frame = X.iloc[np.arange(batch_rows) % len(X)].reset_index(drop=True)
        batch, batch_diff = _time_batch(paths, frame, warmup, batch_repeats)
    keras.backend.clear_session()
    agreement = {
        path: max(single_diff.get(path, 0.0), batch_diff.get(path, 0.0))
        for path in single_diff | batch_diff
    }
    result = {
        "model": f"DiagnosisPredictor(max_epochs=5, random_state={seed}) on patients.csv",
        "epochs": int(estimator.n_epochs_),
        "n_members": int(estimator._members()),
        "onnx": onnx_note or "exported with est.export(path, format='onnx')",
        "export_seconds": None if onnx is None else export_seconds,
        "single_row": single,
        "batch": {"rows": batch_rows, **batch},
        "max_abs_diff_from_predict_proba": agreement,
    }
    return result, _figures(result, onnx_note, batch_rows)


def onnx_predictor(estimator, X_sample, folder):
    """Exports the estimator to ONNX and opens it in onnxruntime.

    Args:
        estimator: a fitted estimator with `export` and `export_inputs`.
        X_sample: a few raw rows, to check the session's inputs.
        folder: where to write the file.

    Returns:
        `(predict, None)`, where `predict(inputs)` runs the session on the
        dict from `export_inputs` and returns the probabilities; or
        `(None, reason)` when the export is not available or fails.
    """
    if not hasattr(estimator, "export") or not hasattr(estimator, "export_inputs"):
        return None, "export not available (no est.export / est.export_inputs)"
    try:
        import onnxruntime

        path = folder / "model.onnx"
        estimator.export(str(path), format="onnx")
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outputs = [output.name for output in session.get_outputs()]
        output = "probabilities" if "probabilities" in outputs else outputs[0]
        expected = {node.name for node in session.get_inputs()}
        given = set(estimator.export_inputs(X_sample))
        if given != expected:
            raise ValueError(f"export_inputs gives {sorted(given)}, the graph takes {expected}")
    except Exception as error:  # A benchmark reports a broken export; it does not stop.
        return None, f"export failed: {type(error).__name__}: {error}"
    return (lambda inputs: session.run([output], inputs)[0]), None


def _prediction_paths(estimator, onnx):
    """`{path: (prepare, call)}`: `prepare(frame)` runs untimed, `call(prepared)` is timed."""
    model = estimator.model_

    def from_logits(logits):
        return estimator._proba_from_logits(np.asarray(logits))

    paths = {
        "predict_proba": (lambda frame: frame, estimator.predict_proba),
        "model.predict": (
            estimator._transform,
            lambda matrix: from_logits(model.predict(matrix, verbose=0)),
        ),
        "model(x)": (
            estimator._transform,
            lambda matrix: from_logits(keras.ops.convert_to_numpy(model(matrix, training=False))),
        ),
    }
    if onnx is not None:
        paths["onnxruntime"] = (estimator.export_inputs, onnx)
        # The same, with the DataFrame-to-arrays step timed, as predict_proba's is.
        paths["frame+onnxruntime"] = (
            lambda frame: frame,
            lambda frame: onnx(estimator.export_inputs(frame)),
        )
    return paths


def _time_single_rows(paths, rows, warmup, keras_repeats):
    """Per-path timings of one-row calls; the slow paths on `keras_repeats` spread rows."""
    prepared, prepare_seconds = {}, {}
    for name, (prepare, _) in paths.items():
        prepared[name], prepare_seconds[name] = [], []
        for row in rows:
            started = time.perf_counter()
            prepared[name].append(prepare(row))
            prepare_seconds[name].append(time.perf_counter() - started)
    for k in range(warmup):
        for name, (_, call) in paths.items():
            call(prepared[name][k])
    repeats = len(rows) - warmup
    slow_at = set(np.linspace(0, repeats - 1, min(keras_repeats, repeats)).round().astype(int))
    seconds = {name: [] for name in paths}
    max_diff = {name: 0.0 for name in paths if name != "predict_proba"}
    for k in range(repeats):
        outputs = {}
        for name, (_, call) in paths.items():
            if name in SLOW_PATHS and k not in slow_at:
                continue
            started = time.perf_counter()
            outputs[name] = call(prepared[name][warmup + k])
            seconds[name].append(time.perf_counter() - started)
        for name in outputs.keys() - {"predict_proba"}:
            diff = np.abs(np.asarray(outputs[name]) - outputs["predict_proba"]).max()
            max_diff[name] = max(max_diff[name], float(diff))
    summary = {name: _stats(values) for name, values in seconds.items()}
    _print_progress("1 row", summary)
    # Untimed above: what each path needs first (preprocessing, export_inputs), one row.
    summary["prepare"] = {
        name: _stats(values[warmup:])
        for name, values in prepare_seconds.items()
        if name != "predict_proba"
    }
    return summary, max_diff


def _time_batch(paths, frame, warmup, batch_repeats):
    prepared = {name: prepare(frame) for name, (prepare, _) in paths.items()}
    for _ in range(max(1, warmup // 10)):
        for name, (_, call) in paths.items():
            call(prepared[name])
    seconds = {name: [] for name in paths}
    max_diff = {}
    for _ in range(batch_repeats):
        outputs = {}
        for name, (_, call) in paths.items():
            started = time.perf_counter()
            outputs[name] = call(prepared[name])
            seconds[name].append(time.perf_counter() - started)
        for name in outputs.keys() - {"predict_proba"}:
            diff = float(np.abs(np.asarray(outputs[name]) - outputs["predict_proba"]).max())
            max_diff[name] = max(max_diff.get(name, 0.0), diff)
    summary = {name: _stats(values) for name, values in seconds.items()}
    _print_progress(f"{len(frame)} rows", summary)
    return summary, max_diff


def _stats(seconds):
    ms = np.asarray(seconds) * 1e3
    return {
        "n": len(ms),
        "median_ms": float(np.median(ms)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "min_ms": float(ms.min()),
    }


def _figures(result, onnx_note, batch_rows):
    single, batch = result["single_row"], result["batch"]
    labels = {
        "model.predict": "Keras model.predict",
        "model(x)": "Keras model(x)",
        "onnxruntime": "ONNX Runtime (arrays given)",
        "frame+onnxruntime": "ONNX Runtime (DataFrame in)",
    }
    ours = single["predict_proba"]
    figures = []
    for path, label in labels.items():
        name = f"1 row, median (p99) ms: predict_proba speed-up over {label}"
        toolkit = f"{ours['median_ms']:.2f} ({ours['p99_ms']:.2f})"
        if path not in single:
            figures.append(Figure("inference", name, toolkit, "n/a", None, note=onnx_note))
            continue
        theirs = single[path]
        figures.append(
            Figure(
                "inference",
                name,
                toolkit,
                f"{theirs['median_ms']:.2f} ({theirs['p99_ms']:.2f})",
                theirs["median_ms"] / ours["median_ms"],
                target=(">=", TARGET_SPEEDUP) if path == "model.predict" else None,
            )
        )
    ours = batch["predict_proba"]
    for path in [p for p in labels if p in batch]:
        figures.append(
            Figure(
                "inference",
                f"{batch_rows} rows, median ms: predict_proba speed-up over {labels[path]}",
                f"{ours['median_ms']:.1f}",
                f"{batch[path]['median_ms']:.1f}",
                batch[path]["median_ms"] / ours["median_ms"],
            )
        )
    for path, diff in result["max_abs_diff_from_predict_proba"].items():
        figures.append(
            Figure(
                "inference",
                f"agreement: max |p(predict_proba) - p({labels[path]})|",
                "",
                "",
                diff,
                kind="error",
                target=("<=", AGREEMENT_TOLERANCE),
            )
        )
    return figures


def _print_progress(what, summary):
    line = "  ".join(f"{name} {s['median_ms']:.2f} ms" for name, s in summary.items())
    print(f"  [inference {what}] medians: {line}", file=sys.stderr, flush=True)
