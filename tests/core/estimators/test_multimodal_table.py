"""Tables with free text and image columns: one estimator over every kind of column."""

import asyncio
import base64
import concurrent.futures
import pickle

import numpy as np
import pytest

from core.backbones.multimodal_model import multimodal_model_parts
from core.estimators import TabularClassifier, TabularRegressor
from core.serving.served_model import ServedModel
from tests.core.estimators.multimodal_rows import TINY, make_table


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return make_table(tmp_path_factory.mktemp("scans"))


@pytest.fixture(scope="module")
def fitted(table):
    X, y, _ = table
    return TabularClassifier(max_epochs=15, n_members=2, **TINY).fit(X, y)


def test_kinds_are_detected_and_the_model_learns_from_text_and_images(table, fitted):
    X, y, _ = table
    assert fitted.preprocessor_.column_kinds_ == {
        "age": "table", "sex": "table", "note": "text", "scan": "image"
    }  # fmt: skip
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.isfinite(proba).all()
    # Age and sex carry nothing: what the model knows comes from the note and the scan.
    assert ((proba[:, 1] > 0.5) == y).mean() > 0.9
    assert set(fitted.kept_parts_) == {"table", "note", "scan"}
    assert fitted.kept_parts_["note"] or fitted.kept_parts_["scan"]
    assert fitted.part_losses_["all"] > 0


def test_the_n_gram_paths_are_solved_per_member_and_frozen(table, fitted):
    X, _, _ = table
    ngrams = multimodal_model_parts(fitted.model_).column_encoder.get_layer("text_0_ngrams")
    assert not ngrams.trainable
    weights = np.asarray(ngrams.embeddings)  # (slots, members): one logistic model each
    tokenizer = fitted.preprocessor_.text_adapters_[0].tokenizer
    wheeze, clear = (tokenizer.encode_ids(word)[0] for word in ("wheeze", "clear"))
    assert (weights[wheeze] > 0.5).all() and (weights[clear] < -0.5).all()
    # Members solve on different rows (cross-fitting), so their weights differ.
    assert not np.allclose(weights[:, 0], weights[:, 1])
    # What the solver saw is what the model computes: the layer's sparse features.
    ids = fitted._transform(X.head(8))["text_0"]
    expected = ngrams.sparse_features(ids) @ weights
    np.testing.assert_allclose(np.asarray(ngrams(ids)), expected, rtol=1e-4, atol=1e-5)


def test_verbose_prints_the_column_kinds(table, capsys):
    X, y, _ = table
    TabularClassifier(max_epochs=1, n_members=1, verbose=1, **TINY).fit(X.head(40), y[:40])
    assert (
        "column kinds: age: table, sex: table, note: text, scan: image" in capsys.readouterr().out
    )


def test_a_missing_note_is_the_learned_missing_token(table, fitted):
    X, _, _ = table
    row = X.iloc[[0]]
    empty = fitted.predict_proba(row.assign(note=""))
    np.testing.assert_allclose(fitted.predict_proba(row.assign(note=None)), empty, atol=1e-6)
    np.testing.assert_allclose(fitted.predict_proba(row.assign(note="   ")), empty, atol=1e-6)
    assert np.isfinite(fitted.predict_proba(row.assign(scan=None))).all()


def test_explanations_add_up_per_column_with_text_and_image_columns(table, fitted):
    X, _, _ = table
    rows = X.iloc[[0, 1, 3, 5]]
    attributions = fitted.explain(rows, steps=128)
    assert list(attributions.columns) == ["age", "sex", "note", "scan"]
    total = attributions.sum(axis=1).to_numpy() + np.asarray(attributions.attrs["baseline"])
    np.testing.assert_allclose(total, fitted.predict_proba(rows)[:, 1], atol=0.01)
    # Row 3 has no note and row 5 no scan: the reference has neither, so they add nothing.
    assert attributions.loc[3, "note"] == pytest.approx(0.0, abs=1e-6)
    assert attributions.loc[5, "scan"] == pytest.approx(0.0, abs=1e-6)


def test_grad_cam_maps_of_a_scan_beside_a_note(table, fitted):
    X, _, _ = table
    maps = fitted.explain_image(X.iloc[[0, 1, 5]])  # The note's n-gram path feeds the head too.
    assert maps.shape == (3, 16, 16) and maps[:2].max(axis=(1, 2)) == pytest.approx(1.0)
    assert (maps[2] == 0).all()  # Row 5 has no scan.


def test_warm_up_traces_a_model_with_token_ids_and_image_paths(fitted):
    # Inputs of any length (ids, paths) are traced with length 1: a server's start-up call.
    assert fitted.warm_up() is fitted


def test_save_load_and_pickle_predict_the_same(table, fitted, tmp_path):
    X, _, _ = table
    expected = fitted.predict_proba(X)
    loaded = TabularClassifier.load(fitted.save(tmp_path / "mixed.kdm"))
    np.testing.assert_allclose(loaded.predict_proba(X), expected, atol=1e-6)
    assert loaded.kept_parts_ == fitted.kept_parts_
    np.testing.assert_allclose(pickle.loads(pickle.dumps(fitted)).predict_proba(X), expected)
    kinds = {item["name"]: item["kind"] for item in loaded.input_schema()}
    assert kinds == {"age": "numeric", "sex": "categorical", "note": "text", "scan": "image"}


def test_export_says_what_stays_in_python(fitted, tmp_path):
    with pytest.raises(ValueError, match=r"text columns \['note'\] and image columns \['scan'\]"):
        fitted.export(str(tmp_path / "model"))


def test_a_regressor_takes_a_text_column(table):
    X, y, _ = table
    target = 10.0 * y + np.asarray(X["age"]) / 10
    model = TabularRegressor(max_epochs=15, n_members=2, **TINY).fit(X.drop(columns="scan"), target)
    assert model.preprocessor_.text_columns_ == ["note"]
    assert model.score(X.drop(columns="scan"), target) > 0.5
    attributions = model.explain(X.drop(columns="scan").head(3), steps=64)
    total = attributions.sum(axis=1).to_numpy() + np.asarray(attributions.attrs["baseline"])
    np.testing.assert_allclose(total, model.predict(X.drop(columns="scan").head(3)), atol=0.1)


def test_declared_columns_are_checked_by_fit(table):
    X, y, _ = table
    with pytest.raises(ValueError, match="Column 'age' is declared in `text_columns`"):
        TabularClassifier(text_columns=["age"], max_epochs=1, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="`image_columns` must be None or a list of column names"):
        TabularClassifier(image_columns=3, max_epochs=1, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="`text_backbone` must be one of"):
        TabularClassifier(text_backbone="gpt", max_epochs=1, **TINY).fit(X, y)


def test_monotone_constraints_hold_beside_a_text_column_and_reason_codes_name_it(table):
    from domains.finance import RiskScorer

    X, y, _ = table
    X = X.drop(columns="scan")
    scorer = RiskScorer(monotone_constraints={"age": 1}, max_epochs=20, n_members=2, **TINY)
    scorer.fit(X, y)
    ages = X.iloc[[0] * 30].assign(age=np.linspace(20, 90, 30))
    risk = scorer.predict_proba(ages)[:, 1]
    assert (np.diff(risk) >= -1e-7).all()
    codes = scorer.reason_codes(X.head(4), n=3)
    named = codes[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel()
    reasons = {r for r in named if isinstance(r, str)}  # None: fewer columns cost points.
    assert reasons <= {"age", "sex", "note"} and "note" in reasons


def test_the_server_takes_text_fields_and_base64_or_local_image_paths(table, fitted):
    X, _, _ = table
    rows = X.iloc[[0, 1, 5]]
    expected = fitted.predict_proba(rows)[:, 1]

    def encoded(path):
        with open(path, "rb") as f:
            return base64.b64encode(f.read()).decode()

    def body(scans):
        return {
            "rows": [
                {"age": a, "sex": s, "note": t, "scan": p}
                for a, s, t, p in zip(rows["age"], rows["sex"], rows["note"], scans, strict=True)
            ]
        }

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        for image_paths, scans in (
            (False, [encoded(rows["scan"].iloc[0]), encoded(rows["scan"].iloc[1]), None]),
            (True, [rows["scan"].iloc[0], rows["scan"].iloc[1], None]),
        ):
            served = ServedModel("m", fitted, "M", pool, pool, batch_wait_s=0,
                                 image_paths=image_paths)  # fmt: skip
            request = served.predict_model.model_validate(body(scans))
            answer = asyncio.run(served.predict(request))
            got = [p["probabilities"]["1"] for p in answer["predictions"]]
            np.testing.assert_allclose(got, expected, atol=1e-6)
        served = ServedModel("m", fitted, "M", pool, pool, batch_wait_s=0)
        request = served.predict_model.model_validate(body([rows["scan"].iloc[0], None, None]))
        with pytest.raises(
            ValueError, match=r"`scan` of row 0 is not valid base64.*start it with --image-paths"
        ):
            asyncio.run(served.predict(request))
        explain = served.explain_model.model_validate(body([encoded(rows["scan"].iloc[0])] * 3))
        explained = asyncio.run(served.explain(explain))["explanations"]
        assert set(explained[0]["attributions"]) == {"age", "sex", "note", "scan"}


def test_per_word_attributions_add_up_to_the_note(table, fitted):
    X, _, _ = table
    rows = X.iloc[[0, 1, 3]]
    words = fitted.explain_text(rows, n_orderings=8)
    assert words[2] == []  # Row 3 has no note.
    assert [w for w, _ in words[0]] == rows["note"].iloc[0].split()
    full = fitted.predict_proba(rows)[:, 1]
    without = fitted.predict_proba(rows.assign(note=None))[:, 1]
    for k in range(2):
        total = sum(a for _, a in words[k])
        assert total == pytest.approx(full[k] - without[k], abs=1e-5)
    # The label's word moves the prediction most when the model reads the note.
    if fitted.kept_parts_["note"]:
        top = max(words[0], key=lambda pair: abs(pair[1]))[0]
        assert top in ("wheeze", "clear")
    with pytest.raises(ValueError, match="`column` must be one of the text columns"):
        fitted.explain_text(rows, column="age")
