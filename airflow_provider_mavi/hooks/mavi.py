"""``MaviHook``: ``call(endpoint, **params)`` / ``acall`` for any endpoint of the catalogue, named methods for
the asset endpoints and transfers here, and for the processing endpoints in ``hooks/endpoint_methods``.

I/O only. What an endpoint is lives in :mod:`airflow_provider_mavi.endpoints`; building a request and
reading its answer in :mod:`airflow_provider_mavi.exchange` (pure, shared by both clients); sending it, with
retries and the rate limit, in :mod:`airflow_provider_mavi.hooks.dispatch`; streaming in ``hooks/transfer``.
The API key goes only into the ``Authorization`` header of requests to Mavi: never into a log line, an
exception, a repr, or a request to a signed URL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
import requests
from airflow.sdk import BaseHook, ObjectStoragePath

from airflow_provider_mavi.compat import is_plain_path
from airflow_provider_mavi.endpoints import (
    DEFAULT_BASE_URL,
    DELETE,
    DOWNLOAD,
    METADATA,
    SIGNED_UPLOAD_POST,
    SIGNED_UPLOAD_PUT,
    SIGNED_URL,
    UPLOAD,
    Endpoint,
    FileBody,
    Kind,
)
from airflow_provider_mavi.exceptions import (
    MaviAssetFailedError,
    MaviConnectionError,
    MaviError,
    MaviNotFoundError,
    MaviTimeoutError,
)
from airflow_provider_mavi.exchange import error_in_file, prepare
from airflow_provider_mavi.filenames import download_filename
from airflow_provider_mavi.hooks import dispatch
from airflow_provider_mavi.hooks.endpoint_methods import MaviEndpointMethods
from airflow_provider_mavi.hooks.rate_limit import AccountRateLimiter
from airflow_provider_mavi.hooks.settings import (
    DEFAULT_REQUESTS_PER_SECOND,
    DEFAULT_TIMEOUT,
    MaviConnectionSettings,
    settings_from_connection,
)
from airflow_provider_mavi.hooks.transfer import (
    CHUNK_SIZE,
    AtomicWriter,
    Location,
    Progress,
    UploadSource,
    copy_download,
    resolve_target,
    upload_source,
)
from airflow_provider_mavi.hooks.transport import RedactQueryFilter, content_length, describe, ssl_context
from airflow_provider_mavi.readiness import ReadinessWatch
from airflow_provider_mavi.retry import RetryPolicy

if TYPE_CHECKING:
    from airflow_provider_mavi.exchange import Request

__all__ = [
    "DEFAULT_REQUESTS_PER_SECOND",
    "DEFAULT_SIGNED_UPLOAD_THRESHOLD",
    "DEFAULT_TIMEOUT",
    "MaviConnectionSettings",
    "MaviHook",
    "settings_from_connection",
]

T = TypeVar("T")

#: Files larger than this go through the two-step signed-URL upload (``upload_file(method="auto")``).
DEFAULT_SIGNED_UPLOAD_THRESHOLD = 64 * 1024 * 1024

logging.getLogger("urllib3.connectionpool").addFilter(RedactQueryFilter())


class MaviHook(BaseHook, MaviEndpointMethods):
    """Talk to the Mavi (memories.ai Visual Intelligence v2) API.

    ``call``/``acall`` reach any endpoint of the catalogue; the processing endpoints also have named methods
    (:class:`~airflow_provider_mavi.hooks.endpoint_methods.MaviEndpointMethods`: ``extract_frames``,
    ``transcribe_audio_sync``, ``video_chat``...).

    :param mavi_conn_id: the ``mavi`` connection (API key in password, base URL in host; extras ``timeout``,
        ``max_requests_per_second``, ``bridge_url``, ``bridge_token``).
    :param max_attempts: attempts in all for reads, 429, 5xx and connection failures.
    :param limit_attempts: attempts in all when Mavi answers the ambiguous 400 "Request has exceeded
        the limit.".
    :param signed_upload_threshold: files larger than this many bytes use the signed-URL upload.
    :param signed_upload_method: ``POST`` sends the documented multipart form (field ``file``) to the signed
        URL; ``PUT`` sends the raw bytes (for storage that signs PUT URLs).
    :param retry_policy: a full :class:`~airflow_provider_mavi.retry.RetryPolicy` (overrides the two above).
    """

    conn_name_attr = "mavi_conn_id"
    default_conn_name = "mavi_default"
    conn_type = "mavi"
    hook_name = "Mavi"

    def __init__(
        self,
        mavi_conn_id: str = default_conn_name,
        *,
        max_attempts: int = 3,
        limit_attempts: int = 3,
        signed_upload_threshold: int = DEFAULT_SIGNED_UPLOAD_THRESHOLD,
        signed_upload_method: Literal["POST", "PUT"] = "POST",
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__()
        self.mavi_conn_id = mavi_conn_id
        self.retry_policy = retry_policy or RetryPolicy(
            max_attempts=max_attempts, limit_attempts=limit_attempts
        )
        self.signed_upload_threshold = signed_upload_threshold
        if signed_upload_method not in ("POST", "PUT"):
            raise ValueError(f"signed_upload_method must be 'POST' or 'PUT', got {signed_upload_method!r}")
        self.signed_upload_method = signed_upload_method
        self._settings: MaviConnectionSettings | None = None
        self._session: requests.Session | None = None
        self._limiter: AccountRateLimiter | None = None

    def __repr__(self) -> str:
        return f"MaviHook(mavi_conn_id={self.mavi_conn_id!r})"

    # ---------------------------------------------------------------------------------- connection

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form for Airflow versions that do not read ``conn-fields`` from provider info."""
        return {
            "hidden_fields": ["login", "schema", "port"],
            "relabeling": {"host": "Base URL", "password": "API Key"},
            "placeholders": {
                "host": DEFAULT_BASE_URL,
                "password": "sk-mavi-...",
                "extra": '{"timeout": 60, "max_requests_per_second": 1, "bridge_url": "https://bridge.example"}',
            },
        }

    def get_settings(self) -> MaviConnectionSettings:
        """The connection's settings (read once per hook)."""
        if self._settings is None:
            self._settings = settings_from_connection(self.get_connection(self.mavi_conn_id))
        return self._settings

    async def aget_settings(self) -> MaviConnectionSettings:
        """The connection's settings, read without blocking the event loop."""
        if self._settings is None:
            conn = await BaseHook.aget_connection(self.mavi_conn_id)
            self._settings = settings_from_connection(conn)
        return self._settings

    def get_conn(self) -> requests.Session:
        """The pooled ``requests`` session of this hook (no credentials stored on it)."""
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def _rate_limiter(self, settings: MaviConnectionSettings) -> AccountRateLimiter:
        if self._limiter is None:
            self._limiter = AccountRateLimiter.from_settings(settings)
        return self._limiter

    def _async_client(self, settings: MaviConnectionSettings) -> httpx.AsyncClient:
        """A client for one async call (never shared across event loops)."""
        timeout = httpx.Timeout(settings.timeout, connect=min(settings.timeout, dispatch.CONNECT_TIMEOUT))
        return httpx.AsyncClient(timeout=timeout, follow_redirects=True, verify=ssl_context())

    def test_connection(self) -> tuple[bool, str]:
        """Check the key with one cheap authenticated request (no retry): the metadata of an asset that does
        not exist. Mavi's "Asset not found" proves the key got past authentication."""
        try:
            self.call(METADATA, asset_id="re_0", attempts=1)
        except MaviNotFoundError as error:
            if error.status == 400:
                return True, "Connection OK: Mavi accepted the API key."
            return False, str(error)
        except (MaviError, ValueError) as error:
            return False, str(error)
        return True, "Connection OK: Mavi accepted the API key."

    # ------------------------------------------------------------------------------------ any endpoint

    def call(self, endpoint: Endpoint[T], /, *, attempts: int | None = None, **params: Any) -> T:
        """Call any endpoint of the catalogue and return its result value (a job's is its job id).

        Bad parameters raise ``ValueError`` or ``TypeError`` before anything is sent.

        :param endpoint: the catalogue entry, e.g. ``endpoints.EXTRACT_FRAMES``.
        :param attempts: attempts in all for this call instead of the hook's policy (``1``: no retry).
        :param params: the endpoint's parameters (path parameters and body fields; ``source`` for an upload).
        """
        if endpoint.kind is Kind.DOWNLOAD:
            raise ValueError(f"{endpoint.name} answers with a file: use download_asset(asset_id, path)")
        return self._send(self._prepare(endpoint, params), attempts=attempts)

    async def acall(self, endpoint: Endpoint[T], /, *, attempts: int | None = None, **params: Any) -> T:
        """Async twin of :meth:`call` for JSON calls and job submits (for triggers).

        :param endpoint: the catalogue entry.
        :param attempts: attempts in all for this call instead of the hook's policy.
        :param params: the endpoint's parameters.
        """
        if endpoint.kind in (Kind.UPLOAD, Kind.DOWNLOAD):
            raise ValueError(f"{endpoint.name} streams a file: use upload_file or download_asset")
        settings = await self.aget_settings()
        request = self._prepare(endpoint, params)
        if self._limiter is None or ssl_context.cache_info().currsize == 0:  # first use: file and CA I/O
            await asyncio.to_thread(lambda: (self._rate_limiter(settings), ssl_context()))
        async with self._async_client(settings) as client:
            return await dispatch.asend(
                client,
                self._rate_limiter(settings),
                request,
                policy=self._policy(attempts),
                log=self.log,
            )

    def _policy(self, attempts: int | None) -> RetryPolicy:
        return self.retry_policy if attempts is None else self.retry_policy.with_attempts(attempts)

    def _prepare(self, endpoint: Endpoint[Any], params: dict[str, Any]) -> Request:
        """The request of one call (the settings must have been read: ``get_settings``/``aget_settings``)."""
        settings = self.get_settings()
        source = params.get("source")
        if isinstance(endpoint.body, FileBody) and not isinstance(source, (UploadSource, type(None))):
            params = {**params, "source": upload_source(source)}
        return prepare(endpoint, params, base_url=settings.base_url, api_key=settings.api_key)

    def _send(
        self,
        request: Request,
        *,
        attempts: int | None = None,
        progress: Progress | None = None,
        keep_file: bool = False,
    ) -> Any:
        settings = self.get_settings()
        return dispatch.send(
            self.get_conn(),
            self._rate_limiter(settings),
            settings.timeout,
            request,
            policy=self._policy(attempts),
            log=self.log,
            progress=progress,
            keep_file=keep_file,
        )

    # ------------------------------------------------------------------------------------ endpoints

    def get_asset_metadata(self, asset_id: str) -> list[dict[str, Any]]:
        """``GET /{asset_id}/metadata``: the ``resource`` entries (one per asset, or per frame of an ``im_``).

        :param asset_id: the asset.
        """
        return self.call(METADATA, asset_id=asset_id)

    async def aget_asset_metadata(self, asset_id: str) -> list[dict[str, Any]]:
        """Async twin of :meth:`get_asset_metadata` (for triggers).

        :param asset_id: the asset.
        """
        return await self.acall(METADATA, asset_id=asset_id)

    def delete_asset(self, asset_id: str) -> None:
        """``DELETE /{asset_id}`` (irreversible).

        :param asset_id: the asset.
        """
        self.call(DELETE, asset_id=asset_id)
        self.log.info("Deleted asset %s", asset_id)

    def wait_for_asset_ready(
        self, asset_id: str, timeout: float = 600, poll_interval: float = 2
    ) -> dict[str, Any]:
        """Poll the metadata until the asset is ready (``SUCCESS``; for an ``im_`` group: every frame);
        return its metadata entry (``{asset_id, frames}`` for a group).

        :param asset_id: the asset.
        :param timeout: seconds to wait in all.
        :param poll_interval: seconds before the second poll; later polls wait a little longer each time
            (never less than one permit of the rate limit).
        """
        rate = self.get_settings().max_requests_per_second
        watch = ReadinessWatch(asset_id, time.time() + timeout, poll_interval, rate)
        while True:
            status = watch.observe(self.get_asset_metadata(asset_id))
            if status.ready:
                return status.entry
            if status.failed:
                raise MaviAssetFailedError(
                    f"Mavi could not process the upload of asset {asset_id} (upload_status FAILED): "
                    "upload the file again.",
                    asset_id=asset_id,
                )
            delay = watch.next_delay(time.time())
            if delay is None:
                raise MaviTimeoutError(
                    f"Asset {asset_id} was not ready after {timeout:g} s "
                    f"(last upload_status: {status.status})."
                )
            self.log.info("Asset %s is %s; checking again in %.1f s", asset_id, status.status, delay)
            time.sleep(delay)

    # ------------------------------------------------------------------------------------ transfers

    def upload_file(
        self,
        source: Location,
        *,
        method: Literal["auto", "multipart", "signed_url"] = "auto",
    ) -> str:
        """Upload a file, streamed (never read whole into memory); return its ``re_`` asset id.

        :param source: a local path, an ``ObjectStoragePath`` or a ``scheme://`` URL string.
        :param method: ``multipart`` (``POST /upload``), ``signed_url`` (two steps) or ``auto``: the signed
            URL above ``signed_upload_threshold`` bytes.
        """
        if method not in ("auto", "multipart", "signed_url"):
            raise ValueError(f"method must be 'auto', 'multipart' or 'signed_url', got {method!r}")
        src = upload_source(source)
        signed = method == "signed_url" or (method == "auto" and src.size > self.signed_upload_threshold)
        progress = Progress("Uploading", src.name, src.size, logger=self.log)  # type: ignore[arg-type]
        self.log.info(
            "Uploading %s (%d bytes) to Mavi%s", src.name, src.size, " via a signed URL" if signed else ""
        )
        if signed:
            ticket = self.call(SIGNED_URL, original_filename=src.name)
            self.log.info("Got a signed upload URL for asset %s", ticket.asset_id)
            endpoint = SIGNED_UPLOAD_PUT if self.signed_upload_method == "PUT" else SIGNED_UPLOAD_POST
            self._send(self._prepare(endpoint, {"signed_url": ticket.url, "source": src}), progress=progress)
            asset_id = ticket.asset_id
        else:
            asset_id = self._send(self._prepare(UPLOAD, {"source": src}), progress=progress)
        progress.finish()
        self.log.info("Uploaded %s as asset %s", src.name, asset_id)
        return str(asset_id)

    def download_asset(self, asset_id: str, destination: Location) -> str | ObjectStoragePath:
        """Stream an asset to a file; return the path written.

        An existing directory, or a path ending in ``/``, is a directory (the file name comes from
        ``Content-Disposition``, made safe); anything else is the file to write. The file appears only once
        complete: a JSON answer (even with status 200) or a broken transfer raises and leaves no file.

        :param asset_id: the asset (``im_`` ids download as a zip of frames).
        :param destination: a local path, an ``ObjectStoragePath`` or a ``scheme://`` URL string.
        """
        request = self._prepare(DOWNLOAD, {"asset_id": asset_id})
        response: requests.Response = self._send(request, keep_file=True)
        with response:
            headers = response.headers
            target = resolve_target(
                destination,
                download_filename(headers.get("Content-Disposition"), asset_id, headers.get("Content-Type")),
            )
            encoded = headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")
            total = None if encoded else content_length(headers.get("Content-Length"))  # decoded size differs
            progress = Progress("Downloading", asset_id, total, logger=self.log)  # type: ignore[arg-type]
            writer = AtomicWriter(target)
            try:
                copy_download(
                    response.iter_content(CHUNK_SIZE), writer, progress, total,
                    lambda head: error_in_file(request, response.status_code, head),
                )  # fmt: skip
                written = writer.commit()
            except requests.RequestException as exc:
                writer.discard()
                raise MaviConnectionError(
                    f"The download of {asset_id} broke after {writer.written} bytes ({describe(exc)}); "
                    "nothing was kept. Run again (each download is billed)."
                ) from exc
            except BaseException:
                writer.discard()
                raise
        progress.finish()
        self.log.info("Downloaded %s (%d bytes) to %s", asset_id, writer.written, written)
        return str(written) if is_plain_path(written) else written
