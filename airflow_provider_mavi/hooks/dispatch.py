"""The two request dispatchers of :class:`~airflow_provider_mavi.hooks.mavi.MaviHook`: blocking (``requests``)
and async (``httpx``). I/O only.

Each attempt takes a permit from the endpoint's rate-limit bucket, sends what
:func:`~airflow_provider_mavi.exchange.prepare` built, and hands the answer to
:class:`~airflow_provider_mavi.exchange.Attempts` (pure). Whether and when to try again is decided by the one
retry engine (:meth:`RetryPolicy.retrying <airflow_provider_mavi.retry.RetryPolicy.retrying>` /
``aretrying``, tenacity) with the one predicate (:func:`~airflow_provider_mavi.envelope.is_retryable`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import requests

from airflow_provider_mavi.endpoints import Kind
from airflow_provider_mavi.envelope import allowed_attempts, is_retryable
from airflow_provider_mavi.exchange import Attempts, Received, is_file_answer
from airflow_provider_mavi.hooks.transfer import MAX_ERROR_BODY, MultipartFileBody, RawFileBody
from airflow_provider_mavi.hooks.transport import (
    describe,
    httpx_failure,
    read_limited,
    requests_failure,
    source_changed,
)
from airflow_provider_mavi.retry import log_retry

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_mavi.exchange import Request
    from airflow_provider_mavi.hooks.rate_limit import AccountRateLimiter
    from airflow_provider_mavi.retry import RetryPolicy

__all__ = ["asend", "send"]

#: A ``logging.Logger`` or Airflow's structlog logger (``BaseHook.log``): anything with ``info``/``warning``.
Logger = Any
#: Seconds to wait for a connection, at most (the connection's ``timeout`` applies to the rest).
CONNECT_TIMEOUT = 10.0


def _retry_settings(request: Request, policy: RetryPolicy, log: Logger) -> dict[str, Any]:
    """What both dispatchers give the retry engine: the submit-safe predicate, attempts per error, a log."""
    return {
        "retry_on": lambda error: is_retryable(error, creates=request.creates),
        "attempts": allowed_attempts(policy),
        "before_sleep": log_retry(log, request.label, policy.max_attempts),
    }


def _settled(attempts: Attempts, log: Logger) -> None:
    if attempts.settled_by_earlier:
        label = attempts.request.label
        log.info("%s: not found after an earlier attempt that may have succeeded; done", label)


def send(
    session: requests.Session,
    limiter: AccountRateLimiter,
    timeout: float,
    request: Request,
    *,
    policy: RetryPolicy,
    log: Logger,
    progress: Callable[[int], None] | None = None,
    keep_file: bool = False,
) -> Any:
    """Send ``request`` with ``requests``, retrying per ``policy``; return its result value.

    :param session: the hook's session.
    :param limiter: the account's rate limiter.
    :param timeout: seconds per request (connecting takes at most :data:`CONNECT_TIMEOUT` of them).
    :param request: the prepared request.
    :param policy: the retry policy.
    :param log: where retries are logged.
    :param progress: called with the file bytes sent so far (uploads).
    :param keep_file: return a download's file answer as the open ``requests.Response`` (the caller streams
        and closes it).
    """
    attempts = Attempts(request)
    authenticated = request.endpoint.authenticated

    def attempt() -> Any:
        attempts.begin()
        headers = dict(request.headers)
        body: MultipartFileBody | RawFileBody | None = None
        if request.upload is not None:  # a fresh body each attempt: it streams the file from the start
            body = (
                MultipartFileBody(request.upload, field=request.form_field, progress=progress)
                if request.form_field
                else RawFileBody(request.upload, progress=progress)
            )
            headers["Content-Type"] = body.content_type
        limiter.acquire(request.endpoint.bucket)
        try:
            response = session.request(
                request.method,
                request.url,
                json=request.json,
                data=body,
                headers=headers,
                timeout=(min(timeout, CONNECT_TIMEOUT), timeout),
                stream=True,
                allow_redirects=authenticated,
            )
        except requests.RequestException as exc:
            changed = source_changed(exc)
            if changed is not None:  # our file, not the network: say so
                raise changed from None
            lost = attempts.lost(requests_failure(exc), describe(exc))
            raise lost from (exc if authenticated else None)  # the cause's text would hold a signed URL
        content_type = response.headers.get("Content-Type")
        if keep_file and is_file_answer(request, response.status_code, content_type):
            return response
        with response:
            raw = (
                read_limited(response.iter_content(64 * 1024), MAX_ERROR_BODY)
                if request.endpoint.kind is Kind.DOWNLOAD
                else response.content
            )
        received = Received(response.status_code, content_type, raw, response.headers.get("Retry-After"))
        return attempts.answered(received)

    result = policy.retrying(**_retry_settings(request, policy, log))(attempt)
    _settled(attempts, log)
    return result


async def asend(
    client: httpx.AsyncClient,
    limiter: AccountRateLimiter,
    request: Request,
    *,
    policy: RetryPolicy,
    log: Logger,
) -> Any:
    """Send ``request`` with ``httpx``, retrying per ``policy``; return its result (JSON calls and job
    submits only: files stream through :func:`send`).

    :param client: an ``httpx.AsyncClient`` of the running event loop.
    :param limiter: the account's rate limiter.
    :param request: the prepared request.
    :param policy: the retry policy.
    :param log: where retries are logged.
    """
    attempts = Attempts(request)

    async def attempt() -> Any:
        attempts.begin()
        await limiter.aacquire(request.endpoint.bucket)
        try:
            response = await client.request(
                request.method, request.url, json=request.json, headers=dict(request.headers)
            )
        except httpx.TransportError as exc:
            raise attempts.lost(httpx_failure(exc), describe(exc)) from exc
        received = Received(
            response.status_code,
            response.headers.get("Content-Type"),
            response.content,
            response.headers.get("Retry-After"),
        )
        return attempts.answered(received)

    result: Any = await policy.aretrying(**_retry_settings(request, policy, log))(attempt)
    _settled(attempts, log)
    return result
