"""What every driver of the native stack shares: the error, progress lines, settings, plain HTTP helpers.

Settings come from the environment (never from the command line, so no secret shows in ``ps``); see
``stack_driver_env`` in ``scripts/system/stack.sh``.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import httpx


class SystemTestError(Exception):
    """A check of the system test (or a benchmark episode) failed; the message says which and why."""


def say(message: str) -> None:
    """Print one progress line, flushed at once so it interleaves with the shell's output.

    :param message: the line to print.
    """
    print(f"{os.environ.get('SYSTEM_LABEL', 'system-test')}: {message}", flush=True)


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct free TCP ports on 127.0.0.1.

    :param count: how many ports to find.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_http(url: str, timeout: float) -> None:
    """Wait until ``url`` answers with a 2xx status.

    :param url: the URL to GET.
    :param timeout: seconds to wait at most.
    :raises SystemTestError: when it did not answer 2xx in time.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(url, timeout=5)
            if answer.is_success:
                return
            last = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(1)
    raise SystemTestError(f"{url} did not come up within {timeout:.0f}s (last: {last})")


def env(name: str) -> str:
    """Return a required setting from the environment.

    :param name: the variable's name.
    :raises SystemTestError: when it is not set.
    """
    value = os.environ.get(name)
    if not value:
        raise SystemTestError(f"{name} is not set")
    return value


def emulator_admin(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the emulator's admin API (``SYSTEM_EMULATOR_ADMIN``) with the account key (``SYSTEM_MAVI_KEY``).

    :param method: HTTP method.
    :param path: path under ``/_emulator``.
    :param body: JSON body, if any.
    """
    answer = httpx.request(
        method,
        f"{env('SYSTEM_EMULATOR_ADMIN').rstrip('/')}{path}",
        json=body,
        headers={"Authorization": env("SYSTEM_MAVI_KEY")},
        timeout=10,
    )
    if not answer.is_success:
        raise SystemTestError(f"emulator {method} /_emulator{path} answered HTTP {answer.status_code}")
    return answer.json()


def set_webhook() -> None:
    """Register the bridge's callback URL (``SYSTEM_WEBHOOK_URL``) as the emulated account's webhook."""
    emulator_admin("PUT", "/webhook", {"url": env("SYSTEM_WEBHOOK_URL")})
