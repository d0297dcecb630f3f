"""Figures of one episode of ``bench_backfill.py``, from what ``scripts/system/bench_episode.py`` saw.

Pure: reads the episode's JSON (the emulator's own counters, the runs and task instances as Airflow
recorded them, the workers' workloads, CPU readings) and computes what the benchmark prints. Definitions:

- **wall**: from the first backfill run's start to the last one's end (Airflow's own times).
- **accepted requests** per endpoint: the emulator's ``requests`` minus its ``rate_limited``.
- **utilisation** of an endpoint's budget: accepted ÷ (wall * QPS); **once the pipeline is full**: the
  requests between the endpoint's first and last sample ÷ (that span * QPS) (sampled every 0.5 s).
- **bound**: the least wall time the budget allows, max over endpoints of accepted ÷ QPS; **bound ÷ wall**.
- **account utilisation**: all accepted requests ÷ (wall * QPS): what one bucket for the whole account
  allows at most (1.0, or 0.91 with the client's 10 % margin).
- **worker occupancy**: seconds the Celery workers' slots held a task of the backfill ÷ (wall * slots).
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

PAID_KINDS = ("extract_frames", "transcribe_video")
FAILED_STATES = {"failed", "upstream_failed"}


def wall_seconds(raw: dict[str, Any]) -> float:
    """From the first run's start to the last run's end; the driver's own clock when Airflow has none.

    :param raw: the episode's JSON.
    """
    starts = [r["start"] for r in raw["runs"] if r.get("start")]
    ends = [r["end"] for r in raw["runs"] if r.get("end")]
    if starts and ends:
        return float(max(ends) - min(starts))
    return float(raw["finished_at"] - raw["created_at"])


def span_utilisation(changes: list[list[float]], qps: float) -> tuple[float | None, float]:
    """Utilisation between an endpoint's first and last sample, and that span in seconds.

    :param changes: ``[epoch seconds, accepted so far]`` at each sample where the count changed.
    :param qps: the endpoint's budget.
    """
    if len(changes) < 2:
        return None, 0.0
    (first_t, first_n), (last_t, last_n) = changes[0], changes[-1]
    span = last_t - first_t
    return ((last_n - first_n) / (span * qps) if span > 0 else None), span


def percentile(values: list[float], fraction: float) -> float | None:
    """The value below which ``fraction`` of ``values`` lie (nearest rank), or None when empty.

    :param values: the sample.
    :param fraction: 0..1.
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def jobs_per_video(stats: dict[str, Any], videos: int) -> tuple[str, bool]:
    """Describe the paid jobs per video and say whether each video got exactly one of each kind.

    :param stats: the emulator's stats.
    :param videos: how many videos the backfill had.
    """
    by_asset: dict[str, dict[str, int]] = stats.get("jobs_by_asset", {})
    shapes = Counter(tuple(sorted(kinds.items())) for kinds in by_asset.values())
    exact = len(by_asset) == videos and all(dict(shape) == dict.fromkeys(PAID_KINDS, 1) for shape in shapes)
    text = "; ".join(
        f"{n} video(s): " + ", ".join(f"{k} x{c}" for k, c in shape) for shape, n in shapes.items()
    )
    return f"{len(by_asset)}/{videos} videos with jobs ({text or 'none'})", exact


def handoffs(raw: dict[str, Any]) -> list[float]:
    """Per task instance, the hand-off from its last upstream task: from that task's end (same run and map
    index) to a worker receiving this one, i.e. the scheduler's loop, the queue, and any wait for a pool or
    worker slot.

    :param raw: the episode's JSON.
    """
    first_began: dict[str, float] = {}
    for work in raw["workloads"]:
        first_began[work["ti_id"]] = min(work["began"], first_began.get(work["ti_id"], work["began"]))
    upstream: dict[str, list[str]] = {}
    for task_id, task in raw["dag_settings"]["tasks"].items():
        for down in task["downstream"]:
            upstream.setdefault(down, []).append(task_id)
    ends = {
        (ti["dag_run_id"], ti["task_id"], ti["map_index"]): ti["end_date"] for ti in raw["task_instances"]
    }
    found = []
    for ti in raw["task_instances"]:
        began = first_began.get(ti["id"])
        before = [
            ends.get((ti["dag_run_id"], up, ti["map_index"])) or ends.get((ti["dag_run_id"], up, -1))
            for up in upstream.get(ti["task_id"], [])
        ]
        if began is not None and before and all(before):
            found.append(began - max(b for b in before if b))
    return found


def pool_figures(raw: dict[str, Any]) -> dict[str, float | None]:
    """How busy the pool ``mavi_api`` was, from Airflow's API read every second during the backfill.

    ``pool_binding``: share of the readings where no slot was open while Mavi tasks waited for one.
    ``pool_busy``: mean share of the slots held (running or queued).

    :param raw: the episode's JSON.
    """
    samples = raw.get("pool_samples") or []
    if not samples:
        return {"pool_binding": None, "pool_busy": None}
    binding = sum(1 for p in samples if p["open_slots"] <= 0 and p["scheduled_slots"] > 0)
    busy = [(p["running_slots"] + p["queued_slots"]) / p["slots"] for p in samples if p["slots"] > 0]
    return {
        "pool_binding": binding / len(samples),
        "pool_busy": statistics.mean(busy) if busy else None,
    }


def episode_figures(raw: dict[str, Any], qps: float, worker_slots: int) -> dict[str, Any]:
    """Compute every figure of one episode.

    :param raw: the episode's JSON.
    :param qps: the emulator's requests per second per endpoint.
    :param worker_slots: task slots of all Celery workers together.
    """
    wall = wall_seconds(raw)
    stats = raw["stats"]
    limited: dict[str, int] = stats.get("rate_limited", {})
    accepted = {e: n - limited.get(e, 0) for e, n in sorted(stats.get("requests", {}).items())}
    endpoints = {}
    for endpoint, count in accepted.items():
        full, span = span_utilisation(raw["accepted_changes"].get(endpoint, []), qps)
        endpoints[endpoint] = {
            "accepted": count,
            "rejected": limited.get(endpoint, 0),
            "utilisation": count / (wall * qps),
            "utilisation_full": full,
            "span": span,
        }
    videos = int(raw["videos"])
    bottleneck = max(accepted, key=lambda e: accepted[e]) if accepted else None
    bound = accepted[bottleneck] / qps if bottleneck else 0.0
    instances = raw["task_instances"]
    handoff = handoffs(raw)
    workloads = raw["workloads"]
    held = sum(w["duration"] for w in workloads)
    per_kind: dict[str, list[float]] = {}
    for work in workloads:
        per_kind.setdefault(work["name"].split(".")[-1].split("[")[0], []).append(work["duration"])
    jobs_text, jobs_exact = jobs_per_video(stats, videos)
    window = raw["finished_at"] - raw["created_at"]
    metadata = sum(n for e, n in accepted.items() if "metadata" in e)
    return {
        "wall": wall,
        "videos": videos,
        "results_written": raw["results_written"],
        "runs": {r["run_id"]: r["state"] for r in raw["runs"]},
        "endpoints": endpoints,
        "bottleneck": bottleneck,
        "bound": bound,
        "bound_over_wall": bound / wall if wall else None,
        "account_utilisation": sum(accepted.values()) / (wall * qps),
        "rejections": sum(limited.values()),
        "failed_tasks": sum(1 for ti in instances if ti["state"] in FAILED_STATES),
        "retried_tasks": sum(1 for ti in instances if (ti["try_number"] or 0) > 1),
        "task_instances": len(instances),
        "jobs": jobs_text,
        "jobs_exact": jobs_exact,
        "metadata_per_video": metadata / videos if videos else None,
        "longest_permit_wait": max(raw["permit_waits"], default=None),
        "handoff_p50": percentile(handoff, 0.5),
        "handoff_p90": percentile(handoff, 0.9),
        "slot_seconds_per_kind": {k: statistics.mean(v) for k, v in sorted(per_kind.items())},
        "worker_occupancy": held / (wall * worker_slots) if wall else None,
        **pool_figures(raw),
        "backfill_max_active_runs": raw.get("backfill", {}).get("max_active_runs"),
        "pool_full_lines": raw["pool_full_lines"],
        "stack_cpu": raw["stack_cpu_seconds"] / (window * raw["cpus"]) if window else None,
        "machine_busy": raw["machine_busy_seconds"] / raw["machine_total_seconds"],
        "load_average": raw["load_average"],
        "sample_errors": raw["sample_errors"],
    }


def limited_by(fig: dict[str, Any], qps: float, account_scope: bool) -> str:
    """Name what limited the episode's throughput, with the figure that shows it.

    :param fig: the episode's figures.
    :param qps: the budget per endpoint.
    :param account_scope: True when the client keeps one bucket for the whole account.
    """
    top = fig["endpoints"].get(fig["bottleneck"] or "", {})
    full = top.get("utilisation_full") or 0.0
    if full >= 0.8:
        return f"the API: {fig['bottleneck']} at {full:.2f} of its budget once full"
    if account_scope and fig["account_utilisation"] >= 0.7:
        return (
            f"the client's one account bucket: all endpoints together at {fig['account_utilisation']:.2f} "
            f"of one endpoint's {qps:g}/s"
        )
    if (fig["pool_binding"] or 0) >= 0.5:
        return f"the pool mavi_api: full with Mavi tasks waiting {fig['pool_binding']:.2f} of the time"
    if (fig["worker_occupancy"] or 0) >= 0.8:
        return f"the Celery worker slots: held {fig['worker_occupancy']:.2f} of the time"
    if fig["machine_busy"] >= 0.85:
        return (
            f"the machine's CPU: {fig['machine_busy']:.2f} busy ({_num(fig['stack_cpu'])} the stack, "
            "the rest other work on the machine)"
        )
    return (
        f"Airflow's per-task latency: hand-off p50 {_num(fig['handoff_p50'], '.1f')} s, "
        f"machine {fig['machine_busy']:.2f} busy"
    )


def episode_lines(fig: dict[str, Any]) -> list[str]:
    """The figures of one episode as the lines the benchmark prints.

    :param fig: the figures (:func:`episode_figures`).
    """
    lines = [
        f"wall {fig['wall']:.0f} s; bound {fig['bound']:.0f} s ({fig['bottleneck']}); bound ÷ wall "
        f"{_num(fig['bound_over_wall'])}; account utilisation {fig['account_utilisation']:.2f}"
    ]
    for endpoint, e in fig["endpoints"].items():
        lines.append(
            f"  {endpoint:<40} {e['accepted']:>4} accepted {e['rejected']:>3} rejected  utilisation "
            f"{e['utilisation']:.2f} (full: {_num(e['utilisation_full'])} over {e['span']:.0f} s)"
        )
    exact = "exactly one of each kind" if fig["jobs_exact"] else "NOT exactly one of each kind"
    wait = (
        f"{fig['longest_permit_wait']:.1f} s"
        if fig["longest_permit_wait"] is not None
        else "none logged (the per-endpoint limiter logs waits of 10 s or more; the old one logs none)"
    )
    kinds = ", ".join(f"{k} {v:.1f}" for k, v in fig["slot_seconds_per_kind"].items())
    load = fig["load_average"]
    ph = fig.get("phases") or {}
    phases = (
        f"a worker slot per task run, median {ph['slot_p50']:.1f} s: the task's code {ph['code_p50']:.1f} s, "
        f"Airflow around it {ph['airflow_p50']:.1f} s; code {ph['code_share']:.2f} of slot time; the exit "
        f"seen late (>= 0.9 s) in {ph['long_exit_waits']:.2f} of runs, {ph['exit_wait_seconds']:.2f} of "
        "slot time"
        if ph.get("workloads_read")
        else "task runs: no logs read"
    )
    lines += [
        f"runs {fig['runs']}; results {fig['results_written']}/{fig['videos']}; failed tasks "
        f"{fig['failed_tasks']}; retried {fig['retried_tasks']} of {fig['task_instances']}",
        f"paid jobs: {fig['jobs']}: {exact}",
        f"metadata requests per video {_num(fig['metadata_per_video'])}; rejections {fig['rejections']}; "
        f"longest permit wait {wait}",
        f"hand-off from the upstream task's end to a worker p50 {_num(fig['handoff_p50'], '.1f')} s, "
        f"p90 {_num(fig['handoff_p90'], '.1f')} s",
        f"worker slot seconds per run of each task: {kinds}",
        phases,
        f"worker slots busy {_num(fig['worker_occupancy'])}; pool slots held {_num(fig['pool_busy'])}, full "
        f"with Mavi tasks waiting {_num(fig['pool_binding'])} of the time ('0 open slots' logged "
        f"{fig['pool_full_lines']}x); backfill max_active_runs {fig['backfill_max_active_runs']}",
        f"CPU: the stack used {_num(fig['stack_cpu'])} of the machine; machine busy "
        f"{fig['machine_busy']:.2f}, load {load[0]:.1f} -> {load[1]:.1f}",
    ]
    return lines


def _num(value: float | None, fmt: str = ".2f") -> str:
    """Format a number, or a dash for None.

    :param value: the number.
    :param fmt: its format.
    """
    return "-" if value is None else format(value, fmt)


def summary_rows(results: list[dict[str, Any]]) -> list[str]:
    """The comparison table (Markdown) of every episode, one row each.

    :param results: ``{"qps", "setting", "figures", "limited_by"}`` per episode.
    """
    rows = [
        "| QPS | setting | wall s | bound s | bound ÷ wall | bottleneck util. (whole / full) | "
        "account util. | rejected | failed | paid jobs 1 each | metadata / video | "
        "longest permit wait logged, s | hand-off p50 s | pool full, tasks waiting | worker slots busy | "
        "stack CPU | machine busy | limited by |",
        "|" + "---|" * 18,
    ]
    for result in results:
        fig = result["figures"]
        top = fig["endpoints"].get(fig["bottleneck"] or "", {})
        rows.append(
            f"| {result['qps']:g} | {result['setting']} | {fig['wall']:.0f} | {fig['bound']:.0f} | "
            f"{_num(fig['bound_over_wall'])} | {_num(top.get('utilisation'))} / "
            f"{_num(top.get('utilisation_full'))} | {fig['account_utilisation']:.2f} | {fig['rejections']} | "
            f"{fig['failed_tasks']} | {'yes' if fig['jobs_exact'] else 'NO'} | "
            f"{_num(fig['metadata_per_video'])} | {_num(fig['longest_permit_wait'], '.1f')} | "
            f"{_num(fig['handoff_p50'], '.1f')} | {_num(fig['pool_binding'])} | "
            f"{_num(fig['worker_occupancy'])} | {_num(fig['stack_cpu'])} | {fig['machine_busy']:.2f} | "
            f"{result['limited_by']} |"
        )
    return rows


def endpoint_rows(results: list[dict[str, Any]]) -> list[str]:
    """Requests and utilisation per endpoint (Markdown), one row per episode and endpoint.

    :param results: as for :func:`summary_rows`.
    """
    rows = [
        "| QPS | setting | endpoint | accepted | rejected | util. whole | util. full | first→last s |",
        "|" + "---|" * 8,
    ]
    for result in results:
        for endpoint, e in result["figures"]["endpoints"].items():
            rows.append(
                f"| {result['qps']:g} | {result['setting']} | `{endpoint}` | {e['accepted']} | "
                f"{e['rejected']} | {e['utilisation']:.2f} | {_num(e['utilisation_full'])} | "
                f"{e['span']:.0f} |"
            )
    return rows


def phase_rows(results: list[dict[str, Any]]) -> list[str]:
    """Where a worker slot's time went (Markdown), one row per episode.

    :param results: as for :func:`summary_rows`.
    """
    rows = [
        "| QPS | setting | slot per task run, median s | task code, median s | Airflow around it, median s | "
        "code share of slot time | runs whose exit was seen late | exit wait share of slot time |",
        "|" + "---|" * 8,
    ]
    for result in results:
        ph = result["figures"].get("phases") or {}
        if not ph.get("workloads_read"):
            continue
        rows.append(
            f"| {result['qps']:g} | {result['setting']} | {ph['slot_p50']:.1f} | {ph['code_p50']:.1f} | "
            f"{ph['airflow_p50']:.1f} | {ph['code_share']:.2f} | {ph['long_exit_waits']:.2f} | "
            f"{ph['exit_wait_seconds']:.2f} |"
        )
    return rows
