"""A model card in Markdown for a survival model: discrimination, calibration, risk groups.

The same sections as `model_card` where they apply (header, intended use,
input schema, training settings, library versions), then the survival
metrics (`KerasSurvival.report`), calibration at a time by risk decile, the
observed and predicted survival of low, intermediate and high predicted-risk
groups, and limitations. Two figures go beside the Markdown: Kaplan-Meier
curves by predicted risk group and predicted against observed event
probability by decile.
"""

import os

import numpy as np

from core.metrics.survival_target import check_survival_target
from core.persistence.atomic_file import check_file_path
from core.plotting import require_matplotlib
from core.reports.card_metadata import card_metadata, yaml_front_matter
from core.reports.model_card import (
    card_header,
    format_number,
    intended_use_section,
    markdown_image,
    markdown_table,
    schema_section,
    training_section,
    versions_section,
    write_card_files,
)
from core.reports.survival_plots import plot_kaplan_meier_by_risk

#: Fewer test events than this make the metrics rough.
FEW_EVENTS = 50


def survival_model_card(
    estimator,
    X_test,
    path,
    y=None,
    time=None,
    event=None,
    intended_use=None,
    title=None,
    dataset=None,
):
    """Writes a Markdown model card of a fitted survival model, with two figures.

    Beside `path` (e.g. `card.md`) go `card_risk_groups.png` (Kaplan-Meier
    curves of three predicted-risk groups) and `card_calibration.png`
    (predicted against observed event probability by risk decile at the
    report's middle time). Files are written to temporary names and renamed
    at the end, so an error never leaves a half-written card.

    Args:
        estimator: a fitted `KerasSurvival` task.
        X_test: test input, as for `estimator.predict_risk`.
        path: the Markdown file to write; its folder must exist.
        y, time, event: the test rows' observed target, as for `fit`.
        intended_use: what the model is for and not for, in the author's words.
        title: heading of the card.
        dataset: a name for the test rows' data set, listed in the YAML header.

    Returns:
        `path`, as given.

    Raises:
        ImportError: if matplotlib is not installed (nothing is written).
        ValueError: for a bad target or test data that do not match the model.
    """
    target = check_file_path(path, "model card")
    time, event = check_survival_target(time, event, y)
    plt = require_matplotlib()
    report = estimator.report(X_test, time=time, event=event)
    risk = estimator.predict_risk(X_test)
    folder, name = os.path.split(os.path.abspath(target))
    stem = os.path.splitext(name)[0]
    figures = {"groups": f"{stem}_risk_groups.png", "calibration": f"{stem}_calibration.png"}
    limitations = _limitations(report, estimator)
    metrics = [
        ("harrell_c", "Harrell's C", report["harrell_c"]),
        ("uno_c", "Uno's C", report["uno_c"]),
        ("time_dependent_auc", "Time-dependent AUC (mean)", report["auc"]),
        ("integrated_brier_score", "Integrated Brier score", report["integrated_brier"]),
    ]
    metadata = card_metadata(estimator, "survival", metrics, intended_use, limitations, dataset)
    sections = [
        yaml_front_matter(metadata) + "\n" + card_header(estimator, title),
        _details_section(estimator),
        intended_use_section(intended_use),
        schema_section(estimator),
        training_section(estimator),
        versions_section(estimator),
        _metrics_section(report, figures["groups"]),
        _calibration_section(report, figures["calibration"]),
        _risk_group_section(report),
        "## Limitations\n\n" + "\n".join(f"- {n}" for n in limitations),
    ]
    markdown = "\n\n".join(s.strip() for s in sections if s.strip()) + "\n"
    write_card_files(
        target,
        markdown,
        {
            os.path.join(folder, figures["groups"]): lambda: plot_kaplan_meier_by_risk(
                time, event, risk, n_groups=3
            ),
            os.path.join(folder, figures["calibration"]): lambda: _calibration_figure(plt, report),
        },
    )
    return path


def _details_section(estimator):
    params = estimator.get_params(deep=False)
    model = {"cox": "Cox partial likelihood (DeepSurv); proportional hazards"}.get(
        params.get("model"),
        "piecewise-constant hazard over learned intervals; no proportional-hazards assumption",
    )
    rows = [
        ("Model", f"`{type(estimator).__name__}` from `{type(estimator).__module__}`"),
        ("Task", f"`{estimator.task_name or 'not registered'}`"),
        ("Target", "time to event, right-censored"),
        ("Survival model", model),
        (
            "Training rows",
            f"{len(estimator.train_time_)} ({int(estimator.train_event_.sum())} events)",
        ),
        ("Longest training time", format_number(estimator.max_time_, 1)),
    ]
    return "## Model details\n\n" + markdown_table(["", ""], rows)


def _metrics_section(report, figure):
    rows = [
        ("Patients (events)", f"{report['n']} ({report['events']})"),
        ("Harrell's C", format_number(report["harrell_c"])),
        ("Uno's C", format_number(report["uno_c"])),
        ("Time-dependent AUC (mean)", format_number(report["auc"])),
        ("Integrated Brier score", format_number(report["integrated_brier"])),
    ]
    per_time = [
        (
            format_number(t, 1),
            format_number(report["auc_at"][t]),
            format_number(report["brier_at"][t]),
        )
        for t in report["auc_at"]
    ]
    return (
        "## Metrics on the test rows\n\n"
        + markdown_table(["Metric", "Value"], rows)
        + "\n\n"
        + markdown_table(["Time", "AUC", "Brier score"], per_time)
        + "\n\n"
        + markdown_image("Kaplan-Meier curves by predicted risk group", figure)
    )


def _calibration_section(report, figure):
    rows = [
        (
            str(r["group"]),
            str(r["n"]),
            str(r["events"]),
            format_number(r["predicted"]),
            format_number(r["observed"]),
            f"{format_number(r['lower'])} to {format_number(r['upper'])}",
        )
        for r in report["calibration"]
    ]
    return (
        f"## Calibration at time {format_number(report['calibration_time'], 1)}\n\n"
        "Predicted event probability against the Kaplan-Meier estimate, by risk decile.\n\n"
        + markdown_table(["Decile", "n", "Events", "Predicted", "Observed", "95% interval"], rows)
        + "\n\n"
        + markdown_image("Predicted against observed event probability", figure)
    )


def _risk_group_section(report):
    groups = report.get("risk_groups")
    if not groups:
        return ""
    times = list(groups[0]["observed"])
    header = ["Group", "n", "Events"] + [f"S({format_number(t, 0)}) obs / pred" for t in times]
    rows = [
        [g["group"], str(g["n"]), str(g["events"])]
        + [
            f"{format_number(g['observed'][t], 2)} / {format_number(g['predicted'][t], 2)}"
            for t in times
        ]
        for g in groups
    ]
    return "## Survival by predicted risk group\n\n" + markdown_table(header, rows)


def _limitations(report, estimator):
    """The limitations of the card, one sentence each."""
    notes = []
    if report["events"] < FEW_EVENTS:
        notes.append(f"Only {report['events']} events in the test rows: the metrics are rough.")
    if float(np.max(list(report["auc_at"]))) > estimator.max_time_:
        notes.append("Some evaluation times lie beyond the training follow-up (extrapolated).")
    notes.append(
        "Censoring is assumed independent of the outcome given the inputs; the IPCW metrics "
        "(Uno's C, AUC, Brier) also assume it is independent of the inputs."
    )
    return notes


def _calibration_figure(plt, report):
    figure, ax = plt.subplots(figsize=(4.5, 4.5))
    records = [r for r in report["calibration"] if np.isfinite(r["observed"])]
    predicted = [r["predicted"] for r in records]
    observed = [r["observed"] for r in records]
    errors = [
        [r["observed"] - r["lower"] for r in records],
        [r["upper"] - r["observed"] for r in records],
    ]
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
    ax.errorbar(predicted, observed, yerr=errors, fmt="o", capsize=3)
    ax.set_xlabel("predicted event probability")
    ax.set_ylabel("observed (Kaplan-Meier)")
    ax.set_title(f"Calibration at time {report['calibration_time']:g}")
    return figure
