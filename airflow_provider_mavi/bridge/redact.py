"""Keep callback secrets and relay URLs out of logs: path redaction and logging filters."""

from __future__ import annotations

import logging
import re

_CALLBACK_PATH = re.compile(r"^(?P<prefix>.*?/(?:callbacks|_noop)/)(?P<secret>.+)$", re.DOTALL)
_URL = re.compile(r"^(?P<origin>https?://[^/]+)(?P<path>/.*)?$")


_SHOWN_PARAMS = frozenset({"wait", "after", "limit", "key"})


def _redact_query(query: str) -> str:
    parts = []
    for pair in query.split("&"):
        name, sep, _value = pair.partition("=")
        parts.append(pair if name in _SHOWN_PARAMS or not sep else f"{name}=***")
    return "&".join(parts)


def redact_path(path: str) -> str:
    """
    Replace the secret of a callback path with ``***`` and the values of unknown query parameters too.

    ``/v1/callbacks/...`` paths keep their job id; ``wait``, ``after``, ``limit`` and ``key`` are shown.

    :param path: a request path (or a full URL), with or without a query string.
    """
    match = _CALLBACK_PATH.match(path)
    if match is not None and not match.group("prefix").endswith("/v1/callbacks/"):
        return match.group("prefix") + "***"
    base, sep, query = path.partition("?")
    return base + sep + _redact_query(query) if sep else path


class RedactingFilter(logging.Filter):
    """
    Redact callback secrets in the arguments of log records (uvicorn's access log, httpx's request log).

    :param hide_urls: full URLs (e.g. relay targets, which may hold someone else's secret) logged as
        their origin only.
    """

    def __init__(self, hide_urls: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._hide = tuple(u.rstrip("/") for u in hide_urls)

    def _clean(self, value: object) -> object:
        if not isinstance(value, str):
            if type(value).__name__ != "URL":
                return value
            value = str(value)
        for url in self._hide:
            if value.startswith(url):
                match = _URL.match(url)
                return (match.group("origin") if match else "") + "/***"
        return redact_path(value)

    def filter(self, record: logging.LogRecord) -> bool:
        """
        Rewrite the record's arguments in place; never drops a record.

        :param record: the log record.
        """
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = str(self._clean(record.msg))
        return True
