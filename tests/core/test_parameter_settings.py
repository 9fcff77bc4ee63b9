"""`--set param=value` parsing, shared by the CLI and the benchmark scripts."""

import pytest

from benchmarks import settings as benchmark_settings
from core.parameter_settings import parse_settings, parse_value
from domains.finance import FraudDetector
from domains.medical import DiagnosisPredictor


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0.1", 0.1),
        ("3", 3),
        ("-2e-3", -2e-3),
        ("True", True),
        ("true", True),
        ("false", False),
        ("None", None),
        ("null", None),
        ("transformer", "transformer"),
        ("'quoted'", "quoted"),
        ("a phrase, with a comma", "a phrase, with a comma"),
        ("[1, 2]", (1, 2)),
        ("{0: 1, 1: 5}", {0: 1, 1: 5}),
        ('{"age": -1}', {"age": -1}),
    ],
)
def test_parse_value_reads_literals_json_and_words(raw, expected):
    value = parse_value(raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("raw", ["64,32", "64, 32", "(64, 32)", "[64, 32]", "[64,32]"])
def test_tuple_parameters_take_every_spelling(raw):
    assert parse_value(raw, default=(128, 64)) == (64, 32)
    assert parse_settings([f"hidden_units={raw}"], DiagnosisPredictor) == {"hidden_units": (64, 32)}


def test_one_number_for_a_tuple_parameter_is_a_one_element_tuple():
    assert parse_value("64", default=(64, 32)) == (64,)
    assert parse_value("64,", default=(64, 32)) == (64,)
    assert parse_value("64") == 64  # Not for a parameter whose default is not a tuple.
    assert parse_value("True", default=(1,)) is True  # Booleans are not widths.


def test_parse_settings_starts_from_defaults_and_checks_names():
    params = parse_settings(
        ["dropout=0.2", "calibration=null", "class_weight={0: 1, 1: 5}", "backbone=transformer"],
        DiagnosisPredictor,
        defaults={"max_epochs": 3, "dropout": 0.5},
    )
    assert params == {
        "max_epochs": 3,
        "dropout": 0.2,
        "calibration": None,
        "class_weight": {0: 1, 1: 5},
        "backbone": "transformer",
    }
    assert DiagnosisPredictor(**params).get_params()["class_weight"] == {0: 1, 1: 5}
    with pytest.raises(ValueError, match="PARAM=VALUE"):
        parse_settings(["dropout"], DiagnosisPredictor)
    with pytest.raises(ValueError, match=r"unknown parameter 'epochs'.*max_epochs"):
        parse_settings(["epochs=3"], DiagnosisPredictor)
    with pytest.raises(ValueError, match="use --seed instead"):
        parse_settings(["random_state=1"], DiagnosisPredictor, reserved={"random_state": "--seed"})


def test_the_benchmarks_parse_as_the_cli_does():
    settings = ["hidden_units=[8, 4]", "dropout=0.1", "backbone=lstm"]
    expected = {"hidden_units": (8, 4), "dropout": 0.1, "backbone": "lstm"}
    assert parse_settings(settings, FraudDetector) == expected
    assert benchmark_settings.parse_settings(settings, FraudDetector) == expected
    # The benchmarks reserve random_state (each script seeds its own runs) and exit on errors.
    with pytest.raises(SystemExit, match="random_state: use the script's seed options"):
        benchmark_settings.parse_settings(["random_state=0"], FraudDetector)
    with pytest.raises(SystemExit, match="unknown parameter"):
        benchmark_settings.parse_settings(["units_=3"], FraudDetector)
