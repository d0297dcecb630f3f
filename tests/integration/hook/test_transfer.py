"""Uploads and downloads over loopback: multipart and signed-URL uploads, download targets, safe names,
JSON answers that must not become files, progress logs."""

from __future__ import annotations

import email
import logging
import os
import traceback
from pathlib import Path

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.exceptions import (
    MaviBadRequestError,
    MaviConnectionError,
    MaviInsufficientBalanceError,
    MaviNotFoundError,
    MaviServerError,
)
from airflow_provider_mavi.hooks import transfer
from airflow_provider_mavi.hooks.mavi import MaviHook

from .conftest import API_KEY, Reply, err, ok

ASSET = "re_660736410386149376"
SIGNATURE = "X-Goog-Signature=SIGSECRET0123456789abcdef"


def parse_multipart(content_type: str, body: bytes) -> list[email.message.Message]:
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    assert message.is_multipart()
    return list(message.get_payload())  # type: ignore[arg-type]


def test_multipart_upload_of_a_local_file(hook, mavi_conn, tmp_path):
    data = os.urandom(200_000)
    source = tmp_path / "my clip.mp4"
    source.write_bytes(data)
    mavi_conn.route("POST", "/upload", ok({"asset_id": ASSET}))
    assert hook.upload_file(source) == ASSET
    (seen,) = mavi_conn.seen("POST", "/upload")
    assert seen.headers["Authorization"] == API_KEY
    assert int(seen.headers["Content-Length"]) == seen.body_size  # not chunked
    (part,) = parse_multipart(seen.headers["Content-Type"], seen.body)
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "my clip.mp4"
    assert part.get_content_type() == "video/mp4"
    assert part.get_payload(decode=True) == data


def test_upload_from_object_storage_path(hook, mavi_conn, tmp_path):
    data = os.urandom(50_000)
    (tmp_path / "remote.mov").write_bytes(data)
    mavi_conn.route("POST", "/upload", ok({"asset_id": ASSET}))
    assert hook.upload_file(ObjectStoragePath(f"file://{tmp_path}/remote.mov")) == ASSET
    (part,) = parse_multipart(mavi_conn.seen()[0].headers["Content-Type"], mavi_conn.seen()[0].body)
    assert part.get_filename() == "remote.mov"
    assert part.get_payload(decode=True) == data


def test_upload_of_a_name_with_quotes_and_newlines_is_escaped(hook, mavi_conn, tmp_path):
    source = tmp_path / 'a"b\nc.mp4'
    source.write_bytes(b"x" * 10)
    mavi_conn.route("POST", "/upload", ok({"asset_id": ASSET}))
    hook.upload_file(source)
    (part,) = parse_multipart(mavi_conn.seen()[0].headers["Content-Type"], mavi_conn.seen()[0].body)
    assert part.get_filename() == "a%22b%0Ac.mp4"
    assert part.get_payload(decode=True) == b"x" * 10


def test_upload_of_a_missing_file_sends_nothing(hook, mavi_conn, tmp_path):
    with pytest.raises(FileNotFoundError, match="not a file"):
        hook.upload_file(tmp_path / "nope.mp4")
    with pytest.raises(FileNotFoundError):
        hook.upload_file(tmp_path)  # a directory
    assert mavi_conn.seen() == []


def test_upload_rejects_an_unknown_method(hook, tmp_path):
    with pytest.raises(ValueError, match="method must be"):
        hook.upload_file(tmp_path / "x", method="ftp")  # type: ignore[arg-type]


def _route_signed(mavi_conn, *storage_replies: Reply) -> str:
    signed = f"{mavi_conn.origin}/storage/bucket/{ASSET}.mp4?X-Goog-Algorithm=GOOG4&{SIGNATURE}"
    mavi_conn.route(
        "POST", "/upload/signed-url", ok({"asset_id": ASSET, "signed_url": signed, "expires_in": 93600})
    )
    mavi_conn.route("POST", f"//storage/bucket/{ASSET}.mp4", *storage_replies)
    return signed


def test_signed_url_upload_is_chosen_above_the_threshold(mavi_conn, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    data = os.urandom(5000)
    source = tmp_path / "big.mp4"
    source.write_bytes(data)
    _route_signed(mavi_conn, Reply(200, body=b""))
    hook = MaviHook(signed_upload_threshold=1000)
    assert hook.upload_file(source) == ASSET
    ask, put = mavi_conn.seen()
    assert ask.path.endswith("/upload/signed-url")
    assert ask.headers["Authorization"] == API_KEY
    assert ask.body == b'{"original_filename": "big.mp4"}'
    assert put.path == f"/storage/bucket/{ASSET}.mp4"
    assert "Authorization" not in put.headers  # never send the key to the storage service
    (part,) = parse_multipart(put.headers["Content-Type"], put.body)
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_payload(decode=True) == data
    assert "SIGSECRET" not in caplog.text


def test_small_files_use_multipart_and_method_can_be_forced(mavi_conn, tmp_path):
    source = tmp_path / "small.mp4"
    source.write_bytes(b"y" * 100)
    _route_signed(mavi_conn, Reply(204))
    mavi_conn.route("POST", "/upload", ok({"asset_id": "re_2"}))
    hook = MaviHook(signed_upload_threshold=1000)
    assert hook.upload_file(source) == "re_2"
    assert hook.upload_file(source, method="signed_url") == ASSET
    assert [s.path.rsplit("/", 1)[-1] for s in mavi_conn.seen()] == ["upload", "signed-url", f"{ASSET}.mp4"]


def test_refused_signed_upload_never_shows_the_url(mavi_conn, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    source = tmp_path / "big.mp4"
    source.write_bytes(b"z" * 3000)
    _route_signed(mavi_conn, Reply(403, body=b"<Error>SignatureDoesNotMatch</Error>"))
    with pytest.raises(MaviBadRequestError, match="signed URL may have expired") as info:
        MaviHook(signed_upload_threshold=1000).upload_file(source)
    text = "".join(traceback.format_exception(info.value)) + repr(info.value) + caplog.text
    text += "".join(capsys.readouterr())
    assert "SIGSECRET" not in text
    assert API_KEY not in text


def test_signed_upload_retries_a_storage_5xx(mavi_conn, tmp_path):
    source = tmp_path / "big.mp4"
    source.write_bytes(b"q" * 3000)
    _route_signed(mavi_conn, Reply(503, body=b""), Reply(200, body=b""))
    from airflow_provider_mavi.retry import RetryPolicy

    hook = MaviHook(signed_upload_threshold=1000, retry_policy=RetryPolicy(base_delay=0.01, max_delay=0.02))
    assert hook.upload_file(source) == ASSET
    puts = mavi_conn.seen("POST", f"//storage/bucket/{ASSET}.mp4")
    assert len(puts) == 2
    payloads = [parse_multipart(p.headers["Content-Type"], p.body)[0].get_payload(decode=True) for p in puts]
    assert payloads == [b"q" * 3000, b"q" * 3000]  # the body is made afresh for the retry


# ---------------------------------------------------------------------------------------- downloads


def _file_reply(
    data: bytes, name: str | None = "clip.mp4", content_type: str = "video/mp4", **headers: str
) -> Reply:
    extra = {"Content-Type": content_type, **headers}
    if name is not None:
        extra["Content-Disposition"] = f'attachment; filename="{name}"'
    return Reply(200, body=data, headers=extra)


def test_download_into_an_existing_directory_uses_the_served_name(hook, mavi_conn, tmp_path):
    data = os.urandom(300_000)
    mavi_conn.route("GET", f"/{ASSET}/download", _file_reply(data))
    written = hook.download_asset(ASSET, tmp_path)
    assert written == str(tmp_path / "clip.mp4")
    assert Path(written).read_bytes() == data
    assert os.listdir(tmp_path) == ["clip.mp4"]  # no temporary file left


def test_download_to_a_path_ending_in_slash_creates_the_directory(hook, mavi_conn, tmp_path):
    mavi_conn.route(
        "GET", f"/{ASSET}/download", _file_reply(b"abc", name="frames.zip", content_type="application/zip")
    )
    written = hook.download_asset(ASSET, f"{tmp_path}/new/dir/")
    assert written == f"{tmp_path}/new/dir/frames.zip"
    assert Path(written).read_bytes() == b"abc"


def test_download_to_a_file_path_ignores_the_served_name(hook, mavi_conn, tmp_path):
    mavi_conn.route("GET", f"/{ASSET}/download", _file_reply(b"data", name="other.mp4"))
    target = tmp_path / "sub" / "mine.bin"
    assert hook.download_asset(ASSET, target) == str(target)
    assert target.read_bytes() == b"data"


def test_download_replaces_an_existing_file_only_when_complete(hook, mavi_conn, tmp_path):
    target = tmp_path / "keep.mp4"
    target.write_bytes(b"old")
    mavi_conn.route("GET", f"/{ASSET}/download", _file_reply(b"new"))
    hook.download_asset(ASSET, target)
    assert target.read_bytes() == b"new"


def test_download_to_object_storage(hook, mavi_conn, tmp_path):
    mavi_conn.route("GET", f"/{ASSET}/download", _file_reply(b"objdata"))
    (tmp_path / "bucket").mkdir()
    written = hook.download_asset(ASSET, ObjectStoragePath(f"file://{tmp_path}/bucket"))
    assert isinstance(written, ObjectStoragePath)
    assert written.name == "clip.mp4"
    assert (tmp_path / "bucket" / "clip.mp4").read_bytes() == b"objdata"
    as_file = hook.download_asset(ASSET, f"file://{tmp_path}/bucket/named.mp4")
    assert isinstance(as_file, ObjectStoragePath)
    assert sorted(os.listdir(tmp_path / "bucket")) == ["clip.mp4", "named.mp4"]


UNSAFE = [
    ('attachment; filename="../../etc/passwd"', "passwd"),
    ('attachment; filename="/abs/path/video.mp4"', "video.mp4"),
    ('attachment; filename="..\\\\..\\\\win.mp4"', "win.mp4"),
    ('attachment; filename=".."', f"{ASSET}.mp4"),
    ('attachment; filename="."', f"{ASSET}.mp4"),
    ('attachment; filename=""', f"{ASSET}.mp4"),
    ("attachment", f"{ASSET}.mp4"),
    ('attachment; filename=".hidden.mp4"', "hidden.mp4"),
    ('attachment; filename="a\x1b[31mred\x07.mp4"', "a[31mred.mp4"),
    ("attachment; filename*=UTF-8''%2E%2E%2F%2E%2E%2Fevil.mp4", "evil.mp4"),
    ("attachment; filename*=UTF-8''caf%C3%A9%00.mp4", "café.mp4"),
    ('attachment; filename="nul"', f"{ASSET}.mp4"),
    ('attachment; filename="' + "x" * 400 + '.mp4"', "x" * 196 + ".mp4"),
]


@pytest.mark.parametrize(("header", "expected"), UNSAFE)
def test_unsafe_content_disposition_names(hook, mavi_conn, tmp_path, header, expected):
    reply = Reply(200, body=b"v", headers={"Content-Type": "video/mp4", "Content-Disposition": header})
    mavi_conn.route("GET", f"/{ASSET}/download", reply)
    out = tmp_path / "out"
    out.mkdir()
    written = Path(hook.download_asset(ASSET, out))
    assert written.parent == out
    assert written.name == expected
    assert os.listdir(out) == [expected]
    assert os.listdir(tmp_path) == ["out"]  # nothing escaped the directory


def test_json_body_with_200_is_an_error_and_leaves_no_file(hook, mavi_conn, tmp_path):
    reply = Reply(200, {"code": 200, "msg": "success", "data": {"asset_id": ASSET}, "success": True})
    mavi_conn.route("GET", f"/{ASSET}/download", reply)
    with pytest.raises(MaviServerError, match="JSON instead of a file"):
        hook.download_asset(ASSET, tmp_path)
    assert os.listdir(tmp_path) == []


def test_json_error_envelope_with_200_is_mapped(hook, mavi_conn, tmp_path):
    body = {"code": 400, "msg": "Asset not found", "success": False, "failed": True}
    mavi_conn.route("GET", f"/{ASSET}/download", Reply(200, body))
    with pytest.raises(MaviNotFoundError):
        hook.download_asset(ASSET, tmp_path / "x.mp4")
    assert os.listdir(tmp_path) == []


def test_balance_message_on_download(hook, mavi_conn, tmp_path):
    msg = "Insufficient balance to download the resource. Please recharge and try again."
    mavi_conn.route("GET", f"/{ASSET}/download", err(400, msg, success=False, failed=True))
    with pytest.raises(MaviInsufficientBalanceError, match="Top up"):
        hook.download_asset(ASSET, tmp_path)
    assert os.listdir(tmp_path) == []


def test_error_envelope_served_as_octet_stream_is_detected(hook, mavi_conn, tmp_path):
    body = b'{"code": 400, "msg": "Resource does not exist", "success": false, "failed": true}'
    mavi_conn.route(
        "GET",
        f"/{ASSET}/download",
        Reply(200, body=body, headers={"Content-Type": "application/octet-stream"}),
    )
    with pytest.raises(MaviNotFoundError):
        hook.download_asset(ASSET, tmp_path)
    assert os.listdir(tmp_path) == []


def test_a_small_file_starting_with_a_brace_is_still_a_file(hook, mavi_conn, tmp_path):
    mavi_conn.route(
        "GET", f"/{ASSET}/download", _file_reply(b"{not json at all", content_type="application/octet-stream")
    )
    assert Path(hook.download_asset(ASSET, tmp_path)).read_bytes() == b"{not json at all"


def test_truncated_download_leaves_nothing_and_keeps_the_old_file(hook, mavi_conn, tmp_path):
    target = tmp_path / "keep.mp4"
    target.write_bytes(b"old")

    def short():
        yield b"a" * 1000

    reply = Reply(
        200,
        chunks=short,
        headers={"Content-Type": "video/mp4", "Content-Length": "5000", "Connection": "close"},
    )
    mavi_conn.route("GET", f"/{ASSET}/download", reply)
    with pytest.raises(MaviConnectionError, match="nothing was kept"):
        hook.download_asset(ASSET, target)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["keep.mp4"]


def test_download_without_content_length(hook, mavi_conn, tmp_path):
    def chunks():
        for _ in range(5):
            yield b"b" * 100_000

    headers = {"Content-Type": "video/mp4", "Content-Disposition": 'attachment; filename="s.mp4"'}
    mavi_conn.route("GET", f"/{ASSET}/download", Reply(200, chunks=chunks, headers=headers))
    assert Path(hook.download_asset(ASSET, tmp_path)).stat().st_size == 500_000


def test_download_logs_progress(hook, mavi_conn, tmp_path, caplog, capsys, monkeypatch):
    monkeypatch.setattr(transfer, "PROGRESS_EVERY_SECONDS", 0.0)
    caplog.set_level(logging.INFO)
    mavi_conn.route("GET", f"/{ASSET}/download", _file_reply(b"p" * 3_000_000))
    hook.download_asset(ASSET, tmp_path)
    output = caplog.text + capsys.readouterr().out  # Airflow's structlog may print instead of propagating
    lines = [line for line in output.splitlines() if f"Downloading {ASSET}:" in line]
    assert len(lines) >= 3
    assert "of 2.9 MiB" in lines[-1]


def test_signed_upload_by_raw_put(mavi_conn, tmp_path):
    data = os.urandom(4000)
    source = tmp_path / "big.mov"
    source.write_bytes(data)
    signed = f"{mavi_conn.origin}/storage/bucket/{ASSET}.mp4?{SIGNATURE}"
    mavi_conn.route("POST", "/upload/signed-url", ok({"asset_id": ASSET, "signed_url": signed}))
    mavi_conn.route("PUT", f"//storage/bucket/{ASSET}.mp4", Reply(200))
    hook = MaviHook(signed_upload_threshold=1000, signed_upload_method="PUT")
    assert hook.upload_file(source) == ASSET
    put = mavi_conn.seen("PUT", f"//storage/bucket/{ASSET}.mp4")[0]
    assert put.body == data
    assert put.headers["Content-Type"] == "video/quicktime"
    assert "Authorization" not in put.headers


def test_signed_upload_method_is_checked():
    with pytest.raises(ValueError, match="signed_upload_method"):
        MaviHook(signed_upload_method="PATCH")  # type: ignore[arg-type]


def test_a_file_that_changes_size_during_upload_is_reported_as_such(hook, mavi_conn, tmp_path, monkeypatch):
    from airflow_provider_mavi.hooks import mavi as hook_module
    from airflow_provider_mavi.hooks.transfer import SourceChangedError, UploadSource

    source = tmp_path / "a.mp4"
    source.write_bytes(b"x" * 100)
    shrunk = UploadSource("a.mp4", 5_000_000, lambda: source.open("rb"))  # it was bigger when measured
    monkeypatch.setattr(hook_module, "upload_source", lambda _: shrunk)
    mavi_conn.route("POST", "/upload", ok({"asset_id": ASSET}))
    with pytest.raises(SourceChangedError, match="shrank while it was being uploaded"):
        hook.upload_file(source)
    for seen in mavi_conn.seen("POST", "/upload"):  # the server got no complete request
        assert seen.body_size < int(seen.headers["Content-Length"])


def test_a_compressed_answer_is_decoded_and_not_length_checked(hook, mavi_conn, tmp_path):
    import gzip

    data = b"frame" * 10_000
    body = gzip.compress(data)
    headers = {
        "Content-Type": "video/mp4",
        "Content-Encoding": "gzip",
        "Content-Disposition": 'attachment; filename="z.mp4"',
    }
    mavi_conn.route("GET", f"/{ASSET}/download", Reply(200, body=body, headers=headers))
    assert Path(hook.download_asset(ASSET, tmp_path)).read_bytes() == data
    assert mavi_conn.seen()[0].headers["Accept-Encoding"] == "identity"


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gs://bucket/o?sig=SIGSECRET", "/relative?sig=SIGSECRET"]
)
def test_a_signed_url_that_is_not_http_is_refused(mavi_conn, tmp_path, url):
    source = tmp_path / "big.mp4"
    source.write_bytes(b"s" * 2000)
    mavi_conn.route("POST", "/upload/signed-url", ok({"asset_id": ASSET, "signed_url": url}))
    with pytest.raises(MaviServerError, match="not an http") as info:
        MaviHook(signed_upload_threshold=1000).upload_file(source)
    assert "SIGSECRET" not in repr(info.value)
    assert len(mavi_conn.seen()) == 1
