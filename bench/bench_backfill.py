"""Benchmark: a backfill of ``mavi_backfill_historical`` at the account's budget, on the native Celery stack.

For each budget (``--qps``, requests per second per endpoint at the emulator) and each setting (the old one,
then the candidates), one *episode*: ``scripts/system/bench-backfill.sh`` starts the stack of ``make
system-test`` (PostgreSQL, Redis, api-server, scheduler, dag-processor, triggerer, two Celery workers, the
bridge on PostgreSQL, the emulator at that QPS) with the setting, runs the backfill over the same V real
videos in D days through ``airflow backfill create``, checks that no secret reached a log, and stops it
all. Every episode starts from a fresh stack, one after the other in one run, so the settings are compared
on the same machine state. The figures come from the emulator's own counters (see ``backfill_figures.py``).

A setting is: the slots of the pool ``mavi_api``; connection extras passed through to ``mavi_default``
(``max_requests_per_second`` is the budget unless given; ``{redis_url}`` and ``{postgres_url}`` are
replaced by the stack's); ``MAVI_BACKFILL_*`` variables for the DAG (``max_active_tis_per_task``,
``max_active_tasks``, ``weight_rule``); the Celery workers' concurrency; the backfill's ``--max-active-runs``;
more Airflow configuration (``AIRFLOW__SECTION__KEY``). The *old* setting is the one before issue 12: one
account bucket on the machine (``rate_limit_scope=account``, local file), a pool of 1 slot, Airflow's
default priority rule (``downstream``). A provider whose limiter does not read ``rate_limit_scope`` keeps one
account bucket whatever the extras say; the benchmark says which it found.

It is run by hand, never by ``make test``: about an hour for the defaults (BENCHMARKS.md, "Backfill
throughput", has the command and the figures). Everything lands in ``--out`` (``.bench-backfill/``): each
episode's folder (logs, Airflow home) and JSON, and ``figures.json``; ``--reprint`` prints them again.

Usage::

    .venv/bin/python bench/bench_backfill.py              # V=24, D=3, QPS 1 and 0.25, old + candidate
    .venv/bin/python bench/bench_backfill.py --qps 0.25 --pool-slots 4 --weight-rule upstream \\
        --extras '{"rate_limit_scope": "endpoint", "rate_limit_url": "{redis_url}"}'
    .venv/bin/python bench/bench_backfill.py --candidate '{"name": "pool8", "pool_slots": 8,
        "worker_concurrency": 4, "dag": {"weight_rule": "upstream"}}'
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backfill_figures import (
    endpoint_rows,
    episode_figures,
    episode_lines,
    limited_by,
    phase_rows,
    summary_rows,
)
from backfill_logs import phase_figures

from airflow_provider_mavi.emulator.samples import make_sample_video

ROOT = Path(__file__).resolve().parents[1]
EPISODE = ROOT / "scripts" / "system" / "bench-backfill.sh"
WORKERS = 2  # the stack runs two Celery workers
DAG_KEYS = ("max_active_tis_per_task", "max_active_tasks", "weight_rule")


@dataclass
class Setting:
    """One configuration of the stack and the DAG.

    :param name: how the tables name it.
    :param pool_slots: slots of the pool ``mavi_api``.
    :param extras: connection extras for ``mavi_default`` (placeholders ``{redis_url}``, ``{postgres_url}``).
    :param dag: the DAG's ``MAVI_BACKFILL_*`` settings, by lower-case name (see :data:`DAG_KEYS`).
    :param worker_concurrency: task slots of each Celery worker.
    :param max_active_runs: the backfill's ``--max-active-runs`` (None: Airflow's default).
    :param airflow: more Airflow configuration for every process, ``{"AIRFLOW__SECTION__KEY": value}``.
    """

    name: str
    pool_slots: int
    extras: dict[str, Any] = field(default_factory=dict)
    dag: dict[str, Any] = field(default_factory=dict)
    worker_concurrency: int = 2
    max_active_runs: int | None = None
    airflow: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> Setting:
        """Read a ``--candidate`` JSON object; unknown keys are an error.

        :param text: ``{"name": ..., "pool_slots": ..., "extras": {...}, "dag": {...}, ...}``.
        """
        data = json.loads(text)
        if not isinstance(data, dict) or "name" not in data:
            raise ValueError(f"--candidate must be a JSON object with a name, got {text!r}")
        unknown = set(data.get("dag", {})) - set(DAG_KEYS)
        if unknown:
            raise ValueError(f"--candidate: unknown dag settings {sorted(unknown)}; known: {DAG_KEYS}")
        bad = [key for key in data.get("airflow", {}) if not key.startswith("AIRFLOW__")]
        if bad:
            raise ValueError(f"--candidate: airflow settings must be AIRFLOW__SECTION__KEY, got {bad}")
        return cls(**{"pool_slots": 1, **data})

    def environment(self, qps: float) -> dict[str, str]:
        """The episode's environment for this setting at one budget.

        :param qps: requests per second per endpoint.
        """
        extras = {"max_requests_per_second": qps, **self.extras}
        env = {
            "STACK_EMULATOR_QPS": f"{qps:g}",
            "STACK_CONN_EXTRAS": json.dumps(extras),
            "STACK_POOL_SLOTS": str(self.pool_slots),
            "STACK_WORKER_CONCURRENCY": str(self.worker_concurrency),
        }
        env.update({f"MAVI_BACKFILL_{key.upper()}": str(value) for key, value in self.dag.items()})
        env.update({key: str(value) for key, value in self.airflow.items()})
        if self.max_active_runs is not None:
            env["BENCH_MAX_ACTIVE_RUNS"] = str(self.max_active_runs)
        return env

    def describe(self, qps: float) -> str:
        """One line: everything this setting sets.

        :param qps: the budget.
        """
        extras = json.dumps({"max_requests_per_second": qps, **self.extras})
        dag = ", ".join(f"{k}={v}" for k, v in self.dag.items()) or "DAG defaults"
        runs = f", backfill --max-active-runs {self.max_active_runs}" if self.max_active_runs else ""
        runs += "".join(f", {key}={value}" for key, value in self.airflow.items())
        return (
            f"pool mavi_api {self.pool_slots} slot(s), workers {WORKERS}x{self.worker_concurrency} slots, "
            f"{dag}{runs}, extras {extras}"
        )


def limiter_scopes() -> bool:
    """Whether the installed provider reads ``rate_limit_scope`` (else every request shares one bucket)."""
    from airflow_provider_mavi.hooks.settings import MaviConnectionSettings

    return "rate_limit_scope" in {f.name for f in dataclasses.fields(MaviConnectionSettings)}


OLD = Setting("old", pool_slots=1, extras={"rate_limit_scope": "account"}, dag={"weight_rule": "downstream"})


def make_archive(root: Path, videos: int, days: list[str], seconds: float) -> None:
    """Write ``videos`` real sample videos spread over ``days`` (round robin), once for every episode.

    :param root: the archive's root (``root/YYYY-MM-DD/clip-NN.mp4``).
    :param videos: how many.
    :param days: the days.
    :param seconds: each video's length.
    """
    for index in range(videos):
        path = root / days[index % len(days)] / f"clip-{index:03d}.mp4"
        if not path.exists():
            make_sample_video(path, seconds=seconds)


def run_episode(
    out: Path, name: str, setting: Setting, qps: float, archive: Path, days: list[str], timeout: float
) -> dict[str, Any] | None:
    """Run one episode and return its raw figures, or None when it failed (it says why).

    :param out: the benchmark's folder.
    :param name: the episode's folder name.
    :param setting: the setting.
    :param qps: the budget.
    :param archive: the videos.
    :param days: the days.
    :param timeout: seconds to wait for the backfill.
    """
    run_dir = out / name
    result = out / f"{name}.json"
    result.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAVI_BACKFILL_", "STACK_", "BENCH_"))}
    env.update(setting.environment(qps))
    env.update(
        {
            "BENCH_RUN": str(run_dir),
            "BENCH_VIDEOS": str(archive),
            "BENCH_DAYS": ",".join(days),
            "BENCH_RESULT": str(result),
            "BENCH_BUDGET": str(int(timeout + 900)),
            "SYSTEM_RUN_TIMEOUT": str(int(timeout)),
        }
    )
    print(f"bench-backfill: episode {name}: QPS {qps:g}, {setting.describe(qps)}", flush=True)
    started = time.monotonic()
    episode = subprocess.Popen(["bash", str(EPISODE)], env=env)
    try:
        returncode = episode.wait()
    except KeyboardInterrupt:
        episode.terminate()  # the episode's own trap stops the stack it started
        episode.wait()
        raise
    if returncode != 0 or not result.exists():
        print(f"bench-backfill: episode {name} FAILED (exit {returncode}); see {run_dir}/logs", flush=True)
        return None
    print(f"bench-backfill: episode {name} took {time.monotonic() - started:.0f}s in all", flush=True)
    raw: dict[str, Any] = json.loads(result.read_text())
    return raw


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line.

    :param argv: the arguments (default ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=24, help="V, videos in all (default 24)")
    parser.add_argument("--days", type=int, default=3, help="D, days they are spread over (default 3)")
    parser.add_argument("--seconds", type=float, default=4, help="each video's length (default 4)")
    parser.add_argument(
        "--qps", default="1,0.25", help="budgets per endpoint, comma-separated (default 1,0.25)"
    )
    parser.add_argument("--skip-old", action="store_true", help="run the candidates only")
    parser.add_argument("--candidate", action="append", default=[], help="a setting as JSON (repeatable)")
    parser.add_argument("--pool-slots", type=int, default=4, help="candidate: slots of mavi_api (default 4)")
    parser.add_argument(
        "--extras",
        default='{"rate_limit_scope": "endpoint", "rate_limit_url": "{redis_url}"}',
        help="candidate: connection extras (JSON)",
    )
    parser.add_argument("--max-active-tis", type=int, default=None, help="candidate: per Mavi task")
    parser.add_argument("--max-active-tasks", type=int, default=None, help="candidate: per DAG run")
    parser.add_argument(
        "--weight-rule", default="upstream", help="candidate: priority rule (default upstream)"
    )
    parser.add_argument("--worker-concurrency", type=int, default=2, help="candidate: slots per worker")
    parser.add_argument("--max-active-runs", type=int, default=None, help="candidate: days at once")
    parser.add_argument("--run-timeout", type=float, default=2400, help="seconds per backfill (default 2400)")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench-backfill", help="working folder")
    parser.add_argument(
        "--reprint",
        action="store_true",
        help="print the figures of the episodes already in --out, run nothing",
    )
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> list[Setting]:
    """The old setting (unless skipped) and the candidates.

    :param args: the command line.
    """
    candidates = [Setting.from_json(text) for text in args.candidate]
    if not candidates:
        dag: dict[str, Any] = {"weight_rule": args.weight_rule}
        if args.max_active_tis:
            dag["max_active_tis_per_task"] = args.max_active_tis
        if args.max_active_tasks:
            dag["max_active_tasks"] = args.max_active_tasks
        candidates = [
            Setting(
                "candidate",
                pool_slots=args.pool_slots,
                extras=json.loads(args.extras),
                dag=dag,
                worker_concurrency=args.worker_concurrency,
                max_active_runs=args.max_active_runs,
            )
        ]
    return ([] if args.skip_old else [OLD]) + candidates


def main(argv: list[str] | None = None) -> int:
    """Run every episode, print each one's figures, then the comparison tables.

    :param argv: the arguments.
    """
    args = parse_args(argv)
    budgets = [float(q) for q in args.qps.split(",")]
    settings = settings_from(args)
    sys.path.insert(0, str(ROOT / "scripts" / "system"))
    from backfill import backfill_dates  # the same days the system test uses, one per D

    days = backfill_dates(args.days)
    archive = args.out / "videos"
    if not args.reprint:
        make_archive(archive, args.videos, days, args.seconds)
    print(
        f"bench-backfill: {args.videos} videos of {args.seconds:g} s over {days}; budgets {budgets}; "
        f"settings {[s.name for s in settings]}",
        flush=True,
    )
    scoped = limiter_scopes()
    print(
        "bench-backfill: this provider's limiter keeps "
        + (
            "a bucket per endpoint unless rate_limit_scope is account"
            if scoped
            else "one bucket for the whole account: it ignores rate_limit_scope and rate_limit_url"
        ),
        flush=True,
    )
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    for qps in budgets:
        for setting in settings:
            name = f"qps{qps:g}-{setting.name}"
            saved = args.out / f"{name}.json"
            if args.reprint:
                raw = json.loads(saved.read_text()) if saved.exists() else None
            else:
                raw = run_episode(args.out, name, setting, qps, archive, days, args.run_timeout)
            if raw is None:
                failed.append(name)
                continue
            fig = episode_figures(raw, qps, WORKERS * setting.worker_concurrency)
            fig["phases"] = phase_figures(args.out / name)
            account = not scoped or setting.extras.get("rate_limit_scope") == "account"
            verdict = limited_by(fig, qps, account)
            print(f"\n== QPS {qps:g}, setting {setting.name}: {setting.describe(qps)}")
            print("\n".join([*episode_lines(fig), f"limited by: {verdict}"]), flush=True)
            results.append({"qps": qps, "setting": setting.name, "figures": fig, "limited_by": verdict})
            (args.out / "figures.json").write_text(json.dumps(results, indent=1))
    print(f"\nbench-backfill: {len(results)} episodes in {(time.monotonic() - started) / 60:.0f} min\n")
    for qps in budgets:
        base = next((r for r in results if r["qps"] == qps and r["setting"] == OLD.name), None)
        for r in results:
            if base and r is not base and r["qps"] == qps:
                before, after = base["figures"]["wall"], r["figures"]["wall"]
                print(
                    f"QPS {qps:g}: {r['setting']} {before / after:.2f}x as fast as old "
                    f"({before:.0f} s -> {after:.0f} s)"
                )
    tables = (summary_rows(results), phase_rows(results), endpoint_rows(results))
    print("\n" + "\n\n".join("\n".join(rows) for rows in tables))
    for setting in settings:
        print(f"- {setting.name}: {setting.describe(budgets[0])}")
    if failed:
        print(f"bench-backfill: episodes without figures: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
