"""The file types a reporter may send, as the agency file names them (`[files] accepted`).

Each type is known by its usual extension ("pdf"), its MIME type and the kind of
attachment it makes. What a file *is* is decided by its content (`bot.media.sniff`), not
by its name or the type the sender declared; the agency chooses which of these it takes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.model import AttachmentKind

_OOXML = "application/vnd.openxmlformats-officedocument"


@dataclass(frozen=True)
class FileType:
    name: str  # as the agency file writes it, and as reporters are told
    mime: str
    kind: AttachmentKind


FILE_TYPES: tuple[FileType, ...] = (
    FileType("jpg", "image/jpeg", AttachmentKind.PHOTO),
    FileType("png", "image/png", AttachmentKind.PHOTO),
    FileType("mp4", "video/mp4", AttachmentKind.VIDEO),
    FileType("3gp", "video/3gpp", AttachmentKind.VIDEO),
    FileType("ogg", "audio/ogg", AttachmentKind.VOICE),
    FileType("mp3", "audio/mpeg", AttachmentKind.AUDIO),
    FileType("m4a", "audio/mp4", AttachmentKind.AUDIO),
    FileType("amr", "audio/amr", AttachmentKind.AUDIO),
    FileType("pdf", "application/pdf", AttachmentKind.DOCUMENT),
    FileType("doc", "application/msword", AttachmentKind.DOCUMENT),
    FileType("docx", f"{_OOXML}.wordprocessingml.document", AttachmentKind.DOCUMENT),
    FileType("xls", "application/vnd.ms-excel", AttachmentKind.DOCUMENT),
    FileType("xlsx", f"{_OOXML}.spreadsheetml.sheet", AttachmentKind.DOCUMENT),
    FileType("txt", "text/plain", AttachmentKind.DOCUMENT),
)
BY_NAME = {t.name: t for t in FILE_TYPES}
BY_MIME = {t.mime: t for t in FILE_TYPES}
ALL_TYPES = frozenset(t.mime for t in FILE_TYPES)


def kind_of(mime: str) -> AttachmentKind | None:
    """The kind of attachment a known type makes, or None for a type we do not know."""
    found = BY_MIME.get(mime)
    return found.kind if found else None


def names_of(accepted: frozenset[str]) -> str:
    """The accepted types as reporters read them: "JPG, PNG, PDF" (the table's order)."""
    return ", ".join(t.name.upper() for t in FILE_TYPES if t.mime in accepted)
