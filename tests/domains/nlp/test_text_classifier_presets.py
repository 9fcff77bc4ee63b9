"""TextClassifier on pretrained keras-hub encoders: tokens, modes, files, explanations, errors."""

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from core.backbones.hub_preset import count_weights, hub_backbone_of
from core.backbones.hub_text_model import NGRAM_INPUT, hub_text_model_parts
from core.explain.scaled_output import scaled_output
from domains.nlp import TextClassifier
from tests.hub_presets import tiny_bert_preset, tiny_vit_preset

REVIEWS = Path(__file__).resolve().parents[3] / "sample_data" / "nlp" / "reviews.csv"


@pytest.fixture(scope="module")
def reviews():
    frame = pd.read_csv(REVIEWS, keep_default_na=False).head(260)
    return frame["text"].tolist(), frame["sentiment"].to_numpy()


@pytest.fixture(scope="module")
def presets(tmp_path_factory, reviews):
    root = tmp_path_factory.mktemp("presets")
    return {
        "bert": tiny_bert_preset(root / "bert", reviews[0][:200], sequence_length=32),
        "vit": tiny_vit_preset(root / "vit"),
    }


def _classifier(backbone, **params):
    settings = {"max_epochs": 2, "random_state": 0}
    return TextClassifier(backbone=backbone, **{**settings, **params})


@pytest.fixture(scope="module")
def fitted(presets, reviews):
    texts, y = reviews
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Texts cut at 32 tokens.
        return _classifier(presets["bert"]).fit(texts[:200], y[:200])


def _initial_backbones(monkeypatch):
    initial = []
    original = TextClassifier._new_model

    def new_model(self, start=None):
        model = original(self, start)
        initial.append({w.path: w.numpy().copy() for w in hub_backbone_of(model).weights})
        return model

    monkeypatch.setattr(TextClassifier, "_new_model", new_model)
    return initial


def test_the_preset_tokenizer_feeds_the_encoder_and_ngrams_keep_their_own(fitted, reviews):
    import keras_hub

    adapter = fitted.preprocessor_
    assert isinstance(adapter.tokenizer, keras_hub.models.BertTokenizer)
    assert adapter.encoder_inputs_ == ["padding_mask", "segment_ids", "token_ids"]
    inputs = fitted._transform(reviews[0][:3])
    cls, sep = adapter.tokenizer.token_to_id("[CLS]"), adapter.tokenizer.token_to_id("[SEP]")
    assert (inputs["token_ids"][:, 0] == cls).all() and (inputs["token_ids"] == sep).sum() == 3
    # The n-gram path reads past the encoder's 32 tokens, with the WordPiece vocabulary it learned.
    assert inputs[NGRAM_INPUT].shape[1] == adapter.input_length_ > adapter.sequence_length_ == 32
    assert fitted.linear_C_ is not None and isinstance(fitted.deep_path_kept_, bool)


def test_long_texts_warn_once_that_the_encoder_cut_them(presets, reviews):
    texts, y = reviews
    # Recorded by hand: `pytest.warns` would re-raise Keras' own deprecation notices as errors.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = _classifier(presets["bert"], max_length=16, max_epochs=1).fit(texts[:80], y[:80])
        model.predict(texts[:10])
    cut = [str(w.message) for w in caught if "longer than the encoder" in str(w.message)]
    assert len(cut) == 1 and "encoder's 16 tokens" in cut[0]


def test_max_length_is_capped_at_the_presets(presets, reviews):
    texts, y = reviews
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = _classifier(presets["bert"], max_length=512, max_epochs=1).fit(texts[:60], y[:60])
    assert model.preprocessor_.sequence_length_ == 32


@pytest.mark.parametrize("mode", ["frozen", "lora", "full"])
def test_each_mode_trains_what_it_says(presets, reviews, monkeypatch, mode):
    texts, y = reviews
    initial = _initial_backbones(monkeypatch)
    params = {"frozen": {"fine_tune": "frozen"}, "lora": {"lora_rank": 2}, "full": {}}[mode]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = _classifier(presets["bert"], ngrams=False, **params).fit(texts[:120], y[:120])
    backbone = hub_backbone_of(model.model_)
    after = {w.path: w.numpy() for w in backbone.weights}
    kernels = [p for p in initial[0] if p.endswith("kernel") and "lora" not in p]
    changed = [p for p in kernels if not np.array_equal(initial[0][p], after[p])]
    if mode == "full":
        assert changed
        assert model.n_epochs_ == 1 + 2  # One head epoch, then fine-tuning.
    else:
        assert not changed
    if mode == "lora":
        assert count_weights(backbone.trainable_weights) < count_weights(backbone.weights) / 5
        lora_b = [w for w in backbone.weights if w.path.endswith("lora_kernel_b")]
        assert lora_b and any(np.abs(w.numpy()).max() > 0 for w in lora_b)
    deep = hub_text_model_parts(model.model_).deep_logits.get_weights()[0]
    assert np.abs(deep).max() > 0  # The head trained in every mode.


def test_a_saved_model_loads_offline_without_its_preset(presets, reviews, tmp_path):
    texts, y = reviews
    folder = tmp_path / "bert"
    shutil.copytree(presets["bert"], folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = _classifier(str(folder), lora_rank=2).fit(texts[:120], y[:120])
        path = model.save(tmp_path / "bert.kdm")
        shutil.rmtree(folder)
        loaded = TextClassifier.load(path)
        np.testing.assert_allclose(
            loaded.predict_proba(texts[200:220]), model.predict_proba(texts[200:220]), atol=1e-6
        )
        (loaded_words,) = loaded.explain(texts[200:201], steps=8)
        (words,) = model.explain(texts[200:201], steps=8)
    assert [w for w, _ in loaded_words] == [w for w, _ in words]
    np.testing.assert_allclose([s for _, s in loaded_words], [s for _, s in words], atol=1e-5)


def test_explanations_are_words_and_add_up_to_the_logit_change(fitted, reviews):
    texts = reviews[0][200:202]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        explanations = fitted.explain(texts, steps=64)
        inputs = fitted._transform(texts)
    logits = fitted._predict_raw(inputs)[:, 0, 0]
    # The baseline: every word's embedding and n-gram gate at zero, special tokens kept.
    parts = hub_text_model_parts(fitted.model_)
    adapter = fitted.preprocessor_
    words = inputs["padding_mask"].astype(bool) & ~np.isin(
        inputs["token_ids"], adapter.tokenizer.special_token_ids
    )
    scales = np.where(words, 0.0, 1.0)[..., None].astype(np.float32)
    with scaled_output(hub_backbone_of(fitted.model_).token_embedding, scales):
        blank = parts.body({k: inputs[k] for k in adapter.encoder_inputs_}).numpy()[:, 0]
    kept = np.isin(inputs[NGRAM_INPUT], adapter.ngram_tokenizer.special_ids)
    gates = (kept & (inputs[NGRAM_INPUT] != 0)).astype(np.float32)
    blank = blank + parts.linear_path(inputs[NGRAM_INPUT], token_gates=gates).numpy()[:, 0]
    for i, explanation in enumerate(explanations):
        sign = 1.0 if logits[i] > 0 else -1.0  # The predicted class is explained.
        total = sum(score for _, score in explanation)
        assert total == pytest.approx(sign * (logits[i] - blank[i]), abs=0.02)
        text = texts[i].lower()
        first = [word for word, _ in explanation[:5]]
        assert all(word in text for word in first if word != "[UNK]"), first


def test_embed_gives_the_pooled_encoder_features(fitted, reviews):
    features = fitted.embed(reviews[0][:4])
    assert features.shape == (4, 16) and np.isfinite(features).all()
    assert not np.allclose(features[0], features[1])


@pytest.mark.parametrize(
    "params,match",
    [
        ({"backbone": "vit"}, "not a text encoder"),
        ({"backbone": "bert", "fine_tune": "frozen", "lora_rank": 2}, "lora_rank"),
        ({"backbone": "bert", "pretrain_epochs": 1}, "pretrain_epochs"),
        ({"backbone": "transformer", "lora_rank": 2}, "pretrained backbone"),
        ({"backbone": "bert", "lora_rank": -1}, "lora_rank"),
    ],
)
def test_bad_settings_are_refused_by_name(presets, reviews, params, match):
    texts, y = reviews
    backbone = presets.get(params["backbone"], params["backbone"])
    with pytest.raises(ValueError, match=match):
        _classifier(**{**params, "backbone": backbone}).fit(texts[:40], y[:40])


def test_pretrain_points_to_keras_hub_for_a_preset(presets, reviews, tmp_path):
    with pytest.raises(ValueError, match="MaskedLM"):
        _classifier(presets["bert"]).pretrain(reviews[0][:20], tmp_path / "x.kdm")


def test_clone_keeps_the_preset_and_modes(presets):
    params = clone(_classifier(presets["bert"], lora_rank=8)).get_params()
    assert (params["backbone"], params["lora_rank"]) == (presets["bert"], 8)


def test_exports_and_the_server_give_the_estimators_probabilities(fitted, reviews, tmp_path):
    import asyncio
    import concurrent.futures

    import onnxruntime
    import tensorflow as tf

    from core.serving.served_model import ServedModel

    texts = reviews[0][200:204]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = fitted.predict_proba(texts)
        feed = fitted.export_inputs(texts)
        fitted.export(tmp_path / "saved", format="saved_model")
        fitted.export(tmp_path / "model.onnx", format="onnx")
        serve = tf.saved_model.load(str(tmp_path / "saved")).signatures["serving_default"]
        saved = next(iter(serve(**{k: tf.constant(v) for k, v in feed.items()}).values()))
        session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            served = ServedModel("notes", fitted, "M", pool, pool, batch_wait_s=0)
            asyncio.run(served.start())
            body = served.predict_model.model_validate({"texts": texts})
            answer = asyncio.run(served.predict(body))
            explained = asyncio.run(
                served.explain(served.explain_model.model_validate({"texts": texts[:1]}))
            )
    assert sorted(feed) == ["ngram_ids", "padding_mask", "segment_ids", "token_ids"]
    np.testing.assert_allclose(saved.numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(session.run(None, feed)[0], expected, atol=1e-5)
    served_proba = [list(p["probabilities"].values()) for p in answer["predictions"]]
    np.testing.assert_allclose(served_proba, expected, atol=1e-5)
    assert explained["explanations"][0]


def test_the_command_line_trains_from_a_preset_folder(presets, reviews, tmp_path):
    from core.cli import main

    texts, y = reviews
    data = tmp_path / "notes.csv"
    pd.DataFrame({"note": texts[:80], "label": y[:80]}).to_csv(data, index=False)
    model = tmp_path / "notes.kdm"
    argv = ["train", "nlp.text", "--data", str(data), "--text-column", "note"]
    settings = ["--set", f"backbone={presets['bert']}", "--set", "lora_rank=2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert main([*argv, "--target", "label", "--out", str(model), *settings]) == 0
        loaded = TextClassifier.load(model)
    assert loaded.lora_rank == 2 and loaded.backbone == presets["bert"]
