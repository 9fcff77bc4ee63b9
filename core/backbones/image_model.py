"""Keras models for images: augmentation, a CNN or ViT backbone, a classification head."""

import keras

from core.backbones.encoder_stack import encoder_stack
from core.backbones.model_parts import ModelParts
from core.layers import (
    AttentionPooling,
    PatchEmbedding,
    PerImageStandardization,
    ResidualBlock,
)
from core.layers.residual_block import BN_MOMENTUM

IMAGE_BACKBONES = ("cnn", "vit")
BACKBONE_MODEL = "backbone"
HEAD_MODEL = "head"


def build_image_model(
    image_size,
    channels,
    n_outputs,
    *,
    backbone="cnn",
    widths=(32, 64, 128),
    patch_size=4,
    embedding_dim=64,
    num_layers=4,
    num_heads=4,
    dropout=0.1,
    augmentation=None,
    standardize=True,
    name="image_model",
    input_prefix="",
):
    """Builds `images -> augmentation -> backbone (feature map) -> head -> logits`.

    `"cnn"`: a convolutional stem and one `ResidualBlock` per width, halving
    the resolution after the first. `"vit"`: `PatchEmbedding` and
    `TransformerEncoder` blocks. The backbone is a nested model named
    `"backbone"` whose output is the last feature map (`(h, w, c)` for the
    CNN, `(patches, dim)` for the ViT); the head is a nested model named
    `"head"`. So Grad-CAM differentiates the head's output with respect to
    the backbone's output directly, and a saved backbone can be reused.

    Args:
        image_size: `(height, width)`.
        channels: 1 or 3.
        n_outputs: number of classes (1 for binary).
        backbone: `"cnn"` or `"vit"`.
        widths: CNN channels per stage.
        patch_size: ViT patch side.
        embedding_dim: ViT token size.
        num_layers: ViT transformer blocks.
        num_heads: ViT attention heads.
        dropout: dropout rate.
        augmentation: list of Keras preprocessing layers applied in training
            only (they are the identity at inference), or None.
        standardize: standardise each image (zero mean, unit variance) after
            augmentation.
        name: model name.
        input_prefix: put before the names of the model's inputs, so several
            image models can sit in one model.

    Returns:
        A `keras.Model` from `(batch, height, width, channels)` in [0, 1] to
        logits `(batch, 1, n_outputs)`.
    """
    if backbone not in IMAGE_BACKBONES:
        raise ValueError(
            f"`backbone` must be one of {IMAGE_BACKBONES}. Received: backbone={backbone!r}"
        )
    shape = (*image_size, channels)
    images = keras.Input(shape, name=f"{input_prefix}images")
    features_in = keras.Input(shape, name=f"{input_prefix}backbone_images")
    if backbone == "cnn":
        x = keras.layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(
            features_in
        )
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name="stem_norm")(x)
        x = keras.layers.Activation("relu", name="stem_relu")(x)
        for i, width in enumerate(widths):
            x = ResidualBlock(width, strides=1 if i == 0 else 2, name=f"stage_{i}")(x)
        pooled_shape = None
    else:
        x = PatchEmbedding(patch_size, embedding_dim, name="patches")(features_in)
        x = encoder_stack(
            x,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=2 * embedding_dim,
            dropout=dropout,
        )
        pooled_shape = x.shape[1:]
    backbone_model = keras.Model(features_in, x, name=BACKBONE_MODEL)

    if pooled_shape is None:
        pool = keras.layers.GlobalAveragePooling2D(name="pool")
    else:
        pool = AttentionPooling(name="pool")
    head = image_head(backbone_model.output.shape[1:], n_outputs, pool, dropout, input_prefix)
    layers = list(augmentation or [])
    if standardize:
        layers.append(PerImageStandardization(name="standardize"))
    return assemble_image_model(images, backbone_model, head, layers, name)


def image_head(feature_shape, n_outputs, pool, dropout, input_prefix=""):
    """The head on a backbone's feature map: `pool -> dropout -> logits`, a model named `"head"`.

    Args:
        feature_shape: the feature map's shape without the batch axis.
        n_outputs: logits (1 for binary).
        pool: the pooling layer, named `"pool"`.
        dropout: dropout rate before the logits.
        input_prefix: put before the name of the head's input.

    Returns:
        A `keras.Model` from the feature map to logits `(batch, 1, n_outputs)`.
    """
    feature_map = keras.Input(feature_shape, name=f"{input_prefix}feature_map")
    pooled = keras.layers.Dropout(dropout, name="head_dropout")(pool(feature_map))
    logits = keras.layers.Dense(n_outputs, name="logits")(pooled)
    logits = keras.layers.Reshape((1, n_outputs), name="member")(logits)
    return keras.Model(feature_map, logits, name=HEAD_MODEL)


def assemble_image_model(images, backbone_model, head, layers, name):
    """`images -> layers (augmentation, standardisation) -> backbone -> head`, as one model."""
    x = images
    for layer in layers:
        x = layer(x)
    return keras.Model(images, head(backbone_model(x)), name=name)


def image_augmentation(
    flip=None, rotation=0.03, zoom=0.05, translation=0.05, contrast=0.1, seed=None
):
    """The training-time augmentation layers of image models (the identity at inference).

    Args:
        flip: None, `"horizontal"`, `"vertical"` or `"horizontal_and_vertical"`.
        rotation: largest rotation, as a fraction of a full turn.
        zoom: largest zoom in or out, as a fraction of the side.
        translation: largest shift, as a fraction of the side.
        contrast: largest contrast change.
        seed: integer seed, or None.

    Returns:
        A list of Keras preprocessing layers.
    """
    flips = [keras.layers.RandomFlip(flip, seed=seed)] if flip else []
    return [
        *flips,
        keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed),
        keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(translation, translation, fill_mode="constant", seed=seed),
        keras.layers.RandomContrast(contrast, seed=seed),
    ]


#: Where each part of a `build_image_model` model lives.
IMAGE_MODEL_PARTS = {"backbone": BACKBONE_MODEL, "head": HEAD_MODEL}


def image_model_parts(model):
    """`ModelParts` of a `build_image_model` model; `backbone` outputs the last feature map."""
    return ModelParts(model, IMAGE_MODEL_PARTS)
