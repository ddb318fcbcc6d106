"""Metadata out of reporters' files before they reach the staff's groups.

A photo can carry where it was taken (EXIF GPS) and the camera's owner; a PDF or an
Office file carries its author, the last person who saved it, the company. A reporter
rarely knows. `without_metadata` gives the file without any of that:

- images (JPEG, PNG, WebP, TIFF) are re-encoded by Pillow with no EXIF, XMP or text
  chunks (orientation applied to the pixels first, so the picture still stands upright);
- PDFs lose their document information (author, title, dates…) and XMP streams (pypdf);
- Word and Excel files (docx, xlsx) lose their document properties and the names on
  comments and tracked changes; the rest of the package is copied as it is;
- plain text has nothing to remove.

Anything else that may carry metadata (an old .doc or .xls, an encrypted or broken PDF,
a broken image) gives None: the caller must not pass it on to a unit.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import NameObject

from bot.core.files import BY_NAME
from bot.media import MAX_PIXELS, sniff

log = logging.getLogger(__name__)

FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")
MAX_UNPACKED = 200 * 1024 * 1024  # an Office file larger than this unpacked is a zip bomb
_OFFICE = {BY_NAME["docx"].mime, BY_NAME["xlsx"].mime}
_METADATA = re.compile(r"docProps/(core|app|custom)\.xml")
_EMPTY_PROPERTIES = {
    "docProps/core.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b"<cp:coreProperties"
    b' xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
    b' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
    b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>',
    "docProps/app.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b"<Properties"
    b' xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"/>',
    "docProps/custom.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b"<Properties"
    b' xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"/>',
}
# Who wrote a comment or a tracked change (Word: w:author/w:initials attributes; Excel:
# the <author> list of legacy comments, and the people of threaded comments).
_WORD_NAMES = re.compile(rb'(\bw(?:15)?:(?:author|initials|userId)=)"[^"]*"')
_EXCEL_AUTHOR = re.compile(rb"<author>[^<]*</author>")
_EXCEL_PERSON = re.compile(rb'(\b(?:displayName|userId)=)"[^"]*"')


def without_metadata(data: bytes) -> bytes | None:
    """The file without its metadata; None if it may carry some that cannot be removed."""
    kind = sniff(data) or ""
    try:
        if kind.startswith("image/"):
            return _image(data)
        if kind == "application/pdf":
            return _pdf(data)
        if kind in _OFFICE:
            return _office(data)
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        PyPdfError,
        zipfile.BadZipFile,
        KeyError,
    ) as exc:
        log.info("%s file not cleaned (%s)", kind, exc)
        return None
    if kind == "text/plain":
        return data
    log.info("%s file cannot be cleaned", kind or "unknown")
    return None


def _image(data: bytes) -> bytes | None:
    with Image.open(io.BytesIO(data)) as image:
        fmt = image.format
        if fmt not in FORMATS or image.width * image.height > MAX_PIXELS:
            return None
        upright = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        options = {"quality": 92} if fmt in ("JPEG", "WEBP") else {}
        upright.save(out, format=fmt, **options)  # no exif=, pnginfo=, xmp=: none kept
    return out.getvalue()


def _pdf(data: bytes) -> bytes | None:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        return None  # its metadata cannot be read, so it cannot be known to be gone
    writer = PdfWriter(clone_from=reader)
    writer.metadata = None  # the document information dictionary
    writer.root_object.pop(NameObject("/Metadata"), None)  # the XMP stream
    for page in writer.pages:
        page.pop(NameObject("/Metadata"), None)
        page.pop(NameObject("/PieceInfo"), None)  # the authoring application's private data
    # the dropped objects would still be written unless unreferenced ones are removed
    writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _office(data: bytes) -> bytes | None:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        entries = package.infolist()
        if sum(e.file_size for e in entries) > MAX_UNPACKED:
            return None
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as clean:
            for entry in entries:
                content = package.read(entry)
                if _METADATA.fullmatch(entry.filename):
                    content = _EMPTY_PROPERTIES[entry.filename]
                elif entry.filename.startswith("word/") and entry.filename.endswith(".xml"):
                    content = _WORD_NAMES.sub(rb'\1""', content)
                elif entry.filename.startswith("xl/comments") and entry.filename.endswith(".xml"):
                    content = _EXCEL_AUTHOR.sub(b"<author></author>", content)
                elif entry.filename.startswith("xl/persons/"):
                    content = _EXCEL_PERSON.sub(rb'\1""', content)
                clean.writestr(_stamped(entry), content)
    return out.getvalue()


def _stamped(entry: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """The entry's name with a neutral date (the dates of the parts tell when it was edited)."""
    info = zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
