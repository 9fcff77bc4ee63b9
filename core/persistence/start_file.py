"""Files a task can start training from: a saved model, or an encoder written by `pretrain`."""

import os

from core.persistence.metadata import library_versions
from core.persistence.model_archive import (
    ModelFileError,
    model_from_bytes,
    model_to_bytes,
    read_archive,
    write_archive,
)


def write_encoder_file(path, model, state, kind, estimator_cls):
    """Writes a pretrained encoder (a Keras model and its preprocessing state) as one file.

    Args:
        path: destination, conventionally ending in `.kdm`.
        model: the Keras model holding the encoder's layers.
        state: plain-JSON preprocessing state (tokenizer, code vocabulary, config).
        kind: the file kind, e.g. `"text-backbone"`, checked when the file is read.
        estimator_cls: the task class that wrote it.

    Returns:
        The path written (as a string).
    """
    metadata = {
        "kind": kind,
        "estimator": f"{estimator_cls.__module__}.{estimator_cls.__qualname__}",
        "versions": library_versions(),
    }
    write_archive(path, model_to_bytes(model), state, metadata)
    return os.fspath(path)


def read_start_file(path, kind, estimator_cls):
    """Reads the file a task's `start_from` names.

    Args:
        path: an encoder file of `kind`, or a model saved by `estimator_cls.save`.
        kind: the encoder file kind the task writes.
        estimator_cls: the task class.

    Returns:
        `("encoder", model, state)` for an encoder file, or `("estimator",
        fitted estimator)` for a saved model.

    Raises:
        ModelFileError: for a file that is neither, naming what it holds.
    """
    model_bytes, state, metadata = read_archive(path)
    if metadata.get("kind") == kind:
        return "encoder", model_from_bytes(model_bytes), state
    own = f"{estimator_cls.__module__}.{estimator_cls.__qualname__}"
    if metadata.get("estimator") == own and "kind" not in metadata:
        return "estimator", estimator_cls.load(path)
    raise ModelFileError(
        f"`start_from` file {os.fspath(path)!r} is neither a {kind!r} file (from `pretrain`) "
        f"nor a saved {estimator_cls.__name__}; it holds "
        f"{metadata.get('kind') or metadata.get('estimator') or 'something else'}."
    )
