"""Quality of `DiagnosisPredictor` against scikit-learn baselines on real and shipped tables.

Models, all scored by stratified k-fold cross-validated ROC AUC on the same folds:

- DiagnosisPredictor: default parameters (override with `--backbone` and
  `--set key=value`), `random_state` set per fold.
- LogisticRegression: median imputation + StandardScaler for numeric
  columns, most-frequent imputation + one-hot encoding for categorical ones,
  `C=1.0`, `max_iter=5000`.
- HistGradientBoostingClassifier: default settings, categorical columns as
  native categoricals (`categorical_features="from_dtype"`), NaN handled natively.

Data sets (nothing is downloaded):

- breast_cancer: scikit-learn's `load_breast_cancer` (569 rows, 30 numeric columns).
- diabetes: scikit-learn's `load_diabetes` (442 patients, 10 columns, unscaled),
  target made binary as disease progression above its median.
- patients: `sample_data/medical/patients.csv` (600 synthetic patients, mixed
  types, missing values), target `diagnosis`.
- patients_300: 300-row stratified subsamples of `patients` (the small-table
  case); each repeat draws `--subsamples` different subsamples.
- breast_cancer_mixed: breast_cancer with `worst radius` replaced by its
  quintile as a string category and 15% of all cells set missing at random.

Targets: DiagnosisPredictor's mean AUC on breast_cancer is at least 0.99, and
on every data set its mean AUC is within 0.01 of the better baseline's.

Run from the repository root:

    python -m benchmarks.tabular_quality [--quick] [--datasets patients diabetes]
        [--folds 5] [--repeats 1] [--backbone transformer] [--set dropout=0.1]
        [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from benchmarks.settings import parse_settings
from domains.medical import DiagnosisPredictor

REPO_ROOT = Path(__file__).resolve().parents[1]
PATIENTS_CSV = REPO_ROOT / "sample_data" / "medical" / "patients.csv"

DATASETS = ("breast_cancer", "diabetes", "patients", "patients_300", "breast_cancer_mixed")
MODELS = ("DiagnosisPredictor", "LogisticRegression", "HistGradientBoosting")
BASELINES = MODELS[1:]
SMALL_ROWS = 300
MISSING_SHARE = 0.15
BINNED_FEATURE = "worst radius"
BREAST_CANCER_TARGET = 0.99
GAP_TOLERANCE = 0.01


# ---------------------------------------------------------------- data sets
@dataclass
class Table:
    """One CV problem: a raw DataFrame, binary labels, and its categorical columns."""

    name: str
    X: pd.DataFrame
    y: np.ndarray
    categorical: list = field(default_factory=list)
    note: str = ""
    seed: int | None = None  # The subsample's seed, for subsampled tables.


def breast_cancer():
    data = load_breast_cancer(as_frame=True)
    return Table("breast_cancer", data.data, data.target.to_numpy(), note="sklearn, real")


def diabetes():
    data = load_diabetes(as_frame=True, scaled=False)
    target = data.target.to_numpy()
    y = (target > np.median(target)).astype(int)
    return Table("diabetes", data.data, y, note="sklearn, real; y = progression > median")


def patients():
    frame = pd.read_csv(PATIENTS_CSV)
    # The table columns: the note and the x-ray are `multimodal_quality`'s.
    X = frame.drop(columns=["patient_id", "diagnosis", "note", "xray"])
    categorical = [c for c in X.columns if not _is_plain_numeric(X[c])]
    return Table(
        "patients",
        X,
        frame["diagnosis"].to_numpy(),
        categorical,
        note="sample_data, synthetic, mixed types",
    )


def patients_small(seed):
    table = patients()
    index, _ = train_test_split(
        np.arange(len(table.y)), train_size=SMALL_ROWS, stratify=table.y, random_state=seed
    )
    return Table(
        "patients_300",
        table.X.iloc[np.sort(index)].reset_index(drop=True),
        table.y[np.sort(index)],
        table.categorical,
        note=f"stratified {SMALL_ROWS}-row subsamples of patients",
        seed=seed,
    )


def breast_cancer_mixed():
    table = breast_cancer()
    X = table.X.copy()
    quintiles = pd.qcut(X[BINNED_FEATURE], 5, labels=["q1", "q2", "q3", "q4", "q5"])
    X[BINNED_FEATURE] = quintiles.astype(object)
    rng = np.random.default_rng(0)
    X = X.mask(rng.random(X.shape) < MISSING_SHARE)
    return Table(
        "breast_cancer_mixed",
        X,
        table.y,
        [BINNED_FEATURE],
        note=f"{MISSING_SHARE:.0%} MCAR cells, {BINNED_FEATURE!r} as string quintiles",
    )


def _is_plain_numeric(column):
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def for_baselines(table):
    """Baseline input: booleans as 0/1 numbers, categories as objects with NaN for missing."""
    X = table.X.copy()
    for column in X.columns:
        if pd.api.types.is_bool_dtype(X[column]):
            X[column] = X[column].astype(float)
        elif column in table.categorical:
            X[column] = X[column].astype(object).where(X[column].notna(), np.nan)
    return X


# -------------------------------------------------------------------- models
def baseline_features(columns, categorical, drop_first=False):
    """The linear baselines' preprocessing: numbers median-imputed and standardised,
    categories most-frequent-imputed and one-hot encoded (first level dropped if asked)."""
    numeric = [c for c in columns if c not in categorical]
    transformers = [
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
    ]
    if categorical:
        encoder = OneHotEncoder(
            handle_unknown="ignore", drop="first" if drop_first else None, sparse_output=False
        )
        encoded = make_pipeline(SimpleImputer(strategy="most_frequent"), encoder)
        transformers.append(("categorical", encoded, list(categorical)))
    return ColumnTransformer(transformers)


def logistic_regression(table):
    return make_pipeline(
        baseline_features(table.X.columns, table.categorical),
        LogisticRegression(C=1.0, max_iter=5000),
    )


def fit_score(model_name, table, train, test, seed, params):
    """Fits one model on `train` rows; returns (AUC on `test` rows, fit seconds, epochs)."""
    epochs = None
    if model_name == "DiagnosisPredictor":
        X = table.X
        model = DiagnosisPredictor(**{**params, "random_state": seed})
    elif model_name == "LogisticRegression":
        X = for_baselines(table)
        model = logistic_regression(table)
    else:
        X = for_baselines(table).astype({c: "category" for c in table.categorical})
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    start = time.perf_counter()
    model.fit(X.iloc[train], table.y[train])
    seconds = time.perf_counter() - start
    auc = roc_auc_score(table.y[test], model.predict_proba(X.iloc[test])[:, 1])
    if model_name == "DiagnosisPredictor":
        epochs = model.n_epochs_
        keras.backend.clear_session()
    return float(auc), seconds, epochs


# ------------------------------------------------------------------------ CV
def cv_splits(name, args):
    """Yields `(table, repeat, fold, train, test, seed)` for every fit of a data set."""
    loaders = {
        "breast_cancer": breast_cancer,
        "diabetes": diabetes,
        "patients": patients,
        "breast_cancer_mixed": breast_cancer_mixed,
    }
    for repeat in range(args.repeats):
        if name == "patients_300":
            tables = [
                patients_small(args.seed + repeat * args.subsamples + s)
                for s in range(args.subsamples)
            ]
        else:
            tables = [loaders[name]()]
        for t, table in enumerate(tables):
            shuffle = args.seed + repeat * len(tables) + t
            cv = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=shuffle)
            for fold, (train, test) in enumerate(cv.split(table.X, table.y)):
                yield table, repeat, fold, train, test, args.seed + 1000 * shuffle + fold


def run_dataset(name, args, params):
    scores = {m: [] for m in MODELS}
    seconds = {m: [] for m in MODELS}
    epochs, subsample_seeds = [], []
    table = None
    for table, repeat, fold, train, test, seed in cv_splits(name, args):
        if table.seed is not None and table.seed not in subsample_seeds:
            subsample_seeds.append(table.seed)
        line = []
        for model_name in MODELS:
            auc, fit_seconds, n_epochs = fit_score(model_name, table, train, test, seed, params)
            scores[model_name].append(auc)
            seconds[model_name].append(fit_seconds)
            if n_epochs is not None:
                epochs.append(n_epochs)
            line.append(f"{_short(model_name)} {auc:.4f} ({fit_seconds:.1f}s)")
        print(
            f"  [{name}] repeat {repeat} fold {fold}: " + "  ".join(line),
            file=sys.stderr,
            flush=True,
        )
    return summarise(name, table, scores, seconds, epochs, subsample_seeds)


def summarise(name, table, scores, seconds, epochs, subsample_seeds):
    means = {m: float(np.mean(scores[m])) for m in MODELS}
    best = max(BASELINES, key=means.get)
    diff = np.asarray(scores["DiagnosisPredictor"]) - np.asarray(scores[best])
    gap = means["DiagnosisPredictor"] - means[best]
    verdicts = {"within_0.01_of_best_baseline": bool(gap >= -GAP_TOLERANCE)}
    if name == "breast_cancer":
        verdicts["auc_at_least_0.99"] = bool(means["DiagnosisPredictor"] >= BREAST_CANCER_TARGET)
    return {
        "dataset": name,
        "rows": len(table.y),
        "columns": table.X.shape[1],
        "categorical_columns": list(table.categorical),
        "positive_rate": float(np.mean(table.y)),
        "note": table.note
        + (f" (seeds {', '.join(map(str, subsample_seeds))})" if subsample_seeds else ""),
        "subsample_seeds": subsample_seeds,
        "auc": {
            m: {"mean": means[m], "std": float(np.std(scores[m])), "folds": scores[m]}
            for m in MODELS
        },
        "fit_seconds": {m: float(np.mean(seconds[m])) for m in MODELS},
        "epochs": {"mean": float(np.mean(epochs)), "min": min(epochs), "max": max(epochs)},
        "best_baseline": best,
        "paired_diff": {
            "folds": diff.tolist(),
            "mean": float(diff.mean()),
            "std": float(diff.std()),
            "wins": int((diff > 0).sum()),
        },
        "gap": gap,
        "verdicts": verdicts,
        "passed": all(verdicts.values()),
    }


# ------------------------------------------------------------------- output
def _short(model_name):
    return {"DiagnosisPredictor": "DP", "LogisticRegression": "LR"}.get(model_name, "HGB")


def print_dataset(result):
    print()
    print(
        f"== {result['dataset']}: {result['rows']} rows, {result['columns']} columns "
        f"({len(result['categorical_columns'])} categorical), "
        f"{result['positive_rate']:.1%} positive; {result['note']}"
    )
    print(f"   {'model':<22} {'AUC mean ± std':>18} {'s/fit':>7}")
    for m in MODELS:
        auc = result["auc"][m]
        print(f"   {m:<22} {auc['mean']:>9.4f} ± {auc['std']:.4f} {result['fit_seconds'][m]:>7.2f}")
    diff = result["paired_diff"]
    folds = " ".join(f"{d:+.4f}" for d in diff["folds"])
    print(
        f"   DP - {result['best_baseline']} per fold: {folds}\n"
        f"   mean {diff['mean']:+.4f} ± {diff['std']:.4f}, DP better in "
        f"{diff['wins']}/{len(diff['folds'])} folds; DP epochs {result['epochs']['mean']:.0f} "
        f"(min {result['epochs']['min']}, max {result['epochs']['max']})"
    )
    for verdict, passed in result["verdicts"].items():
        print(f"   {verdict}: {'PASS' if passed else 'FAIL'}")


def print_summary(results, args, params):
    print()
    print(f"Summary ({args.folds}-fold stratified CV x {args.repeats} repeat(s); mean ROC AUC)")
    print(f"DiagnosisPredictor params: {json.dumps(params) if params else 'defaults'}")
    header = (
        f"{'dataset':<21} {'DP':>7} {'LR':>7} {'HGB':>7} {'DP-best':>8} "
        f"{'DP s/fit':>9} {'LR s/fit':>9} {'HGB s/fit':>10}  verdict"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        auc, sec = r["auc"], r["fit_seconds"]
        print(
            f"{r['dataset']:<21} {auc['DiagnosisPredictor']['mean']:>7.4f} "
            f"{auc['LogisticRegression']['mean']:>7.4f} "
            f"{auc['HistGradientBoosting']['mean']:>7.4f} {r['gap']:>+8.4f} "
            f"{sec['DiagnosisPredictor']:>9.2f} {sec['LogisticRegression']:>9.3f} "
            f"{sec['HistGradientBoosting']:>10.3f}  {'PASS' if r['passed'] else 'FAIL'}"
        )
    print(
        f"Targets: breast_cancer DP AUC >= {BREAST_CANCER_TARGET}; "
        f"DP within {GAP_TOLERANCE} of the better baseline on every data set."
    )


# ---------------------------------------------------------------------- CLI
def _parse_set(items):
    return parse_settings(items, DiagnosisPredictor)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tabular_quality",
        description="Cross-validated ROC AUC of DiagnosisPredictor vs LogisticRegression "
        "and HistGradientBoostingClassifier.",
    )
    parser.add_argument("--folds", type=int, default=5, help="CV folds (default 5)")
    parser.add_argument(
        "--repeats", type=int, default=1, help="repeated CV with different shuffles"
    )
    parser.add_argument("--quick", action="store_true", help="3 folds instead of --folds")
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        default=list(DATASETS),
        metavar="NAME",
        help=f"subset of {', '.join(DATASETS)} (default: all)",
    )
    parser.add_argument(
        "--subsamples",
        type=int,
        default=3,
        help=f"different {SMALL_ROWS}-row subsamples per repeat for patients_300 (default 3)",
    )
    parser.add_argument(
        "--backbone", choices=("mlp", "transformer"), help="DiagnosisPredictor backbone"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="DiagnosisPredictor parameter, value parsed as JSON (repeatable), "
        "e.g. --set hidden_units=[128,64] --set dropout=0.1",
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed for shuffles and models")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.folds = 3
    for name in ("folds", "repeats", "subsamples"):
        if getattr(args, name) < 1 or (name == "folds" and args.folds < 2):
            parser.error(f"--{name} is too small: {getattr(args, name)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    params = _parse_set(args.overrides)
    if args.backbone:
        params["backbone"] = args.backbone
    try:  # Fail before any fitting.
        DiagnosisPredictor(**params)._check_params()
    except ValueError as error:
        raise SystemExit(f"Invalid DiagnosisPredictor parameters: {error}") from None
    started = time.perf_counter()
    results = []
    for name in args.datasets:
        results.append(run_dataset(name, args, params))
        print_dataset(results[-1])
    print_summary(results, args, params)
    elapsed = time.perf_counter() - started
    print(f"Total time {elapsed / 60:.1f} min.")
    if args.json:
        payload = {
            "benchmark": "tabular_quality",
            "params": params,
            "folds": args.folds,
            "repeats": args.repeats,
            "subsamples": args.subsamples,
            "seed": args.seed,
            "seconds": elapsed,
            "environment": {
                "python": platform.python_version(),
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
                "scikit-learn": sklearn.__version__,
                "pandas": pd.__version__,
                "cpu_count": os.cpu_count(),
            },
            "results": results,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
