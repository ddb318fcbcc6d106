"""Files that cross channels: WhatsApp media kept on disk, and links Twilio can fetch.

A photo a unit sends on Telegram reaches a WhatsApp reporter through a link to this
service (`/media/<token>`); the token is signed and carries when it stops working
(LINK_LIFETIME after it was made: Twilio fetches within minutes), so only links the bot
made, and only for a day, open anything. A Telegram file is fetched once into the media
folder, streamed to disk, and served from there (`telegram_copy`); copies older than a
link's lifetime are removed as new ones are made.
Media a reporter sends on WhatsApp is downloaded from Twilio (with the account's
credentials, which must not follow Twilio's redirect to its CDN) and kept here, so it
can be relayed to the Telegram groups.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import filetype  # type: ignore[import-untyped]
from PIL import Image
from telegram import Bot
from telegram.error import BadRequest, TelegramError
from yarl import URL

from bot.clock import SystemClock
from bot.core.files import (
    ALL_TYPES,
    BY_MIME,
    BY_NAME,
    claimed_type,
    delivered_name,
    is_script_name,
    kind_of,
)
from bot.core.model import Attachment, AttachmentKind, Channel
from bot.core.ports import Clock

if TYPE_CHECKING:
    from bot.inbound import TurnedAway

log = logging.getLogger(__name__)

DOWNLOAD_ATTEMPTS = 3
IMAGE_LIMIT = 5 * 1024 * 1024  # WhatsApp images
MEDIA_LIMIT = 16 * 1024 * 1024  # other WhatsApp media
TELEGRAM_LIMIT = 20 * 1024 * 1024  # the largest file the Bot API lets a bot download
LINK_LIFETIME = timedelta(hours=24)  # a /media link works this long after it was made
# A larger image is refused by its header, never decoded: a 48-megapixel phone photo
# passes; an 8944×8944 PNG of 336 KB (80 megapixels, 300 MB decoded) does not.
MAX_PIXELS = 50_000_000
DECODES_AT_ONCE = 2  # full decodes (checking, cleaning) running at once, process-wide
_DECODES = threading.BoundedSemaphore(DECODES_AT_ONCE)
# What `filetype` names differently from the types the table of bot.core.files uses.
SNIFFED_ALIASES = {"audio/x-m4a": "audio/mp4", "video/quicktime": "video/mp4"}
DEFAULT_TYPES = {
    AttachmentKind.PHOTO: "image/jpeg",
    AttachmentKind.VIDEO: "video/mp4",
    AttachmentKind.VOICE: "audio/ogg",
    AttachmentKind.AUDIO: "audio/mpeg",
    AttachmentKind.DOCUMENT: "application/octet-stream",
}
_SOUND = (AttachmentKind.VOICE, AttachmentKind.AUDIO)
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
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

    def told(self, number: int, name: str | None = None) -> list[Any]:
        """The refusal as the prepared payload carries it: the fields of `Rejected`, those
        after the name only when known (a payload stored before them reads the same)."""
        told: list[Any] = [number, self.reason, name, self.actual, self.claimed]
        while len(told) > 3 and told[-1] is None:
            told.pop()
        return told


class MediaUnavailable(Exception):
    """The file could not be fetched now (network or provider error): try again later."""


@dataclass(frozen=True)
class MediaStore:
    """Where WhatsApp media is kept, and the signed links to any attachment."""

    folder: Path
    secret: bytes
    public_base_url: str | None
    clock: Clock = field(default_factory=SystemClock)
    # one download at a time per Telegram file: the others wait for its copy
    _fetching: dict[Path, asyncio.Lock] = field(default_factory=dict, compare=False, repr=False)

    def link(self, attachment: Attachment) -> str:
        """A URL at which this service serves the attachment (for Twilio to fetch)."""
        if self.public_base_url is None:
            raise ValueError("PUBLIC_BASE_URL is needed to link media")
        payload = (
            base64.urlsafe_b64encode(
                json.dumps(attachment.to_dict(), separators=(",", ":")).encode()
            )
            .decode()
            .rstrip("=")
        )
        signed = f"{payload}.{int((self.clock.now() + LINK_LIFETIME).timestamp())}"
        return f"{self.public_base_url}/media/{signed}.{self._sign(signed)}"

    def resolve(self, token: str) -> Attachment | None:
        """The attachment a link names, if the link was made by us and has not expired."""
        signed, _, signature = token.rpartition(".")
        payload, _, expires = signed.rpartition(".")
        expected = self._sign(signed).encode()
        if not payload or not hmac.compare_digest(signature.encode(errors="replace"), expected):
            return None
        try:
            if int(expires) < self.clock.now().timestamp():
                return None
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return Attachment.from_dict(data)
        except (ValueError, KeyError, TypeError):
            return None

    def download_name(self, attachment: Attachment) -> str:
        """The name a served file is saved under: ASCII, with its type's extension."""
        mime = self.content_type(attachment)
        found = BY_MIME.get(mime)
        name = attachment.file_name or f"berkas.{found.name if found else 'bin'}"
        return _SAFE.sub("_", delivered_name(name, mime))

    async def telegram_copy(self, bot: Bot, attachment: Attachment) -> Path:
        """The Telegram file kept in the media folder, fetched the first time it is asked
        for (streamed to disk, never whole in memory); raises TelegramError or
        aiohttp.ClientError when Telegram cannot give it now."""
        name = hashlib.sha256(attachment.ref.encode()).hexdigest()[:40]
        path = self.folder / "telegram" / name
        if path.is_file():
            return path
        lock = self._fetching.setdefault(path, asyncio.Lock())
        try:
            async with lock:
                if not path.is_file():
                    await _stream_to(bot, attachment.ref, path)
                    await asyncio.to_thread(_remove_older_than, path.parent, LINK_LIFETIME)
        finally:
            if not lock.locked():
                self._fetching.pop(path, None)
        return path

    def stored_file(self, attachment: Attachment) -> Path | None:
        """The file on disk for a WhatsApp attachment, only if it lies in the media folder."""
        if attachment.source is Channel.TELEGRAM:
            return None
        path = Path(attachment.ref).resolve()
        return path if path.is_relative_to(self.folder.resolve()) and path.is_file() else None

    def content_type(self, attachment: Attachment) -> str:
        """The declared type if it is one we know (a unit's .html is served as bytes)."""
        declared = attachment.mime_type or DEFAULT_TYPES[attachment.kind]
        return declared if declared in ALL_TYPES else "application/octet-stream"

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()[:32]

    async def fetch_from_twilio(
        self,
        http: aiohttp.ClientSession,
        url: str,
        declared_type: str,
        authorization: str,
        name: str,
        accepted: frozenset[str] = ALL_TYPES,
    ) -> Attachment:
        """Downloads one inbound media file (idempotent: a file already kept is reused).

        Twilio answers with a redirect to its CDN; the credentials go only to Twilio.
        Only `accepted` types are kept, judged by the content (see `checked_type`).
        """
        content_type = declared_type.split(";")[0].strip().lower()
        kind = kind_of(content_type)
        if kind is None or content_type not in accepted:
            raise MediaRefused("media_type_not_allowed", actual=content_type or None)
        limit = IMAGE_LIMIT if kind is AttachmentKind.PHOTO else MEDIA_LIMIT
        stem = _SAFE.sub("_", name)
        path = self._kept(stem)
        if path is None:
            data = await _download(http, url, authorization, limit)
            actual = await asyncio.to_thread(  # CPU
                checked_type, data, kind, accepted, None, content_type
            )
            path = self.folder / f"{stem}.{BY_MIME[actual].name}"  # named for what it is
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(path.suffix + ".part")
            partial.write_bytes(data)
            partial.replace(path)
        size = path.stat().st_size
        return Attachment(
            kind,
            str(path),
            Channel.WHATSAPP,
            file_name=path.name,
            mime_type=BY_NAME[path.suffix[1:]].mime,
            size=size,
        )

    def _kept(self, stem: str) -> Path | None:
        """The file already kept under that name, whatever its type's extension."""
        for path in self.folder.glob(f"{stem}.*"):
            if path.suffix[1:] in BY_NAME and path.is_file():
                return path
        return None


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


def _remove_older_than(folder: Path, age: timedelta) -> None:
    """Removes the copies of Telegram files made longer than `age` ago: no link made
    since can still be in Twilio's hands for them, and a later link fetches again."""
    oldest = time.time() - age.total_seconds()
    for copy in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile by another
            if copy.stat().st_mtime < oldest:
                copy.unlink()


async def _stream_to(bot: Bot, file_id: str, path: Path) -> None:
    """Downloads a Telegram file to `path`, chunk by chunk, whole or not at all."""
    found = await bot.get_file(file_id)
    if not found.file_path:
        raise BadRequest("file has no download path")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
    try:
        async with (
            aiohttp.ClientSession(raise_for_status=True) as http,
            http.get(found.file_path) as response,
        ):
            with partial.open("wb") as out:
                async for chunk in response.content.iter_chunked(256 * 1024):
                    out.write(chunk)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


async def _download(http: aiohttp.ClientSession, url: str, authorization: str, limit: int) -> bytes:
    """Fetches from Twilio with its credentials; a redirect is followed without them."""
    try:
        headers = {"Authorization": authorization}
        async with http.get(url, headers=headers, allow_redirects=False) as response:
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                if not location:
                    raise MediaUnavailable("redirect without a location")
                target = str(response.url.join(URL(location)))
                async with http.get(target, allow_redirects=True) as redirected:  # no auth
                    return await _read(redirected, limit)
            return await _read(response, limit)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise MediaUnavailable(str(exc)) from exc


async def _read(response: aiohttp.ClientResponse, limit: int) -> bytes:
    if response.status == 404:
        raise MediaRefused("media_download_failed")
    if response.status >= 400:
        raise MediaUnavailable(f"HTTP {response.status}")
    if response.content_length is not None and response.content_length > limit:
        raise MediaRefused("media_too_large")
    # read(n) returns what has arrived, up to n bytes: a file is read to its end.
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise MediaRefused("media_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


REJECTED = "_rejected"  # added to a prepared Telegram update: [[number, reason, name], …]
_TELEGRAM_FILES = (
    ("document", AttachmentKind.DOCUMENT),
    ("video", AttachmentKind.VIDEO),
    ("audio", AttachmentKind.AUDIO),
    ("voice", AttachmentKind.VOICE),
)


class TelegramFileCheck:
    """Checks a citizen's Telegram file by its content before the update is handled.

    Telegram tells only what the sender's app declared; the file is downloaded (the Bot
    API lets a bot fetch up to 20 MB) and judged like a WhatsApp file. A refused file is
    taken out of the update (its caption stays) and named under `REJECTED`, so the
    reporter is told why. Photos need no download: Telegram re-encodes them as JPEG.
    Idempotent, as a preparer must be: the same update gives the same answer.
    """

    def __init__(
        self, bot: Bot, accepted: frozenset[str], turned_away: TurnedAway | None = None
    ) -> None:
        self.bot = bot
        self.accepted = accepted
        self.turned_away = turned_away  # nothing is fetched for a message to be ignored

    async def prepare(self, payload: dict[str, Any]) -> dict[str, Any]:
        message = payload.get("message")
        if not isinstance(message, dict) or (message.get("chat") or {}).get("type") != "private":
            return payload
        if "photo" in message:
            if "image/jpeg" in self.accepted:
                return payload
            return _without(payload, "photo", MediaRefused("media_type_not_allowed", "image/jpeg"))
        for key, kind in _TELEGRAM_FILES:
            media = message.get(key)
            if not isinstance(media, dict):
                continue
            name = media.get("file_name")
            chat, album = str(message["chat"].get("id", "")), message.get("media_group_id")
            if self.turned_away and await self.turned_away(Channel.TELEGRAM, chat, album):
                log.info("telegram %s not fetched: its reporter is turned away", key)
                return _without(payload, key, MediaRefused("media_download_failed"), name)
            try:
                actual = await self._check(media, kind, name)
            except MediaRefused as refusal:
                log.info("telegram %s refused: %s", key, refusal.reason)
                return _without(payload, key, refusal, name)
            # The name stays as sent: the sender passes the file on under its type's
            # extension (`delivered_name`), uploading it when that is not the name sent.
            checked = {**message, key: {**media, "mime_type": actual}}
            return {**payload, "message": checked}
        return payload

    async def _check(self, media: dict[str, Any], kind: AttachmentKind, name: Any) -> str:
        if int(media.get("file_size") or 0) > TELEGRAM_LIMIT:
            raise MediaRefused("media_too_large_telegram")
        named = name if isinstance(name, str) else None
        if is_script_name(named):
            raise MediaRefused("media_script_not_allowed")  # not even downloaded
        data = await self._download(str(media.get("file_id", "")))
        declared = media.get("mime_type") if isinstance(media.get("mime_type"), str) else None
        return await asyncio.to_thread(checked_type, data, kind, self.accepted, named, declared)

    async def _download(self, file_id: str) -> bytes:
        for attempt in range(DOWNLOAD_ATTEMPTS):
            try:
                found = await self.bot.get_file(file_id)
                return bytes(await found.download_as_bytearray())
            except BadRequest as exc:  # "file is too big", or a file_id Telegram forgot
                too_big = "too big" in exc.message.lower()
                raise MediaRefused(
                    "media_too_large_telegram" if too_big else "media_download_failed"
                ) from exc
            except TelegramError as exc:  # network, 5xx, flood control: brief retries
                log.warning("telegram file not fetched (attempt %s): %s", attempt + 1, exc)
                if attempt + 1 < DOWNLOAD_ATTEMPTS:
                    await asyncio.sleep(0.5 * 2**attempt)  # brief: later messages wait
        raise MediaRefused("media_download_failed")


def _without(
    payload: dict[str, Any], key: str, refusal: MediaRefused, name: str | None = None
) -> dict[str, Any]:
    message = {k: v for k, v in payload["message"].items() if k != key}
    return {**payload, "message": message, REJECTED: [refusal.told(1, name)]}
