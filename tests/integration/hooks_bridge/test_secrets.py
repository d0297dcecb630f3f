"""The bridge token never leaks through an answer: a loopback proxy that echoes the request's headers."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_mavi.exceptions import MaviBridgeError
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.retry import RetryPolicy

TOKEN = "sEcReT-bridge-token-0123456789abcdef"
ONCE = RetryPolicy(max_attempts=1)


class EchoProxy(BaseHTTPRequestHandler):
    """Answers with the status of the first path segment ``/s<status>/...`` and a body that echoes the
    request's headers: as JSON (``detail`` and ``headers``), or as plain text for ``/t<status>``."""

    def _answer(self) -> None:
        first = self.path.split("/")[1]
        status = int(first[1:])
        headers = dict(self.headers.items())
        if first.startswith("t"):
            body = ("\n".join(f"{k}: {v}" for k, v in headers.items())).encode()
            content_type = "text/plain"
        else:
            echoed = (
                f"upstream refused {self.command} {self.path} with Authorization: {headers['Authorization']}"
            )
            body = json.dumps({"detail": echoed, "headers": headers}).encode()
            content_type = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def proxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "prefix", ["s400", "s403", "s404", "s409", "s500", "s502", "s503", "t400", "t502", "t200"]
)
def test_an_echoing_proxy_never_puts_the_token_in_an_error(
    proxy: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = MaviBridgeHook.from_url(f"{proxy}/{prefix}", TOKEN, retry_policy=ONCE)
    errors: list[BaseException] = []
    for call in (
        lambda: hook.get_callback("job-1"),
        lambda: hook.put_job("job-1", kind="extract_frames", asset_id="re_1", key="k"),
        lambda: hook.find_job("k"),
        lambda: hook.wait_many(["job-1"], 0),
        lambda: hook.list_callbacks(),
    ):
        with pytest.raises(MaviBridgeError) as caught:
            call()
        errors.append(caught.value)
    event = hook.wait_for_job("job-1", time.time() + 0.5)
    shown = " ".join(f"{e!s} {e!r} {e.args!r}" for e in errors) + json.dumps(event.to_json()) + repr(hook)
    assert TOKEN not in shown
    assert TOKEN not in caplog.text
    if prefix.startswith("s"):
        assert "Bearer ***" in shown  # the bridge's own detail is shown, scrubbed
    elif prefix == "t200":
        assert "not JSON" in shown
    else:
        assert "not shown" in shown  # anything else is only described


def test_the_async_side_scrubs_too(proxy: str) -> None:
    async def scenario() -> str:
        hook = MaviBridgeHook.from_url(f"{proxy}/s502", TOKEN, retry_policy=ONCE)
        with pytest.raises(MaviBridgeError) as caught:
            await hook.aget_callback("job-1")
        event = await hook.await_for_job("job-1", time.time() + 0.5)
        await hook.aclose()
        return f"{caught.value!s} {caught.value!r} {json.dumps(event.to_json())}"

    shown = asyncio.run(scenario())
    assert TOKEN not in shown
    assert "502" in shown
