"""`python -m benchmarks` plumbing: table, JSON, PNG and exit status, with a stand-in model.

The real sections fit real models for minutes; here the scaling section fits
a stand-in estimator whose fit time grows with the rows, so the test checks
what the command does with the figures, not the figures themselves.
"""

import json
import time

import pytest

from benchmarks.side_by_side import cli, scaling
from benchmarks.side_by_side.figures import Figure, format_table, missed


class InstantEstimator:
    """Fits in about 1 ms per 1,000 rows; has what the scaling section reads."""

    def __init__(self, epochs):
        self.max_epochs = epochs

    def fit(self, X, y):
        time.sleep(len(X) * 1e-6 * self.max_epochs)
        self.n_epochs_ = self.max_epochs
        self.training_seconds_ = 0.0
        return self

    def _batch_size(self, n_rows):
        return 512

    def _members(self):
        return 4


@pytest.fixture
def instant_scaling(monkeypatch):
    monkeypatch.setattr(scaling, "new_estimator", lambda epochs, seed: InstantEstimator(epochs))


def test_scaling_section_writes_json_and_plot(instant_scaling, tmp_path, capsys):
    argv = ["--sections", "scaling", "--sizes", "1000,2000,4000", "--epochs", "1"]
    status = cli.main([*argv, "--out-dir", str(tmp_path), "--scaling-target", "10"])

    assert status == 0
    payload = json.loads((tmp_path / "side_by_side.json").read_text())
    assert list(payload["sections"]) == ["scaling"]
    assert [run["rows"] for run in payload["sections"]["scaling"]["runs"]] == [1000, 2000, 4000]
    assert payload["passed"] is True
    assert payload["figures"][0]["target"] == ["<=", 10.0]
    assert (tmp_path / "side_by_side_scaling.png").stat().st_size > 0
    assert "fit ms per 1k rows per epoch: 4k / 2k rows" in capsys.readouterr().out


def test_missed_target_exits_with_status_1(instant_scaling, tmp_path, capsys):
    json_path = tmp_path / "out" / "run.json"
    argv = ["--sections", "scaling", "--sizes", "1000,2000", "--epochs", "1"]
    status = cli.main([*argv, "--json", str(json_path), "--scaling-target", "0.001"])

    assert status == 1
    assert json.loads(json_path.read_text())["passed"] is False
    assert (tmp_path / "out" / "run_scaling.png").exists()
    assert "Targets met: 0 of 1; missed:" in capsys.readouterr().out


def test_table_marks_each_figure():
    figures = [
        Figure("quality", "auc", "0.90", "0.91 LR", -0.004, kind="diff", target=(">=", -0.01)),
        Figure("cost", "fit", "12 s", "10 s Keras", 1.2, target=("<=", 1.1)),
        Figure("inference", "onnx", "1 ms", "n/a", None, note="export not available"),
    ]
    table = format_table(figures)

    assert [f.passed for f in figures] == [True, False, None]
    assert missed(figures) == [figures[1]]
    assert "-0.0040" in table and "1.20x" in table and "<= 1.1x" in table
    assert "onnx: export not available" in table


def test_quick_plan_and_bad_options(capsys):
    args = cli.parse_args(["--quick", "--sections", "scaling,quality"])

    assert args.sections == ["quality", "scaling"]
    assert (args.folds, args.splits, args.sizes) == (3, 1, (5_000, 20_000, 80_000))
    with pytest.raises(SystemExit):
        cli.parse_args(["--sections", "speed"])
    with pytest.raises(SystemExit):
        cli.parse_args(["--sizes", "4000,2000"])
    assert "--sizes needs at least two increasing row counts" in capsys.readouterr().err


def test_regression_rows_compare_rmse_with_the_better_reference_and_coverage_with_090():
    from benchmarks.side_by_side.quality import _regression_figures

    def models(rmse, coverage):
        return {
            "TabularRegressor": {"rmse": rmse, "coverage": coverage},
            "Ridge": {"rmse": 10.0, "coverage": 0.9},
            "HistGradientBoosting": {"rmse": 11.0, "coverage": 0.9},
        }

    good = {"task": "regression_diabetes", "protocol": "5-fold CV", "rmse_ratio": 1.01,
            "models": models(10.1, 0.905)}  # fmt: skip
    ratio, coverage = _regression_figures(good)
    assert "10 Ridge" in ratio.reference and ratio.passed and coverage.passed
    bad = {**good, "rmse_ratio": 1.05, "models": models(10.5, 0.85)}
    assert [f.passed for f in _regression_figures(bad)] == [False, False]


def test_survival_brier_row_is_information_against_the_lowest_reference():
    from benchmarks.side_by_side.quality import _brier_figure

    result = {
        "task": "survival_gbsg2",
        "protocol": "5-fold CV",
        "toolkit": "TabularSurvival",
        "integrated_brier": {"TabularSurvival": 0.18, "CoxPH": 0.19, "RSF": 0.17},
    }
    figure = _brier_figure(result)
    assert figure.reference == "0.1700 RSF" and figure.value == pytest.approx(0.01)
    assert figure.passed is None
