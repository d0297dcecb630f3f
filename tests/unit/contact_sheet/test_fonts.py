"""The bundled font: scalable, present with Pillow, and what it cannot draw is folded, never a box."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from airflow_provider_mavi.contact_sheet.fonts import PillowMeasure, can_draw, drawable, font


def test_the_font_is_pillows_bundled_scalable_font() -> None:
    small, large = font(18), font(36)
    assert isinstance(small, ImageFont.FreeTypeFont)
    assert small.getname() == large.getname()
    # scalable: the text doubles with the size (a bitmap font would not change)
    assert large.getbbox("0:12")[3] >= 1.8 * small.getbbox("0:12")[3]


def test_the_font_draws_readable_glyphs_at_the_caption_size() -> None:
    image = Image.new("L", (200, 40), 255)
    ImageDraw.Draw(image).text((4, 4), "0:12 #12", font=font(17), fill=0)
    box = Image.eval(image, lambda v: 255 - v).getbbox()
    assert box is not None
    left, top, right, bottom = box
    assert bottom - top >= 11, "digits at least 11 px tall"
    assert right - left >= 55
    # distinct strings draw differently (glyphs, not one placeholder for everything)
    other = Image.new("L", (200, 40), 255)
    ImageDraw.Draw(other).text((4, 4), "0:13 #13", font=font(17), fill=0)
    assert image.tobytes() != other.tobytes()


def test_what_the_font_has_and_lacks() -> None:
    assert all(can_draw(c) for c in "Az09 :-#.,()'\"…·")
    assert not can_draw("中")
    assert not can_draw("é"), "the bundled font has no accented letters: they are folded"


def test_drawable_folds_accents_and_dashes() -> None:
    assert drawable("café \u2013 naïve “quoted” Straße Ærø") == "cafe - naive “quoted” Strasse AEro"
    assert drawable("plain ASCII stays") == "plain ASCII stays"


def test_drawable_marks_a_few_unknown_characters_and_replaces_a_foreign_script() -> None:
    assert drawable("a cat 猫 sits") == "a cat ? sits"
    note = drawable("一只猫坐在垫子上")
    assert note == "(8 characters the sheet's font cannot draw: read them in the transcript)"
    assert all(can_draw(c) for c in note)


def test_measure_matches_the_font() -> None:
    measure = PillowMeasure()
    assert measure.width("0:12", 18) == font(18).getlength("0:12")
    assert measure.width("0:12", 36) > measure.width("0:12", 18)
    assert measure.clean("é") == "e"
