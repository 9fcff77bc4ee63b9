"""`keras-domains card`: a model card of a saved model, from the shell."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main

PATIENTS = Path(__file__).resolve().parents[2] / "sample_data" / "medical" / "patients.csv"
TINY = ["--set", "max_epochs=3", "--set", "hidden_units=[8]", "--set", "n_members=1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("card")
    frame = pd.read_csv(PATIENTS).drop(columns=["note", "xray"])
    train, test = folder / "train.csv", folder / "test.csv"
    frame.head(200).to_csv(train, index=False)
    test_rows = frame.iloc[200:320].assign(ward=np.array(["A", "B", "C"] * 40))
    test_rows.to_csv(test, index=False)
    model = folder / "model.kdm"
    code = main(
        ["train", "medical.diagnosis", "--data", str(train), "--target", "diagnosis",
         "--drop", "patient_id", "--out", str(model), *TINY, "--set", "random_state=0"]
    )  # fmt: skip
    assert code == 0
    return model, test


def test_card_writes_the_markdown_and_figures(trained, tmp_path, capsys):
    model, test = trained
    out = tmp_path / "card.md"
    capsys.readouterr()
    argv = ["card", str(model), "--data", str(test), "--target", "diagnosis", "--out", str(out),
            "--groups", "sex", "--intended-use", "Teaching only.", "--threshold", "0.3",
            "--positive-class", "1"]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "card.md", "card_calibration.png", "card_roc.png",
    ]  # fmt: skip
    text = out.read_text(encoding="utf-8")
    assert "# Model card: DiagnosisPredictor (medical.diagnosis)" in text
    assert "Teaching only." in text and "Recorded when the model was saved." in text
    assert "| Test rows | 120 |" in text and "Sensitivity at threshold 0.300" in text
    subgroups = text[text.index("## Subgroups") :]
    assert "| `F` |" in subgroups and "| `M` |" in subgroups
    assert "| **sex** | `categorical` |" in text  # A trained column stays a feature.
    from tests.core.reports.test_model_card import split_front_matter

    header, _ = split_front_matter(text)
    assert header["datasets"] == [test.name] and header["intended_use"] == "Teaching only."


def test_card_groups_by_a_column_the_model_did_not_see(trained, tmp_path):
    model, test = trained
    out = tmp_path / "ward.md"
    argv = ["card", str(model), "--data", str(test), "--target", "diagnosis", "--out", str(out),
            "--groups", "ward"]  # fmt: skip
    assert main(argv) == 0
    subgroups = out.read_text(encoding="utf-8").split("## Subgroups")[1]
    assert all(f"| `{ward}` | 40 |" in subgroups for ward in "ABC")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--groups", "hospital"], "no column(s) ['hospital']"),
        (["--positive-class", "7"], "--positive-class '7' is not a class of the model"),
        (["--threshold", "2"], "`threshold` must be in [0, 1]"),
    ],
)
def test_card_errors_are_one_line_and_write_nothing(trained, tmp_path, capsys, extra, message):
    model, test = trained
    out = tmp_path / "card.md"
    capsys.readouterr()
    argv = ["card", str(model), "--data", str(test), "--target", "diagnosis", "--out", str(out)]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-domains: error:") and message in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
