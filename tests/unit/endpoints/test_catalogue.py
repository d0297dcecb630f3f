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
    assert endpoints.TRANSCRIBE_AUDIO.callback is endpoints.TRANSCRIBE_VIDEO.callback
