"""Test helpers: run the emulator on a free loopback port, and receive its callbacks.

Usable from any test suite (no pytest needed)::

    with CallbackReceiver() as hooks, EmulatorServer(webhook_url=hooks.url) as mavi:
        ...  # point your code at mavi.base_url with key mavi.api_key
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn

from airflow_provider_mavi.emulator.app import create_app
from airflow_provider_mavi.emulator.settings import EmulatorSettings

HOST = "127.0.0.1"


class EmulatorServer:
    """The emulator served by uvicorn in a background thread on a free loopback port.

    :param api_key: the account's key.
    :param webhook_url: the account's webhook, if any.
    :param settings: any other :class:`EmulatorSettings` field (``qps``, ``seed``, ``faults``, ...).
    """

    def __init__(self, api_key: str = "sk-test", webhook_url: str | None = None, **settings: Any) -> None:
        """Build the app (nothing listens until :meth:`start`)."""
        self.settings = EmulatorSettings(api_key=api_key, webhook_url=webhook_url, **settings)
        self.api_key = api_key
        self.app = create_app(self.settings)
        config = uvicorn.Config(
            self.app,
            host=HOST,
            port=0,
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.port = 0

    def __repr__(self) -> str:
        """Show where it listens, never the key."""
        return f"EmulatorServer(base_url={self.base_url!r})"

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL, ending in ``/serve/api/v2``."""
        return f"{self.root_url}/serve/api/v2"

    @property
    def admin_url(self) -> str:
        """The admin base URL, ending in ``/_emulator``."""
        return f"{self.root_url}/_emulator"

    def start(self, timeout: float = 20) -> EmulatorServer:
        """Start serving and wait until the socket listens.

        :param timeout: seconds to wait.
        :raises RuntimeError: when it does not start in time.
        """
        self._thread = threading.Thread(target=self._server.run, name="mavi-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving and wait for background work to end."""
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
            self._thread = None

    def __enter__(self) -> EmulatorServer:
        """Start."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call an admin endpoint and return its JSON.

        :param method: HTTP method.
        :param path: path under ``/_emulator``.
        :param body: JSON body.
        """
        answer = httpx.request(
            method, self.admin_url + path, json=body, headers={"Authorization": self.api_key}, timeout=10
        )
        answer.raise_for_status()
        return answer.json()

    def set_webhook(self, url: str | None) -> None:
        """Set or clear the account's webhook.

        :param url: the URL, or ``None``.
        """
        self._admin("PUT", "/webhook", {"url": url})

    def set_faults(self, faults: dict[str, Any]) -> dict[str, Any]:
        """Replace the fault rules.

        :param faults: the configuration (see :mod:`airflow_provider_mavi.emulator.faults`).
        """
        result: dict[str, Any] = self._admin("PUT", "/faults", faults)
        return result

    def stats(self) -> dict[str, Any]:
        """Return the account's stats."""
        result: dict[str, Any] = self._admin("GET", "/stats")
        return result


class CallbackReceiver:
    """A small webhook on a free loopback port that records every POST it gets.

    :param statuses: statuses to answer in turn (the last one repeats); ``[200]`` by default.
    :param delay: seconds to wait before answering (a slow webhook).
    """

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        """Prepare; nothing listens until :meth:`start`."""
        self.statuses = list(statuses or [200])
        self.delay = delay
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with receiver._cond:
                    status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                    try:
                        receiver.received.append(json.loads(raw))
                    except ValueError:
                        receiver.received.append({"_raw": raw.decode(errors="replace")})
                    receiver.headers.append(dict(self.headers.items()))
                    receiver._cond.notify_all()
                time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The webhook URL."""
        return f"http://{HOST}:{self._server.server_address[1]}/hook"

    def start(self) -> CallbackReceiver:
        """Start serving."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (safe to call when it never started)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> CallbackReceiver:
        """Start."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()

    def for_job(self, job_id: str) -> list[dict[str, Any]]:
        """Return every body received for a job, in arrival order.

        :param job_id: the ``task_id``.
        """
        with self._cond:
            return [body for body in self.received if body.get("task_id") == job_id]

    def wait_for(self, job_id: str, timeout: float = 30, count: int = 1) -> dict[str, Any]:
        """Wait until ``count`` bodies for a job have arrived and return the first.

        :param job_id: the ``task_id``.
        :param timeout: seconds to wait.
        :param count: how many deliveries to wait for.
        :raises TimeoutError: when they do not arrive in time.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [body for body in self.received if body.get("task_id") == job_id]
                if len(found) >= count:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(found)} of {count} callback(s) for job {job_id} arrived")
                self._cond.wait(left)
