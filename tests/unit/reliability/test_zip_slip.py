"""Zip-slip, generated: frame zips whose member names try to leave the destination.

Hypothesis builds member names from traversal pieces (``..``, ``.``, empty segments, ``/`` and ``\\``
separators, absolute roots, drive letters, UNC shares, dot files, odd code points) around real JPEG
bytes, writes them into a real zip file, and runs the provider's unpacking (``read_frames`` then
``write_frames``, what ``MaviDownloadAssetOperator(extract=True)`` does) into a folder with a sibling next
to it. Every zip is either refused, saying nothing was extracted, with nothing written anywhere, or
unpacked with every file directly inside the destination. The figure is printed (RELIABILITY.md quotes
it).
"""

from __future__ import annotations

import tempfile
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.sdk import ObjectStoragePath
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.operators.download import write_frames
from airflow_provider_mavi.operators.frame_zip import read_frames

JPEG = b"\xff\xd8\xff\xe0" + b"frame" * 8
EXAMPLES = 200

segments = st.sampled_from(["..", ".", "", "frames", "a b", "é", "...", "C:", "~", "%2e%2e"]) | st.text(
    st.characters(blacklist_categories=("Cs",)), max_size=6
)
leaves = st.sampled_from(["0.jpg", "1.JPEG", "evil.jpg", ".hidden.jpg", "..jpg", "x.png", "notes.txt"])
roots = st.sampled_from(["", "", "/", "\\", "C:/", "C:\\", "//host/share/"])
separators = st.sampled_from(["/", "\\"])


@st.composite
def member_names(draw: st.DrawFn) -> str:
    """One member name: a root, some traversal pieces and a leaf, joined by either separator."""
    parts = [*draw(st.lists(segments, max_size=4)), draw(leaves)]
    return draw(roots) + draw(separators).join(parts)


def tree(root: Path) -> set[str]:
    """Every path under ``root``, relative to it."""
    return {str(path.relative_to(root)) for path in root.rglob("*")}


outcomes: Counter[str] = Counter()


@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(names=st.lists(member_names(), min_size=1, max_size=4))
def test_a_member_name_never_leads_outside_the_destination(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        archive = root / "frames.zip"
        with warnings.catch_warnings(), zipfile.ZipFile(archive, "w") as zipped:
            warnings.simplefilter("ignore")  # a repeated name is part of what is tried
            for name in names:
                zipped.writestr(name, JPEG)
        (root / "sibling").mkdir()
        destination = root / "sibling" / "frames"
        before = tree(root)
        refused: MaviOperatorError | None = None
        try:
            frames = read_frames(str(archive), asset_id="im_1", max_bytes=10_000, max_files=10)
            written = write_frames(str(archive), frames, ObjectStoragePath(f"file://{destination}"))
        except MaviOperatorError as error:
            refused = error
        if refused is not None:
            assert "nothing was extracted" in str(refused), str(refused)
            assert tree(root) == before  # nothing written anywhere
            outcomes["refused"] += 1
            return
        for item in written:
            path = Path(str(item["path"]).removeprefix("file://"))
            assert path.parent == destination, (names, item)
        # nothing outside the destination changed
        assert {p for p in tree(root) if not p.startswith("sibling/frames")} == before
        outcomes["extracted" if written else "no frame taken"] += 1


@pytest.fixture(autouse=True, scope="module")
def figure() -> Iterator[None]:
    """Print how the generated zips ended (after the module's tests)."""
    yield
    total = sum(outcomes.values())
    print(f"\nzip-slip: {total} generated frame zips: {dict(outcomes)}; none wrote outside the destination")
