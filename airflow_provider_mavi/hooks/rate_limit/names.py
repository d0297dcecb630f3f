"""Names in the limiter: the account's identity (a hash, never the key), buckets, scopes, store URLs.

Pure helpers shared by the connection settings and the limiter. A store URL may hold a password: only
:func:`redact_url` output ever goes into a message, a log line or a ``repr``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: The bucket every request shares in the ``account`` scope (and the bucket of a caller that names none).
ACCOUNT_BUCKET = "account"
#: ``endpoint``: one bucket per endpoint, as Mavi documents; ``account``: one bucket for everything.
SCOPES = ("endpoint", "account")
Scope = Literal["endpoint", "account"]
#: Store URL schemes, by backend.
REDIS_SCHEMES = ("redis", "rediss")
POSTGRES_SCHEMES = ("postgresql", "postgres")
MAX_BUCKET_NAME = 200


def account_digest(base_url: str, api_key: str) -> str:
    """The account's identity in every store (file, key and row names): a hash of base URL and key.

    :param base_url: the connection's base URL (a trailing slash does not matter).
    :param api_key: the API key.
    """
    return hashlib.sha256(f"{base_url.rstrip('/')}\n{api_key}".encode()).hexdigest()[:32]


def limiter_path(base_url: str, api_key: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """The local SQLite file of one account's buckets (named by a hash, never by the key).

    :param base_url: the connection's base URL.
    :param api_key: the API key.
    :param directory: where to keep it; the temp directory (``MAVI_RATE_LIMIT_DIR`` overrides) by default.
    """
    return local_path(account_digest(base_url, api_key), directory)


def local_path(digest: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """The local SQLite file of the account ``digest``.

    :param digest: :func:`account_digest`.
    :param directory: where to keep it; the temp directory (``MAVI_RATE_LIMIT_DIR`` overrides) by default.
    """
    root = Path(directory or os.environ.get("MAVI_RATE_LIMIT_DIR") or tempfile.gettempdir())
    return root / f"airflow-mavi-ratelimit-{digest}.sqlite"


def check_scope(value: object, where: str = "rate_limit_scope") -> Scope:
    """``endpoint`` or ``account`` (any case, spaces around ignored); ``None`` or empty gives ``endpoint``.

    :param value: the setting.
    :param where: names the setting in the error.
    """
    text = "endpoint" if value is None or value == "" else str(value).strip().lower()
    if text == "endpoint":
        return "endpoint"
    if text == "account":
        return "account"
    raise ValueError(f"{where} must be 'endpoint' or 'account', got {value!r}.")


def check_bucket(bucket: object) -> str:
    """A bucket name as the endpoint catalogue gives it: free-form, printable, 1 to 200 characters.

    :param bucket: the name.
    """
    if not isinstance(bucket, str) or not bucket or len(bucket) > MAX_BUCKET_NAME or not bucket.isprintable():
        raise ValueError(
            f"A rate-limit bucket is a printable string of 1 to {MAX_BUCKET_NAME} characters, got {bucket!r}."
        )
    return bucket


def redact_url(url: str) -> str:
    """``url`` with its password (in the user info or a ``password`` query parameter) replaced by ``***``.

    :param url: a store URL.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:***@{host}" if colon else f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(name.lower() == "password" for name, _ in pairs):
            query = urlencode([(n, "***" if n.lower() == "password" else v) for n, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_password(url: str) -> str | None:
    """The password a store URL carries, if any (to scrub it from a driver's error text).

    :param url: a store URL.
    """
    parts = urlsplit(url)
    if parts.password:
        return parts.password
    for name, value in parse_qsl(parts.query):
        if name.lower() == "password" and value:
            return value
    return None


def store_kind(url: str) -> Literal["redis", "postgres"]:
    """Which backend a ``rate_limit_url`` names; ``ValueError`` (the URL redacted) for anything else.

    ``redis://``, ``rediss://`` (TLS); ``postgresql://``, ``postgres://``, also with a SQLAlchemy driver
    suffix (``postgresql+psycopg://``: the bridge's own database URL works as it is).

    :param url: the URL.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in REDIS_SCHEMES:
        return "redis"
    if scheme.split("+", 1)[0] in POSTGRES_SCHEMES:
        return "postgres"
    raise ValueError(
        f"rate_limit_url must start with redis://, rediss:// or postgresql://, got {redact_url(url)!r}."
    )
