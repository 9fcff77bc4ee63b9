"""Keras models for token sequences: a text encoder, a classifier on it, a masked-LM head."""

import keras

from core.backbones.encoder_stack import ENCODER_STACKS, encoder_stack
from core.backbones.model_parts import ModelParts
from core.layers import AttentionPooling, SelectFeatures, TokenAndPositionEmbedding
from core.layers.hashed_ngram_bag import HashedNgramBag
from core.layers.padding_mask import PaddingMask
from core.layers.tied_token_logits import TiedTokenLogits

TEXT_BACKBONES = ENCODER_STACKS
EMBEDDING_LAYER = "embedding"
ENCODER_MODEL = "encoder"
BODY_MODEL = "body"
NGRAM_LAYER = "ngram_bag"


def build_text_encoder(sequence_length, embedding_dim, **stack_options):
    """Builds the encoder: `(embedded tokens, padding mask) -> contextual token states`.

    `"transformer"`: pre-norm `TransformerEncoder` blocks and a final layer
    norm. `"lstm"`: bidirectional `LSTMEncoder` layers that skip padding.

    Args:
        sequence_length: tokens per text.
        embedding_dim: size of the token embeddings (and transformer width).
        **stack_options: the blocks' settings as `encoder_stack` takes them
            (`backbone`, `num_layers`, `num_heads`, `intermediate_dim`,
            `lstm_units`, `dropout`).

    Returns:
        A `keras.Model` named `"encoder"` from `[(batch, seq, embedding_dim)
        floats, (batch, seq) bool]` to `(batch, seq, hidden)`.
    """
    embedded = keras.Input((sequence_length, embedding_dim), name="embedded_tokens")
    mask = keras.Input((sequence_length,), dtype="bool", name="padding_mask")
    x = encoder_stack(embedded, mask, input_dropout=True, **stack_options)
    return keras.Model([embedded, mask], x, name=ENCODER_MODEL)


def build_text_classifier_model(
    vocabulary_size,
    sequence_length,
    n_outputs,
    *,
    input_length=None,
    embedding_dim=64,
    ngram_buckets=2**18,
    ngrams=True,
    dropout=0.1,
    **encoder_kwargs,
):
    """Builds `token ids -> (encoder + attention pooling) + n-gram bag -> logits`.

    A wide-and-deep text model: the deep path embeds the first
    `sequence_length` tokens and reads them with the encoder; the wide path
    (`ngrams`) is a linear model over TF-IDF weighted unigrams and hashed
    bigrams of all `input_length` tokens, which a long document's tail and
    rare words reach. Their logits add.

    The layers after the embedding form a nested model named `"body"`
    taking `(embedded tokens, padding mask)`, so integrated gradients can
    move the embeddings; the encoder inside it is the nested model named
    `"encoder"` that masked-LM pretraining trains.

    Args:
        vocabulary_size: token ids (0 is padding).
        sequence_length: tokens the encoder reads.
        n_outputs: logits (1 for binary targets).
        input_length: tokens per input row (>= `sequence_length`); default
            `sequence_length`.
        embedding_dim: token embedding size.
        ngram_buckets: hashed bigram slots of the wide path.
        ngrams: whether to add the wide path.
        dropout: dropout rate.
        **encoder_kwargs: passed to `build_text_encoder`.

    Returns:
        A `keras.Model` from int32 token ids `(batch, input_length)` to logits
        `(batch, 1, n_outputs)`.
    """
    input_length = input_length or sequence_length
    if input_length < sequence_length:
        raise ValueError(
            f"`input_length` must be >= `sequence_length`. Received: input_length="
            f"{input_length}, sequence_length={sequence_length}"
        )
    ids = keras.Input((input_length,), dtype="int32", name="token_ids")
    deep_ids = ids
    if input_length > sequence_length:
        deep_ids = SelectFeatures(list(range(sequence_length)), name="encoder_tokens")(ids)
    embedding = TokenAndPositionEmbedding(
        vocabulary_size, sequence_length, embedding_dim, mask_zero=False, name=EMBEDDING_LAYER
    )
    embedded = embedding(deep_ids)
    mask = PaddingMask(name="padding_mask")(deep_ids)

    encoder = build_text_encoder(sequence_length, embedding_dim, dropout=dropout, **encoder_kwargs)
    embedded_in = keras.Input((sequence_length, embedding_dim), name="embedded_tokens")
    mask_in = keras.Input((sequence_length,), dtype="bool", name="padding_mask")
    states = encoder([embedded_in, mask_in])
    pooled = AttentionPooling(name="pooling")(states, mask=mask_in)
    pooled = keras.layers.Dropout(dropout, name="pooled_dropout")(pooled)
    # Zero-initialised, so the deep path starts by adding nothing to the n-gram path.
    deep_logits = keras.layers.Dense(n_outputs, kernel_initializer="zeros", name="deep_logits")(
        pooled
    )
    body = keras.Model([embedded_in, mask_in], deep_logits, name=BODY_MODEL)

    logits = body([embedded, mask])
    if ngrams:
        wide = HashedNgramBag(vocabulary_size, n_outputs, ngram_buckets, name=NGRAM_LAYER)(ids)
        logits = keras.layers.Add(name="wide_and_deep")([logits, wide])
    logits = keras.layers.Reshape((1, n_outputs), name="member")(logits)
    return keras.Model(ids, logits, name="text_classifier")


def build_masked_lm_model(embedding, encoder, max_predictions):
    """Builds the masked-LM pretraining model around an embedding and encoder.

    The output layer is tied to the token embedding, so what pretraining
    teaches the embeddings is what fine-tuning starts from.

    Args:
        embedding: a `TokenAndPositionEmbedding`.
        encoder: a model from `build_text_encoder`.
        max_predictions: masked positions scored per row.

    Returns:
        A `keras.Model` from `[token ids (batch, seq), positions (batch,
        max_predictions)]` to logits `(batch, max_predictions, vocabulary)`.
    """
    ids = keras.Input((embedding.sequence_length,), dtype="int32", name="masked_token_ids")
    positions = keras.Input((max_predictions,), dtype="int32", name="mask_positions")
    states = encoder([embedding(ids), PaddingMask(name="padding_mask")(ids)])
    logits = TiedTokenLogits(embedding.token_embeddings, name="masked_lm_logits")(
        states, positions=positions
    )
    return keras.Model([ids, positions], logits, name="masked_lm")


#: Where each part of a `build_text_classifier_model` model lives.
TEXT_MODEL_PARTS = {
    "embedding": EMBEDDING_LAYER,
    "encoder": (BODY_MODEL, ENCODER_MODEL),
    "body": BODY_MODEL,
    "deep_logits": (BODY_MODEL, "deep_logits"),
    "linear_path": NGRAM_LAYER,
}


def text_model_parts(model):
    """`ModelParts` of a `build_text_classifier_model` model; `linear_path` is the n-gram bag."""
    return ModelParts(model, TEXT_MODEL_PARTS)


#: Where each part of a saved text backbone (`TextClassifier.save_backbone`, `pretrain`) lives.
TEXT_BACKBONE_PARTS = {"embedding": EMBEDDING_LAYER, "encoder": ENCODER_MODEL}


def text_backbone_parts(model):
    """`ModelParts` of a saved text backbone (`TextClassifier.save_backbone`, `pretrain`)."""
    return ModelParts(model, TEXT_BACKBONE_PARTS)
