"""A wide-and-deep text classifier around a pretrained keras-hub text encoder."""

import keras

from core.backbones.model_parts import ModelParts
from core.backbones.text_model import BODY_MODEL, NGRAM_LAYER
from core.layers.hashed_ngram_bag import HashedNgramBag

#: The model input that carries the n-gram path's own token ids.
NGRAM_INPUT = "ngram_ids"
POOLED_LAYER = "pooled_dropout"


def build_hub_text_classifier_model(
    hub_backbone,
    encoder_inputs,
    sequence_length,
    n_outputs,
    *,
    ngram_vocabulary_size=None,
    input_length=None,
    ngram_buckets=2**18,
    ngrams=True,
    dropout=0.1,
):
    """Builds `packed preset ids -> encoder -> mean token state -> logits`, plus an n-gram bag.

    The deep path is the preset's encoder: the mean of its states over the
    real tokens (padding masked) through dropout and a zero-initialised
    dense layer, in a nested model named `"body"`. The
    wide path (`ngrams`) is the `HashedNgramBag` over the n-gram path's own
    token ids, as in `build_text_classifier_model`; their logits add.

    Args:
        hub_backbone: a `keras_hub.models.Backbone` text encoder.
        encoder_inputs: names of the backbone's inputs (`token_ids`,
            `padding_mask`, `segment_ids`, ...), each `(batch, sequence_length)` int32.
        sequence_length: tokens the encoder reads.
        n_outputs: logits (1 for binary targets).
        ngram_vocabulary_size: token ids of the n-gram path (0 is padding).
        input_length: n-gram ids per row.
        ngram_buckets: hashed bigram slots.
        ngrams: whether to add the wide path.
        dropout: dropout before the deep logits.

    Returns:
        A `keras.Model` from `{input name: int32 ids}` to logits `(batch, 1, n_outputs)`.
    """
    inputs = {
        name: keras.Input((sequence_length,), dtype="int32", name=name) for name in encoder_inputs
    }
    body_inputs = {
        name: keras.Input((sequence_length,), dtype="int32", name=name) for name in encoder_inputs
    }
    freeze_pooler(hub_backbone)
    outputs = hub_backbone(body_inputs)
    states = outputs["sequence_output"] if isinstance(outputs, dict) else outputs
    # The mean of the real tokens' states, not the first token's: an encoder pretrained by
    # masked-LM alone never trained its [CLS] state or BERT's pooler (NSP), and on the sample
    # reviews the mean took its full fine-tuning from 0.52 to 0.67 accuracy.
    mask = keras.ops.cast(body_inputs["padding_mask"], "bool")
    pooled = keras.layers.GlobalAveragePooling1D(name="token_mean")(states, mask=mask)
    pooled = keras.layers.Dropout(dropout, name=POOLED_LAYER)(pooled)
    # Zero-initialised, so the deep path starts by adding nothing to the n-gram path.
    deep_logits = keras.layers.Dense(n_outputs, kernel_initializer="zeros", name="deep_logits")(
        pooled
    )
    body = keras.Model(body_inputs, deep_logits, name=BODY_MODEL)
    logits = body(inputs)
    if ngrams:
        inputs[NGRAM_INPUT] = keras.Input((input_length,), dtype="int32", name=NGRAM_INPUT)
        wide = HashedNgramBag(ngram_vocabulary_size, n_outputs, ngram_buckets, name=NGRAM_LAYER)(
            inputs[NGRAM_INPUT]
        )
        logits = keras.layers.Add(name="wide_and_deep")([logits, wide])
    logits = keras.layers.Reshape((1, n_outputs), name="member")(logits)
    return keras.Model(inputs, logits, name="text_classifier")


#: Where each part of a `build_hub_text_classifier_model` model lives.
HUB_TEXT_MODEL_PARTS = {
    "body": BODY_MODEL,
    "deep_logits": (BODY_MODEL, "deep_logits"),
    "linear_path": NGRAM_LAYER,
}


def hub_text_model_parts(model):
    """`ModelParts` of a `build_hub_text_classifier_model` model."""
    return ModelParts(model, HUB_TEXT_MODEL_PARTS)


def pooled_features_model(body):
    """`(encoder features model, head model)` of the body, sharing its layers.

    The features model maps the encoder inputs to the pooled state before
    dropout; the head model maps `[pooled state, linear logits]` to the
    logits `(batch, 1, n_outputs)`, so the head trains on cached features
    with the frozen n-gram path's logits added.
    """
    dropout = body.get_layer(POOLED_LAYER)
    features = keras.Model(body.input, dropout.input, name="encoder_features")
    dense = body.get_layer("deep_logits")
    n_outputs = dense.units
    pooled = keras.Input((dropout.input.shape[-1],), name="pooled_features")
    offset = keras.Input((n_outputs,), name="linear_logits")
    logits = keras.layers.Add()([dense(dropout(pooled)), offset])
    logits = keras.layers.Reshape((1, n_outputs))(logits)
    inputs = {"pooled_features": pooled, "linear_logits": offset}
    return features, keras.Model(inputs, logits, name="pooled_head")


def freeze_pooler(hub_backbone):
    """Keeps BERT's pooler (`pooled_dense`) out of training: the mean of the states is used.

    Its weights would get no gradient, and Keras warns of each at every step.
    """
    for layer in hub_backbone.layers:
        if layer.name == "pooled_dense":
            layer.trainable = False
