"""The `keras-domains` command line.

    keras-domains tasks
    keras-domains train TASK --data FILE.csv --target COL --out MODEL [--set param=value ...]
        [--tensorboard DIR]
    keras-domains train nlp.text --data FILE.csv --text-column COL --target COL --out MODEL
    keras-domains train tabular.regression --data FILE.csv --target COL[,COL...] --out MODEL
    keras-domains train medical.survival --data FILE.csv --target TIME,EVENT --out MODEL
    keras-domains train nlp.generation --data corpus.txt --out MODEL
    keras-domains predict MODEL --data FILE.csv --out preds.csv [--alpha 0.1] [--times 365,730]
    keras-domains evaluate MODEL --data FILE.csv --target COL [--threshold T | --alpha A]
    keras-domains card MODEL --data FILE.csv --target COL --out card.md [--groups COL]
        [--intended-use TEXT] [--threshold T] [--positive-class LABEL] [--text-column COL]
    keras-domains explain MODEL --data FILE.csv [--out attributions.csv]
    keras-domains generate MODEL --prompt TEXT [--max-new-tokens N --temperature T ...]
    keras-domains serve MODEL [NAME=MODEL ...] [--host 127.0.0.1] [--port 8000]
        [--max-body-bytes N] [--max-batch N] [--batch-wait-ms MS] [--image-paths] [--threads N]
    keras-domains export MODEL --out PATH [--format saved_model|onnx]
    keras-domains demo

--data takes a CSV file or a Parquet file (.parquet or .pq; Parquet needs the `parquet`
extra: pip install "keras-domains[parquet]"). `serve` needs the `serve` extra:
pip install "keras-domains[serve]".

Errors are printed as one line, `keras-domains: error: ...`, with exit code 2.
"""

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.tensorflow_import import import_tensorflow_quietly


def main(argv=None):
    """Runs the command line; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if not args.verbose:
        import_tensorflow_quietly()
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        print("keras-domains: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # One clear line for the user, not a traceback.
        if os.environ.get("KERAS_DOMAINS_DEBUG"):
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"keras-domains: error: {message}", file=sys.stderr)
        return 2


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-domains",
        description="Deep learning for medicine, finance, vision and language, from the shell.",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show TensorFlow's own start-up log lines (CUDA probing, oneDNN notices)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    tasks = commands.add_parser("tasks", help="list the available tasks")
    tasks.set_defaults(handler=_tasks)

    train = commands.add_parser(
        "train", help="train a task on a CSV or Parquet file and save the model"
    )
    train.add_argument("task", help="task name, e.g. medical.diagnosis (see `tasks`)")
    train.add_argument(
        "--data",
        required=True,
        help="training CSV or Parquet file (or, for text tasks, a .txt file)",
    )
    train.add_argument(
        "--target",
        help="name of the label column (not for nlp.generation); a regressor takes several, "
        "comma-separated; a survival task the time and event columns (days,died)",
    )
    train.add_argument(
        "--text-column", help="for text tasks: the column holding the texts (else all columns)"
    )
    train.add_argument("--out", required=True, help="model file to write (e.g. model.kdm)")
    train.add_argument(
        "--drop", nargs="*", default=[], metavar="COL", help="columns to leave out (e.g. ids)"
    )
    train.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="write TensorBoard logs (loss, val_loss, the task's metric per epoch) to DIR",
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="estimator parameter; VALUE is read as a Python literal or JSON when it parses "
        "(0.1, None, 64,32, [64, 32]), else as a string; lists become tuples",
    )
    train.set_defaults(handler=_train)

    predict = commands.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", help="model file written by `train`")
    predict.add_argument("--data", required=True, help="CSV or Parquet file with the same columns")
    predict.add_argument("--out", required=True, help="CSV file to write predictions to")
    predict.add_argument(
        "--alpha",
        type=float,
        default=0.1,
        help="regressors: miss rate of the conformal intervals written beside the predictions",
    )
    predict.add_argument(
        "--times",
        type=_times,
        metavar="T1,T2,...",
        help="survival models: times of the survival probabilities written "
        "(default: the quartiles of the model's time grid)",
    )
    predict.set_defaults(handler=_predict)

    evaluate = commands.add_parser("evaluate", help="report metrics of a saved model")
    evaluate.add_argument("model")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--target", required=True)
    evaluate.add_argument("--threshold", type=float, default=0.5)
    evaluate.add_argument(
        "--alpha", type=float, default=0.1, help="regressors: miss rate of the intervals reported"
    )
    evaluate.set_defaults(handler=_evaluate)

    card = commands.add_parser(
        "card", help="write a Markdown model card (metrics, calibration, subgroups, plots)"
    )
    card.add_argument("model", help="model file written by `train`")
    card.add_argument("--data", required=True, help="labelled test CSV or Parquet file")
    card.add_argument("--target", required=True, help="name of the label column")
    card.add_argument(
        "--out", required=True, help="Markdown file to write; the two PNG figures go beside it"
    )
    card.add_argument("--groups", metavar="COL", help="column of subgroups to report on")
    card.add_argument("--intended-use", metavar="TEXT", help="what the model is for, in your words")
    card.add_argument("--threshold", type=float, default=0.5)
    card.add_argument(
        "--positive-class",
        metavar="LABEL",
        help="class scored one-vs-rest (default: the second class of a binary model)",
    )
    card.add_argument("--text-column", help="for text tasks: the column holding the texts")
    card.set_defaults(handler=_card)

    explain = commands.add_parser("explain", help="per-row, per-column attributions")
    explain.add_argument("model")
    explain.add_argument("--data", required=True)
    explain.add_argument("--out", help="CSV file to write attributions to (default: print)")
    explain.set_defaults(handler=_explain)

    generate = commands.add_parser("generate", help="continue a prompt with a text generator")
    generate.add_argument("model", help="model file written by `train nlp.generation`")
    generate.add_argument("--prompt", default="", help="text to continue")
    generate.add_argument("--max-new-tokens", type=int, default=50)
    generate.add_argument("--greedy", action="store_true", help="take the most likely token")
    generate.add_argument("--temperature", type=float, default=1.0)
    generate.add_argument("--top-k", type=int, default=None)
    generate.add_argument("--top-p", type=float, default=1.0)
    generate.add_argument("--repetition-penalty", type=float, default=1.0)
    generate.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    generate.add_argument("--seed", type=int, default=None)
    generate.set_defaults(handler=_generate)

    serve = commands.add_parser(
        "serve",
        help="serve saved models over HTTP (JSON API, a page per model at /models/NAME, "
        "OpenAPI page at /docs)",
    )
    serve.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="model file, served under its file name without extension; NAME=FILE names it",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: loopback only)"
    )
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=1 << 20,
        help="larger request bodies are refused with 413 (default: 1 MiB)",
    )
    serve.add_argument(
        "--max-batch",
        type=int,
        default=1000,
        help="most rows (texts, images) per request and per micro-batch (default: 1000)",
    )
    serve.add_argument(
        "--batch-wait-ms",
        type=float,
        default=2.0,
        help="longest a request waits to share a model call with others; 0 turns "
        "micro-batching off (default: 2)",
    )
    serve.add_argument(
        "--image-paths",
        action="store_true",
        help="image columns of table rows may name files on this machine, not only send them "
        "as base64 (for a server on the machine that holds the images)",
    )
    serve.add_argument(
        "--threads",
        type=int,
        default=None,
        help="TensorFlow threads for the model calls (default: one less than the cores, "
        "leaving one to the HTTP server)",
    )
    serve.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level; 'info' also logs every request",
    )
    serve.set_defaults(handler=_serve)

    export = commands.add_parser(
        "export", help="export a saved model for serving without keras-domains"
    )
    export.add_argument("model", help="model file written by `train` or `save`")
    export.add_argument("--out", required=True, help="path to write the export to")
    export.add_argument(
        "--format", default="saved_model", choices=["saved_model", "onnx"], help="export format"
    )
    export.set_defaults(handler=_export)

    demo = commands.add_parser("demo", help="train every task on the shipped sample data")
    demo.add_argument(
        "--sample-data", help="folder with the sample data (default: the repository's)"
    )
    demo.add_argument("--out", help="folder for the demo's models (default: a temporary one)")
    demo.set_defaults(handler=_demo)
    return parser


# --------------------------------------------------------------------- commands
def _tasks(args):
    from core.registry import get_task, list_tasks

    for name in list_tasks():
        doc = (get_task(name).__doc__ or "").strip().splitlines()
        print(f"{name:24s} {doc[0] if doc else ''}")


def _train(args):
    from sklearn.utils import get_tags

    from core.parameter_settings import parse_settings
    from core.registry import get_task

    estimator_cls = get_task(args.task)
    estimator = estimator_cls().set_params(**parse_settings(args.set, estimator_cls))
    if args.target is None and get_tags(estimator).target_tags.required:
        raise ValueError(f"--target is required to train {args.task!r}.")
    if args.data.endswith(".txt"):
        if args.target is not None:
            raise ValueError("A .txt --data file has no label column; use a CSV or Parquet file.")
        frame = _read_lines(args.data)
    else:
        frame = _read_table(args.data)
    y = None if args.target is None else _pop_target(frame, args.target, args.data)
    columns = [] if args.text_column is None else [args.text_column]
    _require_columns(frame, [*columns, *args.drop], args.data)
    frame = frame.drop(columns=args.drop)
    X = frame if args.text_column is None else frame[args.text_column]
    callbacks = None
    if args.tensorboard:
        callbacks = [_tensorboard_callback(args.tensorboard)]
    started = time.perf_counter()
    if y is None:
        estimator.fit(X, callbacks=callbacks)
    else:
        estimator.fit(X, y, callbacks=callbacks)
    estimator.save(args.out)
    print(
        f"trained {args.task} on {len(frame)} rows in {time.perf_counter() - started:.1f}s "
        f"({estimator.n_epochs_} epochs); saved to {args.out}"
    )


def _tensorboard_callback(log_dir):
    """Keras' TensorBoard callback; an ImportError naming the extra when TensorBoard is missing."""
    import importlib.util

    import keras

    if importlib.util.find_spec("tensorboard") is None:
        raise ImportError(
            "--tensorboard writes its logs through the tensorboard package, which is not "
            'installed. Install it with: pip install "keras-domains[tensorboard]"'
        )
    return keras.callbacks.TensorBoard(log_dir=log_dir)


def _read_lines(path):
    import pandas as pd

    if not os.path.isfile(path):
        raise FileNotFoundError(f"--data file {path!r} does not exist.")
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    if not lines:
        raise ValueError(f"--data file {path!r} has no text lines.")
    return pd.DataFrame({"text": lines})


def _predict(args):
    import pandas as pd
    from sklearn.base import is_regressor

    estimator = _load_model(args.model)
    frame = _read_table(args.data)
    if hasattr(estimator, "predict_survival_function"):
        out = _survival_predictions(estimator, frame, args.times)
        _write_csv(out, args.out)
        print(f"wrote {len(out)} predictions to {args.out}")
        return
    if is_regressor(estimator):
        out = _regression_predictions(estimator, frame, args.alpha)
        _write_csv(out, args.out)
        print(f"wrote {len(out)} predictions to {args.out}")
        return
    proba = estimator.predict_proba(frame)
    labels = estimator.predict(frame)
    if estimator.target_type_ == "multilabel-indicator":
        columns = {f"label_{c}": labels[:, i] for i, c in enumerate(estimator.classes_)}
    else:
        columns = {"prediction": labels}
    columns.update({f"proba_{c}": proba[:, i] for i, c in enumerate(estimator.classes_)})
    out = pd.DataFrame(columns, index=estimator.output_index(frame))
    if out.index.name is not None:  # One row per entity (e.g. patient): say which.
        out = out.reset_index()
    _write_csv(out, args.out)
    print(f"wrote {len(out)} predictions to {args.out}")


def _times(text):
    """`--times 365,730` as floats."""
    try:
        return [float(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated times, e.g. 365,730; received {text!r}"
        ) from None


def _pop_target(frame, target, path):
    """Removes the label column(s) from `frame` and returns them.

    `target` is a column name or, for a regressor with several targets,
    comma-separated names (`--target cost,days`), or a survival model's time and
    event columns (`--target days,died`).
    """
    import pandas as pd

    if target in frame.columns:
        return frame.pop(target)
    names = target.split(",")
    _require_columns(frame, names, path)
    return pd.concat([frame.pop(name) for name in names], axis=1)


def _survival_predictions(estimator, frame, times):
    """A survival model's risk, median time and survival probabilities at `times`."""
    import numpy as np
    import pandas as pd

    if times is None:  # The quartiles of the model's time grid.
        times = np.quantile(estimator.time_grid_, [0.25, 0.5, 0.75], method="nearest")
    survival = estimator.predict_survival_function(frame, times)
    columns = {
        "risk": estimator.predict_risk(frame),
        "median_time": estimator.predict_median_time(frame),
    }
    columns.update({f"survival_{t:g}": survival[t].to_numpy() for t in survival.columns})
    return pd.DataFrame(columns, index=frame.index)


def _regression_predictions(estimator, frame, alpha):
    """A regressor's predictions per target, with conformal bounds when it kept held-out rows."""
    import pandas as pd

    names = estimator.target_names_
    predicted = estimator.predict(frame).reshape(len(frame), -1)
    columns = {f"prediction_{name}": predicted[:, t] for t, name in enumerate(names)}
    if len(names) == 1:
        columns = {"prediction": predicted[:, 0]}
    if getattr(estimator, "held_out_values_", None) is not None:
        bounds = estimator.predict_interval(frame, alpha=alpha).reshape(len(frame), -1, 2)
        level = f"{100 * (1 - alpha):g}"
        for t, name in enumerate(names):
            suffix = "" if len(names) == 1 else f"_{name}"
            columns[f"lower_{level}{suffix}"] = bounds[:, t, 0]
            columns[f"upper_{level}{suffix}"] = bounds[:, t, 1]
    return pd.DataFrame(columns, index=frame.index)


def _evaluate(args):
    from sklearn.base import is_regressor

    estimator = _load_model(args.model)
    frame = _read_table(args.data)
    y = _pop_target(frame, args.target, args.data)
    if hasattr(estimator, "predict_survival_function"):
        report = estimator.report(frame, y)
        report.pop("calibration", None)
    elif is_regressor(estimator):
        report = estimator.report(frame, y, alpha=args.alpha)
    else:
        report = estimator.report(frame, y, threshold=args.threshold)
    report.pop("per_class", None)
    print(json.dumps(_rounded(report), indent=2))


def _card(args):
    from core.reports import model_card, survival_model_card

    estimator = _load_model(args.model)
    frame = _read_table(args.data)
    if hasattr(estimator, "predict_survival_function"):  # --target TIME,EVENT
        y = _pop_target(frame, args.target, args.data)
        path = survival_model_card(
            estimator,
            frame,
            args.out,
            y=y,
            intended_use=args.intended_use,
            dataset=os.path.basename(args.data),
        )
        print(path)
        return
    named = [c for c in (args.target, args.groups, args.text_column) if c is not None]
    _require_columns(frame, named, args.data)
    y = frame[args.target]
    groups = None if args.groups is None else frame[args.groups].to_numpy()
    trained_on = _trained_columns(estimator)
    X = frame.drop(
        columns=list(
            dict.fromkeys(c for c in (args.target, args.groups) if c and c not in trained_on)
        )
    )
    if args.text_column is not None:
        X = X[args.text_column]
    path = model_card(
        estimator,
        X,
        y,
        args.out,
        intended_use=args.intended_use,
        groups=groups,
        positive_class=_class_label(args.positive_class, estimator),
        threshold=args.threshold,
        dataset=os.path.basename(args.data),
    )
    print(path)


def _trained_columns(estimator):
    """Input columns the model reads: its feature names, or its text column."""
    columns = {str(c) for c in getattr(estimator, "feature_names_in_", [])}
    text_column = getattr(estimator, "text_column_", None)
    if text_column is not None:
        columns.add(str(text_column))
    return columns


def _class_label(text, estimator):
    """The class of `estimator` whose text is `text` (for multilabel, a label index)."""
    if text is None:
        return None
    if getattr(estimator, "target_type_", None) == "multilabel-indicator":
        try:
            return int(text)
        except ValueError:
            raise ValueError(
                f"--positive-class must be a label index for a multilabel model. Received: {text!r}"
            ) from None
    for label in estimator.classes_:
        if str(label) == text:
            return label.item() if hasattr(label, "item") else label
    raise ValueError(
        f"--positive-class {text!r} is not a class of the model; "
        f"its classes are {[str(c) for c in estimator.classes_]}."
    )


def _explain(args):
    import pandas as pd

    estimator = _load_model(args.model)
    frame = _read_table(args.data)
    attributions = estimator.explain(frame)
    if isinstance(attributions, list):  # Texts: one (token, attribution) list per row.
        attributions = pd.DataFrame(
            [
                {"row": row, "position": i, "token": token, "attribution": score}
                for row, pairs in zip(frame.index, attributions, strict=True)
                for i, (token, score) in enumerate(pairs)
            ],
            columns=["row", "position", "token", "attribution"],
        )
    if args.out:
        _write_csv(attributions, args.out)
        print(f"wrote attributions for {len(attributions)} rows to {args.out}")
    else:
        print(attributions.round(4).to_string())


def _generate(args):
    generator = _load_model(args.model)
    if not hasattr(generator, "generate"):
        raise ValueError(f"{args.model!r} holds a {generator.task_name} model, not a generator.")
    print(
        generator.generate(
            args.prompt,
            max_new_tokens=args.max_new_tokens,
            greedy=args.greedy,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            repetition_penalty=args.repetition_penalty,
            stop=args.stop or None,
            seed=args.seed,
        )
    )


def _serve(args):
    from core.serving import ModelServer  # Raises an ImportError naming the extra.

    specs = _model_specs(args.models)
    _check_port(args.host, args.port)
    _set_threads(args.threads)
    models = {name: _load_model(path) for name, path in specs.items()}
    server = ModelServer(
        models,
        max_body_bytes=args.max_body_bytes,
        max_batch=args.max_batch,
        batch_wait_ms=args.batch_wait_ms,
        image_paths=args.image_paths,
    )
    listed = ", ".join(f"{name} ({served.task})" for name, served in server.models.items())
    print(
        f"serving {listed} at http://{args.host}:{args.port} (model pages: /models, API "
        "docs: /docs); Ctrl-C stops",
        flush=True,
    )
    server.run(host=args.host, port=args.port, log_level=args.log_level)


def _set_threads(threads):
    """Sets TensorFlow's thread pools before any model loads.

    One model call runs at a time, beside the HTTP server's event loop; with
    a thread per core, TensorFlow's threads and the event loop take turns on
    the same cores, which costs more than the threads gain on small models.
    """
    if threads is None:
        threads = max(1, (os.cpu_count() or 2) - 1)
    if threads < 1:
        raise ValueError(f"--threads must be a positive integer. Received: {threads}")
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already runs in this process (main() called from Python).
        pass


def _check_port(host, port):
    """Fails with one clear line when the address cannot be listened on (e.g. in use)."""
    import socket

    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        raise OSError(f"Cannot listen on {host}:{port}: {error.strerror or error}.") from None


def _model_specs(items):
    """`{name: path}` from `FILE` or `NAME=FILE` arguments; names must be unique."""
    specs = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or os.path.isfile(item):
            path = item
            name = os.path.splitext(os.path.basename(item))[0]
        if not name or not path:
            raise ValueError(f"A model is FILE or NAME=FILE. Received: {item!r}")
        if name in specs:
            raise ValueError(
                f"Two models are named {name!r} ({specs[name]!r} and {path!r}); "
                "name them with NAME=FILE."
            )
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Model file {path!r} does not exist.")
        specs[name] = path
    return specs


def _export(args):
    estimator = _load_model(args.model)
    print(json.dumps(estimator.export(args.out, format=args.format), indent=2, default=str))


def _demo(args):
    from core.demo import run_demo

    return run_demo(args.sample_data, args.out, quiet=not args.verbose)


# ---------------------------------------------------------------------- helpers
def _read_table(path):
    """The --data file as a DataFrame: Parquet for .parquet and .pq files, else CSV."""
    import pandas as pd

    from core.data.table_source import PARQUET_SUFFIXES, require_pyarrow

    if not os.path.isfile(path):
        raise FileNotFoundError(f"--data file {path!r} does not exist.")
    if path.lower().endswith(PARQUET_SUFFIXES):
        require_pyarrow()  # Without pyarrow: an ImportError naming the `parquet` extra.
        try:
            frame = pd.read_parquet(path, engine="pyarrow")
        except (ValueError, OSError) as error:  # pyarrow's ArrowInvalid is a ValueError.
            raise ValueError(
                f"--data file {path!r} is not a readable Parquet file: {error}"
            ) from error
    else:
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise ValueError(f"--data file {path!r} is not a readable CSV file: {error}") from error
    if frame.empty:
        raise ValueError(f"--data file {path!r} has no rows.")
    from core.data.relative_paths import resolve_image_paths

    return resolve_image_paths(frame, os.path.dirname(os.path.abspath(path)))


def _require_columns(frame, columns, path):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"--data file {path!r} has no column(s) {missing}; "
            f"its columns are {list(frame.columns)}."
        )


def _write_csv(frame, path):
    """Writes next to the destination first, so a failure leaves no half-written file."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"--out folder {folder!r} does not exist.")
    if os.path.isdir(path):
        raise ValueError(f"--out {path!r} is a folder; it must name a CSV file.")
    from core.persistence.atomic_file import atomic_write

    with atomic_write(path, "w", encoding="utf-8", newline="", what="CSV file") as f:
        frame.to_csv(f, index=False)


def _load_model(path):
    from core.registry import load_task_model

    return load_task_model(path)


def _round(value):
    return round(value, 4) if isinstance(value, float) and math.isfinite(value) else value


def _rounded(report):
    """A report's floats rounded for printing, nested dicts included."""
    return {
        str(k): _rounded(v) if isinstance(v, dict) else _rounded_list(v) for k, v in report.items()
    }


def _rounded_list(value):
    if isinstance(value, list):
        return [_rounded(v) if isinstance(v, dict) else _round(v) for v in value]
    return _round(value)


if __name__ == "__main__":
    sys.exit(main())
