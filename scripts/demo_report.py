"""Print the end of `make demo` / `make demo-insights`: where the results are, and the cost.

Usage: ``python scripts/demo_report.py RESULT_JSON [EMULATOR_STATS_URL]``. The result is the pipeline DAG's
``summary.json`` or the insights DAG's ``report.json`` (told apart by its ``segments``); the emulator's stats
(optional) add its own count of jobs and spend.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any


def money(value: float | None) -> str:
    """Format a price, or say it is unknown.

    :param value: US dollars, or ``None`` when unknown.
    """
    return "unknown" if value is None else f"${value:.4f}"


def local(path: str | None) -> str:
    """Show a ``file://`` URL as a plain local path.

    :param path: a path or URL, or ``None``.
    """
    if not path:
        return "(none)"
    return path[len("file://") :] if path.startswith("file://") else path


def sheet_line(summary: dict[str, Any]) -> str:
    """Where the contact sheet is, or why there is none.

    :param summary: the pipeline's ``summary.json``.
    """
    if summary.get("contact_sheet"):
        return f"{local(summary['contact_sheet'])} (the frames with their times and descriptions)"
    return f"none: {summary.get('contact_sheet_error') or 'the run made no contact sheet'}"


def emulator_stats(url: str) -> dict[str, Any] | None:
    """Read the emulator's stats, or ``None`` when it cannot be reached.

    :param url: the ``/_emulator/stats`` URL (the account key comes from ``MAVI_DEMO_API_KEY``).
    """
    headers = {"Authorization": os.environ.get("MAVI_DEMO_API_KEY", "")}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the loopback URL demo.sh built
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            data = json.load(answer)
            return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def report(summary: dict[str, Any], stats: dict[str, Any] | None) -> list[str]:
    """Build the lines to print.

    :param summary: the pipeline's ``summary.json``.
    :param stats: the emulator's stats, if any.
    """
    cost = summary.get("cost_usd") or {}
    lines = [
        "demo: done. The pipeline ran upload -> extract frames -> transcribe -> download -> contact sheet "
        "-> summary.",
        f"  frames:      {summary.get('frame_count')} JPEGs in {local(summary.get('frames_dir'))}",
        f"  transcript:  {summary.get('segment_count')} segments in {local(summary.get('transcript_json'))}",
        f"               WebVTT: {local(summary.get('transcript_vtt'))}",
        f"  sheet:       {sheet_line(summary)}",
        f"  summary:     {local(summary.get('run_dir'))}/summary.json",
        f"  cost:        {money(cost.get('total'))} would have been charged by Mavi "
        f"(extract frames {money(cost.get('extract_frames'))}, "
        f"video description {money(cost.get('transcribe_video'))}, "
        f"frames download {money(cost.get('download_frames'))})",
    ]
    if cost.get("total") is None:
        lines.append("               (a price is unknown when the video's duration could not be measured)")
    if stats is not None:
        jobs = stats.get("jobs") or []
        lines.append(
            f"  emulator:    {len(jobs)} jobs submitted, its own accounting: {money(stats.get('spend_usd'))}"
        )
    return lines


def folder(path: str | None) -> str:
    """The folder of a file path or URL, shown as a local path.

    :param path: a file's path or URL, or ``None``.
    """
    return local(path.rsplit("/", 1)[0]) if path else "(none)"


def insights_report(document: dict[str, Any], stats: dict[str, Any] | None) -> list[str]:
    """Build the lines to print for the insights DAG's ``report.json``.

    :param document: the report.
    :param stats: the emulator's stats, if any.
    """
    segments = document.get("segments") or []
    first = segments[0] if segments else {"file": None, "speech": {"json_path": None}}
    cost = document.get("cost_usd") or {}
    turns = sum(len(s["speech"]["turns"]) for s in segments)
    scenes = sum(len(s["scenes"]["scenes"]) for s in segments)
    answers = sum(1 for s in segments if s.get("answer"))
    summary = (document.get("summary") or {}).get("text") or ""
    sheet = document.get("contact_sheet")
    unpriced = ", ".join(cost.get("unknown") or []) or "nothing"
    lines = [
        "demo: done. The insights DAG ran upload -> split -> per segment: download, speech, scenes, VLM "
        "question -> summary -> frames -> report.",
        f"  segments:    {len(segments)} videos in {folder(first['file'])}",
        f"  speech:      {turns} turns with speakers (JSON, WebVTT, SubRip) in "
        f"{folder(first['speech']['json_path'])}",
        f"  scenes:      {scenes} scenes",
        f"  answers:     {answers} JSON answers from {document.get('vlm_model')}",
        f"  summary:     {summary[:100]}{'...' if len(summary) > 100 else ''}",
        f"  report:      {local(document.get('report_md'))} (and report.json)",
        f"  sheet:       {local(sheet) if sheet else 'none: ' + str(document.get('contact_sheet_error'))}",
        f"  cost:        {money(cost.get('known_usd'))} of known prices would have been charged by Mavi "
        f"(no published price for: {unpriced})",
    ]
    if stats is not None:
        jobs = stats.get("jobs") or []
        lines.append(
            f"  emulator:    {len(jobs)} jobs submitted, its own accounting: {money(stats.get('spend_usd'))}"
        )
    return lines


def main(argv: list[str]) -> int:
    """Print the report; exit 2 on a bad command line, 1 when the summary cannot be read.

    :param argv: the command line without the program name.
    """
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        summary = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"demo: error: cannot read the run's summary {argv[0]}: {err}", file=sys.stderr)
        return 1
    stats = emulator_stats(argv[1]) if len(argv) == 2 else None
    lines = insights_report(summary, stats) if "segments" in summary else report(summary, stats)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
