import contextlib
import os

import pytest

from core.persistence import atomic_file
from core.persistence.atomic_file import atomic_path, atomic_write, check_file_path


def test_atomic_write_replaces_the_file_and_syncs_it(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(atomic_file.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with atomic_write(path) as f:
        f.write(b"new")
        assert path.read_bytes() == b"old"  # Nothing changes before the block ends.
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.bin"]
    assert synced  # The file is on disk before the rename.


def test_text_mode_and_new_file(tmp_path):
    path = tmp_path / "notes.md"
    with atomic_write(str(path), "w", encoding="utf-8", newline="\n") as f:
        f.write("é\n")
    assert path.read_bytes() == "é\n".encode()


def test_a_failure_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_write(path) as f:
            f.write(b"half")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_atomic_path_keeps_the_extension_and_hides_the_temporary_name(tmp_path):
    path = tmp_path / "figure.png"
    with atomic_path(path) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path)
        assert os.path.basename(tmp).startswith(".figure.")
        assert tmp.endswith(".png")
        assert os.path.exists(tmp)  # Reserved, so no other writer takes the name.
        with open(tmp, "wb") as f:
            f.write(b"image")
    assert path.read_bytes() == b"image"
    assert os.listdir(tmp_path) == ["figure.png"]


def test_new_files_respect_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "a.txt", "w") as f:
            f.write("x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640


def test_files_entered_together_change_together(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("old a")
    with pytest.raises(OSError, match="disk full"):
        with contextlib.ExitStack() as stack:
            with open(stack.enter_context(atomic_path(first)), "w") as f:
                f.write("new a")
            stack.enter_context(atomic_path(second))
            raise OSError("disk full")
    assert first.read_text() == "old a"
    assert os.listdir(tmp_path) == ["a.txt"]
    with contextlib.ExitStack() as stack:
        for path in (first, second):
            with open(stack.enter_context(atomic_path(path)), "w") as f:
                f.write(f"new {path.stem}")
    assert (first.read_text(), second.read_text()) == ("new a", "new b")


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        (42, ValueError, r"`path` must be a file path \(str or os.PathLike\). Received: int"),
        ("", ValueError, "`path` must name a file"),
        ("folder/", ValueError, "`path` must name a file"),
        (".", ValueError, "`path` must name a file, not a folder"),
        (
            "missing/out.csv",
            FileNotFoundError,
            r"Cannot write the report to 'missing/out.csv': folder .*missing' does not exist",
        ),
    ],
)
def test_bad_paths_are_named_and_nothing_is_written(path, error, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        check_file_path(path, "report")
    with pytest.raises(error):
        with atomic_path(path):
            pass
    assert os.listdir(tmp_path) == []


def test_mode_must_write(tmp_path):
    with pytest.raises(ValueError, match=r"`mode` must be one of .*Received: mode='a'"):
        with atomic_write(tmp_path / "x", "a"):
            pass
    assert os.listdir(tmp_path) == []
