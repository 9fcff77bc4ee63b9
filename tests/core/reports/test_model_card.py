import builtins
import importlib
import os
import re
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import average_precision_score, roc_auc_score

from core.metrics import expected_calibration_error
from core.reports import model_card
from domains.medical import DiagnosisPredictor

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECTIONS = [
    "## Model details",
    "## Intended use",
    "## Input schema",
    "## Training settings",
    "## Library versions",
    "## Metrics on the test data",
    "## Calibration",
    "## Conformal prediction sets",
    "## Subgroups",
    "## Limitations",
]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :6]
    model = DiagnosisPredictor(
        hidden_units=(8,), max_epochs=3, n_members=1, calibration="temperature", random_state=0
    ).fit(X.iloc[:300], y.iloc[:300])
    saved = model.save(tmp_path_factory.mktemp("model") / "model.kdm")
    sites = np.array(["north", "south", "east"])[np.arange(150) % 3]
    return model, saved, X.iloc[300:450], y.iloc[300:450].to_numpy(), sites


def check_png(path):
    import matplotlib.image

    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert 200 <= image.shape[0] <= 3000 and 200 <= image.shape[1] <= 3000
    assert image.std() > 0


def row(markdown, name, section=None):
    """The cells of the first table row whose first cell is `name` (in `section`, if given)."""
    if section is not None:
        markdown = markdown[markdown.index(section) :]
    for line in markdown.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        if line.startswith("|") and cells[0] == name:
            return cells[1:]
    raise AssertionError(f"no table row {name!r}")


def test_card_of_a_fitted_model(fitted, tmp_path):
    model, _, X_test, y_test, sites = fitted
    path = tmp_path / "card.md"
    use = "Research on *breast cancer* screening; not for diagnosis."
    assert model_card(model, X_test, y_test, path, intended_use=use, groups=sites) == path
    assert sorted(os.listdir(tmp_path)) == ["card.md", "card_calibration.png", "card_roc.png"]
    check_png(tmp_path / "card_calibration.png")
    check_png(tmp_path / "card_roc.png")
    text = path.read_text(encoding="utf-8")
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    _, markdown = split_front_matter(text)
    assert markdown.startswith("# Model card: DiagnosisPredictor (medical.diagnosis)\n")
    assert use in text and "![ROC curve](card_roc.png)" in text
    assert "![Reliability diagram](card_calibration.png)" in text
    assert row(text, "Task") == ["`medical.diagnosis`"]
    assert row(text, "**mean radius**") == ["`numeric`"]
    assert row(text, "`hidden_units`") == ["`(8,)`"]
    assert row(text, "Epochs run") == [f"{model.n_epochs_} of at most 3"]
    assert row(text, "Final `loss`") == [f"{model.history_['loss'][-1]:.4f}"]

    proba = model.predict_proba(X_test)[:, 1]
    assert row(text, "Test rows") == ["150", ""]
    assert row(text, "Prevalence of `1`")[0] == f"{y_test.mean():.1%}"
    auroc, interval = row(text, "AUROC")
    assert auroc == f"{roc_auc_score(y_test, proba):.3f}"
    low, high = map(float, interval.split(" to "))
    assert low <= float(auroc) <= high
    assert (
        row(text, "AUPRC (average precision)")[0] == f"{average_precision_score(y_test, proba):.3f}"
    )
    assert (
        row(text, "ECE (10 equal-width bins)")[0]
        == f"{expected_calibration_error(y_test, proba):.3f}"
    )
    sensitivity = (proba[y_test == 1] >= 0.5).mean()
    assert row(text, "Sensitivity at threshold 0.500")[0] == f"{sensitivity:.3f}"

    calibration = model.calibration_report(X_test, y_test)
    assert row(text, "ECE", "## Calibration") == [
        f"{calibration['ece_before']:.3f}",
        f"{calibration['ece_after']:.3f}",
    ]
    sets = model.predict_set(X_test, alpha=0.1)
    coverage = sets[np.arange(150), y_test].mean()
    assert row(text, "Empirical coverage") == [f"{coverage:.1%}"]
    assert row(text, "Mean set size") == [f"{sets.sum(axis=1).mean():.2f}"]

    assert row(text, "**all**")[0] == "150"
    for site in ("north", "south", "east"):
        cells = row(text, f"`{site}`")
        assert cells[0] == "50"
        rows = sites == site
        assert cells[2].startswith(f"{roc_auc_score(y_test[rows], proba[rows]):.3f} (")
    assert "Calibration (`temperature`) was checked on these test rows only" in text


def split_front_matter(text):
    """`(metadata, markdown)` of a card: its YAML header parsed, and what follows it."""
    import yaml

    assert text.startswith("---\n")
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]), text[end + 5 :].lstrip("\n")


def test_the_yaml_header_says_what_model_hubs_read(fitted, tmp_path):
    model, _, X_test, y_test, _ = fitted
    use = 'Screening research: "not" for diagnosis.\nSecond line: #hash'
    path = model_card(model, X_test, y_test, tmp_path / "card.md", intended_use=use, dataset="wdbc")
    header, markdown = split_front_matter(path.read_text(encoding="utf-8"))
    assert header["library_name"] == "keras-domains"
    assert header["pipeline_tag"] == "tabular-classification"
    assert header["model_type"] == "DiagnosisPredictor" and header["task"] == "medical.diagnosis"
    assert "medical.diagnosis" in header["tags"] and header["datasets"] == ["wdbc"]
    assert header["intended_use"] == use.strip()
    # The limitations are the Markdown's, without code marks.
    listed = markdown[markdown.index("## Limitations") :].splitlines()[2:]
    assert header["limitations"] == [line[2:].replace("`", "") for line in listed if line]
    (result,) = header["model-index"][0]["results"]
    assert result["task"] == {"type": "tabular-classification", "name": "medical.diagnosis"}
    assert result["dataset"]["name"] == "wdbc"
    metrics = {m["type"]: m["value"] for m in result["metrics"]}
    proba = model.predict_proba(X_test)[:, 1]
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y_test, proba))
    assert metrics["average_precision"] == pytest.approx(average_precision_score(y_test, proba))
    assert set(header["metrics"]) == set(metrics)


@pytest.mark.parametrize(
    "value",
    ["plain", "yes", "1.5", "a: b", "- item", "#tag", 'say "hi"', "line\nbreak", "é ü 中", "", 3,
     2.5, True, None, ["x", {"k": "v"}], {"nested": {"deep": [1, 2]}}],
)  # fmt: skip
def test_the_yaml_writer_round_trips_what_cards_hold(value):
    import yaml

    from core.reports.card_metadata import yaml_front_matter

    text = yaml_front_matter({"key": value, "other-key": [value]})
    assert yaml.safe_load(text.strip().strip("-")) == {"key": value, "other-key": [value]}


def test_card_of_a_loaded_model_reports_what_the_file_recorded(fitted, tmp_path):
    _, saved, X_test, y_test, _ = fitted
    loaded = DiagnosisPredictor.load(saved)
    loaded.metadata_["versions"]["keras"] = "9.9.9-as-saved"
    text = model_card(loaded, X_test, y_test, tmp_path / "loaded.md").read_text()
    assert "Recorded when the model was saved." in text
    assert row(text, "`keras`") == ["`9.9.9-as-saved`"]
    assert row(text, "Described from") == ["a saved model file"]
    assert "## Subgroups" not in text and "No subgroup analysis was run" in text
    assert "Not stated by the model's author." in text
    assert (tmp_path / "loaded_roc.png").exists() and (tmp_path / "loaded_calibration.png").exists()


class FakeClassifier(ClassifierMixin, BaseEstimator):
    """Probabilities are the columns "p0", "p1", ... of X; no Keras model behind it."""

    def __init__(self, calibration=None):
        self.calibration = calibration

    def predict_proba(self, X):
        return X[[f"p{k}" for k in range(len(self.classes_))]].to_numpy()


class FakeWithTrust(FakeClassifier):
    def calibration_report(self, X, y):
        return {"method": "isotonic", "ece_before": 0.2, "ece_after": 0.05,
                "brier_before": 0.3, "brier_after": 0.25}  # fmt: skip

    def predict_set(self, X, alpha=0.1):
        raise ValueError("`predict_set` needs held-out rows kept at fit time.")


def three_classes(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.dirichlet([2, 2, 2], size=n), columns=["p0", "p1", "p2"])
    y = np.array(["ant", "bee", "cow"])[rng.integers(0, 3, n)]
    model = FakeClassifier()
    model.classes_, model.target_type_ = np.array(["ant", "bee", "cow"]), "multiclass"
    return model, X, y


def test_multiclass_card_without_a_positive_class_scores_every_class(tmp_path):
    model, X, y = three_classes()
    text = model_card(model, X, y, tmp_path / "card.md").read_text()
    accuracy = (X.to_numpy().argmax(axis=1) == np.searchsorted(model.classes_, y)).mean()
    assert row(text, "Accuracy (most probable class)")[0] == f"{accuracy:.3f}"
    for k, label in enumerate(model.classes_):
        cells = row(text, f"`{label}`")
        assert cells[0] == str((y == label).sum())
        assert cells[2] == f"{roc_auc_score(y == label, X[f'p{k}']):.3f}"
    assert row(text, "Task") == ["`not registered`"]
    assert "Input schema\n\nNot recorded." in text
    assert "no `predict_set`" in text
    assert "No intended use was stated" in text
    assert "Not stated by the model's author." in text
    check_png(tmp_path / "card_roc.png")
    check_png(tmp_path / "card_calibration.png")


def test_multiclass_card_for_one_class_with_groups(tmp_path):
    model, X, y = three_classes()
    groups = np.array(["a|b", "c"] * 30)
    with pytest.raises(ValueError, match=r"`positive_class` is required with `groups`"):
        model_card(model, X, y, tmp_path / "card.md", groups=groups)
    assert os.listdir(tmp_path) == []
    text = model_card(
        model, X, y, tmp_path / "card.md", groups=groups, positive_class="bee"
    ).read_text()
    assert row(text, "AUROC")[0] == f"{roc_auc_score(y == 'bee', X['p1']):.3f}"
    assert row(text, "`a\\|b`")[0] == "30"  # A "|" in a label does not break the table.


def test_calibration_and_conformal_hooks(tmp_path):
    model = FakeWithTrust(calibration="isotonic")
    model.classes_ = np.array([0, 1])
    rng = np.random.default_rng(1)
    p = rng.random(40)
    X = pd.DataFrame({"p0": 1 - p, "p1": p})
    y = (rng.random(40) < p).astype(int)
    text = model_card(model, X, y, tmp_path / "c.md", title="Triage | v2").read_text()
    header, markdown = split_front_matter(text)
    assert markdown.startswith("# Triage | v2\n")
    assert header["model_type"] == "FakeWithTrust" and header["task"] == "not registered"
    assert "pipeline_tag" not in header  # Not a task of the project: no input kind to tell.
    assert row(text, "ECE", "## Calibration") == ["0.200", "0.050"]
    assert row(text, "Brier score", "## Calibration") == ["0.300", "0.250"]
    assert "Not available: `predict_set` needs held-out rows kept at fit time." in text


def test_multilabel_card_has_no_prediction_sets(tmp_path):
    model = FakeWithTrust()
    model.classes_, model.target_type_ = np.array([0, 1]), "multilabel-indicator"
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.random((30, 2)), columns=["p0", "p1"])
    y = (rng.random((30, 2)) < X.to_numpy()).astype(int)
    text = model_card(model, X, y, tmp_path / "card.md").read_text()
    assert "Not available for multilabel models." in text
    assert row(text, "AUROC (macro)")[0] == (
        f"{np.mean([roc_auc_score(y[:, k], X[f'p{k}']) for k in range(2)]):.3f}"
    )


def binary_fake():
    model = FakeClassifier()
    model.classes_ = np.array([0, 1])
    X = pd.DataFrame({"p0": [0.8, 0.3, 0.6, 0.1], "p1": [0.2, 0.7, 0.4, 0.9]})
    return model, X, np.array([0, 1, 1, 1])


def test_without_matplotlib_nothing_is_written(monkeypatch, tmp_path):
    model, X, y = binary_fake()
    for module in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, module)
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=re.escape('pip install "keras-domains[plots]"')):
        model_card(model, X, y, tmp_path / "card.md")
    assert os.listdir(tmp_path) == []


def test_a_failure_while_writing_leaves_no_file(monkeypatch, tmp_path):
    module = importlib.import_module("core.reports.model_card")
    model, X, y = binary_fake()
    (tmp_path / "card.md").write_text("old card")
    real_save = module.save_figure
    calls = []

    def fail_second(figure, path):
        calls.append(path)
        if len(calls) == 2:
            module.require_matplotlib().close(figure)
            raise OSError("disk full")
        return real_save(figure, path)

    monkeypatch.setattr(module, "save_figure", fail_second)
    with pytest.raises(OSError, match="disk full"):
        model_card(model, X, y, tmp_path / "card.md")
    assert os.listdir(tmp_path) == ["card.md"]
    assert (tmp_path / "card.md").read_text() == "old card"


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"threshold": -0.1}, ValueError, r"`threshold` must be in \[0, 1\]"),
        ({"positive_class": 7}, ValueError, r"must be one of classes_ \[0, 1\]"),
        ({"y_test": np.array([0, 1, 2, 1])}, ValueError, r"labels \['2'\] that are not in"),
        ({"y_test": np.array([0, 1])}, ValueError, "`y_test` must have one entry per row"),
        ({"groups": ["a", "b"]}, ValueError, "`groups` must have one entry per row"),
        ({"path": "no/such/folder/card.md"}, FileNotFoundError, "does not exist"),
        ({"intended_use": 3}, ValueError, "`intended_use` must be a string"),
    ],
)
def test_errors_write_nothing(change, error, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, X, y = binary_fake()
    arguments = {"y_test": y, "path": "card.md", **change}
    with pytest.raises(error, match=message):
        model_card(model, X, **arguments)
    assert os.listdir(tmp_path) == []
