"""Asset management (``mavi-api.md`` §2): upload (multipart and signed URL), metadata, download, delete."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_mavi.endpoints.base import (
    Answer,
    Endpoint,
    FileBody,
    Kind,
    new_asset_id,
    no_result,
)
from airflow_provider_mavi.envelope import require_str
from airflow_provider_mavi.exceptions import MaviServerError
from airflow_provider_mavi.results import Free, Unknown
from airflow_provider_mavi.results.prices import DOWNLOAD_PRICE

__all__ = [
    "DELETE",
    "DOWNLOAD",
    "METADATA",
    "SIGNED_UPLOAD_POST",
    "SIGNED_UPLOAD_PUT",
    "SIGNED_URL",
    "UPLOAD",
    "SignedUpload",
    "metadata_resources",
    "signed_upload",
    "signed_url_body",
]

STORAGE_NOTE = "the call is free; storage costs $0.001 per GB per day"


def signed_url_body(original_filename: str) -> dict[str, Any]:
    """The body of a signed upload URL request.

    :param original_filename: the file's name, with its extension.
    """
    if not isinstance(original_filename, str) or not original_filename:
        raise ValueError(f"original_filename must be a non-empty file name, got {original_filename!r}")
    return {"original_filename": original_filename}


@dataclass(frozen=True)
class SignedUpload:
    """The answer of ``POST /upload/signed-url``: where to send the file (the URL is a secret: no repr).

    :param asset_id: the asset the upload becomes.
    :param url: the signed URL, an absolute ``http(s)`` URL.
    """

    asset_id: str
    url: str = field(repr=False)


def signed_upload(data: Any, label: str) -> SignedUpload:
    """The asset id and signed URL of ``POST /upload/signed-url``; a URL that is not ``http(s)`` is refused
    without being shown (its query is a credential).

    :param data: the envelope's ``data``.
    :param label: the request, named in the error.
    """
    url = require_str(data, "signed_url", label=label)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise MaviServerError("Mavi returned a signed upload URL that is not an http(s) URL; not uploading.")
    return SignedUpload(asset_id=require_str(data, "asset_id", label=label), url=url)


def metadata_resources(data: Any, label: str) -> list[dict[str, Any]]:
    """The ``resource`` entries of a metadata answer (one per asset, or one per frame of an ``im_`` group).

    :param data: the envelope's ``data``.
    :param label: the request, named in the error.
    """
    resources = data.get("resource") if isinstance(data, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise MaviServerError(f"Mavi's answer to {label} has no data.resource list.")
    return resources


UPLOAD: Endpoint[str] = Endpoint(
    "upload", "POST", "/upload", Kind.UPLOAD, creates=True, bucket="Upload File",
    price=Free(STORAGE_NOTE), parse=new_asset_id, body=FileBody("file"),
)  # fmt: skip
SIGNED_URL: Endpoint[SignedUpload] = Endpoint(
    "signed_url", "POST", "/upload/signed-url", Kind.CALL, creates=True, bucket="Get Upload Signed URL",
    price=Free(STORAGE_NOTE), parse=signed_upload, body=signed_url_body,
)  # fmt: skip
SIGNED_UPLOAD_POST: Endpoint[None] = Endpoint(
    "signed_upload", "POST", "<signed upload URL>", Kind.UPLOAD, creates=False,
    bucket="Upload File Using Signed URL", price=Free(STORAGE_NOTE), parse=no_result, body=FileBody("file"),
    answer=Answer.STATUS, url_param="signed_url",
)  # fmt: skip
SIGNED_UPLOAD_PUT: Endpoint[None] = Endpoint(
    "signed_upload_put", "PUT", "<signed upload URL>", Kind.UPLOAD, creates=False,
    bucket="Upload File Using Signed URL", price=Free(STORAGE_NOTE), parse=no_result, body=FileBody(None),
    answer=Answer.STATUS, url_param="signed_url",
)  # fmt: skip
METADATA: Endpoint[list[dict[str, Any]]] = Endpoint(
    "metadata", "GET", "/{asset_id}/metadata", Kind.CALL, creates=False, bucket="Get Asset Metadata",
    price=Unknown("not documented"), parse=metadata_resources,
)  # fmt: skip
DOWNLOAD: Endpoint[None] = Endpoint(
    "download", "GET", "/{asset_id}/download", Kind.DOWNLOAD, creates=False, bucket="Download Asset",
    price=DOWNLOAD_PRICE, parse=no_result,
)  # fmt: skip
DELETE: Endpoint[None] = Endpoint(
    "delete", "DELETE", "/{asset_id}", Kind.CALL, creates=False, bucket="Delete Asset",
    price=Unknown("not documented"), parse=no_result, gone_means_done=True,
)  # fmt: skip
