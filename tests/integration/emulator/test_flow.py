"""The whole happy path over real HTTP: upload, poll, extract frames, callbacks, downloads, transcriptions."""

from __future__ import annotations

import io
import math
import time
import zipfile

import av
import httpx
import pytest
from PIL import Image

TASK_ID_CHARS = set("0123456789abcdef")


def _duration(path) -> float:
    with av.open(str(path)) as container:
        return container.duration / av.time_base


@pytest.mark.parametrize("name", ["small", "wide", "hd"])
def test_upload_extract_download_frames(server, receiver, videos, api, name):
    video = videos[name]
    asset_id = api.upload(server, video)
    assert asset_id.startswith("re_")
    assert asset_id[3:].isdigit()
    entry = api.wait_status(server, asset_id)
    assert entry == {
        "extension": "mp4",
        "asset_id": asset_id,
        "original_filename": name,
        "file_size": str(video.stat().st_size),
        "upload_status": "SUCCESS",
        "create_time": entry["create_time"],
        "modify_time": entry["modify_time"],
    }
    assert entry["create_time"].isdigit()
    assert entry["modify_time"] >= entry["create_time"]

    answer = api.post(server, "/video/extract-frames", {"asset_id": asset_id})
    assert answer.status_code == 200
    body = answer.json()
    assert body["code"] == 200
    assert body["msg"] == "success"
    assert body["success"] is True
    assert body["failed"] is False
    job_id = body["data"]["task_id"]
    assert len(job_id) == 32
    assert set(job_id) <= TASK_ID_CHARS

    callback = receiver.wait_for(job_id)
    assert set(callback) == {"code", "message", "data", "task_id"}
    assert callback["code"] == 200
    assert callback["message"] == "SUCCESS"
    assert callback["task_id"] == job_id
    group = callback["data"]["asset_id"]
    frames = callback["data"]["asset_ch_ids"]
    assert group.startswith("im_")
    expected = math.ceil(_duration(video) - 1e-6)  # one frame per second
    assert frames == [f"imc_{group[3:]}_{i}" for i in range(expected)]
    headers = receiver.headers[-1]
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) > 0

    width, height = {"small": (320, 240), "wide": (640, 360), "hd": (1280, 720)}[name]
    zipped = httpx.get(f"{server.base_url}/{group}/download", headers=api.auth(), timeout=30)
    assert zipped.status_code == 200
    assert zipped.headers["content-type"] == "application/zip"
    assert zipped.headers["content-disposition"] == f'attachment; filename="{name}_frames.zip"'
    assert int(zipped.headers["content-length"]) == len(zipped.content)
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == expected
    for member in names:
        with Image.open(archive.open(member)) as image:
            image.load()
            assert image.format == "JPEG"
            assert image.size == (width, height)

    meta = httpx.get(f"{server.base_url}/{group}/metadata", headers=api.auth()).json()["data"]
    assert meta["total"] == expected
    assert [r["asset_id"] for r in meta["resource"]] == frames
    assert all(r["extension"] == "jpg" and r["upload_status"] == "SUCCESS" for r in meta["resource"])

    one = httpx.get(f"{server.base_url}/{frames[-1]}/download", headers=api.auth())
    assert one.status_code == 200
    assert one.headers["content-type"] == "image/jpeg"
    assert int(one.headers["content-length"]) == len(one.content)
    assert one.headers["content-disposition"].startswith("attachment;")
    assert one.content == archive.read(names[-1])
    with Image.open(io.BytesIO(one.content)) as image:
        assert image.size == (width, height)
    single = httpx.get(f"{server.base_url}/{frames[0]}/metadata", headers=api.auth()).json()["data"]
    assert single["total"] == 1
    assert single["resource"][0]["asset_id"] == frames[0]
    assert single["resource"][0]["file_size"] == str(len(archive.read(names[0])))


def test_original_download_is_the_uploaded_bytes(server, videos, api):
    asset_id = api.ready(server, videos["small"])
    answer = httpx.get(f"{server.base_url}/{asset_id}/download", headers=api.auth())
    assert answer.status_code == 200
    assert answer.content == videos["small"].read_bytes()
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.headers["content-length"] == str(videos["small"].stat().st_size)
    assert answer.headers["content-disposition"] == 'attachment; filename="small.mp4"'


def test_video_description_callback_matches_section_3_2(server, receiver, videos, api):
    asset_id = api.ready(server, videos["small"])
    job_id = api.post(
        server,
        "/transcriptions/async-generate-video",
        {"asset_id": asset_id, "model": "gemini-2.5-flash-lite"},
    ).json()["data"]["task_id"]
    callback = receiver.wait_for(job_id)
    assert set(callback) == {"code", "message", "data", "task_id"}
    assert (callback["code"], callback["message"], callback["task_id"]) == (200, "SUCCESS", job_id)
    outer = callback["data"]
    assert set(outer) == {"data", "msg", "success"}
    assert outer["success"] is True
    assert "no vision model" in outer["msg"]
    inner = outer["data"]
    assert set(inner) == {"data", "error_rate", "usage_metadata"}
    assert inner["error_rate"] == 0.0
    segments = inner["data"]
    assert [(s["start_time"], s["end_time"]) for s in segments] == [(0.0, 4.0), (4.0, 6.0)]
    for segment in segments:
        assert set(segment) == {"start_time", "end_time", "transcript"}
        assert segment["transcript"].startswith("Measured ")
        assert "brightness" in segment["transcript"]
        assert "dominant colours" in segment["transcript"]
        assert "red" in segment["transcript"]  # the sample's red box is measured
    usage = inner["usage_metadata"]
    assert set(usage) == {"duration", "model", "output_tokens", "prompt_tokens"}
    assert usage["model"] == "gemini-2.5-flash-lite"
    assert isinstance(usage["duration"], float)
    assert 0 < usage["duration"] < 60
    words = sum(len(s["transcript"].replace(";", " ; ").split()) for s in segments)
    assert usage["output_tokens"] >= words > 0
    assert usage["prompt_tokens"] > 0

    # Deterministic: the same video described again gives the same texts and token counts.
    again = api.post(
        server, "/transcriptions/async-generate-video", {"asset_id": asset_id, "model": "gemini-2.5-flash"}
    ).json()["data"]["task_id"]
    second = receiver.wait_for(again)["data"]["data"]
    assert second["data"] == segments
    assert second["usage_metadata"]["output_tokens"] == usage["output_tokens"]

    stats = server.stats()
    expected = usage["prompt_tokens"] * 0.45e-6 + usage["output_tokens"] * 3.75e-6
    assert stats["spend_usd"] == pytest.approx(2 * expected, abs=1e-6)


@pytest.mark.parametrize("speaker", [False, True])
def test_audio_transcription_reports_measured_voice_activity(server, receiver, videos, api, speaker):
    asset_id = api.ready(server, videos["small"])
    body = {"asset_id": asset_id, "speaker": speaker} if speaker else {"asset_id": asset_id}
    job_id = api.post(server, "/transcriptions/async-generate-audio", body).json()["data"]["task_id"]
    callback = receiver.wait_for(job_id)
    assert (callback["code"], callback["message"], callback["task_id"]) == (200, "SUCCESS", job_id)
    assert callback["data"]["success"] is True
    assert "no speech recognition" in callback["data"]["msg"]
    inner = callback["data"]["data"]
    assert set(inner) == {"data", "usage_metadata"}
    items = inner["data"]
    # The sample's tones: 220 Hz 0-1.5 s, 880 Hz 2-3.5 s, 220 Hz 4-5.5 s, silence between.
    assert [(i["start_time"], i["end_time"]) for i in items] == [(0.0, 1.5), (2.0, 3.5), (4.0, 5.5)]
    assert [i["text"] for i in items] == ["[speech 1.5 s]"] * 3
    for item in items:
        assert set(item) == {"start_time", "end_time", "text", "speaker"}
    speakers = [i["speaker"] for i in items]
    assert speakers == (["SPEAKER_00", "SPEAKER_01", "SPEAKER_00"] if speaker else [None] * 3)
    usage = inner["usage_metadata"]
    assert usage == {
        "duration": pytest.approx(6.0, abs=0.05),
        "model": "whisper-1",
        "output_tokens": 0,
        "prompt_tokens": 0,
    }
    assert server.stats()["spend_usd"] == pytest.approx(6.0 * (0.002 if speaker else 0.001), abs=1e-4)


def test_audio_of_a_video_without_sound_is_empty_not_invented(server, receiver, videos, api):
    asset_id = api.ready(server, videos["silent"])
    job_id = api.post(server, "/transcriptions/async-generate-audio", {"asset_id": asset_id}).json()["data"]
    callback = receiver.wait_for(job_id["task_id"])
    assert callback["data"]["success"] is True
    assert callback["data"]["data"]["data"] == []
    assert "no audio track" in callback["data"]["msg"]


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_signed_url_upload(server, videos, api, method):
    answer = api.post(server, "/upload/signed-url", {"original_filename": "clip.mp4"})
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert set(data) == {"asset_id", "signed_url", "expires_in"}
    assert data["expires_in"] == 93600
    assert data["signed_url"].startswith(server.root_url)
    assert len(data["signed_url"].rsplit("/", 1)[1]) >= 40
    assert api.wait_status(server, data["asset_id"], timeout=0)["upload_status"] == "WAITING"
    content = videos["small"].read_bytes()
    if method == "POST":
        sent = httpx.post(data["signed_url"], files={"file": ("clip.mp4", content)})
    else:
        sent = httpx.put(data["signed_url"], content=content, headers={"Content-Type": "video/mp4"})
    assert sent.status_code == 200
    entry = api.wait_status(server, data["asset_id"])
    assert entry["upload_status"] == "SUCCESS"
    assert entry["file_size"] == str(len(content))
    assert entry["original_filename"] == "clip"
    assert entry["extension"] == "mp4"
    again = httpx.put(data["signed_url"], content=b"other bytes")
    assert again.status_code == 403  # one use only
    assert httpx.get(f"{server.base_url}/{data['asset_id']}/download", headers=api.auth()).content == content


def test_delete_removes_the_asset(server, videos, api):
    asset_id = api.ready(server, videos["small"])
    answer = httpx.delete(f"{server.base_url}/{asset_id}", headers=api.auth())
    assert answer.status_code == 200
    assert answer.json() == {"code": 200, "msg": "success", "data": None, "success": True, "failed": False}
    gone = httpx.get(f"{server.base_url}/{asset_id}/metadata", headers=api.auth())
    assert gone.status_code == 400
    assert gone.json() == {
        "code": 400,
        "msg": "Asset not found",
        "data": None,
        "success": False,
        "failed": True,
    }
    assert not list((server.settings.data_dir / "uploads").glob(f"{asset_id}*"))


def test_stats_count_requests_jobs_and_callbacks(server, receiver, videos, api):
    asset_id = api.ready(server, videos["small"])
    job_id = api.post(server, "/video/extract-frames", {"asset_id": asset_id}).json()["data"]["task_id"]
    receiver.wait_for(job_id)
    stats = server.stats()
    assert stats["requests"]["POST /upload"] == 1
    assert stats["requests"]["POST /video/extract-frames"] == 1
    assert stats["requests"]["GET /{asset_id}/metadata"] >= 1
    assert stats["jobs_by_asset"] == {asset_id: {"extract_frames": 1}}
    (job,) = stats["jobs"]
    assert {k: job[k] for k in ("job_id", "kind", "asset_id")} == {
        "job_id": job_id,
        "kind": "extract_frames",
        "asset_id": asset_id,
    }
    assert job["submitted_at"].endswith("+00:00")
    assert stats["callbacks"] == {"sent": 1, "delivered": 1, "failed": 0, "dropped": 0}
    assert stats["spend_usd"] == pytest.approx(0.06, abs=1e-4)  # 6 s of video at $0.01/s
    assert stats["rate_limited"] == {}


def test_odd_file_names_are_kept_and_encoded(server, receiver, videos, api):
    asset_id = api.upload(server, videos["silent"], name="../Vidéo été.MP4")
    entry = api.wait_status(server, asset_id)
    assert entry["original_filename"] == "Vidéo été"
    assert entry["extension"] == "mp4"
    answer = httpx.get(f"{server.base_url}/{asset_id}/download", headers=api.auth())
    assert answer.status_code == 200
    assert (
        answer.headers["content-disposition"] == "attachment; filename*=utf-8''Vid%C3%A9o%20%C3%A9t%C3%A9.mp4"
    )
    job = api.post(server, "/video/extract-frames", {"asset_id": asset_id}).json()["data"]["task_id"]
    group = receiver.wait_for(job)["data"]["asset_id"]
    zipped = httpx.get(f"{server.base_url}/{group}/download", headers=api.auth())
    assert zipped.status_code == 200
    assert zipped.headers["content-disposition"].startswith("attachment; filename*=utf-8''Vid%C3%A9o")
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert names[0] == "Vidéo été_frame_00000.jpg"


def test_signed_url_expires(server, videos, api, monkeypatch):
    data = api.post(server, "/upload/signed-url", {"original_filename": "late.mp4"}).json()["data"]
    token = data["signed_url"].rsplit("/", 1)[1]
    grants = server.app.emulator.signed_uploads
    grants[token] = (grants[token][0], time.monotonic() - 1)  # as if 26 hours had passed
    late = httpx.put(data["signed_url"], content=videos["silent"].read_bytes())
    assert late.status_code == 403
    assert "expired" in late.text
    assert api.wait_status(server, data["asset_id"], timeout=0)["upload_status"] == "WAITING"


def test_audio_only_upload_transcribes_but_has_no_frames(server, receiver, videos, api):
    asset_id = api.ready(server, videos["audio"])
    assert api.wait_status(server, asset_id)["extension"] == "m4a"
    for path, body in [
        ("/video/extract-frames", {"asset_id": asset_id}),
        ("/transcriptions/async-generate-video", {"asset_id": asset_id, "model": "gemini-2.5-flash"}),
    ]:
        answer = api.post(server, path, body)
        assert answer.status_code == 400
        assert answer.json()["msg"] == "Request has exceeded the limit."
    job = api.post(server, "/transcriptions/async-generate-audio", {"asset_id": asset_id}).json()["data"]
    items = receiver.wait_for(job["task_id"])["data"]["data"]["data"]
    assert [(i["start_time"], i["end_time"]) for i in items] == [(0.0, 1.5), (2.0, 3.0)]  # the two tones
    download = httpx.get(f"{server.base_url}/{asset_id}/download", headers=api.auth())
    assert download.headers["content-type"] in ("audio/mp4", "audio/x-m4a", "audio/m4a")
    assert download.content == videos["audio"].read_bytes()
