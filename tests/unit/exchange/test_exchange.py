"""prepare and interpret: one request built and checked, one answer read, without I/O."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_mavi import endpoints
from airflow_provider_mavi.envelope import TransportFailure
from airflow_provider_mavi.exceptions import (
    MaviError,
    MaviNotFoundError,
    MaviRateLimitError,
    MaviServerError,
)
from airflow_provider_mavi.exchange import Attempts, Received, error_in_file, interpret, prepare

BASE = "http://mavi.test/serve/api/v2/"
KEY = "sk-mavi-unit-EXCHANGE-0042"


def req(endpoint, **params):
    return prepare(endpoint, params, base_url=BASE, api_key=KEY)


def ok(data, code=200):
    return Received(
        200, "application/json", json.dumps({"code": code, "msg": "success", "data": data}).encode()
    )


def test_urls_labels_and_headers():
    request = req(endpoints.METADATA, asset_id="imc_6669_0")
    assert request.url == "http://mavi.test/serve/api/v2/imc_6669_0/metadata"
    assert request.label == "GET /imc_6669_0/metadata"
    assert request.headers["Authorization"] == KEY  # the raw key, no "Bearer"
    assert request.headers["User-Agent"].startswith("airflow-provider-mavi/")
    assert request.json is None
    assert req(endpoints.DELETE, asset_id="re_1").label == "DELETE /re_1"
    assert req(endpoints.DOWNLOAD, asset_id="im_1").headers["Accept-Encoding"] == "identity"
    submit = req(endpoints.TRANSCRIBE_AUDIO, asset_id="re_1", speaker=True)
    assert submit.label == "POST /transcriptions/async-generate-audio"
    assert submit.json == {"asset_id": "re_1", "model": "whisper-1", "speaker": True}
    assert submit.creates


def test_ids_go_in_as_one_escaped_segment():
    assert req(endpoints.METADATA, asset_id="re_ü+1").url.endswith("/re_%C3%BC%2B1/metadata")


def test_the_key_and_a_signed_url_never_show_in_a_repr():
    signed = "https://storage.example/o?X-Goog-Signature=SIGSECRET"
    request = req(endpoints.SIGNED_UPLOAD_POST, signed_url=signed, source=object())
    assert request.url == signed
    assert request.label == "POST <signed upload URL>"
    assert "Authorization" not in request.headers  # never send the key to the storage service
    assert request.form_field == "file"
    for text in (repr(request), repr(req(endpoints.METADATA, asset_id="re_1"))):
        assert KEY not in text
        assert "SIGSECRET" not in text
    assert req(endpoints.SIGNED_UPLOAD_PUT, signed_url=signed, source=object()).form_field is None


@pytest.mark.parametrize(
    ("endpoint", "params", "error", "message"),
    [
        (endpoints.METADATA, {}, TypeError, "needs the parameter"),
        (endpoints.METADATA, {"asset_id": "re_1", "model": "x"}, TypeError, "takes no parameter"),
        (endpoints.METADATA, {"asset_id": "a/b"}, ValueError, "Not a Mavi asset id"),
        (endpoints.UPLOAD, {}, TypeError, "source"),
        (endpoints.SIGNED_UPLOAD_POST, {"source": 1}, TypeError, "signed_url"),
        (endpoints.EXTRACT_FRAMES, {"asset_id": "re 1"}, ValueError, "Not a Mavi asset id"),
        (endpoints.EXTRACT_FRAMES, {"asset_id": "re_1", "fps": 2}, TypeError, "fps"),
        (endpoints.TRANSCRIBE_VIDEO, {"asset_id": "re_1", "model": "gpt"}, ValueError, "Unsupported"),
    ],
)
def test_bad_parameters_are_refused_before_anything_is_sent(endpoint, params, error, message):
    with pytest.raises(error, match=message):
        prepare(endpoint, params, base_url=BASE, api_key=KEY)


# ------------------------------------------------------------------------------------------ interpret


def test_answers_become_result_values():
    assert interpret(req(endpoints.EXTRACT_FRAMES, asset_id="re_1"), ok({"task_id": "j"}, code="0000")) == "j"
    meta = {"total": 1, "resource": [{"asset_id": "re_1"}]}
    assert interpret(req(endpoints.METADATA, asset_id="re_1"), ok(meta)) == meta["resource"]
    assert interpret(req(endpoints.DELETE, asset_id="re_1"), ok(None)) is None
    storage = req(endpoints.SIGNED_UPLOAD_PUT, signed_url="https://s.example/o", source=object())
    assert interpret(storage, Received(204, None, b"")) is None


def test_an_error_answer_carries_retry_after_and_the_submit_rule():
    submit = req(endpoints.EXTRACT_FRAMES, asset_id="re_1")
    busy = Received(429, "application/json", b'{"code": 429, "msg": "slow"}', retry_after="3")
    with pytest.raises(MaviRateLimitError) as info:
        interpret(submit, busy)
    assert info.value.retry_after == 3.0
    with pytest.raises(MaviServerError, match="NOT resubmitted") as five:
        interpret(submit, Received(502, "text/html", b"<html>bad gateway</html>"))
    assert five.value.outcome_unknown
    assert five.value.__suppress_context__  # the answer's own error is not shown again
    with pytest.raises(MaviServerError, match="HTTP 502") as read:
        interpret(req(endpoints.METADATA, asset_id="re_1"), Received(502, None, b""))
    assert not read.value.outcome_unknown


def test_storage_refusal_is_mapped_without_the_url():
    storage = req(endpoints.SIGNED_UPLOAD_POST, signed_url="https://s.example/o?sig=SIGSECRET", source=1)
    with pytest.raises(MaviError, match="signed URL may have expired") as info:
        interpret(storage, Received(403, "application/xml", b"<Error>SIGSECRET</Error>"))
    assert "SIGSECRET" not in repr(info.value)


def test_a_download_answered_with_json_is_an_error():
    download = req(endpoints.DOWNLOAD, asset_id="re_1")
    with pytest.raises(MaviServerError, match="JSON instead of a file"):
        interpret(download, ok({"asset_id": "re_1"}))
    with pytest.raises(MaviNotFoundError):
        interpret(download, Received(400, "application/json", b'{"code": 400, "msg": "Asset not found"}'))
    served = b'{"code": 400, "msg": "Resource does not exist", "failed": true}'
    assert isinstance(error_in_file(download, 200, served), MaviNotFoundError)
    assert error_in_file(download, 200, b"{not json") is None


def test_a_key_echoed_back_is_scrubbed():
    echoed = Received(401, "application/json", json.dumps({"code": 401, "msg": f"bad key {KEY}"}).encode())
    with pytest.raises(MaviError) as info:
        interpret(req(endpoints.METADATA, asset_id="re_1"), echoed)
    assert KEY not in str(info.value) + repr(info.value)
    assert info.value.mavi_message == "bad key <API key>"
    submit = req(endpoints.EXTRACT_FRAMES, asset_id="re_1")
    echoed_5xx = Received(500, "application/json", json.dumps({"code": 500, "msg": f"k={KEY}"}).encode())
    with pytest.raises(MaviError) as five:
        interpret(submit, echoed_5xx)
    assert five.value.outcome_unknown
    assert KEY not in str(five.value) + str(five.value.__context__)  # the replaced error is scrubbed too


# ------------------------------------------------------------------------------------------- attempts


def test_delete_is_done_when_a_retry_finds_the_asset_gone():
    gone = Received(400, "application/json", b'{"code": 400, "msg": "Asset not found"}')
    attempts = Attempts(req(endpoints.DELETE, asset_id="re_1"))
    attempts.begin()
    with pytest.raises(MaviNotFoundError):
        attempts.answered(gone)  # nothing happened before: a plain "not found"
    attempts.begin()
    with pytest.raises(MaviServerError):
        attempts.answered(Received(502, None, b""))
    attempts.begin()
    assert attempts.answered(gone) is None
    assert attempts.settled_by_earlier


def test_a_read_is_not_done_by_not_found_after_a_lost_attempt():
    attempts = Attempts(req(endpoints.METADATA, asset_id="re_1"))
    attempts.begin()
    error = attempts.lost(TransportFailure.TIMEOUT, "ReadTimeout")
    assert "after 1 attempt" in str(error)
    attempts.begin()
    with pytest.raises(MaviNotFoundError):
        attempts.answered(Received(400, "application/json", b'{"code": 400, "msg": "Asset not found"}'))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
ENVELOPE_LIKE = st.fixed_dictionaries(
    {"code": st.one_of(st.integers(), st.text(max_size=6), st.none(), st.booleans())},
    optional={"msg": JSON, "message": JSON, "data": JSON, "success": JSON, "failed": JSON},
)


@given(status=st.integers(100, 599), body=st.one_of(JSON, ENVELOPE_LIKE))
def test_any_answer_maps_to_data_or_a_mavi_error(status, body):
    received = Received(status, "application/json", json.dumps(body).encode())
    for endpoint in (endpoints.METADATA, endpoints.DELETE):
        error = None
        try:
            interpret(req(endpoint, asset_id="re_1"), received)
        except MaviError as raised:  # anything but data must be a MaviError with a message
            error = raised
        if error is not None:
            assert isinstance(error.message, str)
            assert error.status in (status, None)


@given(raw=st.binary(max_size=300), content_type=st.sampled_from([None, "application/json", "video/mp4"]))
def test_any_bytes_are_interpreted_without_crashing(raw, content_type):
    for endpoint in (endpoints.METADATA, endpoints.DOWNLOAD):
        with contextlib.suppress(MaviError):
            interpret(req(endpoint, asset_id="re_1"), Received(200, content_type, raw))
    error_in_file(req(endpoints.DOWNLOAD, asset_id="re_1"), 200, raw)
