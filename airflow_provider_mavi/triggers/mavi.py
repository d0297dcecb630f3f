"""Triggers of the Mavi provider: wait for a job's callback through the bridge, or for an asset to be ready.

Both carry an absolute deadline (epoch seconds, computed by the operator before it defers) so a triggerer
restart does not reset it, take only JSON primitives, resolve the connection asynchronously inside ``run()``
and yield exactly one event. The waiting triggers of one event loop share its bridge client
(:meth:`AsyncBridgeClient.shared`), which polls every waiter in chunks of ids, one batch long-poll per chunk
(:meth:`AsyncBridgeClient.wait_for`), so 10,000 waits cost a handful of sockets, and a callback re-posts
only its chunk's ids, not every waiter's.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mavi.bridge.client import (
    AsyncBridgeClient,
    BridgeAuthError,
    BridgeUnavailableError,
    CallbackRecord,
)
from airflow_provider_mavi.exceptions import (
    MaviAuthenticationError,
    MaviCallbackError,
    MaviNotFoundError,
)
from airflow_provider_mavi.hooks.mavi import MaviConnectionSettings, MaviHook
from airflow_provider_mavi.results import callback_outcome

#: The statuses a trigger event may carry; ``execute_complete`` rejects anything else.
EVENT_STATUSES = frozenset({"success", "failed", "timeout", "error"})

#: Longest single wait asked of the bridge; the bridge caps ``wait`` at 60 s and clients loop.
BRIDGE_WAIT_SECONDS = 55.0
#: Backoff between attempts while the bridge (or Mavi) cannot be reached: doubles up to the cap.
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0


def _now() -> float:
    """Wall-clock epoch seconds (one place, so tests can move the clock)."""
    return time.time()


async def _sleep(seconds: float) -> None:
    """Sleep without blocking the loop (one place, so tests can skip the wait)."""
    await asyncio.sleep(seconds)


def public_url(url: str | None) -> str:
    """
    Return ``url`` without user info, query or fragment, safe to show in logs and errors.

    :param url: a configured URL, possibly carrying credentials.
    """
    if not url:
        return "(no bridge_url set)"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def event_from_record(job_id: str, record: CallbackRecord) -> dict[str, Any]:
    """
    Turn a stored callback into the trigger event that ends the wait (shared with the blocking mode).

    :param job_id: the Mavi job id waited for.
    :param record: the callback the bridge stored for it.
    """
    payload = record.payload
    base: dict[str, Any] = {
        "job_id": job_id,
        "received_at": record.received_at,
        "deliveries": record.deliveries,
        "payload": payload,
    }
    try:
        succeeded, message = callback_outcome(payload)
    except MaviCallbackError as error:
        return {
            **base,
            "status": "error",
            "message": f"Mavi sent a malformed callback for job {job_id}: {error}",
        }
    if succeeded:
        return {**base, "status": "success", "message": message}
    return {**base, "status": "failed", "message": message}


def timeout_event(job_id: str, deadline: float, bridge_url: str | None) -> dict[str, Any]:
    """
    The event of a wait that reached its deadline with no callback stored.

    :param job_id: the Mavi job id waited for.
    :param deadline: the deadline, epoch seconds.
    :param bridge_url: the bridge that was asked (credentials are stripped).
    """
    return {
        "status": "timeout",
        "job_id": job_id,
        "deadline": deadline,
        "bridge_url": public_url(bridge_url),
        "message": f"no callback for Mavi job {job_id} reached the bridge at {public_url(bridge_url)} "
        "in time",
    }


class _ErrorLog:
    """Logs each distinct error once while it repeats, and once more when things work again."""

    def __init__(self, trigger: BaseTrigger, what: str) -> None:
        self._trigger = trigger
        self._what = what
        self._seen: set[str] = set()
        self.in_row = 0

    def failed(self, error: BaseException) -> None:
        self.in_row += 1
        text = f"{type(error).__name__}: {error}"
        if text in self._seen:
            self._trigger.log.debug("%s still failing (%d in a row): %s", self._what, self.in_row, text)
            return
        self._seen.add(text)
        self._trigger.log.warning("%s failed (%d in a row), will retry: %s", self._what, self.in_row, text)

    def succeeded(self) -> None:
        if self.in_row:
            self._trigger.log.info("%s works again after %d failed attempts", self._what, self.in_row)
        self.in_row = 0
        self._seen.clear()

    def backoff(self) -> float:
        return min(BACKOFF_CAP_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(self.in_row - 1, 0))


#: Seconds a connection read by one trigger is re-used by the others of the same event loop.
SETTINGS_TTL_SECONDS = 60.0
_settings_cache: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, tuple[float, asyncio.Future[MaviConnectionSettings]]]
] = weakref.WeakKeyDictionary()


async def _settings(conn_id: str) -> MaviConnectionSettings:
    """
    The connection's settings, read once per event loop and TTL, however many triggers start at once.

    A triggerer restarting with thousands of Mavi triggers would otherwise ask the API server for the same
    connection thousands of times. A failed read is not cached.

    :param conn_id: the ``mavi`` connection id.
    """
    loop = asyncio.get_running_loop()
    cache = _settings_cache.setdefault(loop, {})
    entry = cache.get(conn_id)
    stale = (
        entry is not None and entry[1].done() and (entry[1].cancelled() or entry[1].exception() is not None)
    )
    if entry is None or stale or entry[0] < time.monotonic():
        future = loop.create_task(MaviHook(mavi_conn_id=conn_id).aget_settings())
        entry = cache[conn_id] = (time.monotonic() + SETTINGS_TTL_SECONDS, future)
    try:
        return await asyncio.shield(entry[1])
    except Exception:
        if cache.get(conn_id) is entry:
            del cache[conn_id]
        raise


class MaviJobCallbackTrigger(BaseTrigger):
    """
    Wait until the bridge holds the callback of one Mavi job, or until the deadline.

    Yields exactly one event: ``{"status": "success", "job_id", "payload", ...}``, ``"failed"`` with Mavi's
    message, ``"timeout"`` (nothing stored by the deadline) or ``"error"`` (the bridge refused the token,
    the connection is unusable, or unexpected errors repeated). The bridge being unreachable or restarting
    is waited out with backoff until the deadline: the callback is stored durably there, so a trigger
    re-created after a restart still finds it.

    :param job_id: the Mavi job id (Mavi's ``task_id``).
    :param deadline: when to give up, epoch seconds (absolute, so restarts do not extend it).
    :param mavi_conn_id: the ``mavi`` connection holding ``bridge_url`` and ``bridge_token``.
    :param max_consecutive_errors: unexpected errors tolerated in a row before the ``error`` event.
    """

    def __init__(
        self,
        *,
        job_id: str,
        deadline: float,
        mavi_conn_id: str = "mavi_default",
        max_consecutive_errors: int = 5,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.deadline = float(deadline)
        self.mavi_conn_id = mavi_conn_id
        self.max_consecutive_errors = int(max_consecutive_errors)
        self._bridge_url: str | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the JSON-only kwargs that re-create this trigger."""
        return (
            "airflow_provider_mavi.triggers.mavi.MaviJobCallbackTrigger",
            {
                "job_id": self.job_id,
                "deadline": self.deadline,
                "mavi_conn_id": self.mavi_conn_id,
                "max_consecutive_errors": self.max_consecutive_errors,
            },
        )

    def _error(self, message: str) -> TriggerEvent:
        return TriggerEvent({"status": "error", "job_id": self.job_id, "message": message})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait for the callback; yield one event."""
        try:
            settings = await _settings(self.mavi_conn_id)
        except Exception as error:
            yield self._error(
                f"cannot read connection {self.mavi_conn_id!r}: {type(error).__name__}: {error}"
            )
            return
        if not settings.bridge_url or not settings.bridge_token:
            yield self._error(
                f"connection {self.mavi_conn_id!r} has no bridge_url or no bridge_token in its extras: "
                "the callback of a Mavi job can only be read from the bridge"
            )
            return
        self._bridge_url = settings.bridge_url
        client = AsyncBridgeClient.shared(settings.bridge_url, settings.bridge_token)
        self.log.info(
            "Waiting for the callback of Mavi job %s at %s until %s",
            self.job_id,
            public_url(settings.bridge_url),
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.deadline)),
        )
        event = await self._wait(client)
        yield TriggerEvent(event)

    def _auth_error(self) -> dict[str, Any]:
        return {
            "status": "error",
            "job_id": self.job_id,
            "message": f"the bridge at {public_url(self._bridge_url)} refused the bridge_token of "
            f"connection {self.mavi_conn_id!r} (401)",
        }

    async def _final_look(self, client: AsyncBridgeClient, errors: _ErrorLog) -> dict[str, Any]:
        # Past the deadline without a wait that covered it (a restart, a late start, an outage): one last
        # look, so a callback stored meanwhile is still found.
        try:
            record = await client.get_callback(self.job_id, wait=0)
        except BridgeAuthError:
            return self._auth_error()
        except Exception as error:
            errors.failed(error)
            event = timeout_event(self.job_id, self.deadline, self._bridge_url)
            event["message"] += f" (and the last look failed: {type(error).__name__}: {error})"
            return event
        if record is not None:
            return event_from_record(self.job_id, record)
        return timeout_event(self.job_id, self.deadline, self._bridge_url)

    async def _wait(self, client: AsyncBridgeClient) -> dict[str, Any]:
        errors = _ErrorLog(self, f"reading the bridge at {public_url(self._bridge_url)}")
        unexpected_in_row = 0
        while True:
            remaining = self.deadline - _now()
            if remaining <= 0:
                return await self._final_look(client, errors)
            step = min(remaining, BRIDGE_WAIT_SECONDS)
            try:
                record = await client.wait_for(self.job_id, timeout=step)
            except BridgeAuthError:
                return self._auth_error()
            except BridgeUnavailableError as error:
                # The bridge is restarting or unreachable: wait it out until the deadline.
                errors.failed(error)
                unexpected_in_row = 0
                await self._backoff(errors.backoff())
                continue
            except Exception as error:
                errors.failed(error)
                unexpected_in_row += 1
                if unexpected_in_row >= self.max_consecutive_errors:
                    return {
                        "status": "error",
                        "job_id": self.job_id,
                        "message": f"{unexpected_in_row} errors in a row reading the bridge at "
                        f"{public_url(self._bridge_url)}, the last: {type(error).__name__}: {error}",
                    }
                await self._backoff(errors.backoff())
                continue
            errors.succeeded()
            unexpected_in_row = 0
            if record is not None:
                event = event_from_record(self.job_id, record)
                self.log.info("Mavi job %s: callback found, status %s", self.job_id, event["status"])
                return event
            # Nothing yet: loop; past the deadline, one last look decides between callback and timeout.

    async def _backoff(self, seconds: float) -> None:
        remaining = self.deadline - _now()
        await _sleep(max(0.0, min(seconds, remaining)))

    async def on_kill(self) -> None:
        """Tell the bridge nobody waits for this job any more (best effort: Mavi has no cancel)."""
        try:
            settings = await _settings(self.mavi_conn_id)
            if settings.bridge_url and settings.bridge_token:
                client = AsyncBridgeClient.shared(settings.bridge_url, settings.bridge_token)
                await asyncio.wait_for(client.abandon_job(self.job_id), timeout=10)
                self.log.info("Mavi job %s marked abandoned in the bridge", self.job_id)
        except Exception as error:
            self.log.warning("Could not mark Mavi job %s abandoned: %s", self.job_id, type(error).__name__)


def asset_status(entries: list[dict[str, Any]], asset_id: str) -> tuple[str | None, dict[str, Any]]:
    """
    The ``upload_status`` of an asset from its metadata entries, and the entry it was read from.

    A ``re_`` or ``imc_`` asset has its own entry. An ``im_`` frame group lists its frames instead: it is
    ``FAILED`` when a frame is, ``SUCCESS`` when every frame is, else the first other status seen.

    :param entries: the ``resource`` entries of ``GET /{asset_id}/metadata``.
    :param asset_id: the asset asked about.
    """
    valid = [entry for entry in entries if isinstance(entry, Mapping)]
    for entry in valid:
        if entry.get("asset_id") == asset_id:
            return str(entry.get("upload_status")), dict(entry)
    if not valid:
        return None, {}
    statuses = [str(entry.get("upload_status")) for entry in valid]
    summary = {"asset_id": asset_id, "frames": len(valid)}
    if "FAILED" in statuses:
        return "FAILED", summary
    if all(status == "SUCCESS" for status in statuses):
        return "SUCCESS", summary
    return next(status for status in statuses if status != "SUCCESS"), summary


class MaviAssetReadyTrigger(BaseTrigger):
    """
    Poll an asset's metadata until its ``upload_status`` is ``SUCCESS`` or ``FAILED``, or the deadline.

    Yields one event: ``{"status": "success", "asset_id", "metadata"}``, ``"failed"`` (``FAILED``, or the
    asset does not exist), ``"timeout"`` or ``"error"`` (the key is refused, or errors repeated). The poll
    interval is never shorter than the connection's rate limit allows.

    :param asset_id: the asset to watch (``re_``, ``im_`` or ``imc_``).
    :param deadline: when to give up, epoch seconds.
    :param mavi_conn_id: the ``mavi`` connection.
    :param poll_interval: seconds between two metadata reads.
    :param max_consecutive_errors: failed reads tolerated in a row before the ``error`` event.
    """

    def __init__(
        self,
        *,
        asset_id: str,
        deadline: float,
        mavi_conn_id: str = "mavi_default",
        poll_interval: float = 5.0,
        max_consecutive_errors: int = 5,
    ) -> None:
        super().__init__()
        self.asset_id = asset_id
        self.deadline = float(deadline)
        self.mavi_conn_id = mavi_conn_id
        self.poll_interval = float(poll_interval)
        self.max_consecutive_errors = int(max_consecutive_errors)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the JSON-only kwargs that re-create this trigger."""
        return (
            "airflow_provider_mavi.triggers.mavi.MaviAssetReadyTrigger",
            {
                "asset_id": self.asset_id,
                "deadline": self.deadline,
                "mavi_conn_id": self.mavi_conn_id,
                "poll_interval": self.poll_interval,
                "max_consecutive_errors": self.max_consecutive_errors,
            },
        )

    def _event(self, status: str, message: str, **extra: Any) -> TriggerEvent:
        return TriggerEvent({"status": status, "asset_id": self.asset_id, "message": message, **extra})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the asset is ready, failed, or the deadline passes; yield one event."""
        try:
            settings = await _settings(self.mavi_conn_id)
        except Exception as error:
            yield self._event(
                "error", f"cannot read connection {self.mavi_conn_id!r}: {type(error).__name__}: {error}"
            )
            return
        interval = max(self.poll_interval, 1.0 / max(settings.max_requests_per_second, 1e-6))
        hook = MaviHook(mavi_conn_id=self.mavi_conn_id)
        errors = _ErrorLog(self, f"reading the metadata of {self.asset_id}")
        last_status: str | None = None
        while True:
            try:
                entries = await hook.aget_asset_metadata(self.asset_id)
            except MaviAuthenticationError as error:
                yield self._event("error", f"Mavi refused the API key: {error}")
                return
            except MaviNotFoundError as error:
                yield self._event("failed", f"asset {self.asset_id} does not exist: {error}")
                return
            except Exception as error:
                errors.failed(error)
                if errors.in_row >= self.max_consecutive_errors:
                    yield self._event(
                        "error",
                        f"{errors.in_row} failed metadata reads in a row for {self.asset_id}, the last: "
                        f"{type(error).__name__}: {error}",
                    )
                    return
                entries = None
            if entries is not None:
                errors.succeeded()
                status, entry = asset_status(entries, self.asset_id)
                if status != last_status:
                    self.log.info("Asset %s upload_status: %s", self.asset_id, status)
                    last_status = status
                if status == "SUCCESS":
                    yield self._event("success", "SUCCESS", metadata=entry)
                    return
                if status == "FAILED":
                    yield self._event("failed", f"Mavi reports upload_status FAILED for {self.asset_id}")
                    return
            remaining = self.deadline - _now()
            if remaining <= 0:
                yield self._event(
                    "timeout",
                    f"asset {self.asset_id} was not ready by the deadline (last status {last_status})",
                )
                return
            wait = errors.backoff() if errors.in_row else interval
            await _sleep(max(min(wait, remaining), 0.0))
