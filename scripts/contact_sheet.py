"""Regenerate the README's contact sheet (docs/contact_sheet.jpg) from the demo's sample video.

Usage: ``.venv/bin/python scripts/contact_sheet.py [--run-dir DIR | --frames-dir DIR] [--output FILE]
[--seconds N]``.

Without ``--run-dir`` it runs ``scripts/demo.sh`` (the emulator, the bridge and the pipeline DAG, offline)
on a sample video of ``--seconds`` seconds under ``.demo/readme-picture/``, then draws the sheet of that run
with the function the pipeline uses, four tiles a row so that it stays readable at the README's width.
With ``--run-dir`` it reads an earlier run's results (the folder holding ``summary.json``) instead, and with
``--frames-dir`` any folder of frames (no descriptions). It prints the sheet's size as JPEG and as PNG, the
figures behind the README's choice of JPEG: try it on frames of your own footage.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_mavi.contact_sheet import SheetOptions, draw_contact_sheet, read_transcript_segments
from airflow_provider_mavi.contact_sheet.render import encode
from airflow_provider_mavi.media import probe_duration_seconds
from airflow_provider_mavi.paths import storage_path

REPO = Path(__file__).resolve().parents[1]
#: Four tiles a row: the README shows the picture about 900 px wide, where 18 px text stays readable.
README_OPTIONS = SheetOptions(columns=4)


def run_demo(demo_dir: Path, seconds: float) -> Path:
    """Run ``scripts/demo.sh`` and return the folder of the run it made.

    :param demo_dir: the demo's folder (``MAVI_DEMO_DIR``), emptied of earlier results first.
    :param seconds: the sample video's length.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MAVI_"))}
    env.update({"MAVI_DEMO_DIR": str(demo_dir), "MAVI_DEMO_SECONDS": f"{seconds:g}", "VENV": sys.prefix})
    for old in (demo_dir / "results").glob("*/summary.json"):
        old.unlink()
    done = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], env=env, check=False)
    if done.returncode != 0:
        logs = demo_dir / "logs"
        raise SystemExit(f"contact_sheet: the demo failed (exit {done.returncode}); logs in {logs}")
    summaries = sorted((demo_dir / "results").glob("*/summary.json"))
    if len(summaries) != 1:
        raise SystemExit(f"contact_sheet: expected one summary.json under {demo_dir / 'results'}")
    return summaries[0].parent


def main(argv: list[str]) -> int:
    """Draw the README's sheet and print where it went and how big it is.

    :param argv: the command line without the program name.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--run-dir", type=Path, help="a pipeline run's folder (holds summary.json)")
    source.add_argument("--frames-dir", type=Path, help="any folder of frames, drawn without descriptions")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "contact_sheet.jpg")
    parser.add_argument("--seconds", type=float, default=16.0, help="length of the sample video")
    args = parser.parse_args(argv)
    if args.frames_dir:
        sheet = draw_contact_sheet(args.frames_dir, options=README_OPTIONS)
    else:
        run_dir = args.run_dir or run_demo(REPO / ".demo" / "readme-picture", args.seconds)
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        video = storage_path(summary["video"])
        sheet = draw_contact_sheet(
            summary["frames_dir"],
            descriptions=read_transcript_segments(summary["transcript_json"]),
            duration_seconds=probe_duration_seconds(video),
            title=f"{video.name}: frames and {summary['model']} descriptions",
            options=README_OPTIONS,
        )
    jpeg = encode(sheet.image, "JPEG", README_OPTIONS.jpeg_quality)
    png = encode(sheet.image, "PNG", README_OPTIONS.jpeg_quality)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(jpeg)
    width, height = sheet.image.size
    print(f"contact_sheet: wrote {args.output} ({width}x{height} px, {sheet.info['tiles']} frames)")
    print(
        f"contact_sheet: JPEG (quality {README_OPTIONS.jpeg_quality}, no chroma subsampling) "
        f"{len(jpeg) / 1000:.0f} kB; the same sheet as PNG {len(png) / 1000:.0f} kB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
