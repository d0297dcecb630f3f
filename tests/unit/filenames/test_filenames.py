"""Download file names: Content-Disposition read, and made safe to write in a directory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_mavi import filenames


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="clip.mp4"', "clip.mp4"),
        ("attachment; filename=plain.mov", "plain.mov"),
        ("attachment; filename*=UTF-8''na%C3%AFve.mp4; filename=\"naive.mp4\"", "naïve.mp4"),
        ('attachment; filename="../../x.sh"', "x.sh"),
        ('attachment; filename="C:\\\\Windows\\\\evil.exe"', "evil.exe"),
        ('attachment; filename="con.mp4"', "re_1.mp4"),
        ('attachment; filename="a:b*c?.mp4"', "a_b_c_.mp4"),
        (None, "re_1.mp4"),
        ("garbage;;;", "re_1.mp4"),
    ],
)
def test_download_filename(header, expected):
    assert filenames.download_filename(header, "re_1", "video/mp4") == expected


def test_fallback_extension_from_content_type():
    assert filenames.download_filename(None, "im_5", "application/zip") == "im_5.zip"
    assert filenames.download_filename(None, "imc_5_0", "image/jpeg; charset=binary") == "imc_5_0.jpg"
    assert filenames.download_filename(None, "re_5", None) == "re_5"


def test_long_names_keep_their_extension():
    name = filenames.safe_filename("é" * 300 + ".mp4", "f")
    assert name.endswith(".mp4")
    assert len(name.encode()) <= filenames.MAX_FILENAME_BYTES
    name.encode().decode()  # never cut inside a character


@given(st.text(max_size=300))
def test_safe_filename_never_escapes(name):
    safe = filenames.safe_filename(name, "fallback.bin")
    assert safe
    assert "/" not in safe
    assert "\\" not in safe
    assert safe not in (".", "..")
    assert not safe.startswith(".")
    assert all(ch.isprintable() for ch in safe)
    assert len(safe.encode()) <= filenames.MAX_FILENAME_BYTES
