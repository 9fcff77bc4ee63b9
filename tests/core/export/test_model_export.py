"""Exported models (SavedModel, ONNX) predict what the estimator predicts, in a fresh process."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core.export import COMPANION_NAME
from core.registry import get_task
from tests.test_robustness import (
    FRAUD_TINY,
    GENERATOR_TINY,
    IMAGE_TINY,
    SEQUENCE_TINY,
    TABULAR_OPTIONS,
    TABULAR_TINY,
    TEXT_TINY,
    events,
    patients,
    pictures,
    reviews,
    transactions,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def _calibrated_patients():
    """Patients with missing values, a rare category and three classes, for isotonic maps."""
    X, _ = patients(240)
    rng = np.random.default_rng(1)
    X.loc[rng.random(len(X)) < 0.1, "age"] = np.nan
    X.loc[rng.random(len(X)) < 0.1, "sex"] = None
    y = np.where(X["age"].fillna(50) > 55, "high", np.where(X["smoker"], "mid", "low"))
    return X, y


def _unseen_rows(X):
    """Rows a server would meet: an unseen category, missing values of each kind."""
    rows = X.head(4).copy()
    rows.loc[rows.index[0], "sex"] = "X"
    rows.loc[rows.index[1], "sex"] = None
    rows.loc[rows.index[2], "age"] = np.nan
    return pd.concat([X, rows], ignore_index=True)


CASES = {
    "diagnosis_isotonic": (
        "medical.diagnosis",
        {**TABULAR_TINY, "calibration": "isotonic", "validation_fraction": 0.5},
        _calibrated_patients,
    ),
    "credit_temperature": (
        "finance.credit_risk",
        {
            **TABULAR_TINY,
            **TABULAR_OPTIONS["finance.credit_risk"],
            "calibration": "temperature",
            "validation_fraction": 0.5,
        },
        lambda: patients(80),
    ),
    "fraud": ("finance.fraud", FRAUD_TINY, transactions),
    "sequence": ("medical.sequence", SEQUENCE_TINY, events),
    "image": ("vision.image_classification", IMAGE_TINY, pictures),
    "text": ("nlp.text", TEXT_TINY, reviews),
    "generation": ("nlp.generation", GENERATOR_TINY, lambda: (reviews()[0], None)),
}


def _expected(model, X):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    return np.asarray(model.model_(model._transform(X), training=False))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Every case fitted, exported in both formats and run by a fresh process."""
    folder = tmp_path_factory.mktemp("exports")
    cases, expected, models = {}, {}, {}
    for key, (task, params, data) in CASES.items():
        X, y = data()
        model = get_task(task)(**params)
        model.fit(X) if y is None else model.fit(X, y)
        if model.task_name in ("medical.diagnosis", "finance.credit_risk"):
            X = _unseen_rows(X)
        models[key] = model
        feed = model.export_inputs(X)
        expected[key] = _expected(model, X)
        for format, name in (("saved_model", key), ("onnx", f"{key}.onnx")):
            written = model.export(folder / name, format=format)
            cases[f"{key}-{format}"] = {"format": format, "path": written["path"], "feed": feed}
    with open(folder / "cases.pkl", "wb") as f:
        pickle.dump(cases, f)
    out = folder / "out.npz"
    subprocess.run(
        [sys.executable, "-m", "tests.core.export.load_exports", folder / "cases.pkl", out],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    with np.load(out) as results:
        return {key: results[key] for key in results.files}, expected, models, folder


@pytest.mark.parametrize("format", ["saved_model", "onnx"])
@pytest.mark.parametrize("key", CASES)
def test_export_matches_estimator_in_a_fresh_process(exported, key, format):
    results, expected, _, _ = exported
    got = results[f"{key}-{format}"]
    assert got.shape == expected[key].shape
    np.testing.assert_allclose(got, expected[key], rtol=0, atol=1e-5)


def test_tabular_export_takes_raw_columns_and_writes_its_companion(exported):
    _, _, models, folder = exported
    model = models["diagnosis_isotonic"]
    with open(folder / "diagnosis_isotonic" / COMPANION_NAME) as f:
        companion = json.load(f)
    assert companion["preprocessing_in_graph"] is True
    assert companion["classes"] == ["high", "low", "mid"]
    assert {i["column"]: i["dtype"] for i in companion["inputs"]} == {
        "age": "float64", "visits": "float64", "sex": "string", "smoker": "string",
    }  # fmt: skip
    with open(folder / "diagnosis_isotonic.onnx.json") as f:
        assert json.load(f)["format"] == "onnx"
    feed = model.export_inputs(pd.DataFrame({"age": [np.nan], "visits": [2], "sex": [None],
                                             "smoker": [True]}))  # fmt: skip
    assert (
        np.isnan(feed["age"][0, 0]) and feed["sex"][0, 0] == "" and feed["smoker"][0, 0] == "True"
    )


def test_sequence_export_leaves_event_encoding_to_the_caller(exported):
    _, _, _, folder = exported
    with open(folder / "sequence.onnx.json") as f:
        companion = json.load(f)
    assert companion["preprocessing_in_graph"] is False
    # One graph input per named model input; ids stay integers.
    dtypes = {spec["name"]: spec["dtype"] for spec in companion["inputs"]}
    assert dtypes["codes"] == dtypes["wide_ids"] == "int32"
    assert dtypes["times"] == dtypes["wide_values"] == "float32"
    assert "fitted_state" in companion["preprocessing"]


def test_export_replaces_an_old_export_only_when_the_new_one_is_whole(exported, monkeypatch):
    _, _, models, folder = exported
    model, target = models["credit_temperature"], folder / "credit_temperature"
    before = sorted(os.listdir(target))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("tensorflow.saved_model.save", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        model.export(target, format="saved_model")
    assert sorted(os.listdir(target)) == before
    assert not [p for p in os.listdir(folder) if p.startswith(".tmp-export")]


def test_export_checks_its_arguments(exported, tmp_path):
    _, _, models, _ = exported
    model = models["credit_temperature"]
    with pytest.raises(ValueError, match="`format` must be one of"):
        model.export(tmp_path / "m", format="tflite")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        model.export(tmp_path / "file", format="saved_model")
    with pytest.raises(ValueError, match="is a folder"):
        model.export(tmp_path, format="onnx")
    unfitted = get_task("medical.diagnosis")()
    with pytest.raises(Exception, match="not fitted"):
        unfitted.export(tmp_path / "m")


def test_onnx_export_without_its_extra_names_the_install(exported, tmp_path, monkeypatch):
    _, _, models, _ = exported
    monkeypatch.setitem(sys.modules, "tf2onnx", None)
    with pytest.raises(ImportError, match=r'pip install "keras-domains\[export\]"'):
        models["credit_temperature"].export(tmp_path / "m.onnx", format="onnx")
    assert not list(tmp_path.iterdir())
