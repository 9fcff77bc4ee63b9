"""ImageClassifier on pretrained keras-hub backbones: modes, files, exports, serving, errors."""

import asyncio
import base64
import concurrent.futures
import io
import shutil

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits

from core.backbones.hub_preset import count_weights, hub_backbone_of
from core.backbones.image_model import image_model_parts
from core.serving.served_model import ServedModel
from domains.vision import ImageClassifier
from tests.hub_presets import tiny_bert_preset, tiny_resnet_preset, tiny_vit_preset


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("presets")
    return {
        "vit": tiny_vit_preset(root / "vit"),
        "resnet": tiny_resnet_preset(root / "resnet"),
        "bert": tiny_bert_preset(root / "bert", ["a few words of text"]),
    }


@pytest.fixture(scope="module")
def digits():
    """8 x 8 one-channel digits in [0, 1]: smaller than the presets' 32 x 32 and grey."""
    data = load_digits()
    keep = data.target < 2
    return (data.images[keep][:120] / 16.0).astype("float32"), data.target[keep][:120]


def _classifier(backbone, **params):
    settings = {"max_epochs": 2, "head_epochs": 1, "batch_size": 32, "random_state": 0}
    return ImageClassifier(backbone=backbone, **{**settings, **params})


def _spy_initial_backbone(monkeypatch):
    """Records the hub backbone's weights as each model is built (the pretrained ones)."""
    initial = []
    original = ImageClassifier._new_model

    def new_model(self, start=None):
        model = original(self, start)
        initial.append({w.path: w.numpy().copy() for w in hub_backbone_of(model).weights})
        return model

    monkeypatch.setattr(ImageClassifier, "_new_model", new_model)
    return initial


def test_frozen_trains_the_head_alone_on_cached_features(presets, digits, monkeypatch):
    X, y = digits
    initial = _spy_initial_backbone(monkeypatch)
    model = _classifier(presets["vit"], fine_tune="frozen").fit(X, y)
    after = {w.path: w.numpy() for w in hub_backbone_of(model.model_).weights}
    for path, value in initial[0].items():
        np.testing.assert_array_equal(value, after[path], err_msg=path)
    # The preset's own size and three channels, whatever the images were.
    assert model.preprocessor_.image_size == (32, 32)
    assert model.predict_proba(X[:4]).shape == (4, 2)
    assert not np.allclose(image_model_parts(model.model_).head.get_weights()[0], 0.0)


def test_full_fine_tuning_moves_the_backbone_but_not_batch_norm_statistics(
    presets, digits, monkeypatch
):
    X, y = digits
    initial = _spy_initial_backbone(monkeypatch)
    model = _classifier(presets["resnet"], fine_tune="full").fit(X, y)
    after = {w.path: w.numpy() for w in hub_backbone_of(model.model_).weights}
    statistics = [p for p in after if p.endswith(("moving_mean", "moving_variance"))]
    kernels = [p for p in after if p.endswith("kernel")]
    assert statistics and kernels
    for path in statistics:
        np.testing.assert_array_equal(initial[0][path], after[path], err_msg=path)
    assert any(not np.array_equal(initial[0][p], after[p]) for p in kernels)
    assert model.n_epochs_ == 1 + 2  # head_epochs, then the fine-tuning epochs.


def test_lora_trains_adapters_not_the_pretrained_kernels(presets, digits, monkeypatch):
    X, y = digits
    initial = _spy_initial_backbone(monkeypatch)
    model = _classifier(presets["vit"], lora_rank=2, learning_rate=1e-2).fit(X, y)
    backbone = hub_backbone_of(model.model_)
    lora = [w for w in backbone.weights if "lora_kernel" in w.path]
    assert lora and count_weights(backbone.trainable_weights) < count_weights(backbone.weights) / 4
    after = {w.path: w.numpy() for w in backbone.weights}
    for path, value in initial[0].items():
        if path.endswith("kernel") and "lora" not in path:
            np.testing.assert_array_equal(value, after[path], err_msg=path)
    assert any(np.abs(w.numpy()).max() > 0 for w in lora if w.path.endswith("lora_kernel_b"))


def test_a_saved_model_loads_offline_without_its_preset(presets, digits, tmp_path):
    X, y = digits
    folder = tmp_path / "vit"
    shutil.copytree(presets["vit"], folder)
    model = _classifier(str(folder), lora_rank=2).fit(X, y)
    path = model.save(tmp_path / "vit.kdm")
    shutil.rmtree(folder)
    loaded = ImageClassifier.load(path)
    np.testing.assert_allclose(loaded.predict_proba(X[:10]), model.predict_proba(X[:10]), atol=1e-6)
    np.testing.assert_allclose(loaded.embed(X[:3]), model.embed(X[:3]), atol=1e-5)


def test_embed_gives_pooled_features_and_explain_maps_vit_tokens(presets, digits):
    X, y = digits
    model = _classifier(presets["vit"], fine_tune="frozen").fit(X, y)
    features = model.embed(X[:5])
    assert features.shape == (5, 16) and np.isfinite(features).all()
    heat = model.explain(X[:2])
    assert heat.shape == (2, 32, 32) and heat.min() >= 0.0 and heat.max() <= 1.0
    # A 32 x 32 image in patches of 8: a 4 x 4 grid, so the map is blocky by 8 x 8 cells.
    grid = model._token_grid(np.zeros((1, 17, 16)))
    assert grid.shape == (1, 4, 4, 16)


def test_saved_model_export_and_serving(presets, digits, tmp_path):
    import tensorflow as tf

    X, y = digits
    model = _classifier(presets["resnet"], fine_tune="frozen").fit(X, y)
    model.export(tmp_path / "saved", format="saved_model")
    serve = tf.saved_model.load(str(tmp_path / "saved")).signatures["serving_default"]
    feed = model.export_inputs(X[:3])
    out = next(iter(serve(**{k: tf.constant(v) for k, v in feed.items()}).values())).numpy()
    np.testing.assert_allclose(out, model.predict_proba(X[:3]), atol=1e-5)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        served = ServedModel("xray", model, "M", pool, pool, batch_wait_s=0)
        asyncio.run(served.start())
        buffer = io.BytesIO()
        np.save(buffer, X[0])
        body = {"images": [base64.b64encode(buffer.getvalue()).decode()]}
        answer = asyncio.run(served.predict(served.predict_model.model_validate(body)))
        heat = asyncio.run(served.explain(served.explain_model.model_validate(body)))
    proba = list(answer["predictions"][0]["probabilities"].values())
    np.testing.assert_allclose(proba, model.predict_proba(X[:1])[0], atol=1e-5)
    assert np.asarray(heat["explanations"][0]["heatmap"]).shape == (32, 32)


def test_onnx_refuses_a_graph_the_converter_cannot_hold(presets, digits, tmp_path):
    X, y = digits
    model = _classifier(presets["vit"], fine_tune="frozen", max_epochs=1).fit(X, y)
    target = tmp_path / "vit.onnx"
    with pytest.raises(ValueError, match="format='saved_model'"):
        model.export(target, format="onnx")
    assert not target.exists()


@pytest.mark.parametrize(
    "params,match",
    [
        ({"backbone": "bert", "fine_tune": "full"}, "not an image backbone"),
        ({"backbone": "vit", "fine_tune": "frozen", "lora_rank": 2}, "lora_rank"),
        ({"backbone": "vit", "lora_rank": 0}, "lora_rank"),
        ({"backbone": "resnet", "lora_rank": 2}, "no attention layers"),
        ({"backbone": "cnn", "lora_rank": 2}, "pretrained backbone"),
        ({"backbone": "cnn", "fine_tune": "frozen"}, "pretrained backbone"),
    ],
)
def test_bad_settings_are_refused_by_name(presets, digits, params, match):
    X, y = digits
    backbone = presets.get(params["backbone"], params["backbone"])
    with pytest.raises(ValueError, match=match):
        _classifier(**{**params, "backbone": backbone}).fit(X[:40], y[:40])


def test_clone_keeps_the_preset_and_modes(presets):
    model = _classifier(presets["vit"], lora_rank=4)
    params = clone(model).get_params()
    assert (params["backbone"], params["lora_rank"], params["fine_tune"]) == (
        presets["vit"],
        4,
        "full",
    )


def test_mixed_precision_builds_the_preset_under_the_policy(presets, digits):
    X, y = digits
    model = _classifier(presets["vit"], lora_rank=2, precision="mixed_bfloat16", max_epochs=1)
    model.fit(X[:60], y[:60])
    assert hub_backbone_of(model.model_).dtype_policy.name == "mixed_bfloat16"
    proba = model.predict_proba(X[:4])
    assert proba.dtype == np.float64 and np.allclose(proba.sum(axis=1), 1.0)
