import pickle

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from core.backbones.text_model import text_model_parts
from domains.nlp import TextClassifier

POSITIVE = ["good", "great", "lovely", "superb", "fine"]
NEGATIVE = ["bad", "awful", "poor", "terrible", "dull"]
NOUNS = ["film", "book", "phone", "pan", "story", "screen"]


def make_texts(n=160, seed=0):
    """Short reviews whose sentiment word decides the label; topics from the noun."""
    rng = np.random.default_rng(seed)
    texts, labels, topics = [], [], []
    for _ in range(n):
        label = int(rng.integers(2))
        noun = NOUNS[int(rng.integers(len(NOUNS)))]
        word = rng.choice(POSITIVE if label else NEGATIVE)
        texts.append(f"the {noun} was really {word} and the end was {rng.choice(NOUNS)}")
        labels.append("pos" if label else "neg")
        topics.append("media" if noun in ("film", "book", "story") else "goods")
    return texts, np.array(labels), np.array(topics)


def tiny(**params):
    defaults = dict(
        vocabulary_size=120,
        embedding_dim=8,
        num_layers=1,
        num_heads=2,
        intermediate_dim=16,
        lstm_units=4,
        ngram_buckets=64,
        max_epochs=2,
        random_state=0,
    )
    return TextClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def data():
    return make_texts()


@pytest.fixture(scope="module")
def fitted(data):
    texts, labels, _ = data
    return tiny(calibration="temperature", validation_fraction=0.15).fit(
        pd.Series(texts, name="review"), labels
    )


def test_calibration_and_label_sets(fitted, data):
    texts, labels, _ = data
    assert fitted.calibrator_.temperature_ > 0
    assert len(fitted.conformal_scores_) == round(0.15 * len(texts))
    assert "calibration" in fitted.report(texts, labels)
    sets = fitted.predict_set(texts[:10], alpha=0.2)
    assert sets.shape == (10, 2) and sets.any(axis=1).all()


def test_binary_strings_in_classes_out(fitted, data):
    texts, labels, _ = data
    assert fitted.classes_.tolist() == ["neg", "pos"]
    assert set(fitted.predict(texts[:20])) <= {"neg", "pos"}
    proba = fitted.predict_proba(texts)
    assert proba.shape == (len(texts), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    # The n-gram path alone separates these texts.
    assert fitted.score(texts, labels) > 0.95
    held_out, held_labels, _ = make_texts(60, seed=1)
    assert fitted.score(held_out, held_labels) > 0.9


def test_multiclass_and_multilabel_targets(data):
    texts, labels, topics = data
    classes = np.char.add(np.char.add(labels, "-"), topics)
    multiclass = tiny().fit(texts, classes)
    assert multiclass.target_type_ == "multiclass"
    assert multiclass.predict_proba(texts[:5]).shape == (5, len(np.unique(classes)))
    assert multiclass.score(texts, classes) > 0.9
    indicator = np.column_stack([labels == "pos", topics == "media"]).astype(int)
    multilabel = tiny().fit(texts, indicator)
    predicted = multilabel.predict(texts)
    assert predicted.shape == indicator.shape
    assert (predicted == indicator).mean() > 0.9


def test_lstm_backbone_without_ngrams(data):
    texts, labels, _ = data
    model = tiny(backbone="lstm", ngrams=False).fit(texts, labels)
    assert model.encoder_config_["backbone"] == "lstm"
    assert model.predict_proba(texts[:3]).shape == (3, 2)
    assert model.deep_path_kept_


def test_max_length_auto_covers_the_texts_and_input_length_is_longer(fitted, data):
    texts, _, _ = data
    lengths = [len(fitted.tokenizer_.encode_ids(t)) + 2 for t in texts]
    assert fitted.encoder_config_["sequence_length"] >= np.percentile(lengths, 95)
    assert fitted.input_length_ >= fitted.encoder_config_["sequence_length"]


def test_token_ids_reach_the_model_as_integers(fitted, data):
    texts, _, _ = data
    assert [(t.name, t.dtype) for t in fitted.model_.inputs] == [("token_ids", "int32")]
    ids = fitted._transform(texts[:3])
    assert ids.dtype == np.int32 and ids.shape == (3, fitted.input_length_)


def test_pretrain_lowers_masked_lm_loss_and_fit_starts_from_it(data, tmp_path):
    texts, labels, _ = data
    path = tmp_path / "encoder.kdm"
    model = tiny(learning_rate=2e-3).pretrain(texts * 3, path, epochs=4)
    losses = model.pretrain_history_["loss"]
    assert losses[-1] < losses[0]
    # The encoder file is a constructor parameter now, so clone() and grid search keep it.
    assert model.start_from == str(path)
    assert clone(model).get_params()["start_from"] == str(path)
    tokenizer, _, _, encoder = model._start_source()
    pretrained = [w.copy() for w in encoder.get_weights()]
    # With a learning rate of 0 fine-tuning leaves the encoder as pretraining left it.
    model.set_params(learning_rate=0.0).fit(texts, labels)
    assert model.tokenizer_.vocabulary_ == tokenizer.vocabulary_
    fitted_encoder = text_model_parts(model.model_).encoder
    for got, expected in zip(fitted_encoder.get_weights(), pretrained, strict=True):
        np.testing.assert_array_equal(got, expected)
    # Pretraining again continues from the file rather than starting over.
    again = clone(model).set_params(learning_rate=2e-3).pretrain(texts * 3, path, epochs=1)
    assert again.pretrain_history_["loss"][0] < losses[0]


def test_saved_backbone_is_reused_by_another_classifier(fitted, data, tmp_path):
    texts, labels, _ = data
    path = fitted.save_backbone(tmp_path / "backbone.kdm")
    parts = text_model_parts(fitted.model_)
    reused = tiny(start_from=str(path), embedding_dim=16, learning_rate=0.0).fit(texts, labels)
    # The file fixes the architecture: embedding_dim=16 is overridden by the backbone's 8.
    assert reused.encoder_config_["embedding_dim"] == 8
    assert reused.tokenizer_.vocabulary_ == fitted.tokenizer_.vocabulary_
    reused_parts = text_model_parts(reused.model_)
    np.testing.assert_array_equal(
        reused_parts.embedding.get_weights()[0], parts.embedding.get_weights()[0]
    )
    for got, expected in zip(
        reused_parts.encoder.get_weights(), parts.encoder.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(got, expected)
    # A saved, fitted classifier is a starting point too.
    source = TextClassifier(start_from=str(fitted.save(tmp_path / "classifier.kdm")))
    tokenizer, config, _, _ = source._start_source()
    assert tokenizer.vocabulary_ == fitted.tokenizer_.vocabulary_
    assert config == fitted.encoder_config_
    with pytest.raises(ValueError, match="`start_from` must be None or the path of an existing"):
        tiny(start_from=str(tmp_path / "missing.kdm")).fit(texts, labels)


def test_explain_returns_words_and_attributions_add_up(fitted, data):
    texts, _, _ = data
    explained = fitted.explain(texts[:3])
    assert len(explained) == 3
    words = [token for token, _ in explained[0]]
    assert words == fitted.tokenizer_.decode(fitted.tokenizer_.encode_ids(texts[0])).split()
    # The sentiment word gets the largest attribution towards the predicted class.
    top_word = max(explained[0], key=lambda pair: pair[1])[0]
    assert top_word in POSITIVE + NEGATIVE
    # Completeness: attributions add up to the logit's change from the blank text.
    ids = fitted._transform(texts[:3])
    targets = fitted._explained_targets(ids, None)
    attributions, signs = fitted._token_attributions(ids, targets, steps=64)
    logits = fitted._predict_raw(ids)[:, 0, 0]
    seq = fitted.encoder_config_["sequence_length"]
    embedding = text_model_parts(fitted.model_).embedding
    blank = np.broadcast_to(
        keras.ops.convert_to_numpy(embedding.position_embeddings)[None, :seq], (3, seq, 8)
    )
    blank_logits = keras.ops.convert_to_numpy(
        text_model_parts(fitted.model_).body([blank, ids[:, :seq] != 0])
    )[:, 0]
    np.testing.assert_allclose(attributions.sum(axis=1), signs * (logits - blank_logits), atol=2e-3)


def test_explain_subword_level_and_target(fitted):
    pairs = fitted.explain(["the film was superbly good"], level="subword")[0]
    assert any(token.startswith("##") for token, _ in pairs) or len(pairs) == 5
    towards_neg = fitted.explain(["the film was good"], target="neg")[0]
    towards_pos = fitted.explain(["the film was good"], target="pos")[0]
    np.testing.assert_allclose([s for _, s in towards_neg], [-s for _, s in towards_pos], atol=1e-6)
    with pytest.raises(ValueError, match="`target` must be one of"):
        fitted.explain(["good"], target="maybe")


def test_save_load_and_pickle_predict_the_same(fitted, data, tmp_path):
    texts, _, _ = data
    expected = fitted.predict_proba(texts)
    loaded = TextClassifier.load(fitted.save(tmp_path / "text.kdm"))
    np.testing.assert_allclose(loaded.predict_proba(texts), expected, rtol=1e-5, atol=1e-6)
    assert loaded.metadata_["task"] == "nlp.text"
    unpickled = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(unpickled.predict_proba(texts), expected, rtol=1e-5, atol=1e-6)


def test_a_file_saved_before_the_text_adapter_loads(fitted, data, tmp_path):
    from core.persistence.model_archive import read_archive, write_archive

    model_bytes, state, metadata = read_archive(fitted.save(tmp_path / "new.kdm"))
    adapter = state["fitted"].pop("preprocessor")
    state["fitted"].update(
        tokenizer=adapter["tokenizer"],
        input_length=adapter["input_length"],
        text_column=adapter["text_column"],
    )
    write_archive(tmp_path / "old.kdm", model_bytes, state, metadata)
    loaded = type(fitted).load(tmp_path / "old.kdm")
    texts, _, _ = data
    np.testing.assert_allclose(
        loaded.predict_proba(texts[:8]), fitted.predict_proba(texts[:8]), atol=1e-6
    )
    assert loaded.input_schema() == fitted.input_schema()


def test_dataframe_input_uses_the_text_column(fitted, data):
    texts, _, _ = data
    assert fitted.preprocessor_.text_column_ == "review"
    wide = pd.DataFrame({"other": 1, "review": texts})
    np.testing.assert_allclose(fitted.predict_proba(wide), fitted.predict_proba(texts))
    with pytest.raises(ValueError, match="a column 'review'"):
        fitted.predict(pd.DataFrame({"a": texts, "b": texts}))


def test_clone_keeps_params_and_drops_fitted_state(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    with pytest.raises(NotFittedError):
        copy.predict(["good"])


def test_bad_inputs_name_the_problem(data):
    texts, labels, _ = data
    with pytest.raises(TypeError, match=r"`X\[1\]` must be a string. Received: None"):
        tiny().fit(["good", None, "bad"], ["a", "b", "a"])
    with pytest.raises(TypeError, match=r"`X\[2\]` must be a string. Received: 3.5"):
        tiny().fit(["good", "bad", 3.5], ["a", "b", "a"])
    with pytest.raises(ValueError, match="`X` is empty"):
        tiny().fit([], [])
    with pytest.raises(ValueError, match="different lengths"):
        tiny().fit(texts, labels[:-1])
    with pytest.raises(TypeError, match="not a single string"):
        tiny().fit("one text", ["a"])
    with pytest.raises(ValueError, match="`backbone` must be one of"):
        tiny(backbone="gru").fit(texts, labels)
    with pytest.raises(ValueError, match="`max_length` must be"):
        tiny(max_length=2).fit(texts, labels)
    with pytest.raises(ValueError, match="needs a fitted TextClassifier"):
        tiny().save_backbone("unused.kdm")
