"""Every declared input and explanation kind, served in process by `ServedModel`.

The HTTP tests serve a table and a texts model; here a tiny fitted model of
each other kind (reason codes, transactions, events, images, generation)
answers a predict and an explain request as the server would. Fitting the
transactions and generation models takes long, so they run with the slow
checks.
"""

import asyncio
import base64
import concurrent.futures
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.serving.served_model import ServedModel
from tests.domains.medical.sequence_events import CUTOFF, TINY_SEQUENCE, make_events

ROOT = Path(__file__).resolve().parents[3]
APPLICANTS = ROOT / "sample_data" / "finance" / "applicants.csv"
TRANSACTIONS = ROOT / "sample_data" / "finance" / "transactions.csv"


@pytest.fixture(scope="module")
def executor():
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        yield pool


def _served(estimator, executor, name="m"):
    served = ServedModel(name, estimator, "M", executor, executor, batch_wait_s=0)
    asyncio.run(served.start())
    return served


def _ask(served, action, body):
    model = served.predict_model if action == "predict" else served.explain_model
    return asyncio.run(getattr(served, action)(model.model_validate(body)))


def _records(frame):
    return [
        {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]


def test_a_scorecard_answers_points_and_reason_codes(executor):
    from domains.finance import RiskScorer

    frame = (
        pd.read_csv(APPLICANTS)
        .drop(columns=["applicant_id", "application_date", "description"])
        .head(300)
    )
    y = frame.pop("default")
    scorer = RiskScorer(
        embedding_dim=4, hidden_units=(8,), n_members=1, max_epochs=2, random_state=0
    ).fit(frame, y)
    served = _served(scorer, executor)
    assert (served.kind, served.explains) == ("table", "reason_codes")
    rows = frame.head(3)
    answer = _ask(served, "predict", {"rows": _records(rows)})
    points = [p["points"] for p in answer["predictions"]]
    np.testing.assert_allclose(points, scorer.points(rows), rtol=1e-5)
    explained = _ask(served, "explain", {"rows": _records(rows), "n_reasons": 2})["explanations"]
    expected = scorer.reason_codes(rows, n=2)
    assert len(explained) == 3 and list(explained[0]) == [str(c) for c in expected.columns]


@pytest.mark.slow
def test_transactions_are_scored_and_explained_with_their_history(executor):
    from domains.finance import FraudDetector

    frame = pd.read_csv(TRANSACTIONS).drop(columns=["transaction_id"])
    frame = frame[frame["account_id"].isin(sorted(frame["account_id"].unique())[:30])]
    y = frame.pop("is_fraud")
    detector = FraudDetector(
        encoder_units=4, embedding_dim=2, hidden_units=(4,), window=4, max_epochs=1, random_state=0
    ).fit(frame, y)
    served = _served(detector, executor)
    assert (served.kind, served.explains) == ("transactions", "columns")
    history, rows = frame.iloc[:40], frame.iloc[40:43]
    body = {"rows": _records(rows), "history": _records(history)}
    predictions = _ask(served, "predict", body)["predictions"]
    proba = [list(p["probabilities"].values()) for p in predictions]
    np.testing.assert_allclose(proba, detector.predict_proba(rows, history=history), rtol=1e-5)
    explanations = _ask(served, "explain", body)["explanations"]
    assert len(explanations) == 3 and "amount" in explanations[0]["attributions"]


def test_events_answer_one_prediction_per_patient(executor):
    from domains.medical import SequenceDiagnosisPredictor

    events, y = make_events(40)
    model = SequenceDiagnosisPredictor(**TINY_SEQUENCE).fit(events, y, prediction_time=CUTOFF)
    served = _served(model, executor)
    assert (served.kind, served.explains) == ("events", "events")
    rows = events[events["patient_id"].isin([100, 103])]
    body = {"rows": _records(rows), "prediction_time": CUTOFF}
    predictions = _ask(served, "predict", body)["predictions"]
    assert [p["patient_id"] for p in predictions] == [100, 103]
    proba = [list(p["probabilities"].values()) for p in predictions]
    np.testing.assert_allclose(proba, model.predict_proba(rows, prediction_time=CUTOFF), rtol=1e-5)
    answer = _ask(served, "explain", body)
    assert [p["patient_id"] for p in answer["patients"]] == [100, 103]


def test_images_answer_probabilities_and_heat_maps(executor):
    from domains.vision import ImageClassifier

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(24, 8, 8, 1), dtype=np.uint8)
    labels = np.repeat(["a", "b"], 12)
    images[labels == "b"] //= 4
    model = ImageClassifier(widths=(4,), image_size=(8, 8), max_epochs=1, random_state=0)
    model.fit(images, labels)
    served = _served(model, executor)
    assert (served.kind, served.explains) == ("images", "heat_map")
    buffer = io.BytesIO()
    np.save(buffer, images[0])
    body = {"images": [base64.b64encode(buffer.getvalue()).decode()]}
    proba = list(_ask(served, "predict", body)["predictions"][0]["probabilities"].values())
    np.testing.assert_allclose(proba, model.predict_proba(images[:1])[0], rtol=1e-5)
    (heatmap,) = _ask(served, "explain", body)["explanations"]
    assert np.asarray(heatmap["heatmap"]).shape == model.explain(images[:1])[0].shape


@pytest.mark.slow
def test_a_generator_generates_and_has_no_explain_endpoint(executor):
    from domains.nlp import TextGenerator

    corpus = ["the cat sat on the mat .", "the dog sat on the rug ."] * 10
    generator = TextGenerator(
        vocabulary_size=20, max_length=8, embedding_dim=8, num_layers=1, num_heads=1,
        intermediate_dim=8, max_epochs=1, random_state=0,
    ).fit(corpus)  # fmt: skip
    served = _served(generator, executor)
    assert (served.kind, served.explains, served.explain_model, served.classes) == (
        "generation", None, None, None
    )  # fmt: skip
    answer = _ask(served, "predict", {"prompt": "the", "max_new_tokens": 3, "seed": 0})
    assert answer["text"] == generator.generate("the", max_new_tokens=3, seed=0)
