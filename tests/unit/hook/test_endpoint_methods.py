"""MaviHook's named methods for the v2 endpoints, over mocked transports: what is sent, the permit's bucket,
the parsed result, and the submit rule for paid sync calls (never repeated after the request may have gone
through; repeated when Mavi certainly did nothing)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import requests

from airflow_provider_mavi import endpoints
from airflow_provider_mavi.exceptions import (
    MaviBadRequestError,
    MaviConnectionError,
    MaviServerError,
    MaviTimeoutError,
)
from airflow_provider_mavi.results import (
    AudioTranscript,
    ChatAnswer,
    ChatAnswerError,
    Diarization,
    Embeddings,
    SpeechToText,
)

from .. import mavi_examples as ex
from .conftest import API_KEY, BASE, Reply, err, ok

JOB = "1e8ae1075e054e8abb58e7598c53cbf1"
SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}


def sent(mavi: Any) -> list[dict[str, Any]]:
    return [json.loads(seen.body) for seen in mavi.seen()]


# ------------------------------------------------------------------------------------------ async jobs


@pytest.mark.parametrize(
    ("method", "kwargs", "path", "body", "bucket"),
    [
        (
            "diarize_speakers",
            {},
            "/transcriptions/async-generate-speaker",
            {"asset_id": "re_1"},
            "Async Generate Speaker",
        ),
        (
            "recognize_speakers",
            {},
            "/transcriptions/async-generate-multi-speaker",
            {"asset_id": "re_1"},
            "Speaker Recognition",
        ),
        (
            "summarize_video",
            {},
            "/transcriptions/async-summary",
            {"asset_id": "re_1"},
            "Async Generate Summary",
        ),
        ("detect_scenes", {}, "/video/clip", {"asset_id": "re_1"}, "Scene Detection"),
        ("split_video", {}, "/video/split", {"asset_id": "re_1"}, "Split Video"),
        (
            "split_video",
            {"segment_seconds": 20},
            "/video/split",
            {"asset_id": "re_1", "segment_seconds": 20},
            "Split Video",
        ),
    ],
)
def test_job_methods_submit_once_and_return_the_job_id(
    hook: Any, mavi: Any, method: str, kwargs: dict[str, Any], path: str, body: dict[str, Any], bucket: str
) -> None:
    mavi.route("POST", path, Reply(200, ex.JOB_SUBMITTED_ANSWER))
    assert getattr(hook, method)("re_1", **kwargs) == JOB
    (seen,) = mavi.seen()
    assert seen.url == BASE + path
    assert seen.headers["Authorization"] == API_KEY
    assert json.loads(seen.body) == body
    assert hook.limiter.buckets == [bucket]


def test_edit_video(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/video/edit", ok({"task_id": JOB}, code="0000"))
    assert hook.edit_video(["re_1", "re_2"], "portrait", "A 30 s teaser") == JOB
    assert sent(mavi) == [
        {"asset_ids": ["re_1", "re_2"], "orientation": "portrait", "user_prompt": "A 30 s teaser"}
    ]
    assert hook.limiter.buckets == ["Edit Video"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h: h.edit_video("re_1", "landscape", "x"), "asset_ids must be a list of asset ids"),
        (
            lambda h: h.edit_video(["re_1"], "square", "x"),
            "orientation must be one of 'landscape', 'portrait'",
        ),
        (lambda h: h.edit_video(["re_1"], "portrait", "x" * 501), "at most 500 characters"),
        (lambda h: h.split_video("re_1", segment_seconds=0), "segment_seconds must be a whole number >= 1"),
        (lambda h: h.speech_to_text(asset_id="re_1", url="https://a/b.mp3"), "exactly one audio source"),
        (lambda h: h.speech_to_text(asset_id="re_1", provider="deepgram"), "provider must be one of"),
        (lambda h: h.video_chat("gpt-5", prompt="?"), "model must be '<provider>:<model>'"),
        (lambda h: h.video_chat("qwen:qwen3-vl-plus", prompt="?", video="https://a/v.mp4"), "qwen: model"),
        (lambda h: h.embed_text("one text"), "texts must be a non-empty list of strings"),
        (lambda h: h.transcribe_audio_sync("re_1", speaker="yes"), "speaker must be True or False"),
    ],
)
def test_bad_arguments_send_nothing_and_take_no_permit(hook: Any, mavi: Any, call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(hook)
    assert mavi.seen() == []
    assert hook.limiter.buckets == []


def test_a_job_submit_is_not_repeated_after_a_5xx(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/video/split", err(502, "bad gateway"), ok({"task_id": JOB}))
    with pytest.raises(MaviServerError, match="NOT resubmitted") as info:
        hook.split_video("re_1")
    assert info.value.outcome_unknown
    assert len(mavi.seen()) == 1


# ------------------------------------------------------------------------------------------ sync calls


def test_transcribe_audio_sync(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/transcriptions/sync-generate-audio", Reply(200, ex.AUDIO_SYNC_ANSWER))
    result = hook.transcribe_audio_sync("re_1")
    assert isinstance(result, AudioTranscript)
    assert result.text == "Hello, how are you today? I'm doing well, thank you."
    assert sent(mavi) == [{"asset_id": "re_1", "model": "whisper-1", "speaker": False}]
    assert hook.limiter.buckets == ["Sync Generate Audio Transcription"]


def test_diarize_speakers_sync(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/transcriptions/sync-generate-speaker", Reply(200, ex.SPEAKER_SYNC_ANSWER))
    result = hook.diarize_speakers_sync("re_1")
    assert isinstance(result, Diarization)
    assert result.speakers == ("SPEAKER_01", "SPEAKER_00")
    assert hook.limiter.buckets == ["Sync Generate Speaker"]


@pytest.mark.parametrize(
    ("provider", "answer", "options"),
    [
        ("elevenlabs", ex.ELEVENLABS_ANSWER, {"diarize": True}),
        ("assemblyai", ex.ASSEMBLYAI_ANSWER, {"speaker_labels": True}),
    ],
)
def test_speech_to_text(
    hook: Any, mavi: Any, provider: str, answer: dict[str, Any], options: dict[str, Any]
) -> None:
    mavi.route("POST", "/transcriptions/speech-to-text", Reply(200, answer))
    result = hook.speech_to_text(url="https://cdn.example/a.mp3", provider=provider, **options)
    assert isinstance(result, SpeechToText)
    assert result.provider == provider
    assert result.words[0].start == 0.0
    assert result.words[0].end == 0.52
    assert sent(mavi) == [{"provider": provider, "url": "https://cdn.example/a.mp3", **options}]
    assert hook.limiter.buckets == ["Transcription"]


def test_video_chat_reads_an_answer_without_envelope(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/vu/chat/completions", Reply(200, ex.VLM_GEMINI_ANSWER))
    answer = hook.video_chat(
        "gemini:gemini-2.5-flash", prompt="What happens?", video="https://example.com/v.mp4"
    )
    assert isinstance(answer, ChatAnswer)
    assert answer.text.startswith("This video demonstrates")
    assert answer.cost_usd == 0.005187
    (request,) = sent(mavi)
    assert request["messages"][0]["content"][0] == {
        "type": "input_file",
        "file_uri": "https://example.com/v.mp4",
        "mime_type": "video/mp4",
    }
    assert hook.limiter.buckets == ["VLM Chat Completions"]


def _chat_text(text: str) -> Reply:
    return Reply(200, {**ex.VLM_GEMINI_ANSWER, "choices": [{"text": text, "index": 0}]})


def test_video_chat_with_a_schema_parses_and_validates(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/vu/chat/completions", _chat_text('```json\n{"summary": "oranges"}\n```'))
    answer = hook.video_chat(
        "gemini:gemini-2.5-flash", prompt="?", video="https://e/v.mp4", response_schema=SCHEMA
    )
    assert answer.parsed == {"summary": "oranges"}
    assert sent(mavi)[0]["extra_body"]["metadata"]["responseSchema"]["type"] == "OBJECT"


def test_video_chat_json_that_does_not_validate_is_a_clear_error_and_not_resent(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/vu/chat/completions", _chat_text('{"summary": 1}'))
    with pytest.raises(ChatAnswerError, match=r"does not match response_schema at \$.summary"):
        hook.video_chat("gemini:gemini-2.5-flash", prompt="?", response_schema=SCHEMA)
    assert len(mavi.seen()) == 1


def test_an_errored_chat_answer_is_a_mavi_error_not_repeated(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/vu/chat/completions", Reply(200, ex.VLM_ERRORED_ANSWER))
    with pytest.raises(MaviBadRequestError, match="Model input cannot be empty"):
        hook.video_chat("gemini:gemini-2.5-flash", prompt="?")
    assert len(mavi.seen()) == 1


def test_a_provider_rate_limit_in_a_chat_answer_is_retried(hook: Any, mavi: Any) -> None:
    limited = Reply(200, {"status": "errored", "error": {"code": 429, "message": "slow down"}})
    mavi.route("POST", "/vu/chat/completions", limited, Reply(200, ex.VLM_GEMINI_ANSWER))
    assert hook.video_chat("gemini:gemini-2.5-flash", prompt="?").status == "completed"
    assert len(mavi.seen()) == 2  # nothing was done the first time: safe to repeat


def test_embeddings(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/embeddings/video", Reply(200, ex.VIDEO_EMBEDDING_ANSWER))
    mavi.route("POST", "/embeddings/text", Reply(200, ex.TEXT_EMBEDDING_MANY_ANSWER))
    video = hook.embed_video("re_1")
    text = hook.embed_text(["a red car", "a blue boat"], dimensionality=3)
    assert isinstance(video, Embeddings)
    assert video.shape == (1, 3)
    assert text.shape == (2, 3)
    assert sent(mavi)[1] == {
        "input": ["a red car", "a blue boat"],
        "model": "gemini-embedding-001",
        "dimensionality": 3,
    }
    assert hook.limiter.buckets == ["Embeddings", "Embeddings"]


def test_embed_text_refuses_vectors_that_cannot_be_matched_to_the_texts(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/embeddings/text", Reply(200, ex.TEXT_EMBEDDING_ONE_ANSWER))
    with pytest.raises(MaviServerError, match=r"1 embedding vector\(s\) for 2 input\(s\)"):
        hook.embed_text(["a", "b"])


# ------------------------------------------------------------------------------------------ the submit rule


SYNC_CALLS = [
    pytest.param(
        lambda h: h.transcribe_audio_sync("re_1"), "/transcriptions/sync-generate-audio", id="whisper"
    ),
    pytest.param(
        lambda h: h.diarize_speakers_sync("re_1"), "/transcriptions/sync-generate-speaker", id="pyannote"
    ),
    pytest.param(lambda h: h.speech_to_text(asset_id="re_1"), "/transcriptions/speech-to-text", id="stt"),
    pytest.param(
        lambda h: h.video_chat("nova:us.amazon.nova-lite-v1:0", prompt="?"), "/vu/chat/completions", id="vlm"
    ),
    pytest.param(lambda h: h.embed_video("re_1"), "/embeddings/video", id="embed_video"),
    pytest.param(lambda h: h.embed_text(["a"]), "/embeddings/text", id="embed_text"),
]


@pytest.mark.parametrize(("call", "path"), SYNC_CALLS)
@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (Reply(error=requests.ReadTimeout("slow")), MaviTimeoutError),
        (Reply(error=requests.ConnectionError("reset by peer")), MaviConnectionError),
        (err(500, "internal error"), MaviServerError),
    ],
)
def test_a_paid_sync_call_is_never_repeated_once_it_may_have_gone_through(
    hook: Any, mavi: Any, call: Any, path: str, failure: Reply, error: type
) -> None:
    mavi.route("POST", path, failure, Reply(200, {"never": "reached"}))
    with pytest.raises(error, match="NOT resubmitted") as info:
        call(hook)
    assert info.value.outcome_unknown
    assert len(mavi.seen()) == 1


@pytest.mark.parametrize(("call", "path"), SYNC_CALLS)
def test_a_paid_sync_call_is_repeated_when_mavi_certainly_did_nothing(
    hook: Any, mavi: Any, call: Any, path: str
) -> None:
    limit = err(400, "Request has exceeded the limit.")
    mavi.route("POST", path, err(429, "slow"), limit, Reply(error=requests.ConnectTimeout()))
    # 429, the ambiguous 400 and a connection that never opened: each repeated (3 attempts in all).
    with pytest.raises(MaviConnectionError, match=r"Could not connect to Mavi .* after 3 attempts") as info:
        call(hook)
    assert not info.value.outcome_unknown
    assert len(mavi.seen()) == 3


def test_the_async_client_follows_the_same_rule(hook: Any, mavi: Any) -> None:
    mavi.route(
        "POST",
        "/vu/chat/completions",
        Reply(error=httpx.ReadTimeout("slow")),
        Reply(200, ex.VLM_GEMINI_ANSWER),
    )
    with pytest.raises(MaviTimeoutError, match="NOT resubmitted"):
        asyncio.run(hook.acall(endpoints.VIDEO_CHAT, model="gemini:gemini-2.5-flash", prompt="?"))
    assert len(mavi.seen()) == 1
    mavi.route("POST", "/embeddings/text", err(429, "slow"), Reply(200, ex.TEXT_EMBEDDING_MANY_ANSWER))
    result = asyncio.run(hook.acall(endpoints.EMBED_TEXT, texts=["a", "b"]))
    assert result.shape == (2, 3)


@pytest.mark.parametrize(
    ("path", "call", "answer", "field"),
    [
        (
            "/transcriptions/sync-generate-audio",
            lambda h: h.transcribe_audio_sync("re_1"),
            {"items": [{"text": "a"}]},
            r"data.items\[0\].start_time",
        ),
        (
            "/transcriptions/speech-to-text",
            lambda h: h.speech_to_text(asset_id="re_1", provider="assemblyai"),
            {"words": "x"},
            "data.words",
        ),
        ("/embeddings/video", lambda h: h.embed_video("re_1"), {"embedding": []}, "data.embedding"),
    ],
)
def test_a_malformed_sync_answer_names_the_request_and_field_and_is_not_resent(
    hook: Any, mavi: Any, path: str, call: Any, answer: Any, field: str
) -> None:
    mavi.route("POST", path, ok(answer))
    with pytest.raises(
        MaviServerError, match=f"Mavi's answer to POST {path} is malformed: field '{field}"
    ) as info:
        call(hook)
    assert "may be billed" in str(info.value)
    assert len(mavi.seen()) == 1


def test_a_malformed_chat_answer_names_the_field(hook: Any, mavi: Any) -> None:
    mavi.route("POST", "/vu/chat/completions", Reply(200, {"id": "x", "choices": []}))
    with pytest.raises(
        MaviServerError, match="answer to POST /vu/chat/completions is malformed: field 'choices' is empty"
    ):
        hook.video_chat("gemini:gemini-2.5-flash", prompt="?")
    mavi.route(
        "POST",
        "/vu/chat/completions",
        Reply(200, body=b"<html>oops</html>", headers={"Content-Type": "text/html"}),
    )
    with pytest.raises(MaviServerError, match="field '\\(answer body\\)' is missing or not an object"):
        hook.video_chat("gemini:gemini-2.5-flash", prompt="?")
