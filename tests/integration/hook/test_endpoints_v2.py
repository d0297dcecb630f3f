"""The v2 endpoints over real HTTP on loopback: paid sync calls under the submit rule with real timeouts and
dropped connections (a scripted server), and async Whisper against the project's emulator, priced by the
provider and by the emulator's own accounting (two readings of the docs that must agree)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from airflow_provider_mavi import endpoints
from airflow_provider_mavi.exceptions import MaviConnectionError, MaviServerError, MaviTimeoutError
from airflow_provider_mavi.hooks.mavi import MaviHook

from ...unit import mavi_examples as ex
from .conftest import API_KEY, Reply, connection_json, ok

SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("/transcriptions/sync-generate-audio", lambda h: h.transcribe_audio_sync("re_1", speaker=True)),
        (
            "/transcriptions/speech-to-text",
            lambda h: h.speech_to_text(asset_id="re_1", provider="assemblyai"),
        ),
        ("/vu/chat/completions", lambda h: h.video_chat("gemini:gemini-2.5-flash", prompt="?")),
        ("/embeddings/text", lambda h: h.embed_text(["a"])),
    ],
)
def test_a_paid_sync_call_that_times_out_is_not_sent_again(hook, mavi_conn, path, call):
    mavi_conn.route(
        "POST", path, Reply(200, {"late": True}, delay=3.0), ok({"never": "used"})
    )  # timeout is 2 s
    with pytest.raises(MaviTimeoutError, match="NOT resubmitted") as info:
        call(hook)
    assert info.value.outcome_unknown
    assert API_KEY not in str(info.value)
    assert len(mavi_conn.seen("POST", path)) == 1


def test_a_dropped_connection_after_sending_is_not_sent_again(hook, mavi_conn):
    mavi_conn.route("POST", "/embeddings/video", Reply(close=True), Reply(200, ex.VIDEO_EMBEDDING_ANSWER))
    with pytest.raises(MaviConnectionError, match="NOT resubmitted"):
        hook.embed_video("re_1")
    assert len(mavi_conn.seen("POST", "/embeddings/video")) == 1


def test_the_async_client_keeps_the_same_rule(hook, mavi_conn):
    mavi_conn.route("POST", "/vu/chat/completions", Reply(200, ex.VLM_GEMINI_ANSWER, delay=3.0))
    with pytest.raises(MaviTimeoutError, match="NOT resubmitted"):
        asyncio.run(hook.acall(endpoints.VIDEO_CHAT, model="gemini:gemini-2.5-flash", prompt="?"))
    assert len(mavi_conn.seen("POST", "/vu/chat/completions")) == 1


def test_sync_answers_over_http(hook, mavi_conn):
    fenced = {
        **ex.VLM_GEMINI_ANSWER,
        "choices": [{"text": '```json\n{"summary": "oranges"}\n```', "index": 0}],
    }
    mavi_conn.route("POST", "/vu/chat/completions", Reply(200, fenced))
    mavi_conn.route("POST", "/transcriptions/speech-to-text", Reply(200, ex.ELEVENLABS_ANSWER))
    mavi_conn.route("POST", "/transcriptions/sync-generate-speaker", Reply(200, ex.SPEAKER_SYNC_ANSWER))
    answer = hook.video_chat(
        "nova:us.amazon.nova-pro-v1:0", prompt="?", video="https://e/v.mp4", response_schema=SCHEMA
    )
    assert answer.parsed == {"summary": "oranges"}
    assert hook.speech_to_text(url="https://cdn.example/a.mp3").text.startswith("Hello, how are you today?")
    assert hook.diarize_speakers_sync("re_1").speakers == ("SPEAKER_01", "SPEAKER_00")
    (chat,) = mavi_conn.seen("POST", "/vu/chat/completions")
    assert chat.headers["Authorization"] == API_KEY  # raw key, no "Bearer"
    assert b'"video_url": "https://e/v.mp4"' in (chat.body or b"")


def test_a_malformed_answer_over_http_names_the_field_and_is_not_resent(hook, mavi_conn):
    mavi_conn.route(
        "POST", "/transcriptions/sync-generate-audio", ok({"items": [{"start_time": 0, "end_time": 1}]})
    )
    with pytest.raises(MaviServerError, match=r"field 'data\.items\[0\]\.text' is missing or not a string"):
        hook.transcribe_audio_sync("re_1")
    assert len(mavi_conn.seen()) == 1


# ------------------------------------------------------------------------------------------ the emulator


@pytest.fixture
def emulator(monkeypatch, tmp_path):
    pytest.importorskip("av")
    from airflow_provider_mavi.emulator.testing import CallbackReceiver, EmulatorServer

    with (
        CallbackReceiver() as receiver,
        EmulatorServer(webhook_url=receiver.url, data_dir=tmp_path / "emu") as mavi,
    ):
        monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path / "ratelimit"))
        monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", connection_json(mavi.base_url, api_key=mavi.api_key))
        yield mavi, receiver


@pytest.mark.slow
def test_async_whisper_with_speakers_against_the_emulator(emulator, tmp_path):
    from airflow_provider_mavi.emulator.samples import make_sample_video

    mavi, receiver = emulator
    video = make_sample_video(Path(tmp_path) / "talk.mp4", seconds=3.0, width=160, height=120)
    hook = MaviHook()
    asset_id = hook.upload_file(video)
    hook.wait_for_asset_ready(asset_id, timeout=60, poll_interval=0.5)

    job_id = hook.transcribe_audio(asset_id, speaker=True)
    payload = receiver.wait_for(job_id, timeout=60)
    result = endpoints.TRANSCRIBE_AUDIO.callback(payload, speaker=True)  # type: ignore[misc]

    assert result.job_id == job_id
    assert result.model == "whisper-1"
    assert result.duration_seconds == pytest.approx(3.0, abs=0.15)
    assert all(s.end >= s.start for s in result.segments)
    # The provider's price ($0.002/s with speakers) and the emulator's own accounting agree.
    assert result.cost_usd == pytest.approx(mavi.stats()["spend_usd"], abs=2e-6)
    assert result.cost_usd == pytest.approx(0.002 * result.duration_seconds, abs=1e-6)
    assert result.to_dict()["job_id"] == job_id
