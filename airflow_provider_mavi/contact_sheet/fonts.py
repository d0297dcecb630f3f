"""The sheet's font: Pillow's bundled scalable font, present wherever Pillow >= 10.1 is, and what it can draw.

``ImageFont.load_default(size=...)`` is the Aileron Regular font embedded in Pillow (drawn with FreeType,
which Pillow's wheels ship), so no system font is needed. It covers ASCII and a little typography, not
accented letters or other scripts: :func:`drawable` folds accents away (``é`` -> ``e``) and typographic
dashes to ``-``, and replaces what is left with ``?``, so the sheet never shows empty boxes.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

from PIL import ImageFont

from airflow_provider_mavi.contact_sheet.segments import ContactSheetError

if TYPE_CHECKING:
    from collections.abc import Callable

#: Characters the bundled font lacks, drawn as a near equivalent it has.
FOLDS = {
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u00a0": " ",
    "\u00d7": "x",
    "\u2022": "\u00b7",
    "\u201e": '"',
    "\u201a": "'",
    "\u00df": "ss",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00f8": "o",
    "\u00d8": "O",
    "\u0142": "l",
    "\u0141": "L",
    "\u0111": "d",
    "\u0110": "D",
}
_PROBE_SIZE = 20


@lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font at ``size`` pixels.

    :param size: the font size in pixels.
    :raises ContactSheetError: when Pillow was built without FreeType (its wheels always have it).
    """
    loaded = ImageFont.load_default(size=size)
    if not isinstance(loaded, ImageFont.FreeTypeFont):
        raise ContactSheetError(
            "the contact sheet needs Pillow >= 10.1 built with FreeType (the wheels on PyPI are); "
            "this Pillow only has its fixed-size bitmap font"
        )
    return loaded


def _mask(character: str) -> tuple[tuple[int, int], bytes]:
    """The glyph of ``character`` as drawn (size and pixels), to compare with the missing-glyph box.

    :param character: one character.
    """
    mask = font(_PROBE_SIZE).getmask(character)
    return mask.size, bytes(mask)


@lru_cache(maxsize=4096)
def can_draw(character: str) -> bool:
    """Tell whether the bundled font has a glyph for ``character`` (not its "missing glyph" box).

    :param character: one character.
    """
    return character == " " or _mask(character) != _mask("\U0010fffd")


def drawable(text: str, has_glyph: Callable[[str], bool] = can_draw) -> str:
    """Return ``text`` as the font can draw it: accents folded, dashes made plain, unknown characters ``?``.

    When most of the text is in a script the font lacks, a short note replaces it rather than a row of
    question marks.

    :param text: any text.
    :param has_glyph: tells whether the font has a character.
    """
    out: list[str] = []
    missing = 0
    for character in text:
        if has_glyph(character):
            out.append(character)
            continue
        folded = FOLDS.get(character)
        if folded is None:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", character) if not unicodedata.combining(c)
            )
            folded = base if base and all(has_glyph(c) for c in base) else None
        if folded is None:
            missing += 1
            folded = "?"
        out.append(folded)
    visible = sum(1 for c in text if not c.isspace())
    if missing and missing * 2 > visible:
        return f"({missing} characters the sheet's font cannot draw: read them in the transcript)"
    return "".join(out)


class PillowMeasure:
    """The :class:`~airflow_provider_mavi.contact_sheet.layout.TextMeasure` of the bundled font."""

    def width(self, text: str, size: int) -> float:
        """The advance width of ``text`` in pixels.

        :param text: one line of text.
        :param size: the font size in pixels.
        """
        return float(font(size).getlength(text))

    def clean(self, text: str) -> str:
        """``text`` as the bundled font can draw it (see :func:`drawable`).

        :param text: any text.
        """
        return drawable(text)
