"""What proves, before an upload, that a file is not the media it should be: only proof refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.media_check import check_media_type, decode_problem, is_text, sniff_problem
from airflow_provider_mavi.operators.mavi import MaviUploadOperator

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free"
MEDIA_HEADS = [
    MP4_HEAD,
    b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01",  # Matroska / WebM
    b"RIFF\x24\x10\x00\x00AVI LIST",  # AVI
    b"ID3\x04\x00\x00\x00\x00\x00\x00",  # MP3 with a tag
    b"OggS\x00\x02\x00\x00\x00\x00",
    b"\x47\x40\x00\x10\x00\x00\xb0\x0d",  # MPEG-TS
]


@pytest.mark.parametrize("head", MEDIA_HEADS)
@pytest.mark.parametrize("media_type", ["video", "audio", "image"])
def test_media_containers_are_never_refused_by_their_first_bytes(head: bytes, media_type: str) -> None:
    assert sniff_problem(head, 10_000, media_type) is None  # type: ignore[arg-type]


@settings(max_examples=300)
@given(text=st.text(min_size=1, max_size=4096).filter(lambda t: t.strip() and t.isprintable()))
def test_any_printable_text_is_a_text_file(text: str) -> None:
    head = text.encode()[:4096]  # a character cut at the end still reads as text
    assert is_text(head)
    assert sniff_problem(head, len(head), "video") == "it is a text file, not a video"


@settings(max_examples=300)
@given(rest=st.binary(max_size=64))
def test_an_mp4_box_header_is_never_text(rest: bytes) -> None:
    assert not is_text(MP4_HEAD + rest)


@pytest.mark.parametrize(
    ("head", "media_type", "problem"),
    [
        (b"%PDF-1.4", "video", "it is a PDF document, not a video"),
        (b"PK\x03\x04\x14\x00", "audio", "it is a zip archive (or an Office document), not an audio file"),
        (b"\x7fELF\x02\x01", "image", "it is a Linux program, not an image"),
        (b"\xff\xd8\xff\xe0", "video", "it is a JPEG image, not a video"),
        (b"\x89PNG\r\n\x1a\n", "audio", "it is a PNG image, not an audio file"),
        (b'{"not": "media"}', "audio", "it is a text file, not an audio file"),
    ],
)
def test_documents_programs_stills_and_text_are_refused(head: bytes, media_type: str, problem: str) -> None:
    assert sniff_problem(head, 100, media_type) == problem  # type: ignore[arg-type]


def test_a_still_is_fine_as_an_image_and_an_empty_file_never_is() -> None:
    assert sniff_problem(b"\xff\xd8\xff\xe0", 100, "image") is None
    assert sniff_problem(b"", 0, "image") == "it is empty"


def test_ffmpeg_proves_noise_is_not_media(tmp_path: Path) -> None:
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(bytes(range(256)) * 16)
    problem = decode_problem(noise, "video")
    assert problem is not None
    assert problem.startswith("it is not decodable media (FFmpeg: ")


@pytest.mark.parametrize("bad", ["movie", "VIDEO", "", 1])
def test_an_unknown_media_type_fails_when_the_dag_is_parsed(bad: object) -> None:
    with pytest.raises(ValueError, match="media_type must be one of video, audio, image or None"):
        check_media_type(bad)
    with pytest.raises(ValueError, match="media_type must be one of"):
        MaviUploadOperator(task_id="u", source="/x.mp4", media_type=bad)  # type: ignore[arg-type]
