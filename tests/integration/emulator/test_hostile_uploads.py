"""Odd upload file names, hostile multipart bodies and failed signed-URL stores, against a real server.

Every answer is a 4xx in Mavi's envelope (plain text on the signed URL, a storage host) or a stored asset
whose name, download name and bytes are what was sent; never a 500. After every example, the assets
stored before are still there byte for byte, no ``.part`` file is left and no file lacks its asset.
"""

from __future__ import annotations

import json
import re
import socket
import time
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.emulator.samples import make_sample_video
from airflow_provider_mavi.emulator.testing import EmulatorServer

KEY = "sk-mavi-hostile-0123456789"
AUTH = {"Authorization": KEY}
LIMIT = {"code": 400, "msg": "Request has exceeded the limit.", "data": None}
MAX_UPLOAD = 20_000
BOUNDARY = "EmulatorTestBoundary7MA4YWxk"
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

# Name strategies, one per class of odd name. Multipart headers carry UTF-8, so no surrogates there.
_TEXT = st.characters(codec="utf-8", exclude_characters="\r\n")
_PLAIN = st.text(_TEXT, max_size=30)
BLANK = st.text(st.sampled_from(" \t\u3000"), max_size=4)
SEPARATED = st.builds(
    lambda parts, sep, tail: sep.join(parts) + tail,
    st.lists(st.sampled_from(["..", ".", "", "dir", "a b", "C:"]), min_size=1, max_size=5),
    st.sampled_from(["/", "\\"]),
    st.sampled_from(["", "/", "\\", "/clip.mp4", "\\clip.MOV", "/..", "/."]),
)
CONTROL = st.builds(
    lambda a, c, b: a + c + b + ".mp4",
    _PLAIN,
    st.characters(categories=["Cc"], exclude_characters="\r\n"),
    _PLAIN,
)
UNUSUAL = st.builds(lambda stem, ext: stem + ext, _PLAIN, st.sampled_from([".mp4", ".MP4", ".ñ", ".🎬", ""]))
LONG = st.builds(
    lambda unit, n, ext: unit * n + ext,
    st.sampled_from(["v", "é", "🎬", "中"]),
    st.integers(60, 300),
    st.sampled_from([".mp4", "", "." + "x" * 300]),
)
NO_EXTENSION = st.text(st.characters(codec="utf-8", exclude_characters="\r\n./\\"), min_size=1, max_size=30)
#: One strategy per class of odd name; each test runs every class with its own examples.
MULTIPART_CLASSES = {
    "blank": BLANK,
    "separators": SEPARATED,
    "control": CONTROL,
    "unusual": UNUSUAL,
    "long": LONG,
    "no_extension": NO_EXTENSION,
}
JSON_CLASSES = {
    **MULTIPART_CLASSES,
    "surrogate": st.builds(
        lambda a, s, b: a + s + b + ".mp4", _PLAIN, st.characters(categories=["Cs"]), _PLAIN
    ),
    "line_break": st.builds(lambda a, b: a + b + ".mp4", _PLAIN, st.sampled_from(["\r", "\n", "\r\n"])),
}
PER_CLASS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def expected(name: str) -> tuple[str, str] | str:
    """The documented rule (README, the emulator): ``blank``, ``refused`` or ``(stem, extension)``."""
    if not name.strip():
        return "blank"
    base = re.split(r"[/\\]", name)[-1]
    if (
        any(unicodedata.category(c) in ("Cc", "Cs") for c in base)
        or len(base.encode("utf-8", "surrogatepass")) > 255
    ):
        return "refused"
    stem, dot, ext = base.rpartition(".")
    kept = (stem, ext.lower()) if dot and stem else (base, "")
    label = f"{kept[0]}.{kept[1]}" if kept[1] else kept[0]
    if not label.strip():
        return "blank"
    return "refused" if label in (".", "..") else kept


def multipart(name: str, content: bytes, field: str = "file") -> bytes:
    """One multipart part with the name's UTF-8 bytes as the filename (quoted-string escapes only)."""
    quoted = name.replace("\\", "\\\\").replace('"', '\\"').encode("utf-8")
    return (
        f"--{BOUNDARY}\r\n".encode()
        + f'Content-Disposition: form-data; name="{field}"; filename="'.encode()
        + quoted
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


MULTIPART_TYPE = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


class Account:
    """A real emulator with a few assets stored before any hostile input, and checks that they survive."""

    def __init__(self, server: EmulatorServer, videos: list[Path]) -> None:
        self.server = server
        self.videos = [v.read_bytes() for v in videos]
        self.client = httpx.Client(base_url=server.base_url, headers=AUTH, timeout=30)
        self.kept: dict[str, tuple[bytes, dict[str, Any]]] = {}
        for index, content in enumerate(self.videos):
            asset_id = self.upload_ok(f"kept-{index}.mp4", content)
            self.kept[asset_id] = (content, self.wait_ready(asset_id))

    def upload_ok(self, name: str, content: bytes) -> str:
        answer = self.client.post("/upload", content=multipart(name, content), headers=MULTIPART_TYPE)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["data"]["asset_id"])

    def wait_ready(self, asset_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while True:
            entry: dict[str, Any] = self.client.get(f"/{asset_id}/metadata").json()["data"]["resource"][0]
            if entry["upload_status"] in ("SUCCESS", "FAILED") or time.monotonic() > deadline:
                assert entry["upload_status"] == "SUCCESS", entry
                return entry
            time.sleep(0.01)

    def download(self, asset_id: str) -> tuple[bytes, str]:
        answer = self.client.get(f"/{asset_id}/download")
        assert answer.status_code == 200, answer.text
        disposition = answer.headers["content-disposition"]
        star = re.search(r"filename\*=utf-8''(.+)$", disposition)
        plain = re.search(r'filename="(.*)"$', disposition)
        name = unquote(star.group(1)) if star else plain.group(1) if plain else ""
        return answer.content, name

    def check_intact(self) -> None:
        """Nothing stored before was lost or changed; no partial file; every stored file has its asset."""
        for asset_id, (content, entry) in self.kept.items():
            assert self.client.get(f"/{asset_id}/metadata").json()["data"]["resource"][0] == entry
            assert self.download(asset_id)[0] == content
        uploads = self.server.settings.data_dir / "uploads"
        files = sorted(p.name for p in uploads.iterdir())
        assert not [f for f in files if f.endswith(".part")], files
        assets = self.server.app.emulator.store
        for file in files:
            assert re.fullmatch(r"re_\d{18}(\.[a-z0-9]{1,16})?", file), file
            assert assets.get(file.split(".")[0]) is not None, file


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("hostile")
    videos = [
        make_sample_video(root / "a.mp4", seconds=1, width=64, height=48, fps=5, audio=False),
        make_sample_video(root / "b.mp4", seconds=1.4, width=80, height=48, fps=5, audio=False),
    ]
    settings_ = {"qps": 1e6, "data_dir": root / "data", "max_upload_bytes": MAX_UPLOAD, "seed": 15}
    with EmulatorServer(api_key=KEY, **settings_) as server:
        state = Account(server, videos)
        yield state
        state.client.close()


def assert_refusal(answer: httpx.Response, rule: str, field: str) -> None:
    assert answer.status_code == 400, answer.text
    if rule == "blank":
        assert answer.json() == {"code": 400, "msg": f"{field} cannot be null or empty", "data": None}
    else:
        assert answer.json() == LIMIT


@pytest.mark.parametrize("kind", MULTIPART_CLASSES)
@PER_CLASS
@given(data=st.data())
def test_multipart_names_are_refused_or_kept_exactly(account, kind, data):
    name = data.draw(MULTIPART_CLASSES[kind], label="name")
    rule = expected(name)
    content = account.videos[0]
    answer = account.client.post("/upload", content=multipart(name, content), headers=MULTIPART_TYPE)
    if isinstance(rule, str):
        assert_refusal(answer, rule, "file")
    else:
        assert answer.status_code == 200, answer.text
        asset_id = answer.json()["data"]["asset_id"]
        entry = account.wait_ready(asset_id)
        assert (entry["original_filename"], entry["extension"]) == rule
        assert account.download(asset_id) == (content, f"{rule[0]}.{rule[1]}" if rule[1] else rule[0])
    account.check_intact()


@pytest.mark.parametrize("kind", JSON_CLASSES)
@PER_CLASS
@given(data=st.data())
def test_signed_url_names_are_refused_or_kept_exactly(account, kind, data):
    name = data.draw(JSON_CLASSES[kind], label="name")
    rule = expected(name)
    body = json.dumps({"original_filename": name})  # ASCII escapes: lone surrogates travel too
    answer = account.client.post(
        "/upload/signed-url", content=body, headers={"Content-Type": "application/json"}
    )
    if isinstance(rule, str) or not rule[1]:
        assert_refusal(answer, rule if isinstance(rule, str) else "refused", "original_filename")
    else:
        data = answer.json()["data"]
        content = account.videos[1]
        assert httpx.put(data["signed_url"], content=content).status_code == 200
        assert httpx.put(data["signed_url"], content=b"again").status_code == 403
        entry = account.wait_ready(data["asset_id"])
        assert (entry["original_filename"], entry["extension"]) == rule
        assert account.download(data["asset_id"]) == (content, f"{rule[0]}.{rule[1]}")
    account.check_intact()


@settings(FUZZ, max_examples=15)
@given(name=UNUSUAL, copies=st.integers(2, 4))
def test_colliding_names_are_separate_assets(account, name, copies):
    rule = expected(name)
    contents = [account.videos[i % 2] for i in range(copies)]
    answers = [
        account.client.post("/upload", content=multipart(name, c), headers=MULTIPART_TYPE) for c in contents
    ]
    if isinstance(rule, str):
        assert all(a.status_code == 400 for a in answers)
        return
    ids = [a.json()["data"]["asset_id"] for a in answers]
    assert len(set(ids)) == copies
    for asset_id, content in zip(ids, contents):
        account.wait_ready(asset_id)
        assert account.download(asset_id)[0] == content
    account.check_intact()


def _valid_part(content: bytes) -> bytes:
    return multipart("clip.mp4", content)


MALFORMED = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda cut: _valid_part(b"0123456789" * 5)[:cut], st.integers(0, 150)),
    st.builds(
        lambda junk: f"--{BOUNDARY}\r\n".encode() + junk + f"\r\n--{BOUNDARY}--\r\n".encode(),
        st.binary(max_size=120),
    ),
    st.builds(
        lambda name: multipart(name, b"abc"),
        st.text(st.sampled_from('\r\n"\\;=\x00ab'), min_size=1, max_size=12),
    ),
    st.just(
        b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data\r\n\r\nx\r\n--" + BOUNDARY.encode()
    ),
)
CONTENT_TYPES = st.sampled_from(
    [
        f"multipart/form-data; boundary={BOUNDARY}",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=other",
        'multipart/form-data; boundary="unterminated',
        "application/x-www-form-urlencoded",
        "text/plain",
    ]
)


def assert_envelope_4xx(answer: httpx.Response) -> None:
    assert 400 <= answer.status_code < 500, answer.text
    body = answer.json()
    assert body["code"] == answer.status_code
    assert isinstance(body["msg"], str)
    assert body["msg"]
    assert body["data"] is None


@FUZZ
@given(body=MALFORMED, content_type=CONTENT_TYPES)
def test_malformed_multipart_gets_the_envelope(account, body, content_type):
    answer = account.client.post("/upload", content=body, headers={"Content-Type": content_type})
    if answer.status_code == 200:  # the parser found a file part after all: it must be really stored
        asset_id = answer.json()["data"]["asset_id"]
        assert account.client.get(f"/{asset_id}/metadata").status_code == 200
    else:
        assert_envelope_4xx(answer)
        assert "detail" not in answer.json()
    account.check_intact()


def _disconnect_midway(url: str) -> None:
    """Send half of a declared body, then close the connection."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(
            f"PUT {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: 5000\r\n\r\n".encode()
            + b"x" * 100
        )


FAILED_STORES = st.lists(
    st.sampled_from(
        ["too_large", "too_large_chunked", "no_file_field", "malformed", "disconnect", "wrong_token"]
    ),
    max_size=4,
)


@settings(FUZZ, max_examples=25)
@given(failures=FAILED_STORES, method=st.sampled_from(["POST", "PUT"]))
def test_signed_url_is_spent_only_when_the_file_is_stored(account, failures, method):
    data = account.client.post("/upload/signed-url", json={"original_filename": "big.mp4"}).json()["data"]
    url, token = data["signed_url"], data["signed_url"].rsplit("/", 1)[1]
    grants = account.server.app.emulator.signed_uploads
    for failure in failures:
        if failure == "too_large":
            answer = httpx.put(url, content=b"x" * (MAX_UPLOAD + 1))
            assert (answer.status_code, answer.text) == (
                413,
                f"Request body too large: the limit is {MAX_UPLOAD} bytes",
            )
        elif failure == "too_large_chunked":
            answer = httpx.put(url, content=iter([b"x" * 4096] * (MAX_UPLOAD // 4096 + 1)))
            assert answer.status_code == 413
        elif failure == "no_file_field":
            assert httpx.post(url, files={"other": ("a.mp4", b"abc")}).status_code == 400
        elif failure == "malformed":
            answer = httpx.post(url, content=b"garbage", headers={"Content-Type": "multipart/form-data"})
            assert answer.status_code == 400
            assert answer.text.startswith("malformed multipart body")
        elif failure == "disconnect":
            _disconnect_midway(url)
            deadline = time.monotonic() + 10
            while token not in grants and time.monotonic() < deadline:
                time.sleep(0.01)  # the server notices the closed connection, then gives the grant back
        else:
            assert httpx.put(url + "x", content=b"abc").status_code == 403
        assert token in grants, f"{failure} spent the URL"
        assert (
            account.client.get(f"/{data['asset_id']}/metadata").json()["data"]["resource"][0]["upload_status"]
            == "WAITING"
        )
    content = account.videos[0]
    if method == "PUT":
        stored = httpx.put(url, content=content)
    else:
        stored = httpx.post(url, files={"file": ("big.mp4", content)})
    assert stored.status_code == 200
    assert httpx.put(url, content=b"late").status_code == 403
    account.wait_ready(data["asset_id"])
    assert account.download(data["asset_id"]) == (content, "big.mp4")
    account.check_intact()


def test_upload_over_the_cap_is_413_and_stores_nothing(account):
    before = set(account.server.app.emulator.store._assets)
    big = multipart("big.mp4", b"x" * MAX_UPLOAD)
    declared = account.client.post("/upload", content=big, headers=MULTIPART_TYPE)
    chunked = account.client.post(
        "/upload", content=iter([big[:10_000], big[10_000:]]), headers=MULTIPART_TYPE
    )
    for answer in (declared, chunked):
        assert answer.status_code == 413
        assert answer.json() == {
            "code": 413,
            "msg": f"Request body too large: the limit is {MAX_UPLOAD} bytes",
            "data": None,
            "success": False,
            "failed": True,
        }
    assert set(account.server.app.emulator.store._assets) == before
    account.check_intact()
