"""DiagnosisPredictor: the scikit-learn contract, raw tables, files, explanations, errors."""

import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from core.data import count_rows
from core.persistence import ModelFileError
from domains.medical import DiagnosisPredictor

PATIENTS = Path(__file__).resolve().parents[3] / "sample_data" / "medical" / "patients.csv"
TINY = dict(embedding_dim=4, hidden_units=(16,), n_members=2, max_epochs=30, patience=5)


def tiny(**params):
    return DiagnosisPredictor(**{**TINY, "random_state": 0, **params})


@pytest.fixture(scope="module")
def patients():
    frame = pd.read_csv(PATIENTS).drop(columns=["patient_id", "note", "xray"])
    y = frame.pop("diagnosis")
    return frame, y


@pytest.fixture(scope="module")
def fitted(patients):
    X, y = patients
    return tiny().fit(X.iloc[:400], y.iloc[:400])


# ------------------------------------------------------------------ raw data
def test_raw_patient_table_in_probabilities_out(fitted, patients):
    X, y = patients
    proba = fitted.predict_proba(X.iloc[400:])
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert set(fitted.predict(X.iloc[400:])) <= {0, 1}
    assert list(fitted.classes_) == [0, 1]
    assert fitted.n_features_in_ == X.shape[1]
    assert list(fitted.feature_names_in_) == list(X.columns)
    # The table carries real signal; even the tiny model must find some of it.
    assert roc_auc_score(y.iloc[400:], proba[:, 1]) > 0.7


def test_unseen_categories_and_missing_values_are_handled(fitted, patients):
    X, _ = patients
    odd = X.iloc[400:405].copy()
    odd["region"] = "atlantis"
    odd["smoking_status"] = None
    odd["bmi"] = np.nan
    odd["hba1c"] = np.nan
    proba = fitted.predict_proba(odd)
    assert np.isfinite(proba).all()
    # The unknown and missing slots are real inputs: the prediction changes.
    assert not np.allclose(proba, fitted.predict_proba(X.iloc[400:405]))


def test_columns_are_matched_by_name(fitted, patients):
    X, _ = patients
    rows = X.iloc[400:420]
    shuffled = rows[list(reversed(rows.columns))].assign(extra_column=1.0)
    np.testing.assert_allclose(fitted.predict_proba(shuffled), fitted.predict_proba(rows))


def test_single_row_prediction_matches_batch(fitted, patients):
    X, _ = patients
    batch = fitted.predict_proba(X.iloc[400:410])
    for i in range(3):
        np.testing.assert_allclose(
            fitted.predict_proba(X.iloc[[400 + i]])[0], batch[i], rtol=1e-5, atol=1e-6
        )


# -------------------------------------------------------------- training
def test_same_random_state_gives_same_predictions(patients):
    X, y = patients
    a = (
        tiny(max_epochs=5, n_members=1)
        .fit(X.iloc[:200], y.iloc[:200])
        .predict_proba(X.iloc[200:260])
    )
    b = (
        tiny(max_epochs=5, n_members=1)
        .fit(X.iloc[:200], y.iloc[:200])
        .predict_proba(X.iloc[200:260])
    )
    c = tiny(max_epochs=5, n_members=1, random_state=1).fit(X.iloc[:200], y.iloc[:200])
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert not np.allclose(a, c.predict_proba(X.iloc[200:260]), atol=1e-4)


def test_early_stopping_ends_training_and_keeps_history(patients):
    X, y = patients
    model = tiny(max_epochs=200, patience=2, learning_rate=0.05).fit(X.iloc[:300], y.iloc[:300])
    assert model.n_epochs_ < 200
    assert len(model.history_["val_loss"]) == model.n_epochs_


def test_without_validation_trains_all_epochs(patients):
    X, y = patients
    model = tiny(max_epochs=4, validation_fraction=0.0).fit(X.iloc[:100], y.iloc[:100])
    assert model.n_epochs_ == 4
    assert "val_loss" not in model.history_


# Slow (16 s): balanced class weights are also trained in tests/core/training/test_distribution.py.
@pytest.mark.slow
def test_balanced_class_weight_raises_minority_probability(patients):
    X, y = patients
    plain = tiny(max_epochs=15).fit(X.iloc[:300], y.iloc[:300])
    balanced = tiny(max_epochs=15, class_weight="balanced").fit(X.iloc[:300], y.iloc[:300])
    rows = X.iloc[300:400]
    # Positives are ~25% of patients; balancing must raise their predicted share.
    assert balanced.predict_proba(rows)[:, 1].mean() > plain.predict_proba(rows)[:, 1].mean()


def test_class_weight_dict_and_sample_weight(patients):
    X, y = patients
    tiny(max_epochs=2, class_weight={0: 1.0, 1: 3.0}).fit(X.iloc[:100], y.iloc[:100])
    with pytest.raises(ValueError, match="class_weight"):
        tiny(class_weight={7: 1.0}).fit(X.iloc[:100], y.iloc[:100])
    with pytest.raises(ValueError, match="sample_weight"):
        tiny().fit(X.iloc[:100], y.iloc[:100], sample_weight=np.ones(3))


# Slow (20 s): string multiclass labels are also fitted and predicted in tests/core/export.
@pytest.mark.slow
def test_string_multiclass_labels():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=240), "b": rng.normal(size=240)})
    y = np.where(X["a"] > 0.5, "flu", np.where(X["b"] > 0, "cold", "healthy"))
    model = tiny(max_epochs=60, learning_rate=1e-2).fit(X, y)
    assert list(model.classes_) == ["cold", "flu", "healthy"]
    assert model.predict_proba(X).shape == (240, 3)
    assert model.score(X, y) > 0.8
    report = model.report(X, y)
    assert len(report["per_class"]) == 3 and 0.5 < report["auroc"] <= 1.0


# Slow (14 s): scikit-learn's multilabel checks run on this task in the default suite.
@pytest.mark.slow
def test_multilabel_indicator_targets():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    Y = np.column_stack([X["a"] > 0, X["b"] > 0, (X["a"] + X["b"]) > 1]).astype(int)
    model = tiny(max_epochs=60, learning_rate=1e-2).fit(X, Y)
    assert model.predict(X).shape == (300, 3)
    assert model.predict_proba(X).shape == (300, 3)
    assert (model.predict(X) == Y).mean() > 0.85


def test_transformer_backbone_trains_and_round_trips(patients, tmp_path):
    X, y = patients
    model = tiny(backbone="transformer", num_layers=1, max_epochs=3).fit(X.iloc[:150], y.iloc[:150])
    path = model.save(tmp_path / "transformer.kdm")
    np.testing.assert_allclose(
        DiagnosisPredictor.load(path).predict_proba(X.iloc[150:170]),
        model.predict_proba(X.iloc[150:170]),
        atol=1e-6,
    )


def test_verbose_shows_progress(patients, capsys):
    X, y = patients
    tiny(max_epochs=1, verbose=1).fit(X.iloc[:60], y.iloc[:60])
    assert "loss" in capsys.readouterr().out


# A real-size check; benchmarks/tabular_quality.py measures it against LR and HGB.
@pytest.mark.slow
def test_breast_cancer_hold_out_auc():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    model = DiagnosisPredictor(random_state=0).fit(X_train, y_train)
    assert roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]) >= 0.99


# ---------------------------------------------------- scikit-learn tooling
def test_clone_pipeline_grid_search_and_cross_validation(patients):
    X, y = patients
    X, y = X.iloc[:150], y.iloc[:150]
    estimator = tiny(max_epochs=3, n_members=1)
    assert clone(estimator).get_params() == estimator.get_params()
    pipeline = make_pipeline(
        FunctionTransformer(lambda frame: frame.drop(columns=["region"])), estimator
    )
    assert pipeline.fit(X, y).predict_proba(X).shape == (150, 2)
    search = GridSearchCV(estimator, {"dropout": [0.0, 0.3]}, cv=2, scoring="roc_auc").fit(X, y)
    assert search.best_params_["dropout"] in (0.0, 0.3)
    scores = cross_val_score(estimator, X, y, cv=2, scoring="roc_auc")
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_pickle_and_joblib_round_trip(fitted, patients, tmp_path):
    X, _ = patients
    expected = fitted.predict_proba(X.iloc[400:])
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(restored.predict_proba(X.iloc[400:]), expected, atol=1e-6)
    # The pickle carries the model as .keras bytes, never a live TensorFlow object.
    state = fitted.__getstate__()
    assert isinstance(state["_model_bytes"], bytes) and "model_" not in state
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_allclose(loaded.predict_proba(X.iloc[400:]), expected, atol=1e-6)


# ------------------------------------------------------------------ files
def test_save_and_load_one_file(fitted, patients, tmp_path):
    X, _ = patients
    path = fitted.save(tmp_path / "model.kdm")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.kdm"]
    loaded = DiagnosisPredictor.load(path)
    np.testing.assert_allclose(
        loaded.predict_proba(X.iloc[400:]), fitted.predict_proba(X.iloc[400:]), atol=1e-6
    )
    assert loaded.get_params() == fitted.get_params()
    metadata = loaded.metadata_
    assert metadata["task"] == "medical.diagnosis"
    assert metadata["classes"] == [0, 1]
    assert {c["name"] for c in metadata["input_schema"]} == set(X.columns)
    assert {"keras", "tensorflow", "scikit-learn"} <= set(metadata["versions"])
    assert metadata["training"]["epochs"] == fitted.n_epochs_


def test_damaged_model_files_fail_with_the_file_named(fitted, tmp_path):
    path = fitted.save(tmp_path / "model.kdm")
    data = Path(path).read_bytes()
    truncated = tmp_path / "truncated.kdm"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"truncated\.kdm"):
        DiagnosisPredictor.load(truncated)
    foreign = tmp_path / "foreign.kdm"
    foreign.write_text("not a model")
    with pytest.raises(ModelFileError, match=r"foreign\.kdm"):
        DiagnosisPredictor.load(foreign)


# ---------------------------------------------------------------- explain
def test_explain_gives_per_patient_per_column_attributions(fitted, patients):
    X, _ = patients
    rows = X.iloc[400:406]
    attributions = fitted.explain(rows)
    assert list(attributions.columns) == list(X.columns)
    assert list(attributions.index) == list(rows.index)
    # Completeness: attributions add up to the prediction minus the reference's.
    gap = fitted.predict_proba(rows)[:, 1] - np.asarray(attributions.attrs["baseline"])
    np.testing.assert_allclose(attributions.sum(axis=1), gap, atol=2e-3)


def test_explain_finds_the_column_that_drives_the_label():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=["noise_a", "signal", "noise_b", "noise_c"])
    y = (X["signal"] > 0).astype(int)
    model = tiny(max_epochs=60, learning_rate=1e-2).fit(X, y)
    attributions = model.explain(X.iloc[:50]).abs().mean()
    assert attributions.idxmax() == "signal"


def test_report_matches_independent_metrics(fitted, patients):
    X, y = patients
    report = fitted.report(X.iloc[400:], y.iloc[400:], threshold=0.3)
    proba = fitted.predict_proba(X.iloc[400:])[:, 1]
    truth = y.iloc[400:].to_numpy()
    assert report["auroc"] == pytest.approx(roc_auc_score(truth, proba))
    assert report["brier"] == pytest.approx(np.mean((proba - truth) ** 2))
    called = proba >= 0.3
    assert report["sensitivity"] == pytest.approx(called[truth == 1].mean())
    assert report["specificity"] == pytest.approx((~called)[truth == 0].mean())
    assert 0.0 <= report["ece"] <= 1.0


# ------------------------------------------------------------------ errors
def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        DiagnosisPredictor().predict(pd.DataFrame({"a": [1.0]}))


def test_missing_columns_are_named(fitted, patients):
    X, _ = patients
    with pytest.raises(ValueError, match=r"missing columns \['bmi', 'region'\]"):
        fitted.predict(X.drop(columns=["bmi", "region"]))
    with pytest.raises(ValueError, match="age"):
        fitted.predict(X.rename(columns={"age": "age_years"}))


def test_string_in_numeric_column_is_named(fitted, patients):
    X, _ = patients
    bad = X.iloc[:3].astype({"bmi": object})
    bad.loc[bad.index[1], "bmi"] = "obese"
    with pytest.raises(ValueError, match=r"'bmi'.*obese"):
        fitted.predict_proba(bad)


@pytest.mark.parametrize(
    ("y", "match"),
    [
        ([0.0, 1.0, np.nan, 1.0], "missing"),
        ([0.0, 1.0, np.inf, 1.0], "infinite"),
        ([1, 1, 1, 1], "single class"),
        ([0, 1, 1], "different lengths"),
    ],
)
def test_bad_targets(y, match):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match=match):
        tiny().fit(X, y)


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (
            np.array([1, "a", 1, "a"], dtype=object),
            TypeError,
            r"`y` mixes label types \['int', 'str'\]",
        ),
        (np.array(["a", 1, "a", 1], dtype=object), TypeError, r"`y` mixes label types"),
        ([0.0, 1e300, 0.0, 1e300], ValueError, r"`y` has values as large as 1e\+300"),
        (np.array([1, 2, 1, 2], dtype=object), ValueError, r"label type 'unknown' for `y`.*object"),
    ],
)
def test_targets_of_mixed_or_odd_types_are_named(y, error, match):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(error, match=match):
        tiny().fit(X, y)


def test_empty_frame_and_unknown_backbone():
    with pytest.raises(ValueError, match="empty"):
        tiny().fit(pd.DataFrame({"a": []}), [])
    with pytest.raises(ValueError, match="backbone"):
        tiny(backbone="resnet").fit(pd.DataFrame({"a": [1.0, 2.0]}), [0, 1])


def test_fit_leaves_the_global_random_state_alone(patients):
    import random

    # Code that relies on the legacy global generators must not see them reseeded.
    X, y = patients
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    expected = (np.random.rand(), random.random())  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    tiny(max_epochs=1).fit(X.iloc[:60], y.iloc[:60])
    assert (np.random.rand(), random.random()) == expected  # noqa: NPY002


def test_cross_fitted_members_each_hold_out_a_fold(patients, monkeypatch):
    from core.estimators import keras_estimator

    seen = {}
    original = keras_estimator.KerasEstimator._fit_model

    def spy(self, X_train, y_train, sample_weight, validation, loss, **kwargs):
        seen.update(X=X_train, y=y_train, validation=validation, loss=loss)
        return original(self, X_train, y_train, sample_weight, validation, loss, **kwargs)

    monkeypatch.setattr(keras_estimator.KerasEstimator, "_fit_model", spy)
    X, y = patients
    tiny(n_members=3, max_epochs=1).fit(X.iloc[:120], y.iloc[:120])
    train_masks, val_masks = seen["y"][:, -3:], seen["validation"][1][:, -3:]
    # Every row trains all members but one, and validates exactly that one.
    assert count_rows(seen["X"]) == 120 and seen["loss"].masked_members == 3
    np.testing.assert_array_equal(train_masks.sum(axis=1), 2)
    np.testing.assert_array_equal(train_masks + val_masks, 1)
    # Folds are stratified: each holds about a third of the positives.
    positives = val_masks[y.iloc[:120].to_numpy() == 1].sum(axis=0)
    assert positives.max() - positives.min() <= 1


@pytest.mark.slow
def test_breast_cancer_five_fold_auc():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    scores = cross_val_score(DiagnosisPredictor(random_state=0), X, y, cv=5, scoring="roc_auc")
    assert scores.mean() >= 0.99
