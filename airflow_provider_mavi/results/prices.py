"""Mavi's published prices as small rules that turn usage into dollars, and never guess.

Each catalogue entry (:mod:`airflow_provider_mavi.endpoints`) names its rule: per second of media, per token,
per GB, free, or unknown. A rule's ``cost_usd(usage)`` is None when the usage lacks the figure it is priced by
(e.g. the video's duration for frame extraction): callers then say why instead of showing a guess
(:func:`cost_and_note`). The rates are those of ``mavi-api.md`` §2, §3 and §12 (the VLM models' token prices
are in :mod:`~airflow_provider_mavi.results.vlm_models`); dollar figures are rounded to 6 decimals (well below
a cent, and free of float noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "ASSEMBLYAI_PRICE",
    "AUDIO_TRANSCRIPTION_PRICE",
    "DIARIZATION_PRICE",
    "DOWNLOAD_PRICE",
    "EDIT_PRICE",
    "ELEVENLABS_PRICE",
    "FRAMES_PRICE",
    "SCENES_PRICE",
    "SPEAKER_RECOGNITION_PRICE",
    "SPLIT_PRICE",
    "SUMMARY_PRICE",
    "TEXT_EMBEDDING_PRICE",
    "VIDEO_DESCRIPTION_PRICE",
    "VIDEO_EMBEDDING_PRICE",
    "Free",
    "PerGigabyte",
    "PerMediaSecond",
    "PerToken",
    "Price",
    "TieredPerToken",
    "TokenTier",
    "Unknown",
    "Usage",
    "audio_transcription_cost_usd",
    "cost_and_note",
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
    :param model: the model used, for rules priced per model (the VLM models).
    """

    media_seconds: float | None = None
    prompt_tokens: float | None = None
    output_tokens: float | None = None
    n_bytes: float | None = None
    speaker: bool = False
    model: str | None = None


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
    :param billed_per_second: Mavi bills whole seconds: a started second counts (``ceil``).
    """

    usd: float
    usd_with_speaker: float | None = None
    billed_per_second: bool = False

    def cost_usd(self, usage: Usage) -> float | None:
        """The price of ``usage.media_seconds`` seconds; None when the duration is unknown.

        :param usage: what the call used.
        """
        if usage.media_seconds is None:
            return None
        rate = self.usd_with_speaker if usage.speaker and self.usd_with_speaker is not None else self.usd
        seconds = _non_negative(usage.media_seconds, "media_seconds")
        return _usd((math.ceil(seconds) if self.billed_per_second else seconds) * rate)


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
class TokenTier:
    """One tier of a tiered token price.

    :param up_to_input_tokens: the tier holds calls with at most this many input tokens; None: no bound.
    :param usd_per_million_input: dollars per million input tokens.
    :param usd_per_million_output: dollars per million output tokens.
    """

    up_to_input_tokens: int | None
    usd_per_million_input: float
    usd_per_million_output: float


@dataclass(frozen=True)
class TieredPerToken:
    """Token prices that depend on the size of the input (context): the tier is picked from the input tokens.

    :param tiers: the tiers, by growing ``up_to_input_tokens``; a call beyond the last bounded tier has no
        documented price (None).
    """

    tiers: tuple[TokenTier, ...]

    def __post_init__(self) -> None:
        bounds = [tier.up_to_input_tokens for tier in self.tiers]
        if not bounds or any(bound is None for bound in bounds[:-1]):
            raise ValueError("tiers must be bounded, except perhaps the last one")
        if bounds != sorted(bounds, key=lambda bound: math.inf if bound is None else bound):
            raise ValueError("tiers must grow")

    def tier(self, input_tokens: float) -> TokenTier | None:
        """The tier of a call with ``input_tokens`` input tokens; None beyond the documented tiers.

        :param input_tokens: the call's input tokens.
        """
        for tier in self.tiers:
            if tier.up_to_input_tokens is None or input_tokens <= tier.up_to_input_tokens:
                return tier
        return None

    def cost_usd(self, usage: Usage) -> float | None:
        """The price of the tokens used, at the tier of the input tokens; None when a count is unknown or the
        input is beyond the documented tiers.

        :param usage: what the call used.
        """
        if usage.prompt_tokens is None or usage.output_tokens is None:
            return None
        tier = self.tier(_non_negative(usage.prompt_tokens, "prompt_tokens"))
        if tier is None:
            return None
        rule = PerToken(tier.usd_per_million_input, tier.usd_per_million_output)
        return rule.cost_usd(usage)


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
#: Speaker diarization (pyannote), sync and async: $0.001 per second of audio or video (§12.2).
DIARIZATION_PRICE = PerMediaSecond(0.001)
#: Multimodal speaker recognition: $0.1 per minute of video or audio, prorated by the second (§12.3: the
#: docs do not say that a started minute counts whole).
SPEAKER_RECOGNITION_PRICE = PerMediaSecond(0.1 / 60)
#: Speech-to-text with ElevenLabs: $0.39 per audio hour, billed per second of actual duration (§12.8).
ELEVENLABS_PRICE = PerMediaSecond(0.39 / 3600, billed_per_second=True)
#: Speech-to-text with AssemblyAI: $0.15 per audio hour, billed per second of actual duration (§12.8).
ASSEMBLYAI_PRICE = PerMediaSecond(0.15 / 3600, billed_per_second=True)
#: Text embeddings: $0.0000002 per (input) token (§12.10). Mavi's answer reports no token count.
TEXT_EMBEDDING_PRICE = PerToken(0.2, 0.0)
#: No published price (mavi-api.md §9 and §12): the cost of these calls is always None, never a guess.
SUMMARY_PRICE = Unknown("not documented, mavi-api.md §12.4")
SCENES_PRICE = Unknown("not documented, mavi-api.md §12.5")
SPLIT_PRICE = Unknown("not documented, mavi-api.md §12.6; the segments are assets billed as storage")
EDIT_PRICE = Unknown("not documented, mavi-api.md §12.7; the new video is an asset billed as storage")
VIDEO_EMBEDDING_PRICE = Unknown("not documented, mavi-api.md §12.10")


def cost_and_note(price: Price, usage: Usage, missing: str) -> tuple[float | None, str | None]:
    """
    The price of a call and, when it is unknown, why (for ``cost_note`` fields and log lines).

    :param price: the catalogue entry's price rule.
    :param usage: what the call used, as far as it is known.
    :param missing: why the price is unknown when the rule lacks a figure, e.g. ``the answer reports no
        duration``.
    :return: ``(dollars, None)``, or ``(None, reason)``. Never a guess.
    """
    cost = price.cost_usd(usage)
    if cost is not None:
        return cost, None
    if isinstance(price, Unknown):
        return None, f"Mavi publishes no price for this call ({price.reason})"
    return None, missing


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
