"""Measured facts about one media file, gathered for the summary and the VLM answers, and the summary text.

Nothing here is invented: every fact is a measurement (``scenes.py``, ``media.py``, ``speech.py``), and the
texts say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.emulator import describe

if TYPE_CHECKING:
    from airflow_provider_mavi.emulator.scenes import VideoScan
    from airflow_provider_mavi.emulator.speech import SpeechAnalysis, Turn


@dataclass(frozen=True)
class Scene:
    """One detected scene: inclusive frame numbers, seconds, and the description of its frames."""

    index: int
    start_frame: int
    end_frame: int
    start: float
    end: float
    description: str


@dataclass(frozen=True)
class Facts:
    """What was measured in a file (video facts are empty for audio, audio facts for a silent video)."""

    duration: float
    has_video: bool = False
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frame_count: int = 0
    scenes: list[Scene] = field(default_factory=list)
    brightness: float = 0.0
    colours: list[tuple[str, float]] = field(default_factory=list)
    motion: float = 0.0
    segments: list[dict[str, Any]] = field(default_factory=list)
    has_audio: bool = False
    turns: list[Turn] = field(default_factory=list)
    speakers: int = 0
    voiced_seconds: float = 0.0

    @property
    def brightness_word(self) -> str:
        """``dark``, ``dim``, ``medium`` or ``bright``."""
        return describe.brightness_word(self.brightness)

    @property
    def motion_word(self) -> str:
        """``no visible motion``, ``little motion``, ``moderate motion`` or ``strong motion``."""
        return describe.motion_word(self.motion)

    def as_json(self) -> dict[str, Any]:
        """Return the facts as a JSON object (the VLM's answer to a JSON request without a schema)."""
        return {
            "summary": summary_text(self),
            "duration_seconds": self.duration,
            "width": self.width,
            "height": self.height,
            "fps": round(self.fps, 3),
            "scenes": [
                {
                    "start_seconds": s.start,
                    "end_seconds": s.end,
                    "start_frame": s.start_frame,
                    "end_frame": s.end_frame,
                }
                for s in self.scenes
            ],
            "mean_brightness": round(self.brightness, 3),
            "dominant_colours": [name for name, _ in self.colours],
            "motion": round(self.motion, 4),
            "speech_segments": [{"start": t.start, "end": t.end} for t in self.turns],
            "speakers": self.speakers,
            "measured_by": "mavi-emulator (no model was run)",
        }


def gather(scan: VideoScan | None, speech: SpeechAnalysis | None, segment_seconds: float) -> Facts:
    """Combine a video scan and a speech analysis into facts.

    :param scan: the video's scan, or ``None`` (audio only).
    :param speech: the audio's analysis, or ``None`` (no audio track).
    :param segment_seconds: the length of a description segment.
    """
    audio: dict[str, Any] = {}
    if speech is not None:
        audio = {
            "has_audio": True,
            "turns": list(speech.turns),
            "speakers": speech.speakers,
            "voiced_seconds": speech.voiced_seconds,
        }
    if scan is None:
        return Facts(duration=speech.duration if speech is not None else 0.0, **audio)
    measures = scan.measures
    shares: dict[str, float] = {}
    for measure in measures:
        for name, share in measure.colours.items():
            shares[name] = shares.get(name, 0.0) + share / len(measures)
    motions = [m.motion for m in measures if m.motion is not None]
    scenes = []
    for index, (first, last) in enumerate(scan.scenes):
        start, end = scan.seconds(first), scan.seconds(last + 1)
        inside = [m for m in measures if start <= m.time < end] or [
            min(measures, key=lambda m: abs(m.time - start))
        ]
        scenes.append(Scene(index, first, last, start, end, describe.describe_segment(start, end, inside)))
    return Facts(
        duration=scan.duration,
        has_video=True,
        width=scan.width,
        height=scan.height,
        fps=scan.fps,
        frame_count=scan.frame_count,
        scenes=scenes,
        brightness=sum(m.brightness for m in measures) / len(measures),
        colours=sorted(shares.items(), key=lambda item: (-item[1], item[0]))[:3],
        motion=sum(motions) / len(motions) if motions else 0.0,
        segments=describe.video_segments(measures, segment_seconds, scan.duration),
        **audio,
    )


def visual_sentence(facts: Facts) -> str:
    """Return one sentence about the picture.

    :param facts: the facts.
    """
    colours = ", ".join(f"{name} {round(share * 100)}%" for name, share in facts.colours)
    cuts = [f"{s.start:.1f} s" for s in facts.scenes[1:]]
    cut_text = f" (cuts at {', '.join(cuts)})" if cuts else ""
    return (
        f"A {facts.duration:.1f} s video, {facts.width}x{facts.height} at {facts.fps:g} fps, in "
        f"{len(facts.scenes)} scene(s){cut_text}; mean brightness {round(facts.brightness * 100)}% "
        f"({facts.brightness_word}); dominant colours {colours}; {round(facts.motion * 100, 1)}% of pixels "
        f"changed between sampled frames ({facts.motion_word})."
    )


def audio_sentence(facts: Facts) -> str:
    """Return one sentence about the sound.

    :param facts: the facts.
    """
    if not facts.has_audio:
        return "No audio track."
    if not facts.turns:
        return "Audio: no voice activity above the silence threshold."
    return (
        f"Audio: {len(facts.turns)} stretch(es) of voice activity totalling {facts.voiced_seconds:.1f} s, "
        f"{facts.speakers} speaker cluster(s) by spectral features; no words were recognised."
    )


def summary_text(facts: Facts) -> str:
    """Return the summary of a file, from measurements only.

    :param facts: the facts.
    """
    parts = ["Emulator summary from measurements only (no language model was run)."]
    if facts.has_video:
        parts.append(visual_sentence(facts))
        parts.extend(segment["transcript"] for segment in facts.segments)
    else:
        parts.append(f"A {facts.duration:.1f} s recording without a picture.")
    parts.append(audio_sentence(facts))
    return " ".join(parts)
