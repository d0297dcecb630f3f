"""Split by remux and edit by concatenation on real small files: the outputs decode, with the right size."""

from __future__ import annotations

import av
import pytest

from airflow_provider_mavi.emulator import editing, media
from airflow_provider_mavi.emulator.samples import make_sample_video


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("editing")
    return {
        "sample": make_sample_video(root / "s.mp4", seconds=6, width=160, height=120, fps=10),
        "wide": make_sample_video(root / "w.mp4", seconds=2, width=320, height=180, fps=5),
        "mute": make_sample_video(root / "m.mp4", seconds=1, width=96, height=96, fps=5, audio=False),
    }


def _frames(path):
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_split_cuts_on_keyframes_and_loses_nothing(clips, tmp_path):
    parts = editing.split(clips["sample"], tmp_path / "two", 2)
    assert [_frames(p) for p in parts] == [20, 20, 20]
    assert [media.probe(p).has_audio for p in parts] == [True, True, True]
    longer = editing.split(clips["sample"], tmp_path / "four", 4)
    assert [_frames(p) for p in longer] == [40, 20]
    whole = editing.split(clips["sample"], tmp_path / "all", 60)
    assert len(whole) == 1
    assert whole[0].read_bytes() != clips["sample"].read_bytes()  # a remuxed copy, not the upload


def test_frame_sizes():
    assert editing.frame_size([120, 180], "landscape") == (320, 180)
    assert editing.frame_size([120, 180], "portrait") == (180, 320)
    assert editing.frame_size([1080, 2160], "landscape") == (1280, 720)  # capped at 720
    assert editing.fitted_size(40, 30, (90, 160)) == (90, 68)  # 4:3 in 9:16: full width, bars above and below
    assert editing.fitted_size(1280, 720, (1280, 720)) == (1280, 720)


@pytest.mark.parametrize(("orientation", "size"), [("landscape", (320, 180)), ("portrait", (180, 320))])
def test_concatenate_plays_every_input_in_order(clips, tmp_path, orientation, size):
    target = tmp_path / "out.mp4"
    editing.concatenate([clips["sample"], clips["wide"], clips["mute"]], target, orientation)
    info = media.probe(target)
    assert (info.width, info.height) == size
    assert info.has_audio
    assert info.duration == pytest.approx(9.0, abs=0.15)
    assert _frames(target) == 60 + 10 + 5
    with av.open(str(target)) as container:
        sound = sum(f.samples for f in container.decode(audio=0)) / editing.AUDIO_RATE
    assert sound == pytest.approx(9.0, abs=0.1)
    with av.open(str(target)) as container:
        first = next(container.decode(video=0)).to_image()
    bar = (size[0] // 2, 1) if orientation == "portrait" else (1, size[1] // 2)
    assert sum(first.getpixel(bar)) < 40  # black bar (4:3 sample in a 16:9 or 9:16 frame)
    assert sum(first.getpixel((size[0] // 2, size[1] // 2))) > 40  # the picture


def test_concatenate_without_any_sound(clips, tmp_path):
    target = tmp_path / "mute.mp4"
    editing.concatenate([clips["mute"], clips["mute"]], target, "portrait")
    info = media.probe(target)
    assert not info.has_audio
    assert _frames(target) == 10


def test_broken_input_is_a_media_error(tmp_path):
    broken = tmp_path / "b.mp4"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(media.MediaError):
        editing.split(broken, tmp_path / "x", 2)
    with pytest.raises(media.MediaError):
        editing.concatenate([broken], tmp_path / "y.mp4", "landscape")
