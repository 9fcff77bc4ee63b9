import keras
import numpy as np
import pytest

from core.layers import EventHistorySplit

F, W = 3, 2


def _flat(present):
    """Rows laid out as [current | history events | gaps | present]."""
    rows = []
    for i, flags in enumerate(present):
        current = np.full(F, 100.0 + i)
        history = np.arange(W * F, dtype=float) + 10 * i
        gaps = np.array([2.0, 1.0])
        rows.append(np.concatenate([current, history, gaps, flags]))
    return np.asarray(rows, dtype="float32")


def test_splits_events_gaps_and_mask():
    x = _flat([[0, 1], [1, 1]])
    events, gaps, mask = (np.asarray(t) for t in EventHistorySplit(F, W)(x))
    assert (
        events.shape == (2, W + 1, F) and gaps.shape == (2, W + 1, 1) and mask.shape == (2, W + 1)
    )
    np.testing.assert_array_equal(events[:, -1], x[:, :F])  # The current event comes last.
    np.testing.assert_array_equal(events[1, :W].ravel(), x[1, F : F + W * F])
    np.testing.assert_array_equal(gaps[:, :, 0], [[2, 1, 0], [2, 1, 0]])
    np.testing.assert_array_equal(mask, [[False, True, True], [True, True, True]])


def test_window_zero_is_the_current_event_alone():
    x = _flat([[1, 1]])[:, :F]
    events, gaps, mask = (np.asarray(t) for t in EventHistorySplit(F, 0)(x))
    np.testing.assert_array_equal(events[:, 0], x)
    assert gaps.shape == (1, 1, 1) and mask.tolist() == [[True]]


def test_config_and_saved_model_round_trip(tmp_path):
    # Three outputs, so the single-output run_layer_test does not apply.
    layer = EventHistorySplit(F, W)
    assert EventHistorySplit.from_config(layer.get_config()).get_config() == layer.get_config()
    inputs = keras.Input((F + W * (F + 2),))
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "split.keras")
    loaded = keras.saving.load_model(tmp_path / "split.keras", safe_mode=True)
    x = _flat([[0, 1], [1, 1], [0, 0]])
    for expected, actual in zip(model(x), loaded(x), strict=True):
        np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_features": 0, "window": 1}, "num_features"),
        ({"num_features": 2, "window": -1}, "window"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EventHistorySplit(**kwargs)
