"""``MaviHook``: one thin method per Mavi endpoint, a blocking client (``requests``) and an async one
(``httpx``) over the same pure helpers of :mod:`airflow_provider_mavi.api`.

I/O only: URLs, envelopes, error mapping and the retry decision live in ``api``; streaming in ``transfer``;
the account-wide rate limit in ``rate_limit``. The API key goes only into the ``Authorization`` header of
requests to Mavi: never into a log line, an exception, a repr, or a request to a signed URL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx
import requests
from airflow.sdk import BaseHook, ObjectStoragePath

from airflow_provider_mavi import __version__
from airflow_provider_mavi.api import (
    DEFAULT_BASE_URL,
    DEFAULT_VIDEO_MODEL,
    UPLOAD_STATUS_FAILED,
    UPLOAD_STATUS_READY,
    Call,
    RetryPolicy,
    TransportFailure,
    auth_headers,
    check_asset_id,
    check_signed_url,
    delete_call,
    download_call,
    download_filename,
    error_from_response,
    extract_frames_call,
    final_error,
    find_resource,
    interpret_answer,
    is_json_content_type,
    join_url,
    looks_like_error_envelope,
    metadata_call,
    metadata_resources,
    parse_retry_after,
    require_str,
    retry_delay,
    signed_url_call,
    transcribe_audio_body,
    transcribe_audio_call,
    transcribe_video_body,
    transcribe_video_call,
    transport_error,
    upload_call,
)
from airflow_provider_mavi.exceptions import (
    MaviAssetFailedError,
    MaviConnectionError,
    MaviError,
    MaviNotFoundError,
    MaviTimeoutError,
)
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
    MultipartFileBody,
    Progress,
    RawFileBody,
    UploadSource,
    resolve_target,
    upload_source,
)
from airflow_provider_mavi.hooks.transport import (
    RedactQueryFilter,
    content_length,
    describe,
    httpx_failure,
    read_limited,
    requests_failure,
    scrub,
    source_changed,
    ssl_context,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DEFAULT_REQUESTS_PER_SECOND",
    "DEFAULT_SIGNED_UPLOAD_THRESHOLD",
    "DEFAULT_TIMEOUT",
    "MaviConnectionSettings",
    "MaviHook",
    "settings_from_connection",
]

USER_AGENT = f"airflow-provider-mavi/{__version__}"
#: Files larger than this go through the two-step signed-URL upload (``upload_file(method="auto")``).
DEFAULT_SIGNED_UPLOAD_THRESHOLD = 64 * 1024 * 1024
#: How much of an unexpected JSON or error body is read at most.
MAX_ERROR_BODY = 1024 * 1024
SIGNED_URL_PATH = "<signed upload URL>"  # stands for the URL in messages: the URL itself is a secret

logging.getLogger("urllib3.connectionpool").addFilter(RedactQueryFilter())


class MaviHook(BaseHook):
    """Talk to the Mavi (memories.ai Visual Intelligence v2) API.

    :param mavi_conn_id: the ``mavi`` connection (API key in password, base URL in host; extras ``timeout``,
        ``max_requests_per_second``, ``bridge_url``, ``bridge_token``).
    :param max_attempts: attempts in all for reads, 429, 5xx and connection failures.
    :param limit_attempts: attempts in all when Mavi answers the ambiguous 400 "Request has exceeded
        the limit.".
    :param signed_upload_threshold: files larger than this many bytes use the signed-URL upload.
    :param signed_upload_method: ``POST`` sends the documented multipart form (field ``file``) to the signed
        URL; ``PUT`` sends the raw bytes (for storage that signs PUT URLs).
    :param retry_policy: a full :class:`~airflow_provider_mavi.api.RetryPolicy` (overrides the two above).
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
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self._session = session
        return self._session

    def _rate_limiter(self, settings: MaviConnectionSettings) -> AccountRateLimiter:
        if self._limiter is None:
            self._limiter = AccountRateLimiter(
                settings.base_url, settings.api_key, settings.max_requests_per_second
            )
        return self._limiter

    def test_connection(self) -> tuple[bool, str]:
        """Check the key with a cheap authenticated call: metadata of an asset that does not exist."""
        try:
            self._send(metadata_call("re_0"), attempts=1)
        except MaviNotFoundError as error:
            if error.status == 400:  # Mavi's own "Asset not found": the key got past authentication
                return True, "Connection OK: Mavi accepted the API key."
            return False, str(error)
        except (MaviError, ValueError) as error:
            return False, str(error)
        return True, "Connection OK: Mavi accepted the API key."

    # ------------------------------------------------------------------------------------ endpoints

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
            asset_id = self._upload_signed(src, progress)
        else:
            call = upload_call()
            _, data = self._send(call, body=lambda: MultipartFileBody(src, progress=progress))
            asset_id = require_str(data, "asset_id", call=call)
        progress.finish()
        self.log.info("Uploaded %s as asset %s", src.name, asset_id)
        return asset_id

    def _upload_signed(self, src: UploadSource, progress: Progress) -> str:
        call = signed_url_call()
        _, data = self._send(call, json_body={"original_filename": src.name})
        asset_id = require_str(data, "asset_id", call=call)
        signed_url = check_signed_url(require_str(data, "signed_url", call=call))
        self.log.info("Got a signed upload URL for asset %s", asset_id)
        body: Callable[[], MultipartFileBody | RawFileBody]
        if self.signed_upload_method == "PUT":
            body = lambda: RawFileBody(src, progress=progress)  # noqa: E731
        else:
            body = lambda: MultipartFileBody(src, progress=progress)  # noqa: E731
        self._send(
            Call(self.signed_upload_method, SIGNED_URL_PATH, idempotent=True),
            url=signed_url,
            body=body,
            authenticate=False,
            envelope=False,
        )
        return asset_id

    def get_asset_metadata(self, asset_id: str) -> list[dict[str, Any]]:
        """``GET /{asset_id}/metadata``: the ``resource`` entries (one per asset, or per frame of an ``im_``).

        :param asset_id: the asset.
        """
        call = metadata_call(asset_id)
        _, data = self._send(call)
        return metadata_resources(data, call=call)

    async def aget_asset_metadata(self, asset_id: str) -> list[dict[str, Any]]:
        """Async twin of :meth:`get_asset_metadata` (for triggers).

        :param asset_id: the asset.
        """
        call = metadata_call(asset_id)
        data = await self._asend(call)
        return metadata_resources(data, call=call)

    def wait_for_asset_ready(
        self, asset_id: str, timeout: float = 600, poll_interval: float = 2
    ) -> dict[str, Any]:
        """Poll the metadata until ``upload_status`` is ``SUCCESS``; return that asset's entry.

        :param asset_id: the asset.
        :param timeout: seconds to wait in all.
        :param poll_interval: seconds between polls (the rate limit applies as well).
        """
        deadline = time.monotonic() + timeout
        status: object = None
        while True:
            entry = find_resource(self.get_asset_metadata(asset_id), asset_id)
            status = entry.get("upload_status") if entry else None
            if entry is not None and status == UPLOAD_STATUS_READY:
                return entry
            if status == UPLOAD_STATUS_FAILED:
                raise MaviAssetFailedError(
                    f"Mavi could not process the upload of asset {asset_id} (upload_status FAILED): "
                    "upload the file again.",
                    asset_id=asset_id,
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MaviTimeoutError(
                    f"Asset {asset_id} was not ready after {timeout:g} s (last upload_status: {status})."
                )
            self.log.info("Asset %s is %s; checking again in %.0f s", asset_id, status, poll_interval)
            time.sleep(min(poll_interval, remaining))

    def download_asset(self, asset_id: str, destination: Location) -> str | ObjectStoragePath:
        """Stream an asset to a file; return the path written.

        An existing directory, or a path ending in ``/``, is a directory (the file name comes from
        ``Content-Disposition``, made safe); anything else is the file to write. The file appears only once
        complete: a JSON answer (even with status 200) or a broken transfer raises and leaves no file.

        :param asset_id: the asset (``im_`` ids download as a zip of frames).
        :param destination: a local path, an ``ObjectStoragePath`` or a ``scheme://`` URL string.
        """
        call = download_call(asset_id)
        response, _ = self._send(call, stream=True, headers={"Accept-Encoding": "identity"})
        with response:
            headers = response.headers
            filename = download_filename(
                headers.get("Content-Disposition"), asset_id, headers.get("Content-Type")
            )
            target = resolve_target(destination, filename)
            encoded = headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")
            total = None if encoded else content_length(headers.get("Content-Length"))  # decoded size differs
            progress = Progress("Downloading", asset_id, total, logger=self.log)  # type: ignore[arg-type]
            writer = AtomicWriter(target)
            try:
                self._write_download(response, call, writer, progress, total)
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
        return str(written) if isinstance(written, Path) else written

    def _write_download(
        self,
        response: requests.Response,
        call: Call,
        writer: AtomicWriter,
        progress: Progress,
        total: int | None,
    ) -> None:
        chunks = response.iter_content(CHUNK_SIZE)
        head = b""
        for chunk in chunks:
            head += chunk
            if head:
                break
        if head.lstrip().startswith(b"{") and (total is None or total <= MAX_ERROR_BODY):
            for chunk in chunks:  # a small body that may be an error envelope served as a file
                head += chunk
                if len(head) > MAX_ERROR_BODY:
                    break
            if looks_like_error_envelope(head):
                from airflow_provider_mavi.api import decode_body

                raise error_from_response(response.status_code, decode_body(head), call=call)
        if head:
            writer.write(head)
            progress(writer.written)
        for chunk in chunks:
            writer.write(chunk)
            progress(writer.written)
        if total is not None and writer.written != total:
            raise MaviConnectionError(
                f"The download of {call.path} ended after {writer.written} of {total} bytes; "
                "nothing was kept."
            )

    def delete_asset(self, asset_id: str) -> None:
        """``DELETE /{asset_id}`` (irreversible).

        :param asset_id: the asset.
        """
        self._send(delete_call(asset_id), not_found_after_retry_ok=True)
        self.log.info("Deleted asset %s", asset_id)

    def extract_frames(self, asset_id: str) -> str:
        """Submit frame extraction ($0.01 per second of video); return the job id.

        :param asset_id: a ready video asset.
        """
        call = extract_frames_call()
        _, data = self._send(call, json_body={"asset_id": check_asset_id(asset_id)})
        job_id = require_str(data, "task_id", call=call)
        self.log.info("Submitted frame extraction of %s: job %s", asset_id, job_id)
        return job_id

    def transcribe_video(self, asset_id: str, model: str = DEFAULT_VIDEO_MODEL) -> str:
        """Submit an async video description; return the job id. An unknown model is refused before sending.

        :param asset_id: a ready video asset.
        :param model: one of :data:`~airflow_provider_mavi.api.SUPPORTED_VIDEO_MODELS`.
        """
        body = transcribe_video_body(asset_id, model)
        call = transcribe_video_call()
        _, data = self._send(call, json_body=body)
        job_id = require_str(data, "task_id", call=call)
        self.log.info("Submitted video description of %s with %s: job %s", asset_id, model, job_id)
        return job_id

    def transcribe_audio(self, asset_id: str, speaker: bool = False) -> str:
        """Submit an async Whisper transcription; return the job id.

        :param asset_id: a ready audio or video asset.
        :param speaker: label speakers (doubles the price).
        """
        body = transcribe_audio_body(asset_id, speaker)
        call = transcribe_audio_call()
        _, data = self._send(call, json_body=body)
        job_id = require_str(data, "task_id", call=call)
        self.log.info("Submitted audio transcription of %s (speaker=%s): job %s", asset_id, speaker, job_id)
        return job_id

    # ---------------------------------------------------------------------------------- dispatchers

    def _send(
        self,
        call: Call,
        *,
        json_body: dict[str, Any] | None = None,
        body: Callable[[], MultipartFileBody | RawFileBody] | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        url: str | None = None,
        authenticate: bool = True,
        envelope: bool = True,
        attempts: int | None = None,
        not_found_after_retry_ok: bool = False,
    ) -> tuple[requests.Response, Any]:
        """The one blocking dispatcher: rate limit, send, map the answer, retry per the shared predicate.

        :param call: the request.
        :param json_body: a JSON body.
        :param body: makes a fresh streamed body for each attempt.
        :param headers: extra headers.
        :param stream: return the response unread when it is a file (the caller closes it).
        :param url: the full URL instead of base URL + path (the signed upload URL).
        :param authenticate: send the API key (never to a signed URL).
        :param envelope: the answer is Mavi's JSON envelope.
        :param attempts: attempts in all instead of the policy's.
        :param not_found_after_retry_ok: a "not found" after an attempt that may have taken effect is success
            (a repeated DELETE).
        """
        settings = self.get_settings()
        policy = self.retry_policy
        if attempts is not None:
            policy = RetryPolicy(
                attempts, min(attempts, policy.limit_attempts), policy.base_delay, policy.max_delay
            )
        target = url or join_url(settings.base_url, call.path)
        limiter = self._rate_limiter(settings)
        session = self.get_conn()
        maybe_done = False
        attempt = 0
        while True:
            attempt += 1
            request_headers = {"Accept": "application/json", **(headers or {})}
            if authenticate:
                request_headers.update(auth_headers(settings.api_key))
            data_body = body() if body else None
            if data_body is not None:
                request_headers["Content-Type"] = data_body.content_type
            limiter.acquire()
            try:
                response = session.request(
                    call.method,
                    target,
                    json=json_body,
                    data=data_body,
                    headers=request_headers,
                    timeout=(min(settings.timeout, 10.0), settings.timeout),
                    stream=True,
                    allow_redirects=authenticate,
                )
            except requests.RequestException as exc:
                changed = source_changed(exc)
                if changed is not None:  # our file, not the network: say so
                    raise changed from None
                failure = requests_failure(exc)
                delay = retry_delay(
                    attempt=attempt, policy=policy, idempotent=call.idempotent, failure=failure
                )
                if delay is None:
                    lost = transport_error(call, failure, describe(exc), attempt)
                    if authenticate:
                        raise lost from exc
                    raise lost from None  # the cause's text would hold the signed URL
                maybe_done = maybe_done or failure is not TransportFailure.NOT_SENT
                self.log.warning(
                    "%s failed (%s, %s); attempt %d of %d, retrying in %.1f s",
                    call.label, failure.value, describe(exc), attempt, policy.max_attempts, delay,
                )  # fmt: skip
                time.sleep(delay)
                continue
            content_type = response.headers.get("Content-Type")
            file_answer = (
                stream and 200 <= response.status_code < 300 and not is_json_content_type(content_type)
            )
            if file_answer:
                return response, None
            with response:
                raw = (
                    read_limited(response.iter_content(64 * 1024), MAX_ERROR_BODY)
                    if stream
                    else response.content
                )
            error, data = interpret_answer(
                response.status_code, content_type, raw, call=call, expect_file=stream, envelope=envelope
            )
            if error is None:
                return response, data
            if not_found_after_retry_ok and maybe_done and isinstance(error, MaviNotFoundError):
                self.log.info(
                    "%s: not found after an earlier attempt that may have succeeded; done", call.label
                )
                return response, None
            delay = self._delay_after_answer(
                call, error, response.status_code, response.headers.get("Retry-After"), attempt, settings
            )
            maybe_done = maybe_done or (error.status or 0) >= 500
            time.sleep(delay)

    def _delay_after_answer(
        self,
        call: Call,
        error: MaviError,
        status: int,
        retry_after_header: str | None,
        attempt: int,
        settings: MaviConnectionSettings,
    ) -> float:
        """Seconds to wait before retrying an error answer, for both dispatchers; raises when it is final.

        :param call: the request.
        :param error: the error the answer maps to.
        :param status: the HTTP status of the answer.
        :param retry_after_header: the answer's ``Retry-After`` header, if any.
        :param attempt: the attempt that just failed, from 1.
        :param settings: the connection (its key is scrubbed from the error raised).
        """
        policy = self.retry_policy
        delay = retry_delay(
            attempt=attempt,
            policy=policy,
            idempotent=call.idempotent,
            error=error,
            retry_after=parse_retry_after(retry_after_header, time.time()),
        )
        if delay is None:
            raise scrub(final_error(error, call), settings.api_key)
        self.log.warning(
            "%s answered HTTP %s (%s); attempt %d of %d, retrying in %.1f s",
            call.label, status, type(error).__name__, attempt, policy.max_attempts, delay,
        )  # fmt: skip
        return delay

    async def _asend(self, call: Call, *, json_body: dict[str, Any] | None = None) -> Any:
        """The one async dispatcher (JSON answers): the same decisions as :meth:`_send`, with ``httpx``.

        A client is made per call, so none is shared across event loops.

        :param call: the request.
        :param json_body: a JSON body.
        """
        settings = await self.aget_settings()
        policy = self.retry_policy
        if self._limiter is None or ssl_context.cache_info().currsize == 0:  # first use: file and CA I/O
            await asyncio.to_thread(lambda: (self._rate_limiter(settings), ssl_context()))
        limiter = self._rate_limiter(settings)
        target = join_url(settings.base_url, call.path)
        timeout = httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0))
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **auth_headers(settings.api_key)}
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True, verify=ssl_context()) as client:
            attempt = 0
            while True:
                attempt += 1
                await limiter.aacquire()
                try:
                    response = await client.request(call.method, target, json=json_body, headers=headers)
                except httpx.TransportError as exc:
                    failure = httpx_failure(exc)
                    delay = retry_delay(
                        attempt=attempt, policy=policy, idempotent=call.idempotent, failure=failure
                    )
                    if delay is None:
                        raise transport_error(call, failure, describe(exc), attempt) from exc
                    self.log.warning(
                        "%s failed (%s, %s); attempt %d of %d, retrying in %.1f s",
                        call.label, failure.value, describe(exc), attempt, policy.max_attempts, delay,
                    )  # fmt: skip
                    await asyncio.sleep(delay)
                    continue
                error, data = interpret_answer(
                    response.status_code, response.headers.get("Content-Type"), response.content, call=call
                )
                if error is None:
                    return data
                delay = self._delay_after_answer(
                    call, error, response.status_code, response.headers.get("Retry-After"), attempt, settings
                )
                await asyncio.sleep(delay)
