"""What an event-driven DAG gets for one Mavi callback (:class:`CallbackEvent`), and the filter picking them.

Pure (no I/O). :class:`~airflow_provider_mavi.triggers.events.MaviCallbackEventTrigger` turns each record of
the bridge's arrival-ordered list into a :class:`CallbackEvent` and fires those its :class:`CallbackFilter`
matches; Airflow stores the event's JSON in the asset event's extra under ``payload``, where
:meth:`CallbackEvent.from_asset_event` reads it back.

- ``kind``: the job's kind. The bridge knows it for jobs this provider's operators submitted (they record the
  job); for a job submitted anywhere else it is recognised from the callback where the shape says it
  unambiguously (a frame extraction: an ``im_`` group with its ``imc_`` frames), else None.
- ``status``: ``success`` or ``failed`` (``results.callback_outcome``; a body that is not a callback at all
  is ``failed`` with the reason as ``message``).
- ``result``: the small part of the parsed result (``results``' typed parsers): ids, counts, numbers, short
  texts; a list of at most 50 short ids as it is, a longer one as ``<name>_count`` only. The whole callback
  stays in the bridge: ``MaviBridgeHook().get_callback(job_id)``. None when the kind is unknown or the
  callback failed; ``result_error`` says why a success could not be parsed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi import endpoints
from airflow_provider_mavi.events import FAILED, SUCCESS
from airflow_provider_mavi.exceptions import MaviError
from airflow_provider_mavi.results import callback_outcome, json_ready

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from airflow_provider_mavi.hooks.bridge_stream import StreamRecord

__all__ = ["JOB_KINDS", "CallbackEvent", "CallbackFilter", "recognise_kind", "small_result"]

_JOBS = (
    endpoints.EXTRACT_FRAMES,
    endpoints.TRANSCRIBE_VIDEO,
    endpoints.TRANSCRIBE_AUDIO,
    endpoints.DIARIZE,
    endpoints.RECOGNIZE_SPEAKERS,
    endpoints.SUMMARIZE,
    endpoints.DETECT_SCENES,
    endpoints.SPLIT_VIDEO,
    endpoints.EDIT_VIDEO,
)
_PARSERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    job.name: job.callback for job in _JOBS if job.callback is not None
}
#: The job kinds whose callbacks have a parser (the names of the async entries of the catalogue).
JOB_KINDS: tuple[str, ...] = tuple(_PARSERS)
STATUSES = (SUCCESS, FAILED)
_SHORT = 256
_LIST_MAX = 50


def recognise_kind(payload: Mapping[str, Any]) -> str | None:
    """The kind of a callback whose shape says it unambiguously, else None.

    Only a frame extraction is recognised: ``data.asset_id`` an ``im_`` group and ``data.asset_ch_ids`` a
    list (no other documented callback has either field).

    :param payload: the callback body.
    """
    data = payload.get("data")
    if isinstance(data, Mapping):
        group, frames = data.get("asset_id"), data.get("asset_ch_ids")
        if isinstance(group, str) and group.startswith("im_") and isinstance(frames, list):
            return endpoints.EXTRACT_FRAMES.name
    return None


def small_result(value: Any) -> dict[str, Any]:
    """The small part of a parsed result, for an asset event's extra.

    :param value: a result (dataclass) or a mapping.
    """
    full = json_ready(value)
    if not isinstance(full, Mapping):
        return {}
    small: dict[str, Any] = {}
    for key, item in full.items():
        if isinstance(item, str):
            if len(item) <= _SHORT:
                small[key] = item
        elif item is None or isinstance(item, (bool, int, float)):
            small[key] = item
        elif isinstance(item, list):
            small[f"{key}_count"] = len(item)
            if len(item) <= _LIST_MAX and all(isinstance(x, str) and len(x) <= _SHORT for x in item):
                small[key] = item
        elif isinstance(item, Mapping) and all(
            x is None or isinstance(x, (bool, int, float)) or (isinstance(x, str) and len(x) <= _SHORT)
            for x in item.values()
        ):
            small[key] = dict(item)
    return small


@dataclass(frozen=True)
class CallbackEvent:
    """One callback as an event-driven DAG sees it (JSON in the asset event's extra, under ``payload``).

    :param job_id: Mavi's job id.
    :param kind: the job's kind, or None when neither the bridge nor the callback's shape tells it.
    :param kind_from: ``bridge`` (its job record) or ``callback`` (recognised), None when unknown.
    :param status: ``success`` or ``failed``.
    :param message: Mavi's message.
    :param result: the small parsed result (success of a known kind), else None.
    :param result_error: why a success could not be parsed, else None.
    :param received_at: ISO 8601 UTC time the bridge first received it.
    :param deliveries: how many POSTs the bridge accepted for the job.
    :param cursor: its place in the bridge's list.
    """

    job_id: str
    kind: str | None
    kind_from: str | None
    status: str
    message: str
    result: dict[str, Any] | None
    result_error: str | None
    received_at: str
    deliveries: int
    cursor: str

    @classmethod
    def from_record(cls, record: StreamRecord) -> CallbackEvent:
        """The event of one record of the list.

        :param record: the record (its ``kind`` is the bridge's, when it has one).
        """
        kind, kind_from = record.kind, "bridge" if record.kind else None
        if kind is None and (kind := recognise_kind(record.payload)) is not None:
            kind_from = "callback"
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            succeeded, message = callback_outcome(record.payload)
        except MaviError as failure:
            succeeded, message = False, f"not a Mavi callback: {failure}"
        parse = _PARSERS.get(kind or "")
        if succeeded and parse is not None:
            try:
                result = small_result(parse(record.payload))
            except MaviError as failure:
                error = str(failure)
        return cls(
            job_id=record.job_id,
            kind=kind,
            kind_from=kind_from,
            status=SUCCESS if succeeded else FAILED,
            message=message,
            result=result,
            result_error=error,
            received_at=record.received_at,
            deliveries=record.deliveries,
            cursor=str(record.cursor),
        )

    def to_json(self) -> dict[str, Any]:
        """The event as JSON (what the trigger yields)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: object) -> CallbackEvent:
        """Read an event back.

        :param data: what :meth:`to_json` gave.
        :raises ValueError: naming what is missing.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a Mavi callback event is a JSON object, got {type(data).__name__}")
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in data]
        if missing or data.get("status") not in STATUSES:
            raise ValueError(f"not a Mavi callback event (missing {missing or 'a valid status'})")
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})

    @classmethod
    def from_asset_event(cls, event: Any) -> CallbackEvent:
        """The event carried by an asset event the trigger caused (``extra["payload"]``).

        :param event: an asset event (``triggering_asset_events``) or its ``extra`` mapping.
        :raises ValueError: when it does not carry one (the asset was updated some other way).
        """
        extra = event if isinstance(event, Mapping) else getattr(event, "extra", None)
        if not isinstance(extra, Mapping) or "payload" not in extra:
            raise ValueError("this asset event does not come from MaviCallbackEventTrigger (no payload)")
        return cls.from_json(extra["payload"])


@dataclass(frozen=True)
class CallbackFilter:
    """Which callbacks fire: every condition given must hold.

    :param kinds: job kinds (see :data:`JOB_KINDS`); a callback of unknown kind never matches a kinds filter.
    :param status: ``success`` or ``failed``.
    :param job_id_prefix: the job id starts with it.
    """

    kinds: tuple[str, ...] | None = None
    status: str | None = None
    job_id_prefix: str | None = None

    @classmethod
    def checked(
        cls, kinds: Iterable[str] | None, status: str | None, job_id_prefix: str | None
    ) -> CallbackFilter:
        """A filter from a trigger's arguments, refusing what could never match.

        :param kinds: job kinds, or None for any.
        :param status: ``success``, ``failed``, or None for both.
        :param job_id_prefix: a prefix, or None.
        :raises ValueError: for an unknown kind or status, an empty kinds list, or a non-string prefix.
        """
        if isinstance(kinds, str):
            kinds = [kinds]
        chosen = tuple(sorted(set(kinds))) if kinds is not None else None
        if chosen is not None and (not chosen or any(kind not in JOB_KINDS for kind in chosen)):
            raise ValueError(f"kinds must be a non-empty list of {', '.join(JOB_KINDS)}; got {kinds!r}")
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be 'success', 'failed' or None, got {status!r}")
        if job_id_prefix is not None and (not isinstance(job_id_prefix, str) or not job_id_prefix):
            raise ValueError(f"job_id_prefix must be a non-empty string or None, got {job_id_prefix!r}")
        return cls(chosen, status, job_id_prefix)

    def matches(self, event: CallbackEvent) -> bool:
        """Whether the event fires.

        :param event: the callback's event.
        """
        return (
            (self.kinds is None or event.kind in self.kinds)
            and (self.status is None or event.status == self.status)
            and (self.job_id_prefix is None or event.job_id.startswith(self.job_id_prefix))
        )
