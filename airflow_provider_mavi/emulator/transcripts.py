"""Speech results in each documented shape, built from measured voice activity (``speech.py``), never words.

Every function is pure: the same analysis gives the same result. Texts are stand-ins such as
``"[speech 1.5 s]"``; speaker labels come from the spectral clustering.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.emulator.speech import speaker_label, stand_in_text

if TYPE_CHECKING:
    from airflow_provider_mavi.emulator.speech import SpeechAnalysis, Turn

AUDIO_MSG = (
    "Measured by the Mavi emulator (voice activity by short-time energy, speakers by spectral clustering); "
    "no speech recognition was run."
)
NO_AUDIO_MSG = "The asset has no audio track; nothing to transcribe."
STAND_IN_WORD = "[speech]"


def whisper_items(analysis: SpeechAnalysis | None, speaker: bool, *, callback: bool) -> list[dict[str, Any]]:
    """Return Whisper segments (§12.1): ``{text, start_time, end_time, speaker?}``.

    :param analysis: the measurement (``None``: no audio track, no segments).
    :param speaker: label each segment with its speaker cluster.
    :param callback: the callback shape (``speaker`` always present, ``null`` unless asked) rather than the
        sync one (``speaker`` only when asked).
    """
    items = []
    for turn in analysis.turns if analysis is not None else []:
        item: dict[str, Any] = {"text": stand_in_text(turn), "start_time": turn.start, "end_time": turn.end}
        if speaker:
            item["speaker"] = speaker_label(turn.speaker)
        elif callback:
            item["speaker"] = None
        items.append(item)
    return items


def pyannote_items(analysis: SpeechAnalysis | None) -> list[dict[str, Any]]:
    """Return diarization turns (§12.2): ``{start, end, speaker}``.

    :param analysis: the measurement (``None``: no audio track).
    """
    turns = analysis.turns if analysis is not None else []
    return [{"start": t.start, "end": t.end, "speaker": speaker_label(t.speaker)} for t in turns]


def multi_speaker_items(analysis: SpeechAnalysis | None) -> list[dict[str, Any]]:
    """Return speaker-recognition segments (§12.3): ``{start_time, end_time, speaker, text}``.

    The emulator identifies no names: ``speaker`` is the cluster's anonymous label.

    :param analysis: the measurement (``None``: no audio track).
    """
    turns = analysis.turns if analysis is not None else []
    return [
        {
            "start_time": t.start,
            "end_time": t.end,
            "speaker": speaker_label(t.speaker),
            "text": stand_in_text(t),
        }
        for t in turns
    ]


def usage(duration: float, model: str) -> dict[str, Any]:
    """Return ``usage_metadata`` of a speech job: tokens are 0 for audio work, as documented.

    :param duration: the seconds to report.
    :param model: the model name.
    """
    return {"duration": round(duration, 3), "model": model, "output_tokens": 0, "prompt_tokens": 0}


def trimmed(turns: list[Turn], start: float, end: float | None) -> list[Turn]:
    """Return the turns inside ``[start, end)``, clipped to it.

    :param turns: the turns.
    :param start: seconds.
    :param end: seconds, or ``None`` for the end of the recording.
    """
    kept = []
    for turn in turns:
        a, b = max(turn.start, start), turn.end if end is None else min(turn.end, end)
        if b > a:
            kept.append(replace(turn, start=round(a, 3), end=round(b, 3)))
    return kept


def elevenlabs(
    turns: list[Turn], *, language_code: str | None, diarize: bool, granularity: str
) -> dict[str, Any]:
    """Return ElevenLabs' ``data`` (§12.8): one stand-in word per turn, spacing between, times in seconds.

    :param turns: the measured turns.
    :param language_code: the caller's language (echoed; the emulator detects none: ``und``, probability 0).
    :param diarize: give each turn its cluster's ``speaker_N``; else every word is ``speaker_0``.
    :param granularity: ``none`` (no words), ``segment`` or ``word`` (the same here: one word per turn).
    """
    words: list[dict[str, Any]] = []
    for index, turn in enumerate(turns):
        if index:
            words.append({"text": " ", "start": turns[index - 1].end, "end": turn.start, "type": "spacing"})
        words.append(
            {
                "text": STAND_IN_WORD,
                "start": turn.start,
                "end": turn.end,
                "type": "word",
                "speaker_id": f"speaker_{turn.speaker if diarize else 0}",
            }
        )
    return {
        "language_code": language_code or "und",
        "language_probability": 1.0 if language_code else 0.0,
        "text": " ".join(STAND_IN_WORD for _ in turns),
        "words": [] if granularity == "none" else words,
    }


def assemblyai(
    turns: list[Turn],
    *,
    transcript_id: str,
    audio_url: str,
    audio_seconds: float,
    language_code: str | None,
    speaker_labels: bool,
) -> dict[str, Any]:
    """Return AssemblyAI's ``data`` (§12.8): word times in milliseconds, ``status: completed``.

    :param turns: the measured turns.
    :param transcript_id: the transcript's UUID.
    :param audio_url: where the audio came from (the emulator's download URL for an asset).
    :param audio_seconds: the recording's length (``audio_duration``, whole seconds as in the example).
    :param language_code: the caller's language, echoed (``None`` when not given).
    :param speaker_labels: label words and give ``utterances`` (speakers ``A``, ``B``, ...).
    """
    words = []
    for turn in turns:
        words.append(
            {
                "text": STAND_IN_WORD,
                "start": round(turn.start * 1000),
                "end": round(turn.end * 1000),
                "confidence": turn.voiced_share,
                "speaker": _letter(turn.speaker) if speaker_labels else None,
            }
        )
    utterances = (
        [
            {
                "speaker": word["speaker"],
                "start": word["start"],
                "end": word["end"],
                "text": STAND_IN_WORD,
                "confidence": word["confidence"],
                "words": [word],
            }
            for word in words
        ]
        if speaker_labels
        else None
    )
    return {
        "id": transcript_id,
        "status": "completed",
        "language_code": language_code,
        "audio_url": audio_url,
        "audio_duration": round(audio_seconds),
        "text": " ".join(STAND_IN_WORD for _ in turns),
        "words": words,
        "utterances": utterances,
    }


def _letter(index: int) -> str:
    """Return AssemblyAI's speaker label: ``A``, ``B``, ... ``Z``, ``AA``, ...

    :param index: the cluster number.
    """
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(ord("A") + rest) + label
    return label
