"""The Telegram sender: renders messages into Bot API calls and sends them with PTB,
within Telegram's limits (`telegram_limits`)."""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
    MessageEntity,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.agency import TelegramOptions
from bot.channels.base import (
    ChatMoved,
    ChatRefused,
    Part,
    PermanentFailure,
    RetryLater,
    TemporaryFailure,
)
from bot.channels.telegram.request import AiohttpRequest
from bot.channels.textsplit import split_text, utf16_len
from bot.core.files import delivered_name
from bot.core.model import Attachment, AttachmentKind, Channel, OutgoingMessage
from bot.ratelimit import Limit, RateLimiter
from bot.scrub import without_metadata

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ALBUM_LIMIT = 10
_SEND_METHOD = {
    AttachmentKind.PHOTO: "photo",
    AttachmentKind.VIDEO: "video",
    AttachmentKind.DOCUMENT: "document",
    AttachmentKind.AUDIO: "audio",
    AttachmentKind.VOICE: "voice",
}


def make_bot(token: str, api_base_url: str) -> Bot:
    """A PTB Bot pointed at the Bot API server (Telegram's, a self-hosted one, or a stand-in)."""
    request = AiohttpRequest(
        connection_pool_size=64,
        tls=_tls_context(),
        connect_timeout=5.0,
        read_timeout=15.0,
        write_timeout=30.0,
        pool_timeout=5.0,
    )
    return Bot(
        token,
        base_url=f"{api_base_url}/bot",
        base_file_url=f"{api_base_url}/file/bot",
        request=request,
        get_updates_request=AiohttpRequest(
            connection_pool_size=2, tls=_tls_context(), read_timeout=40.0
        ),
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certificates checked against certifi's CAs), made once:
    each one loads the CA bundle, tens of milliseconds, and the tests build hundreds of bots."""
    return httpx.create_ssl_context()


def telegram_limits(options: TelegramOptions) -> RateLimiter:
    """The agency file's limits; by default Telegram's documented ones: 30 msg/s overall,
    20 msg/min per group, ~1 msg/s per person."""
    per_person = options.private_messages_per_second
    return RateLimiter(
        overall=Limit(options.messages_per_second, 1.0),
        group=Limit(options.group_messages_per_minute, 60.0),
        # a short burst (an answer and the next question), then the rate
        private=Limit(3 * per_person, 3.0),
    )


class TelegramChannel:
    """Delivers messages to Telegram chats (private chats and groups)."""

    channel = Channel.TELEGRAM

    def __init__(
        self,
        bot: Bot,
        originals_to: frozenset[str] = frozenset(),
        withheld: Callable[[str], str] = "📎 {}".format,
    ) -> None:
        self.bot = bot
        # Chats that get files as they came (the officers'); every other chat gets
        # reporters' images and documents without their metadata (bot.scrub), and a
        # `withheld(file name)` notice instead of a file whose metadata cannot be removed.
        self.originals_to = originals_to
        self.withheld = withheld

    def is_group(self, address: str) -> bool:
        return address.startswith("-")

    # ------------------------------------------------------------------ rendering
    async def render(
        self, address: str, message: OutgoingMessage, *, resumed: bool = False
    ) -> list[Part]:
        """Text first (split at 4096, buttons on the last chunk), then the files.

        A single file with a short text goes out as one captioned message.
        """
        if message.answers_tap:
            return [Part("tap", {"id": message.answers_tap, "text": message.text[:200]}, weight=0)]
        markup = _keyboard(message)
        if message.edits_buttons:
            return [
                Part("buttons", {"message_id": int(target), "markup": markup})
                for target in message.edit_targets
            ]
        files = list(message.attachments)
        parts: list[Part] = []
        text = message.text.strip()
        if len(files) == 1 and text and utf16_len(text) <= CAPTION_LIMIT:
            parts.append(_file_part(files[0], caption=text, markup=markup))
            files, text, markup = [], "", None
        if text:
            chunks = split_text(text, TEXT_LIMIT)
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                params = {
                    "text": chunk,
                    "markup": markup if last else None,
                    "code": _code_spans(chunk, message.copyable),
                }
                parts.append(Part("text", params, buttons=last and markup is not None))
        parts.extend(_file_parts(files))
        if message.location is not None:
            loc = message.location
            parts.append(Part("location", {"latitude": loc.latitude, "longitude": loc.longitude}))
        if markup is not None and not text and files:
            parts.append(Part("text", {"text": "⬆️", "markup": markup}, buttons=True))
        return parts

    # ------------------------------------------------------------------ files
    async def _file(
        self, attachment: Attachment, scrub: bool, *, attach: bool = False
    ) -> str | InputFile | None:
        """A Telegram file_id as it is, a file we stored ourselves uploaded. When `scrub`,
        a file that may carry metadata is uploaded without it, or None when it cannot be
        cleaned (it must not be passed on). An upload in an album must be `attach`ed:
        the album names its part (attach://…), or the Bot API finds no file in it.

        A file goes under its type's extension: a text sent as "foto.jpg" is passed on
        as "foto.txt" (uploaded: a file_id keeps the name it was sent under, and the
        reader's app would show it as a broken picture)."""
        sent_as = attachment.file_name or Path(attachment.ref).name
        name = delivered_name(sent_as, attachment.mime_type) if attachment.mime_type else sent_as
        renamed = name != sent_as
        if (scrub and _may_carry_metadata(attachment)) or renamed:
            if attachment.source is Channel.TELEGRAM:
                found = await self.bot.get_file(attachment.ref)
                data = bytes(await found.download_as_bytearray())
            else:
                data = await asyncio.to_thread(Path(attachment.ref).read_bytes)
            if not (scrub and _may_carry_metadata(attachment)):
                return InputFile(data, filename=name, attach=attach)
            clean = await asyncio.to_thread(without_metadata, data)  # CPU: off the loop
            if clean is None:
                log.warning("%s %s withheld: its metadata cannot be removed", attachment.kind, name)
                return None
            return InputFile(clean, filename=name, attach=attach)
        if attachment.source is Channel.TELEGRAM:
            return attachment.ref
        data = await asyncio.to_thread(Path(attachment.ref).read_bytes)
        return InputFile(data, filename=name, attach=attach)

    def _notice(self, attachment: Attachment, caption: str = "") -> str:
        notice = self.withheld(attachment.file_name or _SEND_METHOD[attachment.kind])
        return f"{caption}\n\n{notice}" if caption else notice

    async def _album(
        self,
        chat_id: int,
        files: list[tuple[AttachmentKind, str | InputFile]],
        caption: str | None,
    ) -> Message | Sequence[Message]:
        """Photos and videos as one album (Telegram wants 2 to 10); `caption` names the
        files that were held back."""
        if not files:
            return await self.bot.send_message(chat_id, caption or "")
        if len(files) == 1:
            kind, file = files[0]
            if kind is AttachmentKind.VIDEO:
                return await self.bot.send_video(chat_id, file, caption=caption)
            return await self._photo(chat_id, file, caption=caption)
        media = [
            (InputMediaVideo if kind is AttachmentKind.VIDEO else InputMediaPhoto)(
                file, caption=caption if index == 0 else None
            )
            for index, (kind, file) in enumerate(files)
        ]
        try:
            return await self.bot.send_media_group(chat_id, media)
        except BadRequest as exc:
            if not all(isinstance(file, InputFile) for _, file in files):
                raise
            log.warning("album refused as photos (%s): sent as files", exc.message)
            documents = [
                InputMediaDocument(file, caption=caption if index == 0 else None)
                for index, (_, file) in enumerate(files)
            ]
            return await self.bot.send_media_group(chat_id, documents)

    async def _photo(self, chat_id: int, file: str | InputFile, **kwargs: Any) -> Message:
        """A photo; one we upload that Telegram refuses as a photo (a long screenshot's
        dimensions, an image it cannot process) goes as a file, so it is not lost."""
        try:
            return await self.bot.send_photo(chat_id, file, **kwargs)
        except BadRequest as exc:
            if not isinstance(file, InputFile):
                raise
            log.warning("photo refused (%s): sent as a file", exc.message)
            return await self.bot.send_document(chat_id, file, **kwargs)

    # ------------------------------------------------------------------ sending
    async def send(self, address: str, part: Part) -> list[str]:
        try:
            return await self._send(int(address), part)
        except RetryAfter as exc:
            with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                retry = exc.retry_after
            seconds = retry if isinstance(retry, int | float) else retry.total_seconds()
            raise RetryLater(float(seconds), str(exc)) from exc
        except ChatMigrated as exc:
            raise ChatMoved(str(exc.new_chat_id)) from exc
        except Forbidden as exc:
            raise ChatRefused(f"forbidden: {exc.message}") from exc
        except BadRequest as exc:
            raise PermanentFailure(f"bad request: {exc.message}") from exc
        except InvalidToken as exc:
            raise TemporaryFailure(f"token rejected: {exc.message}") from exc
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            raise TemporaryFailure(f"network: {exc.message}") from exc
        except TelegramError as exc:
            raise TemporaryFailure(f"telegram: {exc.message}") from exc

    async def _text(
        self,
        chat_id: int,
        text: str,
        markup: list[list[list[str]]] | None,
        code: Sequence[Sequence[int]],
    ) -> list[str]:
        """Sends a text (with its buttons and its copyable code spans); the message's id.

        The most frequent send, so it leaves out what `Bot.send_message` adds around
        `Bot._post` (which every `Bot.send_*` method calls, and which raises the same
        errors): the parameters go as the JSON the Bot API reads rather than as
        `telegram` objects, and the answer is not made into a `telegram.Message` (the
        outbox keeps its id only). That was a tenth of the CPU of handling an update.
        (`Bot._post` is python-telegram-bot's own, not its documented API: the version is
        pinned below 23, and tests/e2e send every text through it.)
        """
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if markup:
            params["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": label, "callback_data": action} for label, action in row]
                    for row in markup
                ]
            }
        if code:
            params["entities"] = [
                {"type": MessageEntity.CODE, "offset": at, "length": size} for at, size in code
            ]
        sent = await self.bot._post("sendMessage", params)
        return [str(sent["message_id"])]

    async def _send(self, chat_id: int, part: Part) -> list[str]:
        p = part.params
        bot = self.bot
        if part.kind == "tap":
            try:
                await bot.answer_callback_query(p["id"], text=p["text"] or None)
            except BadRequest as exc:  # "query is too old": the spinner has already gone
                log.info("button tap not acknowledged: %s", exc.message)
            return []
        if part.kind == "buttons":
            try:
                await bot.edit_message_reply_markup(
                    chat_id, p["message_id"], reply_markup=_markup(p["markup"])
                )
            except BadRequest as exc:  # unchanged, or the message was deleted: nothing to do
                log.info("buttons of message %s not edited: %s", p["message_id"], exc.message)
            return []
        sent: Message | Sequence[Message]
        if part.kind == "text":
            return await self._text(chat_id, p["text"], p.get("markup"), p.get("code", ()))
        if part.kind == "album":
            scrub = str(chat_id) not in self.originals_to
            kept: list[tuple[AttachmentKind, str | InputFile]] = []
            notices: list[str] = []
            for item in p["items"]:
                attachment = Attachment.from_dict(item)
                file = await self._file(attachment, scrub, attach=True)
                if file is None:
                    notices.append(self._notice(attachment))
                else:
                    kept.append((attachment.kind, file))
            sent = await self._album(chat_id, kept, "\n".join(notices) or None)
        elif part.kind == "location":
            sent = await bot.send_location(
                chat_id, latitude=p["latitude"], longitude=p["longitude"]
            )
        else:
            attachment = Attachment.from_dict(p["file"])
            kwargs: dict[str, Any] = {
                "caption": p.get("caption") or None,
                "reply_markup": _markup(p.get("markup")),
            }
            file = await self._file(attachment, str(chat_id) not in self.originals_to)
            if file is None:
                text = self._notice(attachment, kwargs["caption"] or "")
                sent = await bot.send_message(chat_id, text, reply_markup=kwargs["reply_markup"])
            elif part.kind == "photo":
                sent = await self._photo(chat_id, file, **kwargs)
            elif part.kind == "video":
                sent = await bot.send_video(chat_id, file, **kwargs)
            elif part.kind == "audio":
                sent = await bot.send_audio(chat_id, file, **kwargs)
            elif part.kind == "voice":
                sent = await bot.send_voice(chat_id, file, **kwargs)
            else:
                sent = await bot.send_document(chat_id, file, **kwargs)
        messages = [sent] if isinstance(sent, Message) else list(sent)
        return [str(m.message_id) for m in messages]


def _keyboard(message: OutgoingMessage) -> list[list[list[str]]] | None:
    if not message.buttons:
        return None
    return [[[b.label, b.action] for b in row] for row in message.buttons]


def _markup(rows: list[list[list[str]]] | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=action) for label, action in row]
            for row in rows
        ]
    )


def _code_spans(text: str, copyable: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where each copyable piece stands in the text, as Telegram counts (UTF-16 offset,
    length): shown as code, which copies itself when tapped."""
    spans = []
    for piece in copyable:
        at = text.find(piece) if piece else -1
        if at >= 0:
            spans.append((utf16_len(text[:at]), utf16_len(piece)))
    return spans


def _file_part(attachment: Attachment, *, caption: str = "", markup: Any = None) -> Part:
    return Part(
        _SEND_METHOD[attachment.kind],
        {"file": attachment.to_dict(), "caption": caption, "markup": markup},
        buttons=markup is not None,
    )


def _file_parts(files: list[Attachment]) -> list[Part]:
    """Photos and videos go as albums of up to ten; other files one by one."""
    parts: list[Part] = []
    visual = [f for f in files if f.kind.groups_as_album]
    for start in range(0, len(visual), ALBUM_LIMIT):
        chunk = visual[start : start + ALBUM_LIMIT]
        if len(chunk) == 1:
            parts.append(_file_part(chunk[0]))
        else:
            parts.append(Part("album", {"items": [a.to_dict() for a in chunk]}, weight=len(chunk)))
    parts.extend(_file_part(f) for f in files if not f.kind.groups_as_album)
    return parts


def _may_carry_metadata(attachment: Attachment) -> bool:
    """Files we must clean ourselves: images and documents. A photo sent on Telegram is
    not: Telegram re-encodes photos without their metadata; one sent as a file keeps it.
    Videos and sound are passed on as they came."""
    if attachment.kind is AttachmentKind.PHOTO:
        return attachment.source is not Channel.TELEGRAM
    return attachment.kind is AttachmentKind.DOCUMENT
