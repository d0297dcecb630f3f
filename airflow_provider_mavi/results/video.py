"""Video job callbacks (``mavi-api.md`` §12.5 to §12.7): scene detection (``/video/clip``), split and edit.

- Scenes are INCLUSIVE FRAME numbers (``data.data.data[] {start, end}``). Mavi reports no frame rate anywhere,
  so seconds are given only when the caller supplies the video's fps; they are never guessed.
- Split: ``data.splits[]`` (no ``data.data`` level; ``file_size`` an integer, unlike metadata's string).
- Edit: ``data`` is one asset record, the new video.

None of the three has a published price: ``cost_usd`` is None with the reason in ``cost_note``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.results.base import Result
from airflow_provider_mavi.results.callback import (
    field_error,
    optional_seconds,
    optional_text,
    require_list,
    require_mapping,
    require_text,
    success_data,
    whole_number,
)
from airflow_provider_mavi.results.prices import (
    EDIT_PRICE,
    SCENES_PRICE,
    SPLIT_PRICE,
    Price,
    Usage,
    cost_and_note,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "AssetRecord",
    "EditedVideo",
    "Scene",
    "Scenes",
    "SplitVideo",
    "parse_edit_callback",
    "parse_scenes_callback",
    "parse_split_callback",
]


def _no_cost(price: Price) -> dict[str, Any]:
    cost, note = cost_and_note(price, Usage(), "")
    return {"cost_usd": cost, "cost_note": note}


def check_fps(fps: float) -> float:
    """``fps`` when it is a finite number > 0, else ``ValueError``.

    :param fps: the video's frame rate.
    """
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a finite number > 0 (the video's frame rate), got {fps!r}")
    return float(fps)


@dataclass(frozen=True)
class Scene:
    """One scene: inclusive frame numbers, and seconds when the frame rate is known.

    :param start_frame: the scene's first frame (from 0).
    :param end_frame: the scene's last frame (inclusive).
    :param start_seconds: ``start_frame / fps``; None without an fps.
    :param end_seconds: ``(end_frame + 1) / fps``, where the last frame ends; None without an fps.
    """

    start_frame: int
    end_frame: int
    start_seconds: float | None = None
    end_seconds: float | None = None

    @property
    def frame_count(self) -> int:
        """Frames in the scene (both ends included)."""
        return self.end_frame - self.start_frame + 1


@dataclass(frozen=True)
class Scenes(Result):
    """What a scene-detection callback reports.

    :param job_id: the Mavi job id.
    :param scenes: the scenes, in Mavi's order.
    :param exec_time_seconds: Mavi's processing time (``data.data.exec_time``).
    :param fps: the frame rate the seconds were computed with; None: no seconds.
    :param cost_usd: always None (no published price).
    :param cost_note: why.
    """

    job_id: str
    scenes: tuple[Scene, ...]
    exec_time_seconds: float | None
    fps: float | None
    cost_usd: float | None
    cost_note: str | None

    def with_fps(self, fps: float) -> Scenes:
        """The same scenes with their times in seconds, for the video's frame rate (e.g. probed with PyAV).

        :param fps: the video's frame rate, > 0.
        """
        rate = check_fps(fps)
        scenes = tuple(
            dataclasses.replace(s, start_seconds=s.start_frame / rate, end_seconds=(s.end_frame + 1) / rate)
            for s in self.scenes
        )
        return dataclasses.replace(self, scenes=scenes, fps=rate)


@dataclass(frozen=True)
class AssetRecord:
    """A new asset as a split or edit callback describes it.

    :param asset_id: the ``re_`` asset.
    :param original_filename: e.g. ``segment_video_<id>_0``.
    :param extension: e.g. ``mp4``.
    :param file_size: bytes, when reported.
    :param upload_status: e.g. ``SUCCESS``.
    :param create_time: epoch milliseconds, as Mavi sent it (a string).
    :param modify_time: epoch milliseconds, as Mavi sent it (a string).
    """

    asset_id: str
    original_filename: str | None
    extension: str | None
    file_size: int | None
    upload_status: str | None
    create_time: str | None
    modify_time: str | None

    @property
    def ready(self) -> bool:
        """The asset can be used by other endpoints (``upload_status`` is ``SUCCESS``)."""
        return self.upload_status == "SUCCESS"


@dataclass(frozen=True)
class SplitVideo(Result):
    """What a split callback reports: the new segment assets, in order.

    :param job_id: the Mavi job id.
    :param segments: the segment assets, ordered by the index in ``segment_video_<id>_<index>`` when every
        name carries one, else in Mavi's order.
    :param cost_usd: always None (no published price).
    :param cost_note: why.
    """

    _derived = ("asset_ids",)

    job_id: str
    segments: tuple[AssetRecord, ...]
    cost_usd: float | None
    cost_note: str | None

    @property
    def asset_ids(self) -> tuple[str, ...]:
        """The segments' ``re_`` ids, in order (ready for ``.expand()``)."""
        return tuple(segment.asset_id for segment in self.segments)


@dataclass(frozen=True)
class EditedVideo(Result):
    """What an edit callback reports: the new video.

    :param job_id: the Mavi job id.
    :param asset: the edited video's asset record.
    :param cost_usd: always None (no published price).
    :param cost_note: why.
    """

    _derived = ("asset_id",)

    job_id: str
    asset: AssetRecord
    cost_usd: float | None
    cost_note: str | None

    @property
    def asset_id(self) -> str:
        """The edited video's ``re_`` id."""
        return self.asset.asset_id


def _scene(item: object, field: str) -> Scene:
    entry = require_mapping(item, field)
    start = whole_number(entry.get("start"), f"{field}.start")
    end = whole_number(entry.get("end"), f"{field}.end")
    if end < start:
        raise field_error(f"{field}.end", f"({end}) is before the start frame ({start})")
    return Scene(start_frame=start, end_frame=end)


def parse_scenes_callback(payload: Mapping[str, Any], *, fps: float | None = None) -> Scenes:
    """
    Parse a successful ``/video/clip`` callback; with ``fps``, add each scene's times in seconds.

    :param payload: the callback body as Mavi sent it.
    :param fps: the video's frame rate, if known (never guessed: without it there are no seconds).
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    :raises ValueError: when ``fps`` is not a number > 0.
    """
    rate = None if fps is None else check_fps(fps)
    job_id, outer = success_data(payload)
    inner = require_mapping(outer.get("data"), "data.data")
    items = require_list(inner.get("data"), "data.data.data")
    result = Scenes(
        job_id=job_id,
        scenes=tuple(_scene(item, f"data.data.data[{i}]") for i, item in enumerate(items)),
        exec_time_seconds=optional_seconds(inner.get("exec_time"), "data.data.exec_time"),
        fps=None,
        **_no_cost(SCENES_PRICE),
    )
    return result if rate is None else result.with_fps(rate)


def _size(value: object, field: str) -> int | None:
    if isinstance(value, str) and value.isdigit():  # metadata's form (a string of digits)
        return int(value)
    return None if value is None else whole_number(value, field)


def _time(value: object, field: str) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return optional_text(value, field)


def asset_record(item: object, field: str) -> AssetRecord:
    """Read one asset record of a split or edit callback.

    :param item: the record.
    :param field: its dotted path, e.g. ``data.splits[0]``.
    """
    entry = require_mapping(item, field)
    return AssetRecord(
        asset_id=require_text(entry.get("asset_id"), f"{field}.asset_id"),
        original_filename=optional_text(entry.get("original_filename"), f"{field}.original_filename"),
        extension=optional_text(entry.get("extension"), f"{field}.extension"),
        file_size=_size(entry.get("file_size"), f"{field}.file_size"),
        upload_status=optional_text(entry.get("upload_status"), f"{field}.upload_status"),
        create_time=_time(entry.get("create_time"), f"{field}.create_time"),
        modify_time=_time(entry.get("modify_time"), f"{field}.modify_time"),
    )


_SEGMENT_NAME = re.compile(r"^segment_video_.*_(\d+)$")


def _in_order(records: tuple[AssetRecord, ...]) -> tuple[AssetRecord, ...]:
    indexes = [_SEGMENT_NAME.match(r.original_filename or "") for r in records]
    if not records or not all(indexes):
        return records
    numbers = [int(m.group(1)) for m in indexes if m]
    if len(set(numbers)) != len(numbers):
        return records
    return tuple(record for _, record in sorted(zip(numbers, records, strict=True), key=lambda p: p[0]))


def parse_split_callback(payload: Mapping[str, Any]) -> SplitVideo:
    """
    Parse a successful ``/video/split`` callback (``data.splits[]``).

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    """
    job_id, data = success_data(payload)
    splits = require_list(data.get("splits"), "data.splits")
    if not splits:
        raise field_error("data.splits", "is empty: Mavi reports success but made no segment")
    records = tuple(asset_record(item, f"data.splits[{i}]") for i, item in enumerate(splits))
    return SplitVideo(job_id=job_id, segments=_in_order(records), **_no_cost(SPLIT_PRICE))


def parse_edit_callback(payload: Mapping[str, Any]) -> EditedVideo:
    """
    Parse a successful ``/video/edit`` callback (``data`` is the new video's asset record).

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    """
    job_id, data = success_data(payload)
    return EditedVideo(job_id=job_id, asset=asset_record(data, "data"), **_no_cost(EDIT_PRICE))
