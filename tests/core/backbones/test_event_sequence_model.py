"""`build_event_sequence_model`: named per-event inputs, absent history slots ignored."""

import keras
import numpy as np
import pytest

from core.backbones import build_event_sequence_model
from core.backbones.event_sequence_model import event_sequence_model_parts

WINDOW = 3


def _inputs(n=4, seed=0):
    rng = np.random.default_rng(seed)
    steps = WINDOW + 1
    present = np.ones((n, steps), bool)
    present[0, :2] = False  # The first row has one predecessor only.
    return {
        "numeric": rng.normal(size=(n, steps, 4)).astype("float32"),
        "categorical": rng.integers(0, 5, (n, steps, 1)).astype("int32"),
        "gaps": rng.uniform(0, 3, (n, steps, 1)).astype("float32"),
        "present": present,
    }


@pytest.mark.parametrize("backbone", ["lstm", "transformer"])
def test_named_inputs_and_absent_history_slots_change_nothing(backbone):
    model = build_event_sequence_model(
        2, [5], WINDOW, backbone=backbone, embedding_dim=4, encoder_units=8, hidden_units=(8,)
    )
    assert {t.name: t.dtype for t in model.inputs} == {
        "numeric": "float32",
        "categorical": "int32",
        "gaps": "float32",
        "present": "bool",
    }
    inputs = _inputs()
    logits = keras.ops.convert_to_numpy(model(inputs))
    assert logits.shape == (4, 1, 1)
    moved = {name: array.copy() for name, array in inputs.items()}
    moved["numeric"][0, :2] = 50.0  # Only the absent slots of row 0.
    moved["categorical"][0, :2] = 4
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(moved)), logits, atol=1e-5)
    moved["numeric"][0, 2] = 50.0  # A present slot does count.
    assert not np.allclose(keras.ops.convert_to_numpy(model(moved))[0], logits[0], atol=1e-5)
    parts = event_sequence_model_parts(model)
    tokens = parts.embedding({"numeric": inputs["numeric"], "categorical": inputs["categorical"]})
    assert tuple(tokens.shape) == (4, WINDOW + 1, 3, 4)


def test_without_history_the_current_event_alone_is_read():
    model = build_event_sequence_model(
        2, [], 0, embedding_dim=4, encoder_units=8, hidden_units=(8,)
    )
    assert sorted(t.name for t in model.inputs) == ["gaps", "numeric", "present"]
    out = model(
        {
            "numeric": np.zeros((2, 1, 4)),
            "gaps": np.zeros((2, 1, 1)),
            "present": np.ones((2, 1), bool),
        }
    )
    assert tuple(out.shape) == (2, 1, 1)
