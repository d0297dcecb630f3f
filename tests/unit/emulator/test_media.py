"""Media work on real files made with PyAV: probe, frames, measurements, the sample's scenes, descriptions."""

from __future__ import annotations

import pytest
from PIL import Image

from airflow_provider_mavi.emulator import describe, media
from airflow_provider_mavi.emulator.audio import NoAudioTrack, decode_pcm
from airflow_provider_mavi.emulator.samples import make_sample_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_sample_video(
        tmp_path_factory.mktemp("media") / "clip.mp4", seconds=4, width=192, height=108, fps=8
    )


@pytest.mark.parametrize(("seconds", "width", "height", "fps"), [(1, 64, 48, 4), (2.5, 240, 160, 10)])
def test_sample_video_is_real_h264_with_sound(tmp_path, seconds, width, height, fps):
    path = make_sample_video(tmp_path / "v.mp4", seconds=seconds, width=width, height=height, fps=fps)
    info = media.probe(path)
    assert info.has_video
    assert info.has_audio
    assert (info.width, info.height) == (width, height)
    assert info.duration == pytest.approx(seconds, abs=0.1)


def test_sample_video_is_deterministic(tmp_path):
    first = make_sample_video(tmp_path / "a.mp4", seconds=1, width=64, height=48, fps=4)
    second = make_sample_video(tmp_path / "b.mp4", seconds=1, width=64, height=48, fps=4)
    assert first.read_bytes() == second.read_bytes()


def test_sample_video_rejects_nonsense(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        make_sample_video(tmp_path / "x.mp4", seconds=0)


@pytest.mark.parametrize(
    "content", [b"", b"plain text, not media\n" * 20, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64]
)
def test_probe_refuses_what_is_not_media(tmp_path, content):
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    with pytest.raises(media.MediaError):
        media.probe(path)


def test_extract_frames_one_per_interval_at_full_size(clip, tmp_path):
    frames = media.extract_frames(clip, tmp_path / "frames", interval=1.0)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert [f.measure.time for f in frames] == [0.0, 1.0, 2.0, 3.0]
    for frame in frames:
        with Image.open(frame.path) as image:
            assert image.format == "JPEG"
            assert image.size == (192, 108) == (frame.width, frame.height)
        assert frame.size == frame.path.stat().st_size
    assert frames[0].measure.motion is None
    assert all(f.measure.motion is not None and f.measure.motion > 0 for f in frames[1:])
    half = media.extract_frames(clip, tmp_path / "half", interval=0.5)
    assert len(half) == 8


def test_measurements_find_the_drawn_colours(clip):
    measures = media.measure_frames(clip, 1.0)
    assert measures == media.measure_frames(clip, 1.0)  # deterministic
    first = measures[0]
    assert sum(first.colours.values()) == pytest.approx(1.0)
    assert first.colours.get("red", 0) > 0.02  # the red box
    assert first.colours.get("blue", 0) > 0.01  # the blue disc
    assert 0 < first.brightness < 0.5


def test_video_segments_and_tokens(clip):
    measures = media.measure_frames(clip, 1.0)
    segments = describe.video_segments(measures, 3.0, 4.0)
    assert [(s["start_time"], s["end_time"]) for s in segments] == [(0.0, 3.0), (3.0, 4.0)]
    text = segments[0]["transcript"]
    assert text.startswith("Measured 0.0-3.0 s over 3 frame(s): mean brightness ")
    assert "dominant colours" in text
    assert "pixels changed between sampled frames" in text
    assert "single frame" in segments[1]["transcript"] or "changed" in segments[1]["transcript"]
    assert describe.count_tokens("Measured 0.0-3.0 s: red 4%.") == 14


def test_sample_scenes_cut_every_two_seconds(clip):
    from airflow_provider_mavi.emulator.scenes import scan_video

    scan = scan_video(clip, 1.0)
    assert scan.fps == 8
    assert scan.frame_count == 32
    assert scan.cuts == [16]  # 2 s at 8 fps; the next cut (4 s) is the end of this 4-second clip
    assert scan.scenes == [(0, 15), (16, 31)]


def test_audio_of_a_silent_video_is_refused(tmp_path):
    path = make_sample_video(tmp_path / "mute.mp4", seconds=1, width=64, height=48, fps=4, audio=False)
    with pytest.raises(NoAudioTrack, match="no audio"):
        decode_pcm(path)
