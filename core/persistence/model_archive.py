"""One-file model archives: the `.keras` model, preprocessing state and metadata.

An archive is a zip with three members:

- `model.keras`: the Keras model, loaded back with Keras' safe mode;
- `state.json`: the estimator's parameters and fitted state (preprocessing included);
- `metadata.json`: format version, library versions, the estimator class, input
  schema, class labels, training metrics and a SHA-256 digest of the other two.

Reading an archive (`read_archive`) refuses, with `ModelFileError`, any file that
is not exactly such a zip:

- a member set other than exactly the three names above: extra, missing or
  duplicated members, and names that could point outside a folder (absolute
  paths, `..`, drive letters), are refused before any member is read;
- encrypted members and compression methods other than stored and deflated;
- a zip bomb: `state.json` and `metadata.json` may not declare more than
  `MAX_JSON_MEMBER_SIZE` (64 MiB) uncompressed, and `model.keras` not more than
  `MAX_MODEL_EXPANSION` (100) times the archive's size or 64 MiB, whichever is
  larger. Members are inflated no further than their declared size, so these
  caps bound the memory a file can claim;
- a format version newer than `FORMAT_VERSION`, with both versions named, or
  older than `OLDEST_FORMAT_VERSION` (version 1 models took one packed float
  matrix; from version 2 they take named inputs with integer ids);
- a `model.keras` or `state.json` whose SHA-256 differs from the digest recorded
  in `metadata.json`: a truncated, corrupted or edited file.

Members are read into memory and never extracted to disk under their own names.
Nothing in an archive is unpickled, and `model_from_bytes` loads the Keras model
in safe mode, which refuses `Lambda` layers holding Python bytecode without
running it: loading a model file cannot run code from it. The digests detect
accidents and edits, not forgery: someone who can write the file can also
rewrite the digests, which is why loading never relies on them for safety.
"""

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile

import keras

from core.persistence.atomic_file import atomic_write

FORMAT_NAME = "keras-domains-model"
FORMAT_VERSION = 2
#: Version 1 models read one packed float matrix; nothing since can feed them.
OLDEST_FORMAT_VERSION = 2
MODEL_MEMBER = "model.keras"
STATE_MEMBER = "state.json"
METADATA_MEMBER = "metadata.json"
MEMBERS = (MODEL_MEMBER, STATE_MEMBER, METADATA_MEMBER)
# Zip-bomb guard: the most a JSON member may declare, uncompressed.
MAX_JSON_MEMBER_SIZE = 64 * 2**20
# Zip-bomb guard: `model.keras` may declare at most this many times the
# archive's size (or `MAX_JSON_MEMBER_SIZE`, if larger). Keras stores weights
# uncompressed and deflate shrinks trained float weights little, so real files
# stay far below; deflate itself tops out near 1000.
MAX_MODEL_EXPANSION = 100
_ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


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
    """Loads a Keras model from the bytes of a `.keras` file, in safe mode.

    Safe mode refuses, without running it, Python bytecode stored in the file
    (a `Lambda` layer wrapping a Python lambda) and classes that are neither
    Keras' own nor registered as serialisable.

    Args:
        data: the `.keras` file's bytes.

    Returns:
        The Keras model, not compiled.

    Raises:
        ModelFileError: if Keras refuses the model in safe mode or cannot read it.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, MODEL_MEMBER)
        with open(path, "wb") as f:
            f.write(data)
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as error:  # Keras raises many types for a bad or unsafe model.
            raise ModelFileError(
                "The `.keras` model was refused in safe mode or could not be read. "
                f"{type(error).__name__}: {error}"
            ) from error


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
    with atomic_write(path, what="model file") as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(METADATA_MEMBER, metadata_bytes)
            archive.writestr(STATE_MEMBER, state_bytes)
            archive.writestr(MODEL_MEMBER, model_bytes)


def read_archive(path):
    """Reads and verifies an archive.

    The member names, sizes and compression of the zip are checked before any
    member is read; members are read into memory, never extracted.

    Args:
        path: a file written by `write_archive`.

    Returns:
        `(model_bytes, state, metadata)`: the `.keras` file's bytes (load them
        with `model_from_bytes`), and the state and metadata dictionaries.

    Raises:
        FileNotFoundError: if the file does not exist.
        ModelFileError: if the file is not a keras-domains model (another file,
            a zip with other members, unsafe member names, oversized members),
            was written by a newer format version, or is truncated or altered.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file {path!r} does not exist.")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            _check_members(path, archive.infolist(), len(raw))
            metadata_bytes = _read_member(path, archive, METADATA_MEMBER)
            state_bytes = _read_member(path, archive, STATE_MEMBER)
            model_bytes = _read_member(path, archive, MODEL_MEMBER)
        metadata = json.loads(metadata_bytes)
    except ModelFileError:
        raise
    except zipfile.BadZipFile as error:
        raise ModelFileError(
            f"{path!r} is not a keras-domains model file, or it is truncated ({error})."
        ) from error
    except Exception as error:
        # A damaged zip fails in many ways besides BadZipFile: zlib.error, EOFError,
        # OSError, UnicodeDecodeError, RecursionError from JSON nested too deep...
        raise ModelFileError(
            f"{path!r} could not be read as a model file. {type(error).__name__}: {error}"
        ) from error
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path!r} is not a keras-domains model file.")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(
            f"{path!r} has an invalid format version: expected an integer from 1 to "
            f"{FORMAT_VERSION}. Received: format_version={version!r}"
        )
    if version < OLDEST_FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} was saved in model file format version {version} by an earlier "
            f"keras-domains, whose models took one packed float matrix; this keras-domains "
            f"reads format versions {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION} (models with "
            "named inputs). Fit the model again, or load it with the release that saved it."
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} was saved in model file format version {version} by a newer "
            f"keras-domains; this keras-domains reads format versions up to "
            f"{FORMAT_VERSION}. Upgrade keras-domains to load it."
        )
    digests = metadata.get("sha256")
    if not isinstance(digests, dict):
        raise ModelFileError(
            f"{path!r} has no SHA-256 digests: expected a `sha256` object in {METADATA_MEMBER}. "
            f"Received: sha256={digests!r}"
        )
    for member, data in ((MODEL_MEMBER, model_bytes), (STATE_MEMBER, state_bytes)):
        if hashlib.sha256(data).hexdigest() != digests.get(member):
            raise ModelFileError(
                f"{path!r} has been altered: the digest of {member} does not match "
                "the one recorded when it was saved."
            )
    try:
        state = json.loads(state_bytes)
    except Exception as error:  # ValueError, or RecursionError for JSON nested too deep.
        raise ModelFileError(
            f"{path!r}: {STATE_MEMBER} is not valid JSON. {type(error).__name__}: {error}"
        ) from error
    if not isinstance(state, dict):
        raise ModelFileError(
            f"{path!r}: {STATE_MEMBER} must hold a JSON object. Received: a {type(state).__name__}"
        )
    return model_bytes, state, metadata


def _check_members(path, infos, archive_size):
    """Refuses a zip whose members are not exactly `MEMBERS`, safely stored.

    Only the zip's central directory is consulted; no member is read.

    Args:
        path: the archive's path, for messages.
        infos: the zip's `ZipInfo` list.
        archive_size: the archive's size in bytes.

    Raises:
        ModelFileError: for unsafe or duplicated member names, a member set
            other than `MEMBERS`, encrypted or unusually compressed members,
            or a member that declares more bytes than its cap.
    """
    names = [info.filename for info in infos]
    prefix = f"{path!r} is not a keras-domains model file"
    unsafe = [name for name in names if _is_unsafe_member_name(name)]
    if unsafe:
        raise ModelFileError(
            f"{prefix}: member names may not be absolute or contain '..' "
            f"(they could point outside a folder). Received: {unsafe}"
        )
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ModelFileError(f"{prefix}: these members appear more than once: {duplicated}.")
    unexpected = sorted(set(names) - set(MEMBERS))
    missing = sorted(set(MEMBERS) - set(names))
    if unexpected or missing:
        problems = [f"unexpected {unexpected}"] if unexpected else []
        problems += [f"missing {missing}"] if missing else []
        raise ModelFileError(
            f"{prefix}: expected exactly the members {sorted(MEMBERS)}; "
            f"received {sorted(names)} ({', '.join(problems)})."
        )
    model_cap = max(MAX_JSON_MEMBER_SIZE, MAX_MODEL_EXPANSION * archive_size)
    for info in infos:
        if info.flag_bits & 0x1:
            raise ModelFileError(f"{prefix}: member {info.filename} is encrypted.")
        if info.compress_type not in _ALLOWED_COMPRESSION:
            raise ModelFileError(
                f"{prefix}: member {info.filename} uses compression method "
                f"{info.compress_type}; expected stored (0) or deflated (8)."
            )
        cap = model_cap if info.filename == MODEL_MEMBER else MAX_JSON_MEMBER_SIZE
        if info.file_size > cap:
            raise ModelFileError(
                f"{path!r} is refused as a possible zip bomb: member {info.filename} "
                f"declares {info.file_size} bytes uncompressed; the limit for this "
                f"{archive_size}-byte file is {cap} bytes."
            )


def _read_member(path, archive, name):
    """A member's bytes, inflated no further than its checked, declared size.

    `ZipFile.read` would inflate up to 2 GiB in one step before cutting the
    data to the declared size; a sized read asks the decompressor for no more.
    The CRC-32 is checked by `zipfile` once the declared size is reached.
    """
    info = archive.getinfo(name)
    with archive.open(info) as member:
        data = member.read(info.file_size)
    if len(data) != info.file_size:
        raise ModelFileError(
            f"{path!r} is truncated or damaged: member {name} declares {info.file_size} "
            f"bytes but holds {len(data)}."
        )
    return data


_DRIVE = re.compile(r"^[A-Za-z]:")


def _is_unsafe_member_name(name):
    """Whether a zip member name is absolute or climbs out of its folder."""
    parts = re.split(r"[/\\]", name)
    return name.startswith(("/", "\\")) or bool(_DRIVE.match(name)) or ".." in parts
