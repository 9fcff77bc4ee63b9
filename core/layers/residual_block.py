"""A residual block of two 3x3 convolutions with batch normalisation."""

import keras

# Moving statistics must settle within the few hundred steps a small data set gives;
# Keras' default of 0.99 leaves them far from the data's after that long.
BN_MOMENTUM = 0.9


@keras.saving.register_keras_serializable(package="keras_domains")
class ResidualBlock(keras.layers.Layer):
    """`relu(x' + F(x))`, F = conv-BN-ReLU-conv-BN (He et al., 2016).

    When the block changes the width or strides, the shortcut `x'` is a 1x1
    convolution with batch normalisation; otherwise it is `x` itself.

    Args:
        filters: output channels.
        strides: stride of the first convolution (2 halves height and width).
        dropout: spatial dropout between the two convolutions.

    Call arguments:
        inputs: `(batch, height, width, channels)`.
        training: batch normalisation and dropout mode.

    Returns:
        `(batch, height / strides, width / strides, filters)`.
    """

    def __init__(self, filters, strides=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"`filters` must be a positive integer. Received: filters={filters}")
        if strides not in (1, 2):
            raise ValueError(f"`strides` must be 1 or 2. Received: strides={strides}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout}")
        self.filters = filters
        self.strides = strides
        self.dropout = dropout
        self.conv1 = keras.layers.Conv2D(
            filters, 3, strides=strides, padding="same", use_bias=False, name="conv1"
        )
        self.norm1 = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name="norm1")
        self.drop = keras.layers.SpatialDropout2D(dropout, name="dropout") if dropout else None
        self.conv2 = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name="conv2")
        self.norm2 = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name="norm2")
        self.shortcut_conv = None
        self.shortcut_norm = None

    def build(self, input_shape):
        self.conv1.build(input_shape)
        mid_shape = self.conv1.compute_output_shape(input_shape)
        self.norm1.build(mid_shape)
        self.conv2.build(mid_shape)
        self.norm2.build(mid_shape)
        if self.strides != 1 or input_shape[-1] != self.filters:
            self.shortcut_conv = keras.layers.Conv2D(
                self.filters, 1, strides=self.strides, use_bias=False, name="shortcut_conv"
            )
            self.shortcut_norm = keras.layers.BatchNormalization(
                momentum=BN_MOMENTUM, name="shortcut_norm"
            )
            self.shortcut_conv.build(input_shape)
            self.shortcut_norm.build(mid_shape)

    def call(self, inputs, training=None):
        x = keras.ops.relu(self.norm1(self.conv1(inputs), training=training))
        if self.drop is not None:
            x = self.drop(x, training=training)
        x = self.norm2(self.conv2(x), training=training)
        shortcut = inputs
        if self.shortcut_conv is not None:
            shortcut = self.shortcut_norm(self.shortcut_conv(inputs), training=training)
        return keras.ops.relu(x + shortcut)

    def compute_output_shape(self, input_shape):
        return (*self.conv1.compute_output_shape(input_shape)[:-1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "strides": self.strides, "dropout": self.dropout})
        return config
