"""Print the end of `make demo`: where the frames, the transcript and the contact sheet are, and the cost.

Usage: ``python scripts/demo_report.py SUMMARY_JSON [EMULATOR_STATS_URL]``. The summary is the one the
pipeline DAG's ``summary`` task wrote; the emulator's stats (optional) add its own count of jobs and spend.
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
    print("\n".join(report(summary, stats)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
