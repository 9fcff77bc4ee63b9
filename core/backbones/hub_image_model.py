"""An image classification model around a pretrained keras-hub image backbone."""

import keras

from core.backbones.image_model import BACKBONE_MODEL, assemble_image_model, image_head

#: Pixel values the keras-hub image converters expect: [0, 255], as decoded files are.
PIXEL_SCALE = 255.0


def build_hub_image_model(
    hub_backbone,
    image_converter,
    image_size,
    channels,
    n_outputs,
    *,
    dropout=0.1,
    augmentation=None,
    name="image_model",
):
    """Builds `images -> augmentation -> pretrained backbone (feature map) -> head -> logits`.

    The parts are those of `build_image_model` (nested models named
    `"backbone"` and `"head"`), so Grad-CAM, `embed` and fine-tuning treat
    both alike. Inside the backbone part, images in [0, 1] are scaled to
    [0, 255] and go through the preset's own image converter (its
    rescaling and normalisation), one-channel images repeated to three.

    Args:
        hub_backbone: a `keras_hub.models.Backbone` that maps images to a
            feature map `(h, w, c)` or to tokens `(n, c)`.
        image_converter: the preset's `keras_hub.layers.ImageConverter`, or None.
        image_size: `(height, width)` of the model's input.
        channels: channels of the input images (1 or 3).
        n_outputs: number of logits (1 for binary).
        dropout: dropout before the logits.
        augmentation: Keras preprocessing layers applied in training only, or None.
        name: model name.

    Returns:
        A `keras.Model` from `(batch, height, width, channels)` in [0, 1] to
        logits `(batch, 1, n_outputs)`.
    """
    shape = (*image_size, channels)
    images = keras.Input(shape, name="images")
    features_in = keras.Input(shape, name="backbone_images")
    x = features_in
    if channels == 1:
        x = keras.layers.Concatenate(name="to_rgb")([x, x, x])
    x = keras.layers.Rescaling(PIXEL_SCALE, name="to_pixels")(x)
    if image_converter is not None:
        x = image_converter(x)
    features = hub_backbone(x)
    backbone_model = keras.Model(features_in, features, name=BACKBONE_MODEL)

    if len(backbone_model.output.shape) == 4:
        pool = keras.layers.GlobalAveragePooling2D(name="pool")
    else:
        pool = keras.layers.GlobalAveragePooling1D(name="pool")
    head = image_head(backbone_model.output.shape[1:], n_outputs, pool, dropout)
    return assemble_image_model(images, backbone_model, head, augmentation or [], name)


def pooled_head(head):
    """The head's layers after pooling, as a model on pooled features.

    It shares its layers with `head`: training it on cached pooled features
    trains the full model's head (the fast path of a frozen backbone).

    Returns:
        `(pool layer, keras.Model from (batch, features) to logits)`.
    """
    pool = head.get_layer("pool")
    pooled = keras.Input((pool.output.shape[-1],), name="pooled_features")
    x = pooled
    for layer_name in ("head_dropout", "logits", "member"):
        x = head.get_layer(layer_name)(x)
    return pool, keras.Model(pooled, x, name="pooled_head")
