"""``MaviBridgeHook``: the bridge's read API for operators, sensors and triggers, blocking and async.

Every method runs a plan of :mod:`~airflow_provider_mavi.hooks.bridge_plans` (over the one request builder,
:mod:`~airflow_provider_mavi.hooks.bridge_protocol`: URLs, answer checks, retries, the job wait) through one
of two drivers: :meth:`MaviBridgeHook._run` (blocking,
``httpx.Client``) and :meth:`MaviBridgeHook._arun` (async, the event loop's shared
:class:`~airflow_provider_mavi.hooks.bridge_batch.LoopClient`, whose batch long-polls every waiting trigger of
the loop shares). The token goes only into the ``Authorization`` header: never into a log line, an error, a
repr or an event.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from airflow.sdk import BaseHook

from airflow_provider_mavi import __version__
from airflow_provider_mavi.hooks import bridge_plans as plans
from airflow_provider_mavi.hooks import bridge_protocol as protocol
from airflow_provider_mavi.hooks.bridge_batch import LoopClient
from airflow_provider_mavi.hooks.bridge_protocol import (
    CallbackRecord,
    Plan,
    Poll,
    ReadConnection,
    Request,
    Sleep,
    Step,
    Stepper,
    TaskRef,
    check_job_id,
    public_url,
)
from airflow_provider_mavi.hooks.bridge_settings import BridgeSettings, aread_shared, bridge_settings
from airflow_provider_mavi.hooks.bridge_stream import BridgeStreamMethods
from airflow_provider_mavi.retry import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_mavi.events import JobEvent

__all__ = ["BridgeSettings", "CallbackRecord", "MaviBridgeHook", "TaskRef", "check_job_id", "public_url"]

T = TypeVar("T")
USER_AGENT = f"airflow-provider-mavi/{__version__}"


class MaviBridgeHook(BridgeStreamMethods, BaseHook):
    """Read Mavi's callbacks from the bridge, and record the jobs waiting for them.

    Build it from a ``mavi`` connection (``MaviBridgeHook("mavi_default")``: extras ``bridge_url`` and
    ``bridge_token``) or from the two values (``MaviBridgeHook.from_url(url, token)``). Async twins carry
    the prefix ``a`` (``aget_callback``, ``await_for_job``...); they share the running event loop's sockets
    and batch long-polls with every other bridge hook of the loop. The arrival-ordered list and its named
    consumers (``list_page``, ``start_consumer``, ``advance_consumer``...) come from
    :class:`~airflow_provider_mavi.hooks.bridge_stream.BridgeStreamMethods`.

    :param mavi_conn_id: the ``mavi`` connection.
    :param bridge_url: the bridge's base URL (with ``bridge_token``: no connection is read).
    :param bridge_token: the bearer token.
    :param retry_policy: how transient bridge errors are retried (the bridge down, 5xx, 429).
    :param max_wait_errors: attempts in a row a job wait allows for errors other than the bridge being down.
    :param max_connections: async sockets per event loop (half of them for batch long-polls).
    :param batch_size: job ids per batch long-poll before another is started (1 to 5,000).
    :param poll_wait: seconds each batch long-poll asks the bridge to hold it.
    :param transport: an ``httpx.MockTransport`` for tests (both sides use it instead of the network).
    """

    conn_name_attr = "mavi_conn_id"
    default_conn_name = "mavi_default"
    conn_type = "mavi"
    hook_name = "Mavi bridge"

    def __init__(
        self,
        mavi_conn_id: str = default_conn_name,
        *,
        bridge_url: str | None = None,
        bridge_token: str | None = None,
        retry_policy: RetryPolicy | None = None,
        max_wait_errors: int = 5,
        max_connections: int = 8,
        batch_size: int = 1000,
        poll_wait: float = 50.0,
        transport: httpx.MockTransport | None = None,
    ) -> None:
        super().__init__()
        if (bridge_url is None) != (bridge_token is None):
            raise ValueError("bridge_url and bridge_token go together: give both, or neither")
        if bridge_url is not None and not (bridge_url.strip() and str(bridge_token).strip()):
            raise ValueError("bridge_url and bridge_token must not be empty")
        if max_wait_errors < 1:
            raise ValueError(f"max_wait_errors must be at least 1, not {max_wait_errors!r}")
        if not 1 <= batch_size <= protocol.MAX_BATCH_IDS:
            raise ValueError(f"batch_size must be 1 to {protocol.MAX_BATCH_IDS}, not {batch_size!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections!r}")
        self.mavi_conn_id = mavi_conn_id
        self.retry_policy = retry_policy or RetryPolicy()
        self.max_wait_errors = max_wait_errors
        self.max_connections = max_connections
        self.batch_size = batch_size
        self.poll_wait = poll_wait
        self._transport = transport
        self._settings = (
            BridgeSettings(bridge_url.strip().rstrip("/"), bridge_token.strip())
            if bridge_url is not None and bridge_token is not None
            else None
        )
        self._http: httpx.Client | None = None
        self.clock = time.time  # the clock deadlines are read with (tests move it)

    @classmethod
    def from_url(cls, bridge_url: str, bridge_token: str, **kwargs: Any) -> MaviBridgeHook:
        """A hook of a bridge given by its URL and token, without a connection.

        :param bridge_url: the bridge's base URL.
        :param bridge_token: the bearer token.
        :param kwargs: the other arguments of the hook.
        """
        return cls(bridge_url=bridge_url, bridge_token=bridge_token, **kwargs)

    def __repr__(self) -> str:
        where = self._settings.public_url if self._settings else f"mavi_conn_id={self.mavi_conn_id!r}"
        return f"MaviBridgeHook({where})"

    # ---------------------------------------------------------------------------------- connection

    def get_settings(self) -> BridgeSettings:
        """The bridge's URL and token (the connection is read once per hook).

        :raises MaviBridgeNotConfiguredError: when the connection names no bridge.
        """
        if self._settings is None:
            self._settings = bridge_settings(self.get_connection(self.mavi_conn_id))
        return self._settings

    async def aget_settings(self) -> BridgeSettings:
        """The bridge's URL and token, read without blocking the loop (shared by the loop's triggers)."""
        if self._settings is None:
            self._settings = await aread_shared(self.mavi_conn_id)
        return self._settings

    def get_conn(self) -> httpx.Client:
        """The blocking client of this hook (pooled sockets; close it with :meth:`close`)."""
        if self._http is None:
            settings = self.get_settings()
            self._http = httpx.Client(
                base_url=settings.url, headers=self._headers(settings), transport=self._transport
            )
        return self._http

    def close(self) -> None:
        """Close the blocking client's sockets."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> MaviBridgeHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def aclose(self) -> None:
        """Close the running loop's shared client of this bridge (its sockets and batch polls)."""
        await (await self.shared_client()).aclose()

    @staticmethod
    def _headers(settings: BridgeSettings) -> dict[str, str]:
        return {"Authorization": f"Bearer {settings.token}", "User-Agent": USER_AGENT}

    async def shared_client(self) -> LoopClient:
        """The running loop's client of this bridge: its sockets and batch long-polls, shared with every
        bridge hook of the loop with the same bridge, token and settings (``batch_requests`` counts polls)."""
        settings = await self.aget_settings()
        key = (
            settings.url,
            settings.token,
            self.retry_policy,
            id(self._transport),
            self.max_connections,
            self.batch_size,
            self.poll_wait,
        )

        def make() -> LoopClient:
            return LoopClient(
                settings.url,
                self._headers(settings),
                self._batch_poll,
                self.retry_policy,
                max_connections=self.max_connections,
                batch_size=self.batch_size,
                poll_wait=self.poll_wait,
                transport=self._transport,
            )

        return LoopClient.shared(key, make)

    async def _batch_poll(self, job_ids: list[str], wait: float) -> list[CallbackRecord]:
        return await self._arun(plans.poll_batch(job_ids, wait))

    # ------------------------------------------------------------------------------------ the API

    def get_callback(self, job_id: str, wait: float = 0) -> CallbackRecord | None:
        """The job's callback, waiting up to ``wait`` seconds (one long-poll, at most 60 s), or None.

        :param job_id: Mavi's job id.
        :param wait: seconds the bridge may hold the request.
        """
        return self._run(plans.get_callback(job_id, wait, self.retry_policy))

    async def aget_callback(self, job_id: str, wait: float = 0) -> CallbackRecord | None:
        """Async twin of :meth:`get_callback`.

        :param job_id: Mavi's job id.
        :param wait: seconds the bridge may hold the request.
        """
        return await self._arun(plans.get_callback(job_id, wait, self.retry_policy))

    def wait_many(self, job_ids: Sequence[str], wait: float) -> list[CallbackRecord]:
        """One batch long-poll: the stored callbacks among ``job_ids``, as soon as at least one is there.

        :param job_ids: Mavi's job ids (1 to 5,000).
        :param wait: seconds the bridge may hold the request (capped at 60).
        """
        return self._run(plans.wait_many(job_ids, wait, self.retry_policy))

    async def await_many(self, job_ids: Sequence[str], wait: float) -> list[CallbackRecord]:
        """Async twin of :meth:`wait_many`.

        :param job_ids: Mavi's job ids (1 to 5,000).
        :param wait: seconds the bridge may hold the request (capped at 60).
        """
        return await self._arun(plans.wait_many(job_ids, wait, self.retry_policy))

    def wait_for(self, job_id: str, timeout: float) -> CallbackRecord | None:
        """Long-poll until the job's callback is there, or None after ``timeout`` seconds; the bridge being
        unreachable is retried until then, and its last error raised if it still is.

        :param job_id: Mavi's job id.
        :param timeout: seconds to wait in all.
        """
        return self._run(plans.wait_for(job_id, timeout, self.retry_policy, self.clock))

    async def await_for(self, job_id: str, timeout: float) -> CallbackRecord | None:
        """Wait up to ``timeout`` seconds for the job's callback; None when it did not come in time.

        Every concurrent ``await_for`` of the loop shares the batch long-polls of its chunks of ids (see
        :mod:`~airflow_provider_mavi.hooks.bridge_batch`); the bridge being unreachable is retried inside
        them until the timeout, a refused token raises
        :class:`~airflow_provider_mavi.exceptions.MaviBridgeAuthError`.

        :param job_id: Mavi's job id.
        :param timeout: seconds to wait in all.
        """
        return await (await self.shared_client()).wait_for(check_job_id(job_id), timeout)

    def put_job(
        self,
        job_id: str,
        *,
        kind: str,
        asset_id: str,
        key: str | None = None,
        task: TaskRef | None = None,
        deadline: float | None = None,
    ) -> None:
        """Record a submitted job, so a retry of the task can find it again (and the Mavi page show it).

        :param job_id: Mavi's job id.
        :param kind: ``extract_frames``, ``transcribe_video`` or ``transcribe_audio``.
        :param asset_id: the asset the job works on.
        :param key: an idempotency key (for example DAG, task, run).
        :param task: the Airflow task instance that submitted it.
        :param deadline: epoch seconds after which its callback is no longer waited for.
        """
        self._run(plans.put_job(job_id, kind, asset_id, key, self.retry_policy, task, deadline))

    async def aput_job(self, job_id: str, *, kind: str, asset_id: str, key: str | None = None) -> None:
        """Async twin of :meth:`put_job` (kind, asset and key only).

        :param job_id: Mavi's job id.
        :param kind: the job kind.
        :param asset_id: the asset the job works on.
        :param key: an idempotency key.
        """
        await self._arun(plans.put_job(job_id, kind, asset_id, key, self.retry_policy))

    def record_cost(self, job_id: str, cost_usd: float | None) -> None:
        """Record a finished job's price for the Mavi page's spend (an unknown job is ignored).

        :param job_id: Mavi's job id.
        :param cost_usd: dollars, None when it cannot be known.
        """
        self._run(plans.record_cost(job_id, cost_usd, self.retry_policy))

    def find_job(self, key: str) -> dict[str, Any] | None:
        """The newest job recorded under ``key``, or None.

        :param key: the idempotency key given to :meth:`put_job`.
        """
        return self._run(plans.find_job(key, self.retry_policy))

    async def afind_job(self, key: str) -> dict[str, Any] | None:
        """Async twin of :meth:`find_job`.

        :param key: the idempotency key given to :meth:`put_job`.
        """
        return await self._arun(plans.find_job(key, self.retry_policy))

    def abandon_job(self, job_id: str) -> None:
        """Tell the bridge nobody waits for this job any more (an unknown job is ignored).

        :param job_id: Mavi's job id.
        """
        self._run(plans.abandon_job(job_id, self.retry_policy))

    async def aabandon_job(self, job_id: str) -> None:
        """Async twin of :meth:`abandon_job`.

        :param job_id: Mavi's job id.
        """
        await self._arun(plans.abandon_job(job_id, self.retry_policy))

    def list_callbacks(self, after: str = "0", limit: int = 100) -> tuple[list[CallbackRecord], str]:
        """Callbacks in arrival order after a cursor, and the next cursor.

        :param after: the cursor returned by the previous call (``"0"`` to start).
        :param limit: the most records to return (at most 1,000).
        """
        return self._run(plans.list_callbacks(after, limit, self.retry_policy))

    async def alist_callbacks(self, after: str = "0", limit: int = 100) -> tuple[list[CallbackRecord], str]:
        """Async twin of :meth:`list_callbacks`.

        :param after: the cursor returned by the previous call.
        :param limit: the most records to return.
        """
        return await self._arun(plans.list_callbacks(after, limit, self.retry_policy))

    def check_job(self, job_id: str) -> JobEvent | None:
        """One look: the event the job's stored callback ends a wait with, or None when nothing is stored.

        :param job_id: Mavi's job id.
        """
        return self._run(plans.check_job(job_id, self.retry_policy))

    async def acheck_job(self, job_id: str) -> JobEvent | None:
        """Async twin of :meth:`check_job`.

        :param job_id: Mavi's job id.
        """
        return await self._arun(plans.check_job(job_id, self.retry_policy))

    def wait_for_job(self, job_id: str, deadline: float) -> JobEvent:
        """Wait in this process until the job's callback is stored or the deadline passes; one event.

        See :func:`~airflow_provider_mavi.hooks.bridge_plans.wait_for_job`: the bridge down is waited
        out until the deadline, one final look is taken at it, every outcome is a
        :class:`~airflow_provider_mavi.events.JobEvent` (never an exception, but a bad job id).

        :param job_id: Mavi's job id.
        :param deadline: epoch seconds.
        """
        return self._run(self._wait_plan(job_id, deadline))

    async def await_for_job(self, job_id: str, deadline: float) -> JobEvent:
        """Async twin of :meth:`wait_for_job` (what :class:`MaviJobCallbackTrigger` runs).

        :param job_id: Mavi's job id.
        :param deadline: epoch seconds.
        """
        return await self._arun(self._wait_plan(job_id, deadline))

    def _wait_plan(self, job_id: str, deadline: float) -> Plan[JobEvent]:
        return plans.wait_for_job(
            job_id,
            deadline,
            self.retry_policy,
            conn_id=self.mavi_conn_id,
            max_errors=self.max_wait_errors,
            clock=self.clock,
        )

    # --------------------------------------------------------------------------------- dispatchers

    def _run(self, plan: Plan[T]) -> T:
        """The one blocking driver: do each step of the plan, hand it back its result or its error."""
        steps = Stepper(plan)
        while (step := steps.next()) is not None:
            try:
                steps.answer(self._do(step))
            except Exception as error:
                steps.fail(error)
        return steps.result

    async def _arun(self, plan: Plan[T]) -> T:
        """The one async driver: :meth:`_run`, each step done without blocking the loop."""
        steps = Stepper(plan)
        while (step := steps.next()) is not None:
            try:
                steps.answer(await self._ado(step))
            except Exception as error:
                steps.fail(error)
        return steps.result

    def _do(self, step: Step) -> Any:
        if isinstance(step, Request):
            settings = self.get_settings()
            try:
                response = self.get_conn().request(
                    step.method, step.path, params=step.params, json=step.body, timeout=_timeout(step.wait)
                )
            except httpx.HTTPError as error:
                raise protocol.unreachable(error, settings.public_url) from None
            return _answer(step, response, settings)
        if isinstance(step, Poll):  # blocking: one long-poll GET
            return self._run(
                plans.get_callback(step.job_id, step.seconds, self.retry_policy.with_attempts(1))
            )
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        assert isinstance(step, ReadConnection)
        return self.get_settings().public_url

    async def _ado(self, step: Step) -> Any:
        if isinstance(step, Request):
            settings = await self.aget_settings()
            client = await self.shared_client()
            try:
                response = await client.http.request(
                    step.method, step.path, params=step.params, json=step.body, timeout=_timeout(step.wait)
                )
            except httpx.HTTPError as error:
                raise protocol.unreachable(error, settings.public_url) from None
            return _answer(step, response, settings)
        if isinstance(step, Poll):  # async: the loop's shared batch long-poll
            return await (await self.shared_client()).wait_for(step.job_id, step.seconds)
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        assert isinstance(step, ReadConnection)
        return (await self.aget_settings()).public_url


def _timeout(wait: float) -> httpx.Timeout:
    return httpx.Timeout(connect=10.0, read=wait + 15.0, write=10.0, pool=30.0)


def _answer(request: Request, response: httpx.Response, settings: BridgeSettings) -> Any:
    return protocol.read_answer(
        request,
        response.status_code,
        response.headers,
        response.content,
        url=settings.public_url,
        token=settings.token,
    )
