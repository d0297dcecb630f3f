"""Deterministic embeddings computed from the media or the text, so that similar inputs are close.

**Video** (:data:`VIDEO_DIMENSION` = 1408, the size of Vertex AI's ``multimodalembedding@001``): blocks of
measured features, each scaled to unit length, then the whole vector scaled to unit length:

=====  ==========================================================================================
size   block (over the frames sampled once per ``frame_interval``, 32x32 thumbnails)
=====  ==========================================================================================
256    joint colour histogram (3 bits red, 3 green, 2 blue)
32     hue histogram weighted by saturation
256    16x16 grey layout (mean picture)
192    8x8 RGB layout
64     8x8 edge strength layout
64     8x8 layout of change between consecutive sampled frames
32     brightness histogram
64     brightness over time (resampled to 64 points)
64     motion over time
192    mean red, green and blue over time (3 x 64)
64     audio level over time (0 when silent or no audio track)
64     share of voiced audio over time
64     histogram of audio frame levels (-120 to 0 dBFS)
=====  ==========================================================================================

**Text** (default :data:`TEXT_DIMENSION` = 3072, ``gemini-embedding-001``'s largest size): signed feature
hashing (BLAKE2b) of the lower-cased words, word pairs and character 3- to 5-grams, scaled to unit length.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from typing import TYPE_CHECKING

from PIL import Image, ImageFilter

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_mavi.emulator.scenes import VideoScan
    from airflow_provider_mavi.emulator.speech import SpeechAnalysis

VIDEO_DIMENSION = 1408
TEXT_DIMENSION = 3072
PROFILE = 64
_WORD = re.compile(r"\w+")


def unit(vector: Sequence[float]) -> list[float]:
    """Return ``vector`` scaled to length 1 (a zero vector stays zero).

    :param vector: the values.
    """
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else [0.0] * len(vector)


def resample(values: Sequence[float], size: int = PROFILE) -> list[float]:
    """Resample a series to ``size`` points by linear interpolation (a constant for one value).

    :param values: the series.
    :param size: the number of points.
    """
    if not values:
        return [0.0] * size
    if len(values) == 1:
        return [float(values[0])] * size
    out = []
    for i in range(size):
        x = i * (len(values) - 1) / (size - 1)
        low = int(x)
        high = min(low + 1, len(values) - 1)
        out.append(values[low] + (values[high] - values[low]) * (x - low))
    return out


def _mean(rows: list[list[float]], size: int) -> list[float]:
    """Return the element-wise mean of rows (zeros when there are none).

    :param rows: equal-length rows.
    :param size: their length.
    """
    if not rows:
        return [0.0] * size
    return [sum(column) / len(rows) for column in zip(*rows, strict=False)]


def _levels(image: Image.Image) -> list[float]:
    """Return an image's bytes (every channel of every pixel) scaled to 0-1.

    :param image: an ``L`` or ``RGB`` image.
    """
    return [v / 255 for v in image.tobytes()]


def _picture_blocks(thumbnails: list[Image.Image]) -> list[list[float]]:
    """Return the picture blocks (colour, hue, layouts, edges, change, brightness histogram).

    :param thumbnails: the sampled frames, small RGB images.
    """
    colour, hue, grey16, rgb8, edges8, change8, bright = [], [], [], [], [], [], []
    previous: list[float] | None = None
    for image in thumbnails:
        rgb = image.convert("RGB").tobytes()
        pixels = len(rgb) // 3
        joint = [0.0] * 256
        for i in range(0, len(rgb), 3):
            joint[(rgb[i] >> 5) << 5 | (rgb[i + 1] >> 5) << 2 | rgb[i + 2] >> 6] += 1 / pixels
        colour.append(joint)
        hues = [0.0] * 32
        hsv = image.convert("HSV").tobytes()
        for i in range(0, len(hsv), 3):
            hues[hsv[i] >> 3] += hsv[i + 1] / 255 / pixels
        hue.append(hues)
        grey = image.convert("L")
        grey16.append(_levels(grey.resize((16, 16), Image.Resampling.BOX)))
        rgb8.append(_levels(image.convert("RGB").resize((8, 8), Image.Resampling.BOX)))
        edges8.append(_levels(grey.filter(ImageFilter.FIND_EDGES).resize((8, 8), Image.Resampling.BOX)))
        small = _levels(grey.resize((8, 8), Image.Resampling.BOX))
        if previous is not None:
            change8.append([abs(a - b) for a, b in zip(small, previous, strict=False)])
        previous = small
        histogram = grey.histogram()
        bright.append([sum(histogram[i : i + 8]) / pixels for i in range(0, 256, 8)])
    return [
        _mean(colour, 256),
        _mean(hue, 32),
        _mean(grey16, 256),
        _mean(rgb8, 192),
        _mean(edges8, 64),
        _mean(change8, 64),
        _mean(bright, 32),
    ]


def _time_blocks(scan: VideoScan) -> list[list[float]]:
    """Return the picture-over-time blocks (brightness, motion, red, green, blue).

    :param scan: the video's scan.
    """
    means = [t.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0)) for t in scan.thumbnails]
    channels = [[float(m[i]) / 255 if isinstance(m, tuple) else 0.0 for m in means] for i in range(3)]
    return [
        resample([m.brightness for m in scan.measures]),
        resample([m.motion or 0.0 for m in scan.measures]),
        resample(channels[0]) + resample(channels[1]) + resample(channels[2]),
    ]


def _audio_blocks(speech: SpeechAnalysis | None) -> list[list[float]]:
    """Return the audio blocks (level over time, voiced share over time, level histogram).

    :param speech: the audio's analysis, or ``None`` (no audio track: zeros).
    """
    if speech is None or not speech.levels:
        return [[0.0] * PROFILE] * 3
    levels = [(level + 120) / 120 for level in speech.levels]
    voiced = [0.0] * len(levels)
    for turn in speech.turns:
        for i in range(
            int(turn.start / speech.frame_seconds), min(len(voiced), int(turn.end / speech.frame_seconds))
        ):
            voiced[i] = 1.0
    histogram = [0.0] * PROFILE
    for level in levels:
        histogram[min(PROFILE - 1, int(level * PROFILE))] += 1 / len(levels)
    return [_binned(levels), _binned(voiced), histogram]


def _binned(values: Sequence[float], size: int = PROFILE) -> list[float]:
    """Average a long series into ``size`` equal bins (resampled when shorter than ``size``).

    :param values: the series.
    :param size: the number of bins.
    """
    if len(values) < size:
        return resample(values, size)
    out = []
    for i in range(size):
        chunk = values[i * len(values) // size : (i + 1) * len(values) // size]
        out.append(sum(chunk) / len(chunk))
    return out


def video_vector(scan: VideoScan, speech: SpeechAnalysis | None) -> list[float]:
    """Return the video's embedding (:data:`VIDEO_DIMENSION` values, unit length).

    :param scan: the video's scan (with its thumbnails).
    :param speech: the audio's analysis, or ``None``.
    """
    blocks = [*_picture_blocks(scan.thumbnails), *_time_blocks(scan), *_audio_blocks(speech)]
    vector = [value for block in blocks for value in unit(block)]
    assert len(vector) == VIDEO_DIMENSION, len(vector)
    return [round(v, 7) for v in unit(vector)]


def _features(text: str) -> list[tuple[str, float]]:
    """Return the hashed features of a text with their weights.

    :param text: the text.
    """
    words = _WORD.findall(text.lower())
    features = [(f"w:{w}", 2.0) for w in words]
    features += [(f"b:{a} {b}", 1.5) for a, b in itertools.pairwise(words)]
    padded = f" {' '.join(words)} "
    for n in (3, 4, 5):
        features += [(f"c{n}:{padded[i : i + n]}", 1.0) for i in range(len(padded) - n + 1)]
    return features


def text_vector(text: str, dimension: int = TEXT_DIMENSION) -> list[float]:
    """Return a text's embedding (``dimension`` values, unit length; zeros for a text without words).

    :param text: the text.
    :param dimension: the vector length.
    """
    vector = [0.0] * dimension
    for feature, weight in _features(text):
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "big")
        vector[value % dimension] += weight if value >> 63 else -weight
    return [round(v, 7) for v in unit(vector)]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Return the cosine similarity of two vectors.

    :param a: one vector.
    :param b: the other.
    """
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
