"""Make a contact sheet from a folder of frames: read through ``ObjectStoragePath``, plan, draw, write."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath
from PIL import Image

from airflow_provider_mavi.contact_sheet.fonts import PillowMeasure
from airflow_provider_mavi.contact_sheet.layout import Layout, SheetOptions, SheetText, plan
from airflow_provider_mavi.contact_sheet.render import encode, render
from airflow_provider_mavi.contact_sheet.segments import (
    ContactSheetError,
    Segment,
    frame_clock,
    natural_key,
    sample,
    to_segments,
)
from airflow_provider_mavi.paths import storage_path

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

log = logging.getLogger(__name__)

#: Files in the frames folder that count as frames.
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
#: The sheet's format, by the output's suffix.
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
_NAMES_IN_NOTE = 3


def as_path(location: str | ObjectStoragePath) -> ObjectStoragePath:
    """A local path or URL (``s3://...``, ``file://...``) as an ``ObjectStoragePath``.

    :param location: the location.
    """
    return location if isinstance(location, ObjectStoragePath) else storage_path(str(location))


def list_frames(frames_dir: str | ObjectStoragePath, *, skip: str = "") -> list[ObjectStoragePath]:
    """The frames in a folder (image files, not hidden), in frame order: numbers in names compare as numbers.

    :param frames_dir: the folder.
    :param skip: a path to leave out (the sheet itself, should it be written among the frames).
    :raises ContactSheetError: when the folder does not exist.
    """
    directory = as_path(frames_dir)
    if not directory.is_dir():
        raise ContactSheetError(f"the frames folder {directory} does not exist: no contact sheet written")
    frames = [
        path
        for path in directory.iterdir()
        if path.name.lower().endswith(FRAME_SUFFIXES) and not path.name.startswith(".") and str(path) != skip
    ]
    # is_file() after the listing: object stores answer it from the listing they just cached
    return sorted((path for path in frames if path.is_file()), key=lambda p: natural_key(p.name))


def load_frame(path: ObjectStoragePath, box: tuple[int, int]) -> Image.Image | None:
    """Read one frame and shrink it to fit ``box``; ``None`` (and a warning) when it is not a readable image.

    Errors reading the file itself (a missing object, a network error) are raised: only a broken image is
    skipped.

    :param path: the frame.
    :param box: the largest ``(width, height)`` it is needed at.
    """
    data = path.read_bytes()
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", box)  # JPEG: decode at 1/2, 1/4 or 1/8 scale when that is enough
            image.load()
            frame = image.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        log.warning(
            "Contact sheet: frame %s is not a readable image (%s); drawn as a grey tile", path.name, exc
        )
        return None
    frame.thumbnail(box, Image.Resampling.LANCZOS)
    return frame


def read_transcript_segments(path: str | ObjectStoragePath) -> list[Segment]:
    """The segments of a transcript JSON written by ``MaviTranscribeVideoOperator(output_path=...)``.

    :param path: the ``<job id>.json`` file, local or remote.
    :raises ContactSheetError: when it is not such a document (naming the file).
    """
    source = as_path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ContactSheetError(f"the transcript {source} is not JSON ({exc})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("segments"), list):
        raise ContactSheetError(f"the transcript {source} has no 'segments' list")
    try:
        return to_segments(document["segments"], "description")
    except ContactSheetError as exc:
        raise ContactSheetError(f"the transcript {source}: {exc}") from exc


@dataclass(frozen=True)
class ContactSheet:
    """A drawn contact sheet, not yet written.

    :param image: the sheet.
    :param layout: where every tile and line of text is on it.
    :param info: ``{frames, tiles, every, interval_seconds, unreadable}``: what it shows.
    """

    image: Image.Image
    layout: Layout
    info: dict[str, Any]


def draw_contact_sheet(
    frames_dir: str | ObjectStoragePath,
    *,
    descriptions: Iterable[Mapping[str, Any] | Segment] | None = None,
    speech: Iterable[Mapping[str, Any] | Segment] | None = None,
    interval_seconds: float = 1.0,
    duration_seconds: float | None = None,
    title: str | None = None,
    options: SheetOptions | None = None,
    skip: str = "",
) -> ContactSheet:
    """Draw the contact sheet of the frames in ``frames_dir`` (see :func:`write_contact_sheet`).

    :param frames_dir: the folder of frames, a local path, URL or ``ObjectStoragePath``.
    :param descriptions: visual description segments.
    :param speech: speech segments, or ``None``.
    :param interval_seconds: seconds between two extracted frames.
    :param duration_seconds: the video's duration, or ``None`` when unknown.
    :param title: the first line of the sheet.
    :param options: sizes and limits.
    :param skip: a file of the folder that is not a frame (the sheet itself).
    :raises ContactSheetError: no frames, no readable frame among those shown, or bad segments.
    """
    options = options or SheetOptions()
    directory = as_path(frames_dir)
    text = SheetText(
        title=title or directory.name,
        descriptions=tuple(to_segments(descriptions, "description")),
        speech=tuple(to_segments(speech, "speech")),
    )
    frames = list_frames(directory, skip=skip)
    if not frames:
        raise ContactSheetError(
            f"no frames in {directory} (looked for {', '.join(FRAME_SUFFIXES)} files): "
            "no contact sheet written"
        )
    sampling = sample(len(frames), options.max_tiles)
    clock = frame_clock(len(frames), interval_seconds, duration_seconds)
    box = (options.tile_width, options.tile_max_height)
    images = {index: load_frame(frames[index], box) for index in sampling.indices}
    readable = [image for image in images.values() if image is not None]
    if not readable:
        raise ContactSheetError(
            f"none of the {sampling.shown} frames shown from {directory} is a readable image: "
            "no contact sheet written"
        )
    first = readable[0]
    tile_height = min(
        options.tile_max_height, max(16, round(options.tile_width * first.height / first.width))
    )
    unreadable = [frames[index].name for index, image in images.items() if image is None]
    if unreadable:
        names = ", ".join(unreadable[:_NAMES_IN_NOTE])
        if len(unreadable) > _NAMES_IN_NOTE:
            names += f" and {len(unreadable) - _NAMES_IN_NOTE} more"
        note = f"{len(unreadable)} of the frames shown could not be read as images (grey tiles): {names}."
        text = replace(text, notes=(note,))
    layout = plan(sampling, clock, tile_height, text, options, PillowMeasure())
    info = {
        "frames": sampling.total,
        "tiles": sampling.shown,
        "every": sampling.stride,
        "interval_seconds": clock.interval,
        "unreadable": unreadable,
    }
    return ContactSheet(image=render(layout, images), layout=layout, info=info)


def write_contact_sheet(
    frames_dir: str | ObjectStoragePath,
    output: str | ObjectStoragePath,
    *,
    descriptions: Iterable[Mapping[str, Any] | Segment] | None = None,
    speech: Iterable[Mapping[str, Any] | Segment] | None = None,
    interval_seconds: float = 1.0,
    duration_seconds: float | None = None,
    title: str | None = None,
    options: SheetOptions | None = None,
) -> dict[str, Any]:
    """Write a contact sheet of the frames in ``frames_dir`` to ``output`` (JPEG or PNG, by its suffix).

    A grid of the frames in frame order (numbers in file names compare as numbers), each with its time
    (frame ``i`` at ``i * interval_seconds``, checked against ``duration_seconds``: see
    :func:`~airflow_provider_mavi.contact_sheet.segments.frame_clock`) and number; under each row, the
    description and speech segments that share its time, wrapped. More than ``options.max_tiles`` frames
    are sampled evenly and the sheet says so. A frame that is not a readable image is drawn as a grey tile,
    logged and named on the sheet. Everything is read and written through ``ObjectStoragePath``; the sheet
    is encoded in memory and written in one go, and nothing is written when an error is raised.

    :param frames_dir: the folder of frames, a local path, URL or ``ObjectStoragePath``.
    :param output: the file to write, ending in ``.jpg``, ``.jpeg`` or ``.png``.
    :param descriptions: visual description segments, ``{start, end, text}`` (or ``start_time``/``end_time``
        as in a transcript JSON).
    :param speech: speech segments ``{start, end, text, speaker}``, or ``None`` when there is no speech.
    :param interval_seconds: seconds between two extracted frames (Mavi does not document it; the emulator
        takes one per second).
    :param duration_seconds: the video's duration, to check the interval against; ``None`` when unknown.
    :param title: the first line of the sheet (the video's name), default the folder's name.
    :param options: sizes and limits (:class:`SheetOptions`).
    :return: ``{path, format, width, height, bytes, frames, tiles, every, interval_seconds, unreadable}``.
    :raises ContactSheetError: no frames, no readable frame among those shown, a bad output suffix or bad
        segments.
    """
    options = options or SheetOptions()
    target = as_path(output)
    image_format = FORMATS.get(target.suffix.lower())
    if image_format is None:
        raise ContactSheetError(f"the contact sheet {target} must end in .jpg, .jpeg or .png")
    sheet = draw_contact_sheet(
        frames_dir,
        descriptions=descriptions,
        speech=speech,
        interval_seconds=interval_seconds,
        duration_seconds=duration_seconds,
        title=title,
        options=options,
        skip=str(target),
    )
    data = encode(sheet.image, image_format, options.jpeg_quality)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    info = sheet.info
    log.info(
        "Contact sheet %s: %s of %s frames (every %s), %sx%s px, %s bytes",
        target,
        info["tiles"],
        info["frames"],
        info["every"],
        sheet.layout.width,
        sheet.layout.height,
        len(data),
    )
    return {
        "path": str(target),
        "format": image_format.lower(),
        "width": sheet.layout.width,
        "height": sheet.layout.height,
        "bytes": len(data),
        **info,
    }
