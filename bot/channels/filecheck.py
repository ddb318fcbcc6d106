"""A reporter's file judged by its content, for every channel: what its bytes are
(`sniff`), whether the office takes it (`checked_type`), and the refusal that names why
(`MediaRefused`, told to the reporter as a `Rejected`).

Telegram's file check (`bot.channels.telegram.files`) and WhatsApp's media keeper
(`bot.channels.whatsapp.media`) both judge a file here, and `bot.scrub` bounds its full
decodes by the same `decoding()`, so one picture costs the same whoever sent it.
"""

from __future__ import annotations

import io
import re
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import filetype  # type: ignore[import-untyped]
from PIL import Image

from bot.core.dialogue import Rejected
from bot.core.files import claimed_type, is_script_name, kind_of
from bot.core.model import AttachmentKind

DOWNLOAD_ATTEMPTS = 3  # tries at a provider's file before the reporter is told it failed

# A larger image is refused by its header, never decoded: a 48-megapixel phone photo
# passes; an 8944×8944 PNG of 336 KB (80 megapixels, 300 MB decoded) does not.
MAX_PIXELS = 50_000_000
DECODES_AT_ONCE = 2  # full decodes (checking, cleaning) running at once, process-wide
_DECODES = threading.BoundedSemaphore(DECODES_AT_ONCE)
# What `filetype` names differently from the types the table of bot.core.files uses.
SNIFFED_ALIASES = {"audio/x-m4a": "audio/mp4", "video/quicktime": "video/mp4"}
_SOUND = (AttachmentKind.VOICE, AttachmentKind.AUDIO)
# Text that a browser or a shell would run: a web page or picture with markup, a script.
_SCRIPT_TEXT = re.compile(
    r"\A\s*#!|^\s*@?echo\s+off\b|<\s*(?:script|html|svg|\?xml|!doctype|iframe|object|embed)\b",
    re.IGNORECASE | re.MULTILINE,
)


class MediaRefused(Exception):
    """A file the reporter sent that we cannot take; `reason` is a template key, `actual`
    the type its content shows and `claimed` the type it passed for (see `Rejected`)."""

    def __init__(self, reason: str, actual: str | None = None, claimed: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.actual = actual
        self.claimed = claimed

    def told(self, number: int, name: str | None = None) -> Rejected:
        """The refusal as the reporter is told it: the `number`th file of the message."""
        return Rejected(number, self.reason, name, self.actual, self.claimed)


class MediaUnavailable(Exception):
    """The file could not be fetched now (network or provider error): try again later."""


def sniff(data: bytes) -> str | None:
    """The file's type by its content (magic numbers), as bot.core.files names it.

    Plain text has no signature: it is text/plain when it is UTF-8 without control bytes.
    None when the content is of no type we know.
    """
    guessed = filetype.guess(data)
    if guessed is not None:
        mime = str(guessed.mime)
        return SNIFFED_ALIASES.get(mime, mime)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if any(ch < " " and ch not in "\t\r\n" for ch in text) else "text/plain"


def checked_type(
    data: bytes,
    kind: AttachmentKind,
    accepted: frozenset[str],
    name: str | None = None,
    declared: str | None = None,
) -> str:
    """The type of the bytes if the office accepts it and it fits the kind the sender
    declared; raises MediaRefused("media_type_not_allowed") otherwise,
    MediaRefused("media_script_not_allowed") for a script or a web page (by its `name` or
    its content), and MediaRefused("media_unreadable") for an image that does not decode.

    A program sent as "image/jpeg" is refused, naming both what it is and the type its
    `name` or its `declared` type claimed. Anything accepted may come as a document (a
    photo sent "as a file" keeps its quality); voice notes and audio share containers.
    """
    if is_script_name(name):
        raise MediaRefused("media_script_not_allowed")
    actual = sniff(data)
    if actual == "text/plain" and is_script_text(data):
        raise MediaRefused("media_script_not_allowed")
    found = kind_of(actual) if actual else None
    fits = found is kind or (kind in _SOUND and found in _SOUND)
    if actual is None or actual not in accepted or not (kind is AttachmentKind.DOCUMENT or fits):
        claim = claimed_type(name, declared)
        claimed = claim.name if claim is not None and claim.mime != actual else None
        raise MediaRefused("media_type_not_allowed", actual, claimed)
    if found is AttachmentKind.PHOTO:
        if not within_pixels(data):
            raise MediaRefused("media_too_many_pixels")
        if not image_decodes(data):
            raise MediaRefused("media_unreadable")
    return actual


def is_script_text(data: bytes) -> bool:
    """Whether text is markup a browser renders with its scripts (HTML, SVG, XML) or a
    script a shell runs (#!, @echo off)."""
    return _SCRIPT_TEXT.search(data.decode("utf-8", "replace")) is not None


@contextmanager
def decoding() -> Iterator[None]:
    """Holds one of the DECODES_AT_ONCE places for a full decode (a thread waits here):
    what a few large pictures cost at once is bounded, whoever sent them."""
    with _DECODES:
        yield


def within_pixels(data: bytes) -> bool:
    """Whether the image has at most MAX_PIXELS, read from its header alone (True for
    what is no image: that is judged elsewhere)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return True
    return width * height <= MAX_PIXELS


def image_decodes(data: bytes) -> bool:
    """Whether the image decodes whole: a truncated or corrupt photo does not. Nobody
    could open it, and Telegram would refuse it as a photo. An image of more than
    MAX_PIXELS is not decoded at all.

    A JPEG is decoded at an eighth of its size (all of its data is still read), so a
    12-megapixel photo costs milliseconds, not a second of CPU. A PNG is not decoded at
    all: its compressed pixels are inflated in slices and measured (`_png_complete`).
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return False
            if image.format == "PNG":
                return _png_complete(data)
            image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            with decoding():
                image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False
    return True


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # samples per pixel, by colour type
# Adam7's passes: (first column, first row, column step, row step)
_ADAM7: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)
)  # fmt: skip


def _png_complete(data: bytes) -> bool:
    """Whether every chunk of a PNG is whole (its CRC) up to IEND, and its pixel data
    inflates to exactly the size its header gives: what a decoder would need, checked
    a slice at a time, so the picture is never held in memory."""
    view = memoryview(data)
    if bytes(view[:8]) != _PNG_SIGNATURE:
        return False
    position, expected, produced = 8, -1, 0
    inflater = zlib.decompressobj()
    while position + 12 <= len(view):
        length = int.from_bytes(view[position : position + 4], "big")
        kind = bytes(view[position + 4 : position + 8])
        end = position + 8 + length
        if end + 4 > len(view):
            return False
        body = view[position + 8 : end]
        if zlib.crc32(body, zlib.crc32(kind)) != int.from_bytes(view[end : end + 4], "big"):
            return False
        if kind == b"IHDR":
            expected = _png_data_size(bytes(body))
        elif kind == b"IDAT":
            pending = bytes(body)
            while pending and not inflater.eof:
                produced += len(inflater.decompress(pending, 1024 * 1024))
                pending = inflater.unconsumed_tail
                if produced > expected:
                    return False
        elif kind == b"IEND":
            return inflater.eof and produced == expected
        position = end + 4
    return False


def _png_data_size(header: bytes) -> int:
    """The bytes a PNG's pixel data inflates to (a filter byte per row), from IHDR."""
    width = int.from_bytes(header[0:4], "big")
    height = int.from_bytes(header[4:8], "big")
    depth, colour, interlaced = header[8], header[9], header[12]
    bits = depth * _PNG_SAMPLES.get(colour, 0)
    if not bits:
        return -1

    def rows(w: int, h: int) -> int:
        return h * (1 + (w * bits + 7) // 8) if w and h else 0

    if not interlaced:
        return rows(width, height)
    return sum(
        rows((width - x + dx - 1) // dx, (height - y + dy - 1) // dy) for x, y, dx, dy in _ADAM7
    )
