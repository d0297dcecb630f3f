"""Helpers for the contact sheet tests: real JPEG frames made with Pillow, and a fixed-width text measure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image


def colour_of(index: int) -> tuple[int, int, int]:
    """A distinct, flat colour per frame (far from white and from the tile background)."""
    return (40 + (index * 67) % 200, 40 + (index * 131) % 200, 40 + (index * 29) % 200)


@pytest.fixture
def frame_colour() -> Callable[[int], tuple[int, int, int]]:
    """The colour of frame ``index`` made by ``make_frames``."""
    return colour_of


@pytest.fixture
def make_frames(tmp_path: Path) -> Callable[..., Path]:
    """Write ``count`` real JPEG frames, each one flat colour, named as the emulator names them."""

    def make(
        count: int,
        size: tuple[int, int] = (320, 240),
        folder: str = "frames",
        name: str = "clip.mp4_frame_{index:05d}.jpg",
    ) -> Path:
        directory = tmp_path / folder
        directory.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            Image.new("RGB", size, colour_of(index)).save(directory / name.format(index=index), quality=90)
        return directory

    return make


class FixedWidth:
    """A text measure where every character is half the font size wide; text passes unchanged."""

    def width(self, text: str, size: int) -> float:
        return len(text) * size * 0.5

    def clean(self, text: str) -> str:
        return text


@pytest.fixture
def fixed_width() -> FixedWidth:
    """A fixed-width text measure: at size 20, 10 px a character."""
    return FixedWidth()
