"""The callback event of an event-driven DAG (pure), the trigger's arguments, and the ack-mode producer's
commit rule (no server: the follower is a stand-in recording commits)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_mavi.callback_events import (
    JOB_KINDS,
    CallbackEvent,
    CallbackFilter,
    recognise_kind,
    small_result,
)
from airflow_provider_mavi.compat import HAS_SHARED_STREAMS
from airflow_provider_mavi.hooks.bridge_stream import StreamRecord, check_consumer_name
from airflow_provider_mavi.triggers.callback_stream import CallbackProducer
from airflow_provider_mavi.triggers.mavi import MaviCallbackEventTrigger


def record(
    payload: dict[str, Any], *, kind: str | None = None, cursor: int = 7, terminal: bool = True
) -> Any:
    return StreamRecord(
        cursor=cursor,
        job_id=str(payload.get("task_id", "j")),
        kind=kind,
        terminal=terminal,
        received_at="2026-01-01T00:00:00.000+00:00",
        deliveries=1,
        payload=payload,
    )


def test_a_frames_callback_is_recognised_and_its_frame_group_is_the_result(kit: Any) -> None:
    event = CallbackEvent.from_record(record(kit.frames_callback("j1")))
    assert (event.kind, event.kind_from, event.status, event.message) == (
        "extract_frames",
        "callback",
        "success",
        "SUCCESS",
    )
    assert event.result == {
        "job_id": "j1",
        "frames_asset_id": "im_1234",
        "frame_asset_ids": ["imc_1234_0", "imc_1234_1", "imc_1234_2"],
        "frame_asset_ids_count": 3,
    }
    assert event.cursor == "7"
    assert CallbackEvent.from_json(json.loads(json.dumps(event.to_json()))) == event


def test_the_bridges_kind_wins_and_a_transcript_is_summed_up_small(kit: Any) -> None:
    event = CallbackEvent.from_record(record(kit.transcript_callback("j2"), kind="transcribe_video"))
    assert (event.kind, event.kind_from) == ("transcribe_video", "bridge")
    assert event.result is not None
    assert event.result["segments_count"] == 2
    assert "segments" not in event.result  # the segments themselves stay in the bridge
    assert event.result["model"] == "gemini-2.5-flash-lite"


def test_a_failure_has_no_result_and_says_why(kit: Any) -> None:
    event = CallbackEvent.from_record(record(kit.failure_callback("j3"), kind="extract_frames"))
    assert (event.status, event.message, event.result, event.result_error) == (
        "failed",
        "Video decoding failed",
        None,
        None,
    )


def test_an_unknown_kind_fires_without_a_result(kit: Any) -> None:
    payload = {"code": 200, "message": "SUCCESS", "data": {"summary": "x"}, "task_id": "j4"}
    event = CallbackEvent.from_record(record(payload))
    assert (event.kind, event.kind_from, event.status, event.result) == (None, None, "success", None)


def test_a_malformed_success_keeps_its_status_and_names_the_field() -> None:
    payload = {"code": 200, "message": "SUCCESS", "data": {"asset_id": "im_9"}, "task_id": "j5"}
    event = CallbackEvent.from_record(record(payload, kind="extract_frames"))
    assert (event.status, event.result) == ("success", None)
    assert "asset_ch_ids" in (event.result_error or "")


def test_a_body_that_is_no_callback_is_a_failure() -> None:
    event = CallbackEvent.from_record(record({"task_id": "j6", "hello": 1}))
    assert event.status == "failed"
    assert event.message.startswith("not a Mavi callback")


def test_recognition_needs_both_fields_of_a_frame_group() -> None:
    assert recognise_kind({"data": {"asset_id": "re_1", "asset_ch_ids": []}}) is None
    assert recognise_kind({"data": {"asset_id": "im_1"}}) is None
    assert recognise_kind({"data": "x"}) is None


def test_small_results_drop_long_texts_and_long_lists() -> None:
    value = {
        "short": "a" * 256,
        "long": "a" * 257,
        "ids": [f"id{i}" for i in range(50)],
        "many": [f"id{i}" for i in range(51)],
        "objects": [{"a": 1}],
        "usage": {"tokens": 3, "model": "m"},
        "nested": {"deep": {"x": 1}},
        "n": 1.5,
    }
    small = small_result(value)
    assert set(small) == {"short", "ids", "ids_count", "many_count", "objects_count", "usage", "n"}
    assert small["many_count"] == 51


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": []}, "kinds"),
        ({"kinds": ["frames"]}, "kinds"),
        ({"status": "ok"}, "status"),
        ({"job_id_prefix": ""}, "job_id_prefix"),
        ({"start": "now"}, "start"),
        ({"poll_wait": 0}, "poll_wait"),
        ({"poll_wait": 56}, "poll_wait"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 1001}, "page_size"),
        ({"persist_grace": -1}, "persist_grace"),
        ({"consumer": "a/b"}, "consumer name"),
        ({"consumer": ""}, "consumer name"),
        ({"consumer": ".x"}, "consumer name"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], message: str) -> None:
    kwargs = {"consumer": "c", **kwargs}
    with pytest.raises(ValueError, match=message):
        MaviCallbackEventTrigger(**kwargs)


def test_the_trigger_serializes_to_json_and_back_with_a_stable_key() -> None:
    trigger = MaviCallbackEventTrigger(
        consumer="frames", kinds=["transcribe_video", "extract_frames"], status="success", job_id_prefix="ab"
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_mavi.triggers.mavi.MaviCallbackEventTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["kinds"] == ["extract_frames", "transcribe_video"]  # sorted: the same hash either way
    again = MaviCallbackEventTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert again.shared_stream_key() == ("airflow_provider_mavi.callbacks", "mavi_default", "frames")
    assert MaviCallbackEventTrigger.hash(path, kwargs) == MaviCallbackEventTrigger.hash(*again.serialize())
    assert set(JOB_KINDS) >= {"extract_frames", "transcribe_video", "summarize"}
    assert "token" not in json.dumps(kwargs)


def test_filters() -> None:
    event = CallbackEvent("abc1", "extract_frames", "bridge", "success", "", {}, None, "", 1, "3")
    assert CallbackFilter.checked(None, None, None).matches(event)
    assert CallbackFilter.checked(["extract_frames"], "success", "abc").matches(event)
    assert not CallbackFilter.checked(["transcribe_video"], None, None).matches(event)
    assert not CallbackFilter.checked(None, "failed", None).matches(event)
    assert not CallbackFilter.checked(None, None, "x").matches(event)
    unknown = CallbackEvent("abc1", None, None, "success", "", None, None, "", 1, "3")
    assert not CallbackFilter.checked(["extract_frames"], None, None).matches(unknown)


def test_an_asset_event_not_from_the_trigger_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="does not come from MaviCallbackEventTrigger"):
        CallbackEvent.from_asset_event({"path": "/x"})
    with pytest.raises(ValueError, match="status"):
        CallbackEvent.from_asset_event({"payload": {"job_id": "x"}})


@pytest.mark.parametrize("name", ["a", "A-b_c.d~e", "x" * 200])
def test_consumer_names(name: str) -> None:
    assert check_consumer_name(name) == name


class Follower:
    consumer = "c"

    def __init__(self) -> None:
        self.commits: list[int] = []

    async def commit(self, cursor: int) -> bool:
        self.commits.append(cursor)
        return True


needs_shared_streams = pytest.mark.skipif(
    not HAS_SHARED_STREAMS,
    reason="ack-mode shared streams (airflow.triggers.shared_stream) are new in Airflow 3.3",
)


def advance_item(cursor: int, acked: int, failed: int) -> Any:
    from airflow.triggers.shared_stream import AdvanceItem, AdvanceOutcome

    return AdvanceItem(cursor, AdvanceOutcome(acked=acked, failed=failed))


def clean(cursor: int) -> Any:
    return advance_item(cursor, acked=1, failed=0)


@needs_shared_streams
async def test_the_producer_commits_the_clean_prefix_and_nothing_after_an_unclean_event() -> None:
    follower = Follower()
    producer = CallbackProducer(follower, 1.0)  # type: ignore[arg-type]
    await producer.advance([clean(3), clean(5)])
    await producer.advance([clean(6), advance_item(8, acked=0, failed=1), clean(9)])
    await producer.advance([clean(10)])
    assert follower.commits == [5, 6]  # 8's events were never confirmed: nothing at or past it
    assert producer.blocked_at == 8


@needs_shared_streams
async def test_an_event_nobody_received_is_not_committed() -> None:
    follower = Follower()
    producer = CallbackProducer(follower, 1.0)  # type: ignore[arg-type]
    await producer.advance([advance_item(4, acked=0, failed=0)])
    assert follower.commits == []
