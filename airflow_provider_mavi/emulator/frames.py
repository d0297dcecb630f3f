"""Frame-based jobs: extract-frames (``im_`` groups of ``imc_`` JPEGs, §3.1) and the visual description
(§3.2)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.emulator import describe, media
from airflow_provider_mavi.emulator.prices import (
    DESCRIPTION_INPUT_USD_PER_TOKEN,
    DESCRIPTION_OUTPUT_USD_PER_TOKEN,
)
from airflow_provider_mavi.emulator.store import Asset
from airflow_provider_mavi.emulator.zipstream import ZipMember, zip_size

if TYPE_CHECKING:
    from airflow_provider_mavi.emulator.state import EmulatorState


async def extract_frames(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> dict[str, Any]:
    """Write the frames, register the ``im_`` group and its ``imc_`` frames; return the callback ``data``.

    The group's 18 digits are derived from the job id, so a seeded run gives the same ids whatever the
    order in which jobs finish.

    :param state: the account.
    :param job: the job's record.
    :param assets: the video.
    :param params: none.
    """
    (asset,) = assets
    assert asset.path is not None
    group_id = f"im_{10**17 + int(job['job_id'], 16) % (9 * 10**17)}"
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


async def describe_video(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> dict[str, Any]:
    """Measure the frames and describe each segment; usage counts tokens of the texts, billed afterwards.

    :param state: the account.
    :param job: the job's record.
    :param assets: the video.
    :param params: ``model``.
    """
    (asset,) = assets
    assert asset.path is not None
    started = time.monotonic()
    measures = await state.run_blocking(media.measure_frames, asset.path, state.settings.frame_interval)
    segments = describe.video_segments(measures, state.settings.segment_seconds, asset.duration)
    output_tokens = sum(describe.count_tokens(s["transcript"]) for s in segments)
    prompt_tokens = describe.count_tokens(describe.prompt_text(measures))
    state.charge(
        job,
        prompt_tokens * DESCRIPTION_INPUT_USD_PER_TOKEN + output_tokens * DESCRIPTION_OUTPUT_USD_PER_TOKEN,
    )
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
