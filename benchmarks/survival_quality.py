"""Quality of `TabularSurvival` against Cox proportional hazards and a random survival forest.

Models, all scored on the same stratified (by event) k-fold splits:

- TabularSurvival (the default, DeepSurv) and TabularSurvival
  (model="piecewise_hazard", no proportional hazards): default parameters
  (override with `--set`), `random_state` set per fold.
- CoxPH: scikit-survival's `CoxPHSurvivalAnalysis` (ridge penalty 0.01 for
  stability) on one-hot categories and standardised numbers, medians imputed.
- RSF: scikit-survival's `RandomSurvivalForest`, 300 trees,
  `min_samples_leaf=15`, `max_features="sqrt"`, on the same matrix.

Metrics: Harrell's concordance of each model's risk score, and the
integrated Brier score (IPCW) of its survival curves over the 10th to 80th
percentiles of the test fold's times; both from `core.metrics`, which
`tests/core/metrics` checks against scikit-survival.

Data sets (nothing is downloaded):

- cohort: `sample_data/medical/cohort.csv` (1,200 synthetic patients; a
  treatment effect that crosses over time and a biomarker effect that
  fades: hazards are not proportional by construction).
- gbsg2: German Breast Cancer Study Group 2 (686 patients, recurrence-free survival).
- whas500: Worcester Heart Attack Study (500 patients).
- veterans: Veterans' Administration lung cancer trial (137 patients).
- flchain: serum free light chain study (7,871 subjects with follow-up > 0, death;
  --quick: 2,000).
All but the cohort ship with scikit-survival and are real.

Targets: each TabularSurvival default's mean concordance within 0.01 of the
better of CoxPH and RSF on every data set.

Run from the repository root:

    python -m benchmarks.survival_quality [--quick] [--datasets cohort gbsg2]
        [--folds 5] [--set n_intervals=16] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from benchmarks.run_environment import run_environment
from benchmarks.settings import parse_settings
from benchmarks.tabular_quality import baseline_features
from core.estimators import TabularSurvival
from core.metrics import harrell_c, integrated_brier_score

COHORT_CSV = Path(__file__).resolve().parents[1] / "sample_data" / "medical" / "cohort.csv"
MODELS = ("TabularSurvival", "TabularSurvival (piecewise)", "CoxPH", "RSF")
REFERENCES = ("CoxPH", "RSF")
DATASETS = ("cohort", "gbsg2", "whas500", "veterans", "flchain")
QUICK_DATASETS = ("cohort", "gbsg2")
QUICK_ROWS = 2000
TOLERANCE = 0.01


@dataclass
class SurvivalTable:
    """One survival problem: raw covariates, times, events, and its categorical columns."""

    name: str
    X: pd.DataFrame
    time: np.ndarray
    event: np.ndarray
    categorical: list = field(default_factory=list)
    note: str = ""


def cohort():
    frame = pd.read_csv(COHORT_CSV)
    time, event = frame.pop("days").to_numpy(float), frame.pop("died").to_numpy(bool)
    X = frame.drop(columns=["patient_id"])
    categorical = ["sex", "stage", "treatment"]
    return SurvivalTable("cohort", X, time, event, categorical, "sample_data, synthetic, non-PH")


def _sksurv(name, loader, drop=(), note="scikit-survival, real"):
    X, y = loader()
    event_name, time_name = y.dtype.names
    keep = y[time_name] > 0  # flchain has subjects with no follow-up at all (time 0).
    X, y = X[keep].reset_index(drop=True), y[keep]
    X = X.drop(columns=list(drop))
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    X[categorical] = X[categorical].astype(object)
    return SurvivalTable(name, X, y[time_name].astype(float), y[event_name], categorical, note)


def load(name, quick=False):
    from sksurv import datasets

    loaders = {
        "cohort": cohort,
        "gbsg2": lambda: _sksurv("gbsg2", datasets.load_gbsg2),
        "whas500": lambda: _sksurv("whas500", datasets.load_whas500),
        "veterans": lambda: _sksurv("veterans", datasets.load_veterans_lung_cancer),
        # `chapter` is the cause of death: known only once the event happened.
        "flchain": lambda: _sksurv("flchain", datasets.load_flchain, drop=["chapter"]),
    }
    table = loaders[name]()
    if quick and len(table.time) > QUICK_ROWS:
        keep = np.sort(np.random.default_rng(0).permutation(len(table.time))[:QUICK_ROWS])
        table.X = table.X.iloc[keep].reset_index(drop=True)
        table.time, table.event = table.time[keep], table.event[keep]
    return table


def fit_score(model_name, table, train, test, seed, params):
    """Fits one model on `train`; returns its concordance and integrated Brier score on `test`."""
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    started = time.perf_counter()
    t_test, e_test = table.time[test], table.event[test]
    times = np.unique(np.percentile(t_test, np.linspace(10, 80, 15), method="lower"))
    times = times[times < t_test.max()]  # Inside the follow-up, as the IPCW weights need.
    extra = {}
    if model_name.startswith("TabularSurvival"):
        model_params = {**params, "random_state": seed}
        if model_name.endswith("(piecewise)"):
            model_params["model"] = "piecewise_hazard"
        model = TabularSurvival(**model_params)
        model.fit(table.X.iloc[train], time=table.time[train], event=table.event[train])
        risk = model.predict_risk(table.X.iloc[test])
        survival = model.predict_survival_function(table.X.iloc[test], times).to_numpy()
        extra["epochs"] = model.n_epochs_
        keras.backend.clear_session()
    else:
        matrix = baseline_features(table.X.columns, table.categorical, drop_first=True)
        matrix.fit(table.X.iloc[train])
        X_train, X_test = (
            matrix.transform(table.X.iloc[train]),
            matrix.transform(table.X.iloc[test]),
        )
        y_train = Surv.from_arrays(table.event[train], table.time[train])
        if model_name == "CoxPH":
            model = CoxPHSurvivalAnalysis(alpha=0.01)
        else:
            model = RandomSurvivalForest(
                n_estimators=300, min_samples_leaf=15, max_features="sqrt",
                random_state=seed, n_jobs=-1,
            )  # fmt: skip
        model.fit(X_train, y_train)
        risk = model.predict(X_test)
        functions = model.predict_survival_function(X_test)
        survival = np.asarray([f(np.clip(times, f.x[0], f.x[-1])) for f in functions])
    train_target = (table.time[train], table.event[train])
    return {
        "c_index": harrell_c(t_test, e_test, risk),
        "ibs": integrated_brier_score(t_test, e_test, survival, times, *train_target),
        "fit_seconds": time.perf_counter() - started,
        **extra,
    }


def run_dataset(name, folds, seed, params, quick=False, models=MODELS):
    """Every model on the same stratified `folds`-fold splits of one data set."""
    table = load(name, quick)
    results = {model: [] for model in models}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(splitter.split(table.X, table.event)):
        for model in models:
            results[model].append(fit_score(model, table, train, test, seed * 1000 + fold, params))
        print(
            f"  {name} fold {fold}: "
            + ", ".join(f"{m} C {results[m][-1]['c_index']:.4f}" for m in models),
            file=sys.stderr,
        )
    return summarise(table, results)


def summarise(table, results):
    summary = {
        "rows": len(table.time),
        "events": int(table.event.sum()),
        "note": table.note,
        "models": {
            model: {
                "c_index": float(np.mean([f["c_index"] for f in folds])),
                "ibs": float(np.mean([f["ibs"] for f in folds])),
                "fit_seconds": float(np.mean([f["fit_seconds"] for f in folds])),
                "c_index_per_fold": [f["c_index"] for f in folds],
            }
            for model, folds in results.items()
        },
    }
    references = [m for m in REFERENCES if m in results]
    if references and "TabularSurvival" in results:
        best = max(summary["models"][m]["c_index"] for m in references)
        summary["c_index_gap"] = summary["models"]["TabularSurvival"]["c_index"] - best
        summary["passed"] = bool(summary["c_index_gap"] >= -TOLERANCE)
    return summary


def print_summary(name, summary):
    print(f"\n== {name} ({summary['rows']} rows, {summary['events']} events; {summary['note']})")
    print(f"{'model':28s} {'C-index':>8s} {'IBS':>7s} {'fit s':>7s}")
    for model, m in summary["models"].items():
        print(f"{model:28s} {m['c_index']:8.4f} {m['ibs']:7.4f} {m['fit_seconds']:7.1f}")
    if "c_index_gap" in summary:
        print(
            f"C-index minus the better reference: {summary['c_index_gap']:+.4f} "
            f"(target >= -{TOLERANCE}); {'PASS' if summary['passed'] else 'FAIL'}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="cohort and gbsg2 only")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args(argv)
    params = parse_settings(args.set, TabularSurvival)
    datasets = args.datasets or (QUICK_DATASETS if args.quick else DATASETS)
    results = {}
    for name in datasets:
        results[name] = run_dataset(name, args.folds, args.seed, params, args.quick, args.models)
        print_summary(name, results[name])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"params": params, "results": results, "environment": run_environment()},
                      f, indent=2, default=str)  # fmt: skip
    return 0 if all(r.get("passed", True) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
