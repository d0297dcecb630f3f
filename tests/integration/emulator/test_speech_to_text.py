"""Speech-to-text (sync) in the ElevenLabs and AssemblyAI shapes, from an asset or a URL it fetches."""

from __future__ import annotations

import shutil
import uuid

import pytest

PATH = "/transcriptions/speech-to-text"
LIMIT = {"code": 400, "msg": "Request has exceeded the limit.", "data": None}


def test_elevenlabs_from_an_asset(server, videos, api):
    asset_id = api.ready(server, videos["small"])
    body = api.post(server, PATH, {"asset_id": asset_id, "diarize": True}).json()
    assert (body["code"], body["msg"], body["success"]) == (200, "success", True)
    data = body["data"]
    assert set(data) == {"language_code", "language_probability", "text", "words"}
    assert (data["language_code"], data["language_probability"]) == ("und", 0.0)  # nothing detected
    assert data["text"] == "[speech] [speech] [speech]"
    words = data["words"]
    assert [w["type"] for w in words] == ["word", "spacing", "word", "spacing", "word"]
    assert [(w["start"], w["end"], w["speaker_id"]) for w in words if w["type"] == "word"] == [
        (0.0, 1.5, "speaker_0"),
        (2.0, 3.5, "speaker_1"),
        (4.0, 5.5, "speaker_0"),
    ]
    assert words[1] == {"text": " ", "start": 1.5, "end": 2.0, "type": "spacing"}  # no speaker_id
    job = server.stats()["jobs"][0]
    assert (job["kind"], job["provider"]) == ("speech_to_text", "elevenlabs")
    assert job["cost_usd"] == pytest.approx(6 * 0.39 / 3600, abs=1e-6)


def test_elevenlabs_options(server, videos, api):
    asset_id = api.ready(server, videos["small"])
    plain = api.post(server, PATH, {"asset_id": asset_id, "language_code": "en"}).json()["data"]
    assert (plain["language_code"], plain["language_probability"]) == ("en", 1.0)  # the caller's, echoed
    assert {w["speaker_id"] for w in plain["words"] if w["type"] == "word"} == {"speaker_0"}  # no diarize
    none = api.post(server, PATH, {"asset_id": asset_id, "timestamps_granularity": "none"}).json()["data"]
    assert none["words"] == []
    assert none["text"] == "[speech] [speech] [speech]"


def test_assemblyai_from_an_asset(server, videos, api):
    asset_id = api.ready(server, videos["small"])
    body = {"asset_id": asset_id, "provider": "assemblyai", "speaker_labels": True, "language_code": "en_us"}
    data = api.post(server, PATH, body).json()["data"]
    assert data["status"] == "completed"
    assert str(uuid.UUID(data["id"])) == data["id"]
    assert data["audio_url"] == f"{server.base_url}/{asset_id}/download"
    assert data["audio_duration"] == 6  # whole seconds, as in the example
    assert data["language_code"] == "en_us"
    assert [(w["text"], w["start"], w["end"], w["speaker"]) for w in data["words"]] == [
        ("[speech]", 0, 1500, "A"),  # milliseconds
        ("[speech]", 2000, 3500, "B"),
        ("[speech]", 4000, 5500, "A"),
    ]
    assert all(0 < w["confidence"] <= 1 for w in data["words"])
    assert [u["speaker"] for u in data["utterances"]] == ["A", "B", "A"]
    assert server.stats()["jobs"][0]["cost_usd"] == pytest.approx(6 * 0.15 / 3600, abs=1e-6)
    trimmed = {"asset_id": asset_id, "provider": "assemblyai", "audio_start_from": 1000, "audio_end_at": 2500}
    words = api.post(server, PATH, trimmed).json()["data"]["words"]
    assert [(w["start"], w["end"], w["speaker"]) for w in words] == [(1000, 1500, None), (2000, 2500, None)]


def test_url_source_is_fetched(server, videos, api, file_server):
    base, folder = file_server
    shutil.copy(videos["audio"], folder / "talk.m4a")
    body = api.post(server, PATH, {"url": f"{base}/talk.m4a", "diarize": True}).json()
    assert body["code"] == 200
    words = [w for w in body["data"]["words"] if w["type"] == "word"]
    assert [(w["start"], w["end"], w["speaker_id"]) for w in words] == [
        (0.0, 1.5, "speaker_0"),
        (2.0, 3.0, "speaker_1"),
    ]
    source_url = api.post(server, PATH, {"source_url": f"{base}/talk.m4a", "provider": "assemblyai"}).json()[
        "data"
    ]
    assert source_url["audio_url"] == f"{base}/talk.m4a"
    assert source_url["audio_duration"] == 3
    stats = server.stats()
    assert [j["source"] for j in stats["jobs"]] == ["url", "url"]
    assert all(f"{base}/talk.m4a" not in str(j) for j in stats["jobs"])  # a (maybe signed) URL is not kept
    assert stats["jobs"][0]["cost_usd"] == pytest.approx(3 * 0.39 / 3600, rel=0.02)  # charged after measuring
    assert stats["jobs_by_asset"] == {}


def test_asset_id_comes_before_url(server, videos, api, file_server):
    base, folder = file_server
    shutil.copy(videos["audio"], folder / "talk.m4a")  # 3 s: two turns
    asset_id = api.ready(server, videos["small"])  # 6 s: three turns
    body = {"asset_id": asset_id, "url": f"{base}/talk.m4a", "source_url": "gs://bucket/x.wav"}
    assert api.post(server, PATH, body).json()["data"]["text"] == "[speech] [speech] [speech]"
    assert api.post(server, PATH, {"url": f"{base}/talk.m4a", "source_url": "ignored"}).status_code == 200


def test_validation(make_server, videos, api, file_server):
    server = make_server()  # sync: no webhook needed
    base, folder = file_server
    missing = api.post(server, PATH, {"provider": "elevenlabs"})
    assert missing.json() == {
        "code": 400,
        "msg": "One of asset_id, url or source_url is required",
        "data": None,
    }
    for body in (
        {"asset_id": "re_1"},
        {"url": "ftp://example.com/a.wav"},
        {"source_url": "gs://bucket/a.wav"},  # only the real service can sign gs:// paths
        {"url": f"{base}/a.wav", "provider": "whisper"},
        {"url": f"{base}/a.wav", "diarize": "yes"},
        {"url": f"{base}/a.wav", "timestamps_granularity": "sentence"},
        {"url": f"{base}/a.wav", "provider": "assemblyai", "audio_start_from": -1},
        {"url": f"{base}/a.wav", "provider": "assemblyai", "audio_start_from": 5, "audio_end_at": 5},
    ):
        assert api.post(server, PATH, body).json() == LIMIT, body
    gone = api.post(server, PATH, {"url": f"{base}/missing.wav"})
    assert gone.status_code == 400
    assert gone.json()["msg"] == "The audio could not be fetched: the URL answered HTTP 404"
    (folder / "notes.txt").write_text("not audio at all\n" * 10)
    garbage = api.post(server, PATH, {"url": f"{base}/notes.txt"})
    assert garbage.status_code == 400
    assert garbage.json()["msg"].startswith("Processing failed")
    assert [j["state"] for j in server.stats()["jobs"]] == ["failed", "failed"]
    assert server.stats()["spend_usd"] == 0


def test_fetch_is_capped(make_server, videos, api, file_server):
    server = make_server(fetch_max_bytes=1000)
    base, folder = file_server
    shutil.copy(videos["small"], folder / "big.mp4")
    answer = api.post(server, PATH, {"url": f"{base}/big.mp4"})
    assert answer.status_code == 400
    assert answer.json()["msg"] == (
        "The audio could not be fetched: the file is larger than the emulator's limit of 1000 bytes"
    )
    assert not list((server.settings.data_dir / "work").glob("*/*"))  # the partial download is gone
