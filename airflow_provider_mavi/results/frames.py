"""The extract-frames callback (``mavi-api.md`` §3.1): the ``im_`` frame group and its ``imc_`` frames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.results.callback import field_error, require_text, success_data

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["FramesResult", "parse_frames_callback"]


@dataclass(frozen=True)
class FramesResult:
    """What an extract-frames callback reports: the ``im_`` group and its ``imc_`` frames, in order."""

    job_id: str
    frames_asset_id: str
    frame_asset_ids: tuple[str, ...]

    @property
    def frame_count(self) -> int:
        """Number of frames Mavi extracted."""
        return len(self.frame_asset_ids)


def parse_frames_callback(payload: Mapping[str, Any]) -> FramesResult:
    """
    Parse a successful extract-frames callback (``data.asset_id``, ``data.asset_ch_ids``).

    :param payload: the callback body as Mavi sent it.
    :raises MaviCallbackError: naming the missing or malformed field, or when the callback reports failure.
    """
    job_id, data = success_data(payload)
    frames_asset_id = require_text(data.get("asset_id"), "data.asset_id")
    children = data.get("asset_ch_ids")
    if not isinstance(children, list) or not all(isinstance(child, str) and child for child in children):
        raise field_error("data.asset_ch_ids", "is missing or not a list of ids")
    return FramesResult(job_id=job_id, frames_asset_id=frames_asset_id, frame_asset_ids=tuple(children))
