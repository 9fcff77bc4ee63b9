"""Does reading an account's history help `FraudDetector`? Against itself and gradient boosting.

Data: `sample_data/finance/transactions.csv` (22,423 synthetic card transactions of
300 accounts over 60 days, 1.9% fraud). Split by time: the first 70% of the
time range trains, the rest tests. FraudDetector scores the test rows with the
training rows passed as `history=` context, so the first test transactions of
an account still see the account's earlier ones.

Models, all scored on the same test rows:

- FraudDetector with history: `window=16` (`--window`), LSTM encoder
  (`--backbone transformer` for the transformer), other parameters default
  (override with `--set key=value`).
- FraudDetector without history: the same with `window=0`, so each row is read alone.
- HGB current row: HistGradientBoostingClassifier (default settings, native
  categoricals) on the row's own features: amount, merchant category,
  channel, country, hour of day.
- HGB + history: the same plus leak-free history features computed from
  earlier rows of the same account only (the recipe of
  sample_data/finance/README.md): seconds since the previous and
  second-previous transaction, amount / median of the earlier amounts,
  category seen before, country seen before.

Metrics on the test rows (domains.finance functions): AUPRC (average precision),
ROC AUC, precision among the 10 highest scores of each day (`--k`), recall at
a 1% false-positive rate (`--max-fpr`), and wall-clock seconds per fit. With
`--seeds N` every model is fitted with N values of `random_state` and the
table shows mean ± std.

Target: FraudDetector with history has a higher mean AUPRC than without.

Run from the repository root:

    python -m benchmarks.fraud_history [--seeds 3] [--backbone transformer]
        [--window 16] [--set encoder_units=64] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
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
from sklearn.metrics import roc_auc_score

from benchmarks.settings import parse_settings
from domains.finance import (
    FraudDetector,
    average_precision,
    precision_at_k_per_day,
    recall_at_fpr,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
TRANSACTIONS_CSV = REPO_ROOT / "sample_data" / "finance" / "transactions.csv"

TARGET = "is_fraud"
TRAIN_SHARE = 0.7  # of the time range
CATEGORICAL = ["merchant_category", "channel", "country"]
CURRENT = ["amount", *CATEGORICAL, "hour"]
HISTORY = ["secs_since_prev", "secs_since_prev2", "amount_ratio", "category_seen", "country_seen"]

MODELS = ("FD history", "FD no history", "HGB current row", "HGB + history")
METRICS = ("auprc", "roc_auc", "precision_at_k", "recall_at_fpr")


# ---------------------------------------------------------------------- data
def load_transactions():
    """Transactions in time order, with the HGB features; and the train mask."""
    df = pd.read_csv(TRANSACTIONS_CSV, parse_dates=["timestamp"])
    df = df.sort_values(["timestamp", "transaction_id"]).reset_index(
        drop=True
    )  # rows come shuffled
    df["hour"] = df["timestamp"].dt.hour + df["timestamp"].dt.minute / 60
    # History features; each uses only EARLIER rows of the same account (no leakage).
    account = df.groupby("account_id")
    df["secs_since_prev"] = account["timestamp"].diff().dt.total_seconds()
    df["secs_since_prev2"] = account["timestamp"].diff(2).dt.total_seconds()
    df["amount_ratio"] = df["amount"] / account["amount"].transform(
        lambda s: s.expanding().median().shift()
    )
    df["category_seen"] = (df.groupby(["account_id", "merchant_category"]).cumcount() > 0).astype(
        int
    )
    df["country_seen"] = (df.groupby(["account_id", "country"]).cumcount() > 0).astype(int)
    t = df["timestamp"]
    train = (t < t.min() + TRAIN_SHARE * (t.max() - t.min())).to_numpy()
    return df, train


def detector_frame(df):
    """What FraudDetector gets: the raw columns, without the id and the label."""
    return df[["account_id", "timestamp", "amount", *CATEGORICAL]]


# -------------------------------------------------------------------- models
def scores_of(y, scores, timestamps, args):
    return {
        "auprc": average_precision(y, scores),
        "roc_auc": float(roc_auc_score(y, scores)),
        "precision_at_k": precision_at_k_per_day(y, scores, timestamps, args.k),
        "recall_at_fpr": recall_at_fpr(y, scores, args.max_fpr),
    }


def fit_detector(df, train, seed, params, args):
    X, y = detector_frame(df), df[TARGET].to_numpy()
    model = FraudDetector(**{**params, "random_state": seed})
    start = time.perf_counter()
    model.fit(X[train], y[train])
    seconds = time.perf_counter() - start
    # The training rows are context for the test rows, as yesterday's for today's.
    proba = model.predict_proba(X[~train], history=X[train])[:, 1]
    result = {
        **scores_of(y[~train], proba, df.loc[~train, "timestamp"], args),
        "fit_seconds": seconds,
        "epochs": model.n_epochs_,
    }
    keras.backend.clear_session()
    return result


def fit_hgb(df, train, seed, columns, args):
    X = df[columns].astype({c: "category" for c in CATEGORICAL})
    y = df[TARGET].to_numpy()
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    start = time.perf_counter()
    model.fit(X[train], y[train])
    seconds = time.perf_counter() - start
    proba = model.predict_proba(X[~train])[:, 1]
    return {
        **scores_of(y[~train], proba, df.loc[~train, "timestamp"], args),
        "fit_seconds": seconds,
    }


def run(df, train, args, params):
    with_history = {**params, "window": args.window, "backbone": args.backbone}
    without_history = {**params, "window": 0, "backbone": args.backbone}
    fits = {
        "FD history": lambda seed: fit_detector(df, train, seed, with_history, args),
        "FD no history": lambda seed: fit_detector(df, train, seed, without_history, args),
        "HGB current row": lambda seed: fit_hgb(df, train, seed, CURRENT, args),
        "HGB + history": lambda seed: fit_hgb(df, train, seed, CURRENT + HISTORY, args),
    }
    per_seed = {m: [] for m in MODELS}
    seeds = [args.seed + i for i in range(args.seeds)]
    for seed in seeds:
        line = []
        for model_name in MODELS:
            result = fits[model_name](seed)
            per_seed[model_name].append(result)
            line.append(f"{model_name} {result['auprc']:.4f} ({result['fit_seconds']:.1f}s)")
        print(f"  [seed {seed}] AUPRC: " + "  ".join(line), file=sys.stderr, flush=True)
    models = {}
    for model_name, results in per_seed.items():
        models[model_name] = {
            key: {
                "mean": float(np.mean([r[key] for r in results])),
                "std": float(np.std([r[key] for r in results])),
                "seeds": [float(r[key]) for r in results],
            }
            for key in results[0]
        }
    diff = np.asarray(models["FD history"]["auprc"]["seeds"]) - np.asarray(
        models["FD no history"]["auprc"]["seeds"]
    )
    return {
        "seeds": seeds,
        "models": models,
        "history_minus_no_history": {
            "seeds": diff.tolist(),
            "mean": float(diff.mean()),
            "wins": int((diff > 0).sum()),
        },
        "passed": bool(
            models["FD history"]["auprc"]["mean"] > models["FD no history"]["auprc"]["mean"]
        ),
    }


# ------------------------------------------------------------------- output
def label(model_name, args):
    if model_name == "FD history":
        return f"FraudDetector {args.backbone}, window {args.window}"
    if model_name == "FD no history":
        return f"FraudDetector {args.backbone}, window 0"
    return model_name


def print_header(df, train):
    y = df[TARGET].to_numpy()
    t = df["timestamp"]
    print()
    print(
        f"== transactions: {len(df)} rows, {df['account_id'].nunique()} accounts, "
        f"{y.mean():.2%} fraud, {t.min():%Y-%m-%d}..{t.max():%Y-%m-%d}"
    )
    print(
        f"   train: first {TRAIN_SHARE:.0%} of the time range, up to "
        f"{t[train].max():%Y-%m-%d %H:%M} ({int(train.sum())} rows, {int(y[train].sum())} fraud)"
    )
    print(
        f"   test:  {t[~train].min():%Y-%m-%d %H:%M} on ({int((~train).sum())} rows, "
        f"{int(y[~train].sum())} fraud, {y[~train].mean():.2%}); FraudDetector gets the "
        "training rows as history="
    )


def print_results(result, args):
    n = len(result["seeds"])
    print()
    print(
        f"Test-set scores, mean ± std over {n} random_state value(s) "
        f"({', '.join(map(str, result['seeds']))})"
    )
    header = (
        f"   {'model':<38} {'AUPRC':>15} {'ROC AUC':>15} {f'P@{args.k}/day':>15} "
        f"{f'R@{args.max_fpr:.0%}FPR':>15} {'s/fit':>7} {'epochs':>6}"
    )
    print(header)
    for model_name in MODELS:
        r = result["models"][model_name]
        cells = " ".join(f"{r[k]['mean']:>8.4f}±{r[k]['std']:.4f}" for k in METRICS)
        epochs = f"{r['epochs']['mean']:>6.0f}" if "epochs" in r else f"{'':>6}"
        print(f"   {label(model_name, args):<38} {cells} {r['fit_seconds']['mean']:>7.1f} {epochs}")
    diff = result["history_minus_no_history"]
    print(
        "   AUPRC, FD history - FD no history per seed: "
        + " ".join(f"{d:+.4f}" for d in diff["seeds"])
        + f" (history better for {diff['wins']}/{n} seeds)"
    )
    gap = (
        result["models"]["FD history"]["auprc"]["mean"]
        - result["models"]["HGB + history"]["auprc"]["mean"]
    )
    print(f"   AUPRC, FD history - HGB + history: {gap:+.4f} (informational)")


def print_verdict(result, params, args):
    models = result["models"]
    print()
    print(f"FraudDetector params: {json.dumps(params) if params else 'defaults'}")
    print(
        f"Target: FraudDetector with history (window {args.window}) AUPRC "
        f"{models['FD history']['auprc']['mean']:.4f} > without (window 0) "
        f"{models['FD no history']['auprc']['mean']:.4f}  "
        f"{'PASS' if result['passed'] else 'FAIL'}"
    )


# ---------------------------------------------------------------------- CLI
def _parse_set(items):
    reserved = {"random_state": "--seed/--seeds", "window": "--window", "backbone": "--backbone"}
    return parse_settings(items, FraudDetector, reserved=reserved)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fraud_history",
        description="FraudDetector with and without account history vs "
        "HistGradientBoostingClassifier on sample_data/finance/transactions.csv, split by time.",
    )
    parser.add_argument(
        "--window", type=int, default=16, help="history length of the history model (default 16)"
    )
    parser.add_argument(
        "--backbone",
        choices=("lstm", "transformer"),
        default="lstm",
        help="FraudDetector sequence encoder (default lstm)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="fit every model with this many random_state values and average (default 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="first random_state (default 0)")
    parser.add_argument("--k", type=int, default=10, help="alerts reviewed per day (default 10)")
    parser.add_argument(
        "--max-fpr",
        type=float,
        default=0.01,
        help="false-positive rate for the recall column (default 0.01)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="FraudDetector parameter for both FraudDetector models, value parsed as JSON "
        "(repeatable), e.g. --set encoder_units=64 --set dropout=0.2",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.window < 1:
        parser.error(
            f"--window must be at least 1 (the model without history uses 0): {args.window}"
        )
    if args.seeds < 1:
        parser.error(f"--seeds is too small: {args.seeds}")
    if args.k < 1:
        parser.error(f"--k is too small: {args.k}")
    if not 0.0 < args.max_fpr < 1.0:
        parser.error(f"--max-fpr must be in (0, 1): {args.max_fpr}")
    return args


def main(argv=None):
    args = parse_args(argv)
    params = _parse_set(args.overrides)
    try:  # Fail before any fitting.
        FraudDetector(**params, window=args.window, backbone=args.backbone)._check_params()
    except (TypeError, ValueError) as error:
        raise SystemExit(f"Invalid FraudDetector parameters: {error}") from None
    started = time.perf_counter()
    df, train = load_transactions()
    print_header(df, train)
    result = run(df, train, args, params)
    print_results(result, args)
    print_verdict(result, params, args)
    elapsed = time.perf_counter() - started
    print(f"Total time {elapsed / 60:.1f} min.")
    if args.json:
        y = df[TARGET].to_numpy()
        payload = {
            "benchmark": "fraud_history",
            "params": params,
            "window": args.window,
            "backbone": args.backbone,
            "k": args.k,
            "max_fpr": args.max_fpr,
            "train_rows": int(train.sum()),
            "train_fraud": int(y[train].sum()),
            "test_rows": int((~train).sum()),
            "test_fraud": int(y[~train].sum()),
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
