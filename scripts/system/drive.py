"""Drives the native system test once its processes are up (see ``scripts/system-test.sh``).

Subcommands:

- ``ports N``: print N free loopback TCP ports.
- ``wait-http URL``: wait until URL answers 2xx (bounded).
- ``set-webhook``: register the bridge's callback URL with the emulator (the Mavi console's job).
- ``smoke``: trigger the ``system_smoke`` DAG through Airflow's REST API and wait for it.
- ``crash-start STATE`` / ``crash-finish STATE TASK_LOGS``: a run whose callbacks are late, around a killed
  triggerer (the shell kills it and starts another in between).
- ``evidence LOGS TASK_LOGS``: print what the Celery worker ran and what the triggerer waited for.
- ``pipeline``: trigger the pipeline DAG through the REST API and a two-day backfill through
  ``airflow backfill create``, wait for every run, then check the outputs and the emulator's job counts.

Settings come from the environment (never from the command line, so no secret shows in ``ps``):
``SYSTEM_API_URL``, ``SYSTEM_ADMIN_USER``, ``SYSTEM_ADMIN_PASSWORD``, ``SYSTEM_DATA``,
``SYSTEM_EMULATOR_ADMIN``, ``SYSTEM_MAVI_KEY``, ``SYSTEM_WEBHOOK_URL``, ``SYSTEM_BRIDGE_URL``,
``SYSTEM_BRIDGE_TOKEN``, ``SYSTEM_RUN_TIMEOUT`` (seconds to wait for the DAG runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

PIPELINE_DAG = "mavi_video_pipeline"
BACKFILL_DAG = "mavi_backfill_historical"
SMOKE_DAG = "system_smoke"
FINISHED = {"success", "failed"}


class SystemTestError(Exception):
    """A check of the system test failed; the message says which and why."""


def say(message: str) -> None:
    """Print one progress line, flushed at once so it interleaves with the shell's output.

    :param message: the line to print.
    """
    print(f"system-test: {message}", flush=True)


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct free TCP ports on 127.0.0.1.

    :param count: how many ports to find.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_http(url: str, timeout: float) -> None:
    """Wait until ``url`` answers with a 2xx status.

    :param url: the URL to GET.
    :param timeout: seconds to wait at most.
    :raises SystemTestError: when it did not answer 2xx in time.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(url, timeout=5)
            if answer.is_success:
                return
            last = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(1)
    raise SystemTestError(f"{url} did not come up within {timeout:.0f}s (last: {last})")


def env(name: str) -> str:
    """Return a required setting from the environment.

    :param name: the variable's name.
    :raises SystemTestError: when it is not set.
    """
    value = os.environ.get(name)
    if not value:
        raise SystemTestError(f"{name} is not set")
    return value


class AirflowApi:
    """The few calls of Airflow 3's public REST API (``/api/v2``) the system test needs.

    :param base_url: the API server's root URL.
    :param username: a simple-auth-manager user with the admin role.
    :param password: that user's password.
    """

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        answer = httpx.post(
            f"{self.base_url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        if answer.status_code not in (200, 201):
            raise SystemTestError(f"POST /auth/token answered HTTP {answer.status_code}")
        token = answer.json()["access_token"]
        self.client = httpx.Client(
            base_url=f"{self.base_url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and return its JSON body.

        :param method: HTTP method.
        :param path: path under ``/api/v2``.
        :param kwargs: passed to ``httpx.Client.request`` (``json``, ``params``).
        :raises SystemTestError: on a non-2xx answer, with the body Airflow gave.
        """
        answer = self.client.request(method, path, **kwargs)
        if not answer.is_success:
            raise SystemTestError(f"{method} /api/v2{path} answered HTTP {answer.status_code}: {answer.text}")
        return answer.json() if answer.content else None

    def wait_for_dags(self, dag_ids: list[str], timeout: float) -> None:
        """Wait until the dag-processor has parsed every DAG; fail at once on an import error.

        :param dag_ids: the DAGs that must exist.
        :param timeout: seconds to wait at most.
        """
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            errors = self.call("GET", "/importErrors")["import_errors"]
            if errors:
                details = "; ".join(f"{e['filename']}: {e['stack_trace'][-400:]}" for e in errors)
                raise SystemTestError(f"DAG import errors: {details}")
            missing = [d for d in dag_ids if self.client.get(f"/dags/{d}").status_code != 200]
            if not missing:
                return
            time.sleep(2)
        raise SystemTestError(f"DAGs not parsed within {timeout:.0f}s: {missing}")

    def unpause(self, dag_id: str) -> None:
        """Unpause a DAG, so the scheduler queues its tasks.

        :param dag_id: the DAG.
        """
        self.call("PATCH", f"/dags/{dag_id}", params={"update_mask": "is_paused"}, json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """Create a manual DAG run and return its run id.

        :param dag_id: the DAG.
        :param conf: the run's conf (the DAG's params).
        """
        run = self.call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        return str(run["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Return every run of a DAG.

        :param dag_id: the DAG.
        """
        return list(self.call("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return the task instances of one run.

        :param dag_id: the DAG.
        :param run_id: the run.
        """
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return list(self.call("GET", path, params={"limit": 100})["task_instances"])

    def wait_for_runs(self, wanted: dict[str, list[str]], timeout: float) -> None:
        """Wait until every wanted run has finished; fail with the failed tasks when one did not succeed.

        :param wanted: run ids by DAG id.
        :param timeout: seconds to wait at most.
        """
        deadline = time.monotonic() + timeout
        states: dict[tuple[str, str], str] = {}
        while time.monotonic() < deadline:
            for dag_id, run_ids in wanted.items():
                by_id = {r["dag_run_id"]: r["state"] for r in self.runs(dag_id)}
                for run_id in run_ids:
                    states[(dag_id, run_id)] = by_id.get(run_id, "missing")
            if all(state in FINISHED for state in states.values()):
                break
            time.sleep(3)
        else:
            raise SystemTestError(f"runs not finished within {timeout:.0f}s: {self._describe(states)}")
        failed = [key for key, state in states.items() if state != "success"]
        if failed:
            details = []
            for dag_id, run_id in failed:
                bad = [
                    f"{ti['task_id']}={ti['state']}"
                    for ti in self.task_instances(dag_id, run_id)
                    if ti["state"] != "success"
                ]
                details.append(f"{dag_id}/{run_id}: {', '.join(bad)}")
            raise SystemTestError("runs failed: " + "; ".join(details))
        say(f"every run succeeded: {self._describe(states)}")

    @staticmethod
    def _describe(states: dict[tuple[str, str], str]) -> str:
        return ", ".join(f"{dag}/{run}={state}" for (dag, run), state in sorted(states.items()))

    def report_hosts(self, wanted: dict[str, list[str]]) -> None:
        """Print, for every task instance, the host it ran on, its tries and whether it was deferred.

        :param wanted: run ids by DAG id.
        """
        for dag_id, run_ids in wanted.items():
            for run_id in run_ids:
                for ti in self.task_instances(dag_id, run_id):
                    map_index = ti.get("map_index", -1)
                    name = ti["task_id"] + (f"[{map_index}]" if map_index not in (-1, None) else "")
                    say(
                        f"  {dag_id}/{run_id} {name}: {ti['state']} on host={ti.get('hostname')!r} "
                        f"executor={ti.get('executor') or 'default'} tries={ti.get('try_number')}"
                    )


def api_from_env() -> AirflowApi:
    """Log in to the Airflow API server named by the environment."""
    return AirflowApi(env("SYSTEM_API_URL"), env("SYSTEM_ADMIN_USER"), env("SYSTEM_ADMIN_PASSWORD"))


def run_smoke(timeout: float) -> None:
    """Trigger ``system_smoke`` and wait for it.

    :param timeout: seconds to wait for the run.
    """
    api = api_from_env()
    api.wait_for_dags([SMOKE_DAG], timeout=180)
    api.unpause(SMOKE_DAG)
    run_id = api.trigger(SMOKE_DAG, {})
    say(f"triggered {SMOKE_DAG} run {run_id} through the REST API")
    wanted = {SMOKE_DAG: [run_id]}
    api.wait_for_runs(wanted, timeout)
    api.report_hosts(wanted)


def backfill_dates() -> tuple[str, str]:
    """Return the two days the backfill covers: the two days before yesterday (UTC)."""
    today = dt.datetime.now(dt.timezone.utc).date()
    return (today - dt.timedelta(days=3)).isoformat(), (today - dt.timedelta(days=2)).isoformat()


def make_videos(data: Path, days: tuple[str, str]) -> tuple[Path, list[Path]]:
    """Write the real sample videos the runs read: one for the pipeline, one per backfill day.

    :param data: the data directory.
    :param days: the backfill's days (``YYYY-MM-DD``).
    :return: the pipeline's video and the backfill's videos.
    """
    bindir = Path(sys.executable).parent
    single = data / "incoming" / "clip.mp4"
    daily = [data / "historical" / day / f"clip-{day}.mp4" for day in days]
    for path in [single, *daily]:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(bindir / "mavi-emulator"), "sample-video", str(path), "--seconds", "4"],
            check=True,
            capture_output=True,
        )
    return single, daily


def created_backfill_runs(dag_id: str, before: set[str], api: AirflowApi) -> list[str]:
    """Return the backfill runs of ``dag_id`` created since ``before`` was taken.

    :param dag_id: the DAG.
    :param before: run ids that existed already.
    :param api: the REST client.
    """
    return [
        r["dag_run_id"]
        for r in api.runs(dag_id)
        if r["dag_run_id"] not in before and r.get("run_type") == "backfill"
    ]


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


def emulator_admin(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the emulator's admin API (``SYSTEM_EMULATOR_ADMIN``) with the account key (``SYSTEM_MAVI_KEY``).

    :param method: HTTP method.
    :param path: path under ``/_emulator``.
    :param body: JSON body, if any.
    """
    answer = httpx.request(
        method,
        f"{env('SYSTEM_EMULATOR_ADMIN').rstrip('/')}{path}",
        json=body,
        headers={"Authorization": env("SYSTEM_MAVI_KEY")},
        timeout=10,
    )
    if not answer.is_success:
        raise SystemTestError(f"emulator {method} /_emulator{path} answered HTTP {answer.status_code}")
    return answer.json()


def set_webhook() -> None:
    """Register the bridge's callback URL (``SYSTEM_WEBHOOK_URL``) as the emulated account's webhook."""
    emulator_admin("PUT", "/webhook", {"url": env("SYSTEM_WEBHOOK_URL")})


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


def run_pipeline(timeout: float) -> None:
    """Trigger the pipeline through the REST API and a two-day backfill; wait; check.

    :param timeout: seconds to wait for the runs.
    """
    data = Path(env("SYSTEM_DATA"))
    days = backfill_dates()
    video, daily = make_videos(data, days)
    api = api_from_env()
    api.wait_for_dags([PIPELINE_DAG, BACKFILL_DAG], timeout=240)

    output = data / "output" / "pipeline"
    api.unpause(PIPELINE_DAG)
    triggered_at = time.monotonic()
    run_id = api.trigger(
        PIPELINE_DAG, {"video": str(video), "model": "gemini-2.5-flash-lite", "output": str(output)}
    )
    say(f"triggered {PIPELINE_DAG} run {run_id} through the REST API (POST /api/v2/dags/.../dagRuns)")

    before = {r["dag_run_id"] for r in api.runs(BACKFILL_DAG)}
    root = data / "historical"
    backfill_output = data / "output" / "historical"
    cmd = [
        str(Path(sys.executable).parent / "airflow"),
        "backfill",
        "create",
        "--dag-id",
        BACKFILL_DAG,
        "--from-date",
        days[0],
        "--to-date",
        days[1],
        "--dag-run-conf",
        json.dumps({"root": str(root), "output": str(backfill_output)}),
    ]
    say(f"airflow backfill create --dag-id {BACKFILL_DAG} --from-date {days[0]} --to-date {days[1]}")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise SystemTestError(f"airflow backfill create failed: {done.stderr[-2000:]}")
    api.unpause(BACKFILL_DAG)
    backfill_runs: list[str] = []
    deadline = time.monotonic() + 60
    while len(backfill_runs) < 2 and time.monotonic() < deadline:
        backfill_runs = created_backfill_runs(BACKFILL_DAG, before, api)
        time.sleep(1)
    if len(backfill_runs) != 2:
        raise SystemTestError(f"expected 2 backfill runs, found {backfill_runs}")
    say(f"backfill created runs {backfill_runs}")

    wanted = {PIPELINE_DAG: [run_id], BACKFILL_DAG: backfill_runs}
    api.wait_for_runs(wanted, timeout)
    say(f"the three runs finished {time.monotonic() - triggered_at:.0f}s after the pipeline was triggered")
    api.report_hosts(wanted)
    check_outputs(output, "summary.json", expected=1)
    check_outputs(backfill_output, "result.json", expected=len(daily))
    check_jobs_once(expected_assets=1 + len(daily))
    check_bridge_stored_each_callback_once()


CRASH_OUTPUT = "output/crash"
CALLBACK_DELAY_SECONDS = 30


def crash_start(state_file: Path, timeout: float) -> None:
    """Start a pipeline run whose callbacks Mavi delays; return once one of its tasks waits in the triggerer.

    The emulator holds the next two callbacks for ``CALLBACK_DELAY_SECONDS``; the run id is written to
    ``state_file`` for :func:`crash_finish`.

    :param state_file: where to write the run id.
    :param timeout: seconds to wait for a deferred task.
    """
    data = Path(env("SYSTEM_DATA"))
    video = data / "incoming" / "crash.mp4"
    subprocess.run(
        [str(Path(sys.executable).parent / "mavi-emulator"), "sample-video", str(video), "--seconds", "3"],
        check=True,
        capture_output=True,
    )
    emulator_admin("PUT", "/faults", {"callback_delay": {"next": 2, "seconds": CALLBACK_DELAY_SECONDS}})
    api = api_from_env()
    run_id = api.trigger(
        PIPELINE_DAG,
        {"video": str(video), "model": "gemini-2.5-flash-lite", "output": str(data / CRASH_OUTPUT)},
    )
    state_file.write_text(run_id)
    say(f"crash test: triggered {run_id}; Mavi delays its callbacks by {CALLBACK_DELAY_SECONDS}s")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deferred = [
            ti["task_id"] for ti in api.task_instances(PIPELINE_DAG, run_id) if ti["state"] == "deferred"
        ]
        if any(task in deferred for task in ("extract_frames", "transcribe_video")):
            time.sleep(3)  # let the triggerer pick the trigger up
            say(f"crash test: {', '.join(deferred)} deferred, waiting in the triggerer")
            return
        time.sleep(1)
    raise SystemTestError(f"crash test: no job task of {run_id} deferred within {timeout:.0f}s")


def crash_finish(state_file: Path, timeout: float, task_logs: Path) -> None:
    """Check that the run survived the triggerer's crash, with no job submitted twice.

    :param state_file: the file :func:`crash_start` wrote.
    :param timeout: seconds to wait for the run.
    :param task_logs: Airflow's task log folder, to show which triggerers ran the triggers.
    """
    run_id = state_file.read_text().strip()
    api = api_from_env()
    api.wait_for_runs({PIPELINE_DAG: [run_id]}, timeout)
    emulator_admin("PUT", "/faults", {})
    check_outputs(Path(env("SYSTEM_DATA")) / CRASH_OUTPUT, "summary.json", expected=1)
    check_jobs_once(expected_assets=4)
    check_bridge_stored_each_callback_once()
    run_dir = next(task_logs.glob(f"dag_id={PIPELINE_DAG}/run_id={run_id}"))
    moved = []
    for task_dir in sorted(run_dir.glob("task_id=*")):
        jobs = sorted({path.name.rsplit(".", 2)[-2] for path in task_dir.glob("*.log.trigger.*.log")})
        if len(jobs) > 1:
            moved.append(f"{task_dir.name.removeprefix('task_id=')} (triggerer jobs {' then '.join(jobs)})")
    if not moved:
        raise SystemTestError("crash test: no trigger was taken over by the new triggerer")
    say(f"crash test: the new triggerer took over {', '.join(moved)}; each job was still submitted once")


WORKLOAD_RE = re.compile(
    r"Executing workload in Celery: .*?ti=TaskInstanceDTO\(id=UUID\('([^']+)'\), task_id='([^']+)', "
    r"dag_id='([^']+)'.*?map_index=(-?\d+)"
)
FINISHED_RE = re.compile(
    r"^(\S+) .*Workload finished .*?duration=([0-9.]+).*?final_state=(\w+).*?workload_id=([0-9a-f-]+)"
)


def evidence(process_logs: Path, task_logs: Path) -> None:
    """Print what the Celery workers ran and what the triggerer waited for; fail when either is missing.

    Each worker's own log names each workload it executed and the state it ended in (``deferred`` when the
    task handed its wait to the triggerer). The triggerer writes each trigger's lines next to the task's
    log, in ``attempt=N.log.trigger.<triggerer job id>.log``.

    :param process_logs: the folder with the workers' logs (``celery-worker*.log``).
    :param task_logs: Airflow's task log folder (``$AIRFLOW_HOME/logs``).
    """
    names: dict[str, str] = {}
    runs: dict[str, list[tuple[float, str]]] = {}  # by task instance: (start, "state on worker")
    per_worker: dict[str, int] = {}
    for log in sorted(process_logs.glob("celery-worker*.log")):
        worker = log.stem
        per_worker[worker] = 0
        for line in log.read_text(errors="replace").splitlines():
            if match := WORKLOAD_RE.search(line):
                ti_id, task_id, dag_id, map_index = match.groups()
                names[ti_id] = f"{dag_id}.{task_id}" + (f"[{map_index}]" if map_index != "-1" else "")
            elif match := FINISHED_RE.search(line):
                # Ordered by start (end minus duration): a resumed run may end before the deferring one
                # has finished logging its end.
                ended, duration, state, ti_id = match.groups()
                began = dt.datetime.fromisoformat(ended).timestamp() - float(duration)
                runs.setdefault(ti_id, []).append((began, f"{state} on {worker}"))
                per_worker[worker] += 1
    states = {ti_id: [what for _, what in sorted(seen)] for ti_id, seen in runs.items()}
    ran = [f"{names.get(ti_id, ti_id)}: {' -> '.join(seen)}" for ti_id, seen in states.items()]
    counts = ", ".join(f"{worker}: {n}" for worker, n in per_worker.items())
    say(f"evidence: the Celery workers ran {len(ran)} task instances ({counts} workloads; state per run):")
    for entry in sorted(ran):
        say(f"    {entry}")
    if not ran:
        raise SystemTestError("no Celery worker's log shows a task it executed")
    if not any(seen[0].startswith("deferred") for seen in states.values()):
        raise SystemTestError("no task deferred: nothing waited in the triggerer")

    fired: list[str] = []
    for path in sorted(task_logs.rglob("*.log.trigger.*.log")):
        records = []
        for raw in path.read_text(errors="replace").splitlines():
            try:
                records.append(json.loads(raw))
            except ValueError:
                continue
        started = next((r for r in records if str(r.get("event", "")).endswith("starting")), None)
        done = next((r for r in records if r.get("event") == "Trigger fired event"), None)
        if started is None or done is None:
            continue
        job = path.name.rsplit(".", 2)[-2]
        triggers = sorted(
            {str(r["logger"]).rsplit(".", 1)[-1] for r in records if "Trigger" in str(r.get("logger"))}
        )
        found = re.search(r"'status': '(\w+)'", str(done.get("result")))
        status = found.group(1) if found else str(done.get("result"))[:40]
        map_index = done.get("map_index", -1)
        fired.append(
            f"{done.get('dag_id')}.{done.get('task_id')}"
            + (f"[{map_index}]" if map_index not in (-1, None) else "")
            + f" {done.get('run_id')}: {'/'.join(triggers) or 'trigger'} in triggerer job {job}, started "
            f"{started['timestamp'][11:19]}, fired {done['timestamp'][11:19]} ({status})"
        )
    say(f"evidence: the triggerer ran {len(fired)} triggers to their event (task logs *.log.trigger.*.log):")
    for entry in fired:
        say(f"    {entry}")
    if not fired:
        raise SystemTestError("no trigger log shows a trigger that fired in the triggerer")


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; print a clear message and return 1 when a check fails.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ports = sub.add_parser("ports")
    ports.add_argument("count", type=int)
    wait = sub.add_parser("wait-http")
    wait.add_argument("url")
    wait.add_argument("--timeout", type=float, default=120)
    sub.add_parser("set-webhook")
    sub.add_parser("smoke")
    sub.add_parser("pipeline")
    crash = sub.add_parser("crash-start")
    crash.add_argument("state_file", type=Path)
    crash_end = sub.add_parser("crash-finish")
    crash_end.add_argument("state_file", type=Path)
    crash_end.add_argument("task_logs", type=Path)
    proof = sub.add_parser("evidence")
    proof.add_argument("process_logs", type=Path)
    proof.add_argument("task_logs", type=Path)
    args = parser.parse_args(argv)
    run_timeout = float(os.environ.get("SYSTEM_RUN_TIMEOUT", "600"))
    try:
        if args.command == "ports":
            print(" ".join(str(p) for p in free_ports(args.count)))
        elif args.command == "wait-http":
            wait_http(args.url, args.timeout)
        elif args.command == "set-webhook":
            set_webhook()
        elif args.command == "evidence":
            evidence(args.process_logs, args.task_logs)
        elif args.command == "crash-start":
            crash_start(args.state_file, timeout=120)
        elif args.command == "crash-finish":
            crash_finish(args.state_file, run_timeout, args.task_logs)
        elif args.command == "smoke":
            run_smoke(run_timeout)
        else:
            run_pipeline(run_timeout)
    except SystemTestError as exc:
        print(f"system-test: FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
