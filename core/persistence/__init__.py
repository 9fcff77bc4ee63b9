"""Saving and loading estimators as one verified file."""

from core.persistence.atomic_file import atomic_path, atomic_write, check_file_path
from core.persistence.model_archive import (
    ModelFileError,
    model_from_bytes,
    model_to_bytes,
    read_archive,
    write_archive,
)

__all__ = [
    "ModelFileError",
    "atomic_path",
    "atomic_write",
    "check_file_path",
    "model_from_bytes",
    "model_to_bytes",
    "read_archive",
    "write_archive",
]
