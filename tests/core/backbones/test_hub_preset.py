"""keras-hub presets as backbones: kinds, offline errors, preprocessing kept as JSON."""

import builtins
import json

import keras
import numpy as np
import pytest

from core.backbones.hub_preset import (
    HUB_HINT,
    HubPreset,
    check_fine_tuning,
    count_weights,
    enable_lora,
    freeze_batch_norm,
    is_preset,
    preprocessor_from_state,
    preprocessor_state,
    require_keras_hub,
)
from tests.hub_presets import tiny_bert_preset, tiny_resnet_preset, tiny_vit_preset

TEXTS = ["the cat sat on the mat", "a dog ran far away", "cats and dogs"]


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("presets")
    return {
        "bert": tiny_bert_preset(root / "bert", TEXTS),
        "vit": tiny_vit_preset(root / "vit"),
        "resnet": tiny_resnet_preset(root / "resnet"),
    }


def test_a_missing_keras_hub_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_keras_hub(name, *args, **kwargs):
        if name == "keras_hub" or name.startswith("keras_hub."):
            raise ImportError("No module named 'keras_hub'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_keras_hub)
    with pytest.raises(ImportError, match=HUB_HINT.replace("[", r"\[").replace("]", r"\]")):
        require_keras_hub()


def test_is_preset_tells_built_in_names_from_presets(tmp_path):
    assert not is_preset("cnn", ("cnn", "vit"))
    assert is_preset("efficientnet_b0_ra_imagenet", ("cnn", "vit"))
    assert is_preset(tmp_path, ("cnn", "vit"))
    assert not is_preset(None, ("cnn", "vit"))


def test_a_preset_of_another_kind_is_refused_naming_it(presets):
    with pytest.raises(ValueError, match=r"not an image backbone.*BertBackbone"):
        HubPreset(presets["bert"], "image").preprocessor()
    with pytest.raises(ValueError, match="not a text encoder"):
        HubPreset(presets["vit"], "text").preprocessor()
    with pytest.raises(ValueError, match="not a causal language model"):
        HubPreset(presets["bert"], "causal_lm").preprocessor()


def test_folders_that_are_not_presets_are_refused(tmp_path, presets):
    with pytest.raises(ValueError, match="no such folder"):
        HubPreset(str(tmp_path / "missing" / "preset"), "image").preprocessor()
    with pytest.raises(ValueError, match=r"no config\.json"):
        HubPreset(str(tmp_path), "image").preprocessor()
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="no weights file"):
        HubPreset(str(incomplete), "image").preprocessor()


def test_a_corrupt_weights_file_names_the_folder(tmp_path, presets):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(presets["vit"], broken)
    (broken / "model.weights.h5").write_bytes(b"not an h5 file")
    preset = HubPreset(str(broken), "image")
    preset.preprocessor()  # The preprocessing files are intact.
    with pytest.raises(ValueError, match=r"broken'.*could not be read"):
        preset.backbone()


def test_a_preset_name_offline_says_how_to_make_it_available(monkeypatch):
    keras_hub = require_keras_hub()

    def unreachable(*args, **kwargs):
        raise ConnectionError("Failed to resolve the host")

    monkeypatch.setattr(keras_hub.models.TextClassifierPreprocessor, "from_preset", unreachable)
    with pytest.raises(ValueError) as error:
        HubPreset("bert_tiny_en_uncased", "text").preprocessor()
    message = str(error.value)
    assert "bert_tiny_en_uncased" in message and "save_to_preset" in message
    assert "\n" not in message


@pytest.mark.parametrize("name,kind", [("bert", "text"), ("vit", "image")])
def test_preprocessor_state_rebuilds_it_offline_as_json(presets, name, kind):
    backbone, preprocessor = HubPreset(presets[name], kind).load()
    files = json.loads(json.dumps(preprocessor_state(preprocessor, backbone)))
    assert "model.weights.h5" not in files
    rebuilt = preprocessor_from_state(files, kind)
    assert type(rebuilt) is type(preprocessor)
    if kind == "text":
        np.testing.assert_array_equal(
            np.asarray(rebuilt(TEXTS)["token_ids"]), np.asarray(preprocessor(TEXTS)["token_ids"])
        )
    else:
        images = np.random.default_rng(0).uniform(0, 255, (2, 40, 40, 3)).astype("float32")
        np.testing.assert_allclose(np.asarray(rebuilt(images)), np.asarray(preprocessor(images)))


def test_preprocessor_files_may_not_point_outside_their_folder():
    with pytest.raises(ValueError, match="outside its folder"):
        preprocessor_from_state({"../escape.json": ""}, "text")


def test_fine_tuning_options_are_checked():
    check_fine_tuning("full", 4, pretrained=True)
    with pytest.raises(ValueError, match="lora_rank"):
        check_fine_tuning("frozen", 4, pretrained=True)
    with pytest.raises(ValueError, match="pretrained backbone"):
        check_fine_tuning("frozen", None, pretrained=False)


def test_lora_trains_only_adapters_and_a_convnet_is_refused(presets):
    backbone, _ = HubPreset(presets["bert"], "text").load()
    full = count_weights(backbone.trainable_weights)
    wrapper = _wrapped(backbone)
    enable_lora(wrapper, 2)
    lora = count_weights(backbone.trainable_weights)
    assert 0 < lora < full / 5
    # Only the adapters: keras-hub would leave the projections' biases trainable too.
    assert all("lora_kernel" in w.path for w in backbone.trainable_weights)
    resnet, _ = HubPreset(presets["resnet"], "image").load()
    with pytest.raises(ValueError, match="no attention layers"):
        enable_lora(_wrapped(resnet), 2)


def test_freeze_batch_norm_keeps_only_its_statistics_fixed(presets):
    resnet, _ = HubPreset(presets["resnet"], "image").load()
    freeze_batch_norm(resnet)
    layers = [layer for layer in resnet._flatten_layers() if layer.weights]
    norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(layer.trainable for layer in norms)
    assert any(layer.trainable for layer in layers if layer not in norms)


def _wrapped(backbone):
    """A model holding the backbone as a layer, as a task's model does."""
    inputs = backbone.input
    return keras.Model(inputs, backbone(inputs))
