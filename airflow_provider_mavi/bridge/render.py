"""
Stored callbacks as JSON answers, one record at a time, so one record that cannot be served never fails the
answer of the others.

The intake stores only strict JSON, so every record it acknowledged renders. A record that still does not
(stored by an older bridge, or changed in the database by hand) is served *escaped*: its ``payload`` is
reduced to ``{"task_id": job_id}`` and ``unreadable`` holds why and the stored bytes as text, so the waiting
task ends with a clear "malformed callback" instead of a timeout, and a person can see what came. Each one is
counted (``mavi_bridge_records_unreadable_total``) and logged once per job and process.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from airflow_provider_mavi.bridge.store import iso_utc

if TYPE_CHECKING:
    from collections.abc import Iterable

    from prometheus_client import Counter

    from airflow_provider_mavi.bridge.store import StoredCallback

log = logging.getLogger("airflow_provider_mavi.bridge")

_LOGGED_MAX = 10_000


def dumps(value: Any) -> bytes:
    """
    Serialise ``value`` as strict compact JSON in UTF-8 (what every answer of the read API is).

    :param value: plain JSON data; ``ValueError`` on a non-finite number or a lone surrogate.
    """
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class JSONBytes(Response):
    """A response whose body is JSON already serialised."""

    media_type = "application/json"


class RecordRenderer:
    """
    Render stored callbacks, escaping the ones that cannot be served.

    :param unreadable: the counter of escaped records.
    """

    def __init__(self, unreadable: Counter) -> None:
        self.unreadable = unreadable
        self._logged: set[str] = set()

    def record(self, record: StoredCallback, extra: dict[str, Any] | None = None) -> bytes:
        """
        The record's JSON ``{job_id, received_at, deliveries, payload}``, escaped if it cannot be served.

        :param record: a stored callback.
        :param extra: more fields of the answer (the list's ``cursor``, ``kind``, ``terminal``).
        """
        try:
            return dumps({**record.to_json(), **(extra or {})})
        except (ValueError, RecursionError) as err:  # UnicodeError is a ValueError
            return self._escaped(record, err, extra or {})

    def records(self, records: Iterable[StoredCallback]) -> bytes:
        """
        A JSON array of records.

        :param records: stored callbacks.
        """
        return b"[" + b",".join(self.record(r) for r in records) + b"]"

    def listed(self, records: Iterable[StoredCallback], kinds: dict[str, str]) -> bytes:
        """
        A JSON array of records of the arrival-ordered list, each with its ``cursor``, its job's ``kind``
        (null when the bridge has no record of the job) and ``terminal``.

        :param records: stored callbacks.
        :param kinds: the recorded kind of each job that has one.
        """
        return (
            b"["
            + b",".join(
                self.record(r, {"cursor": str(r.seq), "kind": kinds.get(r.job_id), "terminal": r.terminal})
                for r in records
            )
            + b"]"
        )

    def _escaped(self, record: StoredCallback, err: BaseException, extra: dict[str, Any]) -> bytes:
        reason = f"the stored body is not strict JSON ({type(err).__name__}: {str(err)[:120]})"
        self.unreadable.inc()
        if record.job_id not in self._logged:
            if len(self._logged) < _LOGGED_MAX:
                self._logged.add(record.job_id)
            log.warning(
                "mavi-bridge: the callback stored for job %s cannot be served as JSON (%s); served escaped",
                record.job_id,
                type(err).__name__,
            )
        return json.dumps(
            {
                "job_id": record.job_id,
                "received_at": iso_utc(record.received_at),
                "deliveries": record.deliveries,
                "payload": {"task_id": record.job_id},
                "unreadable": {
                    "reason": reason,
                    "body": bytes(record.payload).decode("utf-8", errors="backslashreplace"),
                },
                **extra,
            },
            separators=(",", ":"),
        ).encode("ascii")
