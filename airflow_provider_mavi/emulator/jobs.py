"""Background work: an upload's progress through its states, and running an async job to its callback."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.emulator import media
from airflow_provider_mavi.emulator.envelope import callback_body
from airflow_provider_mavi.emulator.routing import Rejected
from airflow_provider_mavi.emulator.stats import utc_now

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from airflow_provider_mavi.emulator.state import EmulatorState
    from airflow_provider_mavi.emulator.store import Asset

log = logging.getLogger(__name__)


async def process_upload(state: EmulatorState, asset: Asset) -> None:
    """Move an upload WAITING → UPLOADING → SUCCESS, or FAILED when PyAV cannot decode it.

    :param state: the account.
    :param asset: the uploaded asset, its bytes already on disk.
    """
    await asyncio.sleep(state.settings.upload_waiting_seconds)
    asset.set_status("UPLOADING")
    assert asset.path is not None
    try:
        info = await state.run_blocking(media.probe, asset.path)
    except media.MediaError as exc:
        log.info("upload %s failed: not decodable media (%s)", asset.asset_id, exc)
        asset.set_status("FAILED")
        return
    await asyncio.sleep(state.settings.upload_processing_seconds)
    asset.duration, asset.has_video, asset.has_audio = info.duration, info.has_video, info.has_audio
    asset.set_status("SUCCESS")


def finish(job: dict[str, Any], outcome: str) -> None:
    """Mark a job ``succeeded`` or ``failed`` with its completion time.

    :param job: the job's stats record.
    :param outcome: ``succeeded`` or ``failed``.
    """
    job["state"] = outcome
    job["completed_at"] = utc_now()


async def run_job(
    state: EmulatorState,
    job: dict[str, Any],
    work: Callable[[EmulatorState, dict[str, Any], list[Asset], dict[str, Any]], Awaitable[Any]],
    assets: list[Asset],
    params: dict[str, Any],
    faults: dict[str, dict[str, Any] | None],
) -> None:
    """Do a job's work, then deliver its callback (or a failure callback).

    :param state: the account.
    :param job: the job's stats record (``job_id``, ``kind``).
    :param work: the endpoint's work; returns the callback's ``data``.
    :param assets: the assets it works on.
    :param params: the request's accepted parameters.
    :param faults: the job's fault decisions, made when it was accepted.
    """
    failure = faults.get("failure_callback")
    if failure is not None:
        body = failure_body(job["job_id"], int(failure["code"]), str(failure["msg"]))
    else:
        try:
            data = await work(state, job, assets, params)
            body = callback_body(state.settings.success_code, job["job_id"], data)
        except Rejected as exc:
            log.info("job %s failed: %s", job["job_id"], exc.msg)
            body = failure_body(job["job_id"], exc.status, exc.msg)
        except (media.MediaError, OSError) as exc:
            log.info("job %s failed: %s", job["job_id"], exc)
            body = failure_body(job["job_id"], 500, f"Processing failed: {exc}")
    finish(job, "failed" if body["message"] != "SUCCESS" else "succeeded")
    await state.sender.send(body, job, faults)


def failure_body(task_id: str, code: int, msg: str) -> dict[str, Any]:
    """Return a failure callback: an error code at the top and ``success: false`` inside.

    :param task_id: the job id.
    :param code: the top-level code.
    :param msg: the inner message.
    """
    return callback_body(code, task_id, {"data": None, "msg": msg, "success": False}, message="FAILED")
