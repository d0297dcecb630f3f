"""Measurements of a media file, cached: several endpoints read the same file (summary, VLM, embeddings).

The cache key is the file's path, size and modification time, so a file changed on disk is measured again.
Every function blocks: call them through ``EmulatorState.run_blocking``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_mavi.emulator import scenes, speech
from airflow_provider_mavi.emulator.audio import NoAudioTrack

if TYPE_CHECKING:
    from airflow_provider_mavi.emulator.scenes import VideoScan
    from airflow_provider_mavi.emulator.speech import SpeechAnalysis

_CACHE_SIZE = 16


def _key(path: Path) -> tuple[str, int, int]:
    """Return the cache key of a file.

    :param path: the file.
    """
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _video(key: tuple[str, int, int], interval: float) -> VideoScan:
    """Scan a video (cached by key).

    :param key: the file's cache key.
    :param interval: seconds between measured frames.
    """
    return scenes.scan_video(Path(key[0]), interval)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _speech(key: tuple[str, int, int]) -> SpeechAnalysis:
    """Measure a recording's voice activity (cached by key).

    :param key: the file's cache key.
    """
    return speech.analyse_file(Path(key[0]))


def video(path: Path, interval: float) -> VideoScan:
    """Return the scan of a video: cuts, and measures of one frame per ``interval`` seconds.

    :param path: the video file.
    :param interval: seconds between measured frames.
    :raises MediaError: when it cannot be decoded.
    """
    return _video(_key(path), interval)


def speech_of(path: Path) -> SpeechAnalysis:
    """Return the voice activity and speaker turns of a file's audio.

    :param path: the media file.
    :raises MediaError: when it has no decodable audio.
    """
    return _speech(_key(path))


def speech_or_none(path: Path) -> SpeechAnalysis | None:
    """Return :func:`speech_of`, or ``None`` when the file has no audio track.

    :param path: the media file.
    :raises MediaError: when its audio track cannot be decoded.
    """
    try:
        return speech_of(path)
    except NoAudioTrack:
        return None
