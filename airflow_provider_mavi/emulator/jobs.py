"""Background work: an upload's progress through its states, and the three kinds of async job."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.emulator import describe, media
from airflow_provider_mavi.emulator.audio import measure_audio
from airflow_provider_mavi.emulator.envelope import callback_body
from airflow_provider_mavi.emulator.state import (
    AUDIO_SPEAKER_USD_PER_SECOND,
    AUDIO_USD_PER_SECOND,
    FRAMES_USD_PER_SECOND,
    INPUT_USD_PER_TOKEN,
    OUTPUT_USD_PER_TOKEN,
)
from airflow_provider_mavi.emulator.stats import utc_now
from airflow_provider_mavi.emulator.store import Asset
from airflow_provider_mavi.emulator.zipstream import ZipMember, zip_size

if TYPE_CHECKING:
    from airflow_provider_mavi.emulator.state import EmulatorState

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


def job_cost(kind: str, asset: Asset, params: dict[str, Any]) -> float:
    """Return the cost known when a job is submitted (video description is billed by tokens afterwards).

    :param kind: the job kind.
    :param asset: the asset.
    :param params: the request's parameters.
    """
    seconds = asset.duration or 0.0
    if kind == "extract_frames":
        return round(seconds * FRAMES_USD_PER_SECOND, 6)
    if kind == "transcribe_audio":
        return round(
            seconds * (AUDIO_SPEAKER_USD_PER_SECOND if params.get("speaker") else AUDIO_USD_PER_SECOND), 6
        )
    return 0.0


async def run_job(
    state: EmulatorState,
    job: dict[str, Any],
    asset: Asset,
    params: dict[str, Any],
    faults: dict[str, dict[str, Any] | None],
) -> None:
    """Do a job's work, then deliver its callback (or a failure callback).

    :param state: the account.
    :param job: the job's stats record (``job_id``, ``kind``).
    :param asset: the asset it works on.
    :param params: the request's parameters (``model``, ``speaker``).
    :param faults: the job's fault decisions, made when it was accepted.
    """
    code = state.settings.success_code
    failure = faults.get("failure_callback")
    if failure is not None:
        body = _failure(job["job_id"], int(failure["code"]), str(failure["msg"]))
    else:
        try:
            data = await _BUILDERS[job["kind"]](state, job["job_id"], asset, params)
            body = callback_body(code, job["job_id"], data)
        except (media.MediaError, OSError) as exc:
            log.info("job %s failed: %s", job["job_id"], exc)
            body = _failure(job["job_id"], 500, f"Processing failed: {exc}")
    job["state"] = "failed" if body["message"] != "SUCCESS" else "succeeded"
    job["completed_at"] = utc_now()
    await state.sender.send(body, job, faults)


def _failure(task_id: str, code: int, msg: str) -> dict[str, Any]:
    """Return a failure callback: an error code at the top and ``success: false`` inside.

    :param task_id: the job id.
    :param code: the top-level code.
    :param msg: the inner message.
    """
    return callback_body(code, task_id, {"data": None, "msg": msg, "success": False}, message="FAILED")


async def _extract_frames(
    state: EmulatorState, job_id: str, asset: Asset, params: dict[str, Any]
) -> dict[str, Any]:
    """Write the frames, register the ``im_`` group and its ``imc_`` frames; return the callback ``data``.

    The group's 18 digits are derived from the job id, so a seeded run gives the same ids whatever the
    order in which jobs finish.

    :param state: the account.
    :param job_id: the job id.
    :param asset: the video.
    :param params: unused.
    """
    assert asset.path is not None
    group_id = f"im_{10**17 + int(job_id, 16) % (9 * 10**17)}"
    frames = await state.run_blocking(
        media.extract_frames, asset.path, state.store.frames / group_id, state.settings.frame_interval
    )
    group = Asset(
        asset_id=group_id,
        original_filename=f"{asset.original_filename}_frames",
        extension="zip",
        path=None,
        upload_status="SUCCESS",
    )
    for frame in frames:
        child = Asset(
            asset_id=f"{group_id.replace('im_', 'imc_')}_{frame.index}",
            original_filename=f"{asset.original_filename}_frame_{frame.index:05d}",
            extension="jpg",
            path=frame.path,
            file_size=frame.size,
            crc32=frame.crc32,
            upload_status="SUCCESS",
            has_video=True,
        )
        state.store.add(child)
        group.children.append(child.asset_id)
    group.file_size = zip_size(frame_members(state, group))
    state.store.add(group)
    return {"asset_id": group_id, "asset_ch_ids": list(group.children)}


def frame_members(state: EmulatorState, group: Asset) -> list[ZipMember]:
    """Return the zip members of a frame group's live frames.

    :param state: the account.
    :param group: the ``im_`` asset.
    """
    members = []
    for child in state.store.children(group):
        assert child.path is not None
        members.append(
            ZipMember(name=child.filename, path=child.path, size=child.file_size, crc32=child.crc32)
        )
    return members


async def _describe_video(
    state: EmulatorState, job_id: str, asset: Asset, params: dict[str, Any]
) -> dict[str, Any]:
    """Measure the frames and describe each segment; usage counts tokens of the texts.

    :param state: the account.
    :param job_id: the job id (unused).
    :param asset: the video.
    :param params: ``model``.
    """
    assert asset.path is not None
    started = time.monotonic()
    measures = await state.run_blocking(media.measure_frames, asset.path, state.settings.frame_interval)
    segments = describe.video_segments(measures, state.settings.segment_seconds, asset.duration)
    output_tokens = sum(describe.count_tokens(s["transcript"]) for s in segments)
    prompt_tokens = describe.count_tokens(describe.prompt_text(measures))
    state.stats.spend(prompt_tokens * INPUT_USD_PER_TOKEN + output_tokens * OUTPUT_USD_PER_TOKEN)
    usage = {
        "duration": round(time.monotonic() - started, 3),
        "model": params["model"],
        "output_tokens": output_tokens,
        "prompt_tokens": prompt_tokens,
    }
    return {
        "data": {"data": segments, "error_rate": 0.0, "usage_metadata": usage},
        "msg": describe.VIDEO_MSG,
        "success": True,
    }


async def _transcribe_audio(
    state: EmulatorState, job_id: str, asset: Asset, params: dict[str, Any]
) -> dict[str, Any]:
    """Measure audio levels; report runs of sound and silence (no invented speech).

    :param state: the account.
    :param job_id: the job id (unused).
    :param asset: the media.
    :param params: ``model``, ``speaker``.
    """
    assert asset.path is not None
    if asset.has_audio:
        runs, seconds = await state.run_blocking(measure_audio, asset.path)
        items = describe.audio_segments(runs, bool(params.get("speaker")))
        if asset.duration and items:
            items[-1]["end_time"] = min(items[-1]["end_time"], round(asset.duration, 3))
        msg = describe.AUDIO_MSG
    else:
        items, seconds, msg = [], 0.0, "The asset has no audio track; nothing to transcribe."
    usage = {
        "duration": round(asset.duration or seconds, 3),
        "model": params["model"],
        "output_tokens": sum(describe.count_tokens(i["text"]) for i in items),
        "prompt_tokens": 0,
    }
    return {"data": {"data": items, "usage_metadata": usage}, "msg": msg, "success": True}


_BUILDERS = {
    "extract_frames": _extract_frames,
    "transcribe_video": _describe_video,
    "transcribe_audio": _transcribe_audio,
}
