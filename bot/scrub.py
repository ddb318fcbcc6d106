"""Metadata out of reporters' files before they reach the staff's groups.

A photo can carry where it was taken (EXIF GPS) and the camera's owner; a PDF or an
Office file carries its author, the last person who saved it, the company, the folder it
was saved in. A reporter rarely knows. `without_metadata` gives the file without any of
that:

- images (JPEG, PNG, WebP, TIFF) are re-encoded by Pillow from their pixels alone: no
  EXIF, XMP, comment, text chunks or colour profile (orientation applied to the pixels
  first, so the picture still stands upright);
- PDFs lose their document information (author, title, dates…), every XMP stream
  (document, pages, pictures), the names on annotations, and whatever can act or hide
  a file: scripts and other actions run on opening, attached files (pypdf);
- Word and Excel files (docx, xlsx) lose their document properties, the names on
  comments and tracked changes, the template's path (a Windows user folder), the folder
  the workbook was saved in and custom XML parts; the rest of the package is copied as
  it is, so the document still opens;
- plain text has nothing to remove (a script or a web page is not passed on).

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
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

from bot.channels.filecheck import MAX_PIXELS, decoding, is_script_text, sniff
from bot.core.files import BY_NAME

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
# Where the file lived on its author's computer: the template Word was given (a path
# under C:\Users\<name>), kept to its file name; the folder Excel saved the workbook in.
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>")
_EXTERNAL_PATH = re.compile(rb'(\bTarget=")[^"]*[/\\]([^"/\\]*")')
_SAVED_IN = re.compile(
    rb"<mc:AlternateContent\b[^>]*>\s*<mc:Choice\b[^>]*>\s*<x15ac:absPath\b[^>]*/>\s*"
    rb"</mc:Choice>\s*</mc:AlternateContent>|<x15ac:absPath\b[^>]*/>"
)
# Custom XML parts (SharePoint fields, bibliography, data bound to content controls)
# are dropped, with what names them, so no relationship points at a missing part.
_CUSTOM_XML = "customXml/"
_CUSTOM_XML_MENTION = re.compile(
    rb'<(?:Relationship|Override)\b[^>]*"/?(?:\.\./)?customXml/[^"]*"[^>]*/>'
)
# PDF: keys whose value acts (scripts, actions on opening or on events), hides a file,
# or describes the document or an object in it; actions of these types anywhere; and
# annotations that carry a file or media.
_PDF_DROPPED = frozenset(
    {"/OpenAction", "/AA", "/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/AF"}
    | {"/Collection", "/Metadata", "/PieceInfo"}
)
_PDF_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToE", "/Rendition"}
    | {"/RichMediaExecute", "/Sound", "/Movie"}
)
_PDF_MEDIA_ANNOTATIONS = frozenset(
    {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}
)


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
        RecursionError,  # a PDF nested deeper than any real document
    ) as exc:
        log.info("%s file not cleaned (%s)", kind, exc)
        return None
    if kind == "text/plain" and not is_script_text(data):
        return data
    log.info("%s file cannot be cleaned", kind or "unknown")
    return None


def _image(data: bytes) -> bytes | None:
    with Image.open(io.BytesIO(data)) as image:
        # a JPEG with more pictures after it (MPO: phones' portrait and depth shots)
        # goes on as its main picture alone
        fmt = "JPEG" if image.format == "MPO" else image.format
        if fmt not in FORMATS or image.width * image.height > MAX_PIXELS:
            return None
        out = io.BytesIO()
        with decoding():  # the whole picture, decoded and encoded again: one of a few
            upright = ImageOps.exif_transpose(image)
            # the encoders write some of `info` back (a JPEG's comment, a PNG's colour
            # profile): only transparency, which is part of the picture, is kept
            upright.info = {k: v for k, v in upright.info.items() if k == "transparency"}
            options = {"quality": 92} if fmt in ("JPEG", "WEBP") else {}
            upright.save(out, format=fmt, **options)  # no exif=, pnginfo=, xmp=: none kept
            del upright
    return out.getvalue()


def _pdf(data: bytes) -> bytes | None:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        return None  # its metadata cannot be read, so it cannot be known to be gone
    # cleaned as read, then copied: the copy takes only what the document still
    # reaches, so nothing taken out is written
    _pdf_cleaned(reader.trailer["/Root"], set())
    writer = PdfWriter(clone_from=reader)
    writer.metadata = None  # the document information dictionary
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _pdf_cleaned(node: PdfObject | None, seen: set[int]) -> None:
    """Takes out of `node` and all it reaches what _PDF_DROPPED and _PDF_ACTIONS name,
    media and file annotations, and the author (/T) of every other annotation but a
    form field's widget (whose /T is the field's name)."""
    if isinstance(node, IndirectObject):
        if node.idnum in seen:
            return
        seen.add(node.idnum)
        node = node.get_object()
    if isinstance(node, DictionaryObject):
        for key in list(node):
            value = node[key].get_object()
            if key in _PDF_DROPPED or (
                isinstance(value, DictionaryObject) and value.get("/S") in _PDF_ACTIONS
            ):
                del node[key]
            elif key == "/Annots" and isinstance(value, ArrayObject):
                _pdf_annotations(value)
        children: list[PdfObject] = list(node.values())
    elif isinstance(node, ArrayObject):
        children = list(node)
    else:
        return
    for child in children:
        _pdf_cleaned(child, seen)


def _pdf_annotations(annotations: ArrayObject) -> None:
    kept = []
    for item in annotations:
        annotation = item.get_object()
        if not isinstance(annotation, DictionaryObject):
            continue
        subtype = annotation.get("/Subtype")
        if subtype in _PDF_MEDIA_ANNOTATIONS:
            continue
        if subtype != "/Widget":
            annotation.pop(NameObject("/T"), None)
        kept.append(item)
    annotations[:] = kept


def _office(data: bytes) -> bytes | None:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        entries = package.infolist()
        if sum(e.file_size for e in entries) > MAX_UNPACKED:
            return None
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as clean:
            for entry in entries:
                if entry.filename.startswith(_CUSTOM_XML):
                    continue
                content = package.read(entry)
                if entry.filename.endswith(".rels") or entry.filename == "[Content_Types].xml":
                    content = _CUSTOM_XML_MENTION.sub(b"", content)
                if _METADATA.fullmatch(entry.filename):
                    content = _EMPTY_PROPERTIES[entry.filename]
                elif entry.filename == "word/_rels/settings.xml.rels":
                    content = _RELATIONSHIP.sub(_template_named_only, content)
                elif entry.filename == "xl/workbook.xml":
                    content = _SAVED_IN.sub(b"", content)
                elif entry.filename.startswith("word/") and entry.filename.endswith(".xml"):
                    content = _WORD_NAMES.sub(rb'\1""', content)
                elif entry.filename.startswith("xl/comments") and entry.filename.endswith(".xml"):
                    content = _EXCEL_AUTHOR.sub(b"<author></author>", content)
                elif entry.filename.startswith("xl/persons/"):
                    content = _EXCEL_PERSON.sub(rb'\1""', content)
                clean.writestr(_stamped(entry), content)
    return out.getvalue()


def _template_named_only(relationship: re.Match[bytes]) -> bytes:
    """An external target of Word's settings (its template) kept to its file name."""
    found = relationship.group(0)
    if b'TargetMode="External"' not in found:
        return found
    return _EXTERNAL_PATH.sub(rb"\1\2", found)


def _stamped(entry: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """The entry's name with a neutral date (the dates of the parts tell when it was edited)."""
    info = zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
