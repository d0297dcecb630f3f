"""
The bridge's pages: ``GET /ui/`` (the Mavi page), ``GET /ui/jobs/{job_id}`` (one job), ``/ui/static/...``.

Every page but the static files asks the gate (:class:`~.sessions.UiAuth`) first: an anonymous request gets
the gate's 401 page and nothing is read from the store. The store is read in the runtime's read threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from airflow_provider_mavi.bridge.checks import InvalidInput, check_job_id
from airflow_provider_mavi.bridge.store import JOB_ID_MAX
from airflow_provider_mavi.bridge.ui import views
from airflow_provider_mavi.bridge.ui.pages import page, static, ui_root

if TYPE_CHECKING:
    from airflow_provider_mavi.bridge.runtime import Runtime
    from airflow_provider_mavi.bridge.ui.sessions import UiAuth

log = logging.getLogger("airflow_provider_mavi.bridge.ui")

WAITING_LIMIT = 200
RECEIVED_LIMIT = 50
UNCLAIMED_LIMIT = 50
SPEND_DAYS = 30
#: Seconds between the page's own refreshes (its script fetches it again and swaps the content).
REFRESH_SECONDS = 5


def ui_router(runtime: Runtime, auth: UiAuth) -> APIRouter:
    """
    Build the router of the pages.

    :param runtime: the bridge's runtime (its store, metrics and waiters).
    :param auth: who may see the pages.
    """
    router = APIRouter(include_in_schema=False)
    auth.add_routes(router)

    @router.get("/ui/static/{name}")
    async def static_file(name: str) -> Response:
        return static(name)

    @router.get("/ui")
    async def ui_bare(request: Request) -> Response:
        return RedirectResponse(ui_root(request) + "/", status_code=307)

    @router.get("/ui/")
    async def overview(request: Request) -> Response:
        user = await auth.user(request)
        if user is None:
            return auth.refuse(request)
        try:
            context = await _overview(runtime)
        except Exception as err:
            log.warning("mavi-bridge: the Mavi page could not read the store (%s)", type(err).__name__)
            return page(request, "overview.html", status=503, user=user, store_error=type(err).__name__)
        return page(request, "overview.html", user=user, refresh=REFRESH_SECONDS, **context)

    @router.get("/ui/jobs/{job_id:path}")
    async def job_page(job_id: str, request: Request) -> Response:
        user = await auth.user(request)
        if user is None:
            return auth.refuse(request)
        try:
            check_job_id(job_id)
        except InvalidInput:  # no job can have this id (and PostgreSQL cannot even compare it: NUL)
            return page(request, "job.html", status=404, user=user, job_id=job_id[:JOB_ID_MAX], found=False)
        assert runtime.store is not None
        store = runtime.store
        job, callbacks, deliveries = await asyncio.gather(
            runtime.read(store.get_job, job_id),
            runtime.read(store.get_callbacks, [job_id]),
            runtime.read(store.get_deliveries, job_id),
        )
        callback = callbacks[0] if callbacks else None
        found = job is not None or callback is not None or bool(deliveries)
        return page(
            request,
            "job.html",
            status=200 if found else 404,
            user=user,
            job_id=job_id,
            found=found,
            job=job,
            callback=callback,
            deliveries=deliveries,
            now=time.time(),
            deadline=views.deadline(job.deadline, time.time()) if job is not None else None,
            kind_hint=views.kind_from_shape(callback.payload) if callback and job is None else None,
        )

    return router


async def _overview(runtime: Runtime) -> dict[str, Any]:
    """Everything the Mavi page shows, read at once."""
    assert runtime.store is not None
    store, now = runtime.store, time.time()
    await asyncio.wait_for(runtime.read(store.ping), 5)
    waiting, received, unclaimed, spend, last_minute, last_hour = await asyncio.gather(
        runtime.read(store.waiting_jobs, WAITING_LIMIT),
        runtime.read(store.received_callbacks, RECEIVED_LIMIT),
        runtime.read(lambda: store.received_callbacks(UNCLAIMED_LIMIT, unclaimed=True)),
        runtime.read(store.spend, now - SPEND_DAYS * 86400),
        runtime.read(store.count_callbacks, now - 60),
        runtime.read(store.count_callbacks, now - 3600),
    )
    counts = runtime.metrics.counts()
    return {
        "now": now,
        "backend": store.backend,
        "ingest": views.Ingest(
            last_minute=last_minute,
            last_hour=last_hour,
            posts=counts.received,
            duplicates=counts.duplicates,
            rejected={reason: n for reason, n in counts.rejected.items() if n},
            open_waits=runtime.hub.open_waits,
        ),
        "waiting": [(job, views.deadline(job.deadline, now)) for job in waiting],
        "received": received,
        "unclaimed": [(item.callback, views.kind_from_shape(item.callback.payload)) for item in unclaimed],
        "spend_days": SPEND_DAYS,
        "spend_by_dag": views.spend_by_dag(spend),
        "spend_by_day": views.spend_by_day(spend),
        "limits": {"waiting": WAITING_LIMIT, "received": RECEIVED_LIMIT, "unclaimed": UNCLAIMED_LIMIT},
    }
