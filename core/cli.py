"""The `keras-domains` command line.

    keras-domains tasks
    keras-domains train TASK --data FILE.csv --target COL --out MODEL [--set param=value ...]
    keras-domains predict MODEL --data FILE.csv --out preds.csv
    keras-domains evaluate MODEL --data FILE.csv --target COL
    keras-domains explain MODEL --data FILE.csv [--out attributions.csv]
    keras-domains demo

Errors are printed as one line, `keras-domains: error: ...`, with exit code 2.
"""

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None):
    """Runs the command line; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    tasks = commands.add_parser("tasks", help="list the available tasks")
    tasks.set_defaults(handler=_tasks)

    train = commands.add_parser("train", help="train a task on a CSV file and save the model")
    train.add_argument("task", help="task name, e.g. medical.diagnosis (see `tasks`)")
    train.add_argument("--data", required=True, help="training CSV file")
    train.add_argument("--target", required=True, help="name of the label column")
    train.add_argument("--out", required=True, help="model file to write (e.g. model.kdm)")
    train.add_argument(
        "--drop", nargs="*", default=[], metavar="COL", help="columns to leave out (e.g. ids)"
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="estimator parameter; VALUE is read as JSON when it parses, else as a string",
    )
    train.set_defaults(handler=_train)

    predict = commands.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", help="model file written by `train`")
    predict.add_argument("--data", required=True, help="CSV file with the same columns")
    predict.add_argument("--out", required=True, help="CSV file to write predictions to")
    predict.set_defaults(handler=_predict)

    evaluate = commands.add_parser("evaluate", help="report metrics of a saved model")
    evaluate.add_argument("model")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--target", required=True)
    evaluate.add_argument("--threshold", type=float, default=0.5)
    evaluate.set_defaults(handler=_evaluate)

    explain = commands.add_parser("explain", help="per-row, per-column attributions")
    explain.add_argument("model")
    explain.add_argument("--data", required=True)
    explain.add_argument("--out", help="CSV file to write attributions to (default: print)")
    explain.set_defaults(handler=_explain)

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
    from core.registry import get_task

    estimator_cls = get_task(args.task)
    frame = _read_csv(args.data)
    _require_columns(frame, [args.target, *args.drop], args.data)
    y = frame.pop(args.target)
    frame = frame.drop(columns=args.drop)
    estimator = estimator_cls().set_params(**_parse_settings(args.set, estimator_cls))
    started = time.perf_counter()
    estimator.fit(frame, y)
    estimator.save(args.out)
    print(
        f"trained {args.task} on {len(frame)} rows x {frame.shape[1]} columns in "
        f"{time.perf_counter() - started:.1f}s ({estimator.n_epochs_} epochs); saved to {args.out}"
    )


def _predict(args):
    import pandas as pd

    estimator = _load_model(args.model)
    frame = _read_csv(args.data)
    proba = estimator.predict_proba(frame)
    labels = estimator.predict(frame)
    if estimator.target_type_ == "multilabel-indicator":
        columns = {f"label_{c}": labels[:, i] for i, c in enumerate(estimator.classes_)}
    else:
        columns = {"prediction": labels}
    columns.update({f"proba_{c}": proba[:, i] for i, c in enumerate(estimator.classes_)})
    out = pd.DataFrame(columns, index=frame.index)
    _write_csv(out, args.out)
    print(f"wrote {len(out)} predictions to {args.out}")


def _evaluate(args):
    estimator = _load_model(args.model)
    frame = _read_csv(args.data)
    _require_columns(frame, [args.target], args.data)
    y = frame.pop(args.target)
    report = estimator.report(frame, y, threshold=args.threshold)
    report.pop("per_class", None)
    print(json.dumps({k: _round(v) for k, v in report.items()}, indent=2))


def _explain(args):
    estimator = _load_model(args.model)
    frame = _read_csv(args.data)
    attributions = estimator.explain(frame)
    if args.out:
        _write_csv(attributions, args.out)
        print(f"wrote attributions for {len(attributions)} rows to {args.out}")
    else:
        print(attributions.round(4).to_string())


def _demo(args):
    from core.demo import run_demo

    return run_demo(args.sample_data, args.out)


# ---------------------------------------------------------------------- helpers
def _read_csv(path):
    import pandas as pd

    if not os.path.isfile(path):
        raise FileNotFoundError(f"--data file {path!r} does not exist.")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"--data file {path!r} is not a readable CSV file: {error}") from error
    if frame.empty:
        raise ValueError(f"--data file {path!r} has no rows.")
    return frame


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
    tmp_path = f"{path}.tmp-{os.getpid()}"
    try:
        frame.to_csv(tmp_path, index=False)
        os.replace(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


def _load_model(path):
    from core.estimators import KerasEstimator
    from core.persistence import read_archive
    from core.registry import get_task

    _, _, metadata = read_archive(path)
    task = metadata.get("task")
    if not task:
        raise ValueError(f"{path!r} was not saved by a registered task; load it from Python.")
    estimator_cls = get_task(task)
    if not issubclass(estimator_cls, KerasEstimator):
        raise ValueError(f"Task {task!r} does not load from model files.")
    return estimator_cls.load(path)


def _parse_settings(settings, estimator_cls):
    valid = sorted(estimator_cls().get_params())
    params = {}
    for setting in settings:
        name, sep, raw = setting.partition("=")
        if not sep or not name:
            raise ValueError(f"--set expects PARAM=VALUE. Received: {setting!r}")
        if name not in valid:
            raise ValueError(f"--set: unknown parameter {name!r}. Valid parameters: {valid}.")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        params[name] = tuple(value) if isinstance(value, list) else value
    return params


def _round(value):
    return round(value, 4) if isinstance(value, float) and math.isfinite(value) else value


if __name__ == "__main__":
    sys.exit(main())
