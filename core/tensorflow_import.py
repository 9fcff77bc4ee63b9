"""Importing TensorFlow without its native start-up lines on the terminal."""

import os
import sys
import tempfile


def import_tensorflow_quietly():
    """Imports TensorFlow and finds its devices with its C++ log lines kept off stderr.

    TensorFlow's native code writes start-up lines ("Could not find cuda
    drivers", oneDNN notices) straight to file descriptor 2, before and
    regardless of `TF_CPP_MIN_LOG_LEVEL`, so only redirecting the descriptor
    hides them. If the import fails, what was written is replayed.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # The CUDA probe runs here, once.
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.buffer.write(captured.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
