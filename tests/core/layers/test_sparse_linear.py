import keras
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from core.layers import SparseLinear
from tests.layer_test_case import run_layer_test

IDS = np.array([[3, 7, 0, 0], [7, 7, 1, 0], [2, 9, 4, 5]])
VALUES = np.array([[1.0, 0.5, 0, 0], [1.0, 2.0, 0.3, 0], [0.1, 0.2, 0.3, 0.4]], dtype="float32")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_layer_basics():
    run_layer_test(
        SparseLinear,
        {"num_features": 10, "output_dim": 2},
        IDS,
        (3, 2),
        call_kwargs={"values": VALUES},
    )


def test_output_is_the_sparse_rows_times_the_kernel():
    layer = SparseLinear(10, 2)
    layer(IDS, values=VALUES)
    rng = np.random.default_rng(0)
    kernel, bias = rng.standard_normal((10, 2)), rng.standard_normal(2)
    layer.set_coefficients(kernel, bias)
    dense = layer.sparse_features(IDS, VALUES).toarray()
    # Repeated ids add up; padding (value 0) adds nothing.
    assert dense[1, 7] == pytest.approx(3.0) and dense[0, 0] == 0.0
    np.testing.assert_allclose(_np(layer(IDS, values=VALUES)), dense @ kernel + bias, rtol=1e-5)
    np.testing.assert_allclose(
        _np(layer(IDS.astype("float32"), values=VALUES)), dense @ kernel + bias, rtol=1e-5
    )


def test_loads_a_fitted_logistic_regression_exactly():
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 10, size=(60, 4))
    values = rng.uniform(size=(60, 4)).astype("float32")
    y = (values[:, 0] * (ids[:, 0] > 5) > 0.3).astype(int)
    layer = SparseLinear(10, 1)
    features = layer.sparse_features(ids, values)
    model = LogisticRegression().fit(features, y)
    layer.set_coefficients(model.coef_.T, model.intercept_)
    np.testing.assert_allclose(
        _np(layer(ids, values=values))[:, 0],
        model.decision_function(features),
        rtol=1e-4,
        atol=1e-5,
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="`num_features` must be a positive integer"):
        SparseLinear(0, 1)
    layer = SparseLinear(5, 1)
    with pytest.raises(ValueError, match=r"Feature ids must be in \[0, 5\)"):
        layer.sparse_features(np.array([[7]]), np.array([[1.0]]))
    with pytest.raises(ValueError, match="same shape"):
        layer.sparse_features(np.array([[1, 2]]), np.array([[1.0]]))
