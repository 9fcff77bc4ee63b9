import keras
import numpy as np
import pytest

from core.backbones.encoder_stack import encoder_stack


def layer_names(model):
    return [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def stack_model(**kwargs):
    x = keras.Input((5, 8))
    mask = keras.Input((5,), dtype="bool")
    return keras.Model(
        [x, mask], encoder_stack(x, mask, num_heads=2, intermediate_dim=16, **kwargs)
    )


def test_transformer_stack_names_its_layers_and_keeps_the_width():
    model = stack_model(num_layers=2, input_dropout=True, prefix="m_")
    assert layer_names(model) == [
        "m_embedding_dropout",
        "m_transformer_0",
        "m_transformer_1",
        "m_final_norm",
    ]
    x, mask = np.ones((3, 5, 8), "float32"), np.ones((3, 5), bool)
    assert model.predict([x, mask], verbose=0).shape == (3, 5, 8)


def test_lstm_stack_is_bidirectional_and_skips_padding():
    model = stack_model(backbone="lstm", num_layers=2, lstm_units=3)
    assert layer_names(model) == ["lstm_0", "lstm_1"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 5, 8)).astype("float32")
    mask = np.array([[True, True, True, False, False]])
    out = model.predict([x, mask], verbose=0)
    assert out.shape == (1, 5, 6)
    changed = x.copy()
    changed[:, 3:] = 9.0  # Padding steps change; the real steps' states do not.
    np.testing.assert_allclose(model.predict([changed, mask], verbose=0)[:, :3], out[:, :3])


def test_unknown_backbone_is_named():
    with pytest.raises(ValueError, match=r"`backbone` must be one of .*Received: backbone='gru'"):
        stack_model(backbone="gru")
