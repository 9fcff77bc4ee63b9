"""The model pages of `keras-domains serve`, tested in a real headless Chromium.

One server (uvicorn, in a thread) serves ten tiny models, one of each kind
of page: a diagnosis table, a credit scorecard, a text classifier, an image
classifier, a table with a note and a scan per row, a regressor, a survival
model, a fraud model on transactions, a visit-sequence model and a text
generator. Selenium drives
the distribution's Chromium and chromedriver: it fills each page's form,
submits it, and reads what the page shows against what the estimator answers
in Python. Without Chromium the browser tests are skipped on a developer's
machine and fail in CI (`CI` set), where `.ci/run` installs it.
"""

import base64
import csv
import json
import os
import re
import shutil
import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from core.estimators import TabularClassifier, TabularRegressor
from core.serving import ModelServer
from core.serving.model_page import _script_json, page_config
from core.serving.request_schema import has_label_sets
from tests.core.estimators.multimodal_rows import TINY, make_table
from tests.domains.medical.sequence_events import CUTOFF, TINY_SEQUENCE, make_events

ROOT = Path(__file__).resolve().parents[3]
PATIENTS = ROOT / "sample_data" / "medical" / "patients.csv"
APPLICANTS = ROOT / "sample_data" / "finance" / "applicants.csv"
COHORT = ROOT / "sample_data" / "medical" / "cohort.csv"
TRANSACTIONS = ROOT / "sample_data" / "finance" / "transactions.csv"
WAIT_S = 60
#: Where the test also writes the diagnosis page's screenshot (the README's picture).
SCREENSHOT_ENV = "KERAS_DOMAINS_PAGE_SCREENSHOT"


# ------------------------------------------------------------------ models
@pytest.fixture(scope="module")
def patients():
    frame = pd.read_csv(PATIENTS).drop(columns=["note", "xray", "patient_id"]).head(300)
    return frame, frame.pop("diagnosis")


@pytest.fixture(scope="module")
def models(patients, tmp_path_factory):
    from domains.finance import FraudDetector, RiskScorer
    from domains.medical import DiagnosisPredictor, SequenceDiagnosisPredictor, SurvivalPredictor
    from domains.nlp import TextClassifier, TextGenerator
    from domains.vision import ImageClassifier

    X, y = patients
    diagnosis = DiagnosisPredictor(
        max_epochs=3, hidden_units=(8,), n_members=1, calibration="temperature", random_state=0
    ).fit(X, y)
    applicants = pd.read_csv(APPLICANTS).drop(
        columns=["applicant_id", "application_date", "description"]
    )
    applicants = applicants.head(300)
    default = applicants.pop("default")
    credit = RiskScorer(
        embedding_dim=4, hidden_units=(8,), n_members=1, max_epochs=2, random_state=0
    ).fit(applicants, default)
    rng = np.random.default_rng(0)
    sentiment = rng.choice(["pos", "neg"], size=80)
    words = {"pos": ["good", "great"], "neg": ["bad", "awful"]}
    texts = [f"the film was {rng.choice(words[s])} and long" for s in sentiment]
    reviews = TextClassifier(
        vocabulary_size=60, embedding_dim=8, num_layers=1, num_heads=2, intermediate_dim=16,
        ngram_buckets=64, max_epochs=2, random_state=0,
    ).fit(texts, sentiment)  # fmt: skip
    images = rng.integers(0, 256, size=(24, 8, 8, 1), dtype=np.uint8)
    shapes = np.repeat(["light", "dark"], 12)
    images[shapes == "dark"] //= 4
    vision = ImageClassifier(widths=(4,), image_size=(8, 8), max_epochs=1, random_state=0)
    vision.fit(images, shapes)
    bmi = X.dropna(subset=["bmi"])
    regressor = TabularRegressor(max_epochs=3, n_members=1, **TINY).fit(
        bmi.drop(columns="bmi"), bmi["bmi"]
    )
    cohort = pd.read_csv(COHORT).drop(columns=["patient_id"]).head(300)
    days, died = cohort.pop("days"), cohort.pop("died")
    survival = SurvivalPredictor(max_epochs=3, **TINY).fit(cohort, time=days, event=died)
    transactions = pd.read_csv(TRANSACTIONS).drop(columns=["transaction_id"])
    accounts = sorted(transactions["account_id"].unique())[:30]
    transactions = transactions[transactions["account_id"].isin(accounts)]
    fraud = FraudDetector(
        encoder_units=4, embedding_dim=2, hidden_units=(4,), window=4, max_epochs=6,
        random_state=0,
    ).fit(transactions.drop(columns="is_fraud"), transactions["is_fraud"])  # fmt: skip
    events, outcome = make_events(40)
    sequence = SequenceDiagnosisPredictor(**TINY_SEQUENCE)
    sequence.fit(events, outcome, prediction_time=CUTOFF)
    generator = TextGenerator(
        vocabulary_size=20, max_length=8, embedding_dim=8, num_layers=1, num_heads=1,
        intermediate_dim=8, max_epochs=1, random_state=0,
    ).fit(["the cat sat on the mat ."] * 20)  # fmt: skip
    # A table with a note and a scan per row (the scans are PNG files in a temporary folder).
    rows, labels, _ = make_table(tmp_path_factory.mktemp("scans"))
    triage = TabularClassifier(max_epochs=3, n_members=1, **TINY).fit(rows, labels)
    return {
        "triage": triage,
        "bmi": regressor,
        "bmi_rows": bmi.drop(columns="bmi"),
        "survival": survival,
        "cohort": cohort,
        "fraud": fraud,
        "transactions": transactions.drop(columns="is_fraud"),
        "sequence": sequence,
        "events": events,
        "generator": generator,
        "triage_rows": rows,
        "diagnosis": diagnosis,
        "credit": credit,
        "reviews": reviews,
        "shapes": vision,
        "applicants": applicants,
        "images": images,
    }


def _server(models):
    """A server of the four models (one per event loop: each starts its micro-batchers)."""
    names = ("diagnosis", "credit", "reviews", "shapes", "triage", "bmi", "survival")
    names += ("fraud", "sequence", "generator")
    return ModelServer({name: models[name] for name in names})


@pytest.fixture(scope="module")
def client(models):
    server = _server(models)
    with TestClient(server.app) as client:
        yield client
    server.close()


# ------------------------------------------------------ pages without a browser
def test_the_page_config_lists_the_columns_with_their_training_vocabulary(client, models):
    html = client.get("/models/credit").text
    start = html.index('id="page-config">') + len('id="page-config">')
    config = json.loads(html[start : html.index("</script>", start)])
    schema = {item["name"]: item for item in models["credit"].input_schema()}
    assert [c["name"] for c in config["columns"]] == list(schema)
    savings = next(c for c in config["columns"] if c["name"] == "savings")
    assert savings["categories"] == [str(c) for c in schema["savings"]["categories"]]
    assert "<100" in savings["categories"] and "<100" not in html  # Escaped inside the script.
    age = next(c for c in config["columns"] if c["name"] == "age")
    assert age["value"] == pytest.approx(float(models["applicants"]["age"].median()), abs=1.0)
    assert (config["explains"], config["urls"]["explain"]) == (
        "reason_codes",
        "/v1/models/credit/explain",
    )


def test_pages_index_and_assets_are_served_and_unknown_ones_are_404(client):
    index = client.get("/models")
    assert index.status_code == 200
    for name in ("diagnosis", "credit", "reviews", "shapes"):
        assert f'href="/models/{name}"' in index.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/models"
    script = client.get("/static/model_page.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert client.get("/static/model_page.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/secrets.txt").status_code == 404
    missing = client.get("/models/nope")
    assert missing.status_code == 404 and "Known models: diagnosis" in missing.text


def test_the_page_fetches_nothing_from_the_network(client):
    html = client.get("/models/diagnosis").text
    references = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert references and all(r.startswith(("/", "data:", "#")) for r in references)
    script = client.get("/static/model_page.js").text
    # The SVG namespace is a name, not a download.
    assert re.findall(r"https?://[^\s\"'`]+", script) == ["http://www.w3.org/2000/svg"]
    assert "http" not in client.get("/static/model_page.css").text


def test_a_predict_request_with_alpha_answers_the_conformal_label_set(client, models, patients):
    X, _ = patients
    rows = X.head(5)
    body = {"rows": _records(rows), "alpha": 0.2}
    predictions = client.post("/v1/models/diagnosis/predict", json=body).json()["predictions"]
    sets = models["diagnosis"].predict_set(rows, alpha=0.2)
    classes = models["diagnosis"].classes_
    assert [p["label_set"] for p in predictions] == [classes[s].tolist() for s in sets]
    proba = [list(p["probabilities"].values()) for p in predictions]
    np.testing.assert_allclose(proba, models["diagnosis"].predict_proba(rows), rtol=1e-5)
    answer = client.post("/v1/models/diagnosis/predict", json={**body, "alpha": 1.5})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "alpha"]
    plain = client.post("/v1/models/diagnosis/predict", json={"rows": _records(rows)}).json()
    assert "label_set" not in plain["predictions"][0]


def test_label_sets_are_offered_only_for_single_label_classifiers_with_held_out_rows(models):
    assert has_label_sets(models["diagnosis"])
    assert not has_label_sets(models["shapes"].__class__())  # Not fitted: no held-out scores.
    regressor_like = type("Regressor", (), {"target_type_": "continuous"})()
    assert not has_label_sets(regressor_like)


def test_script_json_cannot_close_its_script_element():
    value = {"category": "</script><script>alert(1)</script>", "note": "a & b <!--"}
    text = _script_json(value)
    assert "<" not in text and ">" not in text and json.loads(text) == value


def test_the_page_config_of_a_calibrated_classifier_asks_for_label_sets(models):
    server = _server(models)
    config = page_config(server.models["diagnosis"], 100)
    assert config["kind"] == "table" and config["alpha"] == 0.1 and config["positive"] == 1
    assert config["calibration"] == "temperature"
    # 8 held-out texts are too few for a finite 90% set: the page asks for none.
    assert page_config(server.models["reviews"], 100)["alpha"] is None
    server.close()
    assert "age" in config["numeric_columns"] and "sex" not in config["numeric_columns"]


# ------------------------------------------------------------ in a browser
@pytest.fixture(scope="module")
def base_url(models):
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = _server(models)
    config = uvicorn.Config(server.app, host="127.0.0.1", port=port, log_level="warning")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not uvicorn_server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uvicorn_server.should_exit = True
    thread.join(WAIT_S)
    server.close()


@pytest.fixture(scope="module")
def browser():
    binary = next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        message = "Chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; .ci/run installs them.")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    yield driver
    driver.quit()


def _open(browser, url):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # Drops the log of earlier pages.
    browser.get(url)
    WebDriverWait(browser, WAIT_S).until(
        lambda b: b.execute_script("return document.body.dataset.ready")
    )


def _wait_for(browser, key, count):
    """Waits until the page has answered (`answered`) or explained (`explained`) `count` times."""
    from selenium.webdriver.support.ui import WebDriverWait

    script = f"return Number(document.body.dataset.{key} || 0) >= {count}"
    WebDriverWait(browser, WAIT_S).until(lambda b: b.execute_script(script))


def _field(browser, column):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f'.field[data-column="{column}"]')


def _type(browser, column, text):
    from selenium.webdriver.common.by import By

    box = _field(browser, column).find_element(By.CSS_SELECTOR, "input, textarea")
    box.clear()
    box.send_keys(text)


def _choose(browser, column, category):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(_field(browser, column).find_element(By.TAG_NAME, "select")).select_by_value(category)


def _fill_form(browser, model, row):
    """Types a one-row frame's numbers and chooses its categories, as the schema says."""
    for item in model.input_schema():
        value = row[item["name"]].iloc[0]
        if item["kind"] == "categorical":
            _choose(browser, item["name"], str(value))
        else:
            _type(browser, item["name"], "" if pd.isna(value) else repr(float(value)))


def _predict_case(browser, base_url, name, model, row):
    """Opens a model's page, fills its form with a one-row frame, and waits for the answer."""
    from selenium.webdriver.common.by import By

    _open(browser, f"{base_url}/models/{name}")
    _fill_form(browser, model, row)
    browser.find_element(By.ID, "predict-button").click()
    _wait_for(browser, "explained", 1)


def _bars(browser, container):
    """`{data-label: value}` of the bars drawn in a container."""
    from selenium.webdriver.common.by import By

    bars = browser.find_elements(By.CSS_SELECTOR, f"#{container} rect.bar")
    return {bar.get_attribute("data-label"): float(bar.get_attribute("data-value")) for bar in bars}


def _script_errors(browser):
    """The page's JavaScript errors since the page was opened (answers of 4xx are expected)."""
    logs = browser.get_log("browser")
    return [e for e in logs if e["level"] == "SEVERE" and e.get("source") != "network"]


def test_the_table_form_shows_the_prediction_its_label_set_and_why(
    browser, base_url, models, patients, tmp_path
):
    from selenium.webdriver.common.by import By

    model = models["diagnosis"]
    X, _ = patients
    row = X.iloc[[7]].copy()
    row["age"], row["smoking_status"], row["hba1c"] = 81.0, "current", 8.25
    _predict_case(browser, base_url, "diagnosis", model, row)

    assert browser.find_element(By.ID, "predicted-label").text == str(model.predict(row)[0])
    shown = _bars(browser, "prediction")
    np.testing.assert_allclose(
        [shown[str(c)] for c in model.classes_], model.predict_proba(row)[0], rtol=1e-4
    )
    chips = browser.find_elements(By.CSS_SELECTOR, "#label-set .set")
    expected_set = model.classes_[model.predict_set(row, alpha=0.1)[0]]
    assert [chip.text for chip in chips] == [str(c) for c in expected_set]
    attributions = model.explain(row).iloc[0]
    why = _bars(browser, "explanation")
    assert set(why) == set(attributions.abs().sort_values().index[-len(why) :])
    np.testing.assert_allclose([why[c] for c in why], attributions[list(why)], atol=1e-4)
    assert "age = 81" in browser.find_element(By.ID, "explanation").text
    assert _script_errors(browser) == []

    path = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "model_page.png")
    browser.save_screenshot(str(path))
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    assert (width, height) == tuple(browser.execute_script("return [innerWidth, innerHeight]"))


def test_validation_errors_are_shown_next_to_their_field(browser, base_url):
    from selenium.webdriver.common.by import By

    _open(browser, f"{base_url}/models/diagnosis")
    _type(browser, "age", "eighty")
    browser.find_element(By.ID, "predict-button").click()
    error = browser.find_element(By.ID, "error-0")
    _wait_for_text(browser, error)
    assert "valid number" in error.text
    assert "invalid" in _field(browser, "age").get_attribute("class")
    assert "invalid" not in _field(browser, "bmi").get_attribute("class")
    assert browser.find_element(By.ID, "prediction").text == ""
    assert "Traceback" not in browser.page_source


def _wait_for_text(browser, element):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WAIT_S).until(lambda _: element.text.strip())


def test_a_csv_upload_predicts_every_row_and_explains_a_clicked_one(
    browser, base_url, models, patients, tmp_path
):
    from selenium.webdriver.common.by import By

    model = models["diagnosis"]
    X, _ = patients
    rows = X.iloc[20:26].copy()
    rows.loc[rows.index[1], "bmi"] = np.nan  # An empty cell is a missing value.
    path = tmp_path / "cases.csv"
    rows.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)
    _open(browser, f"{base_url}/models/diagnosis")
    browser.find_element(By.ID, "batch-file").send_keys(str(path))
    browser.find_element(By.ID, "batch-button").click()
    _wait_for(browser, "answered", 1)
    lines = browser.find_elements(By.CSS_SELECTOR, "#results-table tbody tr")
    assert len(lines) == len(rows)
    expected = model.predict_proba(rows)[:, 1]
    shown = [
        float(line.find_elements(By.TAG_NAME, "td")[2].text.rstrip("%")) / 100 for line in lines
    ]
    np.testing.assert_allclose(shown, expected, atol=0.0006)  # Shown to 0.1%.
    lines[3].click()
    _wait_for(browser, "explained", 1)
    why = _bars(browser, "explanation")
    attributions = model.explain(rows.iloc[[3]]).iloc[0]
    np.testing.assert_allclose([why[c] for c in why], attributions[list(why)], atol=1e-4)


def test_a_bad_csv_line_is_named_in_the_error(browser, base_url, patients, tmp_path):
    from selenium.webdriver.common.by import By

    X, _ = patients
    rows = X.head(3).astype(object)
    rows.loc[rows.index[2], "age"] = "old"
    path = tmp_path / "bad.csv"
    rows.to_csv(path, index=False)
    _open(browser, f"{base_url}/models/diagnosis")
    browser.find_element(By.ID, "batch-file").send_keys(str(path))
    browser.find_element(By.ID, "batch-button").click()
    error = browser.find_element(By.ID, "batch-error")
    _wait_for_text(browser, error)
    assert error.text.startswith("Line 4, column age:") and "valid number" in error.text


def test_a_credit_page_shows_points_and_reason_codes(browser, base_url, models):
    from selenium.webdriver.common.by import By

    model, applicants = models["credit"], models["applicants"]
    row = applicants.iloc[[3]]
    _predict_case(browser, base_url, "credit", model, row)
    points = browser.find_element(By.CSS_SELECTOR, "#points strong").text
    assert int(points) == round(float(model.points(row)[0]))
    reasons = model.reason_codes(row, n=4).iloc[0]
    shown = _bars(browser, "explanation")
    assert list(shown) == [reasons[f"reason_{k}"] for k in range(1, 5)]
    np.testing.assert_allclose(
        list(shown.values()), [reasons[f"points_{k}"] for k in range(1, 5)], rtol=1e-4
    )


def test_many_categories_get_a_text_box_that_suggests_them(browser, base_url, models, monkeypatch):
    from selenium.webdriver.common.by import By

    from core.serving import model_page

    monkeypatch.setattr(model_page, "MAX_DROP_DOWN", 3)  # Read when the page is built.
    model, row = models["credit"], models["applicants"].iloc[[3]]
    _open(browser, f"{base_url}/models/credit")
    purpose = _field(browser, "purpose").find_element(By.CSS_SELECTOR, "input[list]")
    options = browser.find_elements(By.CSS_SELECTOR, f"#{purpose.get_attribute('list')} option")
    categories = next(c for c in model.input_schema() if c["name"] == "purpose")["categories"]
    assert [o.get_attribute("value") for o in options] == [str(c) for c in categories]
    for item in model.input_schema():
        value = row[item["name"]].iloc[0]
        if item["kind"] == "numeric":
            _type(browser, item["name"], repr(float(value)))
        elif _field(browser, item["name"]).find_elements(By.TAG_NAME, "select"):
            _choose(browser, item["name"], str(value))
        else:
            _type(browser, item["name"], str(value))
    browser.find_element(By.ID, "predict-button").click()
    _wait_for(browser, "explained", 1)
    points = browser.find_element(By.CSS_SELECTOR, "#points strong").text
    assert int(points) == round(float(model.points(row)[0]))


def test_a_text_page_highlights_the_words_that_moved_the_prediction(browser, base_url, models):
    from selenium.webdriver.common.by import By

    model = models["reviews"]
    _open(browser, f"{base_url}/models/reviews")
    _type(browser, "text", "the film was awful and long")
    browser.find_element(By.ID, "predict-button").click()
    _wait_for(browser, "explained", 1)
    words = browser.find_elements(By.CSS_SELECTOR, "#explanation .words span")
    expected = model.explain(["the film was awful and long"])[0]
    assert [w.text for w in words] == [token for token, _ in expected]
    shown = [float(w.get_attribute("data-attribution")) for w in words]
    np.testing.assert_allclose(shown, [a for _, a in expected], atol=1e-5)
    # The strongest word in full red (raises the positive class) or blue, the others fainter.
    colours = [w.value_of_css_property("background-color") for w in words]
    strongest = int(np.argmax(np.abs(shown)))
    full = "rgba(192, 57, 43, 1)" if shown[strongest] > 0 else "rgba(47, 111, 222, 1)"
    assert colours[strongest] == full
    weakest = int(np.argmin(np.abs(shown)))
    assert float(colours[weakest].rstrip(")").split(",")[-1]) < 0.5


def test_an_image_page_draws_the_grad_cam_over_the_uploaded_image(
    browser, base_url, models, tmp_path
):
    import tensorflow as tf
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    model, image = models["shapes"], models["images"][0]
    path = tmp_path / "shape.png"
    path.write_bytes(tf.io.encode_png(image).numpy())
    _open(browser, f"{base_url}/models/shapes")
    _field(browser, "image").find_element(By.TAG_NAME, "input").send_keys(str(path))
    browser.find_element(By.ID, "predict-button").click()
    _wait_for(browser, "explained", 1)
    assert browser.find_element(By.ID, "predicted-label").text == model.predict(image[None])[0]
    canvas = browser.find_element(By.ID, "grad-cam")
    WebDriverWait(browser, WAIT_S).until(lambda _: canvas.get_attribute("data-drawn"))
    # The canvas is the image scaled up, with the heat map blended over it.
    size = browser.execute_script("const c = arguments[0]; return [c.width, c.height]", canvas)
    assert size[0] == size[1] and size[0] >= 8 * 40
    png = base64.b64decode(canvas.screenshot_as_base64)
    assert png.startswith(b"\x89PNG")
    # Many images: several files chosen at once, one result line each.
    second = tmp_path / "dark.png"
    second.write_bytes(tf.io.encode_png(models["images"][-1]).numpy())
    browser.find_element(By.ID, "batch-file").send_keys(f"{path}\n{second}")
    browser.find_element(By.ID, "batch-button").click()
    _wait_for(browser, "answered", 2)
    lines = browser.find_elements(By.CSS_SELECTOR, "#results-table tbody tr")
    expected = model.predict(np.stack([image, models["images"][-1]]))
    assert _cells(lines, 1) == [str(label) for label in expected]


def _data_url(path):
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def test_a_table_explanation_adds_the_words_of_its_notes_and_the_maps_of_its_scans(client, models):
    model, rows = models["triage"], models["triage_rows"].iloc[[0, 3, 5]]
    sent = rows.assign(scan=[_data_url(p) if isinstance(p, str) else None for p in rows["scan"]])
    answer = client.post("/v1/models/triage/explain", json={"rows": _records(sent)})
    assert answer.status_code == 200, answer.text
    explanations = answer.json()["explanations"]
    words = model.explain_text(rows)
    maps = model.explain_image(rows)
    for k, item in enumerate(explanations):
        shown = [(w["token"], w["attribution"]) for w in item["words"]["note"]]
        assert [t for t, _ in shown] == [t for t, _ in words[k]]  # Row 3 has no note: [].
        np.testing.assert_allclose([a for _, a in shown], [a for _, a in words[k]], atol=1e-6)
    assert explanations[2]["heatmaps"]["scan"] is None  # Row 5 has no scan.
    np.testing.assert_allclose(explanations[0]["heatmaps"]["scan"], maps[0], atol=1e-4)


def test_a_table_page_with_a_note_and_a_scan_shows_their_words_and_grad_cam(
    browser, base_url, models
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    model, row = models["triage"], models["triage_rows"].iloc[[1]]
    _open(browser, f"{base_url}/models/triage")
    _type(browser, "age", repr(float(row["age"].iloc[0])))
    _choose(browser, "sex", row["sex"].iloc[0])
    _type(browser, "note", row["note"].iloc[0])
    _field(browser, "scan").find_element(By.TAG_NAME, "input").send_keys(row["scan"].iloc[0])
    browser.find_element(By.ID, "predict-button").click()
    _wait_for(browser, "explained", 1)
    shown = float(_bars(browser, "prediction")["1"])
    assert shown == pytest.approx(model.predict_proba(row)[0, 1], rel=1e-4)
    assert set(_bars(browser, "explanation")) == {"age", "sex", "note", "scan"}
    spans = browser.find_elements(By.CSS_SELECTOR, '#explanation .words[data-column="note"] span')
    assert [span.text for span in spans] == row["note"].iloc[0].split()
    canvas = browser.find_element(By.CSS_SELECTOR, '#explanation canvas[data-column="scan"]')
    WebDriverWait(browser, WAIT_S).until(lambda _: canvas.get_attribute("data-drawn"))
    assert _script_errors(browser) == []


def test_a_regressor_page_shows_the_value_and_its_interval(browser, base_url, models):
    from selenium.webdriver.common.by import By

    model, row = models["bmi"], models["bmi_rows"].iloc[[4]]
    _predict_case(browser, base_url, "bmi", model, row)
    value, bounds = model.predict_with_interval(row, alpha=0.1)
    text = browser.find_element(By.ID, "prediction").text
    assert f"bmi: {_number(value[0])}" in text
    low, high = np.asarray(bounds).ravel()
    assert f"90% prediction interval: {_number(low)} to {_number(high)}" in text
    attributions = model.explain(row).iloc[0]
    why = _bars(browser, "explanation")
    np.testing.assert_allclose([why[c] for c in why], attributions[list(why)], atol=1e-4)
    assert _script_errors(browser) == []


def test_a_survival_page_draws_the_curve_and_names_the_median_time(browser, base_url, models):
    from selenium.webdriver.common.by import By

    model, row = models["survival"], models["cohort"].iloc[[2]]
    _predict_case(browser, base_url, "survival", model, row)
    _, median, curve = model.predict_with_curve(row)
    label = browser.find_element(By.CSS_SELECTOR, "#prediction .label").text
    if np.isfinite(median[0]):
        assert label == f"Median time to event: {_number(median[0])}"
    path = browser.find_element(By.CSS_SELECTOR, "path.survival-curve").get_attribute("d")
    assert path.count("V") == curve.shape[1]  # One step per time of the grid.
    assert set(_bars(browser, "explanation")) <= set(row.columns)
    assert _script_errors(browser) == []


def _upload(browser, base_url, name, frame, tmp_path):
    """Opens a model's page, uploads `frame` as a CSV and waits for the results table."""
    from selenium.webdriver.common.by import By

    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    _open(browser, f"{base_url}/models/{name}")
    browser.find_element(By.ID, "batch-file").send_keys(str(path))
    browser.find_element(By.ID, "batch-button").click()
    _wait_for(browser, "answered", 1)
    return browser.find_elements(By.CSS_SELECTOR, "#results-table tbody tr")


def _cells(lines, column):
    from selenium.webdriver.common.by import By

    return [line.find_elements(By.TAG_NAME, "td")[column].text for line in lines]


def test_a_transactions_page_scores_a_csv_and_explains_a_clicked_transaction(
    browser, base_url, models, tmp_path
):
    model, rows = models["fraud"], models["transactions"].head(40)
    lines = _upload(browser, base_url, "fraud", rows, tmp_path)
    shown = [float(cell.rstrip("%")) / 100 for cell in _cells(lines, 2)]
    # The file's rows are scored together: each account's earlier rows are its history.
    np.testing.assert_allclose(shown, model.predict_proba(rows)[:, 1], atol=0.0006)
    # The transaction with the most earlier ones of its account in the file.
    times = pd.to_datetime(rows["timestamp"])
    accounts = rows["account_id"]
    earlier = [((accounts == a) & (times < t)).sum() for a, t in zip(accounts, times, strict=True)]
    k = int(np.argmax(earlier))
    assert earlier[k] > 0
    lines[k].click()
    _wait_for(browser, "explained", 1)
    why = _bars(browser, "explanation")
    # Explained as it was scored: the file's other rows are the account's history.
    attributions = model.explain(rows.iloc[[k]], history=rows.drop(index=rows.index[k])).iloc[0]
    alone = model.explain(rows.iloc[[k]]).iloc[0]  # What the page would show without it.
    assert not np.allclose(attributions, alone, atol=1e-3)
    np.testing.assert_allclose([why[c] for c in why], attributions[list(why)], atol=1e-4)
    assert _script_errors(browser) == []


def test_a_visit_sequence_page_answers_one_row_per_patient(browser, base_url, models, tmp_path):
    model, events = models["sequence"], models["events"]
    rows = events[events["patient_id"].isin(events["patient_id"].unique()[:3])]
    lines = _upload(browser, base_url, "sequence", rows, tmp_path)
    expected = model.predict_proba(rows)[:, 1]
    assert _cells(lines, 1) == [str(p) for p in model.output_index(rows)]
    shown = [float(cell.rstrip("%")) / 100 for cell in _cells(lines, 3)]
    np.testing.assert_allclose(shown, expected, atol=0.0006)
    lines[0].click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WAIT_S).until(lambda _: _bars(browser, "explanation"))
    assert _script_errors(browser) == []


def test_a_generator_page_generates_and_names_a_bad_parameter(browser, base_url):
    from selenium.webdriver.common.by import By

    _open(browser, f"{base_url}/models/generator")
    _type(browser, "prompt", "the cat")
    _type(browser, "max_new_tokens", "many")
    browser.find_element(By.ID, "predict-button").click()
    error = browser.find_element(By.ID, "error-1")
    _wait_for_text(browser, error)
    assert "valid integer" in error.text
    _type(browser, "max_new_tokens", "3")
    browser.find_element(By.ID, "predict-button").click()
    _wait_for(browser, "answered", 1)
    assert browser.find_element(By.CSS_SELECTOR, "#prediction pre.generated").text.strip()
    assert error.text == ""
    assert _script_errors(browser) == []


def _number(x):
    """A number as the page writes it: whole above 100, else 3 significant digits."""
    x = float(x)
    return f"{x:.0f}" if abs(x) >= 100 else f"{float(f'{x:.3g}'):g}"


def _records(frame):
    return [
        {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]
