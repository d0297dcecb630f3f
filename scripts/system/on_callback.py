"""``mavi_on_callback`` on the native stack: every successful frame extraction of the account starts it once.

The DAG is scheduled on the asset ``mavi://callbacks/frames``, whose watcher (a ``MaviCallbackEventTrigger``)
runs in the triggerer and follows the bridge's arrival-ordered list under the named consumer
``mavi_on_callback``. Here it sees the frame extractions of the pipeline and backfill runs, one job submitted
outside Airflow (this driver calls ``MaviHook`` itself, as a user's script would), and in the crash test the
extraction whose callback comes while the first triggerer is dead. Each must fire the DAG exactly once, and
the runs must unpack every job's frames.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from base import SystemTestError, emulator_admin, env, say

if TYPE_CHECKING:
    from airflow_api import AirflowApi

ON_CALLBACK_DAG = "mavi_on_callback"
CONSUMER = "mavi_on_callback"
ASSET_URI = "mavi://callbacks/frames"


def output_root() -> Path:
    """Where the DAG writes (``MAVI_ON_CALLBACK_OUTPUT``, which ``scripts/system-test.sh`` sets)."""
    return Path(env("MAVI_ON_CALLBACK_OUTPUT"))


def bridge_get(path: str, **params: Any) -> httpx.Response:
    """GET from the bridge with its token.

    :param path: the path (``/v1/...``).
    :param params: the query.
    """
    return httpx.get(
        f"{env('SYSTEM_BRIDGE_URL')}{path}",
        params=params,
        headers={"Authorization": f"Bearer {env('SYSTEM_BRIDGE_TOKEN')}"},
        timeout=10,
    )


def consumer_cursor() -> int | None:
    """The list position of the trigger's consumer, None while the bridge does not know it (the watcher
    makes it, at ``latest``, when it starts)."""
    answer = bridge_get(f"/v1/consumers/{CONSUMER}")
    if answer.status_code not in (200, 404):
        raise SystemTestError(f"the bridge answered HTTP {answer.status_code} for consumer {CONSUMER}")
    return int(answer.json()["cursor"]) if answer.status_code == 200 else None


def list_positions() -> dict[str, int]:
    """Each stored callback's position in the bridge's arrival-ordered list, by job id."""
    positions: dict[str, int] = {}
    after = 0
    while True:
        answer = bridge_get("/v1/callbacks", after=after, limit=100)
        if answer.status_code != 200:
            raise SystemTestError(f"GET /v1/callbacks answered HTTP {answer.status_code}")
        page = answer.json()
        for record in page["callbacks"]:
            positions.setdefault(record["job_id"], int(record["cursor"]))
        if not page["callbacks"]:
            return positions
        after = int(page["next"])


def unpause_on_callback(api: AirflowApi) -> None:
    """Unpause the DAG, so its asset's watcher runs in the triggerer.

    :param api: the Airflow API.
    """
    api.unpause(ON_CALLBACK_DAG)
    say(f"unpaused {ON_CALLBACK_DAG}: its watcher follows the bridge's callbacks from the triggerer")


def watch_file() -> Path:
    """Where the list position the watcher started from is kept between the driver's subcommands."""
    return Path(env("SYSTEM_DATA")) / "on-callback-start"


def wait_for_watcher(timeout: float) -> int:
    """Wait until the watcher has started (its consumer exists in the bridge) and note where it started:
    every callback after that position must fire the DAG (the DAG is parsed again after its unpause before
    its watcher runs, so callbacks of jobs that finish sooner may come before it and fire nothing).

    :param timeout: seconds to wait at most.
    :return: the position.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        cursor = consumer_cursor()
        if cursor is not None:
            watch_file().write_text(str(cursor))
            say(f"the watcher of {ASSET_URI} runs (consumer {CONSUMER} in the bridge, at {cursor})")
            return cursor
        time.sleep(1)
    raise SystemTestError(f"the watcher of {ASSET_URI} did not start within {timeout:.0f}s")


def submit_outside_airflow(video: Path) -> str:
    """Upload ``video`` and submit a frame extraction with ``MaviHook``, as a script outside Airflow would.

    The job is recorded nowhere but at Mavi: only its callback, through the account's webhook, reaches the
    bridge. The connection is ``mavi_default`` from the environment, with the cluster's rate limiter.

    :param video: the video.
    :return: the job id.
    """
    from airflow_provider_mavi.hooks.mavi import MaviHook

    hook = MaviHook()
    asset_id = hook.upload_file(str(video))
    hook.wait_for_asset_ready(asset_id, timeout=120, poll_interval=0.5)
    job_id = hook.extract_frames(asset_id)
    say(f"submitted frame extraction {job_id} of {asset_id} outside Airflow (MaviHook in this script)")
    return job_id


def frame_jobs() -> set[str]:
    """The emulator's frame extractions that succeeded: each must fire the DAG once."""
    jobs = emulator_admin("GET", "/stats").get("jobs", [])
    return {j["job_id"] for j in jobs if j.get("kind") == "extract_frames" and j.get("state") == "succeeded"}


def fired(api: AirflowApi) -> list[tuple[str, list[str]]]:
    """The asset's events (one per firing of the watcher): each one's job id and the runs that consumed it."""
    assets = api.call("GET", "/assets", params={"uri_pattern": "mavi://callbacks/", "limit": 100})["assets"]
    ids = [asset["id"] for asset in assets if asset["uri"] == ASSET_URI]
    if not ids:
        raise SystemTestError(f"Airflow has no asset {ASSET_URI}")
    found: list[tuple[str, list[str]]] = []
    while True:
        page = api.call(
            "GET", "/assets/events", params={"asset_id": ids[0], "limit": 100, "offset": len(found)}
        )
        events: list[dict[str, Any]] = page["asset_events"]
        for event in events:
            job_id = str((event.get("extra") or {}).get("payload", {}).get("job_id"))
            found.append((job_id, [run["run_id"] for run in event.get("created_dagruns") or []]))
        if not events or len(found) >= page["total_entries"]:
            return found


def check_each_fired_once(api: AirflowApi, must_include: set[str], timeout: float) -> None:
    """Wait until every successful frame extraction whose callback came after the watcher started has fired
    the DAG and a run has consumed each event; then check: nothing fired twice or for another job, every run
    succeeded, one download per event, and each job's frames unpacked under the DAG's output.

    :param api: the Airflow API.
    :param must_include: jobs that must be among them (the one submitted outside Airflow).
    :param timeout: seconds to wait at most.
    """
    from airflow_provider_mavi.paths import safe_segment

    allowed = frame_jobs()
    if not must_include <= allowed:
        raise SystemTestError(
            f"the emulator ran no successful frame extraction {sorted(must_include - allowed)}"
        )
    start = int(watch_file().read_text())
    positions = list_positions()
    missing = sorted(job for job in allowed if job not in positions)
    if missing:
        raise SystemTestError(f"the bridge has no callback for the frame extractions {missing}")
    expected = {job for job in allowed if positions[job] > start} | must_include
    started = time.monotonic()
    events = fired(api)
    while not (expected <= {job for job, _ in events} and all(runs for _, runs in events)):
        if time.monotonic() - started > timeout:
            raise SystemTestError(f"{ON_CALLBACK_DAG} not started for every frame extraction: {events}")
        time.sleep(2)
        events = fired(api)
    runs = sorted({run for _, consumed in events for run in consumed})
    api.wait_for_runs({ON_CALLBACK_DAG: runs}, max(timeout - (time.monotonic() - started), 60))
    jobs = [job for job, _ in fired(api)]  # again: a duplicate would show by now
    repeated = sorted({job for job in jobs if jobs.count(job) > 1})
    strangers = sorted(set(jobs) - allowed)
    if repeated or strangers:
        raise SystemTestError(f"{ON_CALLBACK_DAG} fired more than once for {repeated}, or for {strangers}")
    downloads = [
        ti
        for run_id in runs
        for ti in api.task_instances(ON_CALLBACK_DAG, run_id)
        if ti["task_id"] == "download_frames"
    ]
    if len(downloads) != len(jobs):
        raise SystemTestError(f"{len(downloads)} frame downloads for {len(jobs)} callbacks")
    counts = {}
    for job_id in jobs:
        frames = output_root() / safe_segment(job_id, "job") / "frames"
        counts[job_id] = len([p for p in frames.glob("*.jpg") if p.stat().st_size > 0])
        if not counts[job_id]:
            raise SystemTestError(f"no frames of job {job_id} under {frames}")
    say(
        f"{ON_CALLBACK_DAG}: fired once for each of {len(jobs)} frame extractions ({len(expected)} whose "
        f"callback came after its watcher started, {len(allowed)} in all), {len(runs)} run(s), every one "
        f"succeeded; JPEGs unpacked per job: {sorted(counts.values())}"
        + (f"; submitted outside Airflow: {', '.join(sorted(must_include))}" if must_include else "")
    )
