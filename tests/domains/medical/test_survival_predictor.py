"""SurvivalPredictor on the synthetic cohort: report, model card, CLI and server."""

import asyncio
import concurrent.futures
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from domains.medical import SurvivalPredictor

COHORT = Path(__file__).resolve().parents[3] / "sample_data" / "medical" / "cohort.csv"
TINY = {"embedding_dim": 4, "hidden_units": (16,), "max_epochs": 30, "random_state": 0}


@pytest.fixture(scope="module")
def cohort():
    frame = pd.read_csv(COHORT)
    days, died = frame.pop("days").to_numpy(), frame.pop("died").to_numpy()
    return frame.drop(columns=["patient_id"]), days, died


@pytest.fixture(scope="module")
def fitted(cohort):
    X, days, died = cohort
    return SurvivalPredictor(**TINY).fit(X[:900], time=days[:900], event=died[:900])


def test_the_cohort_has_censoring_and_crossing_treatment_curves(cohort):
    from core.metrics import kaplan_meier_at

    X, days, died = cohort
    assert 0.2 < 1 - died.mean() < 0.6 and days.max() == 1825
    surgery = (X["treatment"] == "surgery").to_numpy()
    early = [kaplan_meier_at(days[g], died[g], [90])[0] for g in (surgery, ~surgery)]
    late = [kaplan_meier_at(days[g], died[g], [1460])[0] for g in (surgery, ~surgery)]
    assert early[0] < early[1] and late[0] > late[1]


def test_report_has_the_clinical_figures_and_risk_groups(fitted, cohort):
    X, days, died = cohort
    report = fitted.report(X[900:], time=days[900:], event=died[900:])
    assert 0.65 < report["harrell_c"] < 0.85
    assert 0.0 < report["integrated_brier"] < 0.25
    groups = report["risk_groups"]
    assert [g["group"] for g in groups] == ["low", "intermediate", "high"]
    last = list(groups[0]["observed"])[-1]
    observed = [g["observed"][last] for g in groups]
    assert observed[0] > observed[1] > observed[2]
    predicted = [g["predicted"][last] for g in groups]
    # A short fit shrinks the groups towards each other; the order and scale hold.
    assert np.abs(np.subtract(observed, predicted)).max() < 0.22


def test_model_card_writes_markdown_and_two_figures(fitted, cohort, tmp_path):
    X, days, died = cohort
    path = fitted.model_card(
        X[900:], tmp_path / "card.md", time=days[900:], event=died[900:], intended_use="Tests."
    )
    text = Path(path).read_text()
    headings = [
        "## Metrics on the test rows",
        "## Calibration at time",
        "## Limitations",
        "## Survival by predicted risk group",
        "Cox partial likelihood (DeepSurv)",
    ]
    for heading in headings:
        assert heading in text
    from tests.core.reports.test_model_card import split_front_matter

    header, _ = split_front_matter(text)
    assert header["task"] == "medical.survival" and "survival-analysis" in header["tags"]
    (result,) = header["model-index"][0]["results"]
    metrics = {m["type"]: m["value"] for m in result["metrics"]}
    report = fitted.report(X[900:], time=days[900:], event=died[900:])
    assert metrics["harrell_c"] == pytest.approx(report["harrell_c"])
    assert header["intended_use"] == "Tests." and len(header["limitations"]) >= 1
    assert (tmp_path / "card_risk_groups.png").stat().st_size > 0
    assert (tmp_path / "card_calibration.png").stat().st_size > 0


def test_cli_trains_predicts_and_evaluates_survival(tmp_path, capsys):
    data = pd.read_csv(COHORT).head(500)
    data.to_csv(tmp_path / "cohort.csv", index=False)
    model = tmp_path / "surv.kdm"
    assert main(["train", "medical.survival", "--data", str(tmp_path / "cohort.csv"),
                 "--target", "days,died", "--drop", "patient_id", "--out", str(model),
                 "--set", "max_epochs=5", "--set", "random_state=0"]) == 0  # fmt: skip
    assert main(["predict", str(model), "--data", str(tmp_path / "cohort.csv"),
                 "--out", str(tmp_path / "p.csv"), "--times", "365,730"]) == 0  # fmt: skip
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert list(predicted.columns) == ["risk", "median_time", "survival_365", "survival_730"]
    assert (predicted["survival_730"] <= predicted["survival_365"]).all()
    capsys.readouterr()
    assert main(["evaluate", str(model), "--data", str(tmp_path / "cohort.csv"),
                 "--target", "days,died"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert 0.5 < report["harrell_c"] < 1.0 and "risk_groups" in report
    assert main(["card", str(model), "--data", str(tmp_path / "cohort.csv"),
                 "--target", "days,died", "--out", str(tmp_path / "card.md")]) == 0  # fmt: skip
    assert "## Calibration at time" in (tmp_path / "card.md").read_text()


def test_the_server_answers_risk_median_and_curve(fitted, cohort):
    from core.serving.served_model import ServedModel

    X, *_ = cohort
    rows = X.head(3).astype(object).where(X.head(3).notna(), None).to_dict(orient="records")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        served = ServedModel("surv", fitted, "Surv", pool, pool, batch_wait_s=0)
        asyncio.run(served.start())
        answer = asyncio.run(served.predict(served.predict_model.model_validate({"rows": rows})))
        explained = asyncio.run(served.explain(served.explain_model.model_validate({"rows": rows})))
    predictions = answer["predictions"]
    np.testing.assert_allclose([p["risk"] for p in predictions], fitted.predict_risk(X.head(3)))
    curve = fitted.predict_survival_function(X.head(1))
    np.testing.assert_allclose(list(predictions[0]["survival"].values()), curve.iloc[0])
    assert set(explained["explanations"][0]["attributions"]) == set(X.columns)
