"""Quality of `RiskScorer` against scikit-learn baselines on the shipped credit applicants.

Data: `sample_data/finance/applicants.csv` (2,000 synthetic applicants, 2023-2024,
target `default`). `applicant_id`, `application_date` and `default` are never
features, and neither is the protected attribute `sex`: the baselines get the
table without it, and RiskScorer gets it with `exclude=["sex"]` (its default
here), which leaves the column out of the model.

Models, scored on the same held-out rows:

- RiskScorer: default parameters plus `exclude=["sex"]` (override with
  `--set key=value`), `random_state` set per fit.
- LogisticRegression: median imputation + StandardScaler for numeric columns,
  most-frequent imputation + one-hot encoding for categorical ones, `C=1.0`,
  `max_iter=5000`.
- HistGradientBoostingClassifier: default settings, categorical columns as
  native categoricals (`categorical_features="from_dtype"`), NaN handled natively.

Two evaluations:

- stratified k-fold cross-validation (`--folds`, `--repeats`, `--quick`);
- out of time: train on 2023 applications, test on 2024 ones, plus the
  population stability index (PSI) of each model's scores, 2023 against 2024.

Metrics on held-out rows: ROC AUC, Gini and KS (`domains.finance.performance_report`),
Brier score, expected calibration error (`core.metrics.expected_calibration_error`,
10 equal-width bins) and wall-clock seconds per fit.

Target: RiskScorer's mean cross-validated AUC is within 0.01 of the better
baseline's.

Run from the repository root:

    python -m benchmarks.credit_quality [--quick] [--folds 5] [--repeats 1]
        [--rows 1000] [--set dropout=0.1] [--json out.json]
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
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from benchmarks.settings import parse_settings
from core.metrics import expected_calibration_error
from domains.finance import (
    RiskScorer,
    out_of_time_split,
    performance_report,
    stability_report,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
APPLICANTS_CSV = REPO_ROOT / "sample_data" / "finance" / "applicants.csv"

TARGET = "default"
TIME_COLUMN = "application_date"
NOT_FEATURES = ["applicant_id", TIME_COLUMN, TARGET]
PROTECTED = "sex"
OOT_CUTOFF = "2024-01-01"  # train on 2023, test on 2024

MODELS = ("RiskScorer", "LogisticRegression", "HistGradientBoosting")
BASELINES = MODELS[1:]
METRICS = ("auc", "gini", "ks", "brier", "ece")
DEFAULT_PARAMS = {"exclude": [PROTECTED]}
GAP_TOLERANCE = 0.01


# ---------------------------------------------------------------------- data
@dataclass
class Table:
    """Applicants: the RiskScorer frame (with `sex`), labels, dates and categorical columns."""

    X: pd.DataFrame
    y: np.ndarray
    dates: pd.Series
    categorical: list = field(default_factory=list)
    seed: int | None = None  # The subsample's seed, when --rows subsamples.

    @property
    def X_baseline(self):
        """Baseline input: no protected column, categories as objects with NaN for missing."""
        X = self.X.drop(columns=[PROTECTED])
        for column in self.categorical:
            if column in X.columns:
                X[column] = X[column].astype(object).where(X[column].notna(), np.nan)
        return X

    @property
    def baseline_categorical(self):
        return [c for c in self.categorical if c != PROTECTED]


def load_applicants(rows=None, seed=0):
    """The applicants table, optionally a stratified subsample of `rows` rows."""
    # The table columns: the description is `multimodal_quality`'s.
    frame = pd.read_csv(APPLICANTS_CSV).drop(columns=["description"])
    if rows is not None and rows < len(frame):
        index, _ = train_test_split(
            np.arange(len(frame)), train_size=rows, stratify=frame[TARGET], random_state=seed
        )
        frame = frame.iloc[np.sort(index)].reset_index(drop=True)
    else:
        seed = None
    X = frame.drop(columns=NOT_FEATURES)
    categorical = [c for c in X.columns if not _is_plain_numeric(X[c])]
    return Table(X, frame[TARGET].to_numpy(), frame[TIME_COLUMN], categorical, seed)


def _is_plain_numeric(column):
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


# -------------------------------------------------------------------- models
def logistic_regression(table):
    categorical = table.baseline_categorical
    numeric = [c for c in table.X_baseline.columns if c not in categorical]
    transformers = [
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
    ]
    if categorical:
        pipe = make_pipeline(
            SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
        )
        transformers.append(("categorical", pipe, categorical))
    return make_pipeline(ColumnTransformer(transformers), LogisticRegression(C=1.0, max_iter=5000))


def make_model(model_name, table, seed, params):
    """`(unfitted model, its input frame)` for one of MODELS."""
    if model_name == "RiskScorer":
        return RiskScorer(**{**params, "random_state": seed}), table.X
    if model_name == "LogisticRegression":
        return logistic_regression(table), table.X_baseline
    X = table.X_baseline.astype({c: "category" for c in table.baseline_categorical})
    return HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed), X


def scores_of(y, proba):
    """Held-out metrics of one model's probabilities of default."""
    report = performance_report(y, proba)
    return {
        "auc": report["auc"],
        "gini": report["gini"],
        "ks": report["ks"],
        "brier": float(brier_score_loss(y, proba)),
        "ece": expected_calibration_error(y, proba),
    }


def fit_score(model_name, table, train, test, seed, params, psi=False):
    """Fits on `train` rows, scores `test` rows; returns a dict of metrics and timings."""
    model, X = make_model(model_name, table, seed, params)
    start = time.perf_counter()
    model.fit(X.iloc[train], table.y[train])
    seconds = time.perf_counter() - start
    proba = model.predict_proba(X.iloc[test])[:, 1]
    result = {**scores_of(table.y[test], proba), "fit_seconds": seconds}
    if psi:  # Development (training) scores against the new period's scores.
        stability = stability_report(model.predict_proba(X.iloc[train])[:, 1], proba)
        result["psi"] = stability["psi"]
        result["psi_verdict"] = stability["verdict"]
    if model_name == "RiskScorer":
        result["epochs"] = model.n_epochs_
        keras.backend.clear_session()
    return result


# ------------------------------------------------------------ evaluations
def run_cv(args, params):
    """Stratified k-fold CV; each repeat reshuffles (and, with --rows, resubsamples)."""
    per_fold = {m: {k: [] for k in (*METRICS, "fit_seconds")} for m in MODELS}
    epochs, subsample_seeds = [], []
    table = None
    for repeat in range(args.repeats):
        table = load_applicants(args.rows, args.seed + repeat)
        if table.seed is not None:
            subsample_seeds.append(table.seed)
        shuffle = args.seed + repeat
        cv = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=shuffle)
        for fold, (train, test) in enumerate(cv.split(table.X, table.y)):
            seed = args.seed + 1000 * shuffle + fold
            line = []
            for model_name in MODELS:
                result = fit_score(model_name, table, train, test, seed, params)
                for key in per_fold[model_name]:
                    per_fold[model_name][key].append(result[key])
                if "epochs" in result:
                    epochs.append(result["epochs"])
                line.append(
                    f"{_short(model_name)} {result['auc']:.4f} ({result['fit_seconds']:.1f}s)"
                )
            print(
                f"  [cv] repeat {repeat} fold {fold}: " + "  ".join(line),
                file=sys.stderr,
                flush=True,
            )
    means = {m: float(np.mean(per_fold[m]["auc"])) for m in MODELS}
    best = max(BASELINES, key=means.get)
    diff = np.asarray(per_fold["RiskScorer"]["auc"]) - np.asarray(per_fold[best]["auc"])
    gap = means["RiskScorer"] - means[best]
    return {
        "rows": len(table.y),
        "positive_rate": float(np.mean(table.y)),
        "subsample_seeds": subsample_seeds,
        "models": {
            m: {
                key: {
                    "mean": float(np.mean(values)),
                    "std": float(np.std(values)),
                    "folds": [float(v) for v in values],
                }
                for key, values in per_fold[m].items()
            }
            for m in MODELS
        },
        "epochs": {"mean": float(np.mean(epochs)), "min": min(epochs), "max": max(epochs)},
        "best_baseline": best,
        "paired_diff": {
            "folds": diff.tolist(),
            "mean": float(diff.mean()),
            "std": float(diff.std()),
            "wins": int((diff > 0).sum()),
        },
        "gap": gap,
        "passed": bool(gap >= -GAP_TOLERANCE),
    }


def run_out_of_time(args, params):
    """Train on 2023, test on 2024 (with --rows: the first repeat's subsample)."""
    table = load_applicants(args.rows, args.seed)
    frame = pd.DataFrame({TIME_COLUMN: table.dates, "row": np.arange(len(table.y))})
    train_df, test_df = out_of_time_split(frame, TIME_COLUMN, cutoff=OOT_CUTOFF)
    train, test = train_df["row"].to_numpy(), test_df["row"].to_numpy()
    models = {}
    for model_name in MODELS:
        models[model_name] = fit_score(model_name, table, train, test, args.seed, params, psi=True)
    best = max(BASELINES, key=lambda m: models[m]["auc"])
    print(
        "  [out of time] " + "  ".join(f"{_short(m)} {models[m]['auc']:.4f}" for m in MODELS),
        file=sys.stderr,
        flush=True,
    )
    return {
        "cutoff": OOT_CUTOFF,
        "train_rows": len(train),
        "test_rows": len(test),
        "train_bad_rate": float(table.y[train].mean()),
        "test_bad_rate": float(table.y[test].mean()),
        "train_dates": [str(table.dates.iloc[train].min()), str(table.dates.iloc[train].max())],
        "test_dates": [str(table.dates.iloc[test].min()), str(table.dates.iloc[test].max())],
        "models": models,
        "best_baseline": best,
        "gap": models["RiskScorer"]["auc"] - models[best]["auc"],
    }


# ------------------------------------------------------------------- output
def _short(model_name):
    return {"RiskScorer": "RS", "LogisticRegression": "LR"}.get(model_name, "HGB")


def print_header(table, args):
    n_features = table.X_baseline.shape[1]
    subsample = f"; stratified {args.rows}-row subsample(s)" if table.seed is not None else ""
    print()
    print(
        f"== applicants: {len(table.y)} rows, {n_features} features "
        f"({len(table.baseline_categorical)} categorical; {PROTECTED!r} excluded), "
        f"{np.mean(table.y):.1%} bad{subsample}"
    )


def print_cv(cv, args):
    print()
    seeds = cv["subsample_seeds"]
    note = f", subsample seeds {', '.join(map(str, seeds))}" if seeds else ""
    print(
        f"Cross-validation: {args.folds}-fold stratified x {args.repeats} repeat(s), "
        f"held-out folds (mean over folds){note}"
    )
    header = (
        f"   {'model':<22} {'AUC mean ± std':>17} {'Gini':>7} {'KS':>7} {'Brier':>7} "
        f"{'ECE':>7} {'s/fit':>7}"
    )
    print(header)
    for m in MODELS:
        r = cv["models"][m]
        print(
            f"   {m:<22} {r['auc']['mean']:>8.4f} ± {r['auc']['std']:.4f} "
            f"{r['gini']['mean']:>7.4f} {r['ks']['mean']:>7.4f} {r['brier']['mean']:>7.4f} "
            f"{r['ece']['mean']:>7.4f} {r['fit_seconds']['mean']:>7.2f}"
        )
    diff = cv["paired_diff"]
    folds = " ".join(f"{d:+.4f}" for d in diff["folds"])
    print(
        f"   RS - {cv['best_baseline']} AUC per fold: {folds}\n"
        f"   mean {diff['mean']:+.4f} ± {diff['std']:.4f}, RS better in "
        f"{diff['wins']}/{len(diff['folds'])} folds; RS epochs {cv['epochs']['mean']:.0f} "
        f"(min {cv['epochs']['min']}, max {cv['epochs']['max']})"
    )


def print_out_of_time(oot):
    print()
    print(
        f"Out of time: train {oot['train_dates'][0]}..{oot['train_dates'][1]} "
        f"({oot['train_rows']} rows, {oot['train_bad_rate']:.1%} bad), "
        f"test {oot['test_dates'][0]}..{oot['test_dates'][1]} "
        f"({oot['test_rows']} rows, {oot['test_bad_rate']:.1%} bad)"
    )
    print(
        f"   {'model':<22} {'AUC':>7} {'Gini':>7} {'KS':>7} {'Brier':>7} {'ECE':>7} "
        f"{'s/fit':>7}  score PSI train->test"
    )
    for m in MODELS:
        r = oot["models"][m]
        print(
            f"   {m:<22} {r['auc']:>7.4f} {r['gini']:>7.4f} {r['ks']:>7.4f} "
            f"{r['brier']:>7.4f} {r['ece']:>7.4f} {r['fit_seconds']:>7.2f}  "
            f"{r['psi']:.4f} ({r['psi_verdict']})"
        )
    print(
        f"   RS - {oot['best_baseline']} AUC: {oot['gap']:+.4f} (informational: a single "
        f"split of {oot['test_rows']} test rows)"
    )


def print_verdict(cv, params):
    best = cv["best_baseline"]
    print()
    print(f"RiskScorer params: {json.dumps(params)}")
    print(
        f"Target: RiskScorer mean CV AUC {cv['models']['RiskScorer']['auc']['mean']:.4f} within "
        f"{GAP_TOLERANCE} of the better baseline ({best} "
        f"{cv['models'][best]['auc']['mean']:.4f}): gap {cv['gap']:+.4f}  "
        f"{'PASS' if cv['passed'] else 'FAIL'}"
    )


# ---------------------------------------------------------------------- CLI
def _parse_set(items):
    return parse_settings(items, RiskScorer, DEFAULT_PARAMS)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.credit_quality",
        description="RiskScorer vs LogisticRegression and HistGradientBoostingClassifier on "
        "sample_data/finance/applicants.csv: cross-validated and out-of-time AUC, Gini, KS, "
        "Brier score, calibration error and score stability.",
    )
    parser.add_argument("--folds", type=int, default=5, help="CV folds (default 5)")
    parser.add_argument(
        "--repeats", type=int, default=1, help="repeated CV with different shuffles"
    )
    parser.add_argument("--quick", action="store_true", help="3 folds instead of --folds")
    parser.add_argument(
        "--rows",
        type=int,
        help="use a stratified subsample of this many applicants (e.g. 1000); each repeat "
        "draws its own, and the out-of-time split uses the first",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="RiskScorer parameter, value parsed as JSON (repeatable), e.g. "
        "--set hidden_units=[128,64] --set dropout=0.1",
    )
    parser.add_argument("--no-oot", action="store_true", help="skip the out-of-time evaluation")
    parser.add_argument("--seed", type=int, default=0, help="base seed for shuffles and models")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.folds = 3
    if args.folds < 2:
        parser.error(f"--folds is too small: {args.folds}")
    if args.repeats < 1:
        parser.error(f"--repeats is too small: {args.repeats}")
    if args.rows is not None and args.rows < 10 * args.folds:
        parser.error(f"--rows is too small for {args.folds} folds: {args.rows}")
    return args


def main(argv=None):
    args = parse_args(argv)
    params = _parse_set(args.overrides)
    try:  # Fail before any fitting.
        check = RiskScorer(**params)
        check._check_params()
        check._check_scaling()
    except (TypeError, ValueError) as error:
        raise SystemExit(f"Invalid RiskScorer parameters: {error}") from None
    started = time.perf_counter()
    print_header(load_applicants(args.rows, args.seed), args)
    cv = run_cv(args, params)
    print_cv(cv, args)
    oot = None
    if not args.no_oot:
        oot = run_out_of_time(args, params)
        print_out_of_time(oot)
    print_verdict(cv, params)
    elapsed = time.perf_counter() - started
    print(f"Total time {elapsed / 60:.1f} min.")
    if args.json:
        payload = {
            "benchmark": "credit_quality",
            "params": params,
            "folds": args.folds,
            "repeats": args.repeats,
            "rows": args.rows,
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
            "cross_validation": cv,
            "out_of_time": oot,
            "passed": cv["passed"],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if cv["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
