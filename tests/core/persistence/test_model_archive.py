import json
import os
import re
import zipfile

import keras
import numpy as np
import pytest

from core.persistence import model_archive
from core.persistence.model_archive import (
    ModelFileError,
    model_from_bytes,
    model_to_bytes,
    read_archive,
    write_archive,
)

STATE = {"params": {"epochs": 3, "units": [4, 2]}, "classes": ["no", "yes"], "median": 1.5}
METADATA = {"estimator": "tests.Dummy", "metrics": {"auc": 0.9}}


@pytest.fixture
def model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="tanh")])


@pytest.fixture
def archive(tmp_path, model):
    path = tmp_path / "model.kdm"
    write_archive(path, model_to_bytes(model), STATE, METADATA)
    return path


def _members(path):
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _match_path(path):
    return re.escape(repr(os.fspath(path)))


def test_round_trip(tmp_path, model):
    model_bytes = model_to_bytes(model)
    path = tmp_path / "model.kdm"
    write_archive(path, model_bytes, STATE, METADATA)
    read_bytes, state, metadata = read_archive(path)
    assert read_bytes == model_bytes
    assert state == STATE
    assert metadata["estimator"] == "tests.Dummy" and metadata["metrics"] == {"auc": 0.9}
    assert metadata["format_version"] == model_archive.FORMAT_VERSION
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    restored = model_from_bytes(read_bytes)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    # The archive is a plain zip of the three members: nothing to unpickle.
    assert set(_members(path)) == {"model.keras", "state.json", "metadata.json"}
    assert os.listdir(tmp_path) == ["model.kdm"]


def test_write_does_not_modify_metadata_argument(tmp_path, model):
    metadata = dict(METADATA)
    write_archive(str(tmp_path / "m.kdm"), model_to_bytes(model), STATE, metadata)
    assert metadata == METADATA


def test_overwrite_replaces_previous_content(archive, model):
    new_state = {"params": {"epochs": 7}}
    write_archive(archive, model_to_bytes(model), new_state, METADATA)
    assert read_archive(archive)[1] == new_state
    assert os.listdir(archive.parent) == [archive.name]


@pytest.mark.parametrize("existing", [True, False])
def test_failed_write_is_atomic(tmp_path, model, monkeypatch, existing):
    path = tmp_path / "model.kdm"
    if existing:
        write_archive(path, model_to_bytes(model), STATE, METADATA)
        before = path.read_bytes()
    original = zipfile.ZipFile.writestr

    def failing_writestr(self, zinfo_or_arcname, data, *args, **kwargs):
        if zinfo_or_arcname == model_archive.MODEL_MEMBER:
            raise OSError("disk full")
        return original(self, zinfo_or_arcname, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    with pytest.raises(OSError, match="disk full"):
        write_archive(path, model_to_bytes(model), {"other": "state"}, METADATA)
    monkeypatch.undo()
    if existing:
        assert path.read_bytes() == before
        assert read_archive(path)[1] == STATE
        assert os.listdir(tmp_path) == ["model.kdm"]
    else:
        assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_truncated_file(archive, keep):
    data = archive.read_bytes()
    archive.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError, match=_match_path(archive)):
        read_archive(archive)


def test_altered_state_is_detected(archive):
    members = _members(archive)
    state = bytearray(members["state.json"])
    position = state.index(b"1.5")
    state[position] = ord("9")  # "median": 1.5 -> 9.5, still valid JSON
    assert json.loads(bytes(state))["median"] == 9.5
    members["state.json"] = bytes(state)
    _write_zip(archive, members)
    with pytest.raises(ModelFileError, match=r"altered.*state\.json"):
        read_archive(archive)


def test_altered_model_is_detected(archive):
    members = _members(archive)
    members["model.keras"] = members["model.keras"] + b"\0"
    _write_zip(archive, members)
    with pytest.raises(ModelFileError, match=r"altered.*model\.keras"):
        read_archive(archive)


def test_foreign_zip(tmp_path):
    path = tmp_path / "other.zip"
    _write_zip(path, {"readme.txt": b"hello", "model.keras": b"x"})
    with pytest.raises(ModelFileError, match=_match_path(path) + ".*not a keras-domains"):
        read_archive(path)


def test_zip_with_the_right_members_but_foreign_metadata(archive):
    members = _members(archive)
    members["metadata.json"] = json.dumps({"format": "something-else"}).encode()
    _write_zip(archive, members)
    with pytest.raises(ModelFileError, match="not a keras-domains"):
        read_archive(archive)


def test_invalid_json_metadata(archive):
    members = _members(archive)
    members["metadata.json"] = b"{not json"
    _write_zip(archive, members)
    with pytest.raises(ModelFileError, match=_match_path(archive)):
        read_archive(archive)


def test_metadata_that_is_not_an_object(archive):
    members = _members(archive)
    members["metadata.json"] = b"[1, 2, 3]"
    _write_zip(archive, members)
    with pytest.raises(ModelFileError):
        read_archive(archive)


def test_plain_text_file(tmp_path):
    path = tmp_path / "notes.kdm"
    path.write_text("this is not a model\n")
    with pytest.raises(ModelFileError, match=_match_path(path)):
        read_archive(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.kdm"):
        read_archive(tmp_path / "nothing.kdm")


def test_save_into_missing_folder(tmp_path, model):
    path = tmp_path / "no" / "such" / "model.kdm"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_archive(path, model_to_bytes(model), STATE, METADATA)
    assert not (tmp_path / "no").exists()


def test_newer_format_version(archive):
    members = _members(archive)
    metadata = json.loads(members["metadata.json"])
    metadata["format_version"] = model_archive.FORMAT_VERSION + 1
    members["metadata.json"] = json.dumps(metadata).encode()
    _write_zip(archive, members)
    with pytest.raises(ModelFileError, match="newer"):
        read_archive(archive)
    # The same edit that keeps the current version is accepted: the version is the reason.
    metadata["format_version"] = model_archive.FORMAT_VERSION
    members["metadata.json"] = json.dumps(metadata).encode()
    _write_zip(archive, members)
    assert read_archive(archive)[1] == STATE


def test_saved_file_respects_the_umask(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    previous = os.umask(0o022)
    try:
        write_archive(tmp_path / "m.kdm", model_to_bytes(model), {}, {})
    finally:
        os.umask(previous)
    assert (tmp_path / "m.kdm").stat().st_mode & 0o777 == 0o644
