"""Whisper (sync), diarization (sync and async), speaker recognition and summary over a real server.

The sample's audio (samples.AUDIO_PATTERN): 220 Hz 0-1.5 s, 880 Hz 2-3.5 s, 220 Hz 4-5.5 s, silence
between; its picture cuts every 2 s.
"""

from __future__ import annotations

import time

import httpx
import pytest

TURNS = [(0.0, 1.5), (2.0, 3.5), (4.0, 5.5)]
LIMIT = {"code": 400, "msg": "Request has exceeded the limit.", "data": None}


def test_sync_audio_answers_whisper_segments(server, videos, api):
    asset_id = api.ready(server, videos["small"])
    answer = api.post(server, "/transcriptions/sync-generate-audio", {"asset_id": asset_id})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"code", "msg", "data", "success", "failed"}
    assert (body["code"], body["msg"], body["success"], body["failed"]) == (200, "success", True, False)
    assert body["data"]["model"] == "whisper-1"
    items = body["data"]["items"]
    assert [(i["start_time"], i["end_time"]) for i in items] == TURNS
    assert all(set(i) == {"text", "start_time", "end_time"} for i in items)  # no speaker unless asked
    assert [i["text"] for i in items] == ["[speech 1.5 s]"] * 3

    labelled = api.post(
        server, "/transcriptions/sync-generate-audio", {"asset_id": asset_id, "speaker": True}
    ).json()["data"]["items"]
    assert [i["speaker"] for i in labelled] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00"]
    stats = server.stats()
    assert stats["jobs_by_asset"][asset_id] == {"transcribe_audio_sync": 2}
    assert [j["cost_usd"] for j in stats["jobs"]] == [
        pytest.approx(0.006, abs=1e-4),
        pytest.approx(0.012, abs=1e-4),
    ]
    assert stats["spend_usd"] == pytest.approx(0.018, abs=1e-4)
    assert all(j["state"] == "succeeded" and "callback" not in j for j in stats["jobs"])


def test_sync_speaker_answers_pyannote_turns(server, videos, api):
    asset_id = api.ready(server, videos["small"])
    body = api.post(server, "/transcriptions/sync-generate-speaker", {"asset_id": asset_id}).json()
    assert body["code"] == 200
    assert body["data"] == {
        "model": "pyannote",
        "items": [
            {"start": 0.0, "end": 1.5, "speaker": "SPEAKER_00"},
            {"start": 2.0, "end": 3.5, "speaker": "SPEAKER_01"},
            {"start": 4.0, "end": 5.5, "speaker": "SPEAKER_00"},
        ],
    }
    assert server.stats()["spend_usd"] == pytest.approx(0.006, abs=1e-4)  # $0.001/s


def test_async_speaker_callback_matches_section_12_2(server, receiver, videos, api):
    asset_id = api.ready(server, videos["small"])
    job_id = api.submit(server, "/transcriptions/async-generate-speaker", {"asset_id": asset_id})
    callback = receiver.wait_for(job_id)
    assert set(callback) == {"code", "message", "data", "task_id"}
    assert (callback["code"], callback["message"]) == (200, "SUCCESS")
    outer = callback["data"]
    assert set(outer) == {"data", "msg", "success"}
    assert outer["success"] is True
    assert set(outer["data"]) == {"data", "usage_metadata"}
    assert [(t["start"], t["end"], t["speaker"]) for t in outer["data"]["data"]] == [
        (0.0, 1.5, "SPEAKER_00"),
        (2.0, 3.5, "SPEAKER_01"),
        (4.0, 5.5, "SPEAKER_00"),
    ]
    assert outer["data"]["usage_metadata"] == {
        "duration": pytest.approx(6.0, abs=0.05),
        "model": "pyannote",
        "output_tokens": 0,
        "prompt_tokens": 0,
    }
    assert api.job(server, job_id)["kind"] == "diarize"


def test_multi_speaker_callback_matches_section_12_3(server, receiver, videos, api):
    asset_id = api.ready(server, videos["small"])
    job_id = api.submit(server, "/transcriptions/async-generate-multi-speaker", {"asset_id": asset_id})
    data = receiver.wait_for(job_id)["data"]["data"]
    assert set(data) == {"audio_transcription", "faces", "usage_metadata"}
    assert data["faces"] == []  # the emulator detects no faces
    assert [
        (s["start_time"], s["end_time"], s["speaker"], s["text"]) for s in data["audio_transcription"]
    ] == [
        (0.0, 1.5, "SPEAKER_00", "[speech 1.5 s]"),
        (2.0, 3.5, "SPEAKER_01", "[speech 1.5 s]"),
        (4.0, 5.5, "SPEAKER_00", "[speech 1.5 s]"),
    ]
    assert isinstance(data["usage_metadata"], list)  # an array here, unlike every other endpoint
    assert data["usage_metadata"][0]["model"] == "pyannote"
    assert server.stats()["spend_usd"] == pytest.approx(6.0 / 60 * 0.1, abs=1e-4)  # $0.1/min


def test_summary_is_built_from_measurements(server, receiver, videos, api):
    asset_id = api.ready(server, videos["small"])
    job_id = api.submit(server, "/transcriptions/async-summary", {"asset_id": asset_id})
    outer = receiver.wait_for(job_id)["data"]
    assert outer["success"] is True
    assert set(outer["data"]) == {"summary", "usage"}  # `usage`, not `usage_metadata`
    summary = outer["data"]["summary"]
    assert summary.startswith("Emulator summary from measurements only")
    assert "3 scene(s) (cuts at 2.0 s, 4.0 s)" in summary
    assert "3 stretch(es) of voice activity totalling 4.5 s, 2 speaker cluster(s)" in summary
    assert "Measured 0.0-4.0 s" in summary  # the visual description's segments
    usage = outer["data"]["usage"]
    assert set(usage) == {"duration", "model", "output_tokens", "prompt_tokens"}
    assert usage["model"] == "gemini-2.5-flash"
    assert usage["output_tokens"] >= len(summary.split()) > 0
    assert server.stats()["spend_usd"] == 0.0  # the summary's price is not documented

    audio_only = api.ready(server, videos["audio"])
    text = receiver.wait_for(api.submit(server, "/transcriptions/async-summary", {"asset_id": audio_only}))
    assert "without a picture" in text["data"]["data"]["summary"]


@pytest.mark.parametrize(
    "path",
    [
        "/transcriptions/sync-generate-audio",
        "/transcriptions/sync-generate-speaker",
        "/transcriptions/async-generate-speaker",
        "/transcriptions/async-generate-multi-speaker",
        "/transcriptions/async-summary",
    ],
)
def test_validation_order(make_server, receiver, videos, api, path):
    server = make_server()  # no webhook yet
    missing = api.post(server, path, {})
    assert missing.status_code == 400
    assert missing.json() == {"code": 400, "msg": "asset_id cannot be null or empty", "data": None}
    assert api.post(server, path, {"asset_id": "  "}).json()["msg"] == "asset_id cannot be null or empty"
    unknown = api.post(server, path, {"asset_id": "re_1"})
    if "/async-" in path:
        assert unknown.json() == {
            "code": 400,
            "msg": "An async request requires at least one webhook.",
            "data": None,
        }
        server.set_webhook(receiver.url)
        unknown = api.post(server, path, {"asset_id": "re_1"})
    assert (unknown.status_code, unknown.json()) == (400, LIMIT)
    not_media = api.upload(server, videos["not_video"])
    assert api.wait_status(server, not_media)["upload_status"] == "FAILED"
    assert api.post(server, path, {"asset_id": not_media}).json() == LIMIT
    assert server.stats()["jobs"] == []  # nothing refused was recorded or charged
    assert server.stats()["spend_usd"] == 0


def test_whisper_parameters_are_checked(server, videos, api):
    asset_id = api.ready(server, videos["small"])
    for body in ({"model": "whisper-2"}, {"speaker": "yes"}, {"model": 3}):
        answer = api.post(server, "/transcriptions/sync-generate-audio", {"asset_id": asset_id, **body})
        assert answer.json() == LIMIT
    assert api.post(server, "/transcriptions/sync-generate-audio", ["not", "an", "object"]).json()["msg"] == (
        "asset_id cannot be null or empty"
    )


def test_a_video_without_sound_has_no_turns(server, receiver, videos, api):
    asset_id = api.ready(server, videos["silent"])
    assert api.post(server, "/transcriptions/sync-generate-speaker", {"asset_id": asset_id}).json()[
        "data"
    ] == {
        "model": "pyannote",
        "items": [],
    }
    callback = receiver.wait_for(
        api.submit(server, "/transcriptions/async-generate-speaker", {"asset_id": asset_id})
    )
    assert callback["data"]["data"]["data"] == []
    assert "no audio track" in callback["data"]["msg"]


def test_failure_callback_fault_on_a_new_kind(server, receiver, videos, api):
    asset_id = api.ready(server, videos["small"])
    server.set_faults({"failure_callback": {"next": 1, "code": 503, "msg": "boom"}})
    job_id = api.submit(server, "/transcriptions/async-generate-multi-speaker", {"asset_id": asset_id})
    assert receiver.wait_for(job_id) == {
        "code": 503,
        "message": "FAILED",
        "data": {"data": None, "msg": "boom", "success": False},
        "task_id": job_id,
    }
    assert api.job(server, job_id)["state"] == "failed"


def test_each_endpoint_has_its_own_rate_limit(make_server, receiver, videos, api):
    server = make_server(qps=1, webhook_url=receiver.url)
    asset_id = api.upload(server, videos["small"])
    time.sleep(1.05)
    assert api.wait_status(server, asset_id)["upload_status"] == "SUCCESS"
    first = api.post(server, "/transcriptions/sync-generate-speaker", {"asset_id": asset_id})
    second = api.post(server, "/transcriptions/sync-generate-speaker", {"asset_id": asset_id})
    other = api.post(server, "/transcriptions/async-generate-speaker", {"asset_id": asset_id})
    assert first.status_code == 200
    assert other.status_code == 200
    assert (second.status_code, second.json()) == (400, LIMIT)
    stats = server.stats()
    assert stats["rate_limited"] == {"POST /transcriptions/sync-generate-speaker": 1}
    assert stats["jobs_by_asset"][asset_id] == {"diarize_sync": 1, "diarize": 1}


def test_success_code_0000_in_sync_answers_and_callbacks(make_server, receiver, videos, api):
    server = make_server(webhook_url=receiver.url, success_code="0000")
    asset_id = api.ready(server, videos["small"])
    assert (
        api.post(server, "/transcriptions/sync-generate-speaker", {"asset_id": asset_id}).json()["code"]
        == "0000"
    )
    callback = receiver.wait_for(api.submit(server, "/transcriptions/async-summary", {"asset_id": asset_id}))
    assert (callback["code"], callback["message"]) == ("0000", "SUCCESS")


def test_balance_is_checked_before_a_sync_call(make_server, videos, api):
    server = make_server(balance_usd=0.005)
    asset_id = api.ready(server, videos["small"])  # 6 s: $0.006 at $0.001/s
    answer = api.post(server, "/transcriptions/sync-generate-speaker", {"asset_id": asset_id})
    assert answer.status_code == 402
    assert answer.json()["msg"] == "Insufficient balance. Please recharge and try again."
    assert server.stats()["jobs"] == []


def test_unknown_path_and_method_answer_the_envelope(server, api):
    answer = api.post(server, "/transcriptions/no-such-endpoint", {})
    assert answer.status_code == 404
    assert answer.json()["code"] == 404
    assert answer.json()["data"] is None
    wrong = httpx.get(f"{server.base_url}/transcriptions/sync-generate-audio", headers=api.auth())
    assert wrong.status_code == 405
    assert wrong.json()["code"] == 405
