"""A Keras model called through one traced graph, without `model.predict`'s per-call cost."""

import logging

import keras
import numpy as np

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
        model: a built Keras model taking one float32 matrix.
    """

    def __init__(self, model):
        self._model = model
        self._call = None

    def __call__(self, matrix):
        """Runs the model in inference mode, in chunks of `INFERENCE_CHUNK` rows.

        Args:
            matrix: model input, converted to float32.

        Returns:
            The model's output as a numpy array.
        """
        if self._call is None:
            self._call = self._trace()
        matrix = np.asarray(matrix, dtype=np.float32)
        if len(matrix) <= INFERENCE_CHUNK:
            return self._call(matrix)
        chunks = [
            self._call(matrix[i : i + INFERENCE_CHUNK])
            for i in range(0, len(matrix), INFERENCE_CHUNK)
        ]
        return np.concatenate(chunks, axis=0)

    def _trace(self):
        model = self._model
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            _quiet_retracing_warning(tf)
            spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
            concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
            return lambda matrix: concrete(tf.constant(matrix)).numpy()
        if backend == "jax":
            import jax

            function = jax.jit(lambda x: model(x, training=False))
            return lambda matrix: np.asarray(function(matrix))
        return lambda matrix: keras.ops.convert_to_numpy(model(matrix, training=False))


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
