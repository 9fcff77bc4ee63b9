"""A model card in Markdown: what a classifier is for, how it was made, how well it does.

`model_card` writes one Markdown file and two figures beside it (a ROC curve
and a reliability diagram), in the spirit of Mitchell et al., "Model Cards
for Model Reporting" (2019): model details, intended use, the input schema,
training settings, library versions, metrics with bootstrap intervals,
calibration, conformal prediction sets, subgroups and limitations.

It works for every classifier of the project, and for scikit-learn
classifiers: what a model does not record (a task name, a training history)
is reported as not recorded.
"""

import contextlib
import datetime
import math
import numbers
import os
import re
import urllib.parse

import numpy as np

from core.estimators import KerasEstimator
from core.metrics import binary_report, multiclass_report
from core.metrics.subgroup_report import (
    binary_metrics_with_intervals,
    check_length,
    check_proba,
    check_threshold,
    encode_targets,
    group_values,
    n_rows,
    one_vs_rest,
    plain_label,
    positive_index,
    same_label,
    subgroup_table,
    target_info,
)
from core.persistence.atomic_file import atomic_path, check_file_path
from core.plotting import plot_reliability, require_matplotlib, save_figure
from core.reports.card_metadata import card_metadata, yaml_front_matter

#: Miss rate of the conformal prediction sets shown (90% coverage).
CONFORMAL_ALPHA = 0.1
#: Bootstrap resamples of the metrics' intervals.
N_BOOTSTRAP = 200
#: Coverage of the intervals.
CONFIDENCE = 0.95
#: Fewer positives (or negatives) than this make the metrics rough.
SMALL_CLASS = 50
#: Subgroups with fewer rows than this are called small.
SMALL_GROUP = 30
#: Constructor parameters shown under "Model details" when the estimator has them.
MAIN_PARAMS = (
    "hidden_units",
    "embedding_dim",
    "num_layers",
    "num_heads",
    "intermediate_dim",
    "n_members",
    "image_size",
    "patch_size",
    "vocabulary_size",
    "sequence_length",
    "max_length",
    "dropout",
    "calibration",
)
#: Classes drawn one by one on the ROC figure; more are drawn unlabelled.
_MAX_LEGEND = 10
_BLUE = "#4C72B0"


def model_card(
    estimator,
    X_test,
    y_test,
    path,
    intended_use=None,
    groups=None,
    positive_class=None,
    threshold=0.5,
    title=None,
    dataset=None,
):
    """Writes a Markdown model card of a fitted classifier, with two figures.

    Beside `path` (e.g. `card.md`) go `card_calibration.png` (reliability
    diagram with the count of each bin) and `card_roc.png` (ROC curve,
    AUROC in the legend), linked from the Markdown. Metrics are one-vs-rest
    for the positive class; for a multiclass or multilabel model without
    `positive_class`, every class is scored one-vs-rest and macro-averaged.

    The files are written to temporary names in the destination folder and
    renamed at the end, so an error never leaves a half-written card. A
    missing matplotlib raises before anything is computed or written.

    Args:
        estimator: a fitted classifier with `classes_` and `predict_proba`.
        X_test: test input, as for `estimator.predict_proba`.
        y_test: true labels of the test rows (a 0/1 matrix for multilabel).
        path: the Markdown file to write; its folder must exist.
        intended_use: what the model is for and not for, in the author's
            words (Markdown allowed).
        groups: optional subgroup of each test row (array-like, or a column
            name of a DataFrame `X_test`); adds a per-group table
            (`core.metrics.subgroup_report`).
        positive_class: the class scored one-vs-rest (binary: default
            `classes_[1]`; multilabel: a label index). Required with
            `groups` for a multiclass or multilabel model.
        threshold: probability at or above which a row is called positive
            (sensitivity, specificity and the subgroup table).
        title: heading of the card (default: "Model card: <class name>").
        dataset: a name for the test rows' data set, listed in the YAML header.

    Returns:
        `path`, as given.

    Raises:
        ImportError: if matplotlib is not installed (nothing is written).
        ValueError: for bad arguments, or test data that do not match the model.
        FileNotFoundError: if the folder of `path` does not exist.
    """
    target = check_file_path(path, "model card")
    check_threshold(threshold)
    for name, value in (("intended_use", intended_use), ("title", title)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"`{name}` must be a string or None. Received: {type(value).__name__}")
    classes, kind = target_info(estimator)
    positive = None
    if kind == "binary" or positive_class is not None:
        positive = positive_index(classes, kind, positive_class)
    values = None if groups is None else group_values(groups, X_test)
    if values is not None and positive is None:
        raise ValueError(
            "`positive_class` is required with `groups` for a "
            f"{'multilabel' if kind == 'multilabel-indicator' else 'multiclass'} model: "
            f"the subgroup table scores one class. Pass one of {_labels(classes)}."
        )
    targets = encode_targets(y_test, classes, kind, name="y_test")
    rows = n_rows(X_test)
    if rows is not None:  # Before predicting, which may take a while.
        check_length(targets, rows, "y_test")
        if values is not None:
            check_length(values, rows, "groups")
    plt = require_matplotlib()  # Before the slow part, and before any file.

    proba = check_proba(estimator.predict_proba(X_test), classes)
    check_length(targets, len(proba), "y_test")
    if values is not None:
        check_length(values, len(proba), "groups")
    scores = _Scores(classes, kind, targets, proba, positive, threshold)
    subgroups = None
    if values is not None:
        subgroups = subgroup_table(
            scores.y01, scores.score, values, threshold, N_BOOTSTRAP, CONFIDENCE, 0
        )
    folder, name = os.path.split(os.path.abspath(target))
    stem = os.path.splitext(name)[0]
    figures = {"roc": f"{stem}_roc.png", "calibration": f"{stem}_calibration.png"}
    calibration = _calibration_section(estimator, X_test, y_test, figures["calibration"])
    limitations = _limitations(scores, calibration, subgroups, intended_use)
    metadata = card_metadata(
        estimator,
        "classification",
        _header_metrics(scores),
        intended_use,
        [_plain(item) for item in limitations],
        dataset,
    )
    sections = [
        yaml_front_matter(metadata) + "\n" + card_header(estimator, title),
        _details_section(estimator, scores),
        intended_use_section(intended_use),
        schema_section(estimator),
        training_section(estimator),
        versions_section(estimator),
        _metrics_section(scores, figures["roc"]),
        calibration["text"],
        _conformal_section(estimator, X_test, scores),
        _subgroup_section(subgroups, scores),
        "## Limitations\n\n" + "\n".join(f"- {item}" for item in limitations),
    ]
    markdown = "\n\n".join(s.strip() for s in sections if s.strip()) + "\n"
    write_card_files(
        target,
        markdown,
        {
            os.path.join(folder, figures["roc"]): lambda: _roc_figure(plt, scores),
            os.path.join(folder, figures["calibration"]): lambda: _reliability_figure(scores),
        },
    )
    return path


# ------------------------------------------------------------------ scoring
class _Scores:
    """Probabilities and outcomes of the test rows, and the metrics the card reports."""

    def __init__(self, classes, kind, targets, proba, positive, threshold):
        self.classes, self.kind, self.targets, self.proba = classes, kind, targets, proba
        self.positive, self.threshold = positive, threshold
        self.n = len(proba)
        self.accuracy = None
        if kind == "multiclass":
            self.accuracy = float(np.mean(np.argmax(proba, axis=1) == targets))
        if positive is not None:
            self.y01, self.score = one_vs_rest(targets, proba, kind, positive)
            self.report = binary_report(self.y01, self.score, threshold)
            self.intervals = binary_metrics_with_intervals(
                self.y01,
                self.score,
                threshold,
                N_BOOTSTRAP,
                CONFIDENCE,
                np.random.default_rng(0),
            )
            self.per_class = None
        else:
            self.report = multiclass_report(targets, proba, threshold)
            self.per_class = self.report.pop("per_class")
            self.intervals = None

    @property
    def positive_label(self):
        return None if self.positive is None else plain_label(self.classes[self.positive])

    def class_counts(self):
        """Rows of each class (for multilabel, rows carrying each label)."""
        if self.kind == "multilabel-indicator":
            return self.targets.sum(axis=0)
        return np.bincount(self.targets, minlength=len(self.classes))

    def roc_curves(self):
        """`(label, y01, score)` of each curve of the ROC figure."""
        if self.positive is not None:
            return [(f"class {self.positive_label}", self.y01, self.score)]
        indicator = self._indicator()
        return [
            (f"class {plain_label(c)}", indicator[:, k], self.proba[:, k])
            for k, c in enumerate(self.classes)
        ]

    def reliability(self):
        """`(y01, proba, what, x label, y label)` of the reliability diagram."""
        if self.positive is not None:
            label = self.positive_label
            return (
                self.y01,
                self.score,
                f"class {label}, one-vs-rest",
                f"predicted probability of {label}",
                f"observed share of {label}",
            )
        if self.kind == "multiclass":  # Top-label calibration.
            return (
                np.argmax(self.proba, axis=1) == self.targets,
                self.proba.max(axis=1),
                "most probable class",
                "confidence (probability of the predicted class)",
                "accuracy",
            )
        return (
            self.targets.ravel(),
            self.proba.ravel(),
            "all labels pooled",
            "predicted probability of a label",
            "observed share",
        )

    def _indicator(self):
        if self.kind == "multilabel-indicator":
            return self.targets
        return np.eye(len(self.classes), dtype=bool)[self.targets]


# ----------------------------------------------------------------- sections
def card_header(estimator, title):
    task = getattr(estimator, "task_name", None)
    if title is None:
        title = f"Model card: {type(estimator).__name__}" + (f" ({task})" if task else "")
    versions = _versions(estimator)[0]
    made_by = versions.get("keras-domains")
    lines = [f"# {_escape_text(title)}", ""]
    lines.append(
        f"*Written on {datetime.date.today().isoformat()}"
        + (f" with keras-domains {made_by}" if made_by else "")
        + ".*"
    )
    return "\n".join(lines)


def _details_section(estimator, scores):
    cls = type(estimator)
    params = _params(estimator)
    kind = {"multilabel-indicator": "multilabel"}.get(scores.kind, scores.kind)
    listed = _short_list(scores.classes)
    rows = [
        ("Model", f"{_code(cls.__name__)} from {_code(cls.__module__)}"),
        ("Task", _code(getattr(estimator, "task_name", None) or "not registered")),
        ("Target", f"{kind}; {'labels' if kind == 'multilabel' else 'classes'} {listed}"),
        (
            "Scored in this card",
            f"class {_code(scores.positive_label)} against the rest"
            if scores.positive is not None
            else "every class against the rest, macro-averaged",
        ),
    ]
    if "backbone" in params:
        rows.append(("Backbone", _code(params["backbone"])))
    main = [f"{_code(f'{k}={params[k]!r}')}" for k in MAIN_PARAMS if k in params]
    if main:
        rows.append(("Main parameters", ", ".join(main)))
    model = getattr(estimator, "model_", None)
    if model is not None and hasattr(model, "count_params"):
        rows.append(("Weights", f"{model.count_params():,} parameters"))
    loaded = isinstance(getattr(estimator, "metadata_", None), dict)
    source = "a saved model file" if loaded else "the fitted estimator in memory"
    rows.append(("Described from", source))
    return "## Model details\n\n" + markdown_table(["", ""], rows)


def intended_use_section(intended_use):
    text = intended_use.strip() if intended_use and intended_use.strip() else None
    return "## Intended use\n\n" + (text or "Not stated by the model's author.")


def schema_section(estimator):
    if isinstance(estimator, KerasEstimator):
        schema = estimator.input_schema()
    elif hasattr(estimator, "feature_names_in_"):  # scikit-learn, fitted on named columns
        schema = [{"name": str(name)} for name in estimator.feature_names_in_]
    else:
        schema = None
    return "## Input schema\n\n" + _render_structure(schema)


def training_section(estimator):
    params = _params(estimator)
    parts = ["## Training settings"]
    if params:
        rows = [(_code(k), _code(repr(v))) for k, v in sorted(params.items())]
        parts.append(markdown_table(["Parameter", "Value"], rows))
    else:
        parts.append("Parameters: not recorded.")
    rows = []
    epochs = getattr(estimator, "n_epochs_", None)
    if epochs is not None:
        limit = params.get("max_epochs")
        rows.append(("Epochs run", f"{epochs}" + (f" of at most {limit}" if limit else "")))
    seconds = getattr(estimator, "training_seconds_", None)
    if isinstance(seconds, numbers.Real):
        rows.append(("Training time", f"{seconds:.1f} s"))
    history = getattr(estimator, "history_", None)
    if isinstance(history, dict):
        for key, values in history.items():
            if len(values):
                rows.append((f"Final {_code(key)}", format_number(values[-1], 4)))
        if history.get("val_loss"):
            rows.append(("Best `val_loss`", format_number(min(history["val_loss"]), 4)))
    parts.append(
        markdown_table(["Training", ""], rows) if rows else "Training history: not recorded."
    )
    return "\n\n".join(parts)


def versions_section(estimator):
    versions, recorded = _versions(estimator)
    note = (
        "Recorded when the model was saved."
        if recorded
        else "Of the environment that wrote this card (the model was not loaded from a file)."
    )
    rows = [(_code(k), _code(v) if v is not None else "not installed") for k, v in versions.items()]
    return "## Library versions\n\n" + note + "\n\n" + markdown_table(["Library", "Version"], rows)


def _metrics_section(scores, roc_figure):
    report, intervals = scores.report, scores.intervals
    t = format_number(scores.threshold, 3)
    ci_head = f"{CONFIDENCE:.0%} interval"
    if scores.positive is not None:
        label = _code(scores.positive_label)
        intro = (
            f"On {scores.n} test rows, class {label} against the rest. Intervals: "
            f"bootstrap percentiles ({N_BOOTSTRAP} resamples of the test rows)."
        )

        def ci(name):
            return _interval(intervals[f"{name}_low"], intervals[f"{name}_high"])

        rows = [
            ("Test rows", str(scores.n), ""),
            (f"Prevalence of {label}", _percent(report["prevalence"]), ""),
            ("AUROC", format_number(report["auroc"]), ci("auroc")),
            ("AUPRC (average precision)", format_number(report["auprc"]), ci("auprc")),
            ("Brier score", format_number(report["brier"]), ""),
            ("ECE (10 equal-width bins)", format_number(report["ece"]), ci("ece")),
            (
                f"Sensitivity at threshold {t}",
                format_number(report["sensitivity"]),
                ci("sensitivity"),
            ),
            (f"Specificity at threshold {t}", format_number(report["specificity"]), ""),
            (f"PPV at threshold {t}", format_number(report["ppv"]), ""),
            (f"NPV at threshold {t}", format_number(report["npv"]), ""),
        ]
    else:
        intro = (
            f"On {scores.n} test rows. Each class is scored against the rest; the table gives "
            "the macro average over classes, and the per-class figures follow."
        )
        rows = [
            ("Test rows", str(scores.n), ""),
            ("AUROC (macro)", format_number(report["auroc"]), ""),
            ("AUPRC (macro)", format_number(report["auprc"]), ""),
            ("Brier score (macro)", format_number(report["brier"]), ""),
            ("ECE (macro, 10 bins)", format_number(report["ece"]), ""),
            (f"Sensitivity at threshold {t} (macro)", format_number(report["sensitivity"]), ""),
            (f"Specificity at threshold {t} (macro)", format_number(report["specificity"]), ""),
        ]
    if scores.accuracy is not None:
        rows.append(("Accuracy (most probable class)", format_number(scores.accuracy), ""))
    if intervals is None:  # No intervals for the macro averages: two columns.
        table = markdown_table(["Metric", "Value"], [r[:2] for r in rows])
    else:
        table = markdown_table(["Metric", "Value", ci_head], rows)
    parts = ["## Metrics on the test data", intro, table]
    if scores.per_class is not None:
        counts = scores.class_counts()
        per_class = [
            (
                _code(plain_label(c)),
                str(int(counts[k])),
                _percent(r["prevalence"]),
                format_number(r["auroc"]),
                format_number(r["auprc"]),
                format_number(r["brier"]),
                format_number(r["ece"]),
                format_number(r["sensitivity"]),
                format_number(r["specificity"]),
            )
            for k, (c, r) in enumerate(zip(scores.classes, scores.per_class, strict=True))
        ]
        header = ["Class", "Rows", "Prevalence", "AUROC", "AUPRC", "Brier", "ECE"]
        header += [f"Sensitivity at {t}", f"Specificity at {t}"]
        parts.append(markdown_table(header, per_class))
    parts.append(markdown_image("ROC curve", roc_figure))
    return "\n\n".join(parts)


def _calibration_section(estimator, X_test, y_test, figure):
    """The calibration section's text, the method and whether its effect was checked."""
    method = _params(estimator).get("calibration")
    parts = ["## Calibration", markdown_image("Reliability diagram", figure)]
    checked = False
    if method is None:
        parts.append(
            "No post-hoc calibration was fitted: the probabilities are the model's own. "
            "The reliability diagram shows how far they are from observed rates."
        )
    elif not hasattr(estimator, "calibration_report"):
        parts.append(
            f"The model was fitted with `calibration={method!r}`; this version cannot report "
            "its effect."
        )
    else:
        try:
            result = estimator.calibration_report(X_test, y_test)
        except ValueError as error:
            parts.append(f"The calibration report failed: {_one_line(error)}")
        else:
            checked = True
            parts.append(
                f"Post-hoc calibration {_code(result.get('method', method))}, fitted on held-out "
                "training rows; before and after on the test rows:"
            )
            rows = [
                (
                    "ECE",
                    format_number(result.get("ece_before")),
                    format_number(result.get("ece_after")),
                ),
                (
                    "Brier score",
                    format_number(result.get("brier_before")),
                    format_number(result.get("brier_after")),
                ),
            ]
            parts.append(markdown_table(["Metric", "Before", "After"], rows))
    return {"text": "\n\n".join(parts), "method": method, "checked": checked}


def _conformal_section(estimator, X_test, scores):
    title = "## Conformal prediction sets"
    if scores.kind == "multilabel-indicator":
        return f"{title}\n\nNot available for multilabel models."
    if not hasattr(estimator, "predict_set"):
        return f"{title}\n\nNot available: {_code(type(estimator).__name__)} has no `predict_set`."
    try:
        sets = estimator.predict_set(X_test, alpha=CONFORMAL_ALPHA)
    except ValueError as error:
        return f"{title}\n\nNot available: {_one_line(error)}"
    covered, sizes = _set_coverage(sets, scores)
    target = 1.0 - CONFORMAL_ALPHA
    rows = [
        ("Target coverage", _percent(target)),
        ("Empirical coverage", _percent(covered.mean())),
        ("Mean set size", format_number(sizes.mean(), 2)),
        ("Rows with a single label", _percent(np.mean(sizes == 1))),
    ]
    text = (
        f"`predict_set(X_test, alpha={CONFORMAL_ALPHA})` on the {scores.n} test rows: each "
        "set should hold the true label for at least "
        f"{target:.0%} of the rows when the test rows resemble the held-out calibration rows."
    )
    return f"{title}\n\n{text}\n\n" + markdown_table(["", ""], rows)


def _subgroup_section(subgroups, scores):
    if subgroups is None:
        return ""
    t = format_number(scores.threshold, 3)
    rows = [
        (
            f"**{record['group']}**" if record["group"] == "all" else _code(record["group"]),
            str(record["n"]),
            _percent(record["prevalence"]),
            *(_with_interval(record, name) for name in ("auroc", "auprc", "ece", "sensitivity")),
        )
        for record in subgroups.to_dict("records")
    ]
    header = ["Group", "Rows", "Prevalence", "AUROC", "AUPRC", "ECE", f"Sensitivity at {t}"]
    intro = (
        f"Class {_code(scores.positive_label)} against the rest, at the same threshold {t} "
        f"for every group. In brackets: {CONFIDENCE:.0%} bootstrap intervals ({N_BOOTSTRAP} "
        "resamples within each group). n/a: the group holds a single class."
    )
    return "## Subgroups\n\n" + intro + "\n\n" + markdown_table(header, rows)


def _with_interval(record, name):
    value = format_number(record[name])
    interval = _interval(record[f"{name}_low"], record[f"{name}_high"])
    return f"{value} ({interval})" if interval else value


def _header_metrics(scores):
    """`(type, name, value)` of the headline metrics, for the YAML header."""
    report = scores.report
    names = [("roc_auc", "AUROC", "auroc"), ("average_precision", "AUPRC", "auprc")]
    names += [("brier_score", "Brier score", "brier"), ("ece", "ECE (10 bins)", "ece")]
    if scores.positive is not None:
        names += [("sensitivity", "Sensitivity", "sensitivity")]
        names += [("specificity", "Specificity", "specificity")]
    metrics = [(kind, name, report.get(key)) for kind, name, key in names]
    if scores.accuracy is not None:
        metrics.append(("accuracy", "Accuracy", scores.accuracy))
    return metrics


def _plain(markdown):
    """Markdown text without its code marks, for the YAML header."""
    return markdown.replace("`", "")


def _limitations(scores, calibration, subgroups, intended_use):
    """The limitations of the card, one Markdown sentence each."""
    items = []
    counts = scores.class_counts()
    if scores.positive is not None:
        n_pos = int(scores.y01.sum())
        n_neg = scores.n - n_pos
        label = _code(scores.positive_label)
        items.append(
            f"The metrics come from {scores.n} test rows: {n_pos} of class {label} and {n_neg} "
            "others."
            + (
                f" With fewer than {SMALL_CLASS} of either, the metrics are rough; read the "
                "intervals."
                if min(n_pos, n_neg) < SMALL_CLASS
                else ""
            )
        )
        items.append(
            f"Prevalence of {label} in the test data is {_percent(scores.report['prevalence'])}. "
            "AUPRC, PPV and NPV depend on prevalence and change where the class is rarer or "
            "more common."
        )
    else:
        smallest = int(np.argmin(counts))
        items.append(
            f"The metrics come from {scores.n} test rows; the rarest class, "
            f"{_code(plain_label(scores.classes[smallest]))}, has {int(counts[smallest])} rows."
            + (
                f" With fewer than {SMALL_CLASS} rows in a class, its figures are rough."
                if counts[smallest] < SMALL_CLASS
                else ""
            )
        )
        items.append(
            "Class shares in the test data range from "
            f"{_percent(counts.min() / scores.n)} to {_percent(counts.max() / scores.n)}; "
            "AUPRC depends on them and changes where they differ."
        )
    if calibration["checked"]:
        items.append(
            f"Calibration ({_code(calibration['method'])}) was checked on these test rows only; "
            "check it again on data from each new setting."
        )
    else:
        items.append(
            "Calibration was not adjusted after training"
            + (" (or its effect could not be reported)" if calibration["method"] else "")
            + "; read the reliability diagram before using the probabilities as risks."
        )
    if subgroups is None:
        items.append("No subgroup analysis was run: performance may differ between groups.")
    else:
        groups = subgroups.iloc[1:]
        small = groups.loc[groups["n"] < SMALL_GROUP, "group"].astype(str).tolist()
        single = groups.loc[groups["auroc"].isna(), "group"].astype(str).tolist()
        if small:
            items.append(
                f"Subgroups with fewer than {SMALL_GROUP} rows ({_short_list(small)}) have "
                "wide intervals."
            )
        if single:
            items.append(
                f"Subgroups with a single class ({_short_list(single)}) have no AUROC or AUPRC."
            )
    if intended_use is None or not intended_use.strip():
        items.append("No intended use was stated; do not use the model for decisions until it is.")
    items.append(
        "The test rows are assumed to come from the population the model will be used on; "
        "performance under shift (new sites, devices or later dates) was not measured."
    )
    return items


# ------------------------------------------------------------------ figures
def _roc_figure(plt, scores):
    from sklearn.metrics import RocCurveDisplay

    curves = scores.roc_curves()
    fig, ax = plt.subplots(figsize=(5.0, 4.6), layout="constrained")
    try:
        ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="chance")
        labelled = len(curves) <= _MAX_LEGEND
        drawn = 0
        for label, y01, score in curves:
            if y01.all() or not y01.any():
                continue
            style = {"linewidth": 1.8 if labelled else 0.8}
            if len(curves) == 1:
                style["color"] = _BLUE
            if not labelled:
                style["label"] = "_nolegend_"
            RocCurveDisplay.from_predictions(
                y01, score, ax=ax, name=label if labelled else None, curve_kwargs=style
            )
            drawn += 1
        if not drawn:
            ax.text(0.5, 0.5, "undefined: the test rows hold one class", ha="center")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("false positive rate (1 - specificity)")
        ax.set_ylabel("true positive rate (sensitivity)")
        title = f"ROC, {curves[0][0]} vs rest" if len(curves) == 1 else "ROC, each class vs rest"
        if not labelled and np.isfinite(scores.report["auroc"]):
            title += f" (macro AUROC {scores.report['auroc']:.3f})"
        ax.set_title(f"{title}, n={scores.n}")
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    except BaseException:
        plt.close(fig)
        raise
    return fig


def _reliability_figure(scores):
    y01, proba, what, x_label, y_label = scores.reliability()
    return plot_reliability(
        np.asarray(y01, dtype=np.float64),
        proba,
        title=f"Reliability, {what}",
        x_label=x_label,
        y_label=y_label,
    ).figure_


# ------------------------------------------------------------------ writing
def write_card_files(markdown_path, markdown, figures):
    """Writes the figures and the Markdown to temporary names, then renames them all.

    Args:
        markdown_path: destination of the Markdown.
        markdown: its text.
        figures: `{destination: function returning a matplotlib Figure}`.
    """
    with contextlib.ExitStack() as stack:
        # The Markdown is entered first, so it is renamed last, after its figures.
        tmp = stack.enter_context(atomic_path(markdown_path, "model card"))
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(markdown)
        for destination, draw in figures.items():
            tmp = stack.enter_context(atomic_path(destination, "figure"))
            save_figure(draw(), tmp)  # Closes the figure.


# ------------------------------------------------------------------ helpers
def _params(estimator):
    if not hasattr(estimator, "get_params"):
        return {}
    try:
        return estimator.get_params(deep=False)
    except TypeError:
        return estimator.get_params()


def _versions(estimator):
    """`(versions, recorded)`: saved with the model when it was loaded, else of this environment."""
    metadata = getattr(estimator, "metadata_", None)
    if isinstance(metadata, dict) and isinstance(metadata.get("versions"), dict):
        return metadata["versions"], True
    from core.persistence.metadata import library_versions

    return library_versions(), False


def _set_coverage(sets, scores):
    """Whether each set holds the true class, and each set's size.

    Accepts a 0/1 membership matrix `(n, n_classes)` in `classes_` order, or
    one collection of labels per row.
    """
    codes = scores.targets
    if hasattr(sets, "to_numpy"):
        sets = sets.to_numpy()
    if isinstance(sets, np.ndarray) and sets.shape == (scores.n, len(scores.classes)):
        member = sets.astype(bool)
        return member[np.arange(scores.n), codes], member.sum(axis=1)
    sets = list(sets)
    if len(sets) != scores.n:
        raise ValueError(f"`predict_set` returned {len(sets)} sets for {scores.n} test rows.")
    labels = [plain_label(scores.classes[c]) for c in codes]
    covered = np.array(
        [
            any(same_label(label, member) for member in s)
            for label, s in zip(labels, sets, strict=True)
        ]
    )
    return covered, np.array([len(s) for s in sets])


def _render_structure(value):
    """A schema as Markdown: a table for a list of records, key/value rows for a dict."""
    if value is None:
        return "Not recorded."
    if _is_records(value):
        return _records_table(value)
    if isinstance(value, dict):
        fields = list(_flatten(value))
        rows = [(_code(k), _schema_value(v)) for k, v in fields if not _is_records(v)]
        parts = [markdown_table(["Field", "Value"], rows)] if rows else []
        parts += [f"{_code(k)}:\n\n{_records_table(v)}" for k, v in fields if _is_records(v)]
        return "\n\n".join(parts) if parts else "Empty."
    if isinstance(value, list | tuple):
        return _short_list(value, limit=50)
    return _code(value)


def _is_records(value):
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _records_table(records):
    """One row per record (e.g. per input column), one column per key; the name first."""
    keys = []
    for record in records:
        keys += [k for k in record if k not in keys]
    if "name" in keys:  # Saved metadata has its keys sorted; the name goes first.
        keys.remove("name")
        keys.insert(0, "name")
    rows = [[_schema_value(record.get(k, ""), k == keys[0]) for k in keys] for record in records]
    header = [str(k).replace("_", " ").capitalize() for k in keys]
    return f"{len(records)} input columns.\n\n" + markdown_table(header, rows)


def _flatten(mapping, prefix=""):
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{name}.")
        else:
            yield name, value


def _schema_value(value, is_name=False):
    if isinstance(value, list | tuple):
        return _short_list(value)
    if isinstance(value, dict):
        return _escape_text(", ".join(f"{k}={v!r}" for k, v in value.items()))
    if value == "" or value is None:
        return ""
    return f"**{_escape_text(str(value))}**" if is_name else _code(value)


def _labels(classes):
    return [plain_label(c) for c in classes]


def _short_list(values, limit=12):
    values = list(values)
    shown = ", ".join(_code(plain_label(v)) for v in values[:limit])
    return shown + (f", ... ({len(values) - limit} more)" if len(values) > limit else "")


def markdown_table(header, rows):
    """A GitHub Markdown table; cells are strings (already formatted)."""
    rows = [[_escape_cell(str(c)) for c in row] for row in rows]
    lines = ["| " + " | ".join(_escape_cell(str(h)) for h in header) + " |"]
    lines.append("|" + "|".join(" --- " for _ in header) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _escape_cell(text):
    return text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")


def _escape_text(text):
    """Plain text for Markdown: characters that would start markup are escaped."""
    for char in ("\\", "`", "*", "_", "[", "]", "<", ">", "#"):
        text = text.replace(char, "\\" + char)
    return text


def _code(value):
    """Inline code, with a fence longer than any run of backticks in the value."""
    text = str(plain_label(value))
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_image(alt, name):
    return f"![{alt}]({urllib.parse.quote(name)})"


def format_number(value, digits=3):
    if value is None or isinstance(value, bool):
        return "n/a"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    value = float(value)
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"


def _percent(value):
    value = float(value)
    return "n/a" if not math.isfinite(value) else f"{value:.1%}"


def _interval(low, high):
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f"{low:.3f} to {high:.3f}"


def _one_line(error):
    """An error message on one line (its backticks render as code, as they are meant)."""
    return " ".join(str(error).split())
