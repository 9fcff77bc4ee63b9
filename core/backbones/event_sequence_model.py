"""Keras models that score an event from its features and the events before it."""

import keras

from core.backbones.encoder_stack import encoder_stack
from core.backbones.model_parts import ModelParts
from core.layers import LSTMEncoder, SelectFeatures, TabularEmbedding
from core.layers.tabular_embedding import CATEGORICAL, NUMERIC

EVENT_BACKBONES = ("lstm", "transformer")
EMBEDDING_LAYER = "feature_embedding"
HEAD_MODEL = "head"


def build_event_sequence_model(
    num_numeric,
    categorical_cardinalities,
    window,
    n_outputs=1,
    *,
    backbone="lstm",
    embedding_dim=8,
    encoder_units=32,
    hidden_units=(64,),
    num_layers=1,
    num_heads=2,
    dropout=0.1,
    name="event_sequence_model",
):
    """Builds `event arrays -> (event tokens, gaps, mask) -> head -> logits`.

    Every event (the `window` preceding ones and the current one, last) is
    embedded column by column with one shared `TabularEmbedding`, projected
    with its time gap to the current event, and read by an LSTM or by
    transformer blocks; the encoding at the current event, the current
    event's own tokens and a linear path over them feed the output. With
    `window=0` it is the same model without history.

    The head is a nested model named `"head"` taking `(tokens, gaps, mask)`,
    so explanations can integrate gradients over each event's tokens.

    Args:
        num_numeric: numeric columns per event.
        categorical_cardinalities: codes per categorical column (reserved slots included).
        window: preceding events per example.
        n_outputs: logits (1 for binary targets).
        backbone: the sequence encoder, `"lstm"` or `"transformer"`.
        embedding_dim: size of each column token.
        encoder_units: width of the sequence encoder (the LSTM state, or the
            transformer's width).
        hidden_units: widths of the output MLP.
        num_layers: transformer blocks (transformer encoder).
        num_heads: attention heads (transformer encoder).
        dropout: dropout rate.
        name: model name.

    Returns:
        A `keras.Model` from named inputs, each with `steps = window + 1`
        events, the preceding ones oldest first and the current one last:
        `"numeric"` `(batch, steps, 2 * num_numeric)` floats and
        `"categorical"` `(batch, steps, n_categorical)` int32 codes (as
        `TabularPreprocessor` gives them per event, each only when it has
        columns), `"gaps"` `(batch, steps, 1)` (log1p hours before the current
        event; 0 for it) and `"present"` `(batch, steps)` booleans (False for
        history slots without an event); to logits `(batch, 1, n_outputs)`
        (one ensemble member).
    """
    if backbone not in EVENT_BACKBONES:
        raise ValueError(
            f"`backbone` must be one of {EVENT_BACKBONES}. Received: backbone={backbone!r}"
        )
    n_tokens = num_numeric + len(categorical_cardinalities)
    steps = window + 1

    inputs = {}
    if num_numeric:
        inputs[NUMERIC] = keras.Input((steps, 2 * num_numeric), name=NUMERIC)
    if categorical_cardinalities:
        inputs[CATEGORICAL] = keras.Input(
            (steps, len(categorical_cardinalities)), dtype="int32", name=CATEGORICAL
        )
    inputs["gaps"] = keras.Input((steps, 1), name="gaps")
    inputs["present"] = keras.Input((steps,), dtype="bool", name="present")
    embedding = TabularEmbedding(
        num_numeric, list(categorical_cardinalities), embedding_dim, name=EMBEDDING_LAYER
    )
    tokens = embedding({name: inputs[name] for name in (NUMERIC, CATEGORICAL) if name in inputs})

    tokens_in = keras.Input((steps, n_tokens, embedding_dim), name="event_tokens")
    gaps_in = keras.Input((steps, 1), name="gaps")
    mask_in = keras.Input((steps,), dtype="bool", name="mask")
    flat_events = keras.layers.Reshape((steps, n_tokens * embedding_dim), name="flatten_events")(
        tokens_in
    )
    step_inputs = keras.layers.Concatenate(name="with_gaps")([flat_events, gaps_in])
    sequence = keras.layers.Dense(encoder_units, activation="relu", name="event_projection")(
        step_inputs
    )
    if window == 0:  # One event: nothing to attend to or recur over.
        encoded = keras.layers.Reshape((encoder_units,), name="current_encoding")(sequence)
    elif backbone == "lstm":
        encoded = LSTMEncoder(encoder_units, dropout=dropout, name="lstm")(sequence, mask=mask_in)
    else:
        sequence = encoder_stack(
            sequence,
            mask_in,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=2 * encoder_units,
            dropout=dropout,
        )
        current_step = SelectFeatures([window], name="current_event")(sequence)
        encoded = keras.layers.Reshape((encoder_units,), name="current_encoding")(current_step)
    current_tokens = SelectFeatures([window], name="current_tokens")(flat_events)
    current = keras.layers.Reshape((n_tokens * embedding_dim,), name="current_flat")(current_tokens)
    hidden = keras.layers.Concatenate(name="current_and_history")([current, encoded])
    for i, width in enumerate(hidden_units):
        hidden = keras.layers.Dense(width, activation="relu", name=f"dense_{i}")(hidden)
        hidden = keras.layers.Dropout(dropout, name=f"dropout_{i}")(hidden)
    deep = keras.layers.Dense(n_outputs, name="deep")(hidden)
    wide = keras.layers.Dense(n_outputs, name="wide")(current)
    logits = keras.layers.Add(name="logits")([wide, deep])
    logits = keras.layers.Reshape((1, n_outputs), name="member")(logits)
    head = keras.Model([tokens_in, gaps_in, mask_in], logits, name=HEAD_MODEL)
    return keras.Model(inputs, head([tokens, inputs["gaps"], inputs["present"]]), name=name)


#: Where each part of a `build_event_sequence_model` model lives.
EVENT_SEQUENCE_MODEL_PARTS = {"embedding": EMBEDDING_LAYER, "head": HEAD_MODEL}


def event_sequence_model_parts(model):
    """`ModelParts` of a `build_event_sequence_model` model."""
    return ModelParts(model, EVENT_SEQUENCE_MODEL_PARTS)
