import keras
import numpy as np
import pytest

from core.backbones import (
    build_masked_code_model,
    build_visit_encoder,
    build_visit_sequence_model,
)
from core.backbones.visit_sequence_model import (
    BODY_MODEL,
    EMBEDDING_LAYER,
    ENCODER_MODEL,
    WIDE_LAYER,
)
from core.layers import VisitEmbedding, VisitMask

VOCABULARY, V, C, K, FEATURES = 12, 4, 3, 5, 40
TINY = {"embedding_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 16}


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _rows(n=3, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(3, VOCABULARY, size=(n, V, C)) * (rng.uniform(size=(n, V, C)) < 0.7)
    codes[:, -1] = 0  # A padding visit.
    values = rng.standard_normal((n, V, C)) * (codes > 0)
    times = np.abs(rng.standard_normal((n, V, 2))) * 100
    return {
        "codes": codes.astype("int32"),
        "values": values.astype("float32"),
        "times": times.astype("float32"),
        "wide_ids": rng.integers(1, FEATURES, size=(n, K)).astype("int32"),
        "wide_values": rng.uniform(size=(n, K)).astype("float32"),
    }


@pytest.mark.parametrize("backbone", ["transformer", "lstm"])
def test_wide_and_deep_model_starts_as_its_wide_path(backbone):
    model = build_visit_sequence_model(
        VOCABULARY,
        V,
        C,
        2,
        use_values=True,
        wide_features=FEATURES,
        wide_slots=K,
        backbone=backbone,
        lstm_units=4,
        **TINY,
    )
    rows = _rows()
    assert {t.name: (tuple(t.shape), t.dtype) for t in model.inputs} == {
        "codes": ((None, V, C), "int32"),
        "values": ((None, V, C), "float32"),
        "times": ((None, V, 2), "float32"),
        "wide_ids": ((None, K), "int32"),
        "wide_values": ((None, K), "float32"),
    }
    wide = model.get_layer(WIDE_LAYER)
    kernel = np.random.default_rng(1).standard_normal((FEATURES, 2))
    wide.set_coefficients(kernel, [0.5, -0.5])
    dense = wide.sparse_features(rows["wide_ids"], rows["wide_values"]).toarray()
    logits = _np(model(rows))
    assert logits.shape == (3, 1, 2)
    # The deep path's output layer starts at zero: the logits are the wide path's.
    np.testing.assert_allclose(logits[:, 0], dense @ kernel + [0.5, -0.5], rtol=1e-5)
    assert model.get_layer(BODY_MODEL).get_layer(ENCODER_MODEL) is not None


def test_deep_only_model_reads_codes_and_ignores_padding_visits():
    model = build_visit_sequence_model(VOCABULARY, V, C, 1, **TINY)
    assert [t.name for t in model.inputs] == ["codes", "times"]
    rows = {"codes": _rows()["codes"], "times": np.ones((3, V, 2), dtype="float32")}
    deep = model.get_layer(BODY_MODEL).get_layer("deep_logits")
    deep.set_weights([np.ones_like(w) for w in deep.get_weights()])
    out = _np(model(rows))
    assert out.shape == (3, 1, 1) and np.all(np.isfinite(out))
    # Times of the padding visit (the last) change nothing.
    moved = {**rows, "times": rows["times"].copy()}
    moved["times"][:, -1] = 999.0
    np.testing.assert_allclose(_np(model(moved)), out, atol=1e-5)
    assert isinstance(model.get_layer(EMBEDDING_LAYER), VisitEmbedding)


def test_encoder_takes_any_number_of_visits():
    encoder = build_visit_encoder(8, backbone="transformer", num_layers=1, num_heads=2)
    mask = np.array([[True] * 5 + [False] * 2])
    states = _np(encoder([np.zeros((1, 7, 8)), np.zeros((1, 7, 2)), mask]))
    assert states.shape == (1, 7, 8)
    with pytest.raises(ValueError, match="`backbone` must be one of"):
        build_visit_encoder(8, backbone="gru")


def test_masked_code_model_scores_the_vocabulary_at_masked_visits():
    embedding = VisitEmbedding(VOCABULARY, 8, use_values=True, name=EMBEDDING_LAYER)
    encoder = build_visit_encoder(8, backbone="lstm", num_layers=1, lstm_units=4)
    model = build_masked_code_model(embedding, encoder, V, C, max_predictions=2)
    rng = np.random.default_rng(0)
    codes = rng.integers(1, VOCABULARY, size=(3, V, C)).astype("int32")
    logits = model(
        [
            codes,
            np.zeros((3, V, C), "float32"),
            np.ones((3, V, 2), "float32"),
            np.ones((3, V), bool),
            np.array([[0, 2]] * 3, "int32"),
        ]
    )
    assert tuple(logits.shape) == (3, 2, VOCABULARY)
    # The output layer is tied to the code embeddings: both train together.
    assert any(w is embedding.code_embeddings.embeddings for w in model.trainable_weights)


def test_visit_mask_marks_visits_with_a_code():
    codes = np.array([[[4, 0], [0, 0], [0, 7]]], dtype="int32")
    np.testing.assert_array_equal(_np(VisitMask()(codes)), [[True, False, True]])
