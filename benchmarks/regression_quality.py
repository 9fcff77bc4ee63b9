"""Quality of `TabularRegressor` against ridge regression and gradient boosting, same folds.

Models, all scored on the same k-fold splits:

- TabularRegressor: default parameters (override with `--set key=value`),
  `random_state` set per fold; intervals from `predict_interval` (CV+ over
  its cross-fitted members).
- Ridge: median imputation + StandardScaler for numbers, one-hot encoding
  for categories, `RidgeCV` over alphas 1e-3 ... 1e3.
- HistGradientBoosting: `HistGradientBoostingRegressor` with default
  settings, categories native.

The references' 90% intervals are split conformal: the model is refitted on
80% of the training rows and the other 20% give the absolute residuals (what
a user of a conformal library does with a model that has no intervals).

Data sets (nothing is downloaded):

- diabetes: scikit-learn's `load_diabetes` (442 patients, 10 columns,
  unscaled), target: disease progression after one year.
- flchain: scikit-survival's serum free light chain study (Mayo Clinic, real),
  target: serum creatinine of the 6,524 subjects who have one, from age,
  sex, kappa and lambda light chains, their group, MGUS and the sample year.

Targets: the regressor's mean RMSE within 2% of the better reference's, and
its 90% intervals covering 88-92% of the held-out rows.

Run from the repository root:

    python -m benchmarks.regression_quality [--quick] [--datasets diabetes flchain]
        [--folds 5] [--set loss=huber] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import sys
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, train_test_split
from sklearn.pipeline import make_pipeline

from benchmarks.run_environment import run_environment
from benchmarks.settings import parse_settings
from benchmarks.tabular_quality import baseline_features
from core.calibration import conformal_interval
from core.estimators import TabularRegressor
from core.metrics import regression_report

MODELS = ("TabularRegressor", "Ridge", "HistGradientBoosting")
DATASETS = ("diabetes", "flchain")
ALPHA = 0.1
# The RMSE target: within this share of the better reference.
RMSE_TOLERANCE = 0.02
# flchain rows used by --quick (a stratum of the 6,524).
QUICK_ROWS = 1500


@dataclass
class RegressionTable:
    """One regression problem: a raw DataFrame, the target, and its categorical columns."""

    name: str
    X: pd.DataFrame
    y: np.ndarray
    categorical: list = field(default_factory=list)
    note: str = ""


def diabetes():
    data = load_diabetes(as_frame=True, scaled=False)
    return RegressionTable(
        "diabetes", data.data, data.target.to_numpy(), note="sklearn, real; progression"
    )


def flchain():
    from sksurv.datasets import load_flchain

    X, _ = load_flchain()
    X = X[X["creatinine"].notna()].reset_index(drop=True)
    y = X.pop("creatinine").to_numpy()
    X = X.drop(columns=["chapter"])  # The cause of death: known only after the outcome.
    categorical = ["flc.grp", "mgus", "sample.yr", "sex"]
    X[categorical] = X[categorical].astype(object)
    return RegressionTable(
        "flchain", X, y, categorical, note="scikit-survival, real; serum creatinine"
    )


def load(name, quick=False):
    table = {"diabetes": diabetes, "flchain": flchain}[name]()
    if quick and len(table.y) > QUICK_ROWS:
        keep = np.sort(np.random.default_rng(0).permutation(len(table.y))[:QUICK_ROWS])
        table.X, table.y = table.X.iloc[keep].reset_index(drop=True), table.y[keep]
    return table


# -------------------------------------------------------------------- models
def ridge(table):
    return make_pipeline(
        baseline_features(table.X.columns, table.categorical),
        RidgeCV(alphas=np.logspace(-3, 3, 13)),
    )


def _reference(model_name, table, seed):
    if model_name == "Ridge":
        return table.X, ridge(table)
    X = table.X.astype({c: "category" for c in table.categorical})
    return X, HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=seed)


def fit_score(model_name, table, train, test, seed, params):
    """Fits one model on `train` rows; returns its RMSE, interval coverage and width on `test`."""
    started = time.perf_counter()
    y_train, y_test = table.y[train], table.y[test]
    if model_name == "TabularRegressor":
        model = TabularRegressor(**{**params, "random_state": seed})
        model.fit(table.X.iloc[train], y_train)
        predicted, interval = model.predict_with_interval(table.X.iloc[test], alpha=ALPHA)
        extra = {"epochs": model.n_epochs_}
        keras.backend.clear_session()
    else:
        X, model = _reference(model_name, table, seed)
        model.fit(X.iloc[train], y_train)
        predicted = model.predict(X.iloc[test])
        fit_rows, calibration_rows = train_test_split(train, test_size=0.2, random_state=seed)
        _, calibrated = _reference(model_name, table, seed)
        calibrated.fit(X.iloc[fit_rows], table.y[fit_rows])
        scores = np.abs(table.y[calibration_rows] - calibrated.predict(X.iloc[calibration_rows]))
        point = calibrated.predict(X.iloc[test])[:, None]
        interval = np.column_stack(conformal_interval(point, point, scores, ALPHA))
        extra = {}
    report = regression_report(y_test, predicted, interval)
    return {**report, "fit_seconds": time.perf_counter() - started, **extra}


def run_dataset(name, folds, seed, params, quick=False):
    """Every model on the same `folds`-fold splits of one data set."""
    table = load(name, quick)
    results = {model: [] for model in MODELS}
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(splitter.split(table.X)):
        for model in MODELS:
            results[model].append(fit_score(model, table, train, test, seed * 1000 + fold, params))
        print(
            f"  {name} fold {fold}: "
            + ", ".join(f"{m} RMSE {results[m][-1]['rmse']:.4g}" for m in MODELS),
            file=sys.stderr,
        )
    return summarise(table, results)


def summarise(table, results):
    summary = {"rows": len(table.y), "note": table.note, "models": {}}
    for model, folds in results.items():
        summary["models"][model] = {
            key: float(np.mean([f[key] for f in folds]))
            for key in ("rmse", "mae", "r2", "coverage", "mean_width", "fit_seconds")
        }
        summary["models"][model]["rmse_per_fold"] = [f["rmse"] for f in folds]
    best = min(summary["models"][m]["rmse"] for m in MODELS[1:])
    summary["rmse_ratio"] = summary["models"]["TabularRegressor"]["rmse"] / best
    summary["passed"] = bool(
        summary["rmse_ratio"] <= 1 + RMSE_TOLERANCE
        and 0.88 <= summary["models"]["TabularRegressor"]["coverage"] <= 0.92
    )
    return summary


def print_summary(name, summary):
    print(f"\n== {name} ({summary['rows']} rows; {summary['note']})")
    header = ("RMSE", 9), ("MAE", 9), ("R2", 6), ("cover90", 8), ("width", 9), ("fit s", 7)
    print(f"{'model':22s} " + " ".join(f"{name:>{width}s}" for name, width in header))
    for model, m in summary["models"].items():
        print(
            f"{model:22s} {m['rmse']:9.4g} {m['mae']:9.4g} {m['r2']:6.3f} "
            f"{m['coverage']:8.3f} {m['mean_width']:9.4g} {m['fit_seconds']:7.1f}"
        )
    print(
        f"RMSE / better reference: {summary['rmse_ratio']:.3f} (target <= {1 + RMSE_TOLERANCE}); "
        f"{'PASS' if summary['passed'] else 'FAIL'}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help=f"flchain: {QUICK_ROWS} rows")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args(argv)
    params = parse_settings(args.set, TabularRegressor)
    results = {}
    for name in args.datasets:
        results[name] = run_dataset(name, args.folds, args.seed, params, args.quick)
        print_summary(name, results[name])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"params": params, "results": results, "environment": run_environment()}, f,
                      indent=2, default=str)  # fmt: skip
    return 0 if all(r["passed"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
