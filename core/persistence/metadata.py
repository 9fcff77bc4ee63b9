"""Plain-JSON helpers shared by saved models, exports, model cards and the server."""

import importlib.metadata
import platform

import keras
import numpy as np
import sklearn


def jsonable(value):
    """Converts numpy values, arrays and tuples into plain JSON types.

    Args:
        value: a nested structure of dicts, lists, tuples, arrays and scalars.

    Returns:
        The same structure made of dicts, lists, str, int, float, bool and None.

    Raises:
        ValueError: for a `numpy.random.RandomState`, which has no JSON form.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.random.RandomState):
        raise ValueError(
            "Cannot save an estimator whose `random_state` is a RandomState instance; "
            "use an integer seed."
        )
    return value


def library_versions():
    """Versions of Python and the libraries a saved model depends on.

    Returns:
        dict `{name: version or None}`.
    """
    versions = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }
    for package in ("keras-domains", "tensorflow", "pandas"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions
