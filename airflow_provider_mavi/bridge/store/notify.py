"""
Cross-replica wake-ups on PostgreSQL: the writer sends ``NOTIFY`` in the callback's own transaction (delivered
at commit), and every replica ``LISTEN``s on a dedicated connection in a thread. The store poll of the waited
ids stays as the safety net (and is the only path on SQLite).
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CHANNEL = "mavi_bridge_callbacks"
MAX_PAYLOAD = 7000  # PostgreSQL's limit is 8000 bytes


def notify_payloads(job_ids: Sequence[str]) -> list[str]:
    """
    Split job ids into JSON-array payloads that fit one ``NOTIFY``.

    :param job_ids: the ids just written.
    """
    whole = json.dumps(list(job_ids))
    if len(whole) <= MAX_PAYLOAD:  # the usual batch: one notification
        return [whole]
    payloads: list[str] = []
    chunk: list[str] = []
    size = 2
    for job_id in job_ids:
        cost = len(json.dumps(job_id)) + 1
        if chunk and size + cost > MAX_PAYLOAD:
            payloads.append(json.dumps(chunk))
            chunk, size = [], 2
        chunk.append(job_id)
        size += cost
    if chunk:
        payloads.append(json.dumps(chunk))
    return payloads


class PgListener:
    """
    ``LISTEN`` in a daemon thread and hand every notified job id to ``on_ids`` (called in that thread).

    :param engine: an engine on the store's database (one connection is taken out of its pool).
    :param on_ids: receives the ids of each notification.
    """

    def __init__(self, engine: Engine, on_ids: Callable[[list[str]], None]) -> None:
        self._engine = engine
        self._on_ids = on_ids
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mavi-bridge-listen", daemon=True)
        self.listening = threading.Event()

    def start(self) -> None:
        """Start listening."""
        self._thread.start()

    def stop(self) -> None:
        """Stop within about a second."""
        self._stop.set()

    def _deliver(self, payload: str) -> None:
        try:
            ids = json.loads(payload)
        except ValueError:
            return
        if isinstance(ids, list):
            self._on_ids([str(i) for i in ids])

    def _run(self) -> None:
        while not self._stop.is_set():
            connection: Any = None
            try:
                raw = self._engine.raw_connection()
                connection = raw.dbapi_connection
                raw.detach()  # ours alone: never handed back to the pool in LISTEN state
                connection.autocommit = True
                cursor = connection.cursor()
                cursor.execute(f"LISTEN {CHANNEL}")
                cursor.close()
                self.listening.set()
                if callable(getattr(connection, "notifies", None)):  # psycopg 3
                    while not self._stop.is_set():
                        for note in connection.notifies(timeout=1.0):
                            self._deliver(note.payload)
                else:  # psycopg2
                    while not self._stop.is_set():
                        if select.select([connection], [], [], 1.0)[0]:
                            connection.poll()
                            while connection.notifies:
                                self._deliver(connection.notifies.pop(0).payload)
            except Exception as err:
                self.listening.clear()
                log.warning("mavi-bridge: LISTEN connection failed (%s); retrying", type(err).__name__)
                self._stop.wait(1.0)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):  # closing a broken connection
                        connection.close()
