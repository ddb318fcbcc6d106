"""Telegram's files: a citizen's file checked by its content before the update is
handled (`TelegramFileCheck`), and a file fetched by its file_id to disk, for a link
another channel hands out (`TelegramFiles.download`)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import Any

import aiohttp
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.channels.filecheck import DOWNLOAD_ATTEMPTS, MediaRefused, MediaUnavailable, checked_type
from bot.core.files import is_script_name
from bot.core.model import AttachmentKind, Channel
from bot.inbox.envelope import Envelope, TurnedAway

log = logging.getLogger(__name__)

TELEGRAM_LIMIT = 20 * 1024 * 1024  # the largest file the Bot API lets a bot download

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
    taken out of the update (its caption stays) and named among the envelope's `refused`,
    so the reporter is told why. Photos need no download: Telegram re-encodes them as JPEG.
    Idempotent, as a preparer must be: the same update gives the same answer.
    """

    def __init__(
        self, bot: Bot, accepted: frozenset[str], turned_away: TurnedAway | None = None
    ) -> None:
        self.bot = bot
        self.accepted = accepted
        self.turned_away = turned_away  # nothing is fetched for a message to be ignored

    async def prepare(self, payload: dict[str, Any]) -> Envelope:
        message = payload.get("message")
        if not isinstance(message, dict) or (message.get("chat") or {}).get("type") != "private":
            return Envelope(payload)
        if "photo" in message:
            if "image/jpeg" in self.accepted:
                return Envelope(payload)
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
            return Envelope({**payload, "message": checked})
        return Envelope(payload)

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
) -> Envelope:
    message = {k: v for k, v in payload["message"].items() if k != key}
    return Envelope({**payload, "message": message}, refused=(refusal.told(1, name),))


class TelegramFiles:
    """Telegram's files fetched by their file_id, for what another channel serves."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def download(self, file_id: str, path: Path) -> None:
        """Streams the file to `path`; raises MediaUnavailable when Telegram cannot give
        it now."""
        try:
            await _stream_to(self.bot, file_id, path)
        except (TelegramError, aiohttp.ClientError) as exc:
            raise MediaUnavailable(f"Telegram file not available: {exc}") from exc


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
