"""Events as types: JSON round trips, the checks of execute_complete, and the one mapping to exceptions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.events import (
    ERROR,
    EVENT_STATUSES,
    FAILED,
    SUCCESS,
    TIMEOUT,
    AssetEvent,
    JobEvent,
    Reason,
    WaitDetail,
    defer_timeout,
    raise_for_event,
)
from airflow_provider_mavi.exceptions import (
    MaviAssetFailedError,
    MaviAuthenticationError,
    MaviBridgeNotConfiguredError,
    MaviJobFailedError,
    MaviJobTimeoutError,
    MaviNotFoundError,
    MaviOperatorError,
    MaviServerError,
    MaviTriggerEventError,
    MaviWaitError,
)
from airflow_provider_mavi.readiness import AssetStatus

OK = {"code": 200, "message": "SUCCESS", "task_id": "j1", "data": {}}

JOB_EVENTS = [
    JobEvent.from_callback("j1", OK, received_at="2026-01-01T00:00:00Z", deliveries=2, bridge_url="http://b"),
    JobEvent.from_callback("j1", {"code": 500, "message": "Video decoding failed", "task_id": "j1"}),
    JobEvent.from_callback("j1", {"task_id": "j1"}),  # no code: malformed
    JobEvent.timeout("j1", deadline=1.5, bridge_url="http://b", last_error="MaviBridgeError: 404"),
    JobEvent.error("j1", "the bridge refused the token", reason=Reason.TOKEN_REFUSED, bridge_url="http://b"),
]
ASSET_EVENTS = [
    AssetEvent.from_status(AssetStatus("re_1", "SUCCESS", {"asset_id": "re_1"}), deadline=9, now=1),
    AssetEvent.from_status(AssetStatus("re_1", "FAILED"), deadline=9, now=1),
    AssetEvent.from_status(AssetStatus("re_1", "UPLOADING"), deadline=9, now=10),
    AssetEvent.from_error("re_1", MaviAuthenticationError("401"), deadline=9, now=1),
    AssetEvent.error("re_1", "cannot read connection", reason=Reason.CONNECTION),
]


@pytest.mark.parametrize("event", JOB_EVENTS + ASSET_EVENTS, ids=lambda e: f"{type(e).__name__}-{e.status}")
def test_events_round_trip_through_json(event: JobEvent | AssetEvent) -> None:
    data = json.loads(json.dumps(event.to_json()))  # JSON primitives only, or this raises
    assert type(event).from_json(data) == event
    assert data["status"] in EVENT_STATUSES


def test_a_callback_decides_success_failure_or_malformed() -> None:
    assert [e.status for e in JOB_EVENTS] == [SUCCESS, FAILED, ERROR, TIMEOUT, ERROR]
    assert JOB_EVENTS[0].deliveries == 2
    assert JOB_EVENTS[1].message == "Video decoding failed"
    assert JOB_EVENTS[2].detail.reason == Reason.MALFORMED_CALLBACK
    assert JOB_EVENTS[2].payload == {"task_id": "j1"}  # kept, to show what came


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (None, "not an object"),
        ("success", "not an object"),
        ({"status": "done", "job_id": "j1"}, "unknown status 'done'"),
        ({"job_id": "j1"}, "unknown status None"),
        ({"status": "success", "job_id": "j1"}, "carries no callback payload"),
        ({"status": "success", "job_id": "j1", "payload": "x"}, "carries no callback payload"),
        ({"status": "success", "job_id": "j2", "payload": {}}, "for job 'j2'"),
        ({"status": "timeout", "job_id": "j1", "detail": []}, "detail is not an object"),
        ({"status": "timeout", "job_id": "j1", "detail": {"deadline": "soon"}}, "deadline is not a number"),
        ({"status": "timeout", "job_id": "j1", "detail": {"bridge_url": 5}}, "bridge_url is not a string"),
    ],
)
def test_a_job_event_this_provider_does_not_emit_is_refused(event: Any, match: str) -> None:
    with pytest.raises(MaviTriggerEventError, match=match):
        JobEvent.from_json(event, "j1")


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ([], "not an object"),
        ({"status": "maybe", "asset_id": "re_1"}, "unknown status"),
        ({"status": "success", "asset_id": "re_2"}, "not 're_1'"),
    ],
)
def test_an_asset_event_this_provider_does_not_emit_is_refused(event: Any, match: str) -> None:
    with pytest.raises(MaviTriggerEventError, match=match):
        AssetEvent.from_json(event, "re_1")


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(deadline=None)  # timing is not what this checks (the machine is shared)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "status": st.sampled_from([*EVENT_STATUSES, "other"]) | JSONISH,
            "job_id": st.just("j1") | JSONISH,
            "asset_id": st.just("re_1") | JSONISH,
            "payload": JSONISH,
            "metadata": JSONISH,
            "message": JSONISH,
            "deliveries": JSONISH,
            "detail": JSONISH,
        },
    )
    | JSONISH
)
def test_reading_any_event_gives_an_event_or_the_event_error(data: Any) -> None:
    for read in (lambda: JobEvent.from_json(data, "j1"), lambda: AssetEvent.from_json(data, "re_1")):
        try:
            event = read()
        except MaviTriggerEventError:
            continue
        assert event.status in EVENT_STATUSES
        json.dumps(event.to_json())


# ----------------------------------------------------------------------------------- raise_for_event


def test_success_raises_nothing() -> None:
    raise_for_event(JOB_EVENTS[0])
    raise_for_event(ASSET_EVENTS[0])


def test_a_failed_job_is_mavis_message() -> None:
    with pytest.raises(MaviJobFailedError, match="Mavi job j1 failed: Video decoding failed") as caught:
        raise_for_event(JOB_EVENTS[1])
    assert caught.value.mavi_message == "Video decoding failed"


def test_a_timeout_names_bridge_job_command_and_why_the_last_look_failed() -> None:
    with pytest.raises(MaviJobTimeoutError) as caught:
        raise_for_event(JOB_EVENTS[3])
    text = str(caught.value)
    assert "http://b" in text
    assert "mavi-bridge show j1" in text
    assert "could not be asked at the deadline: MaviBridgeError: 404" in text
    assert (caught.value.job_id, caught.value.bridge_url, caught.value.deadline) == ("j1", "http://b", 1.5)
    assert caught.value.last_error == "MaviBridgeError: 404"
    assert not hasattr(MaviJobTimeoutError, "from_event")  # no message is parsed back into data


def test_a_timeout_without_a_bridge_url_still_reads() -> None:
    with pytest.raises(MaviJobTimeoutError, match=r"bridge at \(unknown bridge\)"):
        raise_for_event(JobEvent.from_json({"status": "timeout", "job_id": "j1"}))


@pytest.mark.parametrize("event", [JOB_EVENTS[2], JOB_EVENTS[4]])
def test_a_broken_wait_is_a_wait_error_that_says_a_retry_re_attaches(event: JobEvent) -> None:
    with pytest.raises(MaviWaitError, match="re-attaches"):
        raise_for_event(event)


def test_a_failed_asset_is_the_asset_failed_error_the_readme_promises() -> None:
    with pytest.raises(MaviAssetFailedError, match="Mavi asset re_1 is not usable") as caught:
        raise_for_event(ASSET_EVENTS[1])
    assert caught.value.asset_id == "re_1"


def test_an_asset_timeout_and_error() -> None:
    with pytest.raises(MaviOperatorError, match="not ready in time"):
        raise_for_event(ASSET_EVENTS[2])
    with pytest.raises(MaviWaitError, match="Waiting for Mavi asset re_1 failed"):
        raise_for_event(ASSET_EVENTS[3])


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (MaviAuthenticationError("401"), ERROR, Reason.KEY_REFUSED),
        (MaviNotFoundError("Asset not found"), FAILED, Reason.NOT_FOUND),
        (MaviServerError("502"), ERROR, Reason.REPEATED_ERRORS),
    ],
)
def test_a_failed_read_maps_to_an_asset_event(error: Exception, status: str, reason: str) -> None:
    event = AssetEvent.from_error("re_1", error, deadline=9, now=1)
    assert (event.status, event.detail.reason) == (status, reason)
    late = AssetEvent.from_error("re_1", MaviServerError("502"), deadline=9, now=10)
    assert (late.status, late.detail.last_error) == (TIMEOUT, "MaviServerError: 502")


def test_a_pending_asset_keeps_the_wait_going() -> None:
    assert AssetEvent.from_status(AssetStatus("re_1", "UPLOADING"), deadline=9, now=1) is None
    assert AssetEvent.from_status(AssetStatus("re_1", None), deadline=9, now=1) is None


def test_operator_errors_are_airflow_exceptions_importable_where_they_were() -> None:
    from airflow_provider_mavi.operators import mavi

    for name in (
        "MaviOperatorError",
        "MaviJobFailedError",
        "MaviJobTimeoutError",
        "MaviTriggerEventError",
        "MaviWaitError",
        "MaviBridgeNotConfiguredError",
    ):
        cls = getattr(mavi, name)
        assert issubclass(cls, AirflowException)
        assert issubclass(cls, MaviOperatorError)
    assert MaviBridgeNotConfiguredError.__module__ == "airflow_provider_mavi.exceptions"


def test_defer_timeout_is_the_deadline_plus_a_grace() -> None:
    assert defer_timeout(1000.0, now=900.0).total_seconds() == 400.0
    assert defer_timeout(1000.0, now=2000.0).total_seconds() == 300.0


def test_wait_detail_ignores_unknown_fields() -> None:
    assert WaitDetail.from_json({"deadline": 3, "future_field": "x"}) == WaitDetail(deadline=3)
