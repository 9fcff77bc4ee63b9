"""An export signature that takes images as pixel values, scaled in the graph."""

import numpy as np

from core.export.export_signature import ExportSignature


class ImageSignature(ExportSignature):
    """Images in, at the size the model was trained on, as raw pixel values.

    The graph divides by the training arrays' pixel scale (255 for 8-bit
    images) and clips to [0, 1], as `ImagePreprocessor` does. Resizing to
    the model's size and matching the channels stay with the caller (the
    companion JSON gives both): the estimator resizes with antialiasing,
    which neither format can reproduce exactly.

    Args:
        model: the fitted Keras model.
        preprocessor: the fitted `ImagePreprocessor`.
        transform: the estimator's images-to-model-input function.
    """

    includes_preprocessing = True

    def __init__(self, model, preprocessor, transform):
        super().__init__(model, transform, preprocessor.get_state(), name="images")
        self.pixel_scale = float(preprocessor.pixel_scale_)

    def model_input(self, inputs, for_onnx=False):
        import tensorflow as tf

        return tf.clip_by_value(inputs[self.name] / self.pixel_scale, 0.0, 1.0)

    def feed(self, X):
        # The preprocessor's output is resized and in [0, 1]; the graph expects raw pixels.
        return {self.name: np.asarray(self.transform(X), dtype=np.float32) * self.pixel_scale}

    def describe(self):
        shape = self.input_specs()[0].shape
        return {
            "preprocessing_in_graph": True,
            "inputs": [
                {
                    "name": self.name,
                    "dtype": "float32",
                    "shape": [None, *shape[1:]],
                    "meaning": (
                        f"images of {shape[1]}x{shape[2]} pixels with {shape[3]} channel(s), "
                        f"pixel values from 0 to {self.pixel_scale:g}; resize and convert "
                        "channels first"
                    ),
                }
            ],
            "preprocessing": self.preprocessing,
        }
