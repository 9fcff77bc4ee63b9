"""Tables with image columns, keras-hub presets for text and images, and the keep rule."""

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.backbones.multimodal_model import multimodal_model_parts
from core.estimators import TabularClassifier
from core.estimators.table_input import KEEP_MARGIN
from tests.core.estimators.multimodal_rows import SYMPTOMS, TINY, make_table, write_scan


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return make_table(tmp_path_factory.mktemp("scans"))


@pytest.fixture(scope="module")
def image_model(table):
    X, y, _ = table
    X = X.drop(columns="note")  # The scan alone tells the label: the model keeps it.
    return TabularClassifier(max_epochs=15, n_members=2, **TINY).fit(X, y)


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
    write_scan(path, bright=True)
    row = X.iloc[[0]].assign(scan=str(path))
    before = fitted.predict_proba(row)
    write_scan(path, bright=False)
    assert not np.allclose(fitted.predict_proba(row), before)


def test_the_keep_rule_leaves_out_a_part_that_only_adds_noise(tmp_path):
    rng = np.random.default_rng(1)
    n = 200
    x = rng.normal(size=n)
    y = (x + 0.3 * rng.normal(size=n) > 0).astype(int)
    noise_notes = [" ".join(rng.choice([*SYMPTOMS, "a", "b", "c", "d"], 6)) for _ in range(n)]
    X = pd.DataFrame({"x": x, "note": noise_notes})
    model = TabularClassifier(max_epochs=30, n_members=3, **TINY).fit(X, y)
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
