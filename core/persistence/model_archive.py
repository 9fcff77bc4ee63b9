"""One-file model archives: the `.keras` model, preprocessing state and metadata.

An archive is a zip with three members:

- `model.keras`: the Keras model, loaded back with Keras' safe mode;
- `state.json`: the estimator's parameters and fitted state (preprocessing included);
- `metadata.json`: format version, library versions, the estimator class, input
  schema, class labels, training metrics and a SHA-256 digest of the other two.

Nothing in an archive is unpickled, so loading one cannot run code from it.
"""

import hashlib
import io
import json
import os
import tempfile
import zipfile

import keras

FORMAT_NAME = "keras-domains-model"
FORMAT_VERSION = 1
MODEL_MEMBER = "model.keras"
STATE_MEMBER = "state.json"
METADATA_MEMBER = "metadata.json"


class ModelFileError(ValueError):
    """A model file that is truncated, tampered with, or not a keras-domains model."""


def model_to_bytes(model):
    """Serialises a Keras model to the bytes of a `.keras` file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, MODEL_MEMBER)
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def model_from_bytes(data):
    """Loads a Keras model from the bytes of a `.keras` file, in safe mode."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, MODEL_MEMBER)
        with open(path, "wb") as f:
            f.write(data)
        return keras.saving.load_model(path, safe_mode=True, compile=False)


def write_archive(path, model_bytes, state, metadata):
    """Writes an archive atomically: a temporary file in the same folder, then a rename.

    Args:
        path: destination file.
        model_bytes: the `.keras` file's bytes.
        state: JSON-serialisable estimator state.
        metadata: JSON-serialisable metadata; digests are added here.
    """
    path = os.fspath(path)
    state_bytes = json.dumps(state, indent=1, sort_keys=True).encode("utf-8")
    metadata = dict(metadata)
    metadata.update(
        {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "sha256": {
                MODEL_MEMBER: hashlib.sha256(model_bytes).hexdigest(),
                STATE_MEMBER: hashlib.sha256(state_bytes).hexdigest(),
            },
        }
    )
    metadata_bytes = json.dumps(metadata, indent=1, sort_keys=True).encode("utf-8")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to {path!r}: folder {folder!r} does not exist.")
    fd, tmp_path = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".kdm")
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(METADATA_MEMBER, metadata_bytes)
                archive.writestr(STATE_MEMBER, state_bytes)
                archive.writestr(MODEL_MEMBER, model_bytes)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o666 & ~_current_umask())  # mkstemp makes files private (0600).
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_archive(path):
    """Reads and verifies an archive.

    Args:
        path: a file written by `write_archive`.

    Returns:
        `(model_bytes, state, metadata)`.

    Raises:
        FileNotFoundError: if the file does not exist.
        ModelFileError: if the file is not a keras-domains model, or is
            truncated or altered.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file {path!r} does not exist.")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = set(archive.namelist())
            expected = {MODEL_MEMBER, STATE_MEMBER, METADATA_MEMBER}
            if not expected <= names:
                raise ModelFileError(
                    f"{path!r} is not a keras-domains model file: it lacks "
                    f"{sorted(expected - names)}."
                )
            metadata = json.loads(archive.read(METADATA_MEMBER))
            state_bytes = archive.read(STATE_MEMBER)
            model_bytes = archive.read(MODEL_MEMBER)
    except zipfile.BadZipFile as error:
        raise ModelFileError(
            f"{path!r} is not a keras-domains model file, or it is truncated ({error})."
        ) from error
    except (zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"{path!r} could not be read as a model file: {error}") from error
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path!r} is not a keras-domains model file.")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{path!r} has an invalid format version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} was written by a newer keras-domains (format version "
            f"{metadata['format_version']}; this one reads up to {FORMAT_VERSION})."
        )
    digests = metadata.get("sha256", {})
    for member, data in ((MODEL_MEMBER, model_bytes), (STATE_MEMBER, state_bytes)):
        if hashlib.sha256(data).hexdigest() != digests.get(member):
            raise ModelFileError(
                f"{path!r} has been altered: the digest of {member} does not match "
                "the one recorded when it was saved."
            )
    return model_bytes, json.loads(state_bytes), metadata
