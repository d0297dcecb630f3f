"""The report of the ``mavi_video_insights`` example DAG: per-segment results on the whole video's clock.

Pure (no I/O): :func:`build_report` joins what the DAG's tasks returned into one JSON document,
:func:`render_markdown` writes it for people, :func:`speech_for_sheet` gives the contact sheet its speech.

A segment's place in the whole video is the sum of the durations measured on the segments before it (Mavi
reports no offsets); once a duration is unknown, later segments keep only their own times. Speaker labels
come from each segment's own diarization, so ``SPEAKER_00`` of one segment need not be ``SPEAKER_00`` of the
next: the report names them per segment (``#2 SPEAKER_00``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["build_report", "clock", "render_markdown", "speech_for_sheet"]

#: The report's own notes on what the docs leave open.
NOTES = (
    "Speaker labels are per segment: each segment is diarized on its own.",
    "A segment's start in the video is the sum of the measured durations of the segments before it.",
    "Scene times need the segment's frame rate, measured from its file; without it, frame numbers only.",
    "Mavi publishes no price for split, scene detection or summary: the total counts only known prices.",
)


def clock(seconds: float | None) -> str:
    """``m:ss.s`` (``h:mm:ss.s`` past an hour), or ``?`` when unknown.

    :param seconds: a time in seconds.
    """
    if seconds is None:
        return "?"
    tenths = round(seconds * 10)
    minutes, tenths = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    text = f"{minutes:02d}:{tenths / 10:04.1f}" if hours else f"{minutes}:{tenths / 10:04.1f}"
    return f"{hours}:{text}" if hours else text


def _starts(durations: Sequence[float | None]) -> list[float | None]:
    starts: list[float | None] = []
    at: float | None = 0.0
    for duration in durations:
        starts.append(at)
        at = None if at is None or duration is None else round(at + duration, 6)
    return starts


def _shift(start: float | None, seconds: float | None) -> float | None:
    return None if start is None or seconds is None else round(start + seconds, 6)


def _total(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else round(sum(v for v in values if v is not None), 6)


def _costs(parts: dict[str, float | None]) -> dict[str, Any]:
    unknown = sorted(name for name, value in parts.items() if value is None)
    known = round(sum(value for value in parts.values() if value is not None), 6)
    return {"parts": parts, "known_usd": known, "total_usd": None if unknown else known, "unknown": unknown}


def _segment(
    index: int,
    start: float | None,
    measured: Mapping[str, Any],
    speech: Mapping[str, Any],
    turns: Sequence[Mapping[str, Any]],
    scenes: Mapping[str, Any],
    answer: Mapping[str, Any],
) -> dict[str, Any]:
    duration = measured.get("duration_seconds")
    return {
        "index": index,
        "asset_id": measured["asset_id"],
        "file": measured["path"],
        "bytes": measured.get("bytes"),
        "fps": measured.get("fps"),
        "duration_seconds": duration,
        "start_seconds": start,
        "end_seconds": _shift(start, duration),
        "speech": {
            "job_id": speech.get("job_id"),
            "json_path": speech.get("json_path"),
            "vtt_path": speech.get("vtt_path"),
            "srt_path": speech.get("srt_path"),
            "speakers": list(dict.fromkeys(t["speaker"] for t in turns if t.get("speaker"))),
            "turns": [
                {
                    "start": t["start"],
                    "end": t["end"],
                    "video_start": _shift(start, t["start"]),
                    "video_end": _shift(start, t["end"]),
                    "speaker": t.get("speaker"),
                    "text": t["text"],
                }
                for t in turns
            ],
        },
        "scenes": {
            "job_id": scenes.get("job_id"),
            "fps": scenes.get("fps"),
            "scenes": [
                {
                    **scene,
                    "video_start": _shift(start, scene.get("start_seconds")),
                    "video_end": _shift(start, scene.get("end_seconds")),
                }
                for scene in scenes["scenes"]
            ],
        },
        "answer": answer.get("parsed"),
        "answer_model": answer.get("model"),
    }


def build_report(
    *,
    video: str,
    media: Mapping[str, Any] | None,
    split: Mapping[str, Any],
    measured: Sequence[Mapping[str, Any]],
    speech: Sequence[Mapping[str, Any]],
    turns: Sequence[Sequence[Mapping[str, Any]]],
    scenes: Sequence[Mapping[str, Any]],
    answers: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    frames: Mapping[str, Any],
    frames_download: Mapping[str, Any],
    vlm_model: str | None = None,
) -> dict[str, Any]:
    """Join the DAG's results into the report document (JSON values only).

    :param video: the video's location.
    :param media: the upload's ``media`` XCom (``asset_id``, ``duration_seconds``), or None.
    :param split: the split's full result (``asset_ids`` in order, ``job_id``, ``cost_usd``).
    :param measured: per segment, in order: ``{asset_id, path, bytes, duration_seconds, fps,
        download_cost_usd}``.
    :param speech: per segment: the transcription's result (``job_id``, the file paths, ``cost_usd``).
    :param turns: per segment: the transcript's segments ``{start, end, text, speaker}``.
    :param scenes: per segment: the scene detection's result.
    :param answers: per segment: the VLM's answer (``parsed``, ``model``, ``cost_usd``).
    :param summary: the whole video's summary result.
    :param frames: the frame extraction's result.
    :param frames_download: the frames' download result.
    :param vlm_model: the model asked.
    :raises ValueError: when the per-segment lists do not line up with the split's segments.
    """
    ids = list(split["asset_ids"])
    parts = {"measured": measured, "speech": speech, "turns": turns, "scenes": scenes, "answers": answers}
    for name, values in parts.items():
        if len(values) != len(ids):
            raise ValueError(
                f"{len(values)} {name} results for {len(ids)} segments: the report cannot join them"
            )
    order = [m["asset_id"] for m in measured]
    if order != ids:
        raise ValueError(f"the measured segments {order} are not the split's {ids} in order")
    starts = _starts([m.get("duration_seconds") for m in measured])
    segments = [
        _segment(i + 1, starts[i], measured[i], speech[i], turns[i], scenes[i], answers[i])
        for i in range(len(ids))
    ]
    known_duration = (media or {}).get("duration_seconds")
    costs = _costs(
        {
            "split_video": split.get("cost_usd"),
            "download_segments": _total([m.get("download_cost_usd") for m in measured]),
            "transcribe_audio": _total([s.get("cost_usd") for s in speech]),
            "detect_scenes": _total([s.get("cost_usd") for s in scenes]),
            "vlm_chat": _total([a.get("cost_usd") for a in answers]),
            "summarize": summary.get("cost_usd"),
            "extract_frames": frames.get("cost_usd"),
            "download_frames": frames_download.get("cost_usd"),
        }
    )
    return {
        "video": video,
        "asset_id": (media or {}).get("asset_id"),
        "duration_seconds": known_duration
        if known_duration is not None
        else _total([m.get("duration_seconds") for m in measured]),
        "vlm_model": vlm_model,
        "summary": {
            "job_id": summary.get("job_id"),
            "text": summary.get("summary"),
            "usage": summary.get("usage"),
        },
        "split_job_id": split.get("job_id"),
        "segments": segments,
        "frames": {
            "job_id": frames.get("job_id"),
            "frame_count": frames.get("frame_count"),
            "paths": list(frames_download.get("paths") or []),
        },
        "cost_usd": costs,
        "notes": list(NOTES),
    }


def speech_for_sheet(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The speech turns on the whole video's clock, speakers named per segment, for the contact sheet.

    :param report: :func:`build_report`'s document.
    """
    return [
        {
            "start": turn["video_start"],
            "end": turn["video_end"],
            "text": turn["text"],
            "speaker": f"#{segment['index']} {turn['speaker']}" if turn.get("speaker") else None,
        }
        for segment in report["segments"]
        for turn in segment["speech"]["turns"]
        if turn["video_start"] is not None
    ]


def _cell(value: Any) -> str:
    """A value as one Markdown table cell: no line break, ``|`` and HTML escaped."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def _answer_lines(answer: Mapping[str, Any] | None) -> list[str]:
    if not answer:
        return ["- Answer: none"]
    return [
        f"- **{_cell(key)}**: {_cell(', '.join(map(str, v)) if isinstance(v, list) else v)}"
        for key, v in answer.items()
    ]


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report for people: summary, contact sheet, one table row and one section per segment, costs.

    :param report: :func:`build_report`'s document (with ``contact_sheet`` when one was made).
    """
    name = str(report["video"]).rstrip("/").rsplit("/", 1)[-1]
    lines = [f"# Video insights: {_cell(name)}", ""]
    lines += [f"{_cell(report['summary']['text'])}", ""]
    if report.get("contact_sheet"):
        lines += [f"![Contact sheet]({str(report['contact_sheet']).rsplit('/', 1)[-1]})", ""]
    elif report.get("contact_sheet_error"):
        lines += [f"No contact sheet: {_cell(report['contact_sheet_error'])}", ""]
    lines += [
        f"{len(report['segments'])} segments of {clock(report['duration_seconds'])}; "
        f"VLM: `{report.get('vlm_model')}`.",
        "",
        "| # | time | speakers | scenes | summary |",
        "|---|---|---|---|---|",
    ]
    for s in report["segments"]:
        answer = s["answer"] or {}
        lines.append(
            f"| {s['index']} | {clock(s['start_seconds'])}-{clock(s['end_seconds'])} "
            f"| {_cell(', '.join(s['speech']['speakers']) or 'none')} | {len(s['scenes']['scenes'])} "
            f"| {_cell(answer.get('summary'))} |"
        )
    for s in report["segments"]:
        lines += ["", f"## Segment {s['index']}: {clock(s['start_seconds'])}-{clock(s['end_seconds'])}", ""]
        fps = f"{s['fps']:g} fps" if s["fps"] else "frame rate unknown"
        lines += [f"`{s['asset_id']}`, {clock(s['duration_seconds'])}, {fps}; file `{_cell(s['file'])}`", ""]
        lines.append("**Speech**" + ("" if s["speech"]["turns"] else ": none heard"))
        for t in s["speech"]["turns"]:
            when = f"{clock(t['video_start'])}-{clock(t['video_end'])}"
            lines.append(f"- {when} {_cell(t['speaker'])}: {_cell(t['text'])}")
        lines += ["", "**Scenes**"]
        for scene in s["scenes"]["scenes"]:
            at = (
                f" ({clock(scene['video_start'])}-{clock(scene['video_end'])})"
                if scene["video_start"] is not None
                else ""
            )
            lines.append(f"- frames {scene['start_frame']}-{scene['end_frame']}{at}")
        lines += ["", f"**Answer** (`{_cell(s['answer_model'])}`)", *_answer_lines(s["answer"])]
    costs = report["cost_usd"]
    lines += ["", "## Cost", "", "| part | USD |", "|---|---|"]
    lines += [f"| {name} | {_money(value)} |" for name, value in costs["parts"].items()]
    lines.append(f"| **total** | {_money(costs['total_usd'])} (known: {_money(costs['known_usd'])}) |")
    lines += ["", "## Notes", "", *[f"- {note}" for note in report["notes"]], ""]
    return "\n".join(lines)
