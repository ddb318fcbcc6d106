"""Files that cross channels: WhatsApp media kept on disk, and links Twilio can fetch.

A photo a unit sends on Telegram reaches a WhatsApp reporter through a link to this
service (`/media/<token>`); the token is signed, so only links the bot made work.
Media a reporter sends on WhatsApp is downloaded from Twilio (with the account's
credentials, which must not follow Twilio's redirect to its CDN) and kept here, so it
can be relayed to the Telegram groups.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import filetype  # type: ignore[import-untyped]
from yarl import URL

from bot.core.model import Attachment, AttachmentKind, Channel

IMAGE_LIMIT = 5 * 1024 * 1024  # WhatsApp images
MEDIA_LIMIT = 16 * 1024 * 1024  # other WhatsApp media
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALLOWED_TYPES: dict[str, AttachmentKind] = {
    "image/jpeg": AttachmentKind.PHOTO,
    "image/png": AttachmentKind.PHOTO,
    "video/mp4": AttachmentKind.VIDEO,
    "video/3gpp": AttachmentKind.VIDEO,
    "audio/ogg": AttachmentKind.VOICE,
    "audio/mpeg": AttachmentKind.AUDIO,
    "audio/mp4": AttachmentKind.AUDIO,
    "audio/amr": AttachmentKind.AUDIO,
    "application/pdf": AttachmentKind.DOCUMENT,
    "application/msword": AttachmentKind.DOCUMENT,
    _DOCX: AttachmentKind.DOCUMENT,
    "application/vnd.ms-excel": AttachmentKind.DOCUMENT,
    _XLSX: AttachmentKind.DOCUMENT,
    "text/plain": AttachmentKind.DOCUMENT,
}
# What `filetype` names differently from the types WhatsApp declares.
SNIFFED_ALIASES = {"audio/x-m4a": "audio/mp4", "video/quicktime": "video/mp4"}
DEFAULT_TYPES = {
    AttachmentKind.PHOTO: "image/jpeg",
    AttachmentKind.VIDEO: "video/mp4",
    AttachmentKind.VOICE: "audio/ogg",
    AttachmentKind.AUDIO: "audio/mpeg",
    AttachmentKind.DOCUMENT: "application/octet-stream",
}
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
    ) -> Attachment:
        """Downloads one inbound media file (idempotent: a file already kept is reused).

        Twilio answers with a redirect to its CDN; the credentials go only to Twilio.
        """
        content_type = declared_type.split(";")[0].strip().lower()
        kind = ALLOWED_TYPES.get(content_type)
        if kind is None:
            raise MediaRefused("media_type_not_allowed")
        limit = IMAGE_LIMIT if kind is AttachmentKind.PHOTO else MEDIA_LIMIT
        extension = mimetypes.guess_extension(content_type) or ".bin"
        path = self.folder / (_SAFE.sub("_", name) + extension)
        if not path.is_file():
            data = await _download(http, url, authorization, limit)
            if not content_matches(data, kind):
                raise MediaRefused("media_type_not_allowed")
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


def content_matches(data: bytes, kind: AttachmentKind) -> bool:
    """Whether the bytes are a file type we accept, of the kind the sender declared
    (an executable sent as "image/jpeg" is refused). Plain text has no signature: it
    must be UTF-8 without control bytes."""
    guessed = filetype.guess(data)
    if guessed is None:
        if kind is not AttachmentKind.DOCUMENT:
            return False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return not any(ch < " " and ch not in "\t\r\n" for ch in text)
    actual = SNIFFED_ALIASES.get(guessed.mime, guessed.mime)
    return ALLOWED_TYPES.get(actual) is kind or (
        # WhatsApp's voice notes and audio share containers
        kind in (AttachmentKind.VOICE, AttachmentKind.AUDIO)
        and ALLOWED_TYPES.get(actual) in (AttachmentKind.VOICE, AttachmentKind.AUDIO)
    )


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
    data = await response.content.read(limit + 1)
    if len(data) > limit:
        raise MediaRefused("media_too_large")
    return data
