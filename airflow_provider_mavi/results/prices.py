"""Mavi's published prices as small rules that turn usage into dollars, and never guess.

Each catalogue entry (:mod:`airflow_provider_mavi.endpoints`) names its rule: per second of media, per token,
per GB, free, or unknown. A rule's ``cost_usd(usage)`` is None when the usage lacks the figure it is priced by
(e.g. the video's duration for frame extraction): callers then say why instead of showing a guess. The
rates are those of ``mavi-api.md`` §2 and §3; dollar figures are rounded to 6 decimals (well below a cent,
and free of float noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "AUDIO_TRANSCRIPTION_PRICE",
    "DOWNLOAD_PRICE",
    "FRAMES_PRICE",
    "VIDEO_DESCRIPTION_PRICE",
    "Free",
    "PerGigabyte",
    "PerMediaSecond",
    "PerToken",
    "Price",
    "Unknown",
    "Usage",
    "audio_transcription_cost_usd",
    "download_cost_usd",
    "frames_cost_usd",
    "video_description_cost_usd",
]

_USD_DECIMALS = 6


@dataclass(frozen=True)
class Usage:
    """What one call used, as far as it is known (None: unknown).

    :param media_seconds: seconds of video or audio processed.
    :param prompt_tokens: input tokens.
    :param output_tokens: output tokens.
    :param n_bytes: bytes transferred.
    :param speaker: speaker labels were asked for (some rules charge more for them).
    """

    media_seconds: float | None = None
    prompt_tokens: float | None = None
    output_tokens: float | None = None
    n_bytes: float | None = None
    speaker: bool = False


class Price(Protocol):
    """A price rule: dollars from usage, or None when the usage lacks the figure it is priced by."""

    def cost_usd(self, usage: Usage) -> float | None:
        """The price of one call.

        :param usage: what the call used.
        """
        ...


def _non_negative(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _usd(value: float) -> float:
    return round(value, _USD_DECIMALS)


@dataclass(frozen=True)
class PerMediaSecond:
    """Dollars per second of media (``usage.media_seconds``).

    :param usd: dollars per second.
    :param usd_with_speaker: dollars per second with speaker labels, when Mavi charges more for them.
    """

    usd: float
    usd_with_speaker: float | None = None

    def cost_usd(self, usage: Usage) -> float | None:
        """The price of ``usage.media_seconds`` seconds; None when the duration is unknown.

        :param usage: what the call used.
        """
        if usage.media_seconds is None:
            return None
        rate = self.usd_with_speaker if usage.speaker and self.usd_with_speaker is not None else self.usd
        return _usd(_non_negative(usage.media_seconds, "media_seconds") * rate)


@dataclass(frozen=True)
class PerToken:
    """Dollars per million input and output tokens.

    :param usd_per_million_input: dollars per million prompt (input) tokens.
    :param usd_per_million_output: dollars per million output tokens.
    """

    usd_per_million_input: float
    usd_per_million_output: float

    def cost_usd(self, usage: Usage) -> float | None:
        """The price of the tokens used; None when either count is unknown.

        :param usage: what the call used.
        """
        if usage.prompt_tokens is None or usage.output_tokens is None:
            return None
        prompt = _non_negative(usage.prompt_tokens, "prompt_tokens")
        output = _non_negative(usage.output_tokens, "output_tokens")
        return _usd((prompt * self.usd_per_million_input + output * self.usd_per_million_output) / 1_000_000)


@dataclass(frozen=True)
class PerGigabyte:
    """Dollars per GB (10**9 bytes) transferred.

    :param usd: dollars per GB.
    """

    usd: float

    def cost_usd(self, usage: Usage) -> float | None:
        """The price of ``usage.n_bytes`` bytes; None when the size is unknown.

        :param usage: what the call used.
        """
        if usage.n_bytes is None:
            return None
        return _usd(_non_negative(usage.n_bytes, "n_bytes") * self.usd / 1_000_000_000)


@dataclass(frozen=True)
class Free:
    """The call itself costs nothing (Mavi says so).

    :param note: what is billed elsewhere, e.g. storage.
    """

    note: str = ""

    def cost_usd(self, usage: Usage) -> float | None:
        """Zero.

        :param usage: what the call used (not needed).
        """
        return 0.0


@dataclass(frozen=True)
class Unknown:
    """Mavi publishes no price for the call: its cost is always None.

    :param reason: why, e.g. ``not documented``.
    """

    reason: str = "Mavi publishes no price for it"

    def cost_usd(self, usage: Usage) -> float | None:
        """None, always.

        :param usage: what the call used (not needed).
        """
        return None


#: Frame extraction: $0.01 per second of video (``mavi-api.md`` §3.1).
FRAMES_PRICE = PerMediaSecond(0.01)
#: Video description: $0.45 per million input and $3.75 per million output tokens (§3.2).
VIDEO_DESCRIPTION_PRICE = PerToken(0.45, 3.75)
#: Audio transcription: $0.001 per second, $0.002 per second with speaker labels (§3.3).
AUDIO_TRANSCRIPTION_PRICE = PerMediaSecond(0.001, usd_with_speaker=0.002)
#: Downloads: $0.12 per GB downloaded (§2.7).
DOWNLOAD_PRICE = PerGigabyte(0.12)


def frames_cost_usd(video_seconds: float | None) -> float | None:
    """
    Price of extracting frames from a video: $0.01 per second of video.

    :param video_seconds: the video's duration, or None when it is unknown (the price is then unknown too).
    :return: dollars, or None when the duration is unknown. Never a guess.
    """
    if video_seconds is None:
        return None
    return FRAMES_PRICE.cost_usd(Usage(media_seconds=_non_negative(video_seconds, "video_seconds")))


def video_description_cost_usd(prompt_tokens: int, output_tokens: int) -> float:
    """
    Price of a video description: $0.45 per million input tokens plus $3.75 per million output tokens.

    :param prompt_tokens: input tokens reported in ``usage_metadata.prompt_tokens``.
    :param output_tokens: output tokens reported in ``usage_metadata.output_tokens``.
    """
    usage = Usage(
        prompt_tokens=_non_negative(prompt_tokens, "prompt_tokens"),
        output_tokens=_non_negative(output_tokens, "output_tokens"),
    )
    return _known(VIDEO_DESCRIPTION_PRICE.cost_usd(usage))


def audio_transcription_cost_usd(seconds: float, speaker: bool) -> float:
    """
    Price of an audio transcription: $0.001 per second, $0.002 per second with speaker labels.

    :param seconds: the media's duration (``usage_metadata.duration`` for audio).
    :param speaker: whether speaker labels were requested.
    """
    usage = Usage(media_seconds=_non_negative(seconds, "seconds"), speaker=bool(speaker))
    return _known(AUDIO_TRANSCRIPTION_PRICE.cost_usd(usage))


def download_cost_usd(n_bytes: int) -> float:
    """
    Price of downloading an asset: $0.12 per GB (counted as 10**9 bytes) downloaded.

    :param n_bytes: bytes downloaded.
    """
    return _known(DOWNLOAD_PRICE.cost_usd(Usage(n_bytes=_non_negative(n_bytes, "n_bytes"))))


def _known(cost: float | None) -> float:
    if cost is None:  # every figure the rule needs was given
        raise AssertionError("a price rule returned None for complete usage")
    return cost
