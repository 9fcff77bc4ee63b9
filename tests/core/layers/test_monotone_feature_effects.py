import keras
import numpy as np
import pytest

from core.layers import MonotoneFeatureEffects
from tests.layer_test_case import run_layer_test


def _inputs(n=6, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.uniform(-6, 6, size=(n, 3))
    missing = rng.integers(0, 2, size=(n, 3))
    return np.hstack([values, missing]).astype("float32")


KWARGS = {"value_indices": [0, 2], "missing_indices": [3, 5], "signs": [1, -1], "num_knots": 5}


def test_layer_basics():
    run_layer_test(MonotoneFeatureEffects, KWARGS, _inputs(), (6, 1))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_monotone_for_any_weights(seed):
    layer = MonotoneFeatureEffects(**KWARGS)
    layer.build((None, 6))
    rng = np.random.default_rng(seed)
    layer.raw_weights.assign(rng.normal(scale=3.0, size=layer.raw_weights.shape))
    grid = np.linspace(-7, 7, 200, dtype="float32")
    base = np.repeat(_inputs(1, seed), len(grid), axis=0)
    for column, sign in ((0, 1), (2, -1)):
        x = base.copy()
        x[:, column] = grid
        out = keras.ops.convert_to_numpy(layer(x))[:, 0]
        assert (np.diff(out) * sign >= -1e-6).all()
        assert (np.diff(out) * sign).sum() > 0  # Not flat: the column has an effect.
    # A column without a constraint (index 1) has no effect at all.
    x = base.copy()
    x[:, 1] = grid
    np.testing.assert_allclose(np.ptp(keras.ops.convert_to_numpy(layer(x))), 0.0, atol=1e-6)


def test_missing_indicator_adds_its_effect():
    layer = MonotoneFeatureEffects(**KWARGS)
    layer.build((None, 6))
    layer.missing_effects.assign([0.5, -2.0])
    x = np.zeros((1, 6), dtype="float32")
    flagged = x.copy()
    flagged[0, 5] = 1.0
    delta = keras.ops.convert_to_numpy(layer(flagged) - layer(x))
    np.testing.assert_allclose(delta, [[-2.0]], atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"value_indices": []}, "value_indices"),
        ({"value_indices": [0], "signs": [2]}, "signs"),
        ({"value_indices": [0, 1], "missing_indices": [2]}, "missing_indices"),
        ({"value_indices": [0], "num_knots": 1}, "num_knots"),
        ({"value_indices": [0], "value_range": 0}, "value_range"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MonotoneFeatureEffects(**kwargs)
