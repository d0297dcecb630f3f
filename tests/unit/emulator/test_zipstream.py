"""The streamed zip: exact length known in advance, readable by zipfile, identical content."""

from __future__ import annotations

import io
import zipfile
import zlib

import pytest

from airflow_provider_mavi.emulator.zipstream import ZipMember, check_fits, iter_zip, zip_size


def _member(path, name, data):
    path.write_bytes(data)
    return ZipMember(name=name, path=path, size=len(data), crc32=zlib.crc32(data))


def test_zip_is_exact_and_readable(tmp_path):
    members = [
        _member(tmp_path / "a", "frame_00000.jpg", b"\xff\xd8" + bytes(range(256)) * 300),
        _member(tmp_path / "b", "frame_00001.jpg", b""),
        _member(tmp_path / "c", "frame_été.jpg", b"x" * 70_000),
    ]
    data = b"".join(iter_zip(members))
    assert len(data) == zip_size(members)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert archive.namelist() == [m.name for m in members]
    for member in members:
        assert archive.read(member.name) == member.path.read_bytes()


def test_empty_zip(tmp_path):
    data = b"".join(iter_zip([]))
    assert len(data) == zip_size([]) == 22
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == []


def test_too_many_members_is_refused(tmp_path):
    member = ZipMember(name="x", path=tmp_path / "x", size=0, crc32=0)
    with pytest.raises(ValueError, match="too large"):
        check_fits([member] * 70_000)
