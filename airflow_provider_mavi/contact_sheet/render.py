"""Draw a planned contact sheet with Pillow, and encode it as JPEG or PNG."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageOps

from airflow_provider_mavi.contact_sheet.fonts import font

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_mavi.contact_sheet.layout import Layout, TileBox

BACKGROUND = (255, 255, 255)
TILE_BACKGROUND = (24, 24, 24)
UNREADABLE_TILE = (150, 150, 150)
RULE = (215, 215, 215)
#: Colour of each text style of :data:`.layout.STYLES`.
COLOURS: dict[str, tuple[int, int, int]] = {
    "title": (17, 17, 17),
    "subtitle": (70, 70, 70),
    "warning": (176, 60, 0),
    "time": (17, 17, 17),
    "index": (128, 128, 128),
    "tag-visual": (0, 112, 96),
    "tag-speech": (36, 84, 196),
    "body": (30, 30, 30),
    "muted": (128, 128, 128),
}
#: Styles drawn a little heavier (a 1 px stroke in the text's own colour; the bundled font has no bold).
HEAVY = frozenset({"title"})


def render(layout: Layout, frames: Mapping[int, Image.Image | None]) -> Image.Image:
    """Draw the sheet: tiles (a frame fitted and centred, or a grey tile when it could not be read), rules
    between rows, and every line of text.

    :param layout: the planned sheet.
    :param frames: the decoded frame of each tile's index, or ``None`` for an unreadable one.
    """
    sheet = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for box in layout.tiles:
        _tile(sheet, draw, box, frames.get(box.index))
    for x0, y, x1 in layout.rules:
        draw.line([(x0, y), (x1, y)], fill=RULE, width=1)
    for line in layout.lines:
        stroke = 1 if line.style in HEAVY else 0
        colour = COLOURS[line.style]
        draw.text(
            (line.x, line.y),
            line.text,
            font=font(line.size),
            fill=colour,
            stroke_width=stroke,
            stroke_fill=colour,
        )
    return sheet


def _tile(sheet: Image.Image, draw: ImageDraw.ImageDraw, box: TileBox, frame: Image.Image | None) -> None:
    """Draw one tile: the frame fitted and centred on a dark ground, or a crossed grey "frame unreadable".

    :param sheet: the sheet.
    :param draw: its drawing context.
    :param box: where the tile goes.
    :param frame: the decoded frame, or ``None`` when it could not be read.
    """
    right, bottom = box.x + box.width - 1, box.y + box.height - 1
    if frame is None:
        draw.rectangle([box.x, box.y, right, bottom], fill=UNREADABLE_TILE)
        draw.line([(box.x, box.y), (right, bottom)], fill=BACKGROUND, width=2)
        draw.line([(box.x, bottom), (right, box.y)], fill=BACKGROUND, width=2)
        label = "frame unreadable"
        size = max(12, box.width // 14)
        width = font(size).getlength(label)
        x, y = box.x + (box.width - width) / 2, box.y + (box.height - size) / 2
        draw.rectangle([x - 6, y - 4, x + width + 6, y + size + 6], fill=UNREADABLE_TILE)
        draw.text((x, y), label, font=font(size), fill=(255, 255, 255))
        return
    draw.rectangle([box.x, box.y, right, bottom], fill=TILE_BACKGROUND)
    fitted = ImageOps.contain(frame, (box.width, box.height), Image.Resampling.LANCZOS)
    sheet.paste(fitted, (box.x + (box.width - fitted.width) // 2, box.y + (box.height - fitted.height) // 2))


def encode(image: Image.Image, image_format: str, quality: int) -> bytes:
    """Encode the sheet. JPEG keeps full-resolution colour (no chroma subsampling), so text stays crisp.

    :param image: the drawn sheet.
    :param image_format: ``"JPEG"`` or ``"PNG"``.
    :param quality: the JPEG quality.
    """
    buffer = io.BytesIO()
    if image_format == "JPEG":
        image.save(buffer, format="JPEG", quality=quality, subsampling=0, optimize=True)
    else:
        image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
