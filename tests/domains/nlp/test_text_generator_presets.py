"""TextGenerator fine-tuning a keras-hub causal LM preset (a tiny random GPT-2, offline)."""

import pickle
import shutil

import keras
import keras_hub
import numpy as np
import pytest
from sklearn.base import clone

from core.generation.hub_causal_lm import hub_causal_lm_of
from domains.nlp import TextGenerator
from tests.hub_presets import tiny_bert_preset, tiny_gpt2_preset

ANIMALS = ["cat", "dog", "bird", "fox"]
PLACES = ["mat", "rug", "bed", "box"]


def corpus(n=240, seed=0):
    rng = np.random.default_rng(seed)
    return [f"the {rng.choice(ANIMALS)} sat on the {rng.choice(PLACES)} ." for _ in range(n)]


def tiny(folder, **params):
    defaults = dict(
        backbone=folder,
        max_length=32,  # Every text fits: perplexity is comparable with keras-hub's own.
        ngram_order=0,  # The network alone, unless a test asks for the mixture.
        learning_rate=1e-2,
        batch_size=8,
        max_epochs=8,
        patience=8,
        random_state=0,
    )
    return TextGenerator(**{**defaults, **params})


def backbone_weights(backbone):
    """`{path: value}` of a backbone's weights, LoRA adapters apart."""
    return {w.path: keras.ops.convert_to_numpy(w) for w in backbone.weights}


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    return tiny_gpt2_preset(tmp_path_factory.mktemp("gpt2"), corpus())


@pytest.fixture(scope="module")
def full(preset):
    return tiny(preset).fit(corpus())


@pytest.fixture(scope="module")
def lora(preset):
    return tiny(preset, lora_rank=4, learning_rate=3e-2).fit(corpus())


def preset_perplexity(folder, texts):
    """The untouched preset's perplexity, computed with keras-hub's own preprocessing."""
    lm = keras_hub.models.CausalLM.from_preset(folder)
    x, y, weight = lm.preprocessor(texts, sequence_length=32)
    nll = keras.losses.sparse_categorical_crossentropy(y, lm(x), from_logits=True)
    weight = keras.ops.convert_to_numpy(weight).astype(np.float64)
    return float(np.exp((keras.ops.convert_to_numpy(nll) * weight).sum() / weight.sum()))


def test_reads_texts_as_the_preset_does(preset):
    # A learning rate of 1e-12 leaves the preset as it is: the estimator's perplexity is
    # then keras-hub's own, so texts are framed `begin tokens end` as the preset frames them.
    untouched = tiny(preset, learning_rate=1e-12, weight_decay=0.0, max_epochs=1)
    untouched.fit(corpus())
    held_out = corpus(40, seed=1)
    assert untouched.perplexity(held_out) == pytest.approx(
        preset_perplexity(preset, held_out), rel=1e-4
    )


def test_fine_tuning_lowers_perplexity(preset, full, lora):
    held_out = corpus(40, seed=1)
    before = preset_perplexity(preset, held_out)  # About the vocabulary size: random weights.
    assert before > 100
    assert full.perplexity(held_out) < 2.0
    # Adapters on the query and value projections of a random 16-wide network move its
    # output little (its attention output projection is small and frozen): 290 -> 272.
    assert lora.perplexity(held_out) < 0.97 * before
    assert full.score(held_out) == pytest.approx(-np.log(full.perplexity(held_out)))


def test_lora_trains_only_the_adapters(preset, full, lora):
    start = backbone_weights(keras_hub.models.Backbone.from_preset(preset))
    tuned = backbone_weights(hub_causal_lm_of(lora.model_).backbone)
    adapters = [path for path in tuned if "lora" in path]
    assert adapters and set(tuned) - set(adapters) == set(start)
    for path, value in start.items():
        np.testing.assert_array_equal(tuned[path], value, err_msg=path)
    assert any(np.abs(tuned[path]).max() > 0 for path in adapters if "lora_kernel_b" in path)
    # Full fine-tuning changes the backbone itself.
    fully_tuned = backbone_weights(hub_causal_lm_of(full.model_).backbone)
    assert any(not np.array_equal(fully_tuned[path], start[path]) for path in start)
    n_full = sum(int(np.prod(w.shape)) for w in full.model_.trainable_weights)
    n_lora = sum(int(np.prod(w.shape)) for w in lora.model_.trainable_weights)
    assert n_lora == sum(int(np.prod(tuned[path].shape)) for path in adapters)
    assert n_full == sum(int(np.prod(v.shape)) for v in start.values())
    assert n_lora < n_full / 10


def test_generate_continues_a_prompt_reproducibly(full):
    # The tiny preset's tokens are mostly characters: it continues with the corpus' letters.
    text = full.generate("the cat", max_new_tokens=10, greedy=True)
    assert text.startswith("the cat ") and len(text) > len("the cat ")
    assert set(text) <= set("".join(corpus()))
    for kwargs in ({"greedy": True}, {"top_k": 3, "seed": 5}, {"top_p": 0.9, "seed": 1}):
        cached = full.generate("the dog", max_new_tokens=20, **kwargs)
        assert cached == full.generate("the dog", max_new_tokens=20, **kwargs)
        assert cached == full.generate("the dog", max_new_tokens=20, use_cache=False, **kwargs)
    # Past the 32-token context, the cache is rebuilt from the last tokens.
    long = full.generate("the cat sat on the mat . " * 4, max_new_tokens=30, seed=0)
    assert isinstance(long, str) and len(long) > len("the cat sat on the mat . " * 4)
    assert full.generate(["the", "the fox"], max_new_tokens=3, seed=0)[1].startswith("the fox")


def test_embed_mean_pools_the_hidden_states(full):
    features = full.embed(["the cat sat", "the dog sat on the rug .", ""])
    assert features.shape == (3, 16) and features.dtype == np.float32
    assert np.isfinite(features).all()
    assert not np.allclose(features[0], features[1])
    # Padding is left out: a text embeds alike alone and in a batch with a longer one.
    np.testing.assert_allclose(full.embed(["the cat sat"])[0], features[0], atol=1e-5)


def test_saved_file_is_self_contained(tmp_path):
    folder = tiny_gpt2_preset(tmp_path / "preset", corpus())
    model = tiny(folder, lora_rank=2, max_epochs=2, ngram_order=3).fit(corpus())
    held_out = corpus(20, seed=2)
    path = model.save(tmp_path / "generator.kdm")
    shutil.rmtree(folder)  # Loading reads neither the preset folder nor the network.
    loaded = TextGenerator.load(path)
    assert loaded.ngram_weight_ == model.ngram_weight_
    assert loaded.perplexity(held_out) == pytest.approx(model.perplexity(held_out), rel=1e-6)
    for kwargs in ({"greedy": True}, {"top_k": 5, "seed": 3}):
        assert loaded.generate("the", 15, **kwargs) == model.generate("the", 15, **kwargs)
    np.testing.assert_allclose(loaded.embed(held_out), model.embed(held_out), atol=1e-6)
    assert loaded.input_schema()["texts"]["tokenizer"] == "GPT2Tokenizer"
    copy = pickle.loads(pickle.dumps(loaded))
    assert copy.perplexity(held_out) == pytest.approx(model.perplexity(held_out), rel=1e-6)


def test_clone_keeps_the_preset_and_the_rank(preset):
    model = clone(TextGenerator(backbone=preset, lora_rank=4))
    assert model.get_params()["backbone"] == preset
    assert model.get_params()["lora_rank"] == 4


def test_a_preset_of_another_kind_is_refused(tmp_path):
    folder = tiny_bert_preset(tmp_path / "bert", corpus())
    with pytest.raises(ValueError, match="not a causal language model"):
        tiny(folder).fit(corpus())


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fine_tune": "frozen"}, "`fine_tune='frozen'` would leave a TextGenerator nothing"),
        ({"fine_tune": "head"}, "`fine_tune` must be 'full'. Received: fine_tune='head'"),
        ({"lora_rank": 0}, "`lora_rank` must be None or a positive integer. Received: lora_rank=0"),
        ({"lora_rank": -2}, "Received: lora_rank=-2"),
        ({"max_length": 200}, "`max_length`=200 is longer than the preset's context"),
    ],
)
def test_bad_fine_tuning_settings_are_named(preset, params, message):
    with pytest.raises(ValueError, match=message):
        tiny(preset, **params).fit(corpus(20))


def test_lora_rank_needs_a_preset():
    with pytest.raises(ValueError, match="`lora_rank` adapts a pretrained keras-hub backbone"):
        TextGenerator(lora_rank=4).fit(corpus(20))
    with pytest.raises(ValueError, match="backbone"):
        TextGenerator(backbone="").fit(corpus(20))


def test_saved_model_export_gives_the_networks_logits(full, tmp_path):
    import tensorflow as tf

    texts = corpus()[:2]
    feed = full.export_inputs(texts)
    full.export(tmp_path / "saved", format="saved_model")
    serve = tf.saved_model.load(str(tmp_path / "saved")).signatures["serving_default"]
    exported = serve(**{k: tf.constant(v) for k, v in feed.items()})["logits"].numpy()
    expected = keras.ops.convert_to_numpy(full.model_(feed, training=False))
    assert sorted(feed) == ["padding_mask", "token_ids"]
    np.testing.assert_allclose(exported, expected, atol=1e-5)
