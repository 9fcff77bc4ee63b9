"""Mixed precision and XLA options, on the CPU."""

import keras
import numpy as np
import pytest

from core.estimators import TabularClassifier
from core.training import float32_outputs, precision_policy


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    return X, y


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_predicts_in_float32(precision, tmp_path):
    X, y = _data()
    model = TabularClassifier(
        precision=precision,
        n_members=1,
        hidden_units=(16,),
        max_epochs=15,
        learning_rate=1e-2,
        random_state=0,
    ).fit(X, y)
    compute_dtype = precision.removeprefix("mixed_")
    layer_dtypes = {layer.compute_dtype for layer in model.model_._flatten_layers()}
    assert compute_dtype in layer_dtypes
    assert all(w.dtype == "float32" for w in model.model_.trainable_weights)
    assert model.model_.outputs[0].dtype == "float32"
    assert model.history_["loss"][-1] < model.history_["loss"][0]
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert model.score(X, y) > 0.9
    loaded = TabularClassifier.load(model.save(tmp_path / "mixed.kdm"))
    np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-6)
    # The global policy is restored after fit.
    assert keras.config.dtype_policy().name == "float32"


def test_float32_outputs_casts_only_low_precision_outputs():
    with precision_policy("mixed_bfloat16"):
        inputs = keras.Input((3,))
        low = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert low.outputs[0].dtype == "bfloat16"
    cast = float32_outputs(low)
    assert cast.outputs[0].dtype == "float32"
    assert cast(np.ones((1, 3), np.float32)).dtype == "float32"
    plain_inputs = keras.Input((3,))
    plain = keras.Model(plain_inputs, keras.layers.Dense(2)(plain_inputs))
    assert float32_outputs(plain) is plain


def test_jit_compile_is_passed_to_keras():
    X, y = _data()
    model = TabularClassifier(
        jit_compile=True, n_members=1, hidden_units=(8,), max_epochs=2, random_state=0
    ).fit(X, y)
    assert model.model_.jit_compile is True
    assert np.isfinite(model.predict_proba(X)).all()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"precision": "float16"}, "`precision` must be one of"),
        ({"jit_compile": "yes"}, "`jit_compile` must be True, False or 'auto'"),
        (
            {"precision": "mixed_float16", "privacy": {"l2_norm_clip": 1, "noise_multiplier": 1}},
            "mixed_bfloat16",
        ),
    ],
)
def test_bad_compute_options_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        TabularClassifier(**params).fit([[0.0], [1.0]], [0, 1])
