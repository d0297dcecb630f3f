"""
What goes into the store and what comes out of it: small frozen dataclasses, rendered to the HTTP contract's
JSON by their ``to_json()``. Pure: no database here.

Adding a job column means one field on :class:`JobSubmission` (written as is by every store) and on
:class:`StoredJob` (read and rendered as is), one column in ``schema.py`` and its migration. The records of
the Mavi page (:class:`ReceivedCallback`, :class:`SpendRow`) are read-only views over the same tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

JOB_ID_MAX = 200

JOB_WAITING = "waiting"
JOB_DELIVERED = "delivered"
JOB_ABANDONED = "abandoned"

_PROGRESS_STATES = frozenset({"pending", "queued", "processing", "running", "in_progress", "in-progress"})


def is_terminal(payload: dict[str, Any]) -> bool:
    """
    Tell whether a callback reports an outcome rather than progress.

    Mavi documents only outcome callbacks; a body whose ``status`` (top level or in ``data``) is a progress
    word such as ``processing`` is treated as not terminal, so a later outcome replaces it for readers.

    :param payload: the parsed callback body.
    """
    candidates = [payload.get("status")]
    data = payload.get("data")
    if isinstance(data, dict):
        candidates.append(data.get("status"))
    return not any(isinstance(c, str) and c.strip().lower() in _PROGRESS_STATES for c in candidates)


def iso_utc(epoch: float) -> str:
    """
    Render epoch seconds as ISO 8601 in UTC with milliseconds.

    :param epoch: seconds since the epoch.
    """
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class IncomingCallback:
    """
    One accepted callback POST, ready to be written.

    :param job_id: Mavi's ``task_id`` from the body.
    :param body_sha256: hash of the canonical JSON (sorted keys, no spaces), so whitespace does not matter.
    :param payload: the body exactly as Mavi sent it.
    :param terminal: ``False`` when the body says the job is still running (see :func:`is_terminal`).
    :param received_at: epoch seconds.
    """

    job_id: str
    body_sha256: str
    payload: bytes
    terminal: bool
    received_at: float


@dataclass(frozen=True)
class WriteResult:
    """
    What writing one callback did.

    :param job_id: Mavi's job id.
    :param duplicate: the identical body was already stored (this POST only counted).
    :param deliveries: accepted POSTs for the job so far, this one included.
    """

    job_id: str
    duplicate: bool
    deliveries: int


@dataclass(frozen=True)
class StoredCallback:
    """
    The callback readers get for a job: the first terminal body, and how many POSTs came for the job.

    :param job_id: Mavi's job id.
    :param seq: the arrival cursor of ``GET /v1/callbacks``.
    :param received_at: epoch seconds of the first delivery.
    :param deliveries: every accepted POST for the job.
    :param payload: the body as Mavi sent it.
    :param terminal: whether that body reports an outcome (see :func:`is_terminal`).
    """

    job_id: str
    seq: int
    received_at: float
    deliveries: int
    payload: bytes
    terminal: bool = True

    def to_json(self) -> dict[str, Any]:
        """The record of the HTTP contract: ``{job_id, received_at, deliveries, payload}``."""
        return {
            "job_id": self.job_id,
            "received_at": iso_utc(self.received_at),
            "deliveries": self.deliveries,
            "payload": json.loads(self.payload),
        }


@dataclass(frozen=True)
class StoredDelivery:
    """
    One distinct body stored for a job (``mavi-bridge show``).

    :param body_sha256: hash of the canonical JSON.
    :param received_at: epoch seconds of its first POST.
    :param last_received_at: epoch seconds of its latest POST.
    :param count: how many POSTs carried it.
    :param terminal: whether it reports an outcome.
    :param payload: the body as first received.
    """

    body_sha256: str
    received_at: float
    last_received_at: float
    count: int
    terminal: bool
    payload: bytes

    def to_json(self) -> dict[str, Any]:
        """Plain JSON, times in ISO 8601 UTC."""
        return {
            "received_at": iso_utc(self.received_at),
            "last_received_at": iso_utc(self.last_received_at),
            "count": self.count,
            "terminal": self.terminal,
            "body_sha256": self.body_sha256,
            "payload": json.loads(self.payload),
        }


@dataclass(frozen=True)
class JobSubmission:
    """
    A job an operator submitted (``PUT /v1/jobs/{job_id}``). Every field is a column of the jobs table; a
    repeat of the same ``job_id`` updates them all.

    :param job_id: Mavi's job id.
    :param kind: what was submitted (``extract_frames``, ``transcribe_video``, ...).
    :param asset_id: the asset the job works on.
    :param key: the caller's idempotency key (for example DAG, task, run and try), if any.
    :param dag_id: the Airflow DAG whose task submitted it, if any.
    :param run_id: that DAG run.
    :param task_id: that Airflow task (not Mavi's ``task_id``, which is ``job_id`` here).
    :param map_index: that task's map index (``-1`` when not mapped).
    :param deadline: epoch seconds after which the task no longer waits for the callback.
    """

    job_id: str
    kind: str
    asset_id: str
    key: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None
    deadline: float | None = None


@dataclass(frozen=True)
class StoredJob:
    """
    A recorded job with its state (``delivered`` is derived from the callbacks at read time).

    :param job_id: Mavi's job id.
    :param kind: what was submitted.
    :param asset_id: the asset the job works on.
    :param key: the caller's idempotency key.
    :param state: ``waiting``, ``delivered`` or ``abandoned``.
    :param submitted_at: epoch seconds of the first record.
    :param dag_id: the Airflow DAG whose task submitted it, if known.
    :param run_id: that DAG run.
    :param task_id: that Airflow task.
    :param map_index: that task's map index.
    :param deadline: epoch seconds after which nobody waits for its callback, if known.
    :param cost_usd: its price once the task recorded it (``POST /v1/jobs/{job_id}/cost``); None while
        unknown, never a guess.
    """

    job_id: str
    kind: str
    asset_id: str
    key: str | None
    state: str
    submitted_at: float
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None
    deadline: float | None = None
    cost_usd: float | None = None

    def to_json(self) -> dict[str, Any]:
        """Every field (``{job_id, kind, asset_id, key, state, submitted_at, dag_id, run_id, task_id,
        map_index, deadline, cost_usd}``), times in ISO 8601 UTC."""
        deadline = iso_utc(self.deadline) if self.deadline is not None else None
        return {**dataclasses.asdict(self), "submitted_at": iso_utc(self.submitted_at), "deadline": deadline}


@dataclass(frozen=True)
class ReceivedCallback:
    """
    A stored callback with the job recorded for it, if any (the Mavi page's lists).

    :param callback: the record readers get.
    :param job: the job an operator recorded under the same id; None when no task claimed it.
    """

    callback: StoredCallback
    job: StoredJob | None


@dataclass(frozen=True)
class SpendRow:
    """
    What the jobs of one DAG submitted on one day (UTC) cost.

    :param day: ``YYYY-MM-DD`` (UTC) of the submit.
    :param dag_id: the DAG, None for jobs recorded without one.
    :param jobs: jobs recorded.
    :param priced: how many of them have a recorded price.
    :param cost_usd: the sum of the recorded prices (jobs without one are not in it).
    """

    day: str
    dag_id: str | None
    jobs: int
    priced: int
    cost_usd: float


@dataclass(frozen=True)
class StoredConsumer:
    """
    A named reader of the arrival-ordered list and the position it has processed (``/v1/consumers``).

    :param name: the consumer's name (an event trigger's ``consumer``).
    :param cursor: the list cursor of the last callback it has processed (0: none yet).
    :param created_at: epoch seconds of its creation.
    :param updated_at: epoch seconds of its last move.
    """

    name: str
    cursor: int
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        """``{name, cursor, created_at, updated_at}``: the cursor as a string (as the list's ``next``)."""
        return {
            "name": self.name,
            "cursor": str(self.cursor),
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
        }


@dataclass(frozen=True)
class PurgeCounts:
    """
    How many rows a purge deleted.

    :param callbacks: records.
    :param deliveries: distinct bodies.
    :param jobs: recorded jobs.
    """

    callbacks: int
    deliveries: int
    jobs: int
