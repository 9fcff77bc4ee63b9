"""`InferenceFunction` on one input matrix and on named inputs, in chunks, from threads."""

from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np

from core.inference import InferenceFunction, inference_function


class _OffsetFromTwoTo24(keras.layers.Layer):
    """`id - 2**24` per id, in integers: 1 for the id 2**24 + 1, which float32 rounds to 2**24."""

    def call(self, ids):
        return keras.ops.cast(ids - 2**24, "float32")


def _named_model():
    numbers = keras.Input((3,), name="numbers")
    ids = keras.Input((2,), dtype="int32", name="ids")
    outputs = keras.layers.Concatenate()(
        [keras.layers.Dense(1)(numbers), _OffsetFromTwoTo24()(ids)]
    )
    return keras.Model({"numbers": numbers, "ids": ids}, outputs)


def _named_inputs(n):
    rng = np.random.default_rng(0)
    # Ids above 2**24 are not exact in float32: they must reach the model as integers.
    ids = np.array([[2**24 + 1, 5]] * n, dtype=np.int64)
    return {"numbers": rng.normal(size=(n, 3)), "ids": ids}


def test_named_inputs_match_the_model_and_ids_stay_integers():
    model = _named_model()
    inputs = _named_inputs(5)
    got = InferenceFunction(model)(inputs)
    expected = keras.ops.convert_to_numpy(
        model({"numbers": inputs["numbers"].astype("float32"), "ids": inputs["ids"]})
    )
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_array_equal(got[:, 1], 1.0)  # Through float32, the id would give 0.


def test_named_inputs_are_run_in_chunks(monkeypatch):
    monkeypatch.setattr(inference_function, "INFERENCE_CHUNK", 4)
    model = _named_model()
    inputs = _named_inputs(10)
    whole = keras.ops.convert_to_numpy(model(keras.tree.map_structure(np.asarray, inputs)))
    np.testing.assert_allclose(InferenceFunction(model)(inputs), whole, atol=1e-6)


def test_zeros_have_the_model_input_structure():
    function = InferenceFunction(_named_model())
    zeros = function.zeros(2)
    assert {name: (a.shape, a.dtype) for name, a in zeros.items()} == {
        "numbers": ((2, 3), np.float32),
        "ids": ((2, 2), np.int32),
    }
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert InferenceFunction(plain).zeros().shape == (1, 4)


def test_calls_from_threads_equal_the_serial_answers():
    function = InferenceFunction(_named_model())
    batches = [{k: v[i : i + 1] for k, v in _named_inputs(8).items()} for i in range(8)]
    serial = [function(batch) for batch in batches]
    with ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(function, batches))
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b)
