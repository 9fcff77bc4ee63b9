"""Tables with free text and image columns: one estimator over every kind of column."""

import asyncio
import base64
import concurrent.futures
import pickle

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.backbones.multimodal_model import multimodal_model_parts
from core.estimators import TabularClassifier, TabularRegressor
from core.estimators.table_input import KEEP_MARGIN
from core.serving.served_model import ServedModel

TINY = {"embedding_dim": 4, "hidden_units": (8,), "batch_size": 32, "random_state": 0}
SYMPTOMS = ["pain", "cough", "fever", "rash", "fine", "tired", "stable", "dizzy"]


def _scan(path, bright):
    """Stripes across (`bright`) or down: a pattern a CNN reads, whatever the exposure."""
    pixels = np.full((16, 16), 40, np.uint8)
    if bright:
        pixels[::4, :] = 220
    else:
        pixels[:, ::4] = 220
    Image.fromarray(pixels).save(path)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """Rows whose label shows in the note (a word) and in the scan (a bright square)."""
    folder = tmp_path_factory.mktemp("scans")
    rng = np.random.default_rng(0)
    n = 160
    y = rng.integers(0, 2, n)
    paths = []
    for i in range(n):
        paths.append(str(folder / f"scan_{i}.png"))
        _scan(paths[-1], bright=y[i] == 1)
    notes = [" ".join(rng.choice(SYMPTOMS, 4)) + (" wheeze" if label else " clear") for label in y]
    X = pd.DataFrame(
        {
            "age": rng.normal(50, 10, n),
            "sex": rng.choice(["F", "M"], n),
            "note": notes,
            "scan": paths,
        }
    )
    X.loc[3, "note"] = None
    X.loc[5, "scan"] = None
    return X, y, folder


@pytest.fixture(scope="module")
def fitted(table):
    X, y, _ = table
    return TabularClassifier(max_epochs=40, n_members=2, **TINY).fit(X, y)


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


@pytest.fixture(scope="module")
def image_model(table):
    X, y, _ = table
    X = X.drop(columns="note")  # The scan alone tells the label: the model keeps it.
    return TabularClassifier(max_epochs=40, n_members=2, **TINY).fit(X, y)


def test_a_missing_image_is_neither_an_error_nor_a_black_image(table, image_model, tmp_path):
    X, y, _ = table
    X = X.drop(columns="note")
    model = image_model
    assert model.kept_parts_["scan"]
    assert ((model.predict_proba(X)[:, 1] > 0.5) == y).mean() > 0.9
    row = X.iloc[[0]]
    black = tmp_path / "black.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(black)
    missing = model.predict_proba(row.assign(scan=None))
    assert np.isfinite(missing).all()
    assert not np.allclose(model.predict_proba(row.assign(scan=str(black))), missing, atol=1e-4)


def test_images_are_read_from_their_files_at_each_call(table, image_model, tmp_path):
    X, _, _ = table
    X, fitted = X.drop(columns="note"), image_model
    inputs = fitted._transform(X.head(4))
    assert inputs["image_0"].dtype == np.int32 and inputs["image_0"].ndim == 2  # Paths, not pixels.
    path = tmp_path / "scan.png"
    _scan(path, bright=True)
    row = X.iloc[[0]].assign(scan=str(path))
    before = fitted.predict_proba(row)
    _scan(path, bright=False)
    assert not np.allclose(fitted.predict_proba(row), before)


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


def test_the_keep_rule_leaves_out_a_part_that_only_adds_noise(tmp_path):
    rng = np.random.default_rng(1)
    n = 200
    x = rng.normal(size=n)
    y = (x + 0.3 * rng.normal(size=n) > 0).astype(int)
    noise_notes = [" ".join(rng.choice([*SYMPTOMS, "a", "b", "c", "d"], 6)) for _ in range(n)]
    X = pd.DataFrame({"x": x, "note": noise_notes})
    model = TabularClassifier(max_epochs=60, n_members=4, **TINY).fit(X, y)
    losses = model.part_losses_
    assert set(losses) == {"all", "only x", "only note"} or set(losses) == {
        "all", "only table", "only note"
    }  # fmt: skip
    assert model.kept_parts_["table"]
    dropped = losses["only table"] < (1 - KEEP_MARGIN) * losses["all"]
    assert model.kept_parts_["note"] is not dropped
    a = model.predict_proba(X.head(5))
    b = model.predict_proba(X.head(5).assign(note="fever fever fever rash"))
    if dropped:  # Left out: the note no longer moves a prediction.
        np.testing.assert_allclose(a, b, atol=1e-6)
    else:
        assert not np.allclose(a, b, atol=1e-6)


def test_a_regressor_takes_a_text_column(table):
    X, y, _ = table
    target = 10.0 * y + np.asarray(X["age"]) / 10
    model = TabularRegressor(max_epochs=30, n_members=2, **TINY).fit(X.drop(columns="scan"), target)
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


def test_grad_cam_maps_within_an_image_column(table, image_model):
    X, _, _ = table
    X = X.drop(columns="note")
    rows = X.iloc[[0, 1, 5]]
    maps = image_model.explain_image(rows)
    assert maps.shape == (3, 16, 16) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    assert maps[0].max() == pytest.approx(1.0)
    np.testing.assert_array_equal(maps[2], 0.0)  # Row 5 has no image.
    with pytest.raises(ValueError, match="fitted without text columns"):
        image_model.explain_text(rows)


def test_a_keras_hub_preset_reads_the_text_column(table, tmp_path):
    from tests.hub_presets import tiny_bert_preset

    X, y, _ = table
    X = X.drop(columns="scan")
    preset = tiny_bert_preset(tmp_path / "bert", X["note"].dropna().tolist())
    model = TabularClassifier(text_backbone=preset, max_epochs=30, n_members=2, **TINY).fit(X, y)
    adapter = model.preprocessor_.text_adapters_[0]
    assert "token_ids" in adapter.encoder_inputs_
    inputs = model._transform(X.head(3))
    assert {"text_0", "text_0_token_ids", "text_0_padding_mask"} <= set(inputs)
    proba = model.predict_proba(X)
    # Age and sex carry nothing; the tiny preset's weights are random, its n-gram path is not.
    assert ((proba[:, 1] > 0.5) == y).mean() > 0.75
    loaded = TabularClassifier.load(model.save(tmp_path / "preset.kdm"))
    np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-6)
    rows = X.iloc[[0, 3]]
    attributions = model.explain(rows, steps=64)
    total = attributions.sum(axis=1).to_numpy() + np.asarray(attributions.attrs["baseline"])
    np.testing.assert_allclose(total, model.predict_proba(rows)[:, 1], atol=0.01)
    words = model.explain_text(rows, n_orderings=4)
    assert words[1] == [] and len(words[0]) == len(rows["note"].iloc[0].split())


def test_a_keras_hub_preset_reads_the_image_column(table, tmp_path):
    from tests.hub_presets import tiny_resnet_preset

    X, y, _ = table
    X = X.drop(columns="note")
    X["scan"] = X["scan"].astype(object)
    for i, label in enumerate(y):  # Light or dark films: what random frozen features tell apart.
        if i != 5:
            X.loc[i, "scan"] = path = str(tmp_path / f"film_{i}.png")
            Image.fromarray(np.full((16, 16), 200 if label else 40, np.uint8)).save(path)
    preset = tiny_resnet_preset(tmp_path / "resnet", image_size=24)
    model = TabularClassifier(image_backbone=preset, max_epochs=40, n_members=2, **TINY)
    model.fit(X, y)
    # Read at the preset's size; frozen and shared by the members, each projecting it.
    assert model.preprocessor_.image_shapes_[0][0] == (24, 24)
    encoder = multimodal_model_parts(model.model_).column_encoder
    features = encoder.get_layer("image_0_features")
    assert not features.trainable_weights and features._table is None  # The fit's cache is gone.
    assert "member_0_image_0_encoder" not in {layer.name for layer in encoder.layers}
    proba = model.predict_proba(X)
    assert ((proba[:, 1] > 0.5) == y).mean() > 0.75
    loaded = TabularClassifier.load(model.save(tmp_path / "image_preset.kdm"))
    np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-6)
    maps = model.explain_image(X.iloc[[0, 1, 5]])
    assert maps.shape == (3, 24, 24) and maps[0].max() == pytest.approx(1.0)
    np.testing.assert_array_equal(maps[2], 0.0)  # Row 5 has no image.
    with pytest.raises(ValueError, match="image_backbone"):
        TabularClassifier(image_backbone=str(tmp_path / "no_such_preset"), **TINY).fit(X, y)


def test_cached_features_are_looked_up_for_cached_rows_and_computed_for_others():
    from core.layers import CachedFeatures

    ids = keras.Input((None,), dtype="int32")
    summed = keras.layers.Lambda(lambda x: keras.ops.sum(keras.ops.cast(x, "float32"), 1, True))
    counting = keras.Model(ids, summed(ids))
    layer = CachedFeatures(counting)
    rows = np.array([[3, 4, 0], [5, 0, 0], [3, 4, 0]], np.int32)
    assert layer.cache(rows) == 2  # Distinct rows.
    layer._values = layer._values + 100.0  # Tells a lookup from a computation.
    np.testing.assert_allclose(np.asarray(layer(rows[:, :2])), [[107.0], [105.0], [107.0]])
    np.testing.assert_allclose(np.asarray(layer(np.array([[3, 4], [9, 0]]))), [[7.0], [9.0]])
    layer.clear()
    np.testing.assert_allclose(np.asarray(layer(rows)), [[7.0], [5.0], [7.0]])
