"""The keras-domains command line, run in-process and once as a real subprocess."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main

PATIENTS = Path(__file__).resolve().parents[2] / "sample_data" / "medical" / "patients.csv"
TINY = ["--set", "max_epochs=3", "--set", "hidden_units=[8]", "--set", "n_members=1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "train.csv"
    pd.read_csv(PATIENTS).drop(columns=["note", "xray"]).head(200).to_csv(data, index=False)
    model = folder / "model.kdm"
    code = main(
        ["train", "medical.diagnosis", "--data", str(data), "--target", "diagnosis",
         "--drop", "patient_id", "--out", str(model), *TINY, "--set", "random_state=0"]
    )  # fmt: skip
    assert code == 0
    return folder, data, model


def test_tasks_lists_the_registered_tasks(capsys):
    assert main(["tasks"]) == 0
    assert "medical.diagnosis" in capsys.readouterr().out


def test_train_applies_settings(trained):
    from domains.medical import DiagnosisPredictor

    _, _, model = trained
    loaded = DiagnosisPredictor.load(model)
    assert loaded.max_epochs == 3 and loaded.hidden_units == (8,) and loaded.random_state == 0
    assert "patient_id" not in loaded.feature_names_in_


def test_predict_writes_labels_and_probabilities(trained, tmp_path):
    _, data, model = trained
    out = tmp_path / "preds.csv"
    assert main(["predict", str(model), "--data", str(data), "--out", str(out)]) == 0
    preds = pd.read_csv(out)
    assert list(preds.columns) == ["prediction", "proba_0", "proba_1"]
    assert len(preds) == 200
    assert ((preds["proba_1"] >= 0.5).astype(int) == preds["prediction"]).all()


def test_evaluate_prints_the_report(trained, capsys):
    _, data, model = trained
    capsys.readouterr()
    assert main(["evaluate", str(model), "--data", str(data), "--target", "diagnosis"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"auroc", "auprc", "brier", "ece", "sensitivity", "specificity", "ppv", "npv"} <= set(
        report
    )
    assert report["n"] == 200


def test_explain_writes_one_row_per_patient(trained, tmp_path):
    _, data, model = trained
    out = tmp_path / "attributions.csv"
    assert main(["explain", str(model), "--data", str(data), "--out", str(out)]) == 0
    attributions = pd.read_csv(out)
    assert len(attributions) == 200 and "age" in attributions.columns


def test_train_predict_and_evaluate_read_parquet(trained, tmp_path, capsys):
    folder, data, model = trained
    parquet = folder / "train.parquet"
    pd.read_csv(data).to_parquet(parquet, index=False)
    from_parquet = tmp_path / "from_parquet.kdm"
    assert main(
        ["train", "medical.diagnosis", "--data", str(parquet), "--target", "diagnosis",
         "--drop", "patient_id", "--out", str(from_parquet), *TINY, "--set", "random_state=0"]
    ) == 0  # fmt: skip
    assert "trained medical.diagnosis on 200 rows" in capsys.readouterr().out
    from domains.medical import DiagnosisPredictor

    loaded = DiagnosisPredictor.load(from_parquet)
    trained_on_csv = DiagnosisPredictor.load(model)
    assert list(loaded.feature_names_in_) == list(trained_on_csv.feature_names_in_)

    # The CSV-trained model gives the same predictions and report from either file.
    answers = {}
    for path in (data, parquet):
        out = tmp_path / f"preds_{path.suffix[1:]}.csv"
        assert main(["predict", str(model), "--data", str(path), "--out", str(out)]) == 0
        capsys.readouterr()
        assert main(["evaluate", str(model), "--data", str(path), "--target", "diagnosis"]) == 0
        answers[path.suffix] = (pd.read_csv(out), json.loads(capsys.readouterr().out))
    pd.testing.assert_frame_equal(answers[".csv"][0], answers[".parquet"][0])
    assert answers[".csv"][1] == answers[".parquet"][1] and answers[".parquet"][1]["n"] == 200


def test_parquet_without_pyarrow_names_the_extra(trained, tmp_path, monkeypatch, capsys):
    folder, data, model = trained
    parquet = folder / "test.parquet"
    pd.read_csv(data).to_parquet(parquet, index=False)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` raises ImportError.
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    argv = ["predict", str(model), "--data", str(parquet), "--out", str(tmp_path / "p.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-domains: error:") and len(err.strip().splitlines()) == 1
    assert 'pip install "keras-domains[parquet]"' in err


def test_a_file_that_is_not_parquet_is_one_error_line(trained, tmp_path, capsys):
    _, data, model = trained
    fake = tmp_path / "not_really.parquet"
    fake.write_bytes(data.read_bytes())  # CSV text under a Parquet name.
    assert main(["evaluate", str(model), "--data", str(fake), "--target", "diagnosis"]) == 2
    err = capsys.readouterr().err
    assert "is not a readable Parquet file" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "medical.nope", "--data", "x.csv", "--target", "y", "--out", "m"],
            "Valid tasks",
        ),
        (["predict", "missing.kdm", "--data", "x.csv", "--out", "p.csv"], "does not exist"),
    ],
)
def test_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-domains: error:") and message in err
    assert len(err.strip().splitlines()) == 1


def test_bad_target_column_and_setting(trained, capsys):
    _, data, _ = trained
    base = ["train", "medical.diagnosis", "--data", str(data), "--out", "unused.kdm"]
    assert main([*base, "--target", "outcome"]) == 2
    assert "no column(s) ['outcome']" in capsys.readouterr().err
    assert main([*base, "--target", "diagnosis", "--set", "epochs=3"]) == 2
    assert "unknown parameter 'epochs'" in capsys.readouterr().err
    assert not Path("unused.kdm").exists()


def test_console_script_runs_as_a_real_process(trained):
    _, data, model = trained
    executable = shutil.which("keras-domains") or str(Path(sys.executable).parent / "keras-domains")
    result = subprocess.run(
        [executable, "evaluate", str(model), "--data", str(data), "--target", "no_such_column"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "keras-domains: error:" in result.stderr and "Traceback" not in result.stderr


TINY_TEXT = [
    "--set", "vocabulary_size=80", "--set", "embedding_dim=8", "--set", "num_layers=1",
    "--set", "num_heads=2", "--set", "intermediate_dim=16", "--set", "max_epochs=1",
    "--set", "ngram_buckets=64", "--set", "random_state=0",
]  # fmt: skip


def test_text_classifier_trains_predicts_and_explains_from_a_text_column(tmp_path, capsys):
    words = ["good", "bad"]
    frame = pd.DataFrame(
        {
            "id": range(60),
            "review": [f"the film was {words[i % 2]} indeed" for i in range(60)],
            "label": ["pos" if i % 2 == 0 else "neg" for i in range(60)],
        }
    )
    data, model = tmp_path / "reviews.csv", tmp_path / "text.kdm"
    frame.to_csv(data, index=False)
    argv = ["train", "nlp.text", "--data", str(data), "--text-column", "review"]
    assert main([*argv, "--target", "label", "--out", str(model), *TINY_TEXT]) == 0
    assert main(["predict", str(model), "--data", str(data), "--out", str(tmp_path / "p.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert (predictions["prediction"] == frame["label"]).mean() > 0.9
    out = tmp_path / "attributions.csv"
    assert main(["explain", str(model), "--data", str(data), "--out", str(out)]) == 0
    attributions = pd.read_csv(out)
    assert list(attributions.columns) == ["row", "position", "token", "attribution"]
    assert attributions[attributions["row"] == 0]["token"].tolist() == [
        "the", "film", "was", "good", "indeed",
    ]  # fmt: skip
    capsys.readouterr()
    assert main([*argv, "--out", str(model), *TINY_TEXT]) == 2
    assert "--target is required" in capsys.readouterr().err


def test_generator_trains_on_a_text_file_and_generates(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat.\n" * 50, encoding="utf-8")
    model = tmp_path / "generator.kdm"
    settings = [
        "--set", "vocabulary_size=40", "--set", "embedding_dim=8", "--set", "num_layers=1",
        "--set", "num_heads=2", "--set", "intermediate_dim=16", "--set", "max_length=16",
        "--set", "max_epochs=1", "--set", "random_state=0",
    ]  # fmt: skip
    assert (
        main(["train", "nlp.generation", "--data", str(corpus), "--out", str(model), *settings])
        == 0
    )
    capsys.readouterr()
    argv = ["generate", str(model), "--prompt", "the cat", "--max-new-tokens", "5", "--seed", "0"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("the cat")
    assert main([*argv, "--top-p", "0"]) == 2
    assert "`top_p` must be in (0, 1]" in capsys.readouterr().err


def test_train_picks_up_a_note_and_images_next_to_the_csv(tmp_path):
    """The sample table's note is text and its x-ray paths, relative to the CSV, are images."""
    from domains.medical import DiagnosisPredictor

    rows = pd.read_csv(PATIENTS).head(80)
    (tmp_path / "xrays").mkdir()
    for relative in rows["xray"].dropna():
        shutil.copy(PATIENTS.parent / relative, tmp_path / relative)
    data = tmp_path / "visits.csv"
    rows.to_csv(data, index=False)
    model = tmp_path / "model.kdm"
    code = main(
        ["train", "medical.diagnosis", "--data", str(data), "--target", "diagnosis",
         "--drop", "patient_id", "--out", str(model), *TINY, "--set", "random_state=0"]
    )  # fmt: skip
    assert code == 0
    loaded = DiagnosisPredictor.load(model)
    assert loaded.preprocessor_.column_kinds_["note"] == "text"
    assert loaded.preprocessor_.column_kinds_["xray"] == "image"
    out = tmp_path / "preds.csv"
    assert main(["predict", str(model), "--data", str(data), "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 80
