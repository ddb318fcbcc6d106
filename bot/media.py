"""Files that cross channels: WhatsApp media kept on disk, and links Twilio can fetch.

A photo a unit sends on Telegram reaches a WhatsApp reporter through a link to this
service (`/media/<token>`); the token is signed, so only links the bot made work.
Media a reporter sends on WhatsApp is downloaded from Twilio (with the account's
credentials, which must not follow Twilio's redirect to its CDN) and kept here, so it
can be relayed to the Telegram groups.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import logging
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import filetype  # type: ignore[import-untyped]
from PIL import Image
from telegram import Bot
from telegram.error import BadRequest, TelegramError
from yarl import URL

from bot.core.files import ALL_TYPES, kind_of
from bot.core.model import Attachment, AttachmentKind, Channel

if TYPE_CHECKING:
    from bot.inbound import TurnedAway

log = logging.getLogger(__name__)

DOWNLOAD_ATTEMPTS = 3
IMAGE_LIMIT = 5 * 1024 * 1024  # WhatsApp images
MEDIA_LIMIT = 16 * 1024 * 1024  # other WhatsApp media
TELEGRAM_LIMIT = 20 * 1024 * 1024  # the largest file the Bot API lets a bot download
MAX_PIXELS = 80_000_000  # a larger image is a decompression bomb: refused, not decoded
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


class MediaRefused(Exception):
    """A file the reporter sent that we cannot take; `reason` is a template key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MediaUnavailable(Exception):
    """The file could not be fetched now (network or provider error): try again later."""


@dataclass(frozen=True)
class MediaStore:
    """Where WhatsApp media is kept, and the signed links to any attachment."""

    folder: Path
    secret: bytes
    public_base_url: str | None

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
        return f"{self.public_base_url}/media/{payload}.{self._sign(payload)}"

    def resolve(self, token: str) -> Attachment | None:
        """The attachment a link names, if the link was made by us."""
        payload, _, signature = token.rpartition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return Attachment.from_dict(data)
        except (ValueError, KeyError, TypeError):
            return None

    def stored_file(self, attachment: Attachment) -> Path | None:
        """The file on disk for a WhatsApp attachment, only if it lies in the media folder."""
        if attachment.source is Channel.TELEGRAM:
            return None
        path = Path(attachment.ref).resolve()
        return path if path.is_relative_to(self.folder.resolve()) and path.is_file() else None

    def content_type(self, attachment: Attachment) -> str:
        return attachment.mime_type or DEFAULT_TYPES[attachment.kind]

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
            raise MediaRefused("media_type_not_allowed")
        limit = IMAGE_LIMIT if kind is AttachmentKind.PHOTO else MEDIA_LIMIT
        extension = mimetypes.guess_extension(content_type) or ".bin"
        path = self.folder / (_SAFE.sub("_", name) + extension)
        if not path.is_file():
            data = await _download(http, url, authorization, limit)
            await asyncio.to_thread(checked_type, data, kind, accepted)  # CPU: off the loop
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
            mime_type=content_type,
            size=size,
        )


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


def checked_type(data: bytes, kind: AttachmentKind, accepted: frozenset[str]) -> str:
    """The type of the bytes if the office accepts it and it fits the kind the sender
    declared; raises MediaRefused("media_type_not_allowed") otherwise, and
    MediaRefused("media_unreadable") for an image that does not decode.

    A program sent as "image/jpeg" is refused. Anything accepted may come as a document
    (a photo sent "as a file" keeps its quality); voice notes and audio share containers.
    """
    actual = sniff(data)
    if actual is None or actual not in accepted:
        raise MediaRefused("media_type_not_allowed")
    found = kind_of(actual)
    fits = found is kind or (kind in _SOUND and found in _SOUND)
    if not (kind is AttachmentKind.DOCUMENT or fits):
        raise MediaRefused("media_type_not_allowed")
    if found is AttachmentKind.PHOTO and not image_decodes(data):
        raise MediaRefused("media_unreadable")
    return actual


def image_decodes(data: bytes) -> bool:
    """Whether the image decodes whole: a truncated or corrupt photo does not. Nobody
    could open it, and Telegram would refuse it as a photo.

    A JPEG is decoded at an eighth of its size (all of its data is still read), so a
    12-megapixel photo costs milliseconds, not a second of CPU.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return False
            image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False
    return True


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
            return _without(payload, "photo", "media_type_not_allowed", None)
        for key, kind in _TELEGRAM_FILES:
            media = message.get(key)
            if not isinstance(media, dict):
                continue
            name = media.get("file_name")
            chat, album = str(message["chat"].get("id", "")), message.get("media_group_id")
            if self.turned_away and await self.turned_away(Channel.TELEGRAM, chat, album):
                log.info("telegram %s not fetched: its reporter is turned away", key)
                return _without(payload, key, "media_download_failed", name)
            try:
                actual = await self._check(media, kind)
            except MediaRefused as refusal:
                log.info("telegram %s refused: %s", key, refusal.reason)
                return _without(payload, key, refusal.reason, name)
            checked = {**message, key: {**media, "mime_type": actual}}
            return {**payload, "message": checked}
        return payload

    async def _check(self, media: dict[str, Any], kind: AttachmentKind) -> str:
        if int(media.get("file_size") or 0) > TELEGRAM_LIMIT:
            raise MediaRefused("media_too_large_telegram")
        data = await self._download(str(media.get("file_id", "")))
        return await asyncio.to_thread(checked_type, data, kind, self.accepted)

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


def _without(payload: dict[str, Any], key: str, reason: str, name: str | None) -> dict[str, Any]:
    message = {k: v for k, v in payload["message"].items() if k != key}
    return {**payload, "message": message, REJECTED: [[1, reason, name]]}
