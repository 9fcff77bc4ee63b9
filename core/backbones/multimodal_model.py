"""Keras models for mixed rows: table columns, free text and images as tokens of one transformer."""

from typing import NamedTuple

import keras

from core.backbones.encoder_stack import encoder_stack
from core.backbones.hub_image_model import global_pool, preset_feature_model
from core.backbones.image_model import build_image_model
from core.backbones.model_parts import ModelParts
from core.backbones.tabular_model import wide_and_deep_logits
from core.layers import (
    AttentionPooling,
    CachedFeatures,
    ColumnGate,
    ColumnSum,
    ImageFileReader,
    MissingToken,
    MonotoneFeatureEffects,
    SelectFeatures,
    TabularEmbedding,
    TokenAndPositionEmbedding,
)
from core.layers.hashed_ngram_bag import HashedNgramBag
from core.layers.padding_mask import PaddingMask
from core.layers.tabular_embedding import CATEGORICAL as CATEGORICAL_INPUT
from core.layers.tabular_embedding import NUMERIC as NUMERIC_INPUT

COLUMN_ENCODER_MODEL = "column_encoder"
COLUMN_GATE = "column_gate"
NGRAM_GATE = "ngram_gate"
HEAD_MODEL = "head"
#: Hashed bigram slots of each text column's n-gram path.
NGRAM_BUCKETS = 2**17


def build_multimodal_model(
    num_numeric,
    categorical_cardinalities,
    text_specs,
    image_specs,
    n_outputs,
    *,
    backbone="transformer",
    embedding_dim=16,
    hidden_units=(64, 32),
    num_layers=2,
    num_heads=2,
    dropout=0.1,
    n_members=4,
    text_backbone="transformer",
    text_embedding_dim=32,
    image_backbone="cnn",
    augmentation=None,
    monotone_columns=(),
    value_range=5.0,
    name="multimodal_model",
):
    """Builds `columns -> one token per column -> fusion head -> logits`.

    Every column becomes a token of `embedding_dim`: numbers and categories
    through `TabularEmbedding`; each text column through its own small
    encoder (token embeddings, one encoder block, attention pooling); each
    image column through an image backbone reading its files batch by batch
    (`ImageFileReader`, then `build_image_model`'s CNN or ViT). A missing
    note or image gets a learned token (`MissingToken`). The head is an
    ensemble of `n_members`, each the sum of a linear path over all tokens
    and a deep path (a fusion transformer over the tokens, or an MLP), plus
    one linear n-gram path per text column (`HashedNgramBag`: TF-IDF
    weighted unigrams and bigrams, what a TF-IDF linear model reads).

    Every member has encoders of its own, so members cross-fitted on
    different folds never share what one of them learned from another's
    held-out rows (a shared text encoder can memorise every row's label).

    The tokens and n-gram scores leave the column encoder through
    `ColumnGate`s (`"column_gate"`, `"ngram_gate"`), which keep every column
    until the estimator's keep rule leaves a part out.

    The column encoder is a nested model named `"column_encoder"` from the
    named inputs to `[tokens (batch, n_members, n_columns, embedding_dim),
    n-gram logits (batch, n_texts, n_members * n_outputs)]`; the head,
    named `"head"`, takes those. Explanations integrate gradients over the
    head's inputs, one token per member (and one n-gram score) per column.

    Args:
        num_numeric: numeric table columns.
        categorical_cardinalities: codes per categorical column.
        text_specs: per text column, `(vocabulary_size, sequence_length, input_length)`
            of the built-in encoder, or a `HubTextSpec` for a keras-hub preset
            (frozen, shared by the members; each member projects its mean state).
        image_specs: per image column, `(image_size, channels)` of the built-in backbone,
            or a `HubImageSpec` for a keras-hub preset (frozen, shared by the members;
            each member projects its pooled features).
        n_outputs: logits per member.
        backbone: the head's deep path, `"transformer"` (fusion) or `"mlp"`.
        embedding_dim: size of each column token.
        hidden_units: MLP widths after the deep path.
        num_layers: fusion transformer blocks.
        num_heads: attention heads.
        dropout: dropout rate.
        n_members: ensemble members.
        text_backbone: `"transformer"` or `"lstm"`, the text columns' encoder.
        text_embedding_dim: width of the text encoders.
        image_backbone: `"cnn"` or `"vit"`, the built-in image columns' backbone.
        augmentation: a function that returns new Keras preprocessing layers
            for images in training (each member gets its own), or None.
        monotone_columns: `(numeric_index, sign)` pairs: those numeric columns
            skip the tokens' paths and reach each member's logit only through
            `MonotoneFeatureEffects` (binary targets), as in `build_tabular_model`;
            the head then also takes the `"numeric"` input.
        value_range: range of the scaled numeric values (the preprocessor's clip).
        name: model name.

    Returns:
        A `keras.Model` from named inputs (`"numeric"`, `"categorical"`,
        `"text_{i}"` token ids, `"image_{i}"` path code points) to logits
        `(batch, n_members, n_outputs)`.
    """
    inputs = {}
    if num_numeric:
        inputs[NUMERIC_INPUT] = keras.Input((2 * num_numeric,), name=NUMERIC_INPUT)
    if categorical_cardinalities:
        inputs[CATEGORICAL_INPUT] = keras.Input(
            (len(categorical_cardinalities),), dtype="int32", name=CATEGORICAL_INPUT
        )
    table_inputs = dict(inputs)
    pooled_texts = {}
    for i, spec in enumerate(text_specs):
        inputs[f"text_{i}"] = keras.Input((spec[-1],), dtype="int32", name=f"text_{i}")
        if isinstance(spec, HubTextSpec):
            pooled_texts[i] = _preset_text_features(inputs, i, spec)
    pooled_images = {}
    for i, spec in enumerate(image_specs):
        inputs[f"image_{i}"] = keras.Input((None,), dtype="int32", name=f"image_{i}")
        if isinstance(spec, HubImageSpec):
            pooled_images[i] = _preset_image_features(inputs[f"image_{i}"], i, spec)
    member_tokens, ngram_logits = [], []
    for m in range(n_members):
        # Each member reads the columns through encoders of its own: a text or image
        # encoder shared by cross-fitted members would learn every fold's labels.
        tokens = []
        if table_inputs:
            tokens.append(
                TabularEmbedding(
                    num_numeric, list(categorical_cardinalities), embedding_dim,
                    name=f"member_{m}_feature_embedding",
                )(table_inputs)
            )  # fmt: skip
        for i, spec in enumerate(text_specs):
            prefix = f"member_{m}_text_{i}_"
            if i in pooled_texts:  # A frozen preset, shared: each member projects its features.
                tokens.append(
                    _projected_token(pooled_texts[i], inputs[f"text_{i}"], prefix, embedding_dim)
                )
                continue
            tokens.append(
                _text_token(
                    inputs[f"text_{i}"], prefix, spec[0], spec[1], embedding_dim,
                    text_embedding_dim, text_backbone, dropout,
                )
            )  # fmt: skip
        for i, spec in enumerate(image_specs):
            prefix = f"member_{m}_image_{i}_"
            if i in pooled_images:  # A frozen preset, shared: each member projects its features.
                tokens.append(
                    _projected_token(pooled_images[i], inputs[f"image_{i}"], prefix, embedding_dim)
                )
                continue
            tokens.append(
                _image_token(
                    inputs[f"image_{i}"], prefix, spec[0], spec[1], embedding_dim,
                    image_backbone, dropout, augmentation,
                )
            )  # fmt: skip
        joined = tokens[0] if len(tokens) == 1 else keras.layers.Concatenate(axis=1)(tokens)
        member_tokens.append(keras.layers.Reshape((1, *joined.shape[1:]))(joined))
    for i, spec in enumerate(text_specs):
        vocabulary_size = spec.vocabulary_size if isinstance(spec, HubTextSpec) else spec[0]
        ngrams = HashedNgramBag(
            vocabulary_size, n_members * n_outputs, NGRAM_BUCKETS, name=f"text_{i}_ngrams"
        )(inputs[f"text_{i}"])
        ngram_logits.append(keras.layers.Reshape((1, n_members * n_outputs))(ngrams))
    stacked = (
        member_tokens[0]
        if n_members == 1
        else keras.layers.Concatenate(axis=1, name="member_tokens")(member_tokens)
    )
    encoder_outputs = [ColumnGate(axis=2, name=COLUMN_GATE)(stacked)]
    if ngram_logits:
        ngrams = (
            ngram_logits[0]
            if len(ngram_logits) == 1
            else keras.layers.Concatenate(axis=1, name="ngram_logits")(ngram_logits)
        )
        encoder_outputs.append(ColumnGate(axis=1, name=NGRAM_GATE)(ngrams))
    if len(encoder_outputs) == 1:  # The head then takes the tokens alone.
        encoder_outputs = encoder_outputs[0]
    column_encoder = keras.Model(inputs, encoder_outputs, name=COLUMN_ENCODER_MODEL)
    monotone_columns = [(int(i), int(sign)) for i, sign in monotone_columns]
    if monotone_columns and n_outputs != 1:
        raise ValueError(
            "`monotone_columns` needs a binary target (one output). "
            f"Received n_outputs={n_outputs}."
        )
    head = _fusion_head(
        stacked.shape[2], len(ngram_logits), n_outputs, backbone, embedding_dim, hidden_units,
        num_layers, num_heads, dropout, n_members, monotone_columns, num_numeric, value_range,
    )  # fmt: skip
    head_inputs = column_encoder(inputs)
    if monotone_columns:
        head_inputs = [*_as_list(head_inputs), inputs[NUMERIC_INPUT]]
    return keras.Model(inputs, head(head_inputs), name=name)


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


class HubTextSpec(NamedTuple):
    """A text column read by a keras-hub preset's encoder (kept frozen), in `text_specs`.

    `vocabulary_size` and `input_length` are those of the column's n-gram
    ids; `sequence_length` is the encoder's; `encoder_inputs` the names of
    its inputs, each the model input `"text_{i}_{name}"`.
    """

    backbone: object
    encoder_inputs: tuple
    vocabulary_size: int
    sequence_length: int
    input_length: int


class HubImageSpec(NamedTuple):
    """An image column read by a keras-hub preset's image backbone (kept frozen), in
    `image_specs`: the backbone, its image converter (or None), and the `(height,
    width)` and channels its files are read at."""

    backbone: object
    image_converter: object
    image_size: tuple
    channels: int


def _preset_image_features(codes, i, spec):
    """A frozen preset's pooled features of an image column's files: `(batch, features)`.

    The layer `"image_{i}_features"` (`CachedFeatures`, so that a fit reads
    each file through the preset once) wraps a model of the paths: the files
    are read by `"image_{i}_reader"`, the preset's feature map comes from the
    nested model `"image_{i}_backbone"` and is pooled by `"image_{i}_pool"`.
    """
    paths = keras.Input((None,), dtype="int32", name=f"image_{i}_paths")
    images = ImageFileReader(spec.image_size, spec.channels, name=f"image_{i}_reader")(paths)
    # Frozen: members cross-fitted on different folds may share it without sharing labels.
    spec.backbone.trainable = False
    backbone = preset_feature_model(
        spec.backbone, spec.image_converter, spec.image_size, spec.channels, f"image_{i}_backbone"
    )
    feature_map = backbone(images)
    pooled = global_pool(feature_map.shape, f"image_{i}_pool")(feature_map)
    features = keras.Model(paths, pooled, name=f"image_{i}_feature_model")
    return CachedFeatures(features, name=f"image_{i}_features")(codes)


def _projected_token(pooled, ids, prefix, embedding_dim):
    """A member's token `(batch, 1, embedding_dim)` of a shared frozen preset's features;
    a row whose ids (or path) are all zero gets the learned missing token."""
    token = keras.layers.Dense(embedding_dim, name=f"{prefix}token")(pooled)
    token = MissingToken(name=f"{prefix}missing")(token, PaddingMask()(ids))
    return keras.layers.Reshape((1, embedding_dim))(token)


def _preset_text_features(inputs, i, spec):
    """The mean state over the real tokens of a frozen preset encoder: `(batch, hidden)`."""
    from core.backbones.hub_text_model import freeze_pooler

    encoder_inputs = {}
    for name in spec.encoder_inputs:
        encoder_inputs[name] = keras.Input(
            (spec.sequence_length,), dtype="int32", name=f"text_{i}_{name}"
        )
        inputs[f"text_{i}_{name}"] = encoder_inputs[name]
    freeze_pooler(spec.backbone)
    # Frozen: members cross-fitted on different folds may share it without sharing labels.
    spec.backbone.trainable = False
    outputs = spec.backbone(encoder_inputs)
    states = outputs["sequence_output"] if isinstance(outputs, dict) else outputs
    mask = keras.ops.cast(encoder_inputs["padding_mask"], "bool")
    return keras.layers.GlobalAveragePooling1D(name=f"text_{i}_token_mean")(states, mask=mask)


def _text_token(
    ids, prefix, vocabulary_size, sequence_length, embedding_dim, width, backbone, dropout
):
    """A text column's token `(batch, 1, embedding_dim)` from its own small encoder."""
    deep_ids = ids
    if ids.shape[1] > sequence_length:
        deep_ids = SelectFeatures(list(range(sequence_length)), name=f"{prefix}head")(ids)
    embedded = TokenAndPositionEmbedding(
        vocabulary_size, sequence_length, width, mask_zero=False, name=f"{prefix}embedding"
    )(deep_ids)
    mask = PaddingMask(name=f"{prefix}mask")(deep_ids)
    states = encoder_stack(
        embedded, mask, backbone=backbone, num_layers=1, num_heads=2,
        intermediate_dim=2 * width, lstm_units=width // 2, dropout=dropout,
        input_dropout=True, prefix=prefix,
    )  # fmt: skip
    pooled = AttentionPooling(name=f"{prefix}pooling")(states, mask=mask)
    token = keras.layers.Dense(embedding_dim, name=f"{prefix}token")(pooled)
    token = MissingToken(name=f"{prefix}missing")(token, mask)
    return keras.layers.Reshape((1, embedding_dim), name=f"{prefix}reshape")(token)


def _image_token(
    codes, prefix, image_size, channels, embedding_dim, backbone, dropout, augmentation
):
    """An image column's token `(batch, 1, embedding_dim)`, read from its file paths."""
    images = ImageFileReader(image_size, channels, name=f"{prefix}reader")(codes)
    encoder = build_image_model(
        image_size,
        channels,
        embedding_dim,
        backbone=backbone,
        widths=(16, 32, 64),
        embedding_dim=32,
        num_layers=2,
        num_heads=2,
        dropout=dropout,
        augmentation=augmentation() if augmentation else None,
        name=f"{prefix}encoder",
        input_prefix=prefix,
    )
    token = keras.layers.Reshape((embedding_dim,), name=f"{prefix}flat")(encoder(images))
    token = MissingToken(name=f"{prefix}missing")(token, PaddingMask()(codes))
    return keras.layers.Reshape((1, embedding_dim), name=f"{prefix}reshape")(token)


def _fusion_head(
    n_tokens, n_texts, n_outputs, backbone, embedding_dim, hidden_units, num_layers,
    num_heads, dropout, n_members, monotone_columns, num_numeric, value_range,
):  # fmt: skip
    """`[tokens, n-gram logits, numbers] -> (batch, n_members, n_outputs)`, a model named
    `"head"` (the n-gram logits with text columns, the numbers with monotone columns).

    Member m reads its own tokens, `tokens[:, m]`.
    """
    tokens = keras.Input((n_members, n_tokens, embedding_dim), name="column_tokens")
    inputs = [tokens]
    constrained = [i for i, _ in monotone_columns]
    free = [i for i in range(n_tokens) if i not in constrained]
    if monotone_columns:
        numbers = keras.Input((2 * num_numeric,), name="numeric_for_monotone")
    members = []
    for m in range(n_members):
        own = SelectFeatures([m], name=f"member_{m}_tokens")(tokens)
        own = keras.layers.Reshape((n_tokens, embedding_dim), name=f"member_{m}_own")(own)
        if monotone_columns:
            own = SelectFeatures(free, name=f"member_{m}_unconstrained")(own)
        paths = wide_and_deep_logits(
            own, m, n_outputs, backbone, embedding_dim, hidden_units, num_layers,
            num_heads, dropout,
        )  # fmt: skip
        if monotone_columns:
            paths.append(
                MonotoneFeatureEffects(
                    constrained,
                    [num_numeric + i for i in constrained],
                    [sign for _, sign in monotone_columns],
                    value_range=value_range,
                    name=f"member_{m}_monotone",
                )(numbers)
            )
        logits = keras.layers.Add(name=f"member_{m}_logits")(paths)
        members.append(keras.layers.Reshape((1, n_outputs), name=f"member_{m}_reshape")(logits))
    stacked = members[0] if n_members == 1 else keras.layers.Concatenate(axis=1)(members)
    if n_texts:
        ngrams = keras.Input((n_texts, n_members * n_outputs), name="ngram_logits")
        inputs.append(ngrams)
        summed = keras.layers.Reshape((n_members, n_outputs), name="ngram_members")(
            ColumnSum(name="ngram_sum")(ngrams)
        )
        stacked = keras.layers.Add()([stacked, summed])
    if monotone_columns:
        inputs.append(numbers)
    return keras.Model(inputs if len(inputs) > 1 else tokens, stacked, name=HEAD_MODEL)


#: Where each part of a `build_multimodal_model` model lives.
MULTIMODAL_MODEL_PARTS = {
    "column_encoder": COLUMN_ENCODER_MODEL,
    "head": HEAD_MODEL,
    "column_gate": (COLUMN_ENCODER_MODEL, COLUMN_GATE),
    "ngram_gate": (COLUMN_ENCODER_MODEL, NGRAM_GATE),
}


def multimodal_model_parts(model):
    """`ModelParts` of a `build_multimodal_model` model."""
    return ModelParts(model, MULTIMODAL_MODEL_PARTS)
