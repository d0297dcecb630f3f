"""The client-side limit on requests to one Mavi account, shared by the processes of one machine.

Mavi limits every v2 endpoint to about one request per second per account. Every hook of a process (the
triggerer runs many) and every process of the machine (Celery workers, the triggerer) that talks to the same
account with the same key takes a permit from one ``pyrate-limiter`` SQLite bucket before each request. The
bucket lives in a file under the temp directory named by a hash of (base URL, API key): never the key itself.
A file lock (``filelock``) makes the count-then-insert of the bucket atomic across processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import sqlite3
import tempfile
import threading
import weakref
from fractions import Fraction
from pathlib import Path

from filelock import FileLock, Timeout
from pyrate_limiter import Limiter, Rate, SQLiteBucket, SQLiteQueries

_LIMITERS: dict[tuple[int, str, int, int], Limiter] = {}
_LOCK = threading.Lock()
ITEM_NAME = "mavi"
#: The bucket every request shares when limits are kept per account.
ACCOUNT_BUCKET = "account"
TABLE = "mavi_requests"


def limiter_path(base_url: str, api_key: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """The SQLite file of the bucket of one account (named by a hash, never by the key).

    :param base_url: the connection's base URL.
    :param api_key: the API key.
    :param directory: where to keep it; the temp directory (``MAVI_RATE_LIMIT_DIR`` overrides) by default.
    """
    digest = hashlib.sha256(f"{base_url.rstrip('/')}\n{api_key}".encode()).hexdigest()[:32]
    root = Path(directory or os.environ.get("MAVI_RATE_LIMIT_DIR") or tempfile.gettempdir())
    return root / f"airflow-mavi-ratelimit-{digest}.sqlite"


#: The window is this much longer than the limit says, so the jitter between taking a permit and the request
#: reaching Mavi does not put N + 1 requests into one of Mavi's one-second windows.
SAFETY_MARGIN = 1.1


def rate_for(requests_per_second: float) -> Rate:
    """The ``pyrate-limiter`` rate for a requests-per-second figure, with :data:`SAFETY_MARGIN`.

    ``1`` gives 1 per 1100 ms, ``5`` gives 5 per 1100 ms, ``0.5`` gives 1 per 2200 ms.

    :param requests_per_second: permits per second, > 0.
    """
    if not requests_per_second > 0 or requests_per_second == float("inf"):
        raise ValueError(f"max_requests_per_second must be a number > 0, got {requests_per_second!r}")
    fraction = Fraction(requests_per_second).limit_denominator(1000)
    limit, seconds = fraction.numerator, fraction.denominator
    return Rate(max(1, limit), max(1, round(1000 * seconds * SAFETY_MARGIN)))


class AccountRateLimiter:
    """Permits for one Mavi account, blocking (sync) or with ``asyncio.sleep`` between tries (async).

    :param base_url: the connection's base URL.
    :param api_key: the API key (only its hash is used).
    :param requests_per_second: the account's limit.
    """

    def __init__(self, base_url: str, api_key: str, requests_per_second: float) -> None:
        self.requests_per_second = requests_per_second
        self.path = limiter_path(base_url, api_key)
        self._rate = rate_for(requests_per_second)
        self._limiter = _shared_limiter(self.path, self._rate)

    def __repr__(self) -> str:
        return f"AccountRateLimiter(requests_per_second={self.requests_per_second!r})"

    def acquire(self, bucket: str = ACCOUNT_BUCKET) -> None:
        """Block the thread until a permit is free.

        :param bucket: the endpoint's rate-limit bucket (its catalogue entry names it); every bucket shares
            the account's one bucket for now.
        """
        if not self._limiter.try_acquire(ITEM_NAME, blocking=True):
            raise RuntimeError("The Mavi rate limiter refused a permit (its file lock could not be taken).")

    async def aacquire(self, bucket: str = ACCOUNT_BUCKET) -> None:
        """Wait, without blocking the event loop, until a permit is free.

        :param bucket: the endpoint's rate-limit bucket (see :meth:`acquire`).

        Each try runs in a worker thread (the bucket does SQLite and file-lock I/O); between tries the
        coroutine sleeps a fraction of the permit interval. The coroutines of one event loop (a triggerer
        runs many) queue on one ``asyncio.Lock`` per bucket, first come first served, so only one of them
        polls the bucket at a time.
        """
        pause = self._rate.interval / 1000 / self._rate.limit
        async with _loop_lock(str(self.path)):
            while not await asyncio.to_thread(self._try_now):  # noqa: ASYNC110 - polls other processes' bucket
                await asyncio.sleep(pause * random.uniform(0.2, 0.5))

    def _try_now(self) -> bool:
        result = self._limiter.try_acquire(ITEM_NAME, blocking=False)
        return bool(result)


_LOOP_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _loop_lock(key: str) -> asyncio.Lock:
    """The ``asyncio.Lock`` of one bucket in the running event loop (made in, and dropped with, that loop)."""
    loop = asyncio.get_running_loop()
    with _LOCK:
        locks = _LOOP_LOCKS.setdefault(loop, {})
        lock = locks.get(key)
        if lock is None:
            lock = locks[key] = asyncio.Lock()
        return lock


def _shared_limiter(path: Path, rate: Rate) -> Limiter:
    """One ``Limiter`` per (process, bucket file, rate): made again after a fork (a SQLite connection must
    not cross one)."""
    key = (os.getpid(), str(path), rate.limit, rate.interval)
    with _LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            _prepare_file(path)
            limiter = Limiter(_sqlite_bucket(path, rate), buffer_ms=50)
            _LIMITERS[key] = limiter
        return limiter


def _prepare_file(path: Path) -> None:
    """Create the bucket file and its lock file, readable by their owner only; refuse symlinks (the temp
    directory is shared, and a planted link must not make the limiter write elsewhere)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for target in (path, Path(f"{path}.lock")):
        try:
            fd = os.open(target, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
        except OSError as error:
            raise RuntimeError(
                f"Cannot use the Mavi rate-limit file {target} ({error.strerror}); remove it or set "
                "MAVI_RATE_LIMIT_DIR to a private directory."
            ) from None
        os.close(fd)


def _sqlite_bucket(path: Path, rate: Rate) -> SQLiteBucket:
    """The bucket, as ``SQLiteBucket.init_from_file(use_file_lock=True)`` makes it, with a lock adapter."""
    lock = ProcessLock(f"{path}.lock")
    with lock:
        conn = sqlite3.connect(str(path), isolation_level="DEFERRED", check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL;")
        conn.execute("PRAGMA synchronous=NORMAL;")
        conn.execute(SQLiteQueries.CREATE_BUCKET_TABLE.format(table=TABLE))
        conn.execute(
            SQLiteQueries.CREATE_INDEX_ON_TIMESTAMP.format(index_name=f"idx_{TABLE}_ts", table_name=TABLE)
        )
        conn.commit()
    return SQLiteBucket([rate], conn, table=TABLE, lock=lock)


class ProcessLock:
    """A lock held across the processes of the machine (``filelock``) and the threads of this one.

    ``pyrate-limiter`` calls ``acquire(False)`` for a non-blocking try, which ``filelock`` 4 refuses; this
    adapter speaks the ``threading.Lock`` protocol instead.

    :param path: the lock file.
    """

    def __init__(self, path: str) -> None:
        self._lock = FileLock(path, mode=0o600)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock; False when it is busy (non-blocking) or the timeout passes.

        :param blocking: wait for it.
        :param timeout: seconds to wait at most; -1 waits for ever.
        """
        try:
            self._lock.acquire(
                timeout=(timeout if timeout is not None and timeout >= 0 else -1) if blocking else 0
            )
        except Timeout:
            return False
        return True

    def release(self) -> None:
        """Release the lock."""
        self._lock.release()

    def __enter__(self) -> ProcessLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
