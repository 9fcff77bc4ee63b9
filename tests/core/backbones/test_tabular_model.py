"""`build_tabular_model`: named inputs in, ensemble logits out, monotone columns by construction."""

import keras
import numpy as np
import pytest

from core.backbones import build_tabular_model
from core.backbones.tabular_model import tabular_model_parts


def _inputs(n=6, seed=0):
    rng = np.random.default_rng(seed)
    numeric = np.hstack([rng.normal(size=(n, 2)), np.zeros((n, 2))]).astype("float32")
    return {"numeric": numeric, "categorical": rng.integers(0, 5, (n, 1)).astype("int32")}


def test_the_model_takes_named_inputs_with_integer_codes():
    model = build_tabular_model(2, [5], 3, embedding_dim=4, hidden_units=(8,), n_members=2)
    assert {t.name: (tuple(t.shape), t.dtype) for t in model.inputs} == {
        "numeric": ((None, 4), "float32"),
        "categorical": ((None, 1), "int32"),
    }
    assert model(_inputs()).shape == (6, 2, 3)


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
def test_a_table_of_one_kind_has_one_input(kind):
    numeric, cardinalities = (2, []) if kind == "numeric" else (0, [5])
    model = build_tabular_model(numeric, cardinalities, 1, hidden_units=(4,), n_members=1)
    assert [t.name for t in model.inputs] == [kind]
    assert model({kind: _inputs()[kind]}).shape == (6, 1, 1)


def test_monotone_columns_read_the_numeric_input():
    model = build_tabular_model(
        2, [5], 1, hidden_units=(8,), n_members=1, monotone_columns=[(1, -1)], value_range=5.0
    )
    inputs = _inputs(n=1)
    rows = {name: np.repeat(array, 21, axis=0) for name, array in inputs.items()}
    rows["numeric"][:, 1] = np.linspace(-5, 5, 21)
    logits = keras.ops.convert_to_numpy(model(rows))[:, 0, 0]
    assert np.all(np.diff(logits) <= 1e-6)  # Decreasing in column 1, whatever the weights,
    assert logits[0] > logits[-1]  # and moved by it: the monotone path reads that column.
    assert len(tabular_model_parts(model).head.inputs) == 2
