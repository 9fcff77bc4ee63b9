"""What a benchmark ran on, for its JSON figures."""

import os
import platform


def run_environment():
    """Python, Keras and its backend, the CPU count and the load average now.

    Returns:
        dict of JSON-ready values.
    """
    import keras

    return {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
