import keras
import numpy as np
import pytest

from core.layers import VisitEmbedding
from tests.layer_test_case import run_layer_test

# Two patients, three visits of up to three codes; 0 is padding.
CODES = np.array(
    [
        [[3, 4, 0], [5, 0, 0], [0, 0, 0]],
        [[6, 6, 7], [0, 0, 0], [0, 0, 0]],
    ]
)
VALUES = np.where(CODES == 4, 1.5, 0.0).astype("float32")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_layer_basics_with_values():
    run_layer_test(
        VisitEmbedding,
        {"vocabulary_size": 10, "embedding_dim": 4, "use_values": True},
        CODES,
        (2, 3, 4),
        call_kwargs={"values": VALUES},
    )


def test_layer_basics_with_gates_and_float_ids():
    gates = np.random.default_rng(0).uniform(size=CODES.shape).astype("float32")
    run_layer_test(
        VisitEmbedding,
        {"vocabulary_size": 10, "embedding_dim": 4},
        CODES.astype("float32"),
        (2, 3, 4),
        call_kwargs={"code_gates": gates},
    )


def test_visit_is_scaled_sum_of_its_codes_and_padding_adds_nothing():
    layer = VisitEmbedding(10, 4)
    out = _np(layer(CODES))
    table = _np(layer.code_embeddings.embeddings)
    np.testing.assert_allclose(out[0, 0], (table[3] + table[4]) / np.sqrt(2), atol=1e-6)
    np.testing.assert_allclose(out[0, 1], table[5], atol=1e-6)
    np.testing.assert_allclose(out[1, 0], (2 * table[6] + table[7]) / np.sqrt(3), atol=1e-6)
    np.testing.assert_array_equal(out[:, 2], 0.0)  # A visit without codes.
    np.testing.assert_array_equal(out[1, 1:], 0.0)


def test_values_add_a_learned_direction_per_code():
    layer = VisitEmbedding(10, 4, use_values=True)
    layer(CODES, values=VALUES)
    direction = np.random.default_rng(1).standard_normal((10, 4)).astype("float32")
    layer.value_embeddings.assign(direction)
    base = _np(layer(CODES, values=np.zeros_like(VALUES)))
    moved = _np(layer(CODES, values=VALUES))
    np.testing.assert_allclose(moved[0, 0] - base[0, 0], 1.5 * direction[4] / np.sqrt(2), atol=1e-5)
    np.testing.assert_allclose(moved[0, 1:], base[0, 1:], atol=1e-6)
    with pytest.raises(ValueError, match="`values` must be given"):
        layer(CODES)


def test_gates_scale_each_code_linearly():
    layer = VisitEmbedding(10, 4)
    plain = _np(layer(CODES))
    np.testing.assert_allclose(_np(layer(CODES, code_gates=np.ones(CODES.shape))), plain)
    np.testing.assert_array_equal(_np(layer(CODES, code_gates=np.zeros(CODES.shape))), 0.0)
    gates = np.ones(CODES.shape, dtype="float32")
    gates[0, 0, 1] = 0.0  # Code 4 gated off; the normalisation still counts it.
    table = _np(layer.code_embeddings.embeddings)
    np.testing.assert_allclose(
        _np(layer(CODES, code_gates=gates))[0, 0], table[3] / np.sqrt(2), atol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary_size": 1, "embedding_dim": 4}, "`vocabulary_size` must be an integer >= 2"),
        ({"vocabulary_size": 10, "embedding_dim": 0}, "`embedding_dim` must be an integer >= 1"),
        ({"vocabulary_size": 10, "embedding_dim": 4, "use_values": 1}, "`use_values` must be"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VisitEmbedding(**kwargs)
