"""Contact sheets: a video's extracted frames in a grid, with their times and what Mavi said about them.

Public: :func:`write_contact_sheet` (and :func:`draw_contact_sheet`, which stops before writing),
:func:`read_transcript_segments`, :class:`Segment`, :class:`SheetOptions` and :class:`ContactSheetError`.
The example pipeline DAG uses them; so can yours.
"""

from __future__ import annotations

from airflow_provider_mavi.contact_sheet.layout import SheetOptions
from airflow_provider_mavi.contact_sheet.segments import ContactSheetError, Segment
from airflow_provider_mavi.contact_sheet.sheet import (
    ContactSheet,
    draw_contact_sheet,
    read_transcript_segments,
    write_contact_sheet,
)

__all__ = [
    "ContactSheet",
    "ContactSheetError",
    "Segment",
    "SheetOptions",
    "draw_contact_sheet",
    "read_transcript_segments",
    "write_contact_sheet",
]
