"""Reporters' files lose their metadata and keep their content; what cannot be cleaned
is said so (None), so that it is not passed on."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from openpyxl.comments import Comment
from PIL import ExifTags, Image, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from bot.scrub import without_metadata

NAME = "Siti Aminah"


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
    info.add_text("Author", NAME)
    out = io.BytesIO()
    Image.new("RGBA", (4, 4)).save(out, "PNG", pnginfo=info)
    clean = without_metadata(out.getvalue())
    assert clean is not None and NAME.encode() not in clean
    with Image.open(io.BytesIO(clean)) as cleaned:
        assert cleaned.size == (4, 4) and cleaned.mode == "RGBA"


def pdf_by(author: str, pages: int = 2) -> bytes:
    """A PDF naming its author in the document information and in an XMP stream."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 300)
    writer.add_metadata({"/Author": author, "/Title": "Surat pengaduan"})
    xmp = DecodedStreamObject()
    xmp.set_data(f'<x:xmpmeta xmlns:x="adobe:ns:meta/">{author}</x:xmpmeta>'.encode())
    xmp[NameObject("/Type")] = NameObject("/Metadata")
    xmp[NameObject("/Subtype")] = NameObject("/XML")
    writer.root_object[NameObject("/Metadata")] = writer._add_object(xmp)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_loses_its_author_and_xmp_and_keeps_its_pages() -> None:
    original = pdf_by(NAME, pages=3)
    assert original.count(NAME.encode()) == 2
    clean = without_metadata(original)
    assert clean is not None and NAME.encode() not in clean
    reader = PdfReader(io.BytesIO(clean))
    assert len(reader.pages) == 3 and not reader.metadata
    assert "/Metadata" not in reader.trailer["/Root"]


def docx_by(author: str) -> bytes:
    """A Word file whose properties, tracked change and comment name its author."""
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.'
        'openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": "<Relationships/>",
        "word/document.xml": f'<w:document xmlns:w="w"><w:ins w:author="{author}" w:id="1">'
        "<w:t>Jalan rusak di depan sekolah</w:t></w:ins></w:document>",
        "word/comments.xml": f'<w:comments xmlns:w="w"><w:comment w:author="{author}" '
        'w:initials="SA" w:id="0"><w:t>cek lagi</w:t></w:comment></w:comments>',
        "docProps/core.xml": f"<cp:coreProperties><dc:creator>{author}</dc:creator>"
        f"<cp:lastModifiedBy>{author}</cp:lastModifiedBy></cp:coreProperties>",
        "docProps/app.xml": "<Properties><Company>Kantor Siti</Company></Properties>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for name, text in parts.items():
            package.writestr(name, text)
    return out.getvalue()


def unpacked(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def test_a_word_file_loses_its_authors_and_keeps_its_text() -> None:
    clean = without_metadata(docx_by(NAME))
    assert clean is not None
    parts = unpacked(clean)
    assert sorted(parts) == sorted(unpacked(docx_by(NAME)))  # no part dropped
    everything = b"".join(parts.values())
    assert NAME.encode() not in everything and b"Kantor Siti" not in everything
    assert b'w:initials=""' in parts["word/comments.xml"]
    assert b"Jalan rusak di depan sekolah" in parts["word/document.xml"]


def test_an_excel_file_loses_its_creator_and_comment_authors() -> None:
    book = openpyxl.Workbook()
    book.properties.creator = NAME
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "Pungutan Rp50.000"
    sheet["A1"].comment = Comment("dibayar di loket 3", NAME)
    out = io.BytesIO()
    book.save(out)
    assert NAME.encode() in b"".join(unpacked(out.getvalue()).values())

    clean = without_metadata(out.getvalue())
    assert clean is not None
    assert NAME.encode() not in b"".join(unpacked(clean).values())
    cleaned = openpyxl.load_workbook(io.BytesIO(clean)).active
    assert cleaned is not None and cleaned["A1"].value == "Pungutan Rp50.000"
    assert cleaned["A1"].comment is not None
    assert "dibayar di loket 3" in cleaned["A1"].comment.text


def test_plain_text_has_nothing_to_remove() -> None:
    text = b"Pungutan liar di loket 3, Rp50.000.\n"
    assert without_metadata(text) == text


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 600,  # an old .doc/.xls (OLE): not cleaned
        b"%PDF-1.7\n%%EOF\n",  # a broken PDF
        b"\xff\xd8\xff\xe0 not really a jpeg",
        b"MZ\x90\x00" + b"\x00" * 60,  # nothing we know
    ],
)
def test_what_cannot_be_cleaned_is_said_so(data: bytes) -> None:
    assert without_metadata(data) is None


def test_a_gif_is_not_passed_on_unchecked() -> None:
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, "GIF")
    assert without_metadata(out.getvalue()) is None  # not a format we re-encode
