"""`SequenceDiagnosisPredictor` against bag-of-codes baselines on dated clinical events.

Data: the synthetic events of `sample_data/medical/make_events.py` (diagnoses,
drugs and labs of each patient, 2018-2022). By default the shipped
`events.csv` (1,500 patients); `--patients N` generates N patients instead
(seed `--data-seed`), closer to the size of a real cohort. The task is the
one the data is made for: from the history up to 2021-01-01, predict heart
failure (`I50`) within the next 365 days, for the patients with a history and
without I50 before (`make_prediction_task`). The hidden risk has count
effects and four that counts cannot fully carry: a recent myocardial
infarction, hypertension left untreated by an ACE inhibitor, the trend of
BNP, and diabetes together with kidney disease.

Each split (`--splits`, seeds `--seed`, `--seed` + 1, ...) holds out 25% of
the patients (`patient_split`, stratified); every model is scored on the
same test patients.

Models:

- SEQ: `SequenceDiagnosisPredictor(value_column="value")`, other parameters
  default (override with `--set key=value`); `random_state` = the split's seed.
- LR counts: LogisticRegression (`C=1.0`) on each patient's code counts.
- LR tuned: LogisticRegressionCV on log1p code counts, C from 9 values in
  [1e-3, 10] by 5-fold log loss. SEQ is judged against the better of the two
  LRs on each split.
- HGB counts: HistGradientBoostingClassifier (default settings) on the same counts.

`--top-codes N` keeps only the N most frequent codes of the histories (the
labels stay those of the full histories): a proxy for real cohorts with few
distinct codes, where logistic regression on counts is hard to beat.

Also shown: the AUROC of the generator's own risk score (`true_logit`, the
oracle; it lacks only the unobserved noise), whether SEQ kept its deep path,
and seconds per fit.

Target: SEQ's mean test AUROC is at least that of the better LR per split.

Run from the repository root:

    python -m benchmarks.medical_sequences [--splits 3] [--patients 12000] [--top-codes 10]
        [--set embedding_dim=32] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from benchmarks.settings import parse_settings
from domains.medical import SequenceDiagnosisPredictor, make_prediction_task, patient_split

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "sample_data" / "medical"
MODELS = ("SEQ", "LR counts", "LR tuned", "HGB counts")


# ---------------------------------------------------------------------- data
def _generator():
    spec = importlib.util.spec_from_file_location("make_events", SAMPLE / "make_events.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_task(args):
    """`(task, oracle)`: the prediction task and the generator's risk per patient (or None)."""
    generator = _generator()
    oracle = None
    if args.patients:
        events, patients = generator.simulate_cohort(args.patients, args.data_seed)
        oracle = patients.set_index("patient_id")["true_logit"]
    else:
        events = pd.read_csv(SAMPLE / "events.csv")
        if hasattr(generator, "simulate_cohort"):  # The shipped file is (1500, seed 0).
            n = events["patient_id"].nunique()
            cohort_events, patients = generator.simulate_cohort(n, 0)
            same = (
                len(cohort_events) == len(events)
                and (cohort_events["code"].to_numpy() == events["code"].to_numpy()).all()
            )
            if same:
                oracle = patients.set_index("patient_id")["true_logit"]
    horizon = getattr(generator, "HORIZON_DAYS", 365)
    task = make_prediction_task(
        events, generator.OUTCOME_CODE, horizon, prediction_time=generator.PREDICTION_DATE
    )
    if getattr(args, "top_codes", 0):
        task = keep_top_codes(task, args.top_codes)
    return task, oracle, generator


def keep_top_codes(task, n_codes):
    """The task with each history cut to its `n_codes` most frequent codes (labels unchanged).

    A proxy for the real cohorts whose extracts carry a handful of distinct
    codes (chapters, a few labs): the linear model on counts then holds
    most of what there is to learn, and the sequence model must not fall
    below it.
    """
    history = task.history
    top = history["code"].value_counts().index[:n_codes]
    kept = history[history["code"].isin(top)]
    # Patients left without events keep no row; their labels go with them.
    keep = task.y.index.isin(kept["patient_id"].unique())
    return task._replace(history=kept, y=task.y[keep], prediction_time=task.prediction_time[keep])


# -------------------------------------------------------------------- models
def code_counts(X_train, X_test):
    """Code-count matrices of the train and test patients (sorted ids), and those ids."""
    bags = [
        X["code"].astype(str).str.replace(" ", "_").groupby(X["patient_id"]).agg(" ".join)
        for X in (X_train, X_test)
    ]
    vectorizer = CountVectorizer(token_pattern=r"\S+", lowercase=False)
    train, test = vectorizer.fit_transform(bags[0]), vectorizer.transform(bags[1])
    return train, test, bags[0].index, bags[1].index


def fit_sequence(task, X_train, X_test, y_train, y_test, seed, params):
    model = SequenceDiagnosisPredictor(**{**params, "random_state": seed})
    start = time.perf_counter()
    model.fit(X_train, y_train, prediction_time=task.prediction_time)
    seconds = time.perf_counter() - start
    proba = model.predict_proba(X_test, prediction_time=task.prediction_time)[:, 1]
    truth = y_test.loc[model.patient_index(X_test)]
    result = {
        "auroc": float(roc_auc_score(truth, proba)),
        "fit_seconds": seconds,
        "epochs": model.n_epochs_,
        "deep_path_kept": bool(model.deep_path_kept_),
    }
    keras.backend.clear_session()
    return result


def tuned_logistic_regression():
    """LR on log1p counts with its L2 penalty chosen by 5-fold cross-validated log loss."""
    return make_pipeline(
        FunctionTransformer(np.log1p, accept_sparse=True),
        LogisticRegressionCV(Cs=np.logspace(-3, 1, 9), cv=5, scoring="neg_log_loss", max_iter=5000),
    )


def fit_counts(model, X_train, X_test, y_train, y_test, dense=False):
    train, test, train_ids, test_ids = code_counts(X_train, X_test)
    if dense:
        train, test = train.toarray(), test.toarray()
    start = time.perf_counter()
    model.fit(train, y_train.loc[train_ids])
    seconds = time.perf_counter() - start
    proba = model.predict_proba(test)[:, 1]
    return {"auroc": float(roc_auc_score(y_test.loc[test_ids], proba)), "fit_seconds": seconds}


def run(task, oracle, args, params):
    per_split = {m: [] for m in MODELS}
    oracle_scores = []
    seeds = [args.seed + i for i in range(args.splits)]
    for seed in seeds:
        X_train, X_test, y_train, y_test = patient_split(
            task.history, task.y, test_size=0.25, random_state=seed
        )
        results = {
            "SEQ": fit_sequence(task, X_train, X_test, y_train, y_test, seed, params),
            "LR counts": fit_counts(
                LogisticRegression(C=1.0, max_iter=5000), X_train, X_test, y_train, y_test
            ),
            "LR tuned": fit_counts(tuned_logistic_regression(), X_train, X_test, y_train, y_test),
            "HGB counts": fit_counts(
                HistGradientBoostingClassifier(random_state=seed),
                X_train,
                X_test,
                y_train,
                y_test,
                dense=True,
            ),
        }
        for name, result in results.items():
            per_split[name].append(result)
        line = "  ".join(
            f"{name} {r['auroc']:.4f} ({r['fit_seconds']:.1f}s)" for name, r in results.items()
        )
        if oracle is not None:
            oracle_scores.append(float(roc_auc_score(y_test, oracle.loc[y_test.index])))
            line += f"  oracle {oracle_scores[-1]:.4f}"
        print(f"  [split {seed}] AUROC: {line}", file=sys.stderr, flush=True)
    models = {}
    for name, results in per_split.items():
        models[name] = {
            key: {
                "mean": float(np.mean([r[key] for r in results])),
                "std": float(np.std([r[key] for r in results])),
                "splits": [r[key] for r in results],
            }
            for key in results[0]
        }
    # Judged against the better logistic regression on each split.
    best_lr = np.maximum(
        models["LR counts"]["auroc"]["splits"], models["LR tuned"]["auroc"]["splits"]
    )
    diff = np.asarray(models["SEQ"]["auroc"]["splits"]) - best_lr
    return {
        "seeds": seeds,
        "models": models,
        "oracle_auroc": oracle_scores or None,
        "seq_minus_best_lr": {
            "splits": diff.tolist(),
            "mean": float(diff.mean()),
            "wins": int((diff > 0).sum()),
        },
        "passed": bool(models["SEQ"]["auroc"]["mean"] >= best_lr.mean()),
    }


# -------------------------------------------------------------------- output
def print_header(task, args, generator):
    history, y = task.history, task.y
    source = f"{args.patients} generated patients" if args.patients else "events.csv"
    print()
    print(
        f"== {source}: {len(history)} events up to {generator.PREDICTION_DATE} of {len(y)} "
        f"patients; {generator.OUTCOME_CODE} within the next year: {y.mean():.1%}; "
        f"{history['code'].nunique()} distinct codes"
    )
    print(f"   {args.splits} patient split(s) 75/25, stratified, seeds from {args.seed}")


def print_results(result):
    n = len(result["seeds"])
    print()
    print(f"Test AUROC, mean ± std over {n} split(s)")
    print(f"   {'model':<12} {'AUROC':>15} {'s/fit':>7}")
    for name in MODELS:
        r = result["models"][name]
        print(
            f"   {name:<12} {r['auroc']['mean']:>8.4f}±{r['auroc']['std']:.4f} "
            f"{r['fit_seconds']['mean']:>7.1f}"
        )
    if result["oracle_auroc"]:
        print(f"   {'oracle':<12} {np.mean(result['oracle_auroc']):>8.4f} (generator's risk)")
    seq = result["models"]["SEQ"]
    kept = int(sum(seq["deep_path_kept"]["splits"]))
    print(
        f"   SEQ kept its deep path in {kept}/{n} split(s); epochs "
        f"{seq['epochs']['mean']:.1f} on average"
    )
    diff = result["seq_minus_best_lr"]
    print(
        "   AUROC, SEQ - the better LR per split: "
        + " ".join(f"{d:+.4f}" for d in diff["splits"])
        + f" (SEQ better in {diff['wins']}/{n})"
    )


def print_verdict(result, params):
    models = result["models"]
    print()
    print(f"SequenceDiagnosisPredictor params: {json.dumps(params)}")
    best_lr = models["SEQ"]["auroc"]["mean"] - result["seq_minus_best_lr"]["mean"]
    print(
        f"Target: SEQ mean AUROC {models['SEQ']['auroc']['mean']:.4f} >= the better LR per "
        f"split {best_lr:.4f}  {'PASS' if result['passed'] else 'FAIL'}"
    )


# ----------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.medical_sequences",
        description="SequenceDiagnosisPredictor vs logistic regression and gradient boosting on "
        "code counts, on synthetic dated clinical events (heart failure within a year).",
    )
    parser.add_argument("--splits", type=int, default=3, help="patient splits (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="first split seed (default 0)")
    parser.add_argument(
        "--patients",
        type=int,
        default=0,
        help="generate this many patients instead of reading events.csv (default: the file)",
    )
    parser.add_argument(
        "--data-seed", type=int, default=1, help="seed of the generated patients (default 1)"
    )
    parser.add_argument(
        "--top-codes",
        type=int,
        default=0,
        metavar="N",
        help="keep only the N most frequent codes in every history, a proxy for real "
        "cohorts with few distinct codes (default: all codes)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="SequenceDiagnosisPredictor parameter, value a Python literal or JSON (repeatable), "
        "e.g. --set embedding_dim=32 --set backbone=lstm",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.splits < 1:
        parser.error(f"--splits is too small: {args.splits}")
    if args.patients < 0 or 0 < args.patients < 200:
        parser.error(f"--patients must be 0 (the file) or at least 200: {args.patients}")
    return args


def main(argv=None):
    args = parse_args(argv)
    params = parse_settings(
        args.overrides,
        SequenceDiagnosisPredictor,
        defaults={"value_column": "value"},
        reserved={"random_state": "--seed"},
    )
    try:  # Fail before any fitting.
        SequenceDiagnosisPredictor(**params)._check_params()
    except (TypeError, ValueError) as error:
        raise SystemExit(f"Invalid SequenceDiagnosisPredictor parameters: {error}") from None
    started = time.perf_counter()
    task, oracle, generator = load_task(args)
    print_header(task, args, generator)
    result = run(task, oracle, args, params)
    print_results(result)
    print_verdict(result, params)
    elapsed = time.perf_counter() - started
    print(f"Total time {elapsed / 60:.1f} min.")
    if args.json:
        payload = {
            "benchmark": "medical_sequences",
            "params": params,
            "patients": args.patients or "events.csv",
            "task_patients": len(task.y),
            "prevalence": float(task.y.mean()),
            "seconds": elapsed,
            "environment": {
                "python": platform.python_version(),
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
                "scikit-learn": sklearn.__version__,
                "pandas": pd.__version__,
                "cpu_count": os.cpu_count(),
            },
            **result,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
