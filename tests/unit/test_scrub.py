"""Images lose their metadata, keep their picture; anything else is left alone."""

from __future__ import annotations

import io

from PIL import ExifTags, Image, PngImagePlugin

from bot.scrub import without_metadata


def test_a_jpeg_loses_exif_and_stays_upright() -> None:
    image = Image.new("RGB", (30, 10), "blue")
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # the camera was turned: shown rotated 90°
    exif[ExifTags.Base.Make] = "HP Siti"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "S", 2: (6.0, 54.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)

    clean = without_metadata(out.getvalue())
    assert clean is not None
    with Image.open(io.BytesIO(clean)) as cleaned:
        assert not cleaned.getexif() and cleaned.size == (10, 30)  # rotated into the pixels
    assert b"HP Siti" not in clean


def test_a_png_loses_its_text_chunks() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Siti Rahma")
    out = io.BytesIO()
    Image.new("RGBA", (4, 4)).save(out, "PNG", pnginfo=info)
    clean = without_metadata(out.getvalue())
    assert clean is not None and b"Siti Rahma" not in clean
    with Image.open(io.BytesIO(clean)) as cleaned:
        assert cleaned.size == (4, 4) and cleaned.mode == "RGBA"


def test_what_is_not_an_image_is_left_alone() -> None:
    assert without_metadata(b"%PDF-1.7\n%%EOF\n") is None
    assert without_metadata(b"") is None
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, "GIF")
    assert without_metadata(out.getvalue()) is None  # not a format that carries EXIF
