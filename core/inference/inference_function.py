"""A Keras model called through one traced graph, without `model.predict`'s per-call cost."""

import logging

import keras
import numpy as np

from core.data.model_inputs import count_rows, take_rows

# Rows per call of the compiled function; larger inputs go in chunks.
INFERENCE_CHUNK = 4096


class InferenceFunction:
    """Calls a model through one traced graph, built on first use.

    For TensorFlow the graph is a concrete function: calling it skips
    `tf.function`'s argument matching, which is most of the cost of a
    one-row call. Tracing waits for the first prediction, so `fit` and
    `load` pay nothing for it. Calls are thread-safe: the function holds no
    per-call state, and tracing twice under a race gives equal graphs.

    Args:
        model: a built Keras model taking one array or a dict of named arrays.
    """

    def __init__(self, model):
        self._model = model
        self._call = None
        # Read once here, not on every (one-row) call.
        self._dtypes = {tensor.name: tensor.dtype for tensor in model.inputs}

    def __call__(self, inputs):
        """Runs the model in inference mode, in chunks of `INFERENCE_CHUNK` rows.

        Args:
            inputs: the model's input: one array, or a dict of named arrays
                for a model with named inputs; each is converted to the
                dtype of its model input (ids stay integers).

        Returns:
            The model's output as a numpy array.
        """
        if self._call is None:
            self._call = self._trace()
        inputs = self._typed(inputs)
        n_rows = count_rows(inputs)
        if n_rows <= INFERENCE_CHUNK:
            return self._call(inputs)
        chunks = [
            self._call(take_rows(inputs, slice(i, i + INFERENCE_CHUNK)))
            for i in range(0, n_rows, INFERENCE_CHUNK)
        ]
        return np.concatenate(chunks, axis=0)

    def _typed(self, inputs):
        if isinstance(inputs, dict):
            return {
                name: np.asarray(inputs[name], dtype=dtype) for name, dtype in self._dtypes.items()
            }
        return np.asarray(inputs, dtype=next(iter(self._dtypes.values())))

    def zeros(self, n_rows=1):
        """An all-zero input of `n_rows` rows in the model's input structure (for warm-up)."""
        # A dimension of any length (token ids, image paths as code points) gets length 1.
        specs = {
            t.name: (tuple(1 if d is None else d for d in t.shape[1:]), t.dtype)
            for t in self._model.inputs
        }
        arrays = {name: np.zeros((n_rows, *shape), dtype) for name, (shape, dtype) in specs.items()}
        return (
            arrays
            if isinstance(input_structure(self._model), dict)
            else next(iter(arrays.values()))
        )

    def _trace(self):
        model = self._model
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            _quiet_retracing_warning(tf)
            specs = keras.tree.map_structure(
                lambda t: tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=t.name),
                input_structure(model),
            )
            concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(specs)
            return lambda inputs: concrete(keras.tree.map_structure(tf.constant, inputs)).numpy()
        if backend == "jax":
            import jax

            function = jax.jit(lambda x: model(x, training=False))
            return lambda inputs: np.asarray(function(inputs))
        return lambda inputs: keras.ops.convert_to_numpy(model(inputs, training=False))


def input_structure(model):
    """The model's inputs as it is called: a dict of named inputs, or one input.

    Args:
        model: a built Keras model.

    Returns:
        A dict `{name: KerasTensor}` for a model built on named inputs, else its one input.
    """
    try:
        return model.input
    except AttributeError:  # A Sequential model answers only `inputs`.
        return model.inputs[0]


class _DropRetracingWarning(logging.Filter):
    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def _quiet_retracing_warning(tf):
    """Drops TensorFlow's retracing warning, which fires when many models are fitted in a row.

    Each fitted model gets its own compiled function, traced once; that is
    the intended cost, not the accidental retracing the warning is about.
    """
    logger = tf.get_logger()
    if not any(isinstance(f, _DropRetracingWarning) for f in logger.filters):
        logger.addFilter(_DropRetracingWarning())
