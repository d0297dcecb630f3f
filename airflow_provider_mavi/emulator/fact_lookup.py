"""Which measurement a schema field asks for, from its name: the lookups behind ``schema_values.py``.

A field's name (and its parent's) is split into words; words such as ``summary``, ``scenes``, ``duration``,
``colours``, ``speakers`` or ``has_audio`` pick the matching fact. Fields nothing measured get an honest
default: no number (``None``), ``false``, or a text that says it was not measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_provider_mavi.emulator.facts import audio_sentence, summary_text, visual_sentence
from airflow_provider_mavi.emulator.speech import speaker_label, stand_in_text

if TYPE_CHECKING:
    from airflow_provider_mavi.emulator.facts import Facts, Scene
    from airflow_provider_mavi.emulator.speech import Turn

NOT_MEASURED = "not measured by the emulator"
SCENE_WORDS = {
    "scene",
    "scenes",
    "shot",
    "shots",
    "segment",
    "segments",
    "clip",
    "clips",
    "chapter",
    "chapters",
    "cut",
    "cuts",
    "moment",
    "moments",
    "event",
    "events",
    "timeline",
    "highlight",
    "highlights",
}
TURN_WORDS = {
    "speaker",
    "speakers",
    "turn",
    "turns",
    "utterance",
    "utterances",
    "dialogue",
    "dialog",
    "speech",
    "transcript",
    "transcription",
    "voice",
    "voices",
}
TEXT_WORDS = {
    "summary",
    "description",
    "describe",
    "overview",
    "caption",
    "explanation",
    "answer",
    "analysis",
    "narrative",
    "content",
    "text",
    "details",
    "reasoning",
    "reason",
    "notes",
    "note",
    "comment",
}
TAG_WORDS = {"tags", "tag", "keywords", "keyword", "labels", "objects", "topics", "entities"}
COLOUR_WORDS = {"colour", "color", "colours", "colors", "palette", "hue", "hues"}
UNMEASURED_WORDS = {
    "mood",
    "sentiment",
    "tone",
    "emotion",
    "emotions",
    "genre",
    "category",
    "style",
    "setting",
    "location",
    "place",
    "subject",
    "topic",
    "person",
    "people",
    "face",
    "faces",
    "brand",
    "logo",
    "language",
    "music",
    "object",
    "animal",
    "animals",
    "vehicle",
    "vehicles",
}


@dataclass(frozen=True)
class Context:
    """Where in the value a field is: its name words, and the scene or turn an array item stands for."""

    words: frozenset[str] = frozenset()
    scene: Scene | None = None
    turn: Turn | None = None
    index: int = 0
    texts: tuple[str, ...] = field(default_factory=tuple)
    depth: int = 0


def name_words(name: str) -> set[str]:
    """Split a field name (snake, kebab or camel case) into lower-case words.

    :param name: the field's name.
    """
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w}


def tags(facts: Facts) -> tuple[str, ...]:
    """Return measured words that can stand as tags.

    :param facts: the measurements.
    """
    tags = [n for n, _ in facts.colours]
    if facts.has_video:
        tags += [facts.brightness_word, facts.motion_word]
    if facts.turns:
        tags.append("voice activity")
    return tuple(tags) or ("no measurement",)


def text(facts: Facts, ctx: Context) -> str:
    """Return the measured text a string field's name asks for.

    :param facts: the measurements.
    :param ctx: where it is.
    """
    words = ctx.words
    if ctx.texts:
        return ctx.texts[ctx.index % len(ctx.texts)]
    if ctx.turn is not None:
        if words & {"speaker", "speakers", "voice", "name", "label"}:
            return speaker_label(ctx.turn.speaker)
        return stand_in_text(ctx.turn)
    if words & COLOUR_WORDS:
        return ", ".join(n for n, _ in facts.colours) or NOT_MEASURED
    if words & {"brightness", "lighting", "light", "exposure"}:
        return facts.brightness_word if facts.has_video else NOT_MEASURED
    if words & {"motion", "movement", "action", "activity", "pace"}:
        return facts.motion_word if facts.has_video else NOT_MEASURED
    if words & {"audio", "sound", "speech", "voice", "dialogue", "dialog", "speakers", "transcript"}:
        return audio_sentence(facts)
    if words & UNMEASURED_WORDS:
        return NOT_MEASURED
    if ctx.scene is not None:
        if words & {"title", "name", "label", "heading"}:
            return f"Scene {ctx.scene.index + 1}"
        return ctx.scene.description
    if words & {"title", "name", "headline", "label", "heading"}:
        return f"Measured video of {facts.duration:.1f} s"
    if words & TEXT_WORDS or not words:
        return summary_text(facts)
    return visual_sentence(facts) if facts.has_video else audio_sentence(facts)


def number(facts: Facts, ctx: Context) -> float | None:
    """Return the measured number a numeric field's name asks for, or ``None``.

    :param facts: the measurements.
    :param ctx: where it is.
    """
    words = ctx.words
    scene, turn = ctx.scene, ctx.turn
    frame = bool(words & {"frame", "frames"})
    if words & {"start", "begin", "from"} or (words & {"time", "timestamp"} and not words & {"end"}):
        if scene is not None:
            return scene.start_frame if frame else scene.start
        return turn.start if turn is not None else 0.0
    if words & {"end", "stop", "finish", "to"}:
        if scene is not None:
            return scene.end_frame if frame else scene.end
        return turn.end if turn is not None else facts.duration
    if words & {"duration", "length", "seconds", "secs"}:
        if scene is not None:
            return round(scene.end - scene.start, 3)
        return turn.seconds if turn is not None else facts.duration
    if words & {"index", "number", "id", "position", "order"} and not words & {"count", "total", "of"}:
        return ctx.index
    if words & {"speaker", "speakers", "voices", "people", "persons"}:
        return facts.speakers if words & {"count", "number", "num", "total", "speakers"} else None
    if words & {"face", "faces"}:
        return 0
    if words & {"width"}:
        return facts.width
    if words & {"height"}:
        return facts.height
    if words & {"fps", "framerate", "rate"}:
        return round(facts.fps, 3)
    if frame:
        return facts.frame_count
    if words & (SCENE_WORDS | {"count", "total", "num"}):
        return len(facts.scenes)
    if words & {"brightness", "lighting", "exposure"}:
        return facts.brightness
    if words & {"motion", "movement", "activity"}:
        return facts.motion
    return None


def truth(facts: Facts, ctx: Context) -> bool:
    """Return the measured truth a boolean field's name asks for, else ``False``.

    :param facts: the measurements.
    :param ctx: where it is.
    """
    words = ctx.words
    if words & {"audio", "sound"}:
        return facts.has_audio
    if words & {"speech", "voice", "talking", "speaking", "dialogue", "dialog", "speaker", "speakers"}:
        return bool(facts.turns)
    if words & {"motion", "moving", "movement"}:
        return facts.has_video and facts.motion >= 0.01
    if words & {"dark"}:
        return facts.has_video and facts.brightness < 0.2
    if words & {"bright"}:
        return facts.has_video and facts.brightness >= 0.7
    if words & {"cut", "cuts", "scenes", "shots"}:
        return len(facts.scenes) > 1
    if words & {"video", "picture"}:
        return facts.has_video
    return False
