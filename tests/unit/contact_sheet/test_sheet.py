"""Contact sheets from real JPEG frames on disk and in object storage: what lands, and every bad input."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from PIL import Image, JpegImagePlugin

from airflow_provider_mavi.contact_sheet import (
    ContactSheetError,
    Segment,
    SheetOptions,
    draw_contact_sheet,
    read_transcript_segments,
    write_contact_sheet,
)
from airflow_provider_mavi.contact_sheet.layout import Layout
from airflow_provider_mavi.contact_sheet.render import TILE_BACKGROUND, UNREADABLE_TILE
from airflow_provider_mavi.results import (
    TranscriptResult,
    TranscriptSegment,
    TranscriptUsage,
    transcript_to_json,
)

DESCRIPTIONS = [
    {
        "start_time": 0.0,
        "end_time": 4.0,
        "text": "A dark frame with a white circle on the left.",
        "speaker": None,
    },
    {
        "start_time": 4.0,
        "end_time": 8.0,
        "text": "The circle moves right; the background turns red.",
        "speaker": None,
    },
    {"start_time": 8.0, "end_time": 14.0, "text": "Green and pink frames until the end.", "speaker": None},
]


def close(pixel: Any, colour: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def centre(layout: Layout, index: int) -> tuple[int, int]:
    tile = next(t for t in layout.tiles if t.index == index)
    return tile.x + tile.width // 2, tile.y + tile.height // 2


def test_a_sheet_shows_every_frame_in_order_with_its_size(
    make_frames: Callable[..., Path], frame_colour: Callable[[int], tuple[int, int, int]], tmp_path: Path
) -> None:
    # names without zero padding: frame_10 must come after frame_9
    frames = make_frames(14, name="frame_{index}.jpg")
    out = tmp_path / "out" / "contact_sheet.jpg"
    info = write_contact_sheet(str(frames), str(out), descriptions=DESCRIPTIONS, duration_seconds=14.0)
    assert info["path"] == out.as_uri()
    assert (info["frames"], info["tiles"], info["every"], info["unreadable"]) == (14, 14, 1, [])
    assert (info["format"], info["bytes"]) == ("jpeg", out.stat().st_size)
    with Image.open(out) as image:
        image.load()
        assert image.format == "JPEG"
        assert image.size == (info["width"], info["height"]) == (1548, image.height)
        assert JpegImagePlugin.get_sampling(image) == 0, "4:4:4 colour, so coloured text stays sharp"
        sheet = image.convert("RGB")
    layout = draw_contact_sheet(frames, descriptions=DESCRIPTIONS, duration_seconds=14.0).layout
    assert (layout.width, layout.height) == sheet.size
    for index in range(14):
        assert close(sheet.getpixel(centre(layout, index)), frame_colour(index)), f"tile {index}"


def test_timestamps_are_drawn_under_their_tiles(make_frames: Callable[..., Path]) -> None:
    frames = make_frames(12)
    every_second = draw_contact_sheet(frames, interval_seconds=1.0)
    every_other = draw_contact_sheet(frames, interval_seconds=2.0)
    assert every_second.layout.tiles == tuple(
        t.__class__(t.index, t.time / 2, t.x, t.y, t.width, t.height) for t in every_other.layout.tiles
    ), "same places, different times"
    for tile in every_second.layout.tiles:
        label = (tile.x, tile.y + tile.height + 2, tile.x + 70, tile.y + tile.height + 26)
        first, second = every_second.image.crop(label), every_other.image.crop(label)
        assert min(first.convert("L").get_flattened_data()) < 100, f"dark text under tile {tile.index}"
        if tile.index:  # 0:00 is the same in both
            assert first.tobytes() != second.tobytes(), f"the time under tile {tile.index} is drawn"
        frame_box = (tile.x, tile.y, tile.x + tile.width, tile.y + tile.height)
        assert every_second.image.crop(frame_box).tobytes() == every_other.image.crop(frame_box).tobytes()


def test_a_thousand_frames_are_sampled_evenly_and_the_sheet_says_so(
    make_frames: Callable[..., Path], frame_colour: Callable[[int], tuple[int, int, int]], tmp_path: Path
) -> None:
    frames = make_frames(1000, size=(64, 48))
    descriptions = [{"start": t, "end": t + 4, "text": f"segment at {t} s " * 6} for t in range(0, 1000, 4)]
    out = tmp_path / "sheet.jpg"
    info = write_contact_sheet(frames, out, descriptions=descriptions, duration_seconds=1000.0)
    assert (info["frames"], info["tiles"], info["every"]) == (1000, 48, 21)
    assert info["width"] == 1548
    assert info["height"] < 8000
    sheet = draw_contact_sheet(frames, descriptions=descriptions, duration_seconds=1000.0)
    texts = [line.text for line in sheet.layout.lines]
    assert any(t.startswith("Showing 48 of 1000 frames, every 21st (a tile every 21 s)") for t in texts)
    assert [tile.index for tile in sheet.layout.tiles] == list(range(0, 1000, 21))
    assert "0:21" in texts
    assert "#987" in texts
    assert "16:27" in texts
    with Image.open(out) as image:
        written = image.convert("RGB")
    for tile in sheet.layout.tiles[::7]:
        assert close(written.getpixel(centre(sheet.layout, tile.index)), frame_colour(tile.index))


def test_speech_rows_are_drawn(make_frames: Callable[..., Path]) -> None:
    frames = make_frames(12)
    speech = [
        {"start": 1.2, "end": 3.5, "text": "Hello and welcome to the demo.", "speaker": "Alice"},
        Segment(7.0, 9.0, "Second row.", "Bob"),
    ]
    with_speech = draw_contact_sheet(frames, descriptions=DESCRIPTIONS, speech=speech)
    without = draw_contact_sheet(frames, descriptions=DESCRIPTIONS)
    texts = [line.text for line in with_speech.layout.lines]
    assert texts.count("Speech") == 2
    assert "Alice: Hello and welcome to the demo." in texts
    assert "Bob: Second row." in texts
    assert "Speech" not in [line.text for line in without.layout.lines]
    assert with_speech.image.height > without.image.height
    # the speech line is drawn in the image where the layout put it
    line = next(line for line in with_speech.layout.lines if line.text.startswith("Alice:"))
    region = with_speech.image.crop((line.x, line.y, line.x + 200, line.y + line.size))
    assert min(region.convert("L").get_flattened_data()) < 100


def test_portrait_frames_fit_inside_their_tiles(
    make_frames: Callable[..., Path], frame_colour: Callable[[int], tuple[int, int, int]]
) -> None:
    frames = make_frames(3, size=(180, 320))
    sheet = draw_contact_sheet(frames)
    tile = sheet.layout.tiles[0]
    assert (tile.width, tile.height) == (240, 240), "the height is bounded by tile_max_height"
    assert close(sheet.image.getpixel(centre(sheet.layout, 0)), frame_colour(0))
    assert sheet.image.getpixel((tile.x + 2, tile.y + 120)) == TILE_BACKGROUND, "side bars around the frame"


@pytest.mark.usefixtures("memory_fs")
def test_written_through_object_storage(make_frames: Callable[..., Path], tmp_path: Path) -> None:
    # frames and sheet in an fsspec memory filesystem: nothing reads or writes a local path
    source = make_frames(4)
    remote = ObjectStoragePath("memory://bucket/run-1/frames")
    remote.mkdir(parents=True, exist_ok=True)
    for frame in source.iterdir():
        (remote / frame.name).write_bytes(frame.read_bytes())
    target = ObjectStoragePath("memory://bucket/run-1/contact_sheet.png")
    info = write_contact_sheet(remote, target, descriptions=DESCRIPTIONS[:1])
    assert info["path"] == str(target)
    assert (info["format"], info["frames"]) == ("png", 4)
    with Image.open(io.BytesIO(target.read_bytes())) as image:
        assert image.format == "PNG"
        assert image.size == (info["width"], info["height"])
    # and a file:// ObjectStoragePath, as the pipeline passes
    local = ObjectStoragePath((tmp_path / "sheet.jpeg").as_uri())
    assert write_contact_sheet(ObjectStoragePath(source.as_uri()), local)["format"] == "jpeg"
    assert (tmp_path / "sheet.jpeg").stat().st_size > 0


@pytest.mark.parametrize("content", [None, ["notes.txt", ".hidden.jpg", "sub.jpg/"]])
def test_no_frames_is_a_clear_error_and_writes_nothing(tmp_path: Path, content: list[str] | None) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for name in content or []:
        if name.endswith("/"):
            (frames / name).mkdir()
            (frames / name / "x.txt").write_text("x")
        else:
            (frames / name).write_bytes(b"not a frame")
    out = tmp_path / "contact_sheet.jpg"
    with pytest.raises(ContactSheetError) as caught:
        write_contact_sheet(frames, out)
    assert str(caught.value) == (
        f"no frames in {frames.as_uri()} (looked for .jpg, .jpeg, .png, .webp files): "
        "no contact sheet written"
    )
    assert not out.exists()


def test_a_missing_frames_folder_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "contact_sheet.jpg"
    with pytest.raises(
        ContactSheetError, match=r"the frames folder .*/nowhere does not exist: no contact sheet"
    ):
        write_contact_sheet(tmp_path / "nowhere", out)
    assert not out.exists()


def test_a_corrupt_jpeg_is_drawn_grey_logged_and_named(
    make_frames: Callable[..., Path],
    frame_colour: Callable[[int], tuple[int, int, int]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    frames = make_frames(6)
    truncated = frames / "clip.mp4_frame_00002.jpg"
    truncated.write_bytes(truncated.read_bytes()[:300])
    (frames / "clip.mp4_frame_00004.jpg").write_bytes(b"this is not a JPEG")
    out = tmp_path / "contact_sheet.jpg"
    with caplog.at_level(logging.WARNING, logger="airflow_provider_mavi.contact_sheet"):
        info = write_contact_sheet(frames, out)
    assert info["unreadable"] == ["clip.mp4_frame_00002.jpg", "clip.mp4_frame_00004.jpg"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("clip.mp4_frame_00002.jpg is not a readable image" in w for w in warnings), warnings
    assert any("clip.mp4_frame_00004.jpg is not a readable image" in w for w in warnings), warnings
    sheet = draw_contact_sheet(frames)
    texts = [line.text for line in sheet.layout.lines if line.style == "warning"]
    assert " ".join(texts) == (
        "2 of the frames shown could not be read as images (grey tiles): "
        "clip.mp4_frame_00002.jpg, clip.mp4_frame_00004.jpg."
    )
    with Image.open(out) as image:
        written = image.convert("RGB")
    for tile in sheet.layout.tiles:
        left_middle = (tile.x + 10, tile.y + tile.height // 2)
        if tile.index in (2, 4):
            assert close(written.getpixel(left_middle), UNREADABLE_TILE), tile.index
        else:
            assert close(written.getpixel(left_middle), frame_colour(tile.index)), tile.index
    assert truncated.stat().st_size == 300, "the frames are left as they were"


def test_no_readable_frame_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for index in range(3):
        (frames / f"frame_{index}.jpg").write_bytes(b"\xff\xd8 broken")
    out = tmp_path / "contact_sheet.jpg"
    with pytest.raises(ContactSheetError, match=r"none of the 3 frames shown from .* is a readable image"):
        write_contact_sheet(frames, out)
    assert not out.exists()


def test_a_bad_output_name_or_segment_writes_nothing(
    make_frames: Callable[..., Path], tmp_path: Path
) -> None:
    frames = make_frames(2)
    with pytest.raises(ContactSheetError, match=r"contact_sheet.gif must end in .jpg, .jpeg or .png"):
        write_contact_sheet(frames, tmp_path / "contact_sheet.gif")
    out = tmp_path / "contact_sheet.jpg"
    with pytest.raises(
        ContactSheetError, match="speech segment 1: needs 0 <= start <= end, got start=5, end=2"
    ):
        write_contact_sheet(
            frames, out, speech=[{"start": 0, "end": 1, "text": "ok"}, {"start": 5, "end": 2, "text": "bad"}]
        )
    with pytest.raises(ContactSheetError, match="interval_seconds must be a positive number"):
        write_contact_sheet(frames, out, interval_seconds=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def test_a_sheet_written_among_the_frames_is_not_a_frame(make_frames: Callable[..., Path]) -> None:
    frames = make_frames(5)
    first = write_contact_sheet(frames, frames / "contact_sheet.jpg")
    again = write_contact_sheet(frames, frames / "contact_sheet.jpg")
    assert first["frames"] == again["frames"] == 5


def test_options_shape_the_sheet(make_frames: Callable[..., Path]) -> None:
    frames = make_frames(10)
    sheet = draw_contact_sheet(frames, options=SheetOptions(columns=4, max_tiles=6, tile_width=160))
    assert sheet.info["tiles"] == 5
    assert sheet.info["every"] == 2
    assert sheet.image.width == 2 * 24 + 4 * 160 + 3 * 12


def test_the_transcript_json_the_pipeline_writes_is_read(tmp_path: Path) -> None:
    result = TranscriptResult(
        job_id="a" * 32,
        segments=(TranscriptSegment(0.0, 4.0, "first", None), TranscriptSegment(4.0, 6.5, "second", None)),
        usage=TranscriptUsage(duration=1.0, model="gemini-2.5-flash", prompt_tokens=10, output_tokens=5),
        model="gemini-2.5-flash",
    )
    path = tmp_path / "transcript.json"
    path.write_text(transcript_to_json(result, cost_usd=0.001), encoding="utf-8")
    assert read_transcript_segments(str(path)) == [Segment(0.0, 4.0, "first"), Segment(4.0, 6.5, "second")]
    assert read_transcript_segments(ObjectStoragePath(path.as_uri()))[1].end == 6.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"job_id": "x"}', "has no 'segments' list"),
        ("[1, 2]", "has no 'segments' list"),
        ('{"segments": [{"start_time": 0, "text": "x"}]}', "description segment 0: no 'end' or 'end_time'"),
    ],
)
def test_a_bad_transcript_is_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "transcript.json"
    path.write_text(content)
    with pytest.raises(ContactSheetError) as caught:
        read_transcript_segments(path.as_uri())
    assert f"the transcript {path.as_uri()}" in str(caught.value)
    assert message in str(caught.value)
