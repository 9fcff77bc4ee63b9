import keras
import numpy as np
import pytest

from core.losses import EnsembleCrossEntropy


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _logits(shape, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 2).astype("float32")


@pytest.mark.parametrize("mode, n_outputs", [("binary", 1), ("multilabel", 4)])
def test_sigmoid_modes_match_keras_per_member(mode, n_outputs):
    batch, members = 6, 3
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 2, (batch, n_outputs)).astype("float32")
    y_pred = _logits((batch, members, n_outputs))
    loss = EnsembleCrossEntropy(mode=mode)
    per_member = [
        _np(keras.losses.binary_crossentropy(y_true, y_pred[:, m], from_logits=True))
        for m in range(members)
    ]
    expected = np.mean(per_member, axis=0)
    assert expected.shape == (batch,)
    np.testing.assert_allclose(_np(loss.call(y_true, y_pred)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(loss(y_true, y_pred)), expected.mean(), rtol=1e-5)


def test_binary_matches_the_formula():
    y_true = np.array([[1.0], [0.0], [1.0]], dtype="float32")
    y_pred = _logits((3, 2, 1), seed=2)
    p = 1 / (1 + np.exp(-y_pred.astype(np.float64)))
    y = y_true[:, None, :]
    expected = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=(1, 2))
    loss = EnsembleCrossEntropy()
    assert loss.mode == "binary"
    np.testing.assert_allclose(_np(loss.call(y_true, y_pred)), expected, rtol=1e-5)


def test_multiclass_matches_keras_per_member():
    batch, members, classes = 5, 4, 3
    y_true = np.array([0, 2, 1, 2, 0])
    y_pred = _logits((batch, members, classes), seed=3)
    loss = EnsembleCrossEntropy(mode="multiclass")
    per_member = [
        _np(keras.losses.sparse_categorical_crossentropy(y_true, y_pred[:, m], from_logits=True))
        for m in range(members)
    ]
    expected = np.mean(per_member, axis=0)
    np.testing.assert_allclose(_np(loss.call(y_true, y_pred)), expected, rtol=1e-5, atol=1e-6)
    # Column-shaped integer targets give the same loss.
    np.testing.assert_allclose(
        _np(loss.call(y_true[:, None], y_pred)), expected, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(_np(loss(y_true, y_pred)), expected.mean(), rtol=1e-5)


def test_members_are_scored_separately_not_averaged_first():
    # Two members with opposite logits: their average logit is 0 (loss log 2),
    # but each member's own loss differs, and the mean of those is larger.
    y_true = np.array([[1.0]], dtype="float32")
    y_pred = np.array([[[4.0], [-4.0]]], dtype="float32")
    value = float(_np(EnsembleCrossEntropy().call(y_true, y_pred))[0])
    expected = 0.5 * (np.log1p(np.exp(-4.0)) + np.log1p(np.exp(4.0)))
    assert value == pytest.approx(expected, rel=1e-5)
    assert value > np.log(2) + 1.0


@pytest.mark.parametrize("mode", ["softmax", "Binary", "", None])
def test_invalid_mode(mode):
    with pytest.raises(ValueError, match="`mode` must be one of"):
        EnsembleCrossEntropy(mode=mode)


@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
def test_config_round_trip(mode):
    loss = EnsembleCrossEntropy(mode=mode, name="my_loss", reduction="sum")
    config = loss.get_config()
    assert config["mode"] == mode and config["name"] == "my_loss"
    restored = EnsembleCrossEntropy.from_config(config)
    assert (restored.mode, restored.name, restored.reduction) == (mode, "my_loss", "sum")
    serialized = keras.saving.serialize_keras_object(loss)
    deserialized = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(deserialized, EnsembleCrossEntropy) and deserialized.mode == mode
    if mode == "multiclass":
        y_true, y_pred = np.array([1, 0]), _logits((2, 3, 3), seed=4)
    else:
        y_true, y_pred = np.array([[1.0, 0.0], [0.0, 1.0]], "float32"), _logits((2, 3, 2), 4)
    np.testing.assert_allclose(_np(deserialized(y_true, y_pred)), _np(loss(y_true, y_pred)))


@pytest.mark.parametrize("mode, n_outputs", [("binary", 1), ("multilabel", 2), ("multiclass", 3)])
def test_member_weights_select_which_members_a_row_counts_for(mode, n_outputs):
    batch, members = 4, 3
    rng = np.random.default_rng(5)
    if mode == "multiclass":
        targets = rng.integers(0, n_outputs, (batch, 1)).astype("float32")
    else:
        targets = rng.integers(0, 2, (batch, n_outputs)).astype("float32")
    y_pred = _logits((batch, members, n_outputs), seed=6)
    masks = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 1], [0, 0, 1]], dtype="float32")
    plain = EnsembleCrossEntropy(mode=mode)
    per_member = np.stack(
        [
            _np(plain.call(targets if mode != "multiclass" else targets[:, 0], y_pred[:, [m]]))
            for m in range(members)
        ],
        axis=1,
    )
    expected = (masks * per_member).sum(axis=1) / masks.sum(axis=1)
    masked = EnsembleCrossEntropy(mode=mode, masked_members=members)
    packed = np.concatenate([targets, masks], axis=1)
    np.testing.assert_allclose(_np(masked.call(packed, y_pred)), expected, rtol=1e-5, atol=1e-6)
    restored = EnsembleCrossEntropy.from_config(masked.get_config())
    assert restored.masked_members == members


def test_masked_members_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="masked_members"):
        EnsembleCrossEntropy(masked_members=0)
