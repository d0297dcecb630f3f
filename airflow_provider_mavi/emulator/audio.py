"""Audio levels measured with PyAV: the emulator's honest stand-in for speech transcription.

It recognises no speech. It decodes the audio track, measures the level in short windows and reports runs of
sound and of silence with their measured levels.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING

import av

from airflow_provider_mavi.emulator.media import MediaError

if TYPE_CHECKING:
    from pathlib import Path

RATE = 16000
WINDOW_SECONDS = 0.5
SILENCE_DBFS = -45.0
FULL_SCALE = 32768.0


@dataclass(frozen=True)
class AudioRun:
    """A run of consecutive windows that are all sound or all silence."""

    start: float
    end: float
    silent: bool
    rms_dbfs: float
    peak_dbfs: float


def _dbfs(value: float) -> float:
    """Return ``value`` (a sample magnitude) in dB relative to full scale, floored at -120.

    :param value: magnitude in 16-bit sample units.
    """
    return round(20 * math.log10(value / FULL_SCALE), 1) if value > 0 else -120.0


def _windows(path: Path) -> tuple[list[tuple[float, float]], float]:
    """Decode the first audio track and return per-window ``(sum of squares, peak)`` and the media seconds.

    :param path: the media file.
    :raises MediaError: when there is no decodable audio.
    """
    size = int(RATE * WINDOW_SECONDS)
    windows: list[tuple[float, float]] = []
    pending = array("h")
    total = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError("no audio track")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    pending.frombytes(bytes(out.planes[0])[: out.samples * 2])
                    while len(pending) >= size:
                        windows.append(_window(pending[:size]))
                        total += size
                        del pending[:size]
            for out in resampler.resample(None):
                pending.frombytes(bytes(out.planes[0])[: out.samples * 2])
    except (av.FFmpegError, ValueError) as exc:
        raise MediaError(type(exc).__name__) from exc
    if pending:
        windows.append(_window(pending))
        total += len(pending)
    return windows, total / RATE


def _window(samples: array[int]) -> tuple[float, float]:
    """Return the mean square and the peak magnitude of one window.

    :param samples: signed 16-bit samples.
    """
    return sum(s * s for s in samples) / max(1, len(samples)), float(max(map(abs, samples), default=0))


def measure_audio(path: Path) -> tuple[list[AudioRun], float]:
    """Split the audio into runs of sound and silence with their measured levels.

    :param path: the media file.
    :return: the runs and the audio length in seconds.
    :raises MediaError: when there is no decodable audio.
    """
    windows, seconds = _windows(path)
    runs: list[AudioRun] = []
    group: list[tuple[float, float]] = []
    group_start = 0.0
    silent_now: bool | None = None

    def close(end: float) -> None:
        if not group or silent_now is None:
            return
        mean_square = sum(w[0] for w in group) / len(group)
        runs.append(
            AudioRun(
                start=round(group_start, 3),
                end=round(end, 3),
                silent=silent_now,
                rms_dbfs=_dbfs(math.sqrt(mean_square)),
                peak_dbfs=_dbfs(max(w[1] for w in group)),
            )
        )

    for index, window in enumerate(windows):
        silent = _dbfs(math.sqrt(window[0])) < SILENCE_DBFS
        if silent is not silent_now:
            close(index * WINDOW_SECONDS)
            group = []
            group_start = index * WINDOW_SECONDS
            silent_now = silent
        group.append(window)
    close(seconds)
    return runs, seconds
