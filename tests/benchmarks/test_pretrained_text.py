"""`benchmarks.pretrained_text` and `benchmarks.pretrained_cost` on tiny sizes."""

import keras_hub
import numpy as np
import pytest

from benchmarks.pretrained_cost import synthetic_vocabulary
from benchmarks.pretrained_text import (
    build_presets,
    configurations,
    load_data,
    parse_args,
    sample_labelled,
    split_reviews,
    summarise,
)
from domains.nlp import TextClassifier

TINY_BERT = {
    "num_layers": 1,
    "num_heads": 2,
    "hidden_dim": 32,
    "intermediate_dim": 64,
    "max_sequence_length": 64,
}


@pytest.fixture(scope="module")
def data():
    reviews, corpus = load_data()
    pool, test = split_reviews(reviews, test_size=200)
    return reviews, corpus, pool, test


@pytest.fixture(scope="module")
def presets(tmp_path_factory, data):
    _, corpus, pool, _ = data
    texts = corpus[:200] + pool["text"].tolist()[:56]
    folder = tmp_path_factory.mktemp("pretrained_text")
    return build_presets(
        texts,
        str(folder),
        epochs=3,
        vocabulary_size=600,
        config=TINY_BERT,
        sequence_length=32,
        batch_size=32,
        learning_rate=3e-3,
    )


def test_the_test_set_is_fixed_and_the_labelled_rows_come_from_the_pool_stratified(data):
    reviews, _, pool, test = data
    assert len(test) == 200 and len(pool) == len(reviews) - 200
    assert not set(pool.index) & set(test.index)
    first, again = sample_labelled(pool, 100, 0), sample_labelled(pool, 100, 0)
    other = sample_labelled(pool, 100, 1)
    assert list(first.index) == list(again.index) and list(first.index) != list(other.index)
    assert set(first.index) <= set(pool.index)
    share = (first["sentiment"] == "positive").mean()
    assert abs(share - (pool["sentiment"] == "positive").mean()) < 0.02


def test_masked_lm_pretraining_lowers_the_loss_per_masked_token(presets):
    _, _, info = presets
    history = info["pretraining"]
    assert len(history["loss"]) == 3 and len(history["accuracy"]) == 3
    assert history["loss"][-1] < history["loss"][0]
    assert info["vocabulary_size"] <= 600


def test_the_preset_folders_load_and_differ_only_in_weights(presets):
    pretrained, untrained, info = presets
    a = keras_hub.models.Backbone.from_preset(pretrained)
    b = keras_hub.models.Backbone.from_preset(untrained)
    assert a.count_params() == b.count_params() == info["backbone_parameters"]
    assert a.get_config()["num_layers"] == TINY_BERT["num_layers"]
    embedding_a = a.token_embedding.get_weights()[0]
    assert not np.allclose(embedding_a, b.token_embedding.get_weights()[0])
    tokenizer = keras_hub.models.BertTokenizer.from_preset(pretrained)
    assert (
        tokenizer.get_vocabulary()
        == keras_hub.models.BertTokenizer.from_preset(untrained).get_vocabulary()
    )


@pytest.mark.filterwarnings("ignore:.*longer than the encoder:UserWarning")
def test_text_classifier_fits_on_the_pretrained_folder(presets, data):
    pretrained, _, _ = presets
    _, _, pool, test = data
    train = sample_labelled(pool, 60, 0)
    clf = TextClassifier(backbone=pretrained, ngrams=False, max_epochs=1, random_state=0)
    clf.fit(train["text"], train["sentiment"])
    proba = clf.predict_proba(test["text"].head(20))
    assert proba.shape == (20, 2) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_configurations_pair_every_random_row_with_a_pretrained_row():
    args = parse_args(["--quick"])
    rows = configurations(("P", "R"), "builtin.kdm", args)
    random_rows = [key for key in rows if key.startswith("random_")]
    assert random_rows and all("pretrained_" + key[len("random_") :] in rows for key in random_rows)
    assert rows["pretrained_lora_deep"][1]["learning_rate"] == args.lora_learning_rates[0]
    assert rows["builtin"][1]["start_from"] == "builtin.kdm"
    per_seed = [
        {key: {"accuracy": a, "roc_auc": a, "fit_s": 1.0} for key in ("random_x", "pretrained_x")}
        for a in (0.5, 0.6)
    ]
    per_seed[0]["pretrained_x"] = {"accuracy": 0.7, "roc_auc": 0.7, "fit_s": 1.0}
    gains = summarise(per_seed, ["random_x", "pretrained_x"])["gains"]
    assert gains["x"]["accuracy"]["per_seed"] == pytest.approx([0.2, 0.0])
    assert gains["x"]["accuracy"]["wins"] == 1


def test_the_synthetic_vocabulary_has_the_size_asked_and_bert_specials_first():
    vocabulary = synthetic_vocabulary(["A good film.", "Bad plot!"], 50)
    assert len(vocabulary) == len(set(vocabulary)) == 50
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert "good" in vocabulary and "##o" in vocabulary
