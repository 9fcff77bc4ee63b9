"""Saving and loading estimators as one verified file."""

from core.persistence.model_archive import (
    ModelFileError,
    model_from_bytes,
    model_to_bytes,
    read_archive,
    write_archive,
)

__all__ = [
    "ModelFileError",
    "model_from_bytes",
    "model_to_bytes",
    "read_archive",
    "write_archive",
]
