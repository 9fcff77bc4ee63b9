"""The model server: request schemas, micro-batching, and the real server over HTTP.

One real server (`python -m core.cli serve`) runs in a subprocess for the
whole module, serving a tiny table model and a tiny text model; the tests
talk to it with the standard library's HTTP client.
"""

import asyncio
import base64
import concurrent.futures
import http.client
import io
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pydantic
import pytest

from core.cli import _model_specs, main
from core.serving import ModelServer
from core.serving.request_schema import explanation_kind, input_kind, request_models
from core.serving.served_model import _by_shape, _decode_images

ROOT = Path(__file__).resolve().parents[3]
PATIENTS = ROOT / "sample_data" / "medical" / "patients.csv"
MAX_BODY_BYTES = 64 * 1024
MAX_BATCH = 50
WORDS = {"pos": ["good", "great", "fine"], "neg": ["bad", "awful", "dull"]}


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def patients():
    frame = pd.read_csv(PATIENTS).drop(columns=["note", "xray"]).head(200)
    y = frame.pop("diagnosis")
    return frame.drop(columns=["patient_id"]), y


@pytest.fixture(scope="module")
def saved(tmp_path_factory, patients):
    """Two tiny models saved to files, and the same models loaded back."""
    from domains.medical import DiagnosisPredictor
    from domains.nlp import TextClassifier

    folder = tmp_path_factory.mktemp("served")
    X, y = patients
    DiagnosisPredictor(max_epochs=2, hidden_units=(8,), n_members=1, random_state=0).fit(X, y).save(
        folder / "diagnosis.kdm"
    )
    texts, labels = _texts()
    TextClassifier(
        vocabulary_size=60, embedding_dim=8, num_layers=1, num_heads=2, intermediate_dim=16,
        ngram_buckets=64, max_epochs=2, random_state=0,
    ).fit(texts, labels).save(folder / "reviews.kdm")  # fmt: skip
    return {
        "diagnosis": (folder / "diagnosis.kdm", DiagnosisPredictor.load(folder / "diagnosis.kdm")),
        "reviews": (folder / "reviews.kdm", TextClassifier.load(folder / "reviews.kdm")),
    }


def _texts(n=80):
    rng = np.random.default_rng(0)
    labels = rng.choice(["pos", "neg"], size=n)
    texts = [f"the film was {rng.choice(WORDS[label])} and long" for label in labels]
    return texts, labels


class _Server:
    """The real server in a subprocess, on a free loopback port."""

    def __init__(self, saved, log_path):
        self.port = _free_port()
        self.log_path = log_path
        command = [
            sys.executable, "-m", "core.cli", "serve",
            f"diagnosis={saved['diagnosis'][0]}", str(saved["reviews"][0]),
            "--port", str(self.port), "--max-body-bytes", str(MAX_BODY_BYTES),
            "--max-batch", str(MAX_BATCH),
        ]  # fmt: skip
        self._log = open(log_path, "w")  # Closed in stop().
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._ready = False

    def wait(self, timeout=120):
        deadline = time.monotonic() + timeout
        while not self._ready:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"The server did not start:\n{self.log_path.read_text()}")
            try:
                self._ready = self.request("GET", "/health")[0] == 200
            except OSError:
                time.sleep(0.2)
        return self

    def request(self, method, path, body=None, headers=None):
        """`(status, parsed JSON or text)`; `body` is bytes, or JSON-encoded."""
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read().decode()
        finally:
            connection.close()
        try:
            return response.status, json.loads(data)
        except json.JSONDecodeError:
            return response.status, data

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(saved, tmp_path_factory):
    running = _Server(saved, tmp_path_factory.mktemp("server") / "server.log")
    try:
        yield running.wait()
    finally:
        running.stop()


def _rows(frame):
    return json.loads(frame.to_json(orient="records"))


# ------------------------------------------------------------ over HTTP
def test_predict_matches_the_loaded_model(server, saved, patients):
    X, _ = patients
    estimator = saved["diagnosis"][1]
    status, body = server.request("POST", "/v1/models/diagnosis/predict", {"rows": _rows(X[:7])})
    assert status == 200, body
    assert body["model"] == "diagnosis" and body["task"] == "medical.diagnosis"
    expected = estimator.predict_proba(X[:7])
    got = np.array(
        [[p["probabilities"][str(c)] for c in estimator.classes_] for p in body["predictions"]]
    )
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert [p["label"] for p in body["predictions"]] == estimator.predict(X[:7]).tolist()


def test_missing_values_may_be_null_or_left_out(server, saved, patients):
    X, _ = patients
    row = _rows(X[:1])[0]
    row["bmi"], row["sex"] = None, None
    del row["hba1c"]
    status, body = server.request("POST", "/v1/models/diagnosis/predict", {"rows": [row]})
    assert status == 200, body
    expected = saved["diagnosis"][1].predict_proba(pd.DataFrame([{**row, "hba1c": np.nan}]))
    assert body["predictions"][0]["probabilities"]["1"] == pytest.approx(expected[0, 1], abs=1e-6)


def test_predict_texts(server, saved):
    texts = ["the film was great and long", "the film was dull", "unseen words only"]
    status, body = server.request("POST", "/v1/models/reviews/predict", {"texts": texts})
    assert status == 200, body
    expected = saved["reviews"][1].predict_proba(texts)
    got = np.array(
        [[p["probabilities"]["neg"], p["probabilities"]["pos"]] for p in body["predictions"]]
    )
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_concurrent_requests_each_get_their_own_rows(server, saved, patients):
    X, _ = patients
    expected = saved["diagnosis"][1].predict_proba(X[:24])[:, 1]

    def one(i):
        return server.request("POST", "/v1/models/diagnosis/predict", {"rows": _rows(X[i : i + 1])})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(24)))
    got = [body["predictions"][0]["probabilities"]["1"] for _, body in answers]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_explain_tables_and_texts(server, patients):
    X, _ = patients
    status, body = server.request("POST", "/v1/models/diagnosis/explain", {"rows": _rows(X[:2])})
    assert status == 200, body
    assert len(body["explanations"]) == 2
    assert set(body["explanations"][0]["attributions"]) == set(X.columns)
    assert isinstance(body["explanations"][0]["baseline"], float)
    status, body = server.request(
        "POST", "/v1/models/reviews/explain", {"texts": ["the film was great"]}
    )
    assert status == 200, body
    assert [t["token"] for t in body["explanations"][0]["tokens"]] == [
        "the",
        "film",
        "was",
        "great",
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"rows": [{"age": "old"}]}, ["body", "rows", 0, "age"]),
        ({"rows": [{"age": 50, "height_cm": 180}]}, ["body", "rows", 0, "height_cm"]),
        ({"rows": [{"bmi": float("inf")}]}, ["body", "rows", 0, "bmi"]),
        ({"rows": []}, ["body", "rows"]),
        ({"rows": [{}] * (MAX_BATCH + 1)}, ["body", "rows"]),
        ({"texts": ["a"]}, ["body", "rows"]),
    ],
    ids=[
        "word_for_a_number",
        "unknown_column",
        "infinity",
        "no_rows",
        "too_many_rows",
        "wrong_key",
    ],
)
def test_bad_requests_are_422_naming_the_field(server, payload, field):
    body = json.dumps(payload).replace("Infinity", "1e999").encode()
    status, answer = server.request("POST", "/v1/models/diagnosis/predict", body)
    assert status == 422, answer
    assert field in [error["loc"] for error in answer["detail"]], answer


def test_malformed_json_is_422_and_other_content_types_415(server):
    status, answer = server.request("POST", "/v1/models/diagnosis/predict", b'{"rows": [')
    assert status == 422
    assert answer["detail"][0]["type"] == "json_invalid"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, answer = server.request("POST", "/v1/models/diagnosis/predict", {"rows": [{}]}, form)
    assert status == 415 and "Content-Type: application/json" in answer["detail"]


def test_oversized_bodies_are_413(server, patients):
    X, _ = patients
    rows = _rows(X.iloc[np.arange(MAX_BATCH) % len(X)])
    big = json.dumps({"rows": rows, "pad": "x" * MAX_BODY_BYTES}).encode()
    status, answer = server.request("POST", "/v1/models/diagnosis/predict", big)
    assert status == 413 and "--max-body-bytes" in answer["detail"]
    # Without a Content-Length, the streamed bytes are counted.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest("POST", "/v1/models/diagnosis/predict")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        chunk = b"x" * 8192
        for _ in range(MAX_BODY_BYTES // len(chunk) + 2):
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.send(b"0\r\n\r\n")
        assert connection.getresponse().status == 413
    finally:
        connection.close()


def test_unknown_models_and_endpoints_are_404(server):
    status, answer = server.request("POST", "/v1/models/nope/predict", {"rows": [{}]})
    assert status == 404
    assert "'nope'" in answer["detail"] and "diagnosis, reviews" in answer["detail"]
    status, answer = server.request("POST", "/v1/models/reviews/forecast", {})
    assert status == 404 and "predict, explain, metadata" in answer["detail"]


def test_listing_metadata_and_docs(server, saved):
    status, answer = server.request("GET", "/health")
    assert status == 200 and answer["status"] == "ok"
    status, answer = server.request("GET", "/v1/models")
    assert status == 200
    listed = {m["name"]: m for m in answer["models"]}
    assert listed["diagnosis"]["task"] == "medical.diagnosis" and listed["diagnosis"][
        "classes"
    ] == [0, 1]
    assert listed["reviews"]["input"] == "texts" and listed["reviews"]["classes"] == ["neg", "pos"]
    status, answer = server.request("GET", "/v1/models/diagnosis/metadata")
    assert status == 200 and answer == json.loads(json.dumps(saved["diagnosis"][1].metadata_))
    status, answer = server.request("GET", "/docs")
    assert status == 200 and "swagger" in answer.lower()
    status, answer = server.request("GET", "/openapi.json")
    assert status == 200
    row = answer["components"]["schemas"]["DiagnosisRow"]
    assert "age" in row["properties"] and row["additionalProperties"] is False


# ------------------------------------------------------------- in-process
def test_served_model_batches_concurrent_requests(saved, patients):
    X, _ = patients
    estimator = saved["diagnosis"][1]
    server = ModelServer({"diagnosis": estimator}, batch_wait_ms=20)
    served = server.models["diagnosis"]
    sizes = [1, 3, 1, 2, 5, 1, 1, 4]
    starts = np.cumsum([0, *sizes[:-1]])
    bodies = [
        served.predict_model.model_validate({"rows": _rows(X[s : s + n])})
        for s, n in zip(starts, sizes, strict=True)
    ]

    async def run():
        await served.start()
        try:
            return await asyncio.gather(*(served.predict(b) for b in bodies))
        finally:
            await served.stop()

    try:
        answers = asyncio.run(run())
    finally:
        server.close()
    assert served.batcher.calls == 1
    expected = estimator.predict_proba(X[: sum(sizes)])[:, 1]
    got = [p["probabilities"]["1"] for answer in answers for p in answer["predictions"]]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert [len(answer["predictions"]) for answer in answers] == sizes


def test_request_rows_encode_as_the_preprocessor(saved, patients):
    X, _ = patients
    preprocessor = saved["diagnosis"][1].preprocessor_
    X = X.astype({"age": float})
    X.loc[X.index[:5], "sex"] = "unknown sex"
    X.loc[X.index[3:9], ["bmi", "smoking_status"]] = np.nan
    X.loc[X.index[10], "age"] = 1e300
    rows = [tuple(None if pd.isna(v) else v for v in row) for row in X.itertuples(index=False)]
    encoded = preprocessor.transform_values(rows, list(X.columns))
    expected = preprocessor.transform(X)
    assert encoded.keys() == expected.keys() == {"numeric", "categorical"}
    for name, array in expected.items():
        assert encoded[name].dtype == array.dtype
        np.testing.assert_array_equal(encoded[name], array)
    assert preprocessor.transform_values([("a word",) * X.shape[1]], list(X.columns)) is None
    with pytest.raises(ValueError, match="lacks columns"):
        preprocessor.transform_values(rows, ["age"])


def _declared(kind, explains, **fitted):
    """A stand-in estimator that declares its input and explanation kinds."""
    name = f"Fake{kind.title()}"
    return type(name, (), {"input_kind": kind, "explanation_kind": explains, **fitted})()


def test_request_schemas_of_every_input_kind():
    preprocessor = SimpleNamespace(numeric_columns_=["age"], medians_=[41.0])
    schemas = {
        "table": [
            {"name": "age", "kind": "numeric"},
            {"name": "smoker", "kind": "categorical", "categories": ["False", "True"]},
        ],
        "transactions": {
            "account_column": "account_id",
            "time_column": "timestamp",
            "features": [
                {"name": "amount", "kind": "numeric"},
                {"name": "channel", "kind": "categorical", "categories": ["web"]},
                {"name": "weekday", "kind": "categorical", "categories": ["Monday"]},
            ],
        },
        "events": {
            "events": {
                "patient_column": "pid",
                "time_column": "date",
                "code_column": "code",
                "value_column": "value",
                "known_codes": 5,
            }
        },
        "texts": {"texts": {"column": None, "max_tokens": 8}},
        "images": {"images": {"image_size": [8, 8], "channels": 1, "pixel_scale": 255.0}},
    }
    estimators = {
        "table": _declared("table", "columns", preprocessor_=preprocessor),
        "transactions": _declared(
            "transactions",
            "columns",
            feature_names_in_=np.array(["account_id", "timestamp", "amount", "channel"]),
        ),
        "events": _declared("events", "events"),
        "texts": _declared("texts", "tokens"),
        "images": _declared("images", "heat_map"),
    }
    bodies = {
        "table": {"rows": [{"age": 3, "smoker": True}, {"smoker": 1}]},
        "transactions": {"rows": [{"account_id": 7, "timestamp": "2024-01-01", "amount": 2}]},
        "events": {"rows": [{"pid": "p1", "date": 30, "code": "I10"}], "prediction_time": 40},
        "texts": {"texts": ["a text"]},
        "images": {"images": ["aGk="]},
    }
    for kind, schema in schemas.items():
        estimator = estimators[kind]
        assert input_kind(estimator) == kind
        predict, explain, _ = request_models("T", kind, schema, estimator, 10, 2)
        predict.model_validate(bodies[kind])
        with pytest.raises(pydantic.ValidationError):
            explain.model_validate(
                {k: v * 3 for k, v in bodies[kind].items() if k != "prediction_time"}
            )
    table, explain, _ = request_models("T", "table", schemas["table"], estimators["table"], 10, 2)
    rows = table.model_validate(bodies["table"]).rows
    assert (rows[0].c1, rows[1].c1, rows[1].c0) == (True, "1", None)
    assert table.model_json_schema()["examples"] == [{"rows": [{"age": 41.0, "smoker": "False"}]}]
    assert "n_reasons" not in explain.model_fields
    with pytest.raises(pydantic.ValidationError, match="weekday"):  # Derived, not sent.
        request_models(
            "T", "transactions", schemas["transactions"], estimators["transactions"], 10, 2
        )[0].model_validate({"rows": [{"account_id": 1, "timestamp": 0, "weekday": "Monday"}]})

    generate, explain, _ = request_models(
        "G", "generation", {"texts": {}}, _declared("generation", None), 10, 2
    )
    assert explain is None
    assert generate.model_validate({"prompt": "the"}).max_new_tokens == 50
    with pytest.raises(pydantic.ValidationError, match="temperature"):
        generate.model_validate({"temperature": 0})


def test_request_schemas_follow_the_declared_explanation_kind():
    schema = [{"name": "age", "kind": "numeric"}, {"name": "income", "kind": "numeric"}]
    preprocessor = SimpleNamespace(numeric_columns_=["age", "income"], medians_=[41.0, 9.0])
    scorer = _declared("table", "reason_codes", preprocessor_=preprocessor)
    explain = request_models("R", "table", schema, scorer, 10, 2)[1]
    assert explain.model_validate({"rows": [{"age": 1}], "n_reasons": 2}).n_reasons == 2
    with pytest.raises(pydantic.ValidationError, match="n_reasons"):  # At most one per column.
        explain.model_validate({"rows": [{"age": 1}], "n_reasons": 3})
    silent = _declared("table", None, preprocessor_=preprocessor)
    assert request_models("S", "table", schema, silent, 10, 2)[1] is None
    columns = {"patient_column": "pid", "time_column": "date", "code_column": "code"}
    patients = _declared("events", "events")
    explain = request_models("E", "events", {"events": columns}, patients, 10, 2)[1]
    assert explain.model_validate({"rows": [{"pid": 1, "date": 0, "code": "x"}]}).level == "code"


def test_served_kinds_are_declared_by_the_estimator():
    with pytest.raises(ValueError, match="object cannot be served: its `input_kind` is None"):
        input_kind(object())
    with pytest.raises(ValueError, match="FakeAudio cannot be served: its `input_kind` is 'audio'"):
        input_kind(_declared("audio", None))
    with pytest.raises(ValueError, match="FakeTexts cannot be served: its `explanation_kind` is"):
        explanation_kind(_declared("texts", "heat_map"), "texts")
    assert explanation_kind(_declared("table", "reason_codes"), "table") == "reason_codes"
    assert explanation_kind(_declared("generation", None), "generation") is None


def test_images_decode_from_png_npy_and_data_urls():
    import tensorflow as tf

    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    png = base64.b64encode(tf.io.encode_png(image).numpy()).decode()
    buffer = io.BytesIO()
    np.save(buffer, image[..., 0])
    npy = base64.b64encode(buffer.getvalue()).decode()
    decoded = _decode_images([png, f"data:image/png;base64,{png}", npy])
    np.testing.assert_array_equal(decoded[0], image)
    np.testing.assert_array_equal(decoded[1], image)
    np.testing.assert_array_equal(decoded[2], image[..., 0])
    with pytest.raises(ValueError, match=r"`images\[1\]` is not valid base64"):
        _decode_images([png, "not base64!"])
    with pytest.raises(ValueError, match=r"`images\[0\]` is not a PNG"):
        _decode_images([base64.b64encode(b"hello").decode()])
    # A PNG header claiming 100,000 x 100,000 pixels is refused before decoding.
    header = b"\x89PNG\r\n\x1a\n" + bytes(8) + (100_000).to_bytes(4, "big") * 2
    with pytest.raises(ValueError, match="100000 x 100000 pixels"):
        _decode_images([base64.b64encode(header).decode()])
    jpeg = base64.b64encode(tf.io.encode_jpeg(image).numpy()).decode()
    assert _decode_images([jpeg])[0].shape == (4, 4, 3)
    # Same-shaped images go in one call; others one at a time.
    calls = []

    def count(stack):
        calls.append(len(stack))
        return np.zeros((len(stack), 2))

    assert _by_shape(count, decoded[:2]).shape == (2, 2) and calls == [2]
    assert _by_shape(count, decoded).shape == (3, 2) and calls == [2, 1, 1, 1]


# ------------------------------------------------------------------ cli
def test_model_names_come_from_files_or_name_equals(saved, tmp_path):
    path = saved["diagnosis"][0]
    assert _model_specs([str(path), f"other={path}"]) == {
        "diagnosis": str(path),
        "other": str(path),
    }
    with pytest.raises(ValueError, match="Two models are named 'diagnosis'"):
        _model_specs([str(path), f"diagnosis={path}"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _model_specs([str(tmp_path / "missing.kdm")])


def test_serve_reports_bad_arguments_in_one_line(saved, capsys):
    path = saved["diagnosis"][0]
    assert main(["serve", str(path), "--max-batch", "0"]) == 2
    assert "`max_batch` must be a positive integer" in capsys.readouterr().err
    assert main(["serve", "bad/name=" + str(path)]) == 2
    assert "A model name must be letters" in capsys.readouterr().err


def test_export_command_writes_a_saved_model(saved, tmp_path, capsys):
    out = tmp_path / "exported"
    assert main(["export", str(saved["diagnosis"][0]), "--out", str(out)]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["format"] == "saved_model" and Path(written["path"]) == out
    assert (out / "saved_model.pb").is_file() and Path(written["companion"]).is_file()


def test_missing_serve_extra_names_the_install_command(monkeypatch):
    for module in [m for m in sys.modules if m == "core.serving" or m.startswith("core.serving.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(ImportError, match=r'pip install "keras-domains\[serve\]"'):
        import core.serving  # noqa: F401
