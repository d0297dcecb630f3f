"""The endpoint catalogue: every entry well formed, the facts of mavi-api.md, request checks and answer
parsers."""

from __future__ import annotations

import dataclasses

import pytest

from airflow_provider_mavi import endpoints
from airflow_provider_mavi.endpoints import Answer, Endpoint, FileBody, Kind
from airflow_provider_mavi.exceptions import MaviServerError
from airflow_provider_mavi.results import Usage

#: Every entry of the catalogue, by name.
CATALOGUE = {e.name: e for e in vars(endpoints).values() if isinstance(e, Endpoint)}

#: mavi-api.md §6: the rate-limit table's names, one 1 QPS bucket each.
BUCKETS = {
    "upload": "Upload File",
    "signed_url": "Get Upload Signed URL",
    "signed_upload": "Upload File Using Signed URL",
    "signed_upload_put": "Upload File Using Signed URL",
    "metadata": "Get Asset Metadata",
    "download": "Download Asset",
    "delete": "Delete Asset",
    "extract_frames": "Extract Video Frames",
    "transcribe_video": "Async Generate Video Description",
    "transcribe_audio": "Async Generate Audio Transcription",
    "transcribe_audio_sync": "Sync Generate Audio Transcription",
    "diarize": "Async Generate Speaker",
    "diarize_sync": "Sync Generate Speaker",
    "recognize_speakers": "Speaker Recognition",
    "summarize": "Async Generate Summary",
    "detect_scenes": "Scene Detection",
    "split_video": "Split Video",
    "edit_video": "Edit Video",
    # Not named in the table: the "Standard APIs" tier (1 QPS) covers "Transcription" (§12.8).
    "speech_to_text_elevenlabs": "Transcription",
    "speech_to_text_assemblyai": "Transcription",
    # "Embeddings are also 1 QPS": one bucket for both (whether they share the limit is not said).
    "embed_video": "Embeddings",
    "embed_text": "Embeddings",
    # No Mavi QPS (the model provider's limits apply): its own bucket, paced like the others.
    "video_chat": "VLM Chat Completions",
}


def test_constants():
    assert endpoints.DEFAULT_BASE_URL == "https://mavi-backend.memories.ai/serve/api/v2"
    assert endpoints.DEFAULT_VIDEO_MODEL == "gemini-2.5-flash-lite"
    assert endpoints.AUDIO_MODEL == "whisper-1"
    assert len(endpoints.SUPPORTED_VIDEO_MODELS) == 4
    assert endpoints.DEFAULT_VIDEO_MODEL in endpoints.SUPPORTED_VIDEO_MODELS


def test_every_endpoint_the_provider_calls_is_declared_with_its_bucket():
    assert {name: endpoint.bucket for name, endpoint in CATALOGUE.items()} == BUCKETS


@pytest.mark.parametrize(
    ("endpoint", "method", "path", "kind", "creates"),
    [
        (endpoints.UPLOAD, "POST", "/upload", Kind.UPLOAD, True),
        (endpoints.SIGNED_URL, "POST", "/upload/signed-url", Kind.CALL, True),
        (endpoints.SIGNED_UPLOAD_POST, "POST", "<signed upload URL>", Kind.UPLOAD, False),
        (endpoints.SIGNED_UPLOAD_PUT, "PUT", "<signed upload URL>", Kind.UPLOAD, False),
        (endpoints.METADATA, "GET", "/{asset_id}/metadata", Kind.CALL, False),
        (endpoints.DOWNLOAD, "GET", "/{asset_id}/download", Kind.DOWNLOAD, False),
        (endpoints.DELETE, "DELETE", "/{asset_id}", Kind.CALL, False),
        (endpoints.EXTRACT_FRAMES, "POST", "/video/extract-frames", Kind.JOB, True),
        (endpoints.TRANSCRIBE_VIDEO, "POST", "/transcriptions/async-generate-video", Kind.JOB, True),
        (endpoints.TRANSCRIBE_AUDIO, "POST", "/transcriptions/async-generate-audio", Kind.JOB, True),
        (endpoints.TRANSCRIBE_AUDIO_SYNC, "POST", "/transcriptions/sync-generate-audio", Kind.CALL, True),
        (endpoints.DIARIZE, "POST", "/transcriptions/async-generate-speaker", Kind.JOB, True),
        (endpoints.DIARIZE_SYNC, "POST", "/transcriptions/sync-generate-speaker", Kind.CALL, True),
        (
            endpoints.RECOGNIZE_SPEAKERS,
            "POST",
            "/transcriptions/async-generate-multi-speaker",
            Kind.JOB,
            True,
        ),
        (endpoints.SUMMARIZE, "POST", "/transcriptions/async-summary", Kind.JOB, True),
        (endpoints.DETECT_SCENES, "POST", "/video/clip", Kind.JOB, True),
        (endpoints.SPLIT_VIDEO, "POST", "/video/split", Kind.JOB, True),
        (endpoints.EDIT_VIDEO, "POST", "/video/edit", Kind.JOB, True),
        (endpoints.SPEECH_TO_TEXT_ELEVENLABS, "POST", "/transcriptions/speech-to-text", Kind.CALL, True),
        (endpoints.SPEECH_TO_TEXT_ASSEMBLYAI, "POST", "/transcriptions/speech-to-text", Kind.CALL, True),
        (endpoints.VIDEO_CHAT, "POST", "/vu/chat/completions", Kind.CALL, True),
        (endpoints.EMBED_VIDEO, "POST", "/embeddings/video", Kind.CALL, True),
        (endpoints.EMBED_TEXT, "POST", "/embeddings/text", Kind.CALL, True),
    ],
)
def test_entries(endpoint, method, path, kind, creates):
    assert (endpoint.method, endpoint.path, endpoint.kind, endpoint.creates) == (method, path, kind, creates)
    assert CATALOGUE[endpoint.name] is endpoint
    assert (endpoint.callback is not None) == (kind is Kind.JOB)


def test_only_signed_uploads_go_to_a_full_url_without_the_key():
    unauthenticated = {name for name, endpoint in CATALOGUE.items() if not endpoint.authenticated}
    assert unauthenticated == {"signed_upload", "signed_upload_put"}
    for name in unauthenticated:
        assert CATALOGUE[name].answer is Answer.STATUS
    assert endpoints.SIGNED_UPLOAD_POST.body == FileBody("file")  # the documented multipart field
    assert endpoints.SIGNED_UPLOAD_PUT.body == FileBody(None)  # the raw bytes


def test_path_parameters_are_read_from_the_template():
    assert endpoints.METADATA.path_params == ("asset_id",)
    assert endpoints.DELETE.path_params == ("asset_id",)
    assert endpoints.EXTRACT_FRAMES.path_params == ()


@pytest.mark.parametrize(
    ("endpoint", "usage", "cost"),
    [
        (endpoints.EXTRACT_FRAMES, Usage(media_seconds=12), 0.12),
        (endpoints.EXTRACT_FRAMES, Usage(), None),  # duration unknown: no guess
        (endpoints.TRANSCRIBE_VIDEO, Usage(prompt_tokens=9000, output_tokens=512), 0.00597),
        (endpoints.TRANSCRIBE_VIDEO, Usage(prompt_tokens=9000), None),
        (endpoints.TRANSCRIBE_AUDIO, Usage(media_seconds=13.1), 0.0131),
        (endpoints.TRANSCRIBE_AUDIO, Usage(media_seconds=13.1, speaker=True), 0.0262),
        (endpoints.DOWNLOAD, Usage(n_bytes=2_000_000_000), 0.24),
        (endpoints.UPLOAD, Usage(n_bytes=10**9), 0.0),  # the call is free (storage is billed apart)
        (endpoints.SIGNED_URL, Usage(), 0.0),
        (endpoints.METADATA, Usage(), None),  # no published price
        (endpoints.DELETE, Usage(), None),
        (endpoints.TRANSCRIBE_AUDIO_SYNC, Usage(media_seconds=10, speaker=True), 0.02),
        (endpoints.DIARIZE, Usage(media_seconds=13.4), 0.0134),
        (endpoints.DIARIZE_SYNC, Usage(media_seconds=13.4), 0.0134),
        (endpoints.RECOGNIZE_SPEAKERS, Usage(media_seconds=120), 0.2),  # $0.1 per minute
        (endpoints.RECOGNIZE_SPEAKERS, Usage(), None),
        (endpoints.SUMMARIZE, Usage(prompt_tokens=5200, output_tokens=240), None),  # not documented
        (endpoints.DETECT_SCENES, Usage(media_seconds=60), None),
        (endpoints.SPLIT_VIDEO, Usage(media_seconds=60), None),
        (endpoints.EDIT_VIDEO, Usage(media_seconds=60), None),
        (endpoints.SPEECH_TO_TEXT_ELEVENLABS, Usage(media_seconds=3600), 0.39),
        (endpoints.SPEECH_TO_TEXT_ASSEMBLYAI, Usage(media_seconds=3600), 0.15),
        (
            endpoints.SPEECH_TO_TEXT_ASSEMBLYAI,
            Usage(media_seconds=0.5),
            round(0.15 / 3600, 6),
        ),  # by the second
        (
            endpoints.VIDEO_CHAT,
            Usage(prompt_tokens=16983, output_tokens=37, model="gemini:gemini-2.5-flash"),
            0.005187,
        ),
        (endpoints.VIDEO_CHAT, Usage(prompt_tokens=10, output_tokens=1, model="gemini:unlisted"), None),
        (endpoints.EMBED_TEXT, Usage(prompt_tokens=5_000_000, output_tokens=0), 1.0),  # $0.0000002/token
        (endpoints.EMBED_TEXT, Usage(), None),  # tokens are not returned
        (endpoints.EMBED_VIDEO, Usage(), None),  # not documented
    ],
)
def test_price_rules(endpoint, usage, cost):
    assert endpoint.price.cost_usd(usage) == cost


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"method": "PATCH"}, "unknown HTTP method"),
        ({"path": "video/x"}, "must start with '/'"),
        ({"path": "/{asset id}/x"}, "plain names"),
        ({"kind": Kind.JOB}, "needs a callback parser"),
        ({"body": FileBody()}, "only an upload"),
    ],
)
def test_a_malformed_entry_is_refused_at_import(changes, message):
    fields = {f.name: getattr(endpoints.METADATA, f.name) for f in dataclasses.fields(Endpoint) if f.init}
    with pytest.raises(ValueError, match=message):
        Endpoint(**{**fields, **changes})


# ---------------------------------------------------------------------------------------- request checks


@pytest.mark.parametrize("bad", ["", " ", "a/b", "a\\b", "re_1?x", "re_1#", "..", ".", "re_%2e", "re\n1", 5])
def test_check_asset_id(bad):
    with pytest.raises(ValueError, match="Not a Mavi asset id"):
        endpoints.check_asset_id(bad)  # type: ignore[arg-type]


def test_bodies_and_models():
    assert endpoints.video_description_body("re_1", "gemini-2.5-flash") == {
        "asset_id": "re_1",
        "model": "gemini-2.5-flash",
    }
    assert endpoints.video_description_body("re_1")["model"] == "gemini-2.5-flash-lite"
    with pytest.raises(ValueError, match=r"Mavi supports: gemini-2\.5-flash-lite"):
        endpoints.video_description_body("re_1", "whisper-1")
    assert endpoints.audio_transcription_body("re_1", True) == {
        "asset_id": "re_1",
        "model": "whisper-1",
        "speaker": True,
    }
    assert endpoints.asset_body("im_1") == {"asset_id": "im_1"}
    assert endpoints.signed_url_body("a.mp4") == {"original_filename": "a.mp4"}
    with pytest.raises(ValueError, match="original_filename"):
        endpoints.signed_url_body("")


# ---------------------------------------------------------------------------------------- answer parsers


def test_metadata_resources():
    data = {"total": 2, "resource": [{"asset_id": "imc_1_0"}, {"asset_id": "imc_1_1"}]}
    assert endpoints.metadata_resources(data, "GET /im_1/metadata") == data["resource"]
    for bad in ({"total": 0}, {"resource": [1]}, None):
        with pytest.raises(MaviServerError, match=r"answer to GET /im_1/metadata has no data\.resource"):
            endpoints.metadata_resources(bad, "GET /im_1/metadata")


def test_job_and_asset_ids():
    assert endpoints.job_id({"task_id": "j1"}, "POST /x") == "j1"
    assert endpoints.new_asset_id({"asset_id": "re_1"}, "POST /upload") == "re_1"
    with pytest.raises(MaviServerError, match=r"data\.task_id"):
        endpoints.job_id({}, "POST /x")


def test_signed_upload_hides_its_url():
    secret = "https://storage.example/b/o?X-Goog-Signature=SIGSECRET"
    ticket = endpoints.signed_upload(
        {"asset_id": "re_1", "signed_url": secret, "expires_in": 93600}, "POST /upload/signed-url"
    )
    assert (ticket.asset_id, ticket.url) == ("re_1", secret)
    assert "SIGSECRET" not in repr(ticket)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gs://bucket/o?sig=SIGSECRET", "/relative?sig=SIGSECRET"]
)
def test_a_signed_url_that_is_not_http_is_refused_without_showing_it(url):
    with pytest.raises(MaviServerError, match="not an http") as info:
        endpoints.signed_upload({"asset_id": "re_1", "signed_url": url}, "POST /upload/signed-url")
    assert "SIGSECRET" not in repr(info.value)


def test_job_callbacks_parse_into_results():
    frames = endpoints.EXTRACT_FRAMES.callback(  # type: ignore[misc]
        {"code": 200, "task_id": "j", "data": {"asset_id": "im_1", "asset_ch_ids": ["imc_1_0"]}}
    )
    assert frames.frames_asset_id == "im_1"
    audio = endpoints.TRANSCRIBE_AUDIO.callback(  # type: ignore[misc]
        {"code": "0000", "task_id": "j", "data": {"data": {"data": [], "usage_metadata": {"duration": 2}}}}
    )
    assert (audio.job_id, audio.duration_seconds) == ("j", 2)


def test_every_job_parses_its_own_callback_shape():
    from airflow_provider_mavi import results

    assert {e.name: e.callback for e in CATALOGUE.values() if e.kind is Kind.JOB} == {
        "extract_frames": results.parse_frames_callback,
        "transcribe_video": results.parse_transcript_callback,
        "transcribe_audio": results.parse_audio_callback,
        "diarize": results.parse_speaker_callback,
        "recognize_speakers": results.parse_multi_speaker_callback,
        "summarize": results.parse_summary_callback,
        "detect_scenes": results.parse_scenes_callback,
        "split_video": results.parse_split_callback,
        "edit_video": results.parse_edit_callback,
    }


def test_only_the_vlm_chat_answers_without_mavis_envelope():
    bare = {name for name, e in CATALOGUE.items() if e.answer is Answer.JSON}
    assert bare == {"video_chat"}


def test_every_paid_call_follows_the_submit_rule():
    # Sync model calls are paid too: a timeout after sending must not be retried blindly.
    never_repeated_blindly = {name for name, e in CATALOGUE.items() if e.creates}
    reads = {"metadata", "download", "delete", "signed_upload", "signed_upload_put"}
    assert never_repeated_blindly == set(CATALOGUE) - reads
