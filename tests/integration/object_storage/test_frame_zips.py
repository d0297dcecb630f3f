"""A damaged frame zip, on local disk and on S3: every corruption class, many generated inputs each.

Each example downloads (Mavi stood in for by a copy of the generated zip: only the Mavi service is faked)
into a destination that already holds files, among them a frame of the same name as one in the zip. The
operator must raise ``MaviOperatorError`` (never a raw ``zipfile``/``zlib`` error) and leave the destination
exactly as it was: the same files, byte for byte, nothing added.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.operators.mavi import MaviDownloadAssetOperator

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
MAX_BYTES = 256 * 1024
EXAMPLES = {"local": 100, "s3": 20}
CHECKS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


# ------------------------------------------------------------------------------------- generated zips


@st.composite
def frame_zips(draw: st.DrawFn) -> bytes:
    """A valid frame zip: 1-6 JPEG-looking frames (random payloads), stored or deflated, maybe a folder."""
    count = draw(st.integers(1, 6))
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    folder = draw(st.sampled_from(["", "frames/"]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for index in range(count):
            payload = draw(st.binary(min_size=1, max_size=2048))
            archive.writestr(f"{folder}{index:04d}.jpg", JPEG + payload)
    return buffer.getvalue()


def members(data: bytes) -> list[tuple[int, int, int]]:
    """``(local header offset, data start, data end)`` of every member."""
    spans = []
    for info in zipfile.ZipFile(io.BytesIO(data)).infolist():
        name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
        start = info.header_offset + 30 + name_len + extra_len
        spans.append((info.header_offset, start, start + info.compress_size))
    return spans


def central_entries(data: bytes) -> list[int]:
    """Offsets of the central directory entries."""
    found, at = [], data.find(b"PK\x01\x02")
    while at != -1:
        found.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    return found


def reads_back_the_same(original: bytes, mutated: bytes) -> bool:
    """True when a mutated zip still reads back every member unchanged (a flip in the padding bits that end
    a deflate block changes nothing: such a zip is not damaged, and must unpack)."""
    try:
        with zipfile.ZipFile(io.BytesIO(original)) as a, zipfile.ZipFile(io.BytesIO(mutated)) as b:
            return all(a.read(info) == b.read(info.filename) for info in a.infolist())
    except Exception:
        return False


@st.composite
def flipped_member_bytes(draw: st.DrawFn) -> bytes:
    original = draw(frame_zips())
    data = bytearray(original)
    spans = [(start, end) for _, start, end in members(original) if end > start]
    for _ in range(draw(st.integers(1, 4))):
        start, end = draw(st.sampled_from(spans))
        at = draw(st.integers(start, end - 1))
        data[at] ^= draw(st.integers(1, 255))
    assume(not reads_back_the_same(original, bytes(data)))
    return bytes(data)


@st.composite
def truncated(draw: st.DrawFn) -> bytes:
    data = draw(frame_zips())
    return data[: draw(st.integers(0, len(data) - 1))]


@st.composite
def bad_crcs(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(frame_zips()))
    entries = central_entries(bytes(data))
    index = draw(st.integers(0, len(entries) - 1))
    header, _, _ = members(bytes(data))[index]
    (crc,) = struct.unpack_from("<I", data, entries[index] + 16)
    wrong = crc ^ draw(st.integers(1, 2**32 - 1))
    struct.pack_into("<I", data, entries[index] + 16, wrong)
    struct.pack_into("<I", data, header + 14, wrong)
    return bytes(data)


@st.composite
def not_images(draw: st.DrawFn) -> bytes:
    """A zip whose frames include one that does not start like its type (text, zeros, a PNG named .jpg)."""
    frames = draw(frame_zips())
    bad = draw(
        st.one_of(
            st.binary(min_size=0, max_size=512).filter(lambda b: not b.startswith(b"\xff\xd8\xff")),
            st.just(b"\x89PNG\r\n\x1a\n" + b"\0" * 32),
            st.text(min_size=1, max_size=200).map(str.encode),
        )
    )
    buffer = io.BytesIO(frames)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(f"zz{draw(st.integers(0, 99)):02d}.jpg", bad)
    return buffer.getvalue()


@st.composite
def bombs(draw: st.DrawFn) -> bytes:
    """Deflated zeros expanding far past the bound: declared honestly (refused by size) or lying small
    (refused by the CRC of the bytes actually read)."""
    size = draw(st.integers(MAX_BYTES + 1, 4 * MAX_BYTES))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("0000.jpg", JPEG + b"\0" * size)
    data = bytearray(buffer.getvalue())
    if draw(st.booleans()):
        lie = draw(st.integers(len(JPEG), 4096))
        (entry,) = central_entries(bytes(data))
        struct.pack_into("<I", data, entry + 24, lie)
        struct.pack_into("<I", data, 22, lie)
    return bytes(data)


CLASSES = {
    "flipped bytes in members": flipped_member_bytes(),
    "truncated archive": truncated(),
    "bad CRC": bad_crcs(),
    "member not an image": not_images(),
    "zip bomb": bombs(),
}


# ------------------------------------------------------------------------------------- destinations


class LocalDestination:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def fresh(self) -> str:
        folder = self.root / secrets.token_hex(4) / "frames"
        folder.mkdir(parents=True)
        (folder / "0000.jpg").write_bytes(JPEG + b"an earlier run's frame")
        (folder / "notes.txt").write_text("kept")
        return str(folder)

    def snapshot(self, location: str) -> dict[str, str]:
        base = Path(location).parent
        return {
            str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(base.rglob("*"))
        }


class S3Destination:
    kind = "s3"

    def __init__(self, bucket: Any) -> None:
        self.bucket = bucket

    def fresh(self) -> str:
        prefix = f"{secrets.token_hex(4)}/frames/"
        self.bucket.put(prefix + "0000.jpg", JPEG + b"an earlier run's frame")
        self.bucket.put(prefix + "notes.txt", b"kept")
        return self.bucket.url(prefix)

    def snapshot(self, location: str) -> dict[str, str]:
        prefix = location.split(f"{self.bucket.name}/", 1)[1].split("/", 1)[0]
        return self.bucket.snapshot(prefix)


@pytest.fixture(params=["local", "s3"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        return LocalDestination(tmp_path)
    return S3Destination(request.getfixturevalue("s3"))


@pytest.fixture
def mavi_serves(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Stand in for Mavi's download: the operator gets ``served["zip"]`` as the im_ asset's file."""
    served = {"zip": b""}

    def download_asset(self: MaviHook, asset_id: str, destination: Any) -> str:
        path = os.path.join(str(destination), f"{asset_id}.zip")
        Path(path).write_bytes(served["zip"])
        return path

    monkeypatch.setattr(MaviHook, "download_asset", download_asset)
    return served


def download(location: str, run: Any) -> dict[str, Any]:
    op = MaviDownloadAssetOperator(
        task_id="download_frames",
        asset_id="im_corrupt",
        destination=location,
        extract=True,
        max_extract_bytes=MAX_BYTES,
    )
    result: dict[str, Any] = op.execute(run.context("download_frames"))
    return result


# ------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("kind", list(CLASSES))
def test_a_damaged_zip_raises_the_providers_error_and_leaves_the_destination_as_it_was(
    kind: str, destination: Any, mavi_serves: dict[str, bytes], run: Any
) -> None:
    tried: list[str] = []

    @settings(
        max_examples=EXAMPLES[destination.kind],
        deadline=None,
        suppress_health_check=CHECKS,
        derandomize=True,
    )
    @given(data=CLASSES[kind])
    def check(data: bytes) -> None:
        location = destination.fresh()
        before = destination.snapshot(location)
        mavi_serves["zip"] = data
        with pytest.raises(MaviOperatorError) as caught:
            download(location, run)
        assert "extracted" in str(caught.value) or "frames" in str(caught.value), str(caught.value)
        assert destination.snapshot(location) == before
        tried.append(str(caught.value))

    check()
    assert tried, "no example ran"
    print(f"{kind} ({destination.kind}): {len(tried)} zips refused, e.g. {tried[-1]}")


def test_a_valid_zip_replaces_the_frames_and_keeps_the_rest(
    destination: Any, mavi_serves: dict[str, bytes], run: Any
) -> None:
    location = destination.fresh()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index in range(3):
            archive.writestr(f"frames/{index:04d}.jpg", JPEG + bytes([index]) * 100)
        archive.writestr("frames/readme.txt", "not a frame")
    mavi_serves["zip"] = buffer.getvalue()
    result = download(location, run)
    after = destination.snapshot(location)
    frames = {k: v for k, v in after.items() if k.endswith(".jpg")}
    assert sorted(k.rsplit("/", 1)[-1] for k in frames) == ["0000.jpg", "0001.jpg", "0002.jpg"]
    assert sorted(v for k, v in after.items() if k.endswith("notes.txt")) == [
        hashlib.sha256(b"kept").hexdigest()
    ]
    assert not [k for k in after if ".part" in k or "readme" in k], after
    digests = {f["path"].rsplit("/", 1)[-1]: f["sha256"] for f in result["files"]}
    assert digests["0000.jpg"] == hashlib.sha256(JPEG + bytes([0]) * 100).hexdigest()


def test_a_write_that_fails_midway_keeps_nothing(
    destination: Any, mavi_serves: dict[str, bytes], run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk or a dropped connection while frames are written: the written ones are taken back."""
    from airflow_provider_mavi.operators import download as module

    location = destination.fresh()
    before = destination.snapshot(location)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(5):
            archive.writestr(f"{index:04d}.jpg", JPEG + bytes([index]) * 100)
    mavi_serves["zip"] = buffer.getvalue()
    opened: list[Any] = []
    real_open = module.open_stream

    def failing_open(path: Any, mode: str) -> Any:
        opened.append(path)
        if len(opened) == 3:
            raise OSError(28, "No space left on device")
        return real_open(path, mode)

    monkeypatch.setattr(module, "open_stream", failing_open)
    with pytest.raises(MaviOperatorError, match=r"Could not write the frames .*No space.*nothing was kept"):
        download(location, run)
    assert destination.snapshot(location) == before
