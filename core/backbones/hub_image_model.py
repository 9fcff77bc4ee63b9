"""An image classification model around a pretrained keras-hub image backbone."""

import keras

from core.backbones.image_model import BACKBONE_MODEL, assemble_image_model, image_head

#: Image side for a preset whose converter has no fixed size.
PRESET_IMAGE_SIZE = (224, 224)
#: Pixel values the keras-hub image converters expect: [0, 255], as decoded files are.
PIXEL_SCALE = 255.0


def preset_image_size(image_converter, image_size="auto"):
    """The image size a preset reads: its converter's, else `image_size`, else `PRESET_IMAGE_SIZE`.

    Args:
        image_converter: the preset's `keras_hub.layers.ImageConverter`, or None.
        image_size: the task's `(height, width)`, or `"auto"`.

    Returns:
        `(height, width)`.
    """
    preset_size = None if image_converter is None else image_converter.image_size
    if preset_size is not None and all(preset_size):
        return tuple(int(v) for v in preset_size)
    return PRESET_IMAGE_SIZE if image_size == "auto" else image_size


def preset_feature_model(hub_backbone, image_converter, image_size, channels, name):
    """`images in [0, 1] -> the preset's feature map`: to RGB, to [0, 255], its converter.

    Args:
        hub_backbone: a `keras_hub.models.Backbone` of images.
        image_converter: the preset's image converter, or None.
        image_size: `(height, width)` of the input.
        channels: channels of the input images (1 or 3).
        name: the model's name.

    Returns:
        A `keras.Model` to a feature map `(h, w, c)` or tokens `(n, c)`.
    """
    images = keras.Input((*image_size, channels), name=f"{name}_images")
    x = images
    if channels == 1:
        x = keras.layers.Concatenate(name=f"{name}_to_rgb")([x, x, x])
    x = keras.layers.Rescaling(PIXEL_SCALE, name=f"{name}_to_pixels")(x)
    if image_converter is not None:
        x = image_converter(x)
    return keras.Model(images, hub_backbone(x), name=name)


def global_pool(feature_shape, name):
    """Average pooling over a feature map `(h, w, c)` or over tokens `(n, c)`."""
    if len(feature_shape) == 4:
        return keras.layers.GlobalAveragePooling2D(name=name)
    return keras.layers.GlobalAveragePooling1D(name=name)


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
    images = keras.Input((*image_size, channels), name="images")
    backbone_model = preset_feature_model(
        hub_backbone, image_converter, image_size, channels, BACKBONE_MODEL
    )
    pool = global_pool(backbone_model.output.shape, "pool")
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
