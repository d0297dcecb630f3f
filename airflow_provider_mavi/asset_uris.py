"""The ``mavi`` asset URI scheme: how Airflow Assets and OpenLineage datasets name Mavi things.

Two shapes, both one path segment under an authority:

- ``mavi://<api host>/<asset id>``: a Mavi asset (``re_`` video, ``im_`` frame group, ``imc_`` frame...)
  of the Mavi API at that host, e.g. ``mavi://mavi-backend.memories.ai/re_7a1c``. Its OpenLineage dataset
  is namespace ``mavi://<api host>``, name ``<asset id>``: the datasets the operators report as inputs and
  outputs, so an Airflow Asset with that URI and the lineage of the task that made it meet.
- ``mavi://callbacks/<name>``: a stream of job callbacks received by the bridge (the Asset an event-driven
  DAG is scheduled on, see :class:`~airflow_provider_mavi.triggers.events.MaviCallbackEventTrigger`).

Registered in the provider info (``asset-uris``): Airflow checks and normalises every ``mavi://`` URI with
:func:`sanitize_uri` when a DAG is parsed, so a malformed one fails there with the reason.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from airflow_provider_mavi.endpoints import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.sdk import Asset

__all__ = [
    "CALLBACKS_AUTHORITY",
    "SCHEME",
    "callbacks_uri",
    "convert_asset_to_openlineage",
    "create_asset",
    "mavi_asset_uri",
    "mavi_namespace",
    "sanitize_uri",
]

SCHEME = "mavi"
#: The authority of callback-stream URIs (``mavi://callbacks/<name>``).
CALLBACKS_AUTHORITY = "callbacks"
_SEGMENT = re.compile(r"/([^/\s]+)")
#: What the helpers below put in a segment: URI-unreserved characters only, so nothing needs escaping.
_NAME = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")


def mavi_namespace(base_url: str) -> str:
    """The OpenLineage namespace of the Mavi assets behind an API base URL: ``mavi://<host[:port]>``.

    :param base_url: the connection's base URL (``https://mavi-backend.memories.ai/serve/api/v2``).
    :raises ValueError: when the URL has no host.
    """
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise ValueError(f"a Mavi base URL needs a host, got {base_url!r}")
    host = parts.hostname.lower()
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{SCHEME}://{host}"


def mavi_asset_uri(asset_id: str, base_url: str = DEFAULT_BASE_URL) -> str:
    """The asset URI of a Mavi asset: ``mavi://<api host>/<asset id>``.

    :param asset_id: the Mavi asset id.
    :param base_url: the API base URL the asset lives at (default: the real service).
    :raises ValueError: for an id that is not letters, digits, ``._~-`` (not starting with ``.``).
    """
    _check_segment(asset_id, "asset id")
    return f"{mavi_namespace(base_url)}/{asset_id}"


def callbacks_uri(name: str) -> str:
    """The asset URI of a stream of callbacks: ``mavi://callbacks/<name>``.

    :param name: a name of letters, digits and ``._~-`` (``frames``, ``team-a.jobs``...).
    :raises ValueError: for anything else.
    """
    _check_segment(name, "callback stream name")
    return f"{SCHEME}://{CALLBACKS_AUTHORITY}/{name}"


def _check_segment(value: object, what: str) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(
            f"a mavi:// {what} must be letters, digits and ._~- (not starting with '.'), got {value!r}"
        )


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Check and normalise a ``mavi://`` URI (Airflow calls this for every Asset with the scheme).

    :param uri: the URI, already split (Airflow has removed trailing slashes and the fragment).
    :raises ValueError: naming what is wrong: no host, user info, a query, or a path that is not one
        segment.
    """
    if not uri.netloc:
        raise ValueError(
            "A mavi:// URI needs a host: mavi://<api host>/<asset id> or mavi://callbacks/<name>"
        )
    if "@" in uri.netloc:
        raise ValueError("A mavi:// URI must not hold user info (credentials never go in an asset URI)")
    if uri.query:
        raise ValueError(
            "A mavi:// URI has no query: mavi://<api host>/<asset id> or mavi://callbacks/<name>"
        )
    if not _SEGMENT.fullmatch(uri.path):
        raise ValueError(
            f"A mavi:// URI names one thing: mavi://<api host>/<asset id> or mavi://callbacks/<name>, "
            f"got the path {uri.path!r}"
        )
    return uri._replace(netloc=uri.netloc.lower())


def create_asset(
    *, asset_id: str, base_url: str = DEFAULT_BASE_URL, extra: dict[str, Any] | None = None
) -> Asset:
    """An Airflow Asset for a Mavi asset (the ``factory`` of the scheme, used by hook-level lineage).

    :param asset_id: the Mavi asset id.
    :param base_url: the API base URL the asset lives at.
    :param extra: the Asset's extra.
    """
    from airflow.sdk import Asset

    return Asset(uri=mavi_asset_uri(asset_id, base_url), extra=extra)


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any) -> Dataset:
    """The OpenLineage dataset of a ``mavi://`` Asset: namespace ``mavi://<authority>``, name the segment.

    :param asset: the Airflow Asset.
    :param lineage_context: given by the OpenLineage provider (not needed).
    """
    from airflow.providers.common.compat.openlineage.facet import Dataset

    parts = urlsplit(asset.uri)
    return Dataset(namespace=f"{SCHEME}://{parts.netloc.lower()}", name=parts.path.lstrip("/"))
