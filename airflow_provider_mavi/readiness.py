"""When is a Mavi asset ready? One answer, used by the hook, the trigger, the sensor and the upload's re-use.

Mavi's ``GET /{asset_id}/metadata`` lists ``resource`` entries (``mavi-api.md`` §1.3, §2.4). A ``re_`` upload
or an ``imc_`` frame has its own entry; an ``im_`` frame group lists its frames instead. Only ``SUCCESS``
assets may be used by other endpoints.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FAILED",
    "READY",
    "UPLOADING",
    "WAITING",
    "AssetStatus",
    "ReadinessWatch",
    "asset_status",
    "poll_delay",
]

#: ``upload_status`` values (``mavi-api.md`` §1.3).
WAITING = "WAITING"
UPLOADING = "UPLOADING"
READY = "SUCCESS"
FAILED = "FAILED"


@dataclass(frozen=True)
class AssetStatus:
    """What the metadata says about one asset.

    :param asset_id: the asset asked about.
    :param status: ``SUCCESS``, ``FAILED``, ``WAITING``, ``UPLOADING`` (or another value Mavi sent), or None
        when the metadata holds nothing about it.
    :param entry: the asset's own metadata entry; for an ``im_`` group ``{asset_id, frames}``.
    """

    asset_id: str
    status: str | None
    entry: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """True when the asset may be used (``SUCCESS``)."""
        return self.status == READY

    @property
    def failed(self) -> bool:
        """True when Mavi gave up on it (``FAILED``): upload again."""
        return self.status == FAILED

    @property
    def reusable(self) -> bool:
        """True when an earlier upload can stand for a new one: ready, or still on its way."""
        return self.status is not None and not self.failed


def asset_status(entries: Sequence[Mapping[str, Any]] | Any, asset_id: str) -> AssetStatus:
    """The status of ``asset_id`` from its metadata ``resource`` entries.

    An entry whose ``asset_id`` matches decides. Else, when Mavi left ``asset_id`` out of a single entry,
    that entry is the asset's. Else the entries are the frames of an ``im_`` group: ``FAILED`` when one
    frame is, ``SUCCESS`` when every frame is, otherwise the first other status seen.

    :param entries: the ``resource`` entries of ``GET /{asset_id}/metadata``.
    :param asset_id: the asset asked about.
    """
    valid = [entry for entry in entries if isinstance(entry, Mapping)] if isinstance(entries, list) else []
    for entry in valid:
        if entry.get("asset_id") == asset_id:
            return AssetStatus(asset_id, _status(entry), dict(entry))
    if not valid:
        return AssetStatus(asset_id, None)
    if len(valid) == 1 and "asset_id" not in valid[0]:
        return AssetStatus(asset_id, _status(valid[0]), dict(valid[0]))
    statuses = [_status(entry) for entry in valid]
    summary = {"asset_id": asset_id, "frames": len(valid)}
    if FAILED in statuses:
        return AssetStatus(asset_id, FAILED, summary)
    if all(status == READY for status in statuses):
        return AssetStatus(asset_id, READY, summary)
    return AssetStatus(asset_id, next(s for s in statuses if s != READY), summary)


def _status(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("upload_status")
    return value if isinstance(value, str) and value else None


def poll_delay(
    poll_interval: float,
    polls: int,
    *,
    requests_per_second: float,
    cap: float = 60.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds before the next metadata poll of an asset that is not ready yet.

    Starts at ``poll_interval`` (never below one permit of the metadata bucket), grows by half each poll,
    is capped at ``max(cap, poll_interval)``, and is jittered by up to a quarter either way, so many uploads
    waiting at once spread their polls instead of taking the metadata bucket in bursts.

    :param poll_interval: the first interval in seconds (> 0).
    :param polls: polls made so far for this asset (1 after the first).
    :param requests_per_second: the metadata bucket's rate.
    :param cap: the longest interval in seconds.
    :param rng: a random source (tests pass a seeded one).
    """
    permit = 1.0 / max(requests_per_second, 1e-6)
    floor = max(float(poll_interval), permit)
    grown = min(max(cap, floor), floor * (1.5 ** min(max(polls - 1, 0), 40)))
    return max(permit, grown * (rng or random).uniform(0.75, 1.25))


@dataclass
class ReadinessWatch:
    """The decisions of one wait for an asset to be ready, shared by the blocking hook and the trigger.

    Feed it each metadata read with :meth:`observe`; it says whether the wait is over, and
    :meth:`next_delay` how long to sleep before the next read (None once the deadline has passed).

    :param asset_id: the asset waited for.
    :param deadline: when to give up, epoch seconds.
    :param poll_interval: the first interval between reads, in seconds.
    :param requests_per_second: the metadata bucket's rate (reads never come faster).
    """

    asset_id: str
    deadline: float
    poll_interval: float
    requests_per_second: float
    polls: int = 0
    last: AssetStatus | None = None

    def observe(self, entries: Sequence[Mapping[str, Any]] | Any) -> AssetStatus:
        """Record one metadata read and return what it says about the asset.

        :param entries: the ``resource`` entries of ``GET /{asset_id}/metadata``.
        """
        self.polls += 1
        self.last = asset_status(entries, self.asset_id)
        return self.last

    def next_delay(self, now: float, rng: random.Random | None = None) -> float | None:
        """Seconds until the next read, cut to the deadline; None when the deadline has passed.

        :param now: the current time, epoch seconds.
        :param rng: a random source for the jitter.
        """
        remaining = self.deadline - now
        if remaining <= 0:
            return None
        delay = poll_delay(
            self.poll_interval, self.polls, requests_per_second=self.requests_per_second, rng=rng
        )
        return min(delay, remaining)
