import keras
import numpy as np

from core.layers.padding_mask import PaddingMask

IDS = np.array([[5, 2, 0, 0], [0, 3, 1, 0]])
EXPECTED = IDS != 0


def test_int_ids():
    for dtype in ("int32", "int64"):
        mask = keras.ops.convert_to_numpy(PaddingMask()(IDS.astype(dtype)))
        assert mask.dtype == bool
        np.testing.assert_array_equal(mask, EXPECTED)


def test_float_ids():
    mask = keras.ops.convert_to_numpy(PaddingMask()(IDS.astype("float32")))
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, EXPECTED)


def test_symbolic_output_is_bool_in_a_functional_model():
    for dtype in ("int32", "float32"):
        ids = keras.Input((None,), dtype=dtype)
        mask = PaddingMask()(ids)
        assert mask.dtype == "bool"
        assert tuple(mask.shape) == (None, None)
        model = keras.Model(ids, mask)
        outputs = keras.ops.convert_to_numpy(model(IDS.astype(dtype)))
        assert outputs.dtype == bool
        np.testing.assert_array_equal(outputs, EXPECTED)


def test_config_round_trip():
    layer = PaddingMask(name="mask")
    revived = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(revived) is PaddingMask
    assert revived.get_config() == layer.get_config()
