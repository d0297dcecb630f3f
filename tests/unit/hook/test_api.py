"""The pure helpers: envelopes, error mapping, the retry predicate, backoff, file names."""

from __future__ import annotations

import json
import pickle
import random
import time
from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_mavi import api
from airflow_provider_mavi.api import RetryPolicy, TransportFailure
from airflow_provider_mavi.exceptions import (
    MaviAssetFailedError,
    MaviAuthenticationError,
    MaviBadRequestError,
    MaviCallbackError,
    MaviError,
    MaviInsufficientBalanceError,
    MaviNotFoundError,
    MaviRateLimitError,
    MaviServerError,
    MaviWebhookNotConfiguredError,
)
from airflow_provider_mavi.hooks.rate_limit import rate_for

SUBMIT = api.extract_frames_call()
READ = api.metadata_call("re_1")


def test_constants():
    assert api.DEFAULT_BASE_URL == "https://mavi-backend.memories.ai/serve/api/v2"
    assert api.DEFAULT_VIDEO_MODEL == "gemini-2.5-flash-lite"
    assert api.AUDIO_MODEL == "whisper-1"
    assert len(api.SUPPORTED_VIDEO_MODELS) == 4
    assert api.DEFAULT_VIDEO_MODEL in api.SUPPORTED_VIDEO_MODELS


def test_paths():
    assert api.upload_call() == api.Call("POST", "/upload", idempotent=False)
    assert api.signed_url_call().path == "/upload/signed-url"
    assert api.metadata_call("imc_6669_0").path == "/imc_6669_0/metadata"
    assert api.download_call("im_1").path == "/im_1/download"
    assert api.delete_call("re_1") == api.Call("DELETE", "/re_1", idempotent=True)
    assert api.transcribe_video_call().path == "/transcriptions/async-generate-video"
    assert api.transcribe_audio_call().path == "/transcriptions/async-generate-audio"
    assert api.join_url("http://h/serve/api/v2/", "/upload") == "http://h/serve/api/v2/upload"
    assert api.auth_headers("sk-1") == {"Authorization": "sk-1"}


@pytest.mark.parametrize("code", [200, "200", "0000"])
def test_success_codes(code):
    assert api.is_success_code(code)
    assert api.check_response(200, {"code": code, "msg": "success", "data": {"a": 1}}) == {"a": 1}


@pytest.mark.parametrize("code", [0, "0", 201, "0001", True, None, 400, "ok"])
def test_non_success_codes(code):
    assert not api.is_success_code(code)


def test_envelope_reads_msg_or_message_and_flags():
    env = api.parse_envelope({"code": 200, "message": "SUCCESS", "data": None, "failed": False})
    assert env is not None
    assert env.message == "SUCCESS"
    assert env.ok
    assert not api.parse_envelope({"code": 200, "msg": "x", "success": False}).ok  # type: ignore[union-attr]
    assert not api.parse_envelope({"code": "0000", "msg": "x", "failed": True}).ok  # type: ignore[union-attr]
    assert api.parse_envelope({"data": 1}) is None
    assert api.parse_envelope([1]) is None


ROWS = [
    (400, {"code": 400, "msg": "Asset not found"}, MaviNotFoundError),
    (400, {"code": 400, "msg": "Resource does not exist"}, MaviNotFoundError),
    (400, {"code": 400, "msg": "Bucket cannot be null or empty"}, MaviBadRequestError),
    (400, {"code": 400, "msg": "Request has exceeded the limit."}, MaviRateLimitError),
    (
        400,
        {"code": 400, "msg": "An async request requires at least one webhook."},
        MaviWebhookNotConfiguredError,
    ),
    (
        400,
        {"code": 400, "msg": "Insufficient balance to download the resource. Please recharge and try again."},
        MaviInsufficientBalanceError,
    ),
    (401, {"code": 401, "msg": "Unauthorized", "data": None}, MaviAuthenticationError),
    (402, {"code": 402, "msg": "x"}, MaviInsufficientBalanceError),
    (403, {"code": 403, "msg": "x"}, MaviAuthenticationError),
    (404, "Not Found", MaviNotFoundError),
    (405, {"code": 405, "msg": "x"}, MaviBadRequestError),
    (409, {"code": 409, "msg": "x"}, MaviBadRequestError),
    (415, {"code": 415, "msg": "x"}, MaviBadRequestError),
    (429, {"code": 429, "msg": "x"}, MaviRateLimitError),
    (500, {"code": 500, "msg": "x"}, MaviServerError),
    (503, "<html>", MaviServerError),
    (200, {"code": "0429", "msg": "busy"}, MaviRateLimitError),
    (200, {"code": "0401", "msg": "bad auth"}, MaviAuthenticationError),
    (200, {"code": "0402", "msg": "points"}, MaviInsufficientBalanceError),
    (200, {"code": "0001", "msg": "params"}, MaviServerError),
]


@pytest.mark.parametrize(("status", "body", "error"), ROWS)
def test_error_mapping(status, body, error):
    mapped = api.error_from_response(status, body, call=READ)
    assert type(mapped) is error
    assert mapped.status == status
    if isinstance(body, dict):
        assert mapped.code == body["code"]
        assert mapped.mavi_message == body["msg"]
    with pytest.raises(error):
        api.check_response(status, body, call=READ)


def test_exact_messages_only_decide_with_their_status():
    # the same text under another status is not reinterpreted
    assert type(api.error_from_response(500, {"code": 500, "msg": "Asset not found"})) is MaviServerError
    assert (
        type(
            api.error_from_response(
                429, {"code": 429, "msg": "An async request requires at least one webhook."}
            )
        )
        is MaviRateLimitError
    )
    # near misses of the exact text are plain bad requests
    assert type(api.error_from_response(400, {"code": 400, "msg": "asset not found!"})) is MaviBadRequestError


def test_errors_pickle_and_repr():
    error = MaviRateLimitError("m", ambiguous=True, status=400, code=400, mavi_message="x")
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.ambiguous, clone.status, clone.code, str(clone)) == (True, 400, 400, "m")
    assert repr(error).startswith("MaviRateLimitError('m', status=400")
    failed = pickle.loads(pickle.dumps(MaviAssetFailedError("f", asset_id="re_1")))
    assert failed.asset_id == "re_1"
    callback = MaviCallbackError("missing data.asset_id", field="data.asset_id", job_id="j")
    assert (callback.field, callback.job_id) == ("data.asset_id", "j")
    assert isinstance(callback, MaviError)


# ------------------------------------------------------------------------------------------ retries


@pytest.mark.parametrize(
    ("idempotent", "error", "failure", "expected"),
    [
        (True, None, TransportFailure.NOT_SENT, True),
        (True, None, TransportFailure.TIMEOUT, True),
        (True, None, TransportFailure.BROKEN, True),
        (False, None, TransportFailure.NOT_SENT, True),
        (False, None, TransportFailure.TIMEOUT, False),
        (False, None, TransportFailure.BROKEN, False),
        (True, MaviRateLimitError("x", status=429), None, True),
        (False, MaviRateLimitError("x", status=429), None, True),
        (False, MaviRateLimitError("x", status=400, ambiguous=True), None, True),
        (True, MaviServerError("x", status=503), None, True),
        (False, MaviServerError("x", status=503), None, False),
        (True, MaviServerError("no envelope", status=200), None, False),
        (True, MaviAuthenticationError("x", status=401), None, False),
        (True, MaviInsufficientBalanceError("x", status=402), None, False),
        (False, MaviWebhookNotConfiguredError("x", status=400), None, False),
        (True, MaviBadRequestError("x", status=400), None, False),
        (True, MaviNotFoundError("x", status=400), None, False),
    ],
)
def test_the_retry_predicate(idempotent, error, failure, expected):
    assert api.is_retryable(idempotent=idempotent, error=error, failure=failure) is expected


def test_retry_delay_bounds_and_retry_after():
    policy = RetryPolicy(max_attempts=3, limit_attempts=2, base_delay=1, max_delay=30, max_retry_after=60)
    limit = MaviRateLimitError("x", status=400, ambiguous=True)
    plain = MaviRateLimitError("x", status=429)
    assert api.retry_delay(attempt=1, policy=policy, idempotent=False, error=limit) is not None
    assert api.retry_delay(attempt=2, policy=policy, idempotent=False, error=limit) is None
    assert api.retry_delay(attempt=2, policy=policy, idempotent=False, error=plain) is not None
    assert api.retry_delay(attempt=3, policy=policy, idempotent=False, error=plain) is None
    assert api.retry_delay(attempt=1, policy=policy, idempotent=True, error=plain, retry_after=7.0) == 7.0
    assert api.retry_delay(attempt=1, policy=policy, idempotent=True, error=plain, retry_after=600.0) is None


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = RetryPolicy(base_delay=1, max_delay=5)
    rng = random.Random(7)
    for attempt, full in [(1, 1), (2, 2), (3, 4), (4, 5), (9, 5)]:
        delays = {api.backoff_delay(attempt, policy, rng) for _ in range(20)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1  # jittered


def test_parse_retry_after():
    now = time.time()
    assert api.parse_retry_after("3", now) == 3.0
    assert api.parse_retry_after(" 1.5 ", now) == 1.5
    assert api.parse_retry_after("-4", now) == 0.0
    assert 9 <= api.parse_retry_after(formatdate(now + 10, usegmt=True), now) <= 10  # type: ignore[operator]
    assert api.parse_retry_after(formatdate(now - 10, usegmt=True), now) == 0.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert api.parse_retry_after(bad, now) is None


def test_policy_checks_itself():
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)


def test_transport_and_final_errors_say_whether_a_job_may_exist():
    lost = api.transport_error(SUBMIT, TransportFailure.TIMEOUT, "ReadTimeout", 1)
    assert lost.outcome_unknown
    assert "NOT resubmitted" in str(lost)
    refused = api.transport_error(SUBMIT, TransportFailure.NOT_SENT, "NewConnectionError", 3)
    assert not refused.outcome_unknown
    assert "after 3 attempts" in str(refused)
    assert not api.transport_error(READ, TransportFailure.TIMEOUT, "ReadTimeout", 3).outcome_unknown
    five = api.final_error(MaviServerError("Mavi server error (HTTP 502).", status=502), SUBMIT)
    assert five.outcome_unknown
    assert not api.final_error(MaviServerError("x", status=502), READ).outcome_unknown


# ---------------------------------------------------------------------------------------- inputs


@pytest.mark.parametrize("bad", ["", " ", "a/b", "a\\b", "re_1?x", "re_1#", "..", ".", "re_%2e", "re\n1", 5])
def test_check_asset_id(bad):
    with pytest.raises(ValueError, match="Not a Mavi asset id"):
        api.check_asset_id(bad)  # type: ignore[arg-type]


def test_models_and_bodies():
    assert api.transcribe_video_body("re_1", "gemini-2.5-flash") == {
        "asset_id": "re_1",
        "model": "gemini-2.5-flash",
    }
    with pytest.raises(ValueError, match=r"Mavi supports: gemini-2\.5-flash-lite"):
        api.transcribe_video_body("re_1", "whisper-1")
    assert api.transcribe_audio_body("re_1", True) == {
        "asset_id": "re_1",
        "model": "whisper-1",
        "speaker": True,
    }


def test_metadata_helpers():
    data = {"total": 2, "resource": [{"asset_id": "imc_1_0"}, {"asset_id": "imc_1_1"}]}
    resources = api.metadata_resources(data)
    assert api.find_resource(resources, "imc_1_1") == {"asset_id": "imc_1_1"}
    assert api.find_resource(resources, "re_x") is None
    assert api.find_resource([{"upload_status": "SUCCESS"}], "re_x") == {"upload_status": "SUCCESS"}
    with pytest.raises(MaviServerError, match=r"data\.resource"):
        api.metadata_resources({"total": 0})


# ---------------------------------------------------------------------------------------- file names


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="clip.mp4"', "clip.mp4"),
        ("attachment; filename=plain.mov", "plain.mov"),
        ("attachment; filename*=UTF-8''na%C3%AFve.mp4; filename=\"naive.mp4\"", "naïve.mp4"),
        ('attachment; filename="../../x.sh"', "x.sh"),
        ('attachment; filename="C:\\\\Windows\\\\evil.exe"', "evil.exe"),
        ('attachment; filename="con.mp4"', "re_1.mp4"),
        ('attachment; filename="a:b*c?.mp4"', "a_b_c_.mp4"),
        (None, "re_1.mp4"),
        ("garbage;;;", "re_1.mp4"),
    ],
)
def test_download_filename(header, expected):
    assert api.download_filename(header, "re_1", "video/mp4") == expected


def test_fallback_extension_from_content_type():
    assert api.download_filename(None, "im_5", "application/zip") == "im_5.zip"
    assert api.download_filename(None, "imc_5_0", "image/jpeg; charset=binary") == "imc_5_0.jpg"
    assert api.download_filename(None, "re_5", None) == "re_5"


@given(st.text(max_size=300))
def test_safe_filename_never_escapes(name):
    safe = api.safe_filename(name, "fallback.bin")
    assert safe
    assert "/" not in safe
    assert "\\" not in safe
    assert safe not in (".", "..")
    assert not safe.startswith(".")
    assert all(ch.isprintable() for ch in safe)
    assert len(safe.encode()) <= api.MAX_FILENAME_BYTES


def test_json_content_types_and_envelope_sniffing():
    for value in (
        "application/json",
        "application/json; charset=utf-8",
        "text/json",
        "application/problem+json",
    ):
        assert api.is_json_content_type(value)
    for value in (None, "", "video/mp4", "application/octet-stream", "application/jsonl"):
        assert not api.is_json_content_type(value)
    assert api.looks_like_error_envelope(b' {"code": 400, "msg": "Asset not found", "failed": true}')
    assert not api.looks_like_error_envelope(b'{"code": 200, "msg": "success"}')
    assert not api.looks_like_error_envelope(b"{not json")
    assert not api.looks_like_error_envelope(b"\x00\x00\x00 ftypisom")


def test_rates():
    one = rate_for(1)
    assert (one.limit, one.interval) == (1, 1100)
    assert (rate_for(5).limit, rate_for(5).interval) == (5, 1100)
    assert (rate_for(0.5).limit, rate_for(0.5).interval) == (1, 2200)
    assert (rate_for(2.5).limit, rate_for(2.5).interval) == (5, 2200)
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="must be a number > 0"):
            rate_for(bad)


def test_urllib3_debug_lines_lose_their_query_string():
    import logging

    from airflow_provider_mavi.hooks.transport import RedactQueryFilter

    record = logging.LogRecord(
        "urllib3.connectionpool", logging.DEBUG, __file__, 1, '%s://%s:%s "%s %s %s" %s %s',
        ("https", "storage.example", 443, "POST", "/b/o?X-Goog-Signature=SECRET", "HTTP/1.1", 200, 0), None,
    )  # fmt: skip
    assert RedactQueryFilter().filter(record)
    assert "SECRET" not in record.getMessage()
    assert "/b/o?<redacted>" in record.getMessage()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
ENVELOPE_LIKE = st.fixed_dictionaries(
    {"code": st.one_of(st.integers(), st.text(max_size=6), st.none(), st.booleans())},
    optional={
        "msg": JSON,
        "message": JSON,
        "data": JSON,
        "success": JSON,
        "failed": JSON,
    },
)


@given(status=st.integers(100, 599), body=st.one_of(JSON, ENVELOPE_LIKE))
def test_any_answer_maps_to_data_or_a_mavi_error(status, body):
    error, _ = api.interpret_answer(status, "application/json", json.dumps(body).encode(), call=READ)
    if error is not None:  # anything but data must be a MaviError that names the status
        assert isinstance(error, MaviError)
        assert isinstance(error.message, str)
        assert error.status == status


@given(raw=st.binary(max_size=300), content_type=st.sampled_from([None, "application/json", "video/mp4"]))
def test_any_bytes_are_interpreted_without_crashing(raw, content_type):
    for expect_file in (False, True):
        error, _ = api.interpret_answer(200, content_type, raw, call=READ, expect_file=expect_file)
        assert error is None or isinstance(error, MaviError)
    api.looks_like_error_envelope(raw)
