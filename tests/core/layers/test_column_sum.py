import numpy as np

from core.layers.column_sum import ColumnSum
from tests.layer_test_case import run_layer_test


def test_layer_contract_and_sum():
    values = np.arange(24, dtype="float32").reshape(2, 3, 4)
    layer = run_layer_test(ColumnSum, {}, values, (2, 4), run_training_check=False)
    np.testing.assert_allclose(np.asarray(layer(values)), values.sum(axis=1))
