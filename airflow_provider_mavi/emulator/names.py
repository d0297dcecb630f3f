"""Upload file names: which the emulator accepts, and what it keeps of them.

The docs say nothing about odd names, so the emulator fixes one rule (README, "Behaviour where the docs are
silent"): the client's name is only ever a label in metadata and in a download's ``Content-Disposition``;
the bytes are stored under the asset id (plus the extension when it is plain ASCII letters and digits), so
no name can reach the file system. A name is kept when it is text that round-trips through JSON and HTTP:

- a path is cut to its last component (``/`` and ``\\`` both separate: Windows clients send full paths);
- an empty or blank name is ``<field> cannot be null or empty``;
- a name that would read ``.`` or ``..`` once a trailing dot is dropped, a control character (NUL, CR,
  LF, DEL, C1), a lone surrogate (not encodable as UTF-8) or more than :data:`MAX_NAME_BYTES` bytes of
  UTF-8 is refused like every other invalid value in v2: 400 ``Request has exceeded the limit.``;
- any other code point (accents, emoji, right-to-left marks, spaces) is kept as sent.

Two uploads with the same name are two assets with their own files.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: The longest name kept, in UTF-8 bytes: what common file systems allow for one file name, so a download
#: can be saved under its own name.
MAX_NAME_BYTES = 255
_DISK_SUFFIX = re.compile(r"[a-z0-9]{1,16}")
_REFUSED_CATEGORIES = ("Cc", "Cs")  # control characters, surrogates


class BadName(ValueError):
    """A file name the emulator refuses.

    :param reason: why, for the emulator's log (the answer carries Mavi's message, see the caller).
    :param blank: the name is empty or blank (``<field> cannot be null or empty``).
    """

    def __init__(self, reason: str, *, blank: bool = False) -> None:
        """Keep the reason."""
        super().__init__(reason)
        self.reason = reason
        self.blank = blank


@dataclass(frozen=True)
class UploadName:
    """What the emulator keeps of a client's file name.

    :param stem: the name without its extension (metadata's ``original_filename``).
    :param extension: the lower-case extension, ``""`` when there is none.
    """

    stem: str
    extension: str


def disk_suffix(extension: str) -> str:
    """Return the suffix of a stored file: ``.ext`` when the extension is plain ASCII, else nothing.

    :param extension: the asset's extension.
    """
    return f".{extension}" if _DISK_SUFFIX.fullmatch(extension) else ""


def parse(raw: str | None) -> UploadName:
    """Check a client's file name and split it into name and extension.

    :param raw: the name as sent (a multipart ``filename`` or ``original_filename``).
    :raises BadName: when the name is refused (see the module's rules).
    """
    if raw is None or not raw.strip():
        raise BadName("empty name", blank=True)
    base = re.split(r"[/\\]", raw)[-1]
    bad = next((c for c in base if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        kind = "a surrogate" if unicodedata.category(bad) == "Cs" else "a control character"
        raise BadName(f"the name holds {kind} (U+{ord(bad):04X})")
    size = len(base.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise BadName(f"the name is {size} bytes of UTF-8, more than {MAX_NAME_BYTES}")
    stem, dot, ext = base.rpartition(".")
    name = UploadName(stem, ext.lower()) if dot and stem else UploadName(base, "")
    label = f"{name.stem}.{name.extension}" if name.extension else name.stem
    if not label.strip():
        raise BadName("nothing but blanks after the last path separator", blank=True)
    if label in (".", ".."):
        raise BadName(f"{label!r} is not a file name")
    return name
