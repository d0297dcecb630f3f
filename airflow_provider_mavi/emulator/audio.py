"""Audio decoding with PyAV: any media file's first audio track as 16 kHz mono signed 16-bit samples.

It blocks (decoding): the app runs it in its worker pool, never on the event loop.
"""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING

import av

from airflow_provider_mavi.emulator.media import MediaError

if TYPE_CHECKING:
    from pathlib import Path

RATE = 16000
FULL_SCALE = 32768.0


class NoAudioTrack(MediaError):
    """The file has no audio track."""


def dbfs(mean_square: float) -> float:
    """Return a level in dB relative to full scale from a mean square of 16-bit samples, floored at -120.

    :param mean_square: the mean of the squared samples.
    """
    return round(10 * math.log10(mean_square / FULL_SCALE**2), 1) if mean_square > 0 else -120.0


def decode_pcm(path: Path) -> array[int]:
    """Decode the first audio track, resampled to :data:`RATE` Hz mono signed 16-bit.

    :param path: the media file.
    :raises NoAudioTrack: when there is no audio track.
    :raises MediaError: when the audio cannot be decoded.
    """
    samples: array[int] = array("h")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise NoAudioTrack("no audio track")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
            for out in resampler.resample(None):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
    except (av.FFmpegError, ValueError) as exc:
        raise MediaError(type(exc).__name__) from exc
    return samples
