import os

import keras
import numpy as np
import pytest

from core.layers import VisitSequenceSplit

V, C, K = 2, 3, 4


def _row(seed=0):
    rng = np.random.default_rng(seed)
    codes = np.array([[3, 4, 0], [0, 0, 0]])
    values = rng.standard_normal((V, C))
    times = np.array([[40.0, 0.0], [0.0, 0.0]])
    wide_ids, wide_values = np.array([5, 9, 1, 0]), np.array([0.7, 1.1, 0.2, 0.0])
    flat = np.concatenate([codes.ravel(), values.ravel(), times.ravel(), wide_ids, wide_values])
    return flat.astype("float32"), codes, values, times, wide_ids, wide_values


def test_splits_the_blocks_and_masks_empty_visits():
    flat, codes, values, times, wide_ids, wide_values = _row()
    assert len(flat) == VisitSequenceSplit.flat_width(V, C, use_values=True, wide_slots=K)
    parts = VisitSequenceSplit(V, C, use_values=True, wide_slots=K)(flat[None])
    parts = {k: keras.ops.convert_to_numpy(v)[0] for k, v in parts.items()}
    np.testing.assert_array_equal(parts["codes"], codes)
    np.testing.assert_allclose(parts["values"], values, rtol=1e-6)
    np.testing.assert_array_equal(parts["times"], times)
    np.testing.assert_array_equal(parts["wide_ids"], wide_ids)
    np.testing.assert_allclose(parts["wide_values"], wide_values, rtol=1e-6)
    np.testing.assert_array_equal(parts["visit_mask"], [True, False])


def test_optional_blocks_are_left_out():
    _, codes, _, times, _, _ = _row()
    short = np.concatenate([codes.ravel(), times.ravel()]).astype("float32")
    assert len(short) == VisitSequenceSplit.flat_width(V, C)
    parts = VisitSequenceSplit(V, C)(short[None])
    assert sorted(parts) == ["codes", "times", "visit_mask"]


def test_config_and_saved_model_round_trip(tmp_path):
    layer = VisitSequenceSplit(V, C, use_values=True, wide_slots=K, name="split")
    config = layer.get_config()
    assert VisitSequenceSplit.from_config(config).get_config() == config
    inputs = keras.Input((VisitSequenceSplit.flat_width(V, C, True, K),))
    parts = layer(inputs)
    model = keras.Model(inputs, [parts["codes"], parts["visit_mask"], parts["wide_values"]])
    flat = np.stack([_row(0)[0], _row(1)[0]])
    expected = [keras.ops.convert_to_numpy(t) for t in model(flat)]
    path = os.path.join(tmp_path, "split.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    for got, want in zip(reloaded(flat), expected, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), want)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_visits": 0, "num_codes": 2}, "`num_visits` must be an integer >= 1"),
        ({"num_visits": 2, "num_codes": 2, "wide_slots": -1}, "`wide_slots` must be"),
        ({"num_visits": 2, "num_codes": 2, "use_values": "yes"}, "`use_values` must be"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VisitSequenceSplit(**kwargs)
