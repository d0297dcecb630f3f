"""Unpacking a frame zip: every member checked before anything is written; only frames are taken."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.operators.download import frame_members
from airflow_provider_mavi.operators.mavi import MaviDownloadAssetOperator, MaviOperatorError


def _zip(entries: list[tuple[str, bytes]], *, link: str | None = None) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    buffer.seek(0)
    return zipfile.ZipFile(buffer)


@pytest.mark.parametrize(
    ("entries", "link", "match"),
    [
        ([("../evil.jpg", b"x")], None, "leaving the destination"),
        ([("frames/../../evil.jpg", b"x")], None, "leaving the destination"),
        ([("/etc/evil.jpg", b"x")], None, "absolute path"),
        ([("C:/evil.jpg", b"x")], None, "absolute path"),
        ([("..\\evil.jpg", b"x")], None, "leaving the destination"),
        ([("ok.jpg", b"x")], "link.jpg", "a link"),
        ([("a/f.jpg", b"x"), ("b/f.jpg", b"y")], None, "two frames named 'f.jpg'"),
        ([(f"{i}.jpg", b"x" * 10) for i in range(5)], None, "more than 4 frames"),
        ([("big.jpg", b"x" * 2000)], None, "1000 bytes"),
    ],
)
def test_unsafe_frame_zips_are_refused_before_writing(entries: Any, link: Any, match: str) -> None:
    with pytest.raises(MaviOperatorError, match=match) as caught:
        frame_members(_zip(entries, link=link), max_bytes=1000, max_files=4)
    assert "nothing was extracted" in str(caught.value)


def test_only_frames_are_taken_from_the_zip() -> None:
    archive = _zip(
        [("f/0.jpg", b"a"), ("f/1.JPEG", b"b"), ("notes.txt", b"c"), (".hidden.jpg", b"d"), ("d/", b"")]
    )
    assert [name for _, name in frame_members(archive, max_bytes=100, max_files=10)] == ["0.jpg", "1.JPEG"]


def test_a_refused_zip_writes_nothing(tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("0.jpg", b"\xff\xd8ok")
        archive.writestr("../../escape.jpg", b"\xff\xd8bad")
    monkeypatch.setattr(MaviHook, "download_asset", lambda self, asset_id, destination: str(evil))
    target = tmp_path / "frames"
    op = MaviDownloadAssetOperator(task_id="dl", asset_id="im_1", destination=str(target), extract=True)
    with pytest.raises(MaviOperatorError, match="leaving the destination"):
        op.execute(run.context("dl"))
    assert not target.exists()
    assert not (tmp_path.parent / "escape.jpg").exists()
