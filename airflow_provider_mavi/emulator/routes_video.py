"""``/video/*``: extract-frames, scene detection (clip), split and edit, all async (``mavi-api.md`` §3.1,
§3.5, §12.5-12.7).
"""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from airflow_provider_mavi.emulator import analysis, apidoc, editing, frames, media, prices
from airflow_provider_mavi.emulator.gate import API_PREFIX
from airflow_provider_mavi.emulator.routing import number, usable_asset
from airflow_provider_mavi.emulator.submit import Endpoint, Prepared, requires, submit_async

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.responses import Response

    from airflow_provider_mavi.emulator.state import EmulatorState
    from airflow_provider_mavi.emulator.store import Asset

ORIENTATIONS = ("landscape", "portrait")
MAX_PROMPT = 500
MAX_EDIT_INPUTS = 100
CLIP_MSG = "Scene cuts measured by the Mavi emulator (frame difference); no model was run."

router = APIRouter(prefix=API_PREFIX + "/video")


def _video(state: EmulatorState, body: dict[str, Any]) -> Prepared | None:
    """Accept a ready video asset (scene detection: no documented price).

    :param state: the account.
    :param body: the request body.
    """
    asset = usable_asset(state, body["asset_id"], "video")
    return None if asset is None else Prepared([asset], {})


def _frames(state: EmulatorState, body: dict[str, Any]) -> Prepared | None:
    """Accept a ready video asset, priced per second of video.

    :param state: the account.
    :param body: the request body.
    """
    asset = usable_asset(state, body["asset_id"], "video")
    cost = prices.per_second(asset.duration, prices.FRAMES_USD_PER_SECOND) if asset is not None else 0.0
    return None if asset is None else Prepared([asset], {}, cost)


def _split_params(state: EmulatorState, body: dict[str, Any]) -> Prepared | None:
    """Accept a ready video and ``segment_seconds`` (UNVERIFIED field; a number of at least 1).

    :param state: the account.
    :param body: the request body.
    """
    asset = usable_asset(state, body["asset_id"], "video")
    raw = body.get("segment_seconds")
    seconds = state.settings.split_seconds if raw is None else number(raw, low=1, high=86400)
    return None if asset is None or seconds is None else Prepared([asset], {"segment_seconds": seconds})


def _edit_params(state: EmulatorState, body: dict[str, Any]) -> Prepared | None:
    """Accept ready videos, a known orientation and a prompt of at most 500 characters.

    :param state: the account.
    :param body: the request body.
    """
    ids, orientation, prompt = body["asset_ids"], body["orientation"], body["user_prompt"]
    if not isinstance(ids, list) or len(ids) > MAX_EDIT_INPUTS:
        return None
    assets = [usable_asset(state, asset_id, "video") for asset_id in ids]
    if any(a is None for a in assets) or orientation not in ORIENTATIONS:
        return None
    if not isinstance(prompt, str) or len(prompt) > MAX_PROMPT:
        return None
    return Prepared([a for a in assets if a is not None], {"orientation": orientation, "user_prompt": prompt})


async def _clip(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Detect scene cuts; scenes are inclusive frame ranges.

    :param state: the account.
    :param job: the job's record.
    :param assets: the video.
    :param params: none.
    """
    (asset,) = assets
    assert asset.path is not None
    started = time.monotonic()
    scan = await state.run_blocking(analysis.video, asset.path, state.settings.frame_interval)
    scenes = [{"start": first, "end": last} for first, last in scan.scenes]
    exec_time = round(time.monotonic() - started, 3)
    return {"data": {"data": scenes, "exec_time": exec_time}, "msg": CLIP_MSG, "success": True}


def _register(state: EmulatorState, path: Path, name: str, info: media.MediaInfo) -> Asset:
    """Register a file the emulator made as a new ready ``re_`` asset (moved into the uploads folder).

    :param state: the account.
    :param path: the file.
    :param name: its ``original_filename``.
    :param info: its probe.
    """
    asset = state.store.create(
        name,
        "mp4",
        upload_status="SUCCESS",
        duration=info.duration,
        has_video=info.has_video,
        has_audio=info.has_audio,
    )
    assert asset.path is not None
    shutil.move(path, asset.path)
    asset.file_size = asset.path.stat().st_size
    return asset


def _split_files(
    state: EmulatorState, source: Asset, seconds: float, work: Path
) -> list[tuple[Path, media.MediaInfo]]:
    """Remux the segments and probe each (blocking).

    :param state: the account.
    :param source: the video.
    :param seconds: the segment length.
    :param work: a scratch folder.
    """
    assert source.path is not None
    return [(path, media.probe(path)) for path in editing.split(source.path, work, seconds)]


async def _split(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Split into segments registered as new assets; ``data.splits`` as documented (no ``data.data``).

    :param state: the account.
    :param job: the job's record.
    :param assets: the video.
    :param params: ``segment_seconds``.
    """
    (asset,) = assets
    work = state.store.root / "work" / job["job_id"]
    try:
        made = await state.run_blocking(_split_files, state, asset, params["segment_seconds"], work)
        digits = asset.asset_id.removeprefix("re_")
        splits = [
            _register(state, path, f"segment_video_{digits}_{index}", info).record()
            for index, (path, info) in enumerate(made)
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"splits": splits}


def _edit_file(sources: list[Path], target: Path, orientation: str) -> media.MediaInfo:
    """Concatenate and probe the result (blocking).

    :param sources: the videos.
    :param target: the output.
    :param orientation: ``landscape`` or ``portrait``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    editing.concatenate(sources, target, orientation)
    return media.probe(target)


async def _edit(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Concatenate the inputs in order in the requested orientation; ``data`` is the new asset's record.

    The emulator follows no instruction in ``user_prompt`` (it has no model): it only concatenates.

    :param state: the account.
    :param job: the job's record.
    :param assets: the videos, in order.
    :param params: ``orientation``, ``user_prompt``.
    """
    work = state.store.root / "work" / job["job_id"]
    target = work / "final_video.mp4"
    try:
        sources = [a.path for a in assets if a.path is not None]
        info = await state.run_blocking(_edit_file, sources, target, params["orientation"])
        return _register(state, target, "final_video", info).record()
    finally:
        shutil.rmtree(work, ignore_errors=True)


EXTRACT_FRAMES = Endpoint("extract_frames", requires("asset_id"), _frames, frames.extract_frames)
CLIP = Endpoint("detect_scenes", requires("asset_id"), _video, _clip)
SPLIT = Endpoint("split_video", requires("asset_id"), _split_params, _split)
EDIT = Endpoint("edit_video", requires("asset_ids", "orientation", "user_prompt"), _edit_params, _edit)


@router.post("/extract-frames", **apidoc.task_route(EXTRACT_FRAMES, {"asset_id": apidoc.ASSET_ID}))
async def extract_frames(request: Request) -> Response:
    """Start frame extraction; the result comes to the webhook.

    :param request: the request.
    """
    return await submit_async(request, EXTRACT_FRAMES)


@router.post("/clip", **apidoc.task_route(CLIP, {"asset_id": apidoc.ASSET_ID}))
async def clip(request: Request) -> Response:
    """Start scene detection; the result comes to the webhook.

    :param request: the request.
    """
    return await submit_async(request, CLIP)


@router.post(
    "/split",
    **apidoc.task_route(
        SPLIT,
        {
            "asset_id": apidoc.ASSET_ID,
            "segment_seconds": {"type": "number", "description": "UNVERIFIED field; at least 1"},
        },
    ),
)
async def split(request: Request) -> Response:
    """Start a split into segment assets; the result comes to the webhook.

    :param request: the request.
    """
    return await submit_async(request, SPLIT)


@router.post(
    "/edit",
    **apidoc.task_route(
        EDIT,
        {
            "asset_ids": {**apidoc.array(apidoc.ASSET_ID), "maxItems": MAX_EDIT_INPUTS},
            "orientation": {"enum": list(ORIENTATIONS)},
            "user_prompt": {"type": "string", "maxLength": MAX_PROMPT},
        },
    ),
)
async def edit(request: Request) -> Response:
    """Start an edit (a concatenation in the requested orientation); the result comes to the webhook.

    :param request: the request.
    """
    return await submit_async(request, EDIT)
