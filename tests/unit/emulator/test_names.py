"""Upload file names: what is kept can never reach the file system, and what is refused says why."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.emulator.names import MAX_NAME_BYTES, BadName, disk_suffix, parse


@settings(max_examples=500, derandomize=True)
@given(raw=st.text(max_size=300) | st.text(st.sampled_from("./\\ \x00é🎬.aZ"), max_size=20))
def test_a_kept_name_is_safe_text_and_a_refused_one_is_badname(raw):
    try:
        name = parse(raw)
    except BadName:
        return
    whole = f"{name.stem}.{name.extension}" if name.extension else name.stem
    assert "/" not in whole
    assert "\\" not in whole
    assert whole not in ("", ".", "..")
    assert whole.strip()
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in whole)
    assert len(whole.encode("utf-8")) <= MAX_NAME_BYTES + 1  # the extension may lose nothing but its case
    json.dumps(whole, ensure_ascii=False).encode("utf-8")  # round-trips through a JSON answer
    assert re.fullmatch(r"(\.[a-z0-9]{1,16})?", disk_suffix(name.extension))


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("clip.MP4", ("clip", "mp4")),
        ("dir/sub/clip.mov", ("clip", "mov")),
        ("C:\\Users\\me\\clip.avi", ("clip", "avi")),
        ("../../etc/passwd", ("passwd", "")),
        (".hidden", (".hidden", "")),
        ("a.", ("a", "")),
        ("archive.tar.gz", ("archive.tar", "gz")),
        ("vidéo 🎬.mkv", ("vidéo 🎬", "mkv")),
        ("\u202eevil.mp4", ("\u202eevil", "mp4")),
        ("x" * 251 + ".mp4", ("x" * 251, "mp4")),
    ],
)
def test_kept_names(raw, kept):
    name = parse(raw)
    assert (name.stem, name.extension) == kept


@pytest.mark.parametrize(
    ("raw", "blank", "why"),
    [
        (None, True, "empty"),
        ("", True, "empty"),
        ("  \t", True, "empty"),
        ("dir/", True, "blanks"),
        (" .", True, "blanks"),
        ("...", False, "not a file name"),
        ("..", False, "not a file name"),
        ("a/..", False, "not a file name"),
        ("a\x00b.mp4", False, "control character (U+0000)"),
        ("line\nbreak.mp4", False, "control character (U+000A)"),
        ("del\x7f.mp4", False, "control character (U+007F)"),
        ("c1\x85.mp4", False, "control character (U+0085)"),
        ("\ud800.mp4", False, "surrogate (U+D800)"),
        ("x" * 252 + ".mp4", False, "256 bytes"),
        ("é" * 128, False, "256 bytes"),
    ],
)
def test_refused_names_say_why(raw, blank, why):
    with pytest.raises(BadName) as caught:
        parse(raw)
    assert caught.value.blank is blank
    assert why in caught.value.reason


def test_disk_suffix_only_for_plain_extensions():
    assert disk_suffix("mp4") == ".mp4"
    assert disk_suffix("") == ""
    assert disk_suffix("x" * 17) == ""
    assert disk_suffix("mp\x004") == ""
    assert disk_suffix("ñ") == ""
