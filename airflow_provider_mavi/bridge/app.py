"""
The bridge's FastAPI app: the callback inbox Mavi posts to, and the read API triggers long-poll.

``create_app(settings)`` builds it; ``mavi-bridge serve`` runs it under uvicorn, and the Airflow plugin mounts
the same app at ``/mavi`` in the API server. Nothing here imports Airflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import url as sa_url

from airflow_provider_mavi.bridge.inbox import CallbackInbox
from airflow_provider_mavi.bridge.metrics import BridgeMetrics
from airflow_provider_mavi.bridge.notify import PgListener
from airflow_provider_mavi.bridge.redact import redact_path
from airflow_provider_mavi.bridge.relay import Relay
from airflow_provider_mavi.bridge.store import JOB_ID_MAX, Store, StoreError, WriteResult
from airflow_provider_mavi.bridge.waits import WaitHub
from airflow_provider_mavi.bridge.writer import BatchWriter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from airflow_provider_mavi.bridge.settings import BridgeSettings

log = logging.getLogger("airflow_provider_mavi.bridge")

T = TypeVar("T")

MAX_BATCH_IDS = 5000
MAX_LIST = 1000


class Runtime:
    """
    Everything that lives in the event loop: store threads, group-commit writer, waiters, relay, poller.

    Started by the app's lifespan under ``mavi-bridge serve``, or lazily on the first request when mounted in
    another app (Starlette does not run a mounted app's lifespan).

    :param settings: the checked settings.
    """

    def __init__(self, settings: BridgeSettings) -> None:
        self.settings = settings
        self.hub = WaitHub()
        self.metrics = BridgeMetrics(lambda: self.hub.open_waits)
        self.store: Store | None = None
        self.writer: BatchWriter | None = None
        self.relay: Relay | None = None
        self._reads: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock: asyncio.Lock | None = None
        self.listener: PgListener | None = None
        self.started = False

    async def ensure_started(self) -> None:
        """Open the store, create its tables and start the background tasks (idempotent)."""
        if self.started:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.started:
                return
            loop = asyncio.get_running_loop()
            store = Store(self.settings.db_url)
            reads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="mavi-bridge-read")
            try:
                await loop.run_in_executor(reads, store.create)
            except BaseException:
                reads.shutdown(wait=False)
                store.dispose()
                raise
            self.store, self._reads = store, reads
            self.writer = BatchWriter(store, self._committed)
            self.writer.start()
            self.relay = Relay(self.settings.relay_urls, self.metrics)
            self.relay.start()
            self._tasks.append(loop.create_task(self._poll_other_replicas(), name="mavi-bridge-poller"))
            if store.dialect == "postgresql":
                hub = self.hub

                def on_ids(ids: list[str]) -> None:
                    loop.call_soon_threadsafe(hub.notify, ids)

                self.listener = PgListener(store.read_engine, on_ids)
                self.listener.start()
            if self.settings.retention_seconds:
                self._tasks.append(loop.create_task(self._purge_periodically(), name="mavi-bridge-purge"))
            self.started = True
            log.info("mavi-bridge: store ready (%s)", store.dialect)

    async def stop(self) -> None:
        """Stop the background tasks and close the store."""
        if not self.started:
            return
        if self.listener is not None:
            self.listener.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.writer is not None:
            await self.writer.stop()
        if self.relay is not None:
            await self.relay.stop()
        if self._reads is not None:
            self._reads.shutdown(wait=False)
        if self.store is not None:
            self.store.dispose()
        self.started = False

    async def read(self, func: Any, *args: Any) -> Any:
        """
        Run a blocking store read in the read threads.

        :param func: the store method.
        :param args: its arguments.
        """
        return await asyncio.get_running_loop().run_in_executor(self._reads, func, *args)

    def _committed(self, results: Sequence[WriteResult], at: float) -> None:
        self.metrics.batch_size.observe(len(results))
        self.hub.notify((r.job_id for r in results), at)

    async def _poll_other_replicas(self) -> None:
        """Wake waiters whose callback another replica (or process) stored: one cheap query per interval."""
        assert self.store is not None
        while True:
            await asyncio.sleep(self.settings.poll_interval)
            waited = self.hub.waited_ids()
            if not waited:
                continue
            try:
                found = await self.read(self.store.present, waited)
            except Exception as err:
                log.warning("mavi-bridge: store poll failed (%s)", type(err).__name__)
                continue
            if found:
                self.hub.notify(found)

    async def _purge_periodically(self) -> None:
        assert self.store is not None
        assert self.settings.retention_seconds
        while True:
            try:
                counts = await self.read(self.store.purge, time.time() - self.settings.retention_seconds)
                log.info("mavi-bridge: retention purge removed %s", counts)
            except Exception as err:
                log.warning("mavi-bridge: retention purge failed (%s)", type(err).__name__)
            await asyncio.sleep(3600)

    async def wait_for_records(
        self, job_ids: Sequence[str], wait: float, disconnected: asyncio.Event | None = None
    ) -> list[dict[str, Any]]:
        """
        Return the stored records among ``job_ids``, waiting up to ``wait`` seconds for at least one.

        :param job_ids: the ids to look for.
        :param wait: seconds to wait when none is there yet (already capped).
        :param disconnected: set when the client went away; the wait then ends early.
        """
        assert self.store is not None
        if wait <= 0:
            return await self.read(self.store.get_callbacks, job_ids)
        waiter = self.hub.register(job_ids)
        relay_disconnect: asyncio.Task[None] | None = None
        if disconnected is not None:

            async def wake_on_disconnect() -> None:
                await disconnected.wait()
                waiter.event.set()

            relay_disconnect = asyncio.get_running_loop().create_task(wake_on_disconnect())
        try:
            records = await self.read(self.store.get_callbacks, job_ids)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait
            while not records:
                remaining = deadline - loop.time()
                if remaining <= 0 or (disconnected is not None and disconnected.is_set()):
                    return []
                try:
                    await asyncio.wait_for(waiter.event.wait(), remaining)
                except asyncio.TimeoutError:
                    return []
                notified = waiter.take_notified()
                if disconnected is not None and disconnected.is_set():
                    return []
                # only the ids that were notified can have changed since the full check
                records = await self.read(self.store.get_callbacks, notified)
                if records and waiter.notified_at is not None:
                    self.metrics.wake_latency.observe(time.monotonic() - waiter.notified_at)
            return records
        finally:
            if relay_disconnect is not None:
                relay_disconnect.cancel()
            self.hub.unregister(waiter)


class _Gate:
    """
    Outer ASGI layer: starts the runtime on first use and redacts the callback secret from ``scope["path"]``
    before the response starts, so access logs that read the scope (uvicorn's, Airflow's) never see it.
    """

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.inbox = CallbackInbox(runtime)
        self.noop = runtime.settings.noop_endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inbox = _INBOX_PATH.match(_relative(scope)) if scope.get("method") == "POST" else None
        if not self.runtime.started:
            try:
                await self.runtime.ensure_started()
            except Exception as err:
                log.error("mavi-bridge: cannot open the store (%s)", type(err).__name__)
                await JSONResponse({"detail": "store unavailable"}, status_code=503)(scope, receive, send)
                return
        path = scope.get("path", "")
        redacted = redact_path(path)
        if redacted == path:
            await self.app(scope, receive, send)
            return
        app: Any = self.app
        if inbox is not None and (inbox.group(1) == "callbacks" or self.noop):
            secret, store = inbox.group(2), inbox.group(1) == "callbacks"

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                await self.inbox(scope, receive, send, secret, store=store)

        def _redact() -> None:
            scope["path"] = redact_path(scope.get("path", ""))
            if "raw_path" in scope and isinstance(scope["raw_path"], bytes | bytearray):
                scope["raw_path"] = redact_path(scope["raw_path"].decode("latin-1")).encode("latin-1")

        async def redacting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                _redact()
            await send(message)

        try:
            await app(scope, receive, redacting_send)
        finally:
            _redact()


_INBOX_PATH = re.compile(r"^/(callbacks|_noop)/([^/]+)$")


def _relative(scope: Scope) -> str:
    """The path inside this app (a mounted app's scope still holds the mount prefix)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"detail": "missing or wrong bearer token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=400)


def _parse_wait(raw: Any, cap: float) -> float:
    if raw is None or raw == "":
        return 0.0
    if isinstance(raw, bool):
        raise ValueError
    value = float(raw)
    if value != value or value < 0:  # NaN or negative
        raise ValueError
    return min(value, cap)


async def _watch_disconnect(receive: Receive, event: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            event.set()
            return


def create_app(settings: BridgeSettings) -> FastAPI:
    """
    Build the bridge app; refuses (``BridgeConfigError``) without a callback secret and an API token.

    :param settings: the bridge's settings (see :class:`BridgeSettings`).
    """
    settings = settings.checked(require_secrets=True)
    runtime = Runtime(settings)
    assert settings.callback_secret is not None
    assert settings.api_token is not None
    token = settings.api_token.encode()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            await runtime.ensure_started()
        except Exception as err:
            where = sa_url.make_url(settings.db_url).render_as_string(hide_password=True)
            log.error("mavi-bridge: cannot open the store %s: %s: %s", where, type(err).__name__, err)
            raise StoreError(f"cannot open the store {where} ({type(err).__name__})") from None
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Mavi webhook bridge",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.runtime = runtime

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token)

    @app.get("/v1/callbacks/{job_id}")
    async def get_callback(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        try:
            wait = _parse_wait(request.query_params.get("wait"), settings.max_wait)
        except ValueError:
            return _bad("wait must be a number of seconds >= 0")
        disconnected = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(_watch_disconnect(request.receive, disconnected))
        try:
            records = await runtime.wait_for_records([job_id], wait, disconnected)
        finally:
            watcher.cancel()
        if not records:
            return JSONResponse({"detail": "no callback for this job yet"}, status_code=404)
        return JSONResponse(records[0])

    @app.post("/v1/callbacks/wait")
    async def wait_many(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return _bad("the body is not JSON")
        if not isinstance(body, dict):
            return _bad('the body must be {"job_ids": [...], "wait": seconds}')
        job_ids = body.get("job_ids")
        if (
            not isinstance(job_ids, list)
            or not job_ids
            or len(job_ids) > MAX_BATCH_IDS
            or not all(isinstance(j, str) and 0 < len(j) <= JOB_ID_MAX for j in job_ids)
        ):
            return _bad(f"job_ids must be a list of 1 to {MAX_BATCH_IDS} non-empty strings")
        try:
            wait = _parse_wait(body.get("wait"), settings.max_wait)
        except (TypeError, ValueError):
            return _bad("wait must be a number of seconds >= 0")
        disconnected = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(_watch_disconnect(request.receive, disconnected))
        try:
            records = await runtime.wait_for_records(job_ids, wait, disconnected)
        finally:
            watcher.cancel()
        return JSONResponse({"callbacks": records})

    @app.get("/v1/callbacks")
    async def list_callbacks(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        try:
            after = int(request.query_params.get("after") or 0)
            limit = int(request.query_params.get("limit") or 100)
        except ValueError:
            return _bad("after and limit must be integers")
        if after < 0 or not 1 <= limit <= MAX_LIST:
            return _bad(f"after must be >= 0 and limit between 1 and {MAX_LIST}")
        assert runtime.store is not None
        records, cursor = await runtime.read(runtime.store.list_callbacks, after, limit)
        return JSONResponse({"callbacks": records, "next": str(cursor)})

    @app.put("/v1/jobs/{job_id}")
    async def put_job(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return _bad("the body is not JSON")
        if not isinstance(body, dict):
            return _bad('the body must be {"kind": ..., "asset_id": ..., "key": ...}')
        kind, asset_id, key = body.get("kind"), body.get("asset_id"), body.get("key")
        if not isinstance(kind, str) or not kind or len(kind) > 64:
            return _bad("kind must be a non-empty string (at most 64 characters)")
        if not isinstance(asset_id, str) or not asset_id or len(asset_id) > JOB_ID_MAX:
            return _bad(f"asset_id must be a non-empty string (at most {JOB_ID_MAX} characters)")
        if key is not None and (not isinstance(key, str) or len(key) > 1000):
            return _bad("key must be a string (at most 1000 characters) or null")
        if len(job_id) > JOB_ID_MAX:
            return _bad(f"job_id must be at most {JOB_ID_MAX} characters")
        assert runtime.store is not None
        job = await runtime.read(lambda: runtime.store.put_job(job_id, kind=kind, asset_id=asset_id, key=key))
        return JSONResponse(job)

    @app.get("/v1/jobs/{job_id}")
    async def get_job(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        assert runtime.store is not None
        job = await runtime.read(runtime.store.get_job, job_id)
        if job is None:
            return JSONResponse({"detail": "unknown job"}, status_code=404)
        return JSONResponse(job)

    @app.get("/v1/jobs")
    async def find_jobs(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        key = request.query_params.get("key")
        if not key:
            return _bad("key is required")
        assert runtime.store is not None
        return JSONResponse({"jobs": await runtime.read(runtime.store.find_jobs, key)})

    @app.post("/v1/jobs/{job_id}/abandon")
    async def abandon_job(job_id: str, request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        assert runtime.store is not None
        job = await runtime.read(runtime.store.abandon_job, job_id)
        if job is None:
            return JSONResponse({"detail": "unknown job"}, status_code=404)
        return JSONResponse(job)

    @app.get("/healthz")
    async def healthz() -> Response:
        assert runtime.store is not None
        try:
            await asyncio.wait_for(runtime.read(runtime.store.ping), 5)
        except Exception as err:
            log.warning("mavi-bridge: health check failed (%s)", type(err).__name__)
            return JSONResponse({"status": "error", "store": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok", "open_waits": runtime.hub.open_waits})

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.add_middleware(_GateMiddleware, runtime=runtime)
    return app


class _GateMiddleware(_Gate):
    """:class:`_Gate` in the shape ``add_middleware`` expects."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        super().__init__(app, runtime)
