"""Checks of what the runs left behind: result files, the emulator's job counts, the bridge's deliveries."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from base import SystemTestError, emulator_admin, env, say


def check_result(path: Path) -> None:
    """Check one run's result file (``summary.json`` or ``result.json``) and what it points at.

    :param path: the result file.
    """
    result = json.loads(path.read_text())
    frames = Path(result["frames_dir"].removeprefix("file://"))
    jpegs = sorted(frames.glob("*.jpg"))
    if not jpegs or result.get("frame_count") != len(jpegs):
        count = result.get("frame_count")
        raise SystemTestError(f"{path}: frame_count {count}, but {len(jpegs)} JPEGs in {frames}")
    if any(p.stat().st_size == 0 for p in jpegs):
        raise SystemTestError(f"{frames}: an empty JPEG")
    for key in ("transcript_json", "transcript_vtt"):
        written = Path(str(result.get(key) or "").removeprefix("file://"))
        if not written.is_file() or written.stat().st_size == 0:
            raise SystemTestError(f"{path}: {key} {result.get(key)!r} is missing or empty")
    if not result.get("segment_count"):
        raise SystemTestError(f"{path}: no transcript segments")
    say(
        f"  {path.relative_to(path.parents[2])}: {len(jpegs)} frames, {result['segment_count']} segments, "
        f"jobs {result.get('frames_job_id')} / {result.get('transcript_job_id')}, "
        f"cost {result.get('cost_usd')}"
    )


def check_outputs(output: Path, name: str, expected: int) -> None:
    """Check that ``expected`` result files named ``name`` landed under ``output``, each complete.

    :param output: the output root.
    :param name: ``summary.json`` (pipeline) or ``result.json`` (backfill).
    :param expected: how many there must be.
    """
    found = sorted(output.rglob(name))
    if len(found) != expected:
        raise SystemTestError(f"expected {expected} {name} under {output}, found {[str(p) for p in found]}")
    say(f"outputs under {output}:")
    for path in found:
        check_result(path)


def check_jobs_once(expected_assets: int) -> None:
    """Check with the emulator that every job was submitted exactly once per asset and kind.

    :param expected_assets: how many videos were processed.
    """
    stats = emulator_admin("GET", "/stats")
    by_asset: dict[str, dict[str, int]] = stats.get("jobs_by_asset", {})
    repeated = {asset: kinds for asset, kinds in by_asset.items() if any(n != 1 for n in kinds.values())}
    if repeated:
        raise SystemTestError(f"jobs submitted more than once: {repeated}")
    with_jobs = len(by_asset)
    if with_jobs < expected_assets:
        raise SystemTestError(f"jobs for {with_jobs} assets, expected {expected_assets}: {by_asset}")
    jobs = stats.get("jobs", [])
    say(
        f"emulator: {len(jobs)} jobs for {with_jobs} assets, each kind submitted once per asset; "
        f"callbacks {stats.get('callbacks')}; requests {stats.get('requests')}"
    )


def check_bridge_stored_each_callback_once() -> None:
    """Check that the bridge (on PostgreSQL) holds exactly one delivery for every job the emulator ran."""
    jobs = [job["job_id"] for job in emulator_admin("GET", "/stats").get("jobs", [])]
    headers = {"Authorization": f"Bearer {env('SYSTEM_BRIDGE_TOKEN')}"}
    deliveries = {}
    for job_id in jobs:
        answer = httpx.get(f"{env('SYSTEM_BRIDGE_URL')}/v1/callbacks/{job_id}", headers=headers, timeout=10)
        if answer.status_code != 200:
            raise SystemTestError(f"the bridge has no callback for job {job_id} (HTTP {answer.status_code})")
        deliveries[job_id] = answer.json()["deliveries"]
    repeated = {job_id: n for job_id, n in deliveries.items() if n != 1}
    if repeated:
        raise SystemTestError(f"callbacks delivered more than once: {repeated}")
    say(f"bridge: one stored callback, delivered once, for each of the {len(jobs)} jobs")


def check_no_rejections() -> None:
    """Check that the emulator refused no request for its rate limit: the limiter kept everyone under it."""
    stats = emulator_admin("GET", "/stats")
    refused = {endpoint: n for endpoint, n in stats.get("rate_limited", {}).items() if n}
    if refused:
        raise SystemTestError(f"the emulator refused requests over the rate limit: {refused}")
    total = sum(stats.get("requests", {}).values())
    say(f"emulator: no request refused for the rate limit ({total} requests)")
