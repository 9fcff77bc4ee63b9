"""Calibration and conformal prediction sets, on real data shipped with scikit-learn."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

from core.estimators import TabularClassifier

SMALL = {"hidden_units": (16,), "max_epochs": 30, "patience": 5, "random_state": 0}


def _coverage(sets, classes, y):
    return sets[np.arange(len(y)), np.searchsorted(classes, y)].mean()


@pytest.fixture(scope="module")
def breast_cancer_model():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=0
    )
    # Four cross-fitted members: predict_set takes the CV+ path.
    model = TabularClassifier(calibration="temperature", n_members=4, **SMALL)
    return model.fit(X_train, y_train), X_test, y_test


@pytest.fixture(scope="module")
def digits_model():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=1
    )
    # One member and a 15% hold-out: plain split conformal.
    model = TabularClassifier(calibration="isotonic", n_members=1, **SMALL)
    return model.fit(X_train, y_train), X_test, y_test


@pytest.mark.parametrize("fixture", ["breast_cancer_model", "digits_model"])
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
def test_conformal_sets_cover_held_out_rows(fixture, alpha, request):
    model, X_test, y_test = request.getfixturevalue(fixture)
    sets = model.predict_set(X_test, alpha=alpha, allow_empty=True)
    assert sets.shape == (len(y_test), len(model.classes_)) and sets.dtype == bool
    coverage = _coverage(sets, model.classes_, y_test)
    assert coverage >= 1 - alpha - 0.02
    # Not the trivial answer: sets are far smaller than all the classes.
    assert sets.sum(axis=1).mean() < 0.6 * len(model.classes_)


def test_smaller_alpha_gives_larger_sets(digits_model):
    model, X_test, _ = digits_model
    sizes = [model.predict_set(X_test, alpha=a).sum(axis=1).mean() for a in (0.2, 0.1, 0.02)]
    assert sizes[0] <= sizes[1] <= sizes[2] and sizes[0] < sizes[2]


def test_sets_are_never_empty_by_default(digits_model):
    model, X_test, _ = digits_model
    sets = model.predict_set(X_test, alpha=0.3)
    assert sets.any(axis=1).all()
    top = np.argmax(model.predict_proba(X_test), axis=1)
    assert sets[np.arange(len(top)), top].all()


def test_held_out_scores_come_from_rows_the_member_never_trained_on(
    breast_cancer_model, digits_model
):
    hold_out = digits_model[0]
    assert len(hold_out.conformal_scores_) == round(0.15 * 898)
    assert hold_out.conformal_folds_ is None
    assert np.all(np.diff(hold_out.conformal_scores_) >= 0)
    # Cross-fitted members: every training row is one member's held-out row.
    cross_fitted = breast_cancer_model[0]
    scores, folds = cross_fitted.conformal_scores_, cross_fitted.conformal_folds_
    assert len(scores) == 341
    assert np.bincount(folds).tolist() == [86, 85, 85, 85]
    for member in range(4):
        assert np.all(np.diff(scores[folds == member]) >= 0)


@pytest.mark.parametrize("fixture", ["breast_cancer_model", "digits_model"])
def test_calibration_report_before_and_after(fixture, request):
    model, X_test, y_test = request.getfixturevalue(fixture)
    report = model.report(X_test, y_test)
    calibration = report["calibration"]
    assert calibration["method"] == model.calibration
    assert calibration["n"] == len(y_test)
    if model.target_type_ == "binary":  # The report's own ECE is the calibrated one.
        assert calibration["ece_after"] == pytest.approx(report["ece"])
    for key in ("ece_before", "ece_after", "brier_before", "brier_after"):
        assert 0.0 <= calibration[key] <= 1.0
    raw = model._member_proba(model._logits(X_test))
    assert not np.allclose(raw, model.predict_proba(X_test))


def test_temperature_keeps_the_ranking(breast_cancer_model):
    model, X_test, _ = breast_cancer_model
    calibrated = model.predict_proba(X_test)[:, 1]
    raw = model._member_proba(model._logits(X_test))[:, 1]
    assert np.all(np.diff(calibrated[np.argsort(raw)]) >= 0)
    assert model.calibrator_.temperature_ != pytest.approx(1.0, abs=1e-3)


def test_isotonic_calibration_lowers_the_held_out_ece(digits_model):
    model, X_test, y_test = digits_model
    calibration = model.calibration_report(X_test, y_test)
    assert calibration["ece_after"] < calibration["ece_before"]


def test_calibration_and_scores_survive_save_and_load(breast_cancer_model, tmp_path):
    model, X_test, _ = breast_cancer_model
    loaded = TabularClassifier.load(model.save(tmp_path / "model.kdm"))
    np.testing.assert_allclose(loaded.predict_proba(X_test), model.predict_proba(X_test), atol=1e-6)
    np.testing.assert_array_equal(loaded.predict_set(X_test), model.predict_set(X_test))


def test_unknown_calibration_is_refused_before_training():
    model = TabularClassifier(calibration="platt")
    with pytest.raises(ValueError, match="`calibration` must be None, 'temperature' or 'isotonic'"):
        model.fit(pd.DataFrame({"a": range(40)}), [0, 1] * 20)
    assert not hasattr(model, "model_")


def test_isotonic_with_too_few_held_out_rows_says_how_many():
    model = TabularClassifier(calibration="isotonic", n_members=1, **SMALL)
    with pytest.raises(
        ValueError, match="needs at least 100 held-out validation rows; this fit holds out 12"
    ):
        model.fit(pd.DataFrame({"a": range(80)}), [0, 1] * 40)
    assert not hasattr(model, "model_")


@pytest.mark.parametrize("alpha", [0, 1, -0.5, 2])
def test_alpha_outside_zero_one_is_refused(breast_cancer_model, alpha):
    model, X_test, _ = breast_cancer_model
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0, 1\)"):
        model.predict_set(X_test, alpha=alpha)


def test_predict_set_without_held_out_rows_says_what_to_change():
    X = pd.DataFrame({"a": np.arange(40.0)})
    model = TabularClassifier(validation_fraction=0.0, max_epochs=1, n_members=1).fit(
        X, [0, 1] * 20
    )
    with pytest.raises(ValueError, match="validation_fraction=0"):
        model.predict_set(X)
    with pytest.raises(ValueError, match="calibration='temperature' needs at least 20"):
        TabularClassifier(calibration="temperature", validation_fraction=0.0).fit(X, [0, 1] * 20)


def test_multilabel_targets_have_no_label_sets():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=150), "b": rng.normal(size=150)})
    y = np.column_stack([X["a"] > 0, X["b"] > 0]).astype(int)
    model = TabularClassifier(max_epochs=2, n_members=1, calibration="temperature").fit(X, y)
    with pytest.raises(ValueError, match="multilabel"):
        model.predict_set(X)
    assert model.calibration_report(X, y)["method"] == "temperature"


def test_one_model_answers_eight_threads_as_it_answers_serially(breast_cancer_model):
    """Calibrated probabilities, conformal sets and calibration reports hold no per-call state."""
    from concurrent.futures import ThreadPoolExecutor

    model, X_test, y_test = breast_cancer_model
    chunks = [X_test.iloc[i::8] for i in range(8)]
    truths = [y_test.iloc[i::8] for i in range(8)]

    def answers(k):
        # Each call mixes the calibrated and the uncalibrated, per-member paths.
        return (
            model.predict_proba(chunks[k]),
            model.predict_set(chunks[k], alpha=0.1),
            model.calibration_report(chunks[k], truths[k])["ece_before"],
            model.predict(chunks[k]),
        )

    serial = [answers(k) for k in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(answers, [k for k in range(8) for _ in range(3)]))
    for k, got in zip([k for k in range(8) for _ in range(3)], threaded, strict=True):
        expected = serial[k]
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-6, atol=1e-9)
        np.testing.assert_array_equal(got[1], expected[1])
        assert got[2] == pytest.approx(expected[2])
        np.testing.assert_array_equal(got[3], expected[3])
