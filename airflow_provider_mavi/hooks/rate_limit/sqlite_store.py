"""The local store: one SQLite file per account, shared by every process of this machine.

One row per bucket holds its theoretical arrival time (TAT, epoch microseconds). A reservation is a single
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement: SQLite takes its write lock for the statement,
so processes never interleave a read and a write, without a file lock of our own. In WAL mode with
``synchronous=NORMAL`` a reservation costs tens of microseconds (no ``fsync`` per permit).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from airflow_provider_mavi.exceptions import MaviRateLimitStoreError
from airflow_provider_mavi.hooks.rate_limit.stores import store_error

TABLE = "mavi_permits"
_CREATE = f"CREATE TABLE IF NOT EXISTS {TABLE} (bucket TEXT PRIMARY KEY, tat INTEGER NOT NULL)"
_RESERVE = (
    f"INSERT INTO {TABLE} (bucket, tat) VALUES (?, ?) "  # noqa: S608 - a constant table name
    "ON CONFLICT (bucket) DO UPDATE SET tat = max(tat, excluded.tat - ?) + ? RETURNING tat"
)


class SQLitePermitStore:
    """The buckets of one account in a SQLite file (the machine's wall clock, shared by its processes; a
    clock set back by some seconds delays the next permit by as much, once).

    :param path: the file; created readable by its owner only; a symlink is refused (the temp directory is
        shared, and a planted link must not make the limiter write elsewhere).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.description = f"the local file {self.path}"
        self._lock = threading.Lock()
        _prepare_file(self.path)
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_CREATE)
        except sqlite3.Error as error:
            raise store_error(self.description, error) from None
        self._conn = conn

    def reserve(self, key: str, interval_us: int, count: int) -> float:
        """Reserve the next ``count`` slots of ``key`` (see :class:`~.stores.PermitStore`).

        :param key: the bucket's key.
        :param interval_us: microseconds between two slots.
        :param count: slots to reserve.
        """
        step = interval_us * count
        try:
            with self._lock:
                now = time.time_ns() // 1000
                (tat,) = self._conn.execute(_RESERVE, (key, now + step, step, step)).fetchone()
        except sqlite3.Error as error:
            raise store_error(self.description, error) from None
        return max(0, tat - step - now) / 1_000_000


def _prepare_file(path: Path) -> None:
    """Create the bucket file readable by its owner only; refuse a symlink in its place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        raise MaviRateLimitStoreError(
            f"Cannot use the Mavi rate-limit file {path} ({error.strerror}); remove it or set "
            "MAVI_RATE_LIMIT_DIR to a private directory."
        ) from None
    os.close(fd)
