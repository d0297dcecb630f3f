"""A 300 MB upload and download stream through the hook with flat memory (peak RSS growth measured)."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import psutil
import pytest

from airflow_provider_mavi.hooks.mavi import MaviHook

from .conftest import Reply, ok

SIZE = 300 * 1024 * 1024
CHUNK = 1024 * 1024
LIMIT = 64 * 1024 * 1024


class PeakRss:
    """Samples this process's RSS every 10 ms in a thread."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.base = self.process.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.base


def zeros_sha256(size: int) -> str:
    digest = hashlib.sha256()
    block = b"\0" * CHUNK
    for _ in range(size // CHUNK):
        digest.update(block)
    return digest.hexdigest()


@pytest.mark.slow
def test_multipart_upload_of_300_mb_streams(hook, mavi_conn, tmp_path):
    source = tmp_path / "big.mp4"
    with source.open("wb") as out:
        out.truncate(SIZE)  # sparse: no disk or page cache needed to make it
    mavi_conn.route("POST", "/upload", ok({"asset_id": "re_big"}))
    with PeakRss() as rss:
        assert hook.upload_file(source, method="multipart") == "re_big"
    (seen,) = mavi_conn.seen("POST", "/upload")
    assert SIZE < seen.body_size < SIZE + 1024  # the file plus the multipart framing
    assert rss.growth < LIMIT, f"RSS grew by {rss.growth / 2**20:.1f} MiB"


@pytest.mark.slow
def test_signed_url_upload_of_300_mb_streams(mavi_conn, tmp_path):
    source = tmp_path / "big.mp4"
    with source.open("wb") as out:
        out.truncate(SIZE)
    signed = f"{mavi_conn.origin}/storage/big.mp4?X-Goog-Signature=abc"
    mavi_conn.route("POST", "/upload/signed-url", ok({"asset_id": "re_big", "signed_url": signed}))
    mavi_conn.route("POST", "//storage/big.mp4", Reply(200))
    hook = MaviHook()  # the default threshold (64 MiB) picks the signed URL
    with PeakRss() as rss:
        assert hook.upload_file(source) == "re_big"
    (seen,) = mavi_conn.seen("POST", "//storage/big.mp4")
    assert SIZE < seen.body_size < SIZE + 1024
    assert rss.growth < LIMIT, f"RSS grew by {rss.growth / 2**20:.1f} MiB"


@pytest.mark.slow
def test_download_of_300_mb_streams(hook, mavi_conn, tmp_path):
    def chunks():
        block = b"\0" * CHUNK
        for _ in range(SIZE // CHUNK):
            yield block

    headers = {
        "Content-Type": "video/mp4",
        "Content-Length": str(SIZE),
        "Content-Disposition": 'attachment; filename="big.mp4"',
    }
    mavi_conn.route("GET", "/re_big/download", Reply(200, chunks=chunks, headers=headers))
    with PeakRss() as rss:
        written = hook.download_asset("re_big", tmp_path)
    assert os.path.getsize(written) == SIZE
    digest = hashlib.sha256()
    with open(written, "rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    assert digest.hexdigest() == zeros_sha256(SIZE)
    assert rss.growth < LIMIT, f"RSS grew by {rss.growth / 2**20:.1f} MiB"
