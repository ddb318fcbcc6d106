"""The file types a reporter may send, as the agency file names them (`[files] accepted`).

Each type is known by its usual extension ("pdf"), its MIME type and the kind of
attachment it makes. What a file *is* is decided by its content
(`bot.channels.filecheck.sniff`), not by its name or the type the sender declared; the
agency chooses which of these it takes.
A file is passed on under a name ending in its type's extension (`delivered_name`): the
computer of whoever opens it goes by the name, and a text named `.bat` would run. Scripts
and web pages are refused whatever they contain (`is_script_name`): named so, they run.
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
_ALSO_NAMED = {"jpeg": "jpg"}
# What a reader's computer runs, or a browser renders with its scripts, when opened.
SCRIPT_EXTENSIONS = frozenset(
    {"bat", "cmd", "com", "exe", "scr", "pif", "msi", "lnk", "reg", "inf", "scf", "url"}
    | {"ps1", "psm1", "psd1", "sh", "bash", "zsh", "command", "desktop"}
    | {"js", "jse", "mjs", "vbs", "vbe", "wsf", "wsh", "hta", "jar", "apk", "app"}
    | {"py", "pl", "rb", "php", "lua", "applescript", "scpt"}
    | {"html", "htm", "xhtml", "shtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl", "xslt"}
)
BY_MIME = {t.mime: t for t in FILE_TYPES}
ALL_TYPES = frozenset(t.mime for t in FILE_TYPES)
# What a file found by its content is, in the reporter's words (`content_kind`).
PROGRAM_TYPES = frozenset(
    {"application/x-msdownload", "application/x-executable", "application/x-mach-binary"}
    | {"application/x-sharedlib", "application/x-dex", "application/vnd.android.package-archive"}
    | {"application/java-archive", "application/x-deb", "application/x-rpm", "application/wasm"}
    | {"application/x-shockwave-flash", "application/x-google-chrome-extension"}
)
ARCHIVE_TYPES = frozenset(
    {"application/zip", "application/x-rar-compressed", "application/vnd.rar", "application/gzip"}
    | {
        "application/x-7z-compressed",
        "application/x-tar",
        "application/x-bzip2",
        "application/x-xz",
    }
    | {"application/x-lzip", "application/x-lz4", "application/x-lzop", "application/zstd"}
    | {"application/x-compress", "application/x-brotli", "application/vnd.ms-cab-compressed"}
    | {"application/x-unix-archive"}
)
DOCUMENT_TYPES = frozenset({"application/rtf", "application/epub+zip", "application/postscript"})
_MEDIA_PREFIXES = {"image/": "image", "video/": "video", "audio/": "audio", "text/": "text"}


def kind_of(mime: str) -> AttachmentKind | None:
    """The kind of attachment a known type makes, or None for a type we do not know."""
    found = BY_MIME.get(mime)
    return found.kind if found else None


def content_kind(mime: str | None) -> str:
    """What a file is, found by its content, as one word a reporter understands:
    program, archive, text, image, video, audio, document or unknown (None: no type)."""
    if mime is None:
        return "unknown"
    if mime in PROGRAM_TYPES:
        return "program"
    if mime in ARCHIVE_TYPES:
        return "archive"
    found = BY_MIME.get(mime)
    if found is not None and found.kind is AttachmentKind.DOCUMENT and mime != "text/plain":
        return "document"
    if mime in DOCUMENT_TYPES or mime.startswith(("application/vnd.oasis", "application/vnd.ms-")):
        return "document"
    prefix = next((p for p in _MEDIA_PREFIXES if mime.startswith(p)), None)
    return _MEDIA_PREFIXES[prefix] if prefix else "unknown"


def claimed_type(name: str | None, declared: str | None) -> FileType | None:
    """The type a file says it is: by its name's extension, else by the type its sender's
    app declared (None when neither names one of ours)."""
    ext = extension(name)
    return BY_NAME.get(_ALSO_NAMED.get(ext, ext)) or BY_MIME.get(
        (declared or "").split(";")[0].strip().lower()
    )


def extension(name: str | None) -> str:
    """The extension of a file name, lower case, without the dot ("" for none)."""
    stem, dot, ext = (name or "").rpartition(".")
    return ext.strip().lower() if dot and stem else ""


def is_script_name(name: str | None) -> bool:
    """Whether a file so named would run, or render a page, where it is opened."""
    return extension(name) in SCRIPT_EXTENSIONS


def delivered_name(name: str, mime: str) -> str:
    """`name` ending in the extension of its type (found by its content): "catatan.log"
    holding text is passed on as "catatan.txt"."""
    found = BY_MIME.get(mime)
    if found is None or _ALSO_NAMED.get(extension(name), extension(name)) == found.name:
        return name
    stem = name.rpartition(".")[0] if extension(name) else name
    return f"{stem}.{found.name}"


def names_of(accepted: frozenset[str]) -> str:
    """The accepted types as reporters read them: "JPG, PNG, PDF" (the table's order)."""
    return ", ".join(t.name.upper() for t in FILE_TYPES if t.mime in accepted)
