"""The hook against the project's Mavi emulator (real media work, real rate limit, real callbacks)."""

from __future__ import annotations

import re
import threading
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("av")

from airflow_provider_mavi.emulator.samples import make_sample_video
from airflow_provider_mavi.emulator.testing import CallbackReceiver, EmulatorServer
from airflow_provider_mavi.exceptions import MaviNotFoundError, MaviWebhookNotConfiguredError
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.media import probe_duration_seconds

from .conftest import connection_json

JOB_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_video(
        tmp_path_factory.mktemp("video") / "sample.mp4", seconds=3.0, width=160, height=120
    )


@pytest.fixture
def emulator(monkeypatch, tmp_path):
    with (
        CallbackReceiver() as receiver,
        EmulatorServer(webhook_url=receiver.url, data_dir=tmp_path / "emu") as mavi,
    ):
        monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path / "ratelimit"))
        monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", connection_json(mavi.base_url, api_key=mavi.api_key))
        yield mavi, receiver


@pytest.mark.slow
def test_whole_asset_life_against_the_emulator(emulator, video, tmp_path):
    mavi, receiver = emulator
    hook = MaviHook()
    assert probe_duration_seconds(video) == pytest.approx(3.0, abs=0.15)

    asset_id = hook.upload_file(video)
    assert asset_id.startswith("re_")
    entry = hook.wait_for_asset_ready(asset_id, timeout=60, poll_interval=0.5)
    assert entry["upload_status"] == "SUCCESS"

    copy = hook.download_asset(asset_id, tmp_path / "copy.mp4")
    assert Path(copy).read_bytes() == video.read_bytes()

    job_id = hook.extract_frames(asset_id)
    assert JOB_ID.match(job_id)
    callback = receiver.wait_for(job_id, timeout=60)
    frames_id = callback["data"]["asset_id"]
    assert frames_id.startswith("im_")
    group = hook.wait_for_asset_ready(frames_id, timeout=60, poll_interval=0.5)  # every frame is SUCCESS
    assert group == {"asset_id": frames_id, "frames": len(callback["data"]["asset_ch_ids"])}
    out = tmp_path / "frames"
    out.mkdir()
    archive = Path(hook.download_asset(frames_id, out))
    assert archive.parent == out
    assert zipfile.is_zipfile(archive)

    assert JOB_ID.match(hook.transcribe_video(asset_id))
    assert JOB_ID.match(hook.transcribe_audio(asset_id, speaker=True))

    hook.delete_asset(asset_id)
    with pytest.raises(MaviNotFoundError):
        hook.get_asset_metadata(asset_id)
    gone = tmp_path / "gone"
    gone.mkdir()
    with pytest.raises(MaviNotFoundError):
        hook.download_asset(asset_id, gone)
    assert list(gone.iterdir()) == []
    assert mavi.stats()["rate_limited"] == {}  # the hook's limiter kept under the emulator's 1 request/s


@pytest.mark.slow
@pytest.mark.parametrize("http_method", ["POST", "PUT"])
def test_signed_url_upload_against_the_emulator(emulator, video, http_method):
    hook = MaviHook(signed_upload_method=http_method)
    asset_id = hook.upload_file(video, method="signed_url")
    assert hook.wait_for_asset_ready(asset_id, timeout=60, poll_interval=0.5)["asset_id"] == asset_id


def test_test_connection_against_the_emulator(emulator, monkeypatch):
    """One request each (no retry): the emulator's "Asset not found" proves the key, a 401 refutes it."""
    mavi, _ = emulator
    assert MaviHook().test_connection() == (True, "Connection OK: Mavi accepted the API key.")
    wrong = connection_json(mavi.base_url, api_key="sk-mavi-wrong-0000")
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_WRONG", wrong)
    good, message = MaviHook("mavi_wrong").test_connection()
    assert good is False
    assert "HTTP 401" in message
    assert mavi.stats()["requests"]["GET /{asset_id}/metadata"] == 2


@pytest.mark.slow
def test_missing_webhook_is_reported_once(emulator, video):
    mavi, _ = emulator
    hook = MaviHook()
    asset_id = hook.upload_file(video)
    hook.wait_for_asset_ready(asset_id, timeout=60, poll_interval=0.5)
    mavi.set_webhook(None)
    with pytest.raises(MaviWebhookNotConfiguredError, match=r"api-platform\.memories\.ai/webhooks"):
        hook.extract_frames(asset_id)
    assert mavi.stats()["requests"].get("POST /video/extract-frames") == 1


@pytest.mark.slow
def test_many_threads_stay_under_the_emulators_limit(emulator, video):
    mavi, _ = emulator
    asset_id = MaviHook().upload_file(video)
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            hook = MaviHook()
            for _ in range(3):
                hook.get_asset_metadata(asset_id)
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stats = mavi.stats()
    assert stats["requests"]["GET /{asset_id}/metadata"] == 9  # no retries were needed
    assert stats["rate_limited"] == {}
