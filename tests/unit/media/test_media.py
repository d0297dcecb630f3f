"""probe_duration_seconds: the mvhd box of real and hand-built MP4/MOV files; None when unknown."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from airflow.sdk import ObjectStoragePath
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_mavi import media
from airflow_provider_mavi.media import probe_duration_seconds


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mvhd_v0(timescale: int, duration: int) -> bytes:
    return box(b"mvhd", b"\0\0\0\0" + struct.pack(">IIII", 0, 0, timescale, duration) + b"\0" * 80)


def mvhd_v1(timescale: int, duration: int) -> bytes:
    return box(b"mvhd", b"\1\0\0\0" + struct.pack(">QQIQ", 0, 0, timescale, duration) + b"\0" * 80)


def write(path: Path, *boxes: bytes) -> Path:
    path.write_bytes(b"".join(boxes))
    return path


FTYP = box(b"ftyp", b"isom\0\0\2\0isomiso2mp41")


def test_real_h264_mp4(tmp_path):
    samples = pytest.importorskip("airflow_provider_mavi.emulator.samples")
    video = samples.make_sample_video(tmp_path / "v.mp4", seconds=3.0, width=64, height=48, fps=10)
    assert probe_duration_seconds(video) == pytest.approx(3.0, abs=0.15)
    assert probe_duration_seconds(str(video)) == pytest.approx(3.0, abs=0.15)
    assert probe_duration_seconds(ObjectStoragePath(f"file://{video}")) == pytest.approx(3.0, abs=0.15)


def test_moov_after_a_large_mdat_is_found_by_seeking(tmp_path):
    path = tmp_path / "late.mp4"
    with path.open("wb") as out:
        out.write(FTYP)
        out.write(struct.pack(">I4sQ", 1, b"mdat", 16 + 50_000_000))  # 64-bit size, sparse body
        out.seek(50_000_000, 1)
        out.write(box(b"moov", mvhd_v0(600, 600 * 125)))
    assert probe_duration_seconds(path) == 125.0


def test_version_1_mvhd(tmp_path):
    path = write(
        tmp_path / "v1.mov", FTYP, box(b"moov", box(b"udta", b"x" * 10) + mvhd_v1(90000, 90000 * 7 // 2))
    )
    assert probe_duration_seconds(path) == 3.5


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a video at all",
        FTYP,
        FTYP + box(b"moov", mvhd_v0(0, 100)),  # no timescale
        FTYP + box(b"moov", mvhd_v0(1000, 0xFFFFFFFF)),  # duration unknown
        FTYP + struct.pack(">I4s", 4, b"moov"),  # size smaller than the header
        FTYP + struct.pack(">I4s", 10_000, b"moov") + b"\0" * 10,  # box runs past the end
        FTYP + box(b"moov", b"\0\0\0\x10mvhd\0\0\0\0"),  # truncated mvhd
    ],
)
def test_unknown_is_none(tmp_path, monkeypatch, content):
    monkeypatch.setattr(media, "_pyav_duration", lambda path: None)
    assert probe_duration_seconds(write(tmp_path / "x.mp4", content)) is None


def test_missing_file_is_none(tmp_path):
    assert probe_duration_seconds(tmp_path / "missing.mp4") is None


def test_pyav_fallback_for_non_mp4(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "tone.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        stream.layout = "mono"
        frame = av.AudioFrame(format="s16", layout="mono", samples=8000)
        for plane in frame.planes:
            plane.update(b"\0" * plane.buffer_size)
        frame.sample_rate = 8000
        for index in range(2):
            frame.pts = index * 8000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    assert probe_duration_seconds(path) == pytest.approx(2.0, abs=0.1)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_duration_or_none(data):
    import io

    result = media.mvhd_duration(io.BytesIO(FTYP + data))
    assert result is None or result > 0
