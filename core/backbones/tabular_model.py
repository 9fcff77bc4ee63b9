"""Keras models for tables: feature tokens, then an MLP or a transformer head."""

import keras

from core.backbones.encoder_stack import encoder_stack
from core.backbones.model_parts import ModelParts
from core.layers import (
    AttentionPooling,
    MonotoneFeatureEffects,
    SelectFeatures,
    TabularEmbedding,
)
from core.layers.tabular_embedding import CATEGORICAL as CATEGORICAL_INPUT
from core.layers.tabular_embedding import NUMERIC as NUMERIC_INPUT

BACKBONES = ("mlp", "transformer")
EMBEDDING_LAYER = "feature_embedding"
HEAD_MODEL = "head"


def build_tabular_model(
    num_numeric,
    categorical_cardinalities,
    n_outputs,
    *,
    backbone="mlp",
    embedding_dim=8,
    hidden_units=(128, 64),
    num_layers=2,
    num_heads=2,
    dropout=0.1,
    n_members=4,
    monotone_columns=(),
    value_range=5.0,
    name="tabular_model",
):
    """Builds `features -> feature tokens -> head -> logits`.

    Every column becomes a token (`TabularEmbedding`). The head is an
    ensemble of `n_members` sub-networks, each the sum of a linear ("wide")
    path over all tokens and a deep path: an MLP over the flattened tokens,
    or transformer blocks over the tokens with attention pooling. The wide
    path is what lets the model match logistic regression on small tables;
    the deep path adds interactions.

    The head is a nested model named `"head"` that takes the tokens, so
    explanations can integrate gradients over the tokens of each column.

    Args:
        num_numeric: number of numeric columns.
        categorical_cardinalities: codes per categorical column (reserved slots included).
        n_outputs: logits per member (1 for binary targets).
        backbone: `"mlp"` or `"transformer"`.
        embedding_dim: size of each feature token.
        hidden_units: MLP layer widths (the MLP backbone, and the transformer's output MLP).
        num_layers: transformer blocks.
        num_heads: attention heads per transformer block.
        dropout: dropout rate in the deep path.
        n_members: ensemble members.
        monotone_columns: `(numeric_index, sign)` pairs. Those columns skip the
            wide and deep paths and enter through `MonotoneFeatureEffects`, so
            the logit is monotone in them by construction (binary targets only).
        value_range: range of the scaled numeric values (the preprocessor's clip).
        name: model name.

    Returns:
        A `keras.Model` mapping named inputs, `"numeric"` `(batch, 2 * num_numeric)`
        floats and `"categorical"` `(batch, n_categorical)` int32 codes (each
        only when it has columns), to logits of shape `(batch, n_members, n_outputs)`.
    """
    if backbone not in BACKBONES:
        raise ValueError(f"`backbone` must be one of {BACKBONES}. Received: backbone={backbone!r}")
    n_tokens = num_numeric + len(categorical_cardinalities)
    monotone_columns = [(int(i), int(s)) for i, s in monotone_columns]
    if monotone_columns and n_outputs != 1:
        raise ValueError(
            "`monotone_columns` needs a binary target (one output). "
            f"Received n_outputs={n_outputs}."
        )
    tokens_in = keras.Input((n_tokens, embedding_dim), name="feature_tokens")
    head_inputs = [tokens_in]
    free_tokens = tokens_in
    if monotone_columns:
        features_in = keras.Input((2 * num_numeric,), name="numeric_for_monotone")
        head_inputs.append(features_in)
        constrained = {i for i, _ in monotone_columns}
        free = [i for i in range(n_tokens) if i not in constrained]
        free_tokens = SelectFeatures(free, name="unconstrained_tokens")(tokens_in) if free else None
    members = []
    for m in range(n_members):
        paths = []
        if monotone_columns:
            paths.append(
                MonotoneFeatureEffects(
                    [i for i, _ in monotone_columns],
                    [num_numeric + i for i, _ in monotone_columns],
                    [s for _, s in monotone_columns],
                    value_range=value_range,
                    name=f"member_{m}_monotone",
                )(features_in)
            )
        if free_tokens is not None:
            paths += wide_and_deep_logits(
                free_tokens, m, n_outputs, backbone, embedding_dim, hidden_units,
                num_layers, num_heads, dropout,
            )  # fmt: skip
        logits = paths[0] if len(paths) == 1 else keras.layers.Add(name=f"member_{m}_logits")(paths)
        members.append(keras.layers.Reshape((1, n_outputs), name=f"member_{m}_reshape")(logits))
    stacked = (
        members[0] if n_members == 1 else keras.layers.Concatenate(axis=1, name="members")(members)
    )
    head = keras.Model(head_inputs if monotone_columns else tokens_in, stacked, name=HEAD_MODEL)

    features = {}
    if num_numeric:
        features[NUMERIC_INPUT] = keras.Input((2 * num_numeric,), name=NUMERIC_INPUT)
    if categorical_cardinalities:
        features[CATEGORICAL_INPUT] = keras.Input(
            (len(categorical_cardinalities),), dtype="int32", name=CATEGORICAL_INPUT
        )
    tokens = TabularEmbedding(
        num_numeric, list(categorical_cardinalities), embedding_dim, name=EMBEDDING_LAYER
    )(features)
    head_input = [tokens, features[NUMERIC_INPUT]] if monotone_columns else tokens
    return keras.Model(features, head(head_input), name=name)


def wide_and_deep_logits(
    tokens, m, n_outputs, backbone, embedding_dim, hidden_units, num_layers, num_heads, dropout
):
    """Member m's linear path and deep path over the tokens; returns both logits."""
    flat = keras.layers.Flatten(name=f"member_{m}_flatten")(tokens)
    wide = keras.layers.Dense(n_outputs, name=f"member_{m}_wide")(flat)
    if backbone == "mlp":
        hidden = keras.layers.Dropout(dropout, name=f"member_{m}_input_dropout")(flat)
    else:
        hidden = encoder_stack(
            tokens,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=2 * embedding_dim,
            dropout=dropout,
            prefix=f"member_{m}_",
        )
        hidden = AttentionPooling(name=f"member_{m}_pooling")(hidden)
    for i, units in enumerate(hidden_units):
        hidden = keras.layers.Dense(units, activation="relu", name=f"member_{m}_dense_{i}")(hidden)
        hidden = keras.layers.Dropout(dropout, name=f"member_{m}_dropout_{i}")(hidden)
    deep = keras.layers.Dense(n_outputs, name=f"member_{m}_deep")(hidden)
    return [wide, deep]


#: Where each part of a `build_tabular_model` model lives.
TABULAR_MODEL_PARTS = {"embedding": EMBEDDING_LAYER, "head": HEAD_MODEL}


def tabular_model_parts(model):
    """`ModelParts` of a `build_tabular_model` model."""
    return ModelParts(model, TABULAR_MODEL_PARTS)
