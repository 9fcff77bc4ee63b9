import keras


@keras.saving.register_keras_serializable(package="keras_domains")
class ImageFileReader(keras.layers.Layer):
    """Reads the image files of a batch inside the model: paths in, pixels out.

    The images of a table column are read batch by batch while the model
    trains or predicts, so a table of 100k rows never holds its images in
    memory. Paths arrive as rows of Unicode code points, 0-padded
    (`core.preprocessing.path_codes`), so every array the training schemes
    handle stays numeric. A file is decoded (PNG, JPEG, BMP or GIF), its
    alpha channel dropped, grey and colour converted to `channels`, resized
    to `image_size` and scaled to [0, 1]; an empty row (a missing image)
    gives zeros, which the model replaces with a learned token. Needs the
    TensorFlow backend.

    Args:
        image_size: `(height, width)` of the images out.
        channels: 1 or 3.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        codes: int32 tensor `(batch, path_length)`.

    Returns:
        Float tensor `(batch, height, width, channels)`.
    """

    def __init__(self, image_size, channels, **kwargs):
        super().__init__(**kwargs)
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3. Received: channels={channels!r}")
        self.image_size = tuple(int(v) for v in image_size)
        self.channels = int(channels)

    def call(self, codes):
        import tensorflow as tf

        paths = tf.strings.unicode_encode(
            tf.RaggedTensor.from_tensor(tf.cast(codes, tf.int32), padding=0), "UTF-8"
        )
        shape = (*self.image_size, self.channels)

        def read(path):
            image = tf.io.decode_image(
                tf.io.read_file(path), channels=0, expand_animations=False, dtype=tf.float32
            )
            image = image[..., :3]
            grey = tf.shape(image)[-1] == 1
            if self.channels == 3:
                image = tf.cond(grey, lambda: tf.repeat(image, 3, axis=-1), lambda: image)
            else:
                image = tf.cond(grey, lambda: image, lambda: tf.image.rgb_to_grayscale(image))
            return tf.ensure_shape(tf.image.resize(image, self.image_size, antialias=True), shape)

        def one(path):
            return tf.cond(tf.strings.length(path) > 0, lambda: read(path), lambda: tf.zeros(shape))

        images = tf.map_fn(one, paths, fn_output_signature=tf.TensorSpec(shape, tf.float32))
        return tf.clip_by_value(images, 0.0, 1.0)

    def compute_output_shape(self, codes_shape):
        return (codes_shape[0], *self.image_size, self.channels)

    def get_config(self):
        config = super().get_config()
        config.update({"image_size": list(self.image_size), "channels": self.channels})
        return config
