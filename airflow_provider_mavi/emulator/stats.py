"""Counters the tests and benchmarks read through ``GET /_emulator/stats``."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timezone
from typing import Any


def utc_now() -> str:
    """Return the current time as ISO 8601 in UTC."""
    return datetime.now(timezone.utc).isoformat()


class Stats:
    """Requests per endpoint, rate-limit rejections, jobs, callbacks and spend of one account."""

    def __init__(self) -> None:
        """Start from zero."""
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.jobs: list[dict[str, Any]] = []
        self.callbacks: Counter[str] = Counter({"sent": 0, "delivered": 0, "failed": 0, "dropped": 0})
        self.callback_answers: Counter[str] = Counter()
        self.spend_usd = 0.0

    def count_request(self, endpoint: str) -> None:
        """Count one request.

        :param endpoint: ``METHOD /path`` with ids replaced by ``{asset_id}``.
        """
        with self._lock:
            self.requests[endpoint] += 1

    def count_rate_limited(self, endpoint: str) -> None:
        """Count one request refused by the rate limit.

        :param endpoint: ``METHOD /path``.
        """
        with self._lock:
            self.rate_limited[endpoint] += 1

    def add_job(self, job_id: str, kind: str, asset_id: str | None, **extra: Any) -> dict[str, Any]:
        """Record an accepted job (async, or a paid sync call) and return its (mutable) record.

        :param job_id: Mavi's ``task_id`` (sync calls get one too, for the stats only).
        :param kind: the job kind, e.g. ``extract_frames`` or ``transcribe_audio_sync``.
        :param asset_id: the (first) asset it works on; ``None`` for a URL or text source.
        :param extra: more fields for the record (``asset_ids``, model, speaker, ...).
        """
        record = {
            "job_id": job_id,
            "kind": kind,
            "asset_id": asset_id,
            "asset_ids": [asset_id] if asset_id else [],
            "submitted_at": utc_now(),
            "state": "running",
            "cost_usd": 0.0,
            **extra,
        }
        with self._lock:
            self.jobs.append(record)
        return record

    def count_callback(self, outcome: str, answer: int | str | None = None) -> None:
        """Count one callback event: ``sent``, ``delivered``, ``failed`` or ``dropped``.

        :param outcome: the event.
        :param answer: how the webhook answered a delivery: its HTTP status, or the error's name.
        """
        with self._lock:
            self.callbacks[outcome] += 1
            if answer is not None:
                self.callback_answers[str(answer)] += 1

    def spend(self, usd: float, job: dict[str, Any] | None = None) -> None:
        """Add to the account's spend (and to a job's ``cost_usd``).

        :param usd: dollars.
        :param job: the job it is for, if any.
        """
        with self._lock:
            self.spend_usd += usd
            if job is not None:
                job["cost_usd"] = round(job["cost_usd"] + usd, 6)

    def snapshot(self) -> dict[str, Any]:
        """Return every counter as JSON."""
        with self._lock:
            by_asset: dict[str, dict[str, int]] = {}
            for job in self.jobs:
                for asset_id in job["asset_ids"]:
                    kinds = by_asset.setdefault(asset_id, {})
                    kinds[job["kind"]] = kinds.get(job["kind"], 0) + 1
            return {
                "requests": dict(self.requests),
                "rate_limited": dict(self.rate_limited),
                "jobs": [{**job, "asset_ids": list(job["asset_ids"])} for job in self.jobs],
                "jobs_by_asset": by_asset,
                "callbacks": dict(self.callbacks),
                "callback_answers": dict(self.callback_answers),
                "spend_usd": round(self.spend_usd, 6),
            }
