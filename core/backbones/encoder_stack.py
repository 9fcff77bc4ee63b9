"""The stack of sequence-encoder blocks that the backbones share: transformer or LSTM."""

import keras

from core.layers import LSTMEncoder, TransformerEncoder

ENCODER_STACKS = ("transformer", "lstm")


def encoder_stack(
    x,
    mask=None,
    *,
    backbone="transformer",
    num_layers=2,
    num_heads=4,
    intermediate_dim=128,
    lstm_units=64,
    dropout=0.1,
    input_dropout=False,
    prefix="",
):
    """Applies `num_layers` encoder blocks to the symbolic sequence `x`.

    `"transformer"`: pre-norm `TransformerEncoder` blocks named
    `{prefix}transformer_{i}`, then the final `LayerNormalization` that
    pre-norm blocks need, `{prefix}final_norm`; with `input_dropout`, a
    `Dropout` named `{prefix}embedding_dropout` comes first. `"lstm"`:
    bidirectional `LSTMEncoder` layers named `{prefix}lstm_{i}` that return
    every step's state and skip padding. The names are part of saved models:
    keep them.

    Args:
        x: symbolic float tensor `(batch, steps, width)`.
        mask: symbolic bool tensor `(batch, steps)`, False at padding, or None.
        backbone: `"transformer"` or `"lstm"`.
        num_layers: blocks (or LSTM layers).
        num_heads: attention heads.
        intermediate_dim: transformer feed-forward width.
        lstm_units: LSTM state size per direction.
        dropout: dropout rate.
        input_dropout: whether the transformer's input goes through dropout first.
        prefix: start of every layer name (e.g. `"member_0_"`).

    Returns:
        The symbolic output `(batch, steps, hidden)`: `width` for the
        transformer, `2 * lstm_units` for the LSTM.
    """
    check_encoder_stack(backbone)
    if backbone == "lstm":
        for i in range(num_layers):
            x = LSTMEncoder(
                lstm_units,
                bidirectional=True,
                return_sequences=True,
                dropout=dropout,
                name=f"{prefix}lstm_{i}",
            )(x, mask=mask)
        return x
    if input_dropout:
        x = keras.layers.Dropout(dropout, name=f"{prefix}embedding_dropout")(x)
    for i in range(num_layers):
        block = TransformerEncoder(
            intermediate_dim=intermediate_dim,
            num_heads=num_heads,
            dropout=dropout,
            name=f"{prefix}transformer_{i}",
        )
        x = block(x) if mask is None else block(x, padding_mask=mask)
    return keras.layers.LayerNormalization(name=f"{prefix}final_norm")(x)


def check_encoder_stack(backbone):
    """Raises a ValueError unless `backbone` names one of `ENCODER_STACKS`.

    Args:
        backbone: the name to check.
    """
    if backbone not in ENCODER_STACKS:
        raise ValueError(
            f"`backbone` must be one of {ENCODER_STACKS}. Received: backbone={backbone!r}"
        )
