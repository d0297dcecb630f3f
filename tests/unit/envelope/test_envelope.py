"""Reading Mavi's answers: envelopes, success codes, the error each answer maps to, JSON sniffing."""

from __future__ import annotations

import pickle

import pytest

from airflow_provider_mavi import envelope
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

READ = "GET /re_1/metadata"


@pytest.mark.parametrize("code", [200, "200", "0000"])
def test_success_codes(code):
    assert code in envelope.SUCCESS_CODES
    assert envelope.is_success_code(code)
    assert envelope.check_response(200, {"code": code, "msg": "success", "data": {"a": 1}}) == {"a": 1}


@pytest.mark.parametrize("code", [0, "0", 201, "0001", True, None, 400, "ok", [200], {"c": 1}])
def test_non_success_codes(code):
    assert not envelope.is_success_code(code)


def test_results_use_the_same_success_codes():
    from airflow_provider_mavi.results import callback

    assert callback.is_success_code is envelope.is_success_code  # defined once, imported


def test_envelope_reads_msg_or_message_and_flags():
    env = envelope.parse_envelope({"code": 200, "message": "SUCCESS", "data": None, "failed": False})
    assert env is not None
    assert env.message == "SUCCESS"
    assert env.ok
    assert not envelope.parse_envelope({"code": 200, "msg": "x", "success": False}).ok  # type: ignore[union-attr]
    assert not envelope.parse_envelope({"code": "0000", "msg": "x", "failed": True}).ok  # type: ignore[union-attr]
    assert envelope.parse_envelope({"data": 1}) is None
    assert envelope.parse_envelope([1]) is None


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
    mapped = envelope.error_from_response(status, body, label=READ)
    assert type(mapped) is error
    assert mapped.status == status
    assert READ in str(mapped)
    if isinstance(body, dict):
        assert mapped.code == body["code"]
        assert mapped.mavi_message == body["msg"]
    with pytest.raises(error):
        envelope.check_response(status, body, label=READ)


def test_exact_messages_only_decide_with_their_status():
    # the same text under another status is not reinterpreted
    assert type(envelope.error_from_response(500, {"code": 500, "msg": "Asset not found"})) is MaviServerError
    webhook = {"code": 429, "msg": "An async request requires at least one webhook."}
    assert type(envelope.error_from_response(429, webhook)) is MaviRateLimitError
    # near misses of the exact text are plain bad requests
    near = {"code": 400, "msg": "asset not found!"}
    assert type(envelope.error_from_response(400, near)) is MaviBadRequestError


def test_an_answer_without_the_envelope_is_a_server_error():
    with pytest.raises(MaviServerError, match=r"without its JSON envelope \(GET /re_1/metadata\)") as info:
        envelope.check_response(200, "hello\x00\nworld", label=READ)
    assert info.value.mavi_message == "hello world"


def test_require_str_names_the_missing_field():
    assert envelope.require_str({"task_id": "j"}, "task_id") == "j"
    for data in ({}, {"task_id": ""}, {"task_id": 5}, None, []):
        with pytest.raises(MaviServerError, match=r"answer to POST /x has no data\.task_id"):
            envelope.require_str(data, "task_id", label="POST /x")


def test_errors_pickle_and_repr():
    error = MaviRateLimitError("m", ambiguous=True, status=400, code=400, mavi_message="x")
    error.retry_after = 3.0
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.ambiguous, clone.status, clone.code, str(clone)) == (True, 400, 400, "m")
    assert clone.retry_after == 3.0
    assert repr(error).startswith("MaviRateLimitError('m', status=400")
    failed = pickle.loads(pickle.dumps(MaviAssetFailedError("f", asset_id="re_1")))
    assert failed.asset_id == "re_1"
    callback = MaviCallbackError("missing data.asset_id", field="data.asset_id", job_id="j")
    assert (callback.field, callback.job_id) == ("data.asset_id", "j")
    assert isinstance(callback, MaviError)


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (429, MaviRateLimitError, "rate-limited"),
        (503, MaviServerError, "HTTP 503"),
        (403, MaviBadRequestError, "signed URL may have expired"),
    ],
)
def test_storage_errors_never_name_the_url(status, error, text):
    mapped = envelope.storage_error(status)
    assert type(mapped) is error
    assert text in str(mapped)
    assert "http" not in str(mapped)


def test_json_content_types_and_envelope_sniffing():
    for value in (
        "application/json",
        "application/json; charset=utf-8",
        "text/json",
        "application/problem+json",
    ):
        assert envelope.is_json_content_type(value)
    for value in (None, "", "video/mp4", "application/octet-stream", "application/jsonl"):
        assert not envelope.is_json_content_type(value)
    assert envelope.looks_like_error_envelope(b' {"code": 400, "msg": "Asset not found", "failed": true}')
    assert not envelope.looks_like_error_envelope(b'{"code": 200, "msg": "success"}')
    assert not envelope.looks_like_error_envelope(b"{not json")
    assert not envelope.looks_like_error_envelope(b"\x00\x00\x00 ftypisom")


def test_decode_body():
    assert envelope.decode_body(b'{"a": 1}') == {"a": 1}
    assert envelope.decode_body(b"\xff<html>") == "\ufffd<html>"
