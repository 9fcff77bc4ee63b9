"""Keras models over patients' visit sequences: an encoder, a wide-and-deep classifier, a
masked-code pretraining head."""

import keras

from core.backbones.encoder_stack import ENCODER_STACKS, check_encoder_stack, encoder_stack
from core.backbones.model_parts import ModelParts
from core.layers import AttentionPooling, DropMask
from core.layers.sparse_linear import SparseLinear
from core.layers.tied_token_logits import TiedTokenLogits
from core.layers.time_gap_encoding import TimeGapEncoding
from core.layers.visit_embedding import VisitEmbedding
from core.layers.visit_mask import VisitMask

VISIT_BACKBONES = ENCODER_STACKS
MASK_LAYER = "visit_mask"
EMBEDDING_LAYER = "visit_embedding"
ENCODER_MODEL = "encoder"
BODY_MODEL = "body"
WIDE_LAYER = "wide"


def build_visit_encoder(embedding_dim, **stack_options):
    """Builds `(visit vectors, visit times, visit mask) -> contextual visit states`.

    Each visit's time features (days before the prediction, days since the
    previous visit) are encoded by `TimeGapEncoding` and added to its
    vector, so the encoder sees when each visit happened; the order of
    the visits is in those times, so no position embedding is needed and
    any number of visits is accepted. `"transformer"`: pre-norm
    `TransformerEncoder` blocks and a final layer norm; `"lstm"`:
    bidirectional `LSTMEncoder` layers. Padding visits are masked; the
    output carries no Keras mask (pass the visit mask on explicitly).

    Args:
        embedding_dim: size of the visit vectors (and transformer width).
        **stack_options: the blocks' settings as `encoder_stack` takes them
            (`backbone`, `num_layers`, `num_heads`, `intermediate_dim`,
            `lstm_units`, `dropout`).

    Returns:
        A `keras.Model` named `"encoder"` from `[(batch, visits, embedding_dim)
        floats, (batch, visits, 2) days, (batch, visits) bool]` to
        `(batch, visits, hidden)`.
    """
    backbone = stack_options.get("backbone", "transformer")
    check_encoder_stack(backbone)
    visits = keras.Input((None, embedding_dim), name="visit_vectors")
    times = keras.Input((None, 2), name="visit_times")
    mask = keras.Input((None,), dtype="bool", name="visit_mask")
    x = keras.layers.Add(name="with_time")(
        [visits, TimeGapEncoding(embedding_dim, name="time_encoding")(times)]
    )
    x = encoder_stack(x, mask, input_dropout=True, **stack_options)
    if backbone == "lstm":
        # Padding is dealt with; the output layers get the mask explicitly when they need it.
        x = DropMask(name="end_of_mask")(x)
    return keras.Model([visits, times, mask], x, name=ENCODER_MODEL)


def build_visit_sequence_model(
    vocabulary_size,
    num_visits,
    num_codes,
    n_outputs,
    *,
    use_values=False,
    wide_features=0,
    wide_slots=0,
    embedding_dim=64,
    dropout=0.1,
    **encoder_kwargs,
):
    """Builds `visit arrays -> (visit encoder + attention pooling) + sparse linear -> logits`.

    A wide-and-deep model of a patient's history. The deep path embeds each
    visit as a bag of codes (`VisitEmbedding`), reads the visits with the
    encoder of `build_visit_encoder` and pools them with `AttentionPooling`;
    its output layer starts at zero, so at first it adds nothing. The wide
    path (`wide_slots > 0`) is a `SparseLinear` model over history features
    such as code counts. Their logits add.

    The layers after the visit embedding form a nested model named `"body"`
    taking `(visit vectors, visit times, visit mask)`, with the encoder
    inside it (the nested model `"encoder"` that pretraining trains), so
    integrated gradients can gate each code's vector.

    Args:
        vocabulary_size: code ids (0 is padding).
        num_visits: visit slots per patient.
        num_codes: code slots per visit.
        n_outputs: logits (1 for binary targets).
        use_values: whether the row carries code values.
        wide_features: sparse feature ids of the wide path.
        wide_slots: sparse features per row (0: no wide path).
        embedding_dim: code and visit vector size.
        dropout: dropout rate.
        **encoder_kwargs: passed to `build_visit_encoder`.

    Returns:
        A `keras.Model` from the named inputs of `EventSequences.arrays`:
        `codes` int32 `(batch, num_visits, num_codes)`, `values` (with
        `use_values`), `times` `(batch, num_visits, 2)`, `wide_ids` int32 and
        `wide_values` `(batch, wide_slots)` (when `wide_slots > 0`), to logits
        `(batch, 1, n_outputs)`.
    """
    inputs = {"codes": keras.Input((num_visits, num_codes), dtype="int32", name="codes")}
    if use_values:
        inputs["values"] = keras.Input((num_visits, num_codes), name="values")
    inputs["times"] = keras.Input((num_visits, 2), name="times")
    if wide_slots:
        inputs["wide_ids"] = keras.Input((wide_slots,), dtype="int32", name="wide_ids")
        inputs["wide_values"] = keras.Input((wide_slots,), name="wide_values")
    visit_mask = VisitMask(name=MASK_LAYER)(inputs["codes"])
    embedding = VisitEmbedding(
        vocabulary_size, embedding_dim, use_values=use_values, name=EMBEDDING_LAYER
    )
    vectors = embedding(inputs["codes"], values=inputs.get("values"))

    encoder = build_visit_encoder(embedding_dim, dropout=dropout, **encoder_kwargs)
    vectors_in = keras.Input((num_visits, embedding_dim), name="visit_vectors")
    times_in = keras.Input((num_visits, 2), name="visit_times")
    mask_in = keras.Input((num_visits,), dtype="bool", name="visit_mask")
    states = encoder([vectors_in, times_in, mask_in])
    pooled = AttentionPooling(name="pooling")(states, mask=mask_in)
    pooled = keras.layers.Dropout(dropout, name="pooled_dropout")(pooled)
    # Zero-initialised, so the deep path starts by adding nothing to the wide path.
    deep_logits = keras.layers.Dense(n_outputs, kernel_initializer="zeros", name="deep_logits")(
        pooled
    )
    body = keras.Model([vectors_in, times_in, mask_in], deep_logits, name=BODY_MODEL)

    logits = body([vectors, inputs["times"], visit_mask])
    if wide_slots:
        wide = SparseLinear(wide_features, n_outputs, name=WIDE_LAYER)(
            inputs["wide_ids"], values=inputs["wide_values"]
        )
        logits = keras.layers.Add(name="wide_and_deep")([logits, wide])
    logits = keras.layers.Reshape((1, n_outputs), name="member")(logits)
    return keras.Model(inputs, logits, name="visit_sequence_classifier")


def build_masked_code_model(embedding, encoder, num_visits, num_codes, max_predictions):
    """Builds the masked-code pretraining model around a visit embedding and encoder.

    Some codes are replaced by the mask id (or a random code); each is
    predicted from the contextual state of its visit through an output layer
    tied to the code embeddings, so what pretraining teaches the embeddings
    is what fine-tuning starts from.

    Args:
        embedding: a `VisitEmbedding`.
        encoder: a model from `build_visit_encoder`.
        num_visits: visit slots per patient.
        num_codes: code slots per visit.
        max_predictions: masked codes scored per patient.

    Returns:
        A `keras.Model` from `[codes (batch, visits, codes) int, values (same
        shape; only when the embedding uses values), times (batch, visits, 2),
        visit mask (batch, visits) bool, visit of each prediction (batch,
        max_predictions) int]` to logits `(batch, max_predictions, vocabulary)`.
    """
    backbone = build_visit_backbone(embedding, encoder, num_visits, num_codes)
    positions = keras.Input((max_predictions,), dtype="int32", name="masked_visits")
    logits = TiedTokenLogits(embedding.code_embeddings, name="masked_code_logits")(
        backbone.output, positions=positions
    )
    return keras.Model([*backbone.inputs, positions], logits, name="masked_codes")


#: Where each part of a `build_visit_sequence_model` model lives.
VISIT_SEQUENCE_MODEL_PARTS = {
    "visit_mask": MASK_LAYER,
    "embedding": EMBEDDING_LAYER,
    "encoder": (BODY_MODEL, ENCODER_MODEL),
    "body": BODY_MODEL,
    "linear_path": WIDE_LAYER,
}


def visit_sequence_model_parts(model):
    """`ModelParts` of a `build_visit_sequence_model` model; `linear_path` is the wide layer."""
    return ModelParts(model, VISIT_SEQUENCE_MODEL_PARTS)


def build_visit_backbone(embedding, encoder, num_visits, num_codes):
    """Wraps a visit embedding and encoder into one model, to save them as a file.

    Args:
        embedding: a `VisitEmbedding`.
        encoder: a model from `build_visit_encoder`.
        num_visits: visit slots per patient.
        num_codes: code slots per visit.

    Returns:
        A `keras.Model` from `[codes, values (only when the embedding uses
        values), visit times, visit mask]` to the encoder's visit states.
    """
    codes = keras.Input((num_visits, num_codes), dtype="int32", name="codes")
    inputs = [codes]
    values = None
    if embedding.use_values:
        values = keras.Input((num_visits, num_codes), name="values")
        inputs.append(values)
    times = keras.Input((num_visits, 2), name="visit_times")
    mask = keras.Input((num_visits,), dtype="bool", name="visit_mask")
    states = encoder([embedding(codes, values=values), times, mask])
    return keras.Model([*inputs, times, mask], states, name="visit_backbone")


#: Where each part of a `build_visit_backbone` model (a visit-encoder file) lives.
VISIT_BACKBONE_PARTS = {"embedding": EMBEDDING_LAYER, "encoder": ENCODER_MODEL}


def visit_backbone_parts(model):
    """`ModelParts` of a `build_visit_backbone` model (a visit-encoder file)."""
    return ModelParts(model, VISIT_BACKBONE_PARTS)
