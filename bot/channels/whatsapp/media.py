"""WhatsApp's files: media reporters send, kept on disk, and links Twilio can fetch.

A photo a unit sends on Telegram reaches a WhatsApp reporter through a link to this
service (`/media/<token>`, `bot.channels.whatsapp.links`); the token is signed and
carries when it stops working (LINK_LIFETIME after it was made: Twilio fetches within
minutes), so only links the bot made, and only for a day, open anything. A file that
another channel's provider holds (a Telegram file_id) is fetched once into the media
folder, streamed to disk, and served from there (`copy_of`); copies older than a link's
lifetime are removed as new ones are made.
Media a reporter sends on WhatsApp is downloaded from Twilio (with the account's
credentials, which must not follow Twilio's redirect to its CDN) and kept here by the
`MediaKeeper`, so it can be relayed to the Telegram groups.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from bot.channels.filecheck import DOWNLOAD_ATTEMPTS, MediaRefused, MediaUnavailable, checked_type
from bot.channels.registration import FetchFile
from bot.clock import SystemClock
from bot.core.dialogue import Rejected
from bot.core.files import ALL_TYPES, BY_MIME, BY_NAME, delivered_name, kind_of
from bot.core.model import Attachment, AttachmentKind, Channel
from bot.core.ports import Clock
from bot.inbox.envelope import Envelope, TurnedAway
from handlers.whatsapp import media_of, number_of

log = logging.getLogger(__name__)

IMAGE_LIMIT = 5 * 1024 * 1024  # WhatsApp images
MEDIA_LIMIT = 16 * 1024 * 1024  # other WhatsApp media
LINK_LIFETIME = timedelta(hours=24)  # a /media link works this long after it was made

DEFAULT_TYPES = {
    AttachmentKind.PHOTO: "image/jpeg",
    AttachmentKind.VIDEO: "video/mp4",
    AttachmentKind.VOICE: "audio/ogg",
    AttachmentKind.AUDIO: "audio/mpeg",
    AttachmentKind.DOCUMENT: "application/octet-stream",
}
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


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

    async def copy_of(self, attachment: Attachment, fetch: FetchFile) -> Path:
        """The file another channel's provider holds (by `attachment.ref`) kept in the
        media folder, fetched by `fetch` the first time it is asked for (streamed to disk,
        never whole in memory); raises MediaUnavailable when the provider cannot give it
        now."""
        name = hashlib.sha256(attachment.ref.encode()).hexdigest()[:40]
        path = self.folder / attachment.source.value / name
        if path.is_file():
            return path
        lock = self._fetching.setdefault(path, asyncio.Lock())
        try:
            async with lock:
                if not path.is_file():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    await fetch(attachment.ref, path)
                    await asyncio.to_thread(_remove_older_than, path.parent, LINK_LIFETIME)
        finally:
            if not lock.locked():
                self._fetching.pop(path, None)
        return path

    def stored_file(self, attachment: Attachment) -> Path | None:
        """The file on disk for an attachment this service keeps (WhatsApp media, a recap),
        only if it lies in the media folder."""
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


class MediaKeeper:
    """Downloads the media of an inbound WhatsApp message before it is handled."""

    def __init__(
        self,
        store: MediaStore,
        account_sid: str,
        auth_token: str,
        accepted: frozenset[str] = ALL_TYPES,
        turned_away: TurnedAway | None = None,
    ) -> None:
        self.store = store
        self.accepted = accepted
        self.turned_away = turned_away
        basic = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.authorization = f"Basic {basic}"
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def prepare(self, payload: dict[str, Any]) -> Envelope:
        """The message with its files kept on disk, and the ones refused.

        Nothing is fetched for a reporter whose message will be ignored (blocked, or
        over the minute's allowance): the files are named as not fetched instead.
        """
        assert self.http is not None, "MediaKeeper.start() first"
        kept: list[Attachment] = []
        refused: list[Rejected] = []
        sid = str(payload.get("MessageSid", "message"))
        media = media_of(payload)
        number = number_of(str(payload.get("From") or ""))
        if media and self.turned_away and await self.turned_away(Channel.WHATSAPP, number, None):
            log.info("whatsapp media of %s not fetched: its reporter is turned away", sid)
            not_fetched = MediaRefused("media_download_failed")
            refused = [not_fetched.told(n) for n in range(1, len(media) + 1)]
            return Envelope(payload, refused=tuple(refused))
        for index, (url, content_type) in enumerate(media):
            try:
                attachment = await self._fetch(url, content_type, f"{sid}-{index}")
                # Fresh for the sweep of files nothing refers to, also when an earlier
                # try kept it: it is about to be referred to.
                await asyncio.to_thread(os.utime, attachment.ref)
                kept.append(attachment)
            except MediaRefused as refusal:
                log.info("whatsapp media %s-%s refused: %s", sid, index, refusal.reason)
                refused.append(refusal.told(index + 1))
        return Envelope(payload, tuple(kept), tuple(refused))

    async def _fetch(self, url: str, content_type: str, name: str) -> Attachment:
        assert self.http is not None
        for attempt in range(DOWNLOAD_ATTEMPTS):
            try:
                return await self.store.fetch_from_twilio(
                    self.http, url, content_type, self.authorization, name, self.accepted
                )
            except MediaUnavailable as exc:
                log.warning(
                    "whatsapp media %s not fetched (attempt %s): %s", name, attempt + 1, exc
                )
                if attempt + 1 < DOWNLOAD_ATTEMPTS:
                    await asyncio.sleep(0.5 * 2**attempt)  # brief: later messages wait
        raise MediaRefused("media_download_failed")


def _remove_older_than(folder: Path, age: timedelta) -> None:
    """Removes the copies of Telegram files made longer than `age` ago: no link made
    since can still be in Twilio's hands for them, and a later link fetches again."""
    oldest = time.time() - age.total_seconds()
    for copy in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile by another
            if copy.stat().st_mtime < oldest:
                copy.unlink()


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
