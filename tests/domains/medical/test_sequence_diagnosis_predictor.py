import pickle

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from core.backbones.visit_sequence_model import visit_sequence_model_parts
from core.cli import main
from core.registry import get_task
from domains.medical import SequenceDiagnosisPredictor
from tests.domains.medical.sequence_events import CUTOFF, make_events


def tiny(**params):
    defaults = dict(
        value_column="value",
        embedding_dim=8,
        num_layers=1,
        num_heads=2,
        intermediate_dim=16,
        lstm_units=4,
        max_visits=8,
        max_codes_per_visit=4,
        min_frequency=2,
        max_epochs=2,
        validation_fraction=0.2,
        random_state=0,
    )
    return SequenceDiagnosisPredictor(**{**defaults, **params})


@pytest.fixture(scope="module")
def data():
    return make_events()


@pytest.fixture(scope="module")
def fitted(data):
    events, y = data
    return tiny().fit(events, y, prediction_time=CUTOFF)


def _logit(p):
    return np.log(p / (1.0 - p))


# ------------------------------------------------------------------- rows
def test_rows_are_patients_in_ascending_id_order_and_y_is_matched_by_id(fitted, data):
    events, y = data
    assert get_task("medical.sequence") is SequenceDiagnosisPredictor
    patients = fitted.patient_index(events)
    assert patients.tolist() == sorted(y.index) and patients.name == "patient_id"
    proba = fitted.predict_proba(events, prediction_time=CUTOFF)
    assert proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert fitted.classes_.tolist() == [0, 1]
    # y is matched by patient id, whatever its order.
    shuffled = fitted.score(events, y, prediction_time=CUTOFF)
    assert shuffled == fitted.score(events, y.sort_index(), prediction_time=CUTOFF)
    # The counts path alone separates these patients ("R" in the history).
    assert shuffled > 0.8
    # Rows of one patient are scored the same alone or among others.
    one = events[events["patient_id"] == patients[3]]
    np.testing.assert_allclose(
        fitted.predict_proba(one, prediction_time=CUTOFF), proba[3:4], rtol=1e-5, atol=1e-6
    )


def test_events_after_the_prediction_time_never_change_predictions(fitted, data):
    events, _ = data
    expected = fitted.predict_proba(events, prediction_time=CUTOFF)
    later = events["date"] > CUTOFF
    assert later.any()
    # Change every later event, and add more (the risk code included) for every patient.
    changed = events.copy()
    changed.loc[later, "code"] = "R"
    changed.loc[later, "value"] = 99.0
    extra = pd.DataFrame(
        {
            "patient_id": fitted.patient_index(events),
            "date": "2021-01-02",
            "code": "R",
            "value": 50.0,
        }
    )
    leaky = pd.concat([changed, extra], ignore_index=True)
    np.testing.assert_array_equal(fitted.predict_proba(leaky, prediction_time=CUTOFF), expected)
    np.testing.assert_array_equal(
        fitted.predict_proba(events[~later], prediction_time=CUTOFF), expected
    )
    explained = fitted.explain(leaky.head(60), prediction_time=CUTOFF, steps=4)
    assert (explained["date"] <= pd.Timestamp(CUTOFF)).all()


def test_prediction_time_per_patient(fitted, data):
    events, _ = data
    patients = fitted.patient_index(events)
    same = pd.Series(pd.Timestamp(CUTOFF), index=patients[::-1])
    expected = fitted.predict_proba(events, prediction_time=CUTOFF)
    np.testing.assert_allclose(fitted.predict_proba(events, prediction_time=same), expected)
    earlier = same.copy()
    earlier[patients[0]] = pd.Timestamp("2019-06-01")
    moved = fitted.predict_proba(events, prediction_time=earlier)
    assert not np.allclose(moved[0], expected[0])
    np.testing.assert_allclose(moved[1:], expected[1:], rtol=1e-5, atol=1e-6)
    # Without a prediction time every event counts, the last one as "now".
    assert not np.allclose(fitted.predict_proba(events), expected)


# ---------------------------------------------------------------- explain
def test_explain_rows_per_visit_code_and_attributions_add_up(fitted, data):
    events, _ = data
    some = events[events["patient_id"].isin(fitted.patient_index(events)[:4])]
    frame = fitted.explain(some, prediction_time=CUTOFF, steps=64)
    assert list(frame.columns) == ["patient_id", "date", "days_before", "code", "attribution"]
    history = some[some["date"] <= CUTOFF]
    assert len(frame) == len(history.drop_duplicates(["patient_id", "date", "code"]))
    assert frame["patient_id"].is_monotonic_increasing
    # Completeness: per patient, attributions add up to the logit minus the baseline's.
    totals = frame.groupby("patient_id")["attribution"].sum()
    logits = np.asarray(frame.attrs["logit"])
    gaps = logits - np.asarray(frame.attrs["baseline"])
    np.testing.assert_allclose(totals.to_numpy(), gaps, atol=2e-3)
    proba = fitted.predict_proba(some, prediction_time=CUTOFF)[:, 1]
    np.testing.assert_allclose(logits, _logit(proba), rtol=1e-4, atol=1e-4)
    assert frame.attrs["patients"] == totals.index.tolist() and frame.attrs["target"][0] == 1
    # Visit totals are the sums of their codes.
    visits = fitted.explain(some, prediction_time=CUTOFF, level="visit", steps=64)
    assert "code" not in visits.columns
    by_visit = frame.groupby(["patient_id", "date"])["attribution"].sum().to_numpy()
    np.testing.assert_allclose(visits["attribution"].to_numpy(), by_visit, atol=1e-5)
    # The risk code is what raises a positive patient's score.
    positive = frame[frame["patient_id"] == totals.idxmax()]
    if "R" in set(positive["code"]):
        top = positive.groupby("code")["attribution"].sum().idxmax()
        assert top == "R"
    negated = fitted.explain(some, prediction_time=CUTOFF, target=0, steps=8)
    np.testing.assert_allclose(
        negated["attribution"],
        -fitted.explain(some, prediction_time=CUTOFF, steps=8)["attribution"],
        atol=1e-6,
    )


# ------------------------------------------------------------ persistence
def test_a_file_saved_before_the_events_adapter_loads(fitted, data, tmp_path):
    from core.persistence.model_archive import read_archive, write_archive

    model_bytes, state, metadata = read_archive(fitted.save(tmp_path / "new.kdm"))
    adapter = state["fitted"].pop("preprocessor")
    state["fitted"]["sequence_encoder"] = adapter["sequence_encoder"]
    write_archive(tmp_path / "old.kdm", model_bytes, state, metadata)
    loaded = SequenceDiagnosisPredictor.load(tmp_path / "old.kdm")
    events, _ = data
    np.testing.assert_allclose(
        loaded.predict_proba(events, prediction_time=CUTOFF),
        fitted.predict_proba(events, prediction_time=CUTOFF),
        rtol=1e-5,
        atol=1e-6,
    )
    assert loaded.input_schema() == fitted.input_schema()


def test_save_load_pickle_and_clone(fitted, data, tmp_path):
    events, _ = data
    expected = fitted.predict_proba(events, prediction_time=CUTOFF)
    loaded = SequenceDiagnosisPredictor.load(fitted.save(tmp_path / "sequence.kdm"))
    np.testing.assert_allclose(
        loaded.predict_proba(events, prediction_time=CUTOFF), expected, rtol=1e-5, atol=1e-6
    )
    assert loaded.metadata_["task"] == "medical.sequence"
    assert loaded.sequence_encoder_.vocabulary_ == fitted.sequence_encoder_.vocabulary_
    unpickled = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(
        unpickled.predict_proba(events, prediction_time=CUTOFF), expected, rtol=1e-5, atol=1e-6
    )
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    with pytest.raises(NotFittedError):
        copy.predict(events)


def test_command_line_predict_writes_one_row_per_patient(fitted, data, tmp_path):
    events, _ = data
    history = events[events["date"] <= CUTOFF]
    history.to_csv(tmp_path / "history.csv", index=False)
    model_path = fitted.save(tmp_path / "sequence.kdm")
    out = tmp_path / "predictions.csv"
    argv = ["predict", str(model_path), "--data", str(tmp_path / "history.csv"), "--out", str(out)]
    assert main(argv) == 0
    written = pd.read_csv(out)
    patients = fitted.patient_index(history)
    assert written["patient_id"].tolist() == patients.tolist()
    np.testing.assert_allclose(
        written["proba_1"], fitted.predict_proba(history)[:, 1], rtol=1e-5, atol=1e-6
    )


def test_report_predict_set_and_fitted_attributes(fitted, data):
    events, y = data
    report = fitted.report(events, y, prediction_time=CUTOFF)
    assert report["n"] == len(y) and report["auroc"] > 0.8
    assert {"auprc", "brier", "ece", "sensitivity", "specificity"} <= set(report)
    sets = fitted.predict_set(events, alpha=0.2, prediction_time=CUTOFF)
    assert sets.shape == (len(y), 2) and sets.any(axis=1).all()
    assert fitted.linear_C_ in (0.03, 0.1, 0.3, 1.0, 3.0)
    assert isinstance(fitted.deep_path_kept_, bool)
    assert fitted.sequence_encoder_.use_values_


def test_the_linear_path_weighs_codes_and_values_but_not_the_patient_summaries(fitted):
    encoder = fitted.sequence_encoder_
    kernel = keras.ops.convert_to_numpy(
        visit_sequence_model_parts(fitted.model_).linear_path.kernel
    )
    names = encoder.wide_feature_names()
    assert kernel.shape[0] == len(names)
    summaries = [i for i, name in enumerate(names) if name.startswith("log1p_")]
    assert len(summaries) == 4
    assert np.all(kernel[summaries] == 0)
    counts = [i for i, name in enumerate(names) if name.startswith("count:")]
    assert np.abs(kernel[counts]).max() > 0


# ------------------------------------------------- pretraining and targets
def test_pretrain_lowers_masked_code_loss_and_fit_starts_from_it(data, tmp_path):
    events, y = data
    model = tiny(backbone="lstm", counts=False, learning_rate=1e-2)
    path = tmp_path / "visit_encoder.kdm"
    model.pretrain(events, path, prediction_time=CUTOFF, epochs=6, batch_size=16)
    losses = model.pretrain_history_["loss"]
    assert len(losses) == 6 and losses[-1] < losses[0]
    # The file is a constructor parameter, so clone() keeps where training starts.
    assert clone(model).get_params()["start_from"] == str(path)
    sequence_encoder, _, embedding, encoder = model._start_source()
    pretrained = [w.copy() for w in embedding.get_weights() + encoder.get_weights()]
    # Several labels at once; with a learning rate of 0, fine-tuning leaves the
    # embeddings and encoder as pretraining left them.
    labels = pd.DataFrame({"outcome": y, "even": (y.index % 2 == 0).astype(int)}, index=y.index)
    model.set_params(learning_rate=0.0).fit(events, labels, prediction_time=CUTOFF)
    assert model.target_type_ == "multilabel-indicator" and model.label_names_ == [
        "outcome",
        "even",
    ]
    assert model.sequence_encoder_.get_state() == sequence_encoder.get_state()
    parts = visit_sequence_model_parts(model.model_)
    fitted_layers = parts.embedding.get_weights() + parts.encoder.get_weights()
    for got, expected in zip(fitted_layers, pretrained, strict=True):
        np.testing.assert_array_equal(got, expected)
    predicted = model.predict(events, prediction_time=CUTOFF)
    assert predicted.shape == (len(y), 2)
    explained = model.explain(events.head(30), prediction_time=CUTOFF, target="even", steps=4)
    assert set(explained.attrs["target"]) == {"even"}


def test_multiclass_target_sample_weights_and_calibration(data):
    events, y = data
    classes = pd.Series(np.where(y == 1, "high", np.where(y.index % 2, "low", "mid")), y.index)
    weights = pd.Series(1.0, index=y.index)
    model = tiny(max_epochs=1, calibration="temperature")
    model.fit(events, classes, prediction_time=CUTOFF, sample_weight=weights)
    assert model.calibrator_ is not None
    assert model.classes_.tolist() == ["high", "low", "mid"]
    proba = model.predict_proba(events, prediction_time=CUTOFF)
    assert proba.shape == (len(y), 3)
    assert set(model.predict(events, prediction_time=CUTOFF)) <= {"high", "low", "mid"}
    report = model.report(events, classes, prediction_time=CUTOFF)
    assert len(report["per_class"]) == 3
    assert report["calibration"]["method"] == "temperature"
    explained = model.explain(events.head(20), prediction_time=CUTOFF, steps=4)
    assert set(explained.attrs["target"]) <= {"high", "low", "mid"}


# -------------------------------------------------------------- bad input
def test_bad_inputs_name_the_problem(data):
    events, y = data
    model = tiny()
    with pytest.raises(ValueError, match=r"no column 'date' \(`time_column`\)"):
        model.fit(events.drop(columns="date"), y)
    with pytest.raises(ValueError, match=r"'patient_id' \(`patient_column`\), 'code'"):
        model.fit(events.drop(columns=["patient_id", "code"]), y)
    bad_dates = events.assign(date=events["date"].where(events.index != 5, "last tuesday"))
    with pytest.raises(
        ValueError, match=r"Column 'date' of `X` has 1 values that could not be parsed as dates: "
    ):
        model.fit(bad_dates, y)
    with pytest.raises(ValueError, match="'last tuesday'"):
        model.fit(bad_dates, y)
    extra = pd.concat([y, pd.Series({1: 0, 2: 1})])
    with pytest.raises(
        ValueError, match=r"labels for 2 patient\(s\) with no events in X: \[1, 2\]"
    ):
        model.fit(events, extra)
    with pytest.raises(ValueError, match=r"no label for 1 patient\(s\) of X: \[100\]"):
        model.fit(events, y.drop(index=100))
    with pytest.raises(ValueError, match="duplicate patient ids in its index: \\[103\\]"):
        model.fit(events, pd.concat([y, y.loc[[103]]]))
    with pytest.raises(TypeError, match="indexed by patient id"):
        model.fit(events, y.to_numpy())
    with pytest.raises(ValueError, match="No id is shared"):
        model.fit(events, y.set_axis(y.index.astype(str)))
    with pytest.raises(ValueError, match=r"`X` is empty \(0 events\)"):
        model.fit(events.iloc[:0], y.iloc[:0])
    with pytest.raises(ValueError, match="`backbone` must be one of"):
        tiny(backbone="gru").fit(events, y)
    with pytest.raises(TypeError, match="is a number, but the time column 'date' holds dates"):
        model.fit(events, y, prediction_time=365)
    with pytest.raises(ValueError, match=r"`prediction_time` has no time for 1 patient"):
        model.fit(events, y, prediction_time=pd.Series(pd.Timestamp(CUTOFF), index=y.index[1:]))
    with pytest.raises(ValueError, match="`sample_weight` must be a Series indexed by patient id"):
        model.fit(events, y, sample_weight=np.ones(3))
    missing_code = events.assign(code=events["code"].where(events.index != 2))
    with pytest.raises(ValueError, match="Column 'code' of `X` has 1 missing codes"):
        model.fit(missing_code, y)
    with pytest.raises(
        ValueError, match="`value_column`\\) of `X` has values that are not numbers"
    ):
        model.fit(events.assign(value="high"), y)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda e: e.assign(date="3000-01-01"), ValueError, r"'date' of `X` has dates \['3000"),
        (
            lambda e: e.assign(date=np.array([5, "2020-01-01"] * len(e), dtype=object)[: len(e)]),
            ValueError,
            r"'date' of `X` mixes numbers \['5'\] with dates",
        ),
        (lambda e: e.assign(date=1e300), ValueError, r"'date' of `X` has numeric times \[1e\+300"),
        (lambda e: e.assign(value=1j), ValueError, r"'value' \(`value_column`\).*not real"),
        (lambda e: e.assign(value=pd.Timestamp(0)), ValueError, r"'value' \(`value_column`\)"),
        (lambda e: e.assign(code=b"\x80"), ValueError, r"'code' \(`code_column`\).*UTF-8"),
        (lambda e: e.assign(patient_id=[[1]] * len(e)), TypeError, r"'patient_id' must be"),
        (
            lambda e: pd.concat([e, e[["code"]]], axis=1),
            ValueError,
            r"`X` has duplicate columns \['code'\]",
        ),
    ],
)
def test_malformed_event_tables_name_the_column(data, change, error, match):
    events, y = data
    with pytest.raises(error, match=match):
        tiny().fit(change(events), y)


def test_odd_prediction_times_are_refused(data):
    events, y = data
    numeric_days = events.assign(date=(pd.to_datetime(events["date"]) - pd.Timestamp(0)).dt.days)
    for when in (np.nan, np.inf, 1e300):
        with pytest.raises(ValueError, match=r"`prediction_time` has (1 missing|numeric) times"):
            tiny().fit(numeric_days, y, prediction_time=when)
    with pytest.raises(ValueError, match=r"`prediction_time` has 1 missing times; every row"):
        tiny().fit(events, y, prediction_time=pd.NaT)
    with pytest.raises(ValueError, match=r"`prediction_time` has dates \['3000-01-01'\]"):
        tiny().fit(events, y, prediction_time="3000-01-01")


def test_values_too_large_to_standardize_are_refused(data):
    events, y = data
    huge = events.assign(value=np.where(events.index % 2, 1e308, -1e308))
    with pytest.raises(ValueError, match=r"values of code 'LAB' \(the value column\) are too"):
        tiny().fit(huge.assign(value=huge["value"].where(events["code"] == "LAB")), y)


def test_bad_inputs_after_fit(fitted, data, tmp_path):
    events, _ = data
    with pytest.raises(ValueError, match="`level` must be one of"):
        fitted.explain(events, prediction_time=CUTOFF, level="patient")
    with pytest.raises(ValueError, match="`target` must be one of"):
        fitted.explain(events, prediction_time=CUTOFF, target="maybe")
    with pytest.raises(TypeError, match="must be a pandas DataFrame of events"):
        fitted.predict(["A", "B"])
    with pytest.raises(ValueError, match="`epochs` must be a positive integer"):
        tiny().pretrain(events, tmp_path / "unused.kdm", epochs=0)
