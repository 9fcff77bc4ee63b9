import keras
import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from core.layers.hashed_ngram_bag import MAX_VOCABULARY, HashedNgramBag
from tests.layer_test_case import run_layer_test

VOCABULARY = 20
# Every bigram index a * 20 + b is below 400, so with 400 buckets no two bigrams collide.
NO_COLLISIONS = VOCABULARY**2
IDS = np.array([[3, 7, 12, 5, 0, 0], [7, 3, 9, 0, 0, 0], [1, 2, 3, 4, 5, 6]])


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _documents(token_ids):
    return [" ".join(str(t) for t in row if t != 0) for row in token_ids]


def _random_documents(n_rows=40, seq_len=10, seed=0):
    """Token ids with trailing padding, no token repeated within a row."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((n_rows, seq_len), dtype=np.int64)
    for row in ids:
        length = rng.integers(1, seq_len + 1)
        # Ids 1-14 only, so ids 15-19 are never seen.
        row[:length] = rng.choice(np.arange(1, 15), size=length, replace=False)
    return ids


def _layer(num_buckets=16, **kwargs):
    return HashedNgramBag(VOCABULARY, output_dim=3, num_buckets=num_buckets, **kwargs)


def _random_weights(layer, seed=0):
    shape = (layer.vocabulary_size + layer.num_buckets, layer.output_dim)
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_layer_basics():
    run_layer_test(
        HashedNgramBag, {"vocabulary_size": 20, "output_dim": 3, "num_buckets": 16}, IDS, (3, 3)
    )


def test_layer_basics_with_gates_and_unigrams_only():
    gates = np.random.default_rng(0).uniform(size=IDS.shape).astype("float32")
    run_layer_test(
        HashedNgramBag,
        {"vocabulary_size": 20, "output_dim": 2, "num_buckets": 0},
        IDS,
        (3, 2),
        call_kwargs={"token_gates": gates},
    )


def test_adapt_gives_sklearn_smoothed_idf():
    ids = _random_documents()
    layer = _layer(num_buckets=NO_COLLISIONS)
    layer.adapt(ids)
    idf = _np(layer.idf)

    unigrams = TfidfVectorizer(token_pattern=r"\S+", smooth_idf=True).fit(_documents(ids))
    for term, column in unigrams.vocabulary_.items():
        np.testing.assert_allclose(idf[int(term)], unigrams.idf_[column], rtol=1e-6)
    # Padding and the ids no document holds weigh 0.
    np.testing.assert_array_equal(idf[[0, 15, 16, 17, 18, 19]], 0.0)
    assert np.all(idf[1:15] > 0)

    bigrams = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(2, 2)).fit(_documents(ids))
    seen = np.zeros(NO_COLLISIONS, dtype=bool)
    for term, column in bigrams.vocabulary_.items():
        a, b = (int(t) for t in term.split())
        index = a * VOCABULARY + b
        seen[index] = True
        np.testing.assert_allclose(idf[VOCABULARY + index], bigrams.idf_[column], rtol=1e-6)
    np.testing.assert_array_equal(idf[VOCABULARY:][~seen], 0.0)


def test_before_adapt_every_ngram_weighs_one():
    # Neither method needs the layer to be built or adapted first.
    features = _layer().sparse_features(IDS[:1]).toarray()[0]
    # Row [3, 7, 12, 5]: 4 unigrams and 3 bigrams of weight 1, so each is 1 / sqrt(7).
    assert np.count_nonzero(features) == 7
    np.testing.assert_allclose(features[[3, 5, 7, 12]], 1 / np.sqrt(7))
    layer = _layer()
    layer.set_slot_weights(np.ones((VOCABULARY + 16, 3)))
    np.testing.assert_allclose(_np(layer(IDS[:1]))[0], np.full(3, 7 / np.sqrt(7)), rtol=1e-6)


def test_sparse_features_match_sklearn_tfidf_without_repeats():
    ids = _random_documents()
    layer = _layer(num_buckets=NO_COLLISIONS)
    layer.adapt(ids)
    features = layer.sparse_features(ids).toarray()

    vectorizer = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2))
    expected = vectorizer.fit_transform(_documents(ids)).toarray()
    for term, column in vectorizer.vocabulary_.items():
        tokens = [int(t) for t in term.split()]
        slot = tokens[0] if len(tokens) == 1 else VOCABULARY + tokens[0] * VOCABULARY + tokens[1]
        np.testing.assert_allclose(features[:, slot], expected[:, column], atol=1e-6)
    assert np.count_nonzero(features) == np.count_nonzero(expected)


@pytest.mark.parametrize("num_buckets", [0, 16])
def test_sparse_features_times_weights_equals_call(num_buckets):
    ids = _random_documents(n_rows=12, seq_len=8, seed=1)
    # Repeated tokens and padding inside a row too.
    ids[0] = [4, 4, 9, 4, 9, 0, 0, 0]
    ids[1] = [0, 0, 0, 0, 0, 0, 0, 0]
    layer = _layer(num_buckets=num_buckets)
    layer.adapt(_random_documents(n_rows=30, seq_len=8, seed=2))
    weights = _random_weights(layer)
    layer.set_slot_weights(weights)
    features = layer.sparse_features(ids)
    assert features.shape == (12, VOCABULARY + num_buckets)
    np.testing.assert_allclose(
        features @ weights.astype(np.float64), _np(layer(ids)), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(_np(layer(ids))[1], 0.0)


def test_token_gates():
    layer = _layer()
    layer.adapt(IDS)
    weights = _random_weights(layer)
    layer.set_slot_weights(weights)
    plain = _np(layer(IDS))
    assert not np.allclose(plain, 0.0)
    ones = np.ones(IDS.shape, dtype="float32")
    np.testing.assert_allclose(_np(layer(IDS, token_gates=ones)), plain, atol=1e-6)
    np.testing.assert_array_equal(_np(layer(IDS, token_gates=np.zeros_like(ones))), 0.0)
    # Gates leave the normalisation alone: half gates halve each unigram's part and
    # quarter each bigram's.
    assert not np.allclose(_np(layer(IDS, token_gates=0.5 * ones)), 0.5 * plain, atol=1e-4)
    weights[VOCABULARY:] = 0.0
    layer.set_slot_weights(weights)
    np.testing.assert_allclose(
        _np(layer(IDS, token_gates=0.5 * ones)), 0.5 * _np(layer(IDS)), atol=1e-6
    )


def test_bigrams_make_order_matter():
    forward, backward = np.array([[3, 7]]), np.array([[7, 3]])
    layer = _layer(num_buckets=16)
    layer.adapt(np.array([[3, 7], [7, 3], [5, 6]]))
    layer.set_slot_weights(_random_weights(layer))
    assert not np.allclose(_np(layer(forward)), _np(layer(backward)), atol=1e-4)

    unigrams = _layer(num_buckets=0)
    unigrams.adapt(np.array([[3, 7], [7, 3], [5, 6]]))
    unigrams.set_slot_weights(_random_weights(unigrams))
    np.testing.assert_allclose(_np(unigrams(forward)), _np(unigrams(backward)), atol=1e-6)


@pytest.mark.parametrize("num_buckets", [0, 16])
def test_trailing_padding_does_not_change_output(num_buckets):
    layer = _layer(num_buckets=num_buckets)
    layer.adapt(IDS)
    layer.set_slot_weights(_random_weights(layer))
    short = np.array([[3, 7, 12, 5]])
    padded = np.array([[3, 7, 12, 5, 0, 0, 0]])
    np.testing.assert_allclose(_np(layer(padded)), _np(layer(short)), atol=1e-6)
    np.testing.assert_allclose(_np(layer(IDS[:1])), _np(layer(short)), atol=1e-6)


def test_output_shape_in_functional_model():
    inputs = keras.Input((6,), dtype="int32")
    outputs = _layer()(inputs)
    assert tuple(outputs.shape) == (None, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"vocabulary_size": 1},
            "`vocabulary_size` must be an integer >= 2. Received: vocabulary_size=1",
        ),
        ({"vocabulary_size": 20.0}, "`vocabulary_size` must be an integer >= 2"),
        ({"vocabulary_size": MAX_VOCABULARY + 1}, "`vocabulary_size` must be at most 46340"),
        ({"output_dim": 0}, "`output_dim` must be an integer >= 1. Received: output_dim=0"),
        ({"output_dim": True}, "`output_dim` must be an integer >= 1"),
        ({"num_buckets": -1}, "`num_buckets` must be an integer >= 0. Received: num_buckets=-1"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HashedNgramBag(**{"vocabulary_size": 20, "output_dim": 3, **kwargs})


def test_adapt_rejects_non_2d_ids():
    with pytest.raises(ValueError, match="`token_ids` must be a 2-D array"):
        _layer().adapt(np.array([3, 7, 0]))
