import os

import keras
import numpy as np
import pytest

from core.backbones.causal_lm_model import CachedDecoding, FullDecoding, build_causal_lm_model

VOCABULARY = 20
CONTEXT = 12


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture
def model():
    # Dropout on: decoding must run the model in inference mode.
    return build_causal_lm_model(
        VOCABULARY,
        CONTEXT,
        embedding_dim=8,
        num_layers=2,
        num_heads=2,
        intermediate_dim=16,
        dropout=0.1,
    )


def _ids(shape, seed=0):
    return np.random.default_rng(seed).integers(1, VOCABULARY, size=shape).astype("int32")


def test_output_shape(model):
    assert _np(model(_ids((3, CONTEXT)))).shape == (3, CONTEXT, VOCABULARY)
    assert _np(model(_ids((1, 5)))).shape == (1, 5, VOCABULARY)


def test_cached_decoding_matches_full_decoding_past_the_context(model):
    cached, full = CachedDecoding(model), FullDecoding(model)
    prompt = _ids(5).tolist()
    np.testing.assert_allclose(cached.start(prompt), full.start(prompt), atol=1e-4)
    # 15 steps from 5 tokens: the context (12) fills and is cut back at least once.
    for token in _ids(15, seed=1).tolist():
        np.testing.assert_allclose(cached.advance(token), full.advance(token), atol=1e-4)
    assert cached._tokens == full._tokens
    assert len(full._tokens) < 5 + 15


@pytest.mark.parametrize("context", [1, 2, 3])
def test_tiny_context(context):
    model = build_causal_lm_model(
        VOCABULARY, context, embedding_dim=4, num_layers=1, num_heads=1, intermediate_dim=4
    )
    cached, full = CachedDecoding(model), FullDecoding(model)
    np.testing.assert_allclose(cached.start([5]), full.start([5]), atol=1e-4)
    for token in (3, 7, 11, 2, 9):
        np.testing.assert_allclose(cached.advance(token), full.advance(token), atol=1e-4)
        assert cached._tokens == full._tokens
        assert 1 <= len(full._tokens) <= context


def test_prompt_longer_than_the_context(model):
    cached, full = CachedDecoding(model), FullDecoding(model)
    prompt = _ids(CONTEXT + 4, seed=2).tolist()
    np.testing.assert_allclose(cached.start(prompt), full.start(prompt), atol=1e-4)
    np.testing.assert_allclose(
        full.start(prompt), _np(model(np.array([prompt[-CONTEXT:]])))[0, -1], atol=1e-5
    )
    for token in (3, 7, 11):
        np.testing.assert_allclose(cached.advance(token), full.advance(token), atol=1e-4)


def test_full_model_last_position_matches_cached_start(model):
    prompt = _ids(7, seed=3)
    expected = _np(model(prompt[None]))[0, -1]
    np.testing.assert_allclose(CachedDecoding(model).start(prompt.tolist()), expected, atol=1e-4)


def test_causal(model):
    ids = _ids((2, CONTEXT), seed=4)
    logits = _np(model(ids))
    for t in (0, 5, CONTEXT - 2):
        changed = ids.copy()
        changed[:, t + 1 :] = (changed[:, t + 1 :] % (VOCABULARY - 1)) + 1
        assert not np.array_equal(changed, ids)
        changed_logits = _np(model(changed))
        np.testing.assert_allclose(changed_logits[:, : t + 1], logits[:, : t + 1], atol=1e-5)
        assert not np.allclose(changed_logits[:, t + 1 :], logits[:, t + 1 :], atol=1e-3)


def test_output_layer_is_tied_to_the_token_embedding(model):
    ids = _ids((1, 6), seed=5)
    before = _np(model(ids))
    matrix = model.get_layer("embedding").token_embeddings.embeddings
    # Changing only the rows of tokens absent from the input changes only their logits.
    absent = np.setdiff1d(np.arange(VOCABULARY), ids)
    new = _np(matrix).copy()
    # (Not a constant shift: the final layer norm makes every hidden state sum to 0.)
    new[absent] += np.random.default_rng(0).standard_normal(new[absent].shape)
    matrix.assign(new)
    after = _np(model(ids))
    np.testing.assert_allclose(np.delete(after, absent, -1), np.delete(before, absent, -1))
    assert not np.allclose(after[..., absent], before[..., absent], atol=1e-3)


def test_save_and_load(model, tmp_path):
    ids = _ids((2, CONTEXT), seed=6)
    expected = _np(model(ids))
    path = os.path.join(tmp_path, "causal_lm.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(_np(reloaded(ids)), expected, atol=1e-6)
    assert len(reloaded.weights) == len(model.weights)
    prompt = ids[0, :4].tolist()
    np.testing.assert_allclose(
        CachedDecoding(reloaded).start(prompt), CachedDecoding(model).start(prompt), atol=1e-5
    )
