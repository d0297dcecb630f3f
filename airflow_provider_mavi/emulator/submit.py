"""How every Mavi-enveloped processing endpoint is answered, async (task id, then a callback) or sync.

An :class:`Endpoint` declares its checks and its work; :func:`submit_async` and :func:`answer_sync` apply
them in the documented order:

1. the required fields (``<field> cannot be null or empty``),
2. async only: the account's webhook (``An async request requires at least one webhook.``),
3. the assets and the other parameters (``Request has exceeded the limit.``, as observed live),
4. the balance (402) for what is known to cost before the work,

then the job is recorded (``kind``, asset ids, parameters, ``cost_usd``) and runs in the background (async)
or before the answer (sync). Work that cannot be done on input that passed the checks (e.g. a URL that
cannot be fetched) answers 400 with the reason (sync) or a failure callback (async).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.emulator import envelope, jobs
from airflow_provider_mavi.emulator.media import MediaError
from airflow_provider_mavi.emulator.routing import Rejected, first_missing, json_body, state_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fastapi import Request
    from starlette.responses import Response

    from airflow_provider_mavi.emulator.state import EmulatorState
    from airflow_provider_mavi.emulator.store import Asset


@dataclass(frozen=True)
class Prepared:
    """What the checks of step 3 accepted.

    :param assets: the assets the job works on.
    :param params: the parameters (recorded in the stats).
    :param cost: what is known to cost before the work.
    :param private: more parameters for the work that the stats must not show (e.g. a signed URL).
    """

    assets: list[Asset]
    params: dict[str, Any]
    cost: float = 0.0
    private: dict[str, Any] = field(default_factory=dict)

    @property
    def work_params(self) -> dict[str, Any]:
        """Every parameter the work gets."""
        return {**self.params, **self.private}


@dataclass(frozen=True)
class Endpoint:
    """One processing endpoint.

    :param kind: the job kind in stats, e.g. ``transcribe_audio``.
    :param missing: step 1: returns the message for a missing required field, else ``None``.
    :param prepare: step 3: returns what was accepted, or ``None`` for ``Request has exceeded the limit.``
    :param work: ``(state, job record, assets, params) -> data``: the callback's ``data`` (async) or the
        answer's (sync). It may raise :class:`Rejected`, or :class:`MediaError` / ``OSError``.
    """

    kind: str
    missing: Callable[[dict[str, Any]], str | None]
    prepare: Callable[[EmulatorState, dict[str, Any]], Prepared | None]
    work: Callable[[EmulatorState, dict[str, Any], list[Asset], dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Required:
    """A step-1 check: fields that must not be null or empty, checked in this order.

    The served OpenAPI document lists the same fields as required (``apidoc.required_of``).

    :param names: the fields.
    """

    names: tuple[str, ...]

    def __call__(self, body: dict[str, Any]) -> str | None:
        """Return the message for the first missing field, else ``None``.

        :param body: the request body.
        """
        return first_missing(body, self.names)


def requires(*names: str) -> Required:
    """Return a step-1 check for fields that must not be null or empty, checked in this order.

    :param names: the fields.
    """
    return Required(names)


async def _checked(request: Request, endpoint: Endpoint, *, webhook: bool) -> tuple[EmulatorState, Prepared]:
    """Apply steps 1 to 4.

    :param request: the request.
    :param endpoint: the endpoint.
    :param webhook: check the account's webhook (async endpoints).
    :raises Rejected: at the first failed step.
    """
    state = state_of(request)
    body = await json_body(request)
    message = endpoint.missing(body)
    if message is not None:
        raise Rejected(400, message)
    if webhook and not state.webhook_url:
        raise Rejected(400, envelope.NO_WEBHOOK_MSG)
    prepared = endpoint.prepare(state, body)
    if prepared is None:
        raise Rejected(400, envelope.LIMIT_MSG)
    if not state.can_afford(prepared.cost):
        raise Rejected(402, envelope.BALANCE_MSG)
    return state, prepared


def _record(state: EmulatorState, endpoint: Endpoint, prepared: Prepared, job_id: str) -> dict[str, Any]:
    """Charge the known cost and record the job.

    :param state: the account.
    :param endpoint: the endpoint.
    :param prepared: what was accepted.
    :param job_id: the job's id.
    """
    ids = [asset.asset_id for asset in prepared.assets]
    job = state.stats.add_job(
        job_id, endpoint.kind, ids[0] if ids else None, asset_ids=ids, **prepared.params
    )
    state.charge(job, prepared.cost)
    return job


async def submit_async(request: Request, endpoint: Endpoint) -> Response:
    """Answer an async endpoint: ``data.task_id`` now, the result later at the account's webhook.

    :param request: the request.
    :param endpoint: the endpoint.
    """
    try:
        state, prepared = await _checked(request, endpoint, webhook=True)
    except Rejected as exc:
        return envelope.error(exc.status, exc.msg)
    job_id = state.store.new_task_id()
    job = _record(state, endpoint, prepared, job_id)
    state.spawn(
        jobs.run_job(
            state, job, endpoint.work, prepared.assets, prepared.work_params, state.faults.decide_job()
        )
    )
    return envelope.ok(state.settings.success_code, {"task_id": job_id})


async def answer_sync(request: Request, endpoint: Endpoint) -> Response:
    """Answer a sync endpoint: do the work, then answer its result in the envelope.

    :param request: the request.
    :param endpoint: the endpoint.
    """
    try:
        state, prepared = await _checked(request, endpoint, webhook=False)
    except Rejected as exc:
        return envelope.error(exc.status, exc.msg)
    job = _record(state, endpoint, prepared, state.store.new_task_id())
    try:
        data = await endpoint.work(state, job, prepared.assets, prepared.work_params)
    except Rejected as exc:
        jobs.finish(job, "failed")
        return envelope.error(exc.status, exc.msg)
    except (MediaError, OSError) as exc:
        jobs.finish(job, "failed")
        return envelope.error(400, f"Processing failed: {exc}")
    jobs.finish(job, "succeeded")
    return envelope.ok(state.settings.success_code, data)
