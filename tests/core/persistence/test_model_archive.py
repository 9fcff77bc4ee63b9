import hashlib
import json
import os
import re
import struct
import tracemalloc
import warnings
import zipfile

import keras
import numpy as np
import pytest

from core.estimators.keras_estimator import KerasEstimator
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
    newer, current = model_archive.FORMAT_VERSION + 1, model_archive.FORMAT_VERSION
    with pytest.raises(ModelFileError, match="newer") as refused:
        read_archive(archive)
    # Both versions are named: the file's and the highest this reader knows.
    assert re.search(rf"format version {newer}\b.*up to {current}\b", str(refused.value))
    # The same edit that keeps the current version is accepted: the version is the reason.
    metadata["format_version"] = model_archive.FORMAT_VERSION
    members["metadata.json"] = json.dumps(metadata).encode()
    _write_zip(archive, members)
    assert read_archive(archive)[1] == STATE


def test_a_version_1_file_of_packed_input_models_is_refused_with_the_way_out(archive):
    members = _members(archive)
    metadata = json.loads(members["metadata.json"])
    metadata["format_version"] = 1
    members["metadata.json"] = json.dumps(metadata).encode()
    _write_zip(archive, members)
    with pytest.raises(
        ModelFileError,
        match=r"format version 1 .*packed.*reads format versions 2 to 2.*Fit the model again",
    ):
        read_archive(archive)


@pytest.mark.parametrize("version", [0, -1, "2", 1.0, True, None])
def test_invalid_format_version(archive, version):
    members = _members(archive)
    metadata = json.loads(members["metadata.json"])
    metadata["format_version"] = version
    members["metadata.json"] = json.dumps(metadata).encode()
    _write_zip(archive, members)
    expected = r"invalid format version.*" + re.escape(repr(version))
    with pytest.raises(ModelFileError, match=expected):
        read_archive(archive)


def test_saved_file_respects_the_umask(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    previous = os.umask(0o022)
    try:
        write_archive(tmp_path / "m.kdm", model_to_bytes(model), {}, {})
    finally:
        os.umask(previous)
    assert (tmp_path / "m.kdm").stat().st_mode & 0o777 == 0o644


# ------------------------------------------------------------ hardening
def _rewrite(path, members, fix_digests=False):
    """Writes `members` as a zip at `path`; with `fix_digests`, makes the digests match."""
    if fix_digests:
        metadata = json.loads(members["metadata.json"])
        for name in ("model.keras", "state.json"):
            metadata["sha256"][name] = hashlib.sha256(members[name]).hexdigest()
        members = {**members, "metadata.json": json.dumps(metadata).encode()}
    _write_zip(path, members)


def _write_deflated(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def _payload_range(path, name):
    """`(start, end)` byte offsets of a member's compressed data in the zip at `path`."""
    data = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    header = info.header_offset
    name_length, extra_length = struct.unpack("<HH", data[header + 26 : header + 30])
    start = header + 30 + name_length + extra_length
    return start, start + info.compress_size


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _record_member_reads(monkeypatch):
    """From now on, records every member that is opened or extracted; returns the record."""
    calls = []
    original_open = zipfile.ZipFile.open

    def recording_open(self, name, *args, **kwargs):
        calls.append(getattr(name, "filename", name))
        return original_open(self, name, *args, **kwargs)

    def recording_extract(self, *args, **kwargs):
        calls.append(("extract", args))
        raise OSError("extraction is not allowed")

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    monkeypatch.setattr(zipfile.ZipFile, "extract", recording_extract)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", recording_extract)
    return calls


@pytest.mark.parametrize("where", [0.25, 0.5, 0.75])
def test_byte_flipped_model_payload(archive, where):
    start, end = _payload_range(archive, "model.keras")
    assert end - start > 100, "the model payload should be a real deflate stream"
    _flip(archive, start + int((end - start) * where))
    with pytest.raises(ModelFileError, match=_match_path(archive)):
        read_archive(archive)


def test_byte_flipped_anywhere_is_refused_or_harmless(archive):
    # Flip, one at a time, every byte of the zip's structure (headers, central
    # directory, end record), the first and last bytes of each member's data and
    # every 9th byte between. Every outcome is a ModelFileError, or the exact
    # saved content where zipfile ignores the byte (local header fields it takes
    # from the central directory, timestamps, the last byte of a deflate stream,
    # which zipfile need not inflate once it has the declared size).
    original = archive.read_bytes()
    expected = read_archive(archive)
    payloads = [_payload_range(archive, name) for name in model_archive.MEMBERS]
    offsets = set(range(len(original)))
    for start, end in payloads:
        offsets -= set(range(start + 8, end - 8)) - set(range(start + 8, end - 8, 9))
    refused, unnoticed = 0, []
    for offset in sorted(offsets):
        archive.write_bytes(original)
        _flip(archive, offset)
        try:
            result = read_archive(archive)
        except ModelFileError:
            refused += 1
            continue
        assert result == expected, f"flipping byte {offset} changed what was read"
        unnoticed.append(offset)
    in_payload = [o for o in unnoticed for start, end in payloads if start <= o < end - 2]
    assert in_payload == [], f"payload flips at {in_payload} went unnoticed"
    assert refused > len(offsets) // 2  # the flips do reach what is checked


def test_zip_with_an_extra_member(archive, monkeypatch):
    members = _members(archive)
    members["notes.txt"] = b"hello"
    _rewrite(archive, members)
    member_reads = _record_member_reads(monkeypatch)
    with pytest.raises(ModelFileError, match=r"unexpected \['notes\.txt'\]"):
        read_archive(archive)
    assert member_reads == []


@pytest.mark.parametrize("name", ["model.keras", "state.json", "metadata.json"])
def test_zip_with_a_missing_member(archive, monkeypatch, name):
    members = _members(archive)
    del members[name]
    _rewrite(archive, members)
    member_reads = _record_member_reads(monkeypatch)
    with pytest.raises(ModelFileError, match=rf"missing \['{re.escape(name)}'\]"):
        read_archive(archive)
    assert member_reads == []


@pytest.mark.parametrize(
    "name", ["../evil.py", "/etc/x", "a/../../evil.py", "..\\evil.py", "\\evil.py", "C:/evil.py"]
)
def test_zip_slip_member_name(tmp_path, archive, monkeypatch, name):
    members = _members(archive)
    members[name] = b"import os  # would be written outside the folder"
    _rewrite(archive, members)
    with zipfile.ZipFile(archive) as z:
        assert name in z.namelist()  # zipfile kept the name as written
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    expected = r"absolute or contain '\.\.'.*" + re.escape(repr(name))
    member_reads = _record_member_reads(monkeypatch)
    with pytest.raises(ModelFileError, match=expected):
        read_archive(archive)
    assert member_reads == []
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert os.listdir(tmp_path) == ["model.kdm"]


def test_zip_slip_name_replacing_an_expected_member(archive, monkeypatch):
    members = _members(archive)
    members["../state.json"] = members.pop("state.json")
    _rewrite(archive, members)
    member_reads = _record_member_reads(monkeypatch)
    with pytest.raises(ModelFileError, match=r"\.\./state\.json"):
        read_archive(archive)
    assert member_reads == []


def test_duplicate_member(archive, monkeypatch):
    members = _members(archive)
    tampered = json.dumps({"params": {"epochs": 999}}).encode()
    with zipfile.ZipFile(archive, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns "Duplicate name"
        for name, data in members.items():
            z.writestr(name, data)
        z.writestr("state.json", tampered)
    member_reads = _record_member_reads(monkeypatch)
    with pytest.raises(ModelFileError, match=r"more than once: \['state\.json'\]"):
        read_archive(archive)
    assert member_reads == []


def test_zip_bomb_json_member(archive, monkeypatch):
    monkeypatch.setattr(model_archive, "MAX_JSON_MEMBER_SIZE", 4096)
    members = _members(archive)
    members["state.json"] = b"[" + b" " * 10_000 + b"]"
    _write_deflated(archive, members)
    member_reads = _record_member_reads(monkeypatch)
    with pytest.raises(ModelFileError, match=r"zip bomb.*state\.json declares 10002 bytes"):
        read_archive(archive)
    assert member_reads == []


def test_zip_bomb_model_member(archive, monkeypatch):
    # The model may expand MAX_MODEL_EXPANSION times the file's size, or
    # MAX_JSON_MEMBER_SIZE, whichever is larger; shrink the latter to test the ratio.
    monkeypatch.setattr(model_archive, "MAX_JSON_MEMBER_SIZE", 4096)
    members = _members(archive)
    members["model.keras"] = bytes(2_000_000)  # deflates about 1000 to 1
    _write_deflated(archive, members)
    size = archive.stat().st_size
    assert 2_000_000 > model_archive.MAX_MODEL_EXPANSION * size
    member_reads = _record_member_reads(monkeypatch)
    with pytest.raises(ModelFileError, match=r"zip bomb.*model\.keras declares 2000000 bytes"):
        read_archive(archive)
    assert member_reads == []


def _set_declared_size(path, name, size):
    """Rewrites a member's uncompressed size in its local header and central directory."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    with zipfile.ZipFile(path) as z:
        header = z.getinfo(name).header_offset
    struct.pack_into("<I", data, header + 22, size)
    entry = data.find(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(encoded)] != encoded:
        entry = data.find(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", data, entry + 24, size)
    path.write_bytes(bytes(data))


def test_zip_bomb_that_understates_its_size(archive):
    # 20 MB of zeros deflate to about 20 kB; the zip claims 100 bytes. The member
    # must not be inflated past the claim before its CRC is found wrong.
    members = _members(archive)
    members["state.json"] = bytes(20_000_000)
    _write_deflated(archive, members)
    _set_declared_size(archive, "state.json", 100)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=_match_path(archive)):
            read_archive(archive)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


def test_size_limits_accept_a_real_file(archive, monkeypatch):
    assert model_archive.MAX_JSON_MEMBER_SIZE == 64 * 2**20
    member_reads = _record_member_reads(monkeypatch)
    assert read_archive(archive)[1] == STATE
    # The record the refusal tests rely on does see reads.
    assert sorted(member_reads) == sorted(model_archive.MEMBERS)


def test_unusual_compression_method(archive, monkeypatch):
    members = _members(archive)
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in members.items():
            method = zipfile.ZIP_BZIP2 if name == "state.json" else zipfile.ZIP_STORED
            z.writestr(name, data, compress_type=method)
    member_reads = _record_member_reads(monkeypatch)
    with pytest.raises(ModelFileError, match=r"state\.json uses compression method 12"):
        read_archive(archive)
    assert member_reads == []


@pytest.mark.parametrize("digests", [None, [], "abc"])
def test_metadata_without_a_digest_object(archive, digests):
    members = _members(archive)
    metadata = json.loads(members["metadata.json"])
    metadata["sha256"] = digests
    members["metadata.json"] = json.dumps(metadata).encode()
    _rewrite(archive, members)
    with pytest.raises(ModelFileError, match="no SHA-256 digests"):
        read_archive(archive)


@pytest.mark.parametrize(
    ("state", "message"),
    [(b"{not json", "not valid JSON"), (b"[" * 100_000, "not valid JSON"), (b"[1]", "object")],
)
def test_state_with_a_matching_digest_but_bad_content(archive, state, message):
    # Digests detect accidents, not forgery: whoever writes a file can fix them.
    members = _members(archive)
    members["state.json"] = state
    _rewrite(archive, members, fix_digests=True)
    with pytest.raises(ModelFileError, match=message):
        read_archive(archive)


class _Stub(KerasEstimator):
    """The smallest estimator `KerasEstimator.load` can restore (it is never fitted)."""

    def _set_fitted_state(self, state):
        self.fitted_ = state

    def _training_rows(self, X, y, sample_weight):
        return X, len(X), y, sample_weight

    def _fit_inputs(self, rows, rng):
        return rows, None

    def _train(self, inputs, targets, stratify, weights, rng, rows=None, start=None):
        self._fit_model(inputs, targets, weights, None, loss="mse", start=start)


def test_lambda_layer_is_refused_without_running_its_code(tmp_path, monkeypatch):
    marker = tmp_path / "lambda-ran"
    monkeypatch.setenv("KERAS_DOMAINS_TEST_MARKER", str(marker))

    # A lambda (not a def) is what Keras stores as bytecode; it finds the marker
    # through the environment, as defaults and closures are not restored faithfully.
    lambda_code = lambda x: (  # noqa: E731
        __import__("pathlib").Path(__import__("os").environ["KERAS_DOMAINS_TEST_MARKER"]).touch(),
        x,
    )[1]
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda_code)])
    assert marker.exists()  # building the model ran the lambda once
    marker.unlink()
    model_bytes = model_to_bytes(model)
    path = tmp_path / "lambda.kdm"
    metadata = {"estimator": f"{_Stub.__module__}.{_Stub.__qualname__}"}
    write_archive(path, model_bytes, {"params": {}, "fitted": {}}, metadata)

    assert read_archive(path)[0] == model_bytes  # a valid archive, digests included
    with pytest.raises(ModelFileError, match=r"safe mode.*`Lambda`"):
        model_from_bytes(model_bytes)
    with pytest.raises(ModelFileError, match=_match_path(path) + r".*safe mode.*`Lambda`"):
        _Stub.load(path)
    assert not marker.exists()

    # The marker works: loading the same bytes unsafely runs the lambda.
    unsafe = tmp_path / "unsafe.keras"
    unsafe.write_bytes(model_bytes)
    keras.saving.load_model(unsafe, safe_mode=False, compile=False)
    assert marker.exists()
