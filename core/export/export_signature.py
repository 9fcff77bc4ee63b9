"""What an exported model takes as input, and how raw data becomes it."""

import numpy as np


class ExportSignature:
    """The inputs of an exported model: here, the Keras model's own input matrix.

    The exported graph then starts after the estimator's preprocessing, which
    the caller applies (`feed` does it in Python; the companion JSON holds its
    fitted state for callers in other languages). Subclasses move the
    preprocessing into the graph, so that raw values go in.

    Args:
        model: the fitted Keras model.
        transform: the estimator's raw-input-to-matrix function.
        preprocessing: JSON description of that function and its fitted
            state, for the companion file.
        name: name of the one input.
    """

    #: Whether raw data (rows, images, texts) goes straight into the graph.
    includes_preprocessing = False

    def __init__(self, model, transform, preprocessing, name="features"):
        self.model = model
        self.transform = transform
        self.preprocessing = preprocessing
        self.name = name

    def input_specs(self, for_onnx=False):
        """The graph's inputs.

        Args:
            for_onnx: give the inputs of the graph converted to ONNX, which
                takes category codes where the SavedModel takes strings.

        Returns:
            list of `tf.TensorSpec`, each named.
        """
        import tensorflow as tf

        shape = (None, *self.model.input_shape[1:])
        return [tf.TensorSpec(shape, self.model.inputs[0].dtype, name=self.name)]

    def model_input(self, inputs, for_onnx=False):
        """TensorFlow ops from the graph's inputs (a dict by name) to the model's input."""
        return inputs[self.name]

    def feed(self, X, **kwargs):
        """The exported graph's inputs for raw data, as numpy arrays.

        Args:
            X: raw input, as for the estimator's `predict_proba`.
            **kwargs: further arguments of the estimator's transform.

        Returns:
            dict `{input name: array}`.
        """
        dtype = np.dtype(self.model.inputs[0].dtype)
        return {self.name: np.asarray(self.transform(X, **kwargs)).astype(dtype, copy=False)}

    def onnx_lookups(self):
        """String inputs that ONNX looks up with a `LabelEncoder` in front of the graph.

        Returns:
            dict `{string input name: (code input name, keys, codes, default code)}`.
        """
        return {}

    def describe(self):
        """The inputs, for the companion JSON.

        Returns:
            dict with `inputs` (name, dtype, shape, meaning) and
            `preprocessing_in_graph`, plus `preprocessing` when the caller
            must apply it.
        """
        spec = self.input_specs()[0]
        return {
            "preprocessing_in_graph": False,
            "inputs": [
                {
                    "name": self.name,
                    "dtype": spec.dtype.name,
                    "shape": list(spec.shape),
                    "meaning": "the model's input matrix: apply `preprocessing` first",
                }
            ],
            "preprocessing": self.preprocessing,
        }
