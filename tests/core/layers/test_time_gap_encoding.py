import keras
import numpy as np
import pytest

from core.layers import TimeGapEncoding
from tests.layer_test_case import run_layer_test

# Days before the prediction and days since the previous visit, for 2 patients x 3 visits.
TIMES = np.array(
    [[[700.0, 0.0], [30.0, 670.0], [2.0, 28.0]], [[36500.0, 0.0], [0.0, 36500.0], [0, 0]]],
    dtype="float32",
)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_layer_basics():
    run_layer_test(TimeGapEncoding, {"output_dim": 8, "num_frequencies": 4}, TIMES, (2, 3, 8))


def test_features_are_log_durations_and_their_sinusoids():
    layer = TimeGapEncoding(8, num_frequencies=3)
    features = _np(layer.features(TIMES))
    assert features.shape == (2, 3, 2 * (1 + 2 * 3))
    # Per duration: log1p(days) / 5, then 3 sines and 3 cosines of it.
    per_duration = features.reshape(2, 3, 2, 7)
    np.testing.assert_allclose(per_duration[..., 0], np.log1p(TIMES) / 5.0, rtol=1e-5)
    assert np.all(np.abs(per_duration[..., 1:]) <= 1.0 + 1e-6)
    np.testing.assert_allclose(
        per_duration[..., 1:4] ** 2 + per_duration[..., 4:] ** 2, 1.0, rtol=1e-5
    )
    # 2 days and 30 days get different features.
    assert not np.allclose(per_duration[0, 1, 0], per_duration[0, 2, 0])


def test_negative_durations_count_as_zero():
    layer = TimeGapEncoding(4)
    np.testing.assert_allclose(
        _np(layer(np.array([[[-5.0, 3.0]]]))), _np(layer(np.array([[[0.0, 3.0]]])))
    )


@pytest.mark.parametrize("kwargs", [{"output_dim": 0}, {"output_dim": 4, "num_frequencies": -1}])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError, match="must be a positive integer"):
        TimeGapEncoding(**kwargs)
