"""Scene detection, split and edit over a real server: real cuts, real files that download, decode and have
metadata."""

from __future__ import annotations

import time

import av
import httpx
import pytest

LIMIT = {"code": 400, "msg": "Request has exceeded the limit.", "data": None}


def _download(server, api, asset_id, tmp_path):
    answer = httpx.get(f"{server.base_url}/{asset_id}/download", headers=api.auth(), timeout=30)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "video/mp4"
    path = tmp_path / f"{asset_id}.mp4"
    path.write_bytes(answer.content)
    return path


def _decode(path):
    """Decode every frame and the sound; return (frames, width, height, seconds of audio)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        size = (stream.codec_context.width, stream.codec_context.height)
    audio = 0.0
    with av.open(str(path)) as container:
        if container.streams.audio:
            audio = sum(f.samples / f.sample_rate for f in container.decode(container.streams.audio[0]))
    return frames, size, audio


def test_clip_reports_the_real_cuts_as_inclusive_frames(server, receiver, videos, api):
    asset_id = api.ready(server, videos["small"])  # 6 s at 10 fps, cuts at 2 s and 4 s
    job_id = api.submit(server, "/video/clip", {"asset_id": asset_id})
    callback = receiver.wait_for(job_id)
    assert (callback["code"], callback["message"], callback["task_id"]) == (200, "SUCCESS", job_id)
    outer = callback["data"]
    assert set(outer) == {"data", "msg", "success"}
    assert outer["success"] is True
    assert set(outer["data"]) == {"data", "exec_time"}
    assert outer["data"]["data"] == [
        {"start": 0, "end": 19},
        {"start": 20, "end": 39},
        {"start": 40, "end": 59},
    ]
    assert 0 <= outer["data"]["exec_time"] < 60
    stats = server.stats()
    assert stats["jobs_by_asset"][asset_id] == {"detect_scenes": 1}
    assert stats["spend_usd"] == 0.0  # the price is not documented
    # A video with no cut is one scene.
    other = api.ready(server, videos["other"])
    scenes = receiver.wait_for(api.submit(server, "/video/clip", {"asset_id": other}))["data"]["data"]["data"]
    assert scenes == [{"start": 0, "end": 39}]


@pytest.mark.parametrize(("seconds", "expected"), [(None, [6.0]), (2, [2.0, 2.0, 2.0]), (3, [4.0, 2.0])])
def test_split_registers_playable_segments(server, receiver, videos, api, tmp_path, seconds, expected):
    asset_id = api.ready(server, videos["small"])  # keyframes every 2 s
    body = {"asset_id": asset_id} if seconds is None else {"asset_id": asset_id, "segment_seconds": seconds}
    callback = receiver.wait_for(api.submit(server, "/video/split", body))
    assert set(callback["data"]) == {"splits"}  # no data.data level, no msg/success
    splits = callback["data"]["splits"]
    assert len(splits) == len(expected)
    digits = asset_id.removeprefix("re_")
    total_frames = 0
    for index, (split, seconds_expected) in enumerate(zip(splits, expected, strict=True)):
        assert set(split) == {
            "asset_id",
            "create_time",
            "extension",
            "file_size",
            "modify_time",
            "original_filename",
            "upload_status",
        }
        assert split["asset_id"].startswith("re_")
        assert split["asset_id"] != asset_id
        assert isinstance(split["file_size"], int)
        assert split["file_size"] > 0
        assert split["create_time"].isdigit()
        assert split["extension"] == "mp4"
        assert split["original_filename"] == f"segment_video_{digits}_{index}"
        assert split["upload_status"] == "SUCCESS"
        entry = api.wait_status(server, split["asset_id"])
        assert entry["file_size"] == str(split["file_size"])  # a string in metadata
        path = _download(server, api, split["asset_id"], tmp_path)
        assert path.stat().st_size == split["file_size"]
        frames, size, audio = _decode(path)
        assert size == (320, 240)
        assert frames == round(seconds_expected * 10)
        assert audio == pytest.approx(seconds_expected, abs=0.15)
        total_frames += frames
    assert total_frames == 60
    # The segments are ordinary assets: they can be processed in turn.
    first = splits[0]["asset_id"]
    assert api.post(server, "/transcriptions/sync-generate-speaker", {"asset_id": first}).status_code == 200


def test_split_checks_segment_seconds(server, videos, api):
    asset_id = api.ready(server, videos["small"])
    for bad in (0, -2, "10", True, 0.5):
        assert (
            api.post(server, "/video/split", {"asset_id": asset_id, "segment_seconds": bad}).json() == LIMIT
        )
    audio = api.ready(server, videos["audio"])
    assert api.post(server, "/video/split", {"asset_id": audio}).json() == LIMIT  # no picture to split
    assert server.stats()["jobs"] == []


@pytest.mark.parametrize(("orientation", "size"), [("landscape", (640, 360)), ("portrait", (360, 640))])
def test_edit_concatenates_in_the_orientation(server, receiver, videos, api, tmp_path, orientation, size):
    ids = [api.ready(server, videos[name]) for name in ("small", "wide", "silent")]  # 6 s + 3.6 s + 2 s
    body = {"asset_ids": ids, "orientation": orientation, "user_prompt": "Join them in order."}
    job_id = api.submit(server, "/video/edit", body)
    callback = receiver.wait_for(job_id, timeout=60)
    record = callback["data"]
    assert set(record) == {
        "asset_id",
        "create_time",
        "extension",
        "file_size",
        "modify_time",
        "original_filename",
        "upload_status",
    }
    assert record["original_filename"] == "final_video"
    assert record["upload_status"] == "SUCCESS"
    assert isinstance(record["file_size"], int)
    path = _download(server, api, record["asset_id"], tmp_path)
    frames, got, audio = _decode(path)
    assert got == size  # 16:9 or 9:16, short side = the largest input's short side (360)
    assert frames == 60 + 18 + 10  # every input's pictures, at the output's 10 fps
    assert audio == pytest.approx(6 + 3.6 + 2, abs=0.3)  # the silent input got silence
    with av.open(str(path)) as container:
        seconds = float(container.duration / av.time_base)
    assert seconds == pytest.approx(11.6, abs=0.3)
    stats = server.stats()
    job = api.job(server, job_id)
    assert job["kind"] == "edit_video"
    assert job["asset_ids"] == ids
    assert job["orientation"] == orientation
    for asset_id in ids:
        assert stats["jobs_by_asset"][asset_id] == {"edit_video": 1}
    # Letterboxed: the 4:3 sample sits on black bars in a 9:16 frame.
    if orientation == "portrait":
        with av.open(str(path)) as container:
            image = next(container.decode(video=0)).to_image()
        assert image.getpixel((180, 5)) == pytest.approx((0, 0, 0), abs=12)
        assert sum(image.getpixel((180, 320))) > 30


def test_edit_validation_order(make_server, receiver, videos, api):
    server = make_server()
    ok = {"asset_ids": ["re_1"], "orientation": "landscape", "user_prompt": "cut"}
    for field in ("asset_ids", "orientation", "user_prompt"):
        answer = api.post(server, "/video/edit", {k: v for k, v in ok.items() if k != field})
        assert answer.json() == {"code": 400, "msg": f"{field} cannot be null or empty", "data": None}
    assert api.post(server, "/video/edit", {**ok, "asset_ids": []}).json()["msg"] == (
        "asset_ids cannot be null or empty"
    )
    assert (
        api.post(server, "/video/edit", ok).json()["msg"] == "An async request requires at least one webhook."
    )
    server.set_webhook(receiver.url)
    ready = api.ready(server, videos["silent"])
    for bad in (
        {"asset_ids": ["re_1"]},
        {"asset_ids": [ready, "re_1"]},
        {"asset_ids": ready},
        {"asset_ids": [ready, 5]},
        {"orientation": "square"},
        {"user_prompt": "x" * 501},
        {"user_prompt": 5},
    ):
        answer = api.post(server, "/video/edit", {**ok, "asset_ids": [ready], **bad})
        assert (answer.status_code, answer.json()) == (400, LIMIT), bad
    assert (
        api.post(server, "/video/edit", {**ok, "asset_ids": [ready], "user_prompt": "x" * 500}).status_code
        == 200
    )


def test_failure_callback_fault_on_split(server, receiver, videos, api):
    asset_id = api.ready(server, videos["small"])
    server.set_faults({"failure_callback": {"next": 1}})
    job_id = api.submit(server, "/video/split", {"asset_id": asset_id, "segment_seconds": 2})
    callback = receiver.wait_for(job_id)
    assert (callback["code"], callback["message"]) == (500, "FAILED")
    assert callback["data"]["success"] is False
    assert len([j for j in server.stats()["jobs"] if j["kind"] == "split_video"]) == 1


def test_video_endpoints_have_their_own_rate_limits(make_server, receiver, videos, api):
    server = make_server(qps=1, webhook_url=receiver.url)
    asset_id = api.upload(server, videos["silent"])
    api.wait_status(server, asset_id)
    time.sleep(1.05)
    answers = {
        path: api.post(server, path, {"asset_id": asset_id}) for path in ("/video/clip", "/video/split")
    }
    assert all(a.status_code == 200 for a in answers.values())
    again = api.post(server, "/video/clip", {"asset_id": asset_id})
    assert (again.status_code, again.json()) == (400, LIMIT)
    assert server.stats()["rate_limited"] == {"POST /video/clip": 1}
