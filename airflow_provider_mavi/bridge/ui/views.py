"""
What the Mavi page and the job page show, computed from store records: pure (no I/O, no HTML).

Every value that came from outside (payloads, ids, messages) stays a plain string here; the templates escape
it (Jinja2 autoescape). Times are epoch seconds in, text out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from airflow_provider_mavi.bridge.store import SpendRow

#: Characters of Mavi's message shown in a list (the job page shows the whole payload).
MESSAGE_CHARS = 120


def duration(seconds: float) -> str:
    """
    A short human duration: ``"42 s"``, ``"7 min"``, ``"3 h 05 min"``, ``"2 d 4 h"``.

    :param seconds: how long (negative counts as its absolute value).
    """
    total = int(abs(seconds))
    if total < 60:
        return f"{total} s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@dataclass(frozen=True)
class Deadline:
    """
    Where a job stands against its deadline.

    :param text: ``"in 12 min"``, ``"overdue by 3 min"``, or ``"none recorded"``.
    :param overdue: the deadline has passed.
    """

    text: str
    overdue: bool


def deadline(at: float | None, now: float) -> Deadline:
    """
    Describe a deadline relative to ``now``.

    :param at: epoch seconds, None when the job record has none.
    :param now: epoch seconds.
    """
    if at is None:
        return Deadline("none recorded", False)
    if at >= now:
        return Deadline(f"in {duration(at - now)}", False)
    return Deadline(f"overdue by {duration(now - at)}", True)


def load_payload(payload: bytes) -> Any:
    """
    The stored body as JSON (the store only keeps JSON objects; anything else is shown as text).

    :param payload: the body as stored.
    """
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")


def pretty(payload: bytes) -> str:
    """
    The body indented for reading, keys in Mavi's order, non-ASCII kept.

    :param payload: the body as stored.
    """
    value = load_payload(payload)
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def mavi_says(payload: bytes) -> str:
    """
    Mavi's own ``code`` and ``message`` (or ``msg``) of a callback, as sent, shortened for a list; the bridge
    does not judge success (the operators do).

    :param payload: the body as stored.
    """
    body = load_payload(payload)
    if not isinstance(body, Mapping):
        return ""
    parts = []
    if "code" in body:
        parts.append(f"code {body['code']}")
    message = body.get("message", body.get("msg"))
    data = body.get("data")
    if isinstance(data, Mapping) and data.get("success") is False:
        message = data.get("msg", message)
        parts.append("data.success false")
    if message is not None:
        parts.append(str(message))
    text = " · ".join(parts)
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def kind_from_shape(payload: bytes) -> str | None:
    """
    The job kind a callback's body looks like, for callbacks no job record names (Mavi's callback does not
    say which endpoint it answers). None when the shape is not one of the documented ones.

    :param payload: the body as stored.
    """
    body = load_payload(payload)
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        return None
    if isinstance(data.get("asset_ch_ids"), list):
        return "extract_frames"
    if isinstance(data.get("splits"), list):
        return "split_video"
    inner = data.get("data")
    if not isinstance(inner, Mapping):
        asset = data.get("asset_id")
        return "edit_video" if isinstance(asset, str) and "original_filename" in data else None
    if isinstance(inner.get("summary"), str):
        return "summarize"
    if isinstance(inner.get("audio_transcription"), list):
        return "recognize_speakers"
    items = _items(inner.get("data"))
    if not items:
        return None
    keys = set(items[0])
    if "transcript" in keys:
        return "transcribe_video"
    if "text" in keys:
        return "transcribe_audio"
    if "speaker" in keys:
        return "diarize"
    if {"start", "end"} <= keys and "exec_time" in inner:
        return "detect_scenes"
    return None


@dataclass(frozen=True)
class SpendTotal:
    """
    Spend of one DAG or one day over the page's window.

    :param label: the DAG id (``"(no DAG)"`` for jobs recorded without one) or the day.
    :param jobs: jobs recorded.
    :param priced: jobs with a recorded price.
    :param cost_usd: the sum of the recorded prices.
    """

    label: str
    jobs: int
    priced: int
    cost_usd: float

    @property
    def unpriced(self) -> int:
        """Jobs whose price is not (yet) known: not in :attr:`cost_usd`."""
        return self.jobs - self.priced


NO_DAG = "(no DAG)"


def _totals(pairs: Iterable[tuple[str, SpendRow]]) -> list[SpendTotal]:
    sums: dict[str, list[float]] = {}
    for label, row in pairs:
        total = sums.setdefault(label, [0, 0, 0.0])
        total[0] += row.jobs
        total[1] += row.priced
        total[2] += row.cost_usd
    return [SpendTotal(label, int(j), int(p), c) for label, (j, p, c) in sums.items()]


def spend_by_dag(rows: Sequence[SpendRow]) -> list[SpendTotal]:
    """
    Sum the rows per DAG, most expensive first.

    :param rows: the store's per-day-and-DAG rows.
    """
    totals = _totals((row.dag_id or NO_DAG, row) for row in rows)
    return sorted(totals, key=lambda t: (-t.cost_usd, -t.jobs, t.label))


def spend_by_day(rows: Sequence[SpendRow]) -> list[SpendTotal]:
    """
    Sum the rows per UTC day, newest first.

    :param rows: the store's per-day-and-DAG rows.
    """
    return sorted(_totals((row.day, row) for row in rows), key=lambda t: t.label, reverse=True)


def usd(value: float | None) -> str:
    """
    Dollars for a table: ``"$0.0600"``; ``"unknown"`` for None (never a guess).

    :param value: dollars.
    """
    if value is None or not math.isfinite(value):
        return "unknown"
    return f"${value:,.4f}"


@dataclass(frozen=True)
class Ingest:
    """
    How fast callbacks come in, and what this process's metrics counted since it started.

    :param last_minute: jobs whose first callback arrived in the last minute (the store: every replica).
    :param last_hour: the same over the last hour.
    :param posts: callback POSTs this process stored (its ``mavi_bridge_callbacks_received`` counter).
    :param duplicates: of those, repeats of a stored body.
    :param rejected: POSTs refused, by reason (only reasons with a count).
    :param open_waits: long-polls waiting now.
    """

    last_minute: int
    last_hour: int
    posts: int
    duplicates: int
    rejected: dict[str, int]
    open_waits: int

    @property
    def per_minute(self) -> str:
        """The average rate over the last hour, per minute."""
        return f"{self.last_hour / 60:.2f}"
