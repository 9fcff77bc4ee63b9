"""What an exported model takes as input, and how raw data becomes it."""

import numpy as np

from core.inference import input_structure


class ExportSignature:
    """The inputs of an exported model: here, the Keras model's own inputs.

    The exported graph then starts after the estimator's preprocessing, which
    the caller applies (`feed` does it in Python; the companion JSON holds its
    fitted state for callers in other languages). A model with named inputs
    (ids as integers beside float arrays) is exported with one graph input
    per model input, under the same names; a model with one input, under
    `name`. Subclasses move the preprocessing into the graph, so that raw
    values go in.

    Args:
        model: the fitted Keras model.
        transform: the estimator's raw-input-to-model-input function.
        preprocessing: JSON description of that function and its fitted
            state, for the companion file.
        name: name of the one input of a model with a single input.
    """

    #: Whether raw data (rows, images, texts) goes straight into the graph.
    includes_preprocessing = False

    def __init__(self, model, transform, preprocessing, name="features"):
        self.model = model
        self.transform = transform
        self.preprocessing = preprocessing
        self.name = name
        self.named = isinstance(input_structure(model), dict)

    def _graph_names(self):
        """`[(graph input name, model input tensor)]`."""
        if self.named:
            return [(tensor.name, tensor) for tensor in self.model.inputs]
        return [(self.name, self.model.inputs[0])]

    def input_specs(self, for_onnx=False):
        """The graph's inputs.

        Args:
            for_onnx: give the inputs of the graph converted to ONNX, which
                takes category codes where the SavedModel takes strings.

        Returns:
            list of `tf.TensorSpec`, each named.
        """
        import tensorflow as tf

        return [
            tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype, name=name)
            for name, tensor in self._graph_names()
        ]

    def model_input(self, inputs, for_onnx=False):
        """TensorFlow ops from the graph's inputs (a dict by name) to the model's input."""
        if self.named:
            return {name: inputs[name] for name, _ in self._graph_names()}
        return inputs[self.name]

    def feed(self, X, **kwargs):
        """The exported graph's inputs for raw data, as numpy arrays.

        Args:
            X: raw input, as for the estimator's `predict_proba`.
            **kwargs: further arguments of the estimator's transform.

        Returns:
            dict `{input name: array}`.
        """
        transformed = self.transform(X, **kwargs)
        if not self.named:
            transformed = {self.name: transformed}
        return {
            name: np.asarray(transformed[name]).astype(np.dtype(tensor.dtype), copy=False)
            for name, tensor in self._graph_names()
        }

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
        meaning = (
            "the model's input of this name: apply `preprocessing` first"
            if self.named
            else "the model's input matrix: apply `preprocessing` first"
        )
        return {
            "preprocessing_in_graph": False,
            "inputs": [
                {
                    "name": spec.name,
                    "dtype": spec.dtype.name,
                    "shape": list(spec.shape),
                    "meaning": meaning,
                }
                for spec in self.input_specs()
            ],
            "preprocessing": self.preprocessing,
        }
