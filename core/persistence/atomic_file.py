"""Atomic file writes: a temporary file beside the destination, synced, then renamed over it."""

import contextlib
import os
import secrets

_WRITE_MODES = ("w", "wt", "wb")


@contextlib.contextmanager
def atomic_path(path, what="file"):
    """Yields a temporary path beside `path`; on success the file there replaces `path`.

    The temporary file is created (empty, exclusively, with the permissions
    the umask allows for a new file) in the folder of `path`, under a
    hidden name that keeps the extension of `path`, so writers that pick a
    format from the extension (matplotlib, numpy) write the right one.
    When the block ends normally, the file is flushed to disk (`fsync`)
    and renamed over `path` in one step (`os.replace`), so a reader or a
    crash sees either the old file or the whole new one, never a torn
    one. When the block raises, the temporary file is removed and `path`
    is left untouched.

    Several destinations that must change together are written by entering
    one `atomic_path` per destination in a `contextlib.ExitStack`: each is
    renamed only once every block has succeeded.

    Args:
        path: the destination file (str or path-like); its folder must exist.
        what: what is written there, for error messages (e.g. "figure").

    Yields:
        The temporary file's path (str), for a writer that takes a path.

    Raises:
        ValueError: if `path` is not a file path or is an existing folder.
        FileNotFoundError: if the folder of `path` does not exist.
    """
    target = check_file_path(path, what)
    folder, name = os.path.split(os.path.abspath(target))
    stem, extension = os.path.splitext(name)
    tmp_path = os.path.join(folder, f".{stem}.{secrets.token_hex(4)}.tmp{extension}")
    # O_EXCL: never take over another file; mode 0o666 lets the umask apply.
    os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp_path
        _fsync(tmp_path)
        os.replace(tmp_path, target)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
    _fsync_folder(folder)


@contextlib.contextmanager
def atomic_write(path, mode="wb", *, encoding=None, newline=None, what="file"):
    """Opens a temporary file beside `path` for writing; on success it replaces `path`.

    The file object version of `atomic_path`, with the same guarantees:
    `path` changes only when the block ends normally, and then in one step.

    Args:
        path: the destination file (str or path-like); its folder must exist.
        mode: "wb" (bytes) or "w" (text).
        encoding: text encoding in text mode (e.g. "utf-8"); None in byte mode.
        newline: newline translation in text mode, as for `open`.
        what: what is written there, for error messages (e.g. "model file").

    Yields:
        The open file object.

    Raises:
        ValueError: if `path` is not a file path (or is a folder) or `mode`
            is not a write mode.
        FileNotFoundError: if the folder of `path` does not exist.
    """
    if mode not in _WRITE_MODES:
        raise ValueError(f"`mode` must be one of {list(_WRITE_MODES)}. Received: mode={mode!r}")
    with atomic_path(path, what) as tmp_path:
        with open(tmp_path, mode, encoding=encoding, newline=newline) as f:
            yield f


def check_file_path(path, what="file"):
    """`path` as a string, or an error that names it: the checks `atomic_path` makes first.

    Args:
        path: the destination (str or path-like).
        what: what is written there, for the message (e.g. "figure").

    Returns:
        `path` as a str.

    Raises:
        ValueError: if `path` is not a str or path-like, is empty, ends with
            a separator or is an existing folder.
        FileNotFoundError: if the folder of `path` does not exist.
    """
    if not isinstance(path, str | os.PathLike):
        raise ValueError(
            f"`path` must be a file path (str or os.PathLike). Received: {type(path).__name__}"
        )
    target = os.fsdecode(os.fspath(path))
    if not target or target.endswith(("/", os.sep)) or os.path.isdir(target):
        raise ValueError(f"`path` must name a file, not a folder. Received: path={path!r}")
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot write the {what} to {target!r}: folder {folder!r} does not exist."
        )
    return target


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder):
    """Makes the rename itself durable where the system allows syncing a folder."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
