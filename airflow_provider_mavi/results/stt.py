"""Speech-to-text answers (``POST /transcriptions/speech-to-text``, sync, ``mavi-api.md`` §12.8).

ElevenLabs words are timed in seconds; AssemblyAI words in milliseconds (inferred from the documented values:
``0``, ``520``, ``780`` for a sentence whose ``audio_duration`` is ``52``). Both become seconds in ``start`` /
``end``; the value as sent stays in ``raw_start`` / ``raw_end``. AssemblyAI's ``audio_url`` (a signed storage
URL) is never kept: it would be a credential in XCom.

Price: per audio hour, billed per second. ElevenLabs' answer has no duration (``cost_usd`` None until
``with_duration``); AssemblyAI's ``audio_duration`` is read as seconds (the unit is not stated; seconds is the
only unit the documented example is consistent with), and when the words run past it the price is left
unknown rather than guessed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_mavi.exceptions import MaviServerError
from airflow_provider_mavi.results.base import Result
from airflow_provider_mavi.results.callback import (
    any_text,
    number,
    optional_number,
    optional_seconds,
    optional_text,
    require_list,
    require_mapping,
)
from airflow_provider_mavi.results.prices import (
    ASSEMBLYAI_PRICE,
    ELEVENLABS_PRICE,
    Usage,
    cost_and_note,
)

if TYPE_CHECKING:
    from airflow_provider_mavi.results.prices import Price

__all__ = ["SpeechToText", "Word", "parse_assemblyai_answer", "parse_elevenlabs_answer"]

Provider = Literal["elevenlabs", "assemblyai"]
_PRICES: dict[str, Price] = {"elevenlabs": ELEVENLABS_PRICE, "assemblyai": ASSEMBLYAI_PRICE}
NO_DURATION = "the answer reports no audio duration: price it with .with_duration(seconds)"


@dataclass(frozen=True)
class Word:
    """One timed item of a transcript (a word, or a spacing item for ElevenLabs).

    :param text: the word (ElevenLabs: ``" "`` for spacing).
    :param start: seconds.
    :param end: seconds.
    :param raw_start: ``start`` as the provider sent it (seconds for ElevenLabs, milliseconds for AssemblyAI).
    :param raw_end: ``end`` as the provider sent it.
    :param speaker: ElevenLabs ``speaker_id`` (``speaker_0``) or AssemblyAI ``speaker`` (``A``), if any.
    :param type: ElevenLabs' ``word`` / ``spacing``; None for AssemblyAI.
    :param confidence: AssemblyAI's confidence, 0 to 1; None for ElevenLabs.
    """

    text: str
    start: float
    end: float
    raw_start: float
    raw_end: float
    speaker: str | None
    type: str | None
    confidence: float | None


@dataclass(frozen=True)
class SpeechToText(Result):
    """A speech-to-text transcript.

    :param provider: ``elevenlabs`` or ``assemblyai``.
    :param text: the full text.
    :param words: the timed words, in order.
    :param time_unit: the unit of the raw word times: ``s`` (ElevenLabs) or ``ms`` (AssemblyAI).
    :param language_code: e.g. ``en`` / ``en_us``.
    :param language_probability: ElevenLabs' confidence in the language.
    :param transcript_id: AssemblyAI's transcript id.
    :param status: AssemblyAI's status (``completed``).
    :param audio_duration_seconds: the audio's duration (AssemblyAI ``audio_duration``), or as given later.
    :param cost_usd: per audio hour, billed per second; None when the duration is unknown.
    :param cost_note: why ``cost_usd`` is None.
    """

    provider: Provider
    text: str
    words: tuple[Word, ...]
    time_unit: Literal["s", "ms"]
    language_code: str | None
    language_probability: float | None
    transcript_id: str | None
    status: str | None
    audio_duration_seconds: float | None
    cost_usd: float | None
    cost_note: str | None

    def with_duration(self, seconds: float) -> SpeechToText:
        """The same transcript priced for an audio duration known elsewhere (e.g. measured at upload).

        :param seconds: the audio's duration.
        """
        cost, note = cost_and_note(_PRICES[self.provider], Usage(media_seconds=seconds), NO_DURATION)
        return dataclasses.replace(self, audio_duration_seconds=seconds, cost_usd=cost, cost_note=note)


def _word(item: object, field: str, scale: float, confidence: bool) -> Word:
    entry = require_mapping(item, field)
    raw_start = number(entry.get("start"), f"{field}.start")
    raw_end = number(entry.get("end"), f"{field}.end")
    speaker_key = "speaker" if confidence else "speaker_id"
    return Word(
        text=any_text(entry.get("text"), f"{field}.text"),
        start=raw_start * scale,
        end=raw_end * scale,
        raw_start=raw_start,
        raw_end=raw_end,
        speaker=optional_text(entry.get(speaker_key), f"{field}.{speaker_key}"),
        type=None if confidence else optional_text(entry.get("type"), f"{field}.type"),
        confidence=optional_number(entry.get("confidence"), f"{field}.confidence") if confidence else None,
    )


def _words(data: Any, scale: float, confidence: bool) -> tuple[Word, ...]:
    raw = data.get("words")
    items = require_list([] if raw is None else raw, "data.words")
    return tuple(_word(item, f"data.words[{i}]", scale, confidence) for i, item in enumerate(items))


def _text(data: Any) -> str:
    text = data.get("text")
    return "" if text is None else any_text(text, "data.text")  # null: no speech


def parse_elevenlabs_answer(data: object) -> SpeechToText:
    """
    Read a speech-to-text answer from ElevenLabs (``language_code``, ``language_probability``, ``text``,
    ``words[] {text, start, end, type, speaker_id}`` in seconds).

    :param data: the envelope's ``data``.
    :raises FieldError: naming the missing or malformed field.
    """
    body = require_mapping(data, "data")
    return SpeechToText(
        provider="elevenlabs",
        text=_text(body),
        words=_words(body, 1.0, confidence=False),
        time_unit="s",
        language_code=optional_text(body.get("language_code"), "data.language_code"),
        language_probability=optional_number(body.get("language_probability"), "data.language_probability"),
        transcript_id=None,
        status=None,
        audio_duration_seconds=None,
        cost_usd=None,
        cost_note=NO_DURATION,
    )


def parse_assemblyai_answer(data: object) -> SpeechToText:
    """
    Read a speech-to-text answer from AssemblyAI (``id``, ``status``, ``language_code``, ``audio_duration``,
    ``text``, ``words[] {text, start, end, confidence, speaker}`` in milliseconds).

    :param data: the envelope's ``data``.
    :raises FieldError: naming the missing or malformed field.
    :raises MaviServerError: when AssemblyAI reports a status other than ``completed``.
    """
    body = require_mapping(data, "data")
    status = optional_text(body.get("status"), "data.status")
    if status not in (None, "completed"):
        detail = body.get("error")
        said = f": {detail}" if isinstance(detail, str) and detail else ""
        raise MaviServerError(f"AssemblyAI did not complete the transcription (status {status!r}){said}.")
    words = _words(body, 0.001, confidence=True)
    duration = optional_seconds(body.get("audio_duration"), "data.audio_duration")
    cost, note = _assemblyai_cost(duration, words)
    return SpeechToText(
        provider="assemblyai",
        text=_text(body),
        words=words,
        time_unit="ms",
        language_code=optional_text(body.get("language_code"), "data.language_code"),
        language_probability=None,
        transcript_id=optional_text(body.get("id"), "data.id"),
        status=status,
        audio_duration_seconds=duration,
        cost_usd=cost,
        cost_note=note,
    )


def _assemblyai_cost(duration: float | None, words: tuple[Word, ...]) -> tuple[float | None, str | None]:
    last = max((word.end for word in words), default=0.0)
    if duration is not None and last > duration + 1:
        return None, (
            f"the words run to {last:g} s but audio_duration is {duration:g}: "
            "its unit is unclear, so no price"
        )
    return cost_and_note(ASSEMBLYAI_PRICE, Usage(media_seconds=duration), NO_DURATION)
