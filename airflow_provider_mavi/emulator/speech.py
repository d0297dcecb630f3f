"""Voice activity and speaker turns measured from the audio signal: the emulator's stand-in for speech models.

It recognises no words and no voices. What it measures:

- **Voice activity** by short-time energy over :data:`FRAME_SECONDS` (20 ms) frames of 16 kHz mono audio.
  A frame is voiced when its level is above both :data:`FLOOR_DBFS` and :data:`RELATIVE_DB` below the loud
  level of the recording (its 95th-percentile frame). Gaps shorter than :data:`MIN_GAP_SECONDS` are closed
  and voiced runs shorter than :data:`MIN_SEGMENT_SECONDS` dropped.
- **Speaker labels** by clustering two simple spectral features of each :data:`BLOCK_SECONDS` block of
  voiced audio: the mean frequency from the first-difference energy (a spectral moment: for a pure tone of
  frequency f, ``sum(diff(x)^2) / sum(x^2) = 2 - 2 cos(2 pi f / rate)``) and the zero-crossing rate, both on
  a log2 scale. A block joins the nearest earlier cluster closer than :data:`SPEAKER_DISTANCE`, else it
  starts a new speaker. Different voices at similar pitch are not told apart; that is the stand-in's limit.

Everything here is pure and deterministic except :func:`analyse_file`, which decodes (and blocks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_mavi.emulator.audio import RATE, dbfs, decode_pcm

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

FRAME_SECONDS = 0.02
FLOOR_DBFS = -45.0
RELATIVE_DB = 30.0
MIN_GAP_SECONDS = 0.2
MIN_SEGMENT_SECONDS = 0.1
BLOCK_SECONDS = 0.5
SPEAKER_DISTANCE = 0.5


@dataclass(frozen=True)
class Frame:
    """Energy measures of one frame: mean square, mean square of the first difference, zero crossings."""

    energy: float
    diff_energy: float
    crossings: int


@dataclass(frozen=True)
class Turn:
    """A stretch of voice activity attributed to one speaker cluster (times in seconds)."""

    start: float
    end: float
    speaker: int
    level_dbfs: float
    voiced_share: float

    @property
    def seconds(self) -> float:
        """The turn's length."""
        return round(self.end - self.start, 3)


@dataclass(frozen=True)
class SpeechAnalysis:
    """What was measured in one recording."""

    duration: float
    frame_seconds: float
    levels: list[float]
    turns: list[Turn]

    @property
    def speakers(self) -> int:
        """How many speaker clusters were found."""
        return len({turn.speaker for turn in self.turns})

    @property
    def voiced_seconds(self) -> float:
        """Total length of voice activity."""
        return round(sum(turn.end - turn.start for turn in self.turns), 3)


def measure_frames(samples: Sequence[int], rate: int = RATE) -> list[Frame]:
    """Cut the signal into frames of :data:`FRAME_SECONDS` and measure each (a short last frame counts).

    :param samples: signed 16-bit mono samples.
    :param rate: the sample rate.
    """
    size = max(1, round(rate * FRAME_SECONDS))
    frames = []
    for first in range(0, len(samples), size):
        chunk = samples[first : first + size]
        n = len(chunk)
        energy = sum(s * s for s in chunk) / n
        previous = samples[first - 1] if first else chunk[0]
        diff = 0
        crossings = 0
        for s in chunk:
            diff += (s - previous) * (s - previous)
            if (s >= 0) != (previous >= 0):
                crossings += 1
            previous = s
        frames.append(Frame(energy=energy, diff_energy=diff / n, crossings=crossings))
    return frames


def voiced_mask(levels: Sequence[float]) -> list[bool]:
    """Say which frames are voiced: above the floor and within :data:`RELATIVE_DB` of the loud level.

    :param levels: frame levels in dBFS.
    """
    loud = [level for level in levels if level > FLOOR_DBFS]
    if not loud:
        return [False] * len(levels)
    loud.sort()
    reference = loud[min(len(loud) - 1, int(0.95 * len(loud)))]
    threshold = max(FLOOR_DBFS, reference - RELATIVE_DB)
    return [level > threshold for level in levels]


def voiced_runs(mask: Sequence[bool], frame_seconds: float = FRAME_SECONDS) -> list[tuple[int, int]]:
    """Return voiced runs as ``(first frame, end frame exclusive)``, short gaps closed, short runs dropped.

    :param mask: voiced flag per frame.
    :param frame_seconds: the frame length.
    """
    runs: list[tuple[int, int]] = []
    start = None
    for index, voiced in enumerate([*mask, False]):
        if voiced and start is None:
            start = index
        elif not voiced and start is not None:
            if runs and (start - runs[-1][1]) * frame_seconds < MIN_GAP_SECONDS:
                start = runs.pop()[0]
            runs.append((start, index))
            start = None
    return [(a, b) for a, b in runs if (b - a) * frame_seconds >= MIN_SEGMENT_SECONDS - 1e-9]


def spectral_point(frames: Sequence[Frame], rate: int = RATE) -> tuple[float, float]:
    """Return the two speaker features of some frames: log2 of the difference-energy frequency and of the
    zero-crossing frequency.

    :param frames: voiced frames.
    :param rate: the sample rate.
    """
    energy = sum(f.energy for f in frames) or 1.0
    ratio = min(4.0, sum(f.diff_energy for f in frames) / energy)
    moment_hz = rate * math.acos(max(-1.0, 1 - ratio / 2)) / (2 * math.pi)
    seconds = len(frames) * FRAME_SECONDS
    crossing_hz = sum(f.crossings for f in frames) / (2 * seconds) if seconds else 0.0
    return math.log2(max(moment_hz, 1.0)), math.log2(max(crossing_hz, 1.0))


def cluster(points: Sequence[tuple[float, float]]) -> list[int]:
    """Label points in order: each joins the nearest existing cluster within :data:`SPEAKER_DISTANCE`
    (distance to the cluster's mean), else opens a new one. Labels count from 0 in order of appearance.

    :param points: feature points in time order.
    """
    sums: list[list[float]] = []
    labels = []
    for x, y in points:
        best, best_distance = -1, SPEAKER_DISTANCE
        for label, (sx, sy, n) in enumerate(sums):
            distance = math.hypot(x - sx / n, y - sy / n)
            if distance < best_distance:
                best, best_distance = label, distance
        if best < 0:
            sums.append([0.0, 0.0, 0.0])
            best = len(sums) - 1
        sums[best][0] += x
        sums[best][1] += y
        sums[best][2] += 1
        labels.append(best)
    return labels


def _blocks(first: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut a run of frames into blocks of ``size``; a last block under half a size joins the one before.

    :param first: the run's first frame.
    :param end: the run's end frame (exclusive).
    :param size: frames per block.
    """
    blocks = [(a, min(a + size, end)) for a in range(first, end, size)]
    if len(blocks) > 1 and blocks[-1][1] - blocks[-1][0] < size / 2:
        last = blocks.pop()
        blocks[-1] = (blocks[-1][0], last[1])
    return blocks


def analyse_samples(samples: Sequence[int], rate: int = RATE) -> SpeechAnalysis:
    """Measure voice activity and speaker turns in a signal.

    :param samples: signed 16-bit mono samples.
    :param rate: the sample rate.
    """
    frames = measure_frames(samples, rate)
    levels = [dbfs(f.energy) for f in frames]
    mask = voiced_mask(levels)
    size = max(1, round(BLOCK_SECONDS / FRAME_SECONDS))
    blocks = [block for run in voiced_runs(mask) for block in _blocks(*run, size)]
    points = []
    for a, b in blocks:
        voiced = [frames[i] for i in range(a, b) if mask[i]] or frames[a:b]
        points.append(spectral_point(voiced, rate))
    labels = cluster(points)
    duration = len(samples) / rate
    turns: list[Turn] = []
    pending: list[tuple[int, int]] = []
    for index, (a, b) in enumerate(blocks):
        pending.append((a, b))
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following is None or following[0] != b or labels[index + 1] != labels[index]:
            turns.append(_turn(pending, labels[index], frames, mask, duration))
            pending = []
    return SpeechAnalysis(
        duration=round(duration, 3), frame_seconds=FRAME_SECONDS, levels=levels, turns=turns
    )


def _turn(
    blocks: list[tuple[int, int]], speaker: int, frames: list[Frame], mask: list[bool], duration: float
) -> Turn:
    """Build a turn from consecutive blocks of one speaker.

    :param blocks: the blocks, contiguous.
    :param speaker: the cluster label.
    :param frames: every frame.
    :param mask: voiced flags.
    :param duration: the recording's length (the last frame may be short).
    """
    first, end = blocks[0][0], blocks[-1][1]
    mean_square = sum(f.energy for f in frames[first:end]) / (end - first)
    return Turn(
        start=round(first * FRAME_SECONDS, 3),
        end=round(min(end * FRAME_SECONDS, duration), 3),
        speaker=speaker,
        level_dbfs=dbfs(mean_square),
        voiced_share=round(sum(mask[first:end]) / (end - first), 3),
    )


def analyse_file(path: Path) -> SpeechAnalysis:
    """Decode a file's audio and measure it.

    :param path: the media file.
    :raises MediaError: when there is no decodable audio track.
    """
    return analyse_samples(decode_pcm(path))


def speaker_label(index: int) -> str:
    """Return the pyannote/Whisper style label of a speaker cluster, e.g. ``SPEAKER_00``.

    :param index: the cluster number.
    """
    return f"SPEAKER_{index:02d}"


def stand_in_text(turn: Turn) -> str:
    """Return the text the emulator gives a turn: a stand-in that says what was measured, never words.

    :param turn: the turn.
    """
    return f"[speech {turn.end - turn.start:.1f} s]"
