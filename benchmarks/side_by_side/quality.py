"""Quality: each task against the model a user would pick instead, on the same splits.

The models, data loaders and fit functions are those of the per-task
scripts (`tabular_quality`, `credit_quality`, `vision_quality`,
`text_quality`, `fraud_history`, `medical_sequences`), imported, so a figure
here means what it means there.
"""

import sys

import keras
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from benchmarks import (
    credit_quality,
    glyph_images,
    multimodal_quality,
    regression_quality,
    survival_quality,
    tabular_quality,
    text_quality,
    vision_quality,
)
from benchmarks.side_by_side.figures import Figure

REVIEWS_CSV = tabular_quality.REPO_ROOT / "sample_data" / "nlp" / "reviews.csv"
TASKS = (
    "patients",
    "breast_cancer",
    "credit",
    "digits",
    "glyphs",
    "reviews",
    "fraud",
    "sequences",
    "regression_diabetes",
    "regression_flchain",
    "survival_cohort",
    "survival_gbsg2",
    "survival_whas500",
    "survival_veterans",
    "multimodal_patients",
    "multimodal_applicants",
    "multimodal_tweets",
)
# --quick leaves out breast cancer (both sides near AUC 0.995) and the slower tasks.
QUICK_TASKS = (
    "patients",
    "credit",
    "digits",
    "reviews",
    "regression_diabetes",
    "survival_cohort",
)
# The data each task reads, as the table names it.
DATA_NAMES = {
    "patients": "patients.csv",
    "breast_cancer": "breast cancer",
    "credit": "applicants.csv",
    "digits": "digits",
    "glyphs": "glyphs",
    "reviews": "reviews.csv",
    "fraud": "transactions.csv",
    "sequences": "events.csv",
    "regression_diabetes": "diabetes (regression)",
    "regression_flchain": "flchain creatinine",
    "survival_cohort": "cohort.csv",
    "survival_gbsg2": "GBSG2",
    "survival_whas500": "WHAS500",
    "survival_veterans": "veterans",
    "multimodal_patients": "patients.csv with note and x-ray",
    "multimodal_applicants": "applicants.csv with description",
    "multimodal_tweets": "dslabs trump_tweets (text + table)",
}
# Every quality figure: the toolkit within one point of the better reference.
TOLERANCE = 0.01
# --quick caps the deep models' epochs on the slower tasks; defaults otherwise.
QUICK_PARAMS = {"digits": {"max_epochs": 8}, "reviews": {"max_epochs": 3}}
TABULAR_BASELINES = ("LogisticRegression", "HistGradientBoosting")
SHORT_NAMES = {
    "LogisticRegression": "LR",
    "HistGradientBoosting": "HGB",
    "TF-IDF 1-2g + LR (CV C)": "TF-IDF 1-2g + LR",
    "late_fusion": "late fusion TF-IDF + table LR",
    "table_only": "table-only TabularClassifier",
    "text_only": "text-only TextClassifier",
}


def run_quality(tasks, folds, splits, seed, quick):
    """Runs the quality comparisons of `tasks`.

    Args:
        tasks: names from TASKS.
        folds: stratified CV folds of the tabular tasks.
        splits: random splits of the image and text tasks, and the
            sequence task's patient splits; seeds `seed` ... `seed + splits - 1`.
        seed: base seed of the folds, splits and models.
        quick: cap the epochs of the image and text models (QUICK_PARAMS).

    Returns:
        `(results, figures)`: a JSON-able dict per task and the table rows.
    """
    runners = {
        "patients": lambda: _tabular("patients", tabular_quality.patients(), folds, seed),
        "breast_cancer": lambda: _tabular(
            "breast_cancer", tabular_quality.breast_cancer(), folds, seed
        ),
        "credit": lambda: _credit(folds, seed),
        "digits": lambda: _digits(splits, seed, QUICK_PARAMS["digits"] if quick else {}),
        "glyphs": lambda: _glyphs(seed),
        "reviews": lambda: _reviews(splits, seed, QUICK_PARAMS["reviews"] if quick else {}),
        "fraud": lambda: _fraud(seed),
        "sequences": lambda: _sequences(splits, seed),
    }
    for name in regression_quality.DATASETS:
        runners[f"regression_{name}"] = lambda name=name: _regression(name, folds, seed)
    for name in survival_quality.DATASETS:
        runners[f"survival_{name}"] = lambda name=name: _survival(name, folds, seed)
    for name in multimodal_quality.DATASETS:
        runners[f"multimodal_{name}"] = lambda name=name: _multimodal(name, folds, seed)
    results, figures = {}, []
    for task in tasks:
        result = runners[task]()
        results[task] = result
        if task.startswith("regression_"):
            figures.extend(_regression_figures(result))
            continue
        figures.append(_figure(result))
        if task.startswith("survival_"):
            figures.append(_brier_figure(result))
        if task == "glyphs":
            figures.append(_glyphs_time_figure(result))
    return results, figures


# ------------------------------------------------------------------ tabular
def _tabular(name, table, folds, seed):
    """DiagnosisPredictor vs LR and HGB, stratified k-fold ROC AUC on the same folds."""
    models = ("DiagnosisPredictor", *TABULAR_BASELINES)
    scores = {m: [] for m in models}
    seconds = {m: [] for m in models}
    details = []
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(cv.split(table.X, table.y)):
        for model in models:
            auc, fit_seconds, epochs = tabular_quality.fit_score(
                model, table, train, test, seed * 1000 + fold, {}
            )
            scores[model].append(auc)
            seconds[model].append(fit_seconds)
            if epochs is not None:
                details.append({"epochs": epochs})
        _progress(name, fold, {m: scores[m][-1] for m in models})
    return _summary(
        name,
        "ROC AUC",
        f"{folds}-fold CV",
        scores,
        seconds,
        f"{len(table.y)} rows",
        details=details,
    )


def _credit(folds, seed):
    """RiskScorer (exclude=["sex"]) vs LR and HGB without `sex`, as credit_quality does."""
    table = credit_quality.load_applicants()
    models = ("RiskScorer", *TABULAR_BASELINES)
    scores = {m: [] for m in models}
    seconds = {m: [] for m in models}
    details = []
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(cv.split(table.X, table.y)):
        for model in models:
            result = credit_quality.fit_score(
                model, table, train, test, seed * 1000 + fold, credit_quality.DEFAULT_PARAMS
            )
            scores[model].append(result["auc"])
            seconds[model].append(result["fit_seconds"])
            if "epochs" in result:
                details.append({"epochs": result["epochs"]})
        _progress("credit", fold, {m: scores[m][-1] for m in models})
    return _summary(
        "credit",
        "ROC AUC",
        f"{folds}-fold CV",
        scores,
        seconds,
        f"applicants.csv, {len(table.y)} rows",
        details=details,
    )


# -------------------------------------------------------------------- image
def _digits(splits, seed, params):
    """ImageClassifier vs the keras-io "Simple MNIST convnet" on 75/25 digits splits."""
    images, _, labels = vision_quality.digits()
    images28 = vision_quality.resized(images, 28)
    models = ("ImageClassifier", "keras-io convnet")
    scores = {m: [] for m in models}
    seconds = {m: [] for m in models}
    details = []
    for split in range(splits):
        split_seed = seed + split
        train, test = train_test_split(
            np.arange(len(labels)), test_size=0.25, stratify=labels, random_state=split_seed
        )
        y_train, y_test = labels[train], labels[test]
        ours = vision_quality.fit_image_classifier(
            images[train], y_train, images[test], y_test, split_seed, params
        )
        convnet = vision_quality.fit_convnet(
            images28[train], y_train, images28[test], y_test, split_seed
        )
        details.append({"epochs": ours["epochs"]})
        for model, result in zip(models, (ours, convnet), strict=True):
            scores[model].append(result["accuracy"])
            seconds[model].append(result["fit_seconds"])
        _progress("digits", split, {m: scores[m][-1] for m in models})
    return _summary(
        "digits",
        "accuracy",
        f"{_count(splits, 'split')} 75/25",
        scores,
        seconds,
        f"{len(labels)} images 8x8",
        params,
        details,
    )


def _glyphs(seed):
    """ImageClassifier (defaults) vs the keras-io convnet on the clothing-like glyph proxy.

    12,000 training and 2,000 test images, 28 x 28 grayscale, 10 classes
    (`benchmarks.glyph_images`): the size of the set the 300-second target is about.
    """
    X_train, y_train, X_test, y_test = glyph_images.make_glyphs(
        vision_quality.PROXY_TRAIN, vision_quality.PROXY_TEST, seed
    )
    ours = vision_quality.fit_image_classifier(X_train, y_train, X_test, y_test, seed, {})
    convnet = vision_quality.fit_convnet(
        X_train[..., None].astype(np.float32) / 255.0,
        y_train,
        X_test[..., None].astype(np.float32) / 255.0,
        y_test,
        seed,
    )
    models = ("ImageClassifier", "keras-io convnet")
    _progress("glyphs", 0, {m: r["accuracy"] for m, r in zip(models, (ours, convnet), strict=True)})
    return _summary(
        "glyphs",
        "accuracy",
        "1 split 12000/2000",
        {m: [r["accuracy"]] for m, r in zip(models, (ours, convnet), strict=True)},
        {m: [r["fit_seconds"]] for m, r in zip(models, (ours, convnet), strict=True)},
        f"{len(y_train)} + {len(y_test)} images 28x28",
        details=[{"epochs": ours["epochs"]}],
    )


def _glyphs_time_figure(result):
    seconds = result["models"]["ImageClassifier"]["fit_seconds"]
    budget = vision_quality.FIT_SECONDS_TARGET
    return Figure(
        "cost",
        "ImageClassifier on glyphs: fit time / the 300 s budget, 12,000 images",
        f"{seconds:.1f} s",
        f"{budget:.0f} s budget",
        seconds / budget,
        target=("<=", 1.0),
    )


# --------------------------------------------------------------------- text
def reviews_frame():
    """`sample_data/nlp/reviews.csv` as text_quality's frame: `text` and `label` (sentiment)."""
    frame = pd.read_csv(REVIEWS_CSV)
    return pd.DataFrame({"text": frame["text"], "label": frame["sentiment"]})


def _reviews(splits, seed, params):
    """TextClassifier vs TF-IDF + LogisticRegression on stratified 80/20 splits of the reviews."""
    frame = reviews_frame()
    models = {
        "TextClassifier": "toolkit",
        "TF-IDF 1-2g + LR (CV C)": "tfidf_cv",
        "TF-IDF 1g + LR": "tfidf_unigram",
    }
    scores = {m: [] for m in models}
    seconds = {m: [] for m in models}
    details = []
    for split in range(splits):
        split_seed = seed + split
        train, test = train_test_split(
            np.arange(len(frame)),
            test_size=text_quality.TEST_SIZE,
            stratify=frame["label"],
            random_state=split_seed,
        )
        for model, key in models.items():
            accuracy, fit_seconds, info = text_quality.fit_score(
                key, frame, train, test, split_seed, params, pretrain_epochs=0
            )
            scores[model].append(accuracy)
            seconds[model].append(fit_seconds)
            if key == "toolkit":
                details.append(info)
        _progress("reviews", split, {m: scores[m][-1] for m in models})
    return _summary(
        "reviews",
        "accuracy",
        f"{_count(splits, 'split')} 80/20",
        scores,
        seconds,
        f"reviews.csv sentiment, {len(frame)} rows",
        params,
        details,
    )


# ------------------------------------------------------- fraud, sequences
def _fraud(seed):
    """FraudDetector (window 16) vs gradient boosting with and without history features."""
    from benchmarks import fraud_history

    args = fraud_history.parse_args([])
    df, train = fraud_history.load_transactions()
    params = {"window": args.window, "backbone": args.backbone}
    results = {
        "FraudDetector": fraud_history.fit_detector(df, train, seed, params, args),
        "HGB current row": fraud_history.fit_hgb(df, train, seed, fraud_history.CURRENT, args),
        "HGB + history": fraud_history.fit_hgb(
            df, train, seed, fraud_history.CURRENT + fraud_history.HISTORY, args
        ),
    }
    scores = {m: [r["auprc"]] for m, r in results.items()}
    seconds = {m: [r["fit_seconds"]] for m, r in results.items()}
    _progress("fraud", 0, {m: s[0] for m, s in scores.items()})
    return _summary(
        "fraud",
        "AUPRC",
        "time split 70/30",
        scores,
        seconds,
        f"transactions.csv, {len(df)} rows",
        details=[{"epochs": results["FraudDetector"]["epochs"]}],
    )


def _sequences(splits, seed):
    """SequenceDiagnosisPredictor vs LR and HGB on code counts (medical_sequences' models)."""
    from benchmarks import medical_sequences

    args = medical_sequences.parse_args(["--splits", str(splits), "--seed", str(seed)])
    task, oracle, _ = medical_sequences.load_task(args)
    result = medical_sequences.run(task, oracle, args, {"value_column": "value"})
    names = {
        "SequenceDiagnosisPredictor": "SEQ",
        "LR counts": "LR counts",
        "LR tuned": "LR tuned",
        "HGB counts": "HGB counts",
    }
    scores = {m: result["models"][key]["auroc"]["splits"] for m, key in names.items()}
    seconds = {m: result["models"][key]["fit_seconds"]["splits"] for m, key in names.items()}
    return _summary(
        "sequences",
        "ROC AUC",
        f"{_count(splits, 'patient split')} 75/25",
        scores,
        seconds,
        f"events.csv, {len(task.y)} patients",
        details=[
            {"epochs": epochs, "deep_path_kept": bool(kept)}
            for epochs, kept in zip(
                result["models"]["SEQ"]["epochs"]["splits"],
                result["models"]["SEQ"]["deep_path_kept"]["splits"],
                strict=True,
            )
        ],
    )


# ------------------------------------------------------- regression, survival
def _regression(name, folds, seed):
    """TabularRegressor vs ridge and gradient boosting: RMSE and 90% coverage, same folds."""
    result = regression_quality.run_dataset(name, folds, seed, {})
    return {"task": f"regression_{name}", "protocol": f"{folds}-fold CV", **result}


def _regression_figures(result):
    models = result["models"]
    toolkit = models["TabularRegressor"]
    best = min(regression_quality.MODELS[1:], key=lambda m: models[m]["rmse"])
    name = f"TabularRegressor on {DATA_NAMES[result['task']]}"
    coverage = toolkit["coverage"]
    return [
        Figure(
            "quality",
            f"{name}: RMSE / better reference's, {result['protocol']}",
            f"{toolkit['rmse']:.4g}",
            f"{models[best]['rmse']:.4g} {SHORT_NAMES.get(best, best)}",
            result["rmse_ratio"],
            kind="ratio",
            target=("<=", 1 + regression_quality.RMSE_TOLERANCE),
        ),
        Figure(
            "quality",
            f"{name}: 90% interval coverage minus 0.90, held-out folds",
            f"{coverage:.4f}",
            "0.90 nominal",
            -abs(coverage - 0.9),
            kind="diff",
            target=(">=", -0.02),
        ),
    ]


def _survival(name, folds, seed):
    """TabularSurvival vs Cox PH and a random survival forest: Harrell's C, same folds."""
    models = ("TabularSurvival", *survival_quality.REFERENCES)
    result = survival_quality.run_dataset(name, folds, seed, {}, models=models)
    scores = {m: result["models"][m]["c_index_per_fold"] for m in models}
    seconds = {m: [result["models"][m]["fit_seconds"]] for m in models}
    summary = _summary(
        f"survival_{name}",
        "Harrell's C",
        f"{folds}-fold CV",
        scores,
        seconds,
        f"{result['rows']} rows, {result['events']} events; {result['note']}",
    )
    summary["integrated_brier"] = {m: result["models"][m]["ibs"] for m in models}
    return summary


def _multimodal(name, folds, seed):
    """TabularClassifier on every column vs late fusion and each single kind, same folds."""
    models = ("multimodal", "late_fusion", "table_only", "text_only")
    result = multimodal_quality.run_dataset(name, folds, seed, {}, models=models)
    summary = _summary(
        f"multimodal_{name}",
        "ROC AUC",
        f"{folds}-fold CV",
        result["auc_per_fold"],
        {m: [s] for m, s in result["fit_seconds"].items()},
        f"{result['rows']} rows; {result['note']}",
    )
    summary["verdict"] = multimodal_quality.verdict(result)
    return summary


def _brier_figure(result):
    """The survival model's integrated Brier score against the best reference's (lower is
    better), for information: the target is on concordance."""
    scores = result["integrated_brier"]
    toolkit = result["toolkit"]
    best = min((m for m in scores if m != toolkit), key=scores.get)
    return Figure(
        "quality",
        f"{toolkit} on {DATA_NAMES[result['task']]}: integrated Brier score, {result['protocol']}",
        f"{scores[toolkit]:.4f}",
        f"{scores[best]:.4f} {best}",
        scores[toolkit] - scores[best],
        kind="diff",
    )


# ------------------------------------------------------------------ summary
def _summary(task, metric, protocol, scores, seconds, data, params=None, details=None):
    """Means, spreads and the paired difference of the toolkit (first model) to the best other.

    Args:
        task: the task's name (a key of DATA_NAMES).
        metric: what the scores are, e.g. "ROC AUC".
        protocol: how they were measured, e.g. "5-fold CV".
        scores: `{model: [score per fold or split]}`, the toolkit first.
        seconds: `{model: [fit seconds per fold or split]}`.
        data: a short description of the data.
        params: parameters the toolkit model got beyond its defaults.
        details: per fold or split, what the toolkit model reports (epochs, ...).

    Returns:
        A JSON-able dict.
    """
    models = list(scores)
    toolkit, references = models[0], models[1:]
    means = {m: float(np.mean(scores[m])) for m in models}
    best = max(references, key=means.get)
    paired = np.asarray(scores[toolkit]) - np.asarray(scores[best])
    return {
        "task": task,
        "metric": metric,
        "protocol": protocol,
        "data": data,
        "toolkit": toolkit,
        "params": params or {},
        "toolkit_details": details or [],
        "models": {
            m: {
                "mean": means[m],
                "std": float(np.std(scores[m])),
                "values": [float(v) for v in scores[m]],
                "fit_seconds": float(np.mean(seconds[m])),
            }
            for m in models
        },
        "best_reference": best,
        "difference": means[toolkit] - means[best],
        "paired_difference": {"values": paired.tolist(), "wins": int((paired > 0).sum())},
    }


def _figure(result):
    models = result["models"]
    toolkit, best = result["toolkit"], result["best_reference"]

    def cell(name):
        entry = models[name]
        spread = f" ± {entry['std']:.4f}" if len(entry["values"]) > 1 else ""
        return f"{entry['mean']:.4f}{spread}"

    capped = f", {_params_text(result['params'])}" if result["params"] else ""
    return Figure(
        "quality",
        f"{toolkit} on {DATA_NAMES[result['task']]}: {result['metric']}, "
        f"{result['protocol']}{capped}",
        cell(toolkit),
        f"{cell(best)} {SHORT_NAMES.get(best, best)}",
        result["difference"],
        kind="diff",
        target=(">=", -TOLERANCE),
    )


def _count(n, noun):
    return f"{n} {noun}" + ("s" if n != 1 else "")


def _params_text(params):
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _progress(task, split, scores):
    line = "  ".join(f"{m} {s:.4f}" for m, s in scores.items())
    print(f"  [quality {task}] split {split}: {line}", file=sys.stderr, flush=True)
    keras.backend.clear_session()
