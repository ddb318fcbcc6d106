"""Reporters' files lose their metadata and keep their content; what cannot be cleaned
is said so (None), so that it is not passed on."""

from __future__ import annotations

import io
import zipfile
from typing import Any, cast

import openpyxl
import pytest
from openpyxl.comments import Comment
from PIL import ExifTags, Image, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

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
    assert "/Metadata" not in cast(DictionaryObject, reader.trailer["/Root"])


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


def test_a_jpeg_loses_its_comment() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG", comment=f"HP {NAME} 0812-3456-7890")
    with Image.open(io.BytesIO(out.getvalue())) as original:
        assert NAME in original.info["comment"].decode()

    clean = without_metadata(out.getvalue())
    assert clean is not None and NAME.encode() not in clean and b"0812" not in clean
    with Image.open(io.BytesIO(clean)) as cleaned:
        assert "comment" not in cleaned.info and cleaned.size == (8, 8)


def test_a_png_loses_compressed_text_xmp_and_its_colour_profile_notes() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("Description", f"difoto oleh {NAME}", zip=True)
    info.add_text("XML:com.adobe.xmp", f"<x:xmpmeta>{NAME}</x:xmpmeta>", zip=True)
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG", pnginfo=info, icc_profile=NAME.encode() * 4)
    clean = without_metadata(out.getvalue())
    assert clean is not None
    with Image.open(io.BytesIO(clean)) as cleaned:
        cleaned.load()
        assert not {k: v for k, v in cleaned.info.items() if NAME in str(v)}
        assert "icc_profile" not in cleaned.info and cleaned.size == (4, 4)


def pdf_with_active_content() -> bytes:
    """A one-picture PDF carrying scripts, an attached file, a named annotation and XMP
    on its page and on its picture."""
    picture = io.BytesIO()
    Image.new("RGB", (20, 20), "green").save(picture, "PDF")
    writer = PdfWriter(clone_from=PdfReader(picture))
    writer.add_blank_page(200, 300)

    def script(code: str) -> DictionaryObject:
        return DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject(code),
            }
        )

    def xmp() -> IndirectObject:
        stream = DecodedStreamObject()
        stream.set_data(f"<x:xmpmeta>{NAME}</x:xmpmeta>".encode())
        stream[NameObject("/Type")] = NameObject("/Metadata")
        stream[NameObject("/Subtype")] = NameObject("/XML")
        return writer._add_object(stream)

    root = writer.root_object
    root[NameObject("/OpenAction")] = writer._add_object(script("app.alert('buka')"))
    root[NameObject("/AA")] = DictionaryObject({NameObject("/WC"): script("app.alert('tutup')")})
    tree = DictionaryObject(
        {
            NameObject("/Names"): ArrayObject(
                [TextStringObject("mulai"), writer._add_object(script("app.alert('nama')"))]
            )
        }
    )
    root[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})
    writer.add_attachment("ktp.txt", b"NIK 3171234567890001")
    page = writer.pages[0]
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): script("app.alert('hal')")})
    page[NameObject("/Metadata")] = xmp()
    for image in cast(Any, page["/Resources"])["/XObject"].values():
        image.get_object()[NameObject("/Metadata")] = xmp()
    note = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Text"),
            NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (10, 10, 30, 30)]),
            NameObject("/Contents"): TextStringObject("lubang di sini"),
            NameObject("/T"): TextStringObject(NAME),
        }
    )
    attached = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/FileAttachment"),
            NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (40, 40, 60, 60)]),
            NameObject("/FS"): TextStringObject("kk.pdf"),
        }
    )
    page[NameObject("/Annots")] = ArrayObject(
        [writer._add_object(note), writer._add_object(attached)]
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_loses_scripts_attachments_annotation_authors_and_picture_xmp() -> None:
    original = pdf_with_active_content()
    for leak in (b"/JS", b"3171234567890001", NAME.encode(), b"/FileAttachment"):
        assert leak in original

    clean = without_metadata(original)
    assert clean is not None
    for leak in (b"/JS", b"/JavaScript", b"3171234567890001", NAME.encode()):
        assert leak not in clean, leak
    reader = PdfReader(io.BytesIO(clean))
    root = cast(DictionaryObject, reader.trailer["/Root"])
    assert "/OpenAction" not in root and "/AA" not in root
    assert "/JavaScript" not in root.get("/Names", {})
    assert "/EmbeddedFiles" not in root.get("/Names", {})
    page = reader.pages[0]
    assert "/AA" not in page and "/Metadata" not in page
    images = [i.get_object() for i in cast(Any, page["/Resources"])["/XObject"].values()]
    assert images and all("/Metadata" not in i for i in images)
    (note,) = [a.get_object() for a in cast(Any, page["/Annots"])]  # the attached file is gone
    assert note["/Contents"] == "lubang di sini" and "/T" not in note
    image = page.images[0].image
    assert len(reader.pages) == 2 and image is not None and image.size == (20, 20)


CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Override PartName="/word/document.xml" ContentType="doc"/>'
    '<Override PartName="/customXml/itemProps1.xml" ContentType="props"/></Types>'
)
TEMPLATE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"
CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"


def test_a_word_file_loses_its_template_path_and_custom_xml() -> None:
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": "<Relationships/>",
        "word/document.xml": '<w:document xmlns:w="w"><w:t>Jalan rusak</w:t></w:document>',
        "word/_rels/document.xml.rels": '<Relationships xmlns="r">'
        '<Relationship Id="rId1" Type="settings" Target="settings.xml"/>'
        f'<Relationship Id="rId9" Type="{CUSTOM}" Target="../customXml/item1.xml"/>'
        "</Relationships>",
        "word/settings.xml": '<w:settings xmlns:w="w" xmlns:r="r">'
        '<w:attachedTemplate r:id="rId1"/></w:settings>',
        "word/_rels/settings.xml.rels": '<Relationships xmlns="r">'
        f'<Relationship Id="rId1" Type="{TEMPLATE}" TargetMode="External" Target='
        '"file:///C:\\Users\\siti.aminah\\AppData\\Roaming\\Microsoft\\Templates\\Normal.dotm"/>'
        "</Relationships>",
        "customXml/item1.xml": f"<b:Sources><b:Author>{NAME}</b:Author></b:Sources>",
        "customXml/itemProps1.xml": "<ds:datastoreItem/>",
        "customXml/_rels/item1.xml.rels": "<Relationships/>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for name, text in parts.items():
            package.writestr(name, text)

    clean = without_metadata(out.getvalue())
    assert clean is not None
    cleaned = unpacked(clean)
    everything = b"".join(cleaned.values())
    assert b"siti.aminah" not in everything and NAME.encode() not in everything
    assert not [name for name in cleaned if name.startswith("customXml/")]
    assert b"customXml" not in everything  # no relationship or type names a missing part
    assert b'Target="Normal.dotm"' in cleaned["word/_rels/settings.xml.rels"]
    assert b"Jalan rusak" in cleaned["word/document.xml"]
    assert b'Target="settings.xml"' in cleaned["word/_rels/document.xml.rels"]


def test_an_excel_file_loses_the_folder_it_was_saved_in() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "Pungutan Rp50.000"
    out = io.BytesIO()
    book.save(out)
    parts = unpacked(out.getvalue())
    saved_in = (
        '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/'
        '2006"><mc:Choice Requires="x15"><x15ac:absPath url="C:\\Users\\siti.aminah\\Documents\\"'
        ' xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac"/>'
        "</mc:Choice></mc:AlternateContent>"
    )
    workbook = parts["xl/workbook.xml"].decode()
    at = workbook.index("<workbookPr")
    parts["xl/workbook.xml"] = (workbook[:at] + saved_in + workbook[at:]).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for name, content in parts.items():
            package.writestr(name, content)

    clean = without_metadata(out.getvalue())
    assert clean is not None
    assert b"siti.aminah" not in b"".join(unpacked(clean).values())
    cleaned = openpyxl.load_workbook(io.BytesIO(clean)).active
    assert cleaned is not None and cleaned["A1"].value == "Pungutan Rp50.000"


def test_a_multi_picture_jpeg_reaches_the_unit_as_its_main_picture() -> None:
    """Phones write portrait and depth shots as MPO: a JPEG with more pictures after it."""
    main, depth = Image.new("RGB", (20, 10), "red"), Image.new("RGB", (20, 10), "blue")
    out = io.BytesIO()
    main.save(out, "MPO", save_all=True, append_images=[depth], comment=NAME.encode())
    clean = without_metadata(out.getvalue())
    assert clean is not None and NAME.encode() not in clean
    with Image.open(io.BytesIO(clean)) as cleaned:
        assert cleaned.format == "JPEG" and getattr(cleaned, "n_frames", 1) == 1
        red = cast(tuple[int, ...], cleaned.getpixel((5, 5)))[0]
        assert cleaned.size == (20, 10) and red > 200  # the red one
