"""Cut detection on synthetic videos with known cuts, and the pure parts of it."""

from __future__ import annotations

from fractions import Fraction

import av
import pytest
from PIL import Image, ImageDraw

from airflow_provider_mavi.emulator import scenes


def _video(path, colours, fps=12, size=(96, 64)):
    """Write a video of solid-colour shots with a small moving square: ``colours`` = [(rgb, frames), ...]."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"preset": "ultrafast"}
        index = 0
        for rgb, count in colours:
            for _ in range(count):
                image = Image.new("RGB", size, rgb)
                x = (index * 3) % (size[0] - 10)
                ImageDraw.Draw(image).rectangle((x, 20, x + 10, 30), fill=(255, 255, 255))
                frame = av.VideoFrame.from_image(image)
                frame.pts, frame.time_base = index, Fraction(1, fps)
                for packet in stream.encode(frame):
                    container.mux(packet)
                index += 1
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_cuts_are_found_at_the_known_frames(tmp_path):
    path = _video(tmp_path / "v.mp4", [((20, 30, 120), 7), ((200, 180, 60), 12), ((30, 160, 60), 11)])
    scan = scenes.scan_video(path, 1.0)
    assert (scan.fps, scan.frame_count, scan.width, scan.height) == (12, 30, 96, 64)
    assert scan.cuts == [7, 19]
    assert scan.scenes == [(0, 6), (7, 18), (19, 29)]
    assert scan.seconds(19) == pytest.approx(1.583, abs=1e-3)
    assert scan.duration == pytest.approx(2.5)
    assert [m.time for m in scan.measures] == [0.0, 1.0, 2.0]
    assert all(t.size == scenes.SAMPLE_SIZE for t in scan.thumbnails)


def test_motion_alone_is_not_a_cut(tmp_path):
    path = _video(tmp_path / "v.mp4", [((90, 90, 90), 24)])
    assert scenes.scan_video(path, 1.0).cuts == []


def test_flashes_closer_than_the_minimum_scene_are_one_cut():
    scores = [0.0, 0.01, 0.5, 0.6, 0.02, 0.3, 0.01, 0.01, 0.01, 0.2]
    assert scenes.detect_cuts(scores, fps=4) == [2, 5, 9]  # 3 is 1 frame after 2 (minimum 2 frames at 4 fps)
    assert scenes.detect_cuts([0.0, scenes.CUT_THRESHOLD], fps=10) == []  # strictly above the threshold


def test_scenes_from_cuts_cover_every_frame():
    assert scenes.scenes_from_cuts([3, 8], 10) == [(0, 2), (3, 7), (8, 9)]
    assert scenes.scenes_from_cuts([], 5) == [(0, 4)]
    assert scenes.scenes_from_cuts([0, 12], 5) == [(0, 4)]
    assert scenes.scenes_from_cuts([], 0) == []


def test_difference_is_the_mean_absolute_change():
    black, white = Image.new("RGB", (8, 8)), Image.new("RGB", (8, 8), (255, 255, 255))
    half = Image.new("RGB", (8, 8), (255, 0, 0))
    assert scenes.difference(black, white) == 1.0
    assert scenes.difference(black, half) == pytest.approx(1 / 3)
    assert scenes.difference(white, white) == 0.0


def test_not_a_video_is_refused(tmp_path):
    path = tmp_path / "x.mp4"
    path.write_text("nothing here\n" * 20)
    with pytest.raises(scenes.MediaError):
        scenes.scan_video(path, 1.0)
