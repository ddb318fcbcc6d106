"""A local stand-in of the Telegram Bot API, for the end-to-end tests and the playground.

`TelegramStandIn` is a real aiohttp server that answers the Bot API methods aduanbot uses
closely enough that python-telegram-bot works against it unchanged::

    async with TelegramStandIn(token=TOKEN, bot_username="aduan_bot") as tg:
        bot = telegram.Bot(
            TOKEN, base_url=f"{tg.base_url}/bot", base_file_url=f"{tg.base_url}/file/bot"
        )
        citizen = User(42, "Ani")
        await tg.user_says(citizen, "/start")  # queued for getUpdates, or POSTed to the webhook
        await tg.wait_for(1, chat_id=citizen.id)  # the bot answered
        assert "Selamat datang" in tg.texts(citizen.id)[0]

Everything lives in memory and belongs to one instance: what the bot sent (`messages`,
`texts`, `wait_for`), what the simulated people sent (`transcript`, `subscribe`), the files,
the update queue, the webhook. Nothing leaves the machine: files "sent by URL" are refused as
unreachable and webhooks are only POSTed to loopback addresses unless allowed.

How requests are read. python-telegram-bot never sends JSON: without files it sends
``application/x-www-form-urlencoded``, with files ``multipart/form-data``; in both, string
parameters are sent as they are and every other value (numbers, booleans, lists, objects such
as ``reply_markup``) as JSON text. Uploads are parts named after the parameter (``photo``) or,
inside ``sendMediaGroup`` and for thumbnails, parts named in an ``attach://<name>`` reference.
The stand-in therefore reads each parameter by the type the Bot API gives it (`_Params`), and
also accepts a JSON body, where values arrive already typed.

Where it deliberately differs from Telegram (each is there to catch a bug early):

* ``parse_mode="HTML"``: a bare ``&`` that does not start an entity is refused; Telegram
  would show it as is, but it is nearly always user text the bot forgot to escape.
* ``sendMediaGroup`` with a single item is refused (the Bot API documents 2-10 items;
  Telegram itself would send the item as a plain message).
* Privacy mode is on, as ``getMe`` reports: in groups the bot only receives commands, replies
  to its own messages, messages mentioning it and service messages (`privacy_mode=False`
  delivers everything).
* Files given by URL fail with "failed to get HTTP URL content"; inline messages cannot be
  edited; only the methods listed in `SUPPORTED_METHODS` exist (others answer 404 Not Found,
  which python-telegram-bot raises as ``InvalidToken``, or ``EndPointNotFound`` from
  ``Bot.do_api_request``; each such call is logged as a warning and kept in `api_calls`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import logging
import math
import mimetypes
import re
import secrets
import struct
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
from aiohttp import BodyPartReader, hdrs, web

from bot.standins.recording import (
    Recording,
    Resumable,
    StandInServer,
    is_loopback_host,
    serve,
)

__all__ = [
    "GLOBAL_MESSAGES_PER_SECOND",
    "GROUP_MESSAGES_PER_MINUTE",
    "PRIVATE_BURST",
    "PRIVATE_MESSAGES_PER_SECOND",
    "SUPPORTED_METHODS",
    "ApiCall",
    "CallbackAnswer",
    "Chat",
    "SentMessage",
    "TelegramStandIn",
    "TranscriptEntry",
    "User",
    "WebhookDelivery",
    "WebhookSettings",
]

_LOG = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Keyboard = list[list[tuple[str, str | None]]]
"""An inline keyboard as rows of (label, callback_data); buttons without callback data
(URL buttons and the like) have ``None``."""

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_PHOTO_UPLOAD_BYTES = 10 * 1024 * 1024
# A photo's width and height together at most 10000, and their ratio at most 20
# (a long screenshot is refused as a photo; it can still go as a document).
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_RATIO = 20
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

GLOBAL_MESSAGES_PER_SECOND = 30
"""With ``enforce_limits``: at most this many messages in any 1-second window, all chats."""
GROUP_MESSAGES_PER_MINUTE = 20
"""With ``enforce_limits``: at most this many messages to one group in any 60-second window."""
PRIVATE_MESSAGES_PER_SECOND = 1.0
PRIVATE_BURST = 3
"""With ``enforce_limits``, each private chat has a token bucket holding `PRIVATE_BURST`
messages that refills at `PRIVATE_MESSAGES_PER_SECOND`: three quick messages pass, the fourth
within the same second answers 429. A media group of N items is admitted when the bucket holds
``min(N, PRIVATE_BURST)`` tokens and then takes N, possibly going below zero (borrowing from
the coming seconds)."""

SUPPORTED_METHODS: tuple[str, ...] = (
    "getMe",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendVideo",
    "sendAudio",
    "sendVoice",
    "sendMediaGroup",
    "sendLocation",
    "sendChatAction",
    "answerCallbackQuery",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "getFile",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "getChat",
)
_METHOD_BY_KEY = {name.lower(): name for name in SUPPORTED_METHODS}

_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_MESSAGE_CONTENT_KINDS = (
    "text",
    "photo",
    "document",
    "video",
    "audio",
    "voice",
    "location",
    "contact",
    "sticker",
)
_FILE_DIRS = {
    "photo": ("photos", ".jpg"),
    "document": ("documents", ""),
    "video": ("videos", ".mp4"),
    "audio": ("music", ".mp3"),
    "voice": ("voice", ".oga"),
    "sticker": ("stickers", ".webp"),
}
_FILE_ID_PREFIX = {
    "photo": "AgACAgUAAxkBAA",
    "document": "BQACAgUAAxkBAA",
    "video": "BAACAgUAAxkBAA",
    "audio": "CQACAgUAAxkBAA",
    "voice": "AwACAgUAAxkBAA",
    "sticker": "CAACAgUAAxkBAA",
}
_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
# A 1x1 PNG: what a simulated photo contains when the test gives no bytes.
_PLACEHOLDER_IMAGE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
_ANONYMOUS_ADMIN_ID = 1087968824


# --------------------------------------------------------------------------------------------
# People and chats
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """A simulated Telegram user (a citizen, an officer)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_dict(self) -> JSONDict:
        """The Bot API ``User`` object."""
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class Chat:
    """A Telegram chat. Positive ids are private chats, negative ids groups.

    For a private chat the name fields are those of the user; `Chat.private` fills them in.
    """

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @classmethod
    def private(cls, user: User) -> Chat:
        """The private chat between the bot and `user` (it has the user's id)."""
        return cls(
            id=user.id,
            type="private",
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
        )

    @classmethod
    def group(cls, chat_id: int, title: str, *, supergroup: bool = True) -> Chat:
        """A group chat; `chat_id` must be negative (supergroups look like -100...)."""
        if chat_id >= 0:
            raise ValueError(f"group chat ids are negative, got {chat_id}")
        return cls(id=chat_id, type="supergroup" if supergroup else "group", title=title)

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    @property
    def label(self) -> str:
        """A short human description, for reports."""
        name = (
            self.title
            if self.is_group
            else " ".join(part for part in (self.first_name, self.last_name) if part)
        )
        return f'{self.type} "{name}"' if name else self.type

    def to_dict(self) -> JSONDict:
        """The Bot API ``Chat`` object."""
        data: JSONDict = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data


# --------------------------------------------------------------------------------------------
# What gets recorded
# --------------------------------------------------------------------------------------------


@dataclass
class SentMessage:
    """A message the bot sent, as the people in the chat see it now.

    `kind` is the content: ``text``, ``photo``, ``document``, ``video``, ``audio``, ``voice``
    or ``location``. An item of a media group has the kind of its media, `method`
    ``"sendMediaGroup"`` and a `media_group_id`. `text` is the text after formatting was
    applied (no HTML tags, no MarkdownV2 escapes), `caption` likewise. Edits change the fields
    in place (the older texts stay in `edit_history`); a deleted message stays recorded with
    `deleted` set.
    """

    chat_id: int
    message_id: int
    method: str
    kind: str
    date: int
    text: str | None = None
    caption: str | None = None
    file_ids: tuple[str, ...] = ()
    keyboard: Keyboard = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    reply_to_message_id: int | None = None
    media_group_id: str | None = None
    parse_mode: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    location: tuple[float, float] | None = None
    edit_date: int | None = None
    edit_history: list[str] = field(default_factory=list)
    deleted: bool = False
    raw: JSONDict = field(default_factory=dict, repr=False)

    @property
    def content(self) -> str:
        """The text, or else the caption, or else an empty string."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def file_id(self) -> str | None:
        """The file's id; for a photo, the id of its largest size."""
        return self.file_ids[-1] if self.file_ids else None

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """The inline keyboard's buttons, row by row, as (label, callback_data)."""
        return [button for row in self.keyboard for button in row]

    def callback_data(self, label: str) -> str:
        """The callback data of the inline button labelled `label`."""
        for text, data in self.buttons:
            if text == label and data is not None:
                return data
        raise KeyError(f"no callback button {label!r}; buttons: {self.buttons}")


@dataclass(frozen=True)
class TranscriptEntry:
    """One thing that happened in a chat, in order: the playground's chat view.

    `sender` is ``"user"`` for what simulated people did (an update, recorded the first time
    it is delivered) and ``"bot"`` for what the bot did. `kind` is the message kind
    (``text``, ``photo``, ...) or one of ``callback_query``, ``edited_message``,
    ``my_chat_member``, ``service`` (user side) and ``edit``, ``delete``, ``chat_action``,
    ``callback_answer`` (bot side). `text` is a human-readable summary. `data` holds the update
    (user side) or the message/parameters (bot side). `seen_by_bot` is false for group
    messages that privacy mode kept from the bot.
    """

    seq: int
    chat_id: int
    sender: Literal["user", "bot"]
    kind: str
    text: str
    date: int
    message_id: int | None = None
    user: User | None = None
    message: SentMessage | None = None
    seen_by_bot: bool = True
    data: JSONDict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ApiCall:
    """A Bot API call the bot made, with the parameters as read and the answer's status."""

    method: str
    params: JSONDict
    status: int
    description: str | None = None


@dataclass(frozen=True)
class CallbackAnswer:
    """An ``answerCallbackQuery`` the bot made."""

    callback_query_id: str
    chat_id: int | None
    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class WebhookSettings:
    """What the bot gave ``setWebhook``."""

    url: str
    secret_token: str | None
    allowed_updates: tuple[str, ...] | None
    max_connections: int
    drop_pending_updates: bool


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the webhook; `status` is 0 when the connection failed."""

    update_id: int
    url: str
    status: int
    attempt: int


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


class _ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        data: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            data["parameters"] = self.parameters
        return data


def _bad_request(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class _Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    meta: JSONDict
    siblings: tuple[str, ...] = ()  # for a photo: the ids of all its sizes, smallest first

    def to_object(self) -> JSONDict:
        """The Bot API object (``PhotoSize``, ``Document``, ...) describing this file."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            **self.meta,
            "file_size": len(self.data),
        }


@dataclass
class _ChatState:
    chat: Chat
    chat_instance: str
    next_message_id: int = 1
    messages: dict[int, JSONDict] = field(default_factory=dict)  # everything, by message_id
    bot_messages: dict[int, SentMessage] = field(default_factory=dict)
    blocked: bool = False
    forgotten: bool = False
    migrated_to: int | None = None

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class _Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    migrate_to_chat_id: int | None
    chat_id: int | None
    remaining: int

    def error(self) -> _ApiError:
        parameters: JSONDict = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        return _ApiError(self.status, self.description, parameters or None)


@dataclass
class _Delay:
    seconds: float
    remaining: int | None
    chat_id: int | None = None


@dataclass
class _CallbackState:
    chat_id: int | None
    answered: bool = False


class _Params:
    """A request's parameters, read by the type the Bot API gives each one.

    Form and multipart requests carry strings (JSON text for anything but strings); a JSON
    body carries typed values. The getters accept both.
    """

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, _Upload]) -> None:
        self.values = dict(values)
        self.uploads = dict(uploads)

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None or name in self.uploads

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        return json.dumps(value)

    def get_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise _bad_request(f'field "{name}" must be of type Number')
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value.strip())
        raise _bad_request(f'field "{name}" must be of type Number')

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value.strip())
        raise _bad_request(f'field "{name}" must be of type Number')

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0", ""):
            return value.strip().lower() in ("true", "1")
        raise _bad_request(f'field "{name}" must be of type Boolean')

    def get_json(self, name: str, what: str | None = None) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(f"can't parse {what or name} JSON object") from None

    def summary(self) -> JSONDict:
        """The parameters for the call log, uploads described rather than included."""
        data: JSONDict = {}
        for name, value in self.values.items():
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            data[name] = value
        for name, upload in self.uploads.items():
            data[name] = f"<upload {upload.filename!r}, {len(upload.data)} bytes>"
        return data


class _RateLimiter:
    """Telegram's broadcast limits; see `GLOBAL_MESSAGES_PER_SECOND` and friends."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._global: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._private: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)

    @staticmethod
    def _wait(window: deque[float], now: float, span: float, limit: int, count: int) -> float:
        while window and window[0] <= now - span:
            window.popleft()
        excess = len(window) + count - limit
        if excess <= 0:
            return 0.0
        if excess > len(window):
            return span
        return window[excess - 1] + span - now

    def acquire(self, chat_id: int, count: int) -> int | None:
        """Takes `count` messages' worth for `chat_id`; the retry_after in seconds if over."""
        now = self._clock()
        waits = [self._wait(self._global, now, 1.0, GLOBAL_MESSAGES_PER_SECOND, count)]
        tokens = 0.0
        if chat_id < 0:
            window = self._groups.setdefault(chat_id, deque())
            waits.append(self._wait(window, now, 60.0, GROUP_MESSAGES_PER_MINUTE, count))
        else:
            held, at = self._private.get(chat_id, (float(PRIVATE_BURST), now))
            tokens = min(float(PRIVATE_BURST), held + (now - at) * PRIVATE_MESSAGES_PER_SECOND)
            need = min(count, PRIVATE_BURST)
            if tokens < need:
                waits.append((need - tokens) / PRIVATE_MESSAGES_PER_SECOND)
        longest = max(waits)
        if longest > 0:
            return max(1, math.ceil(longest))
        self._global.extend([now] * count)
        if chat_id < 0:
            self._groups[chat_id].extend([now] * count)
        else:
            self._private[chat_id] = (tokens - count, now)
        return None


# --------------------------------------------------------------------------------------------
# Formatting: HTML and MarkdownV2, the way Telegram reads them (simplified)
# --------------------------------------------------------------------------------------------


class _EntityError(Exception):
    pass


def _u16len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _TextOut:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.u16 += _u16len(text)

    def text(self) -> str:
        return "".join(self.parts)


_HTML_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_HTML_START_TAG_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9-]*)(\s.*)?", re.DOTALL)
_HTML_ATTR_RE = re.compile(r"""([a-zA-Z_][\w-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


def _decode_html_entity(name: str) -> str | None:
    if name.startswith(("#x", "#X")):
        code = int(name[2:], 16)
    elif name.startswith("#"):
        code = int(name[1:])
    else:
        return _HTML_NAMED_ENTITIES.get(name.lower())
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _html_entity(name: str, attrs: dict[str, str], offset: int) -> JSONDict | None:
    kind = _HTML_TAG_TYPES.get(name)
    if kind is None:
        raise _EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise _EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if name == "a":
        href = attrs.get("href")
        return {"type": "text_link", "url": href} if href else None
    if name == "blockquote" and "expandable" in attrs:
        return {"type": "expandable_blockquote"}
    if name == "tg-emoji":
        emoji_id = attrs.get("emoji-id")
        if not emoji_id:
            raise _EntityError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
            )
        return {"type": "custom_emoji", "custom_emoji_id": emoji_id}
    return {"type": kind}


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's ``parse_mode=HTML``: the plain text and its entities, or `_EntityError`."""
    out = _TextOut()
    stack: list[tuple[str, int, JSONDict | None]] = []
    entities: list[JSONDict] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            end = text.find(">", i + 1)
            if end < 0:
                raise _EntityError(f"Unclosed start tag at byte offset {_byte_offset(text, i)}")
            inner = text[i + 1 : end]
            offset = _byte_offset(text, i)
            if inner.startswith("/"):
                name = inner[1:].strip().lower()
                if not stack:
                    raise _EntityError(f'Unexpected end tag "{name}" at byte offset {offset}')
                open_name, start, entity = stack.pop()
                if name != open_name:
                    raise _EntityError(
                        f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
                        f'found "</{name}>"'
                    )
                if entity is not None and out.u16 > start:
                    entities.append({**entity, "offset": start, "length": out.u16 - start})
            else:
                match = _HTML_START_TAG_RE.fullmatch(inner)
                if match is None:
                    raise _EntityError(
                        f'Unsupported start tag "{inner[:16]}" at byte offset {offset}'
                    )
                name = match.group(1).lower()
                attrs = {
                    m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or ""
                    for m in _HTML_ATTR_RE.finditer(match.group(2) or "")
                }
                entity = _html_entity(name, attrs, offset)
                language = attrs.get("class", "").removeprefix("language-")
                if name == "code" and stack and stack[-1][0] == "pre" and language:
                    # <pre><code class="language-x"> is one pre entity with a language.
                    parent = stack[-1][2]
                    if parent is not None:
                        parent["language"] = language
                    entity = None
                stack.append((name, out.u16, entity))
            i = end + 1
        elif char == "&":
            entity_match = _HTML_ENTITY_RE.match(text, i)
            decoded = _decode_html_entity(entity_match.group(1)) if entity_match else None
            if entity_match is None or decoded is None:
                raise _EntityError(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)}; write "&amp;" '
                    "(the stand-in is stricter than Telegram here)"
                )
            out.add(decoded)
            i = entity_match.end()
        else:
            out.add(char)
            i += 1
    if stack:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


_MD_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD_TYPES = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}
_MD_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
}


def _find_closing(text: str, token: str, start: int, *, escapes: bool) -> int:
    j = start
    while j < len(text):
        if escapes and text[j] == "\\":
            j += 2
            continue
        if text.startswith(token, j):
            return j
        j += 1
    return -1


def _unescape_markdown(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def parse_markdown(text: str, *, legacy: bool = False) -> tuple[str, list[JSONDict]]:
    """Telegram's ``MarkdownV2`` (or, with `legacy`, ``Markdown``) parse mode, simplified.

    MarkdownV2 refuses any unescaped reserved character outside an entity, as Telegram does.
    Block quotes (``>`` at a line start) are accepted and shown without an entity.
    """
    out = _TextOut()
    stack: list[tuple[str, int, int]] = []  # mark, start (UTF-16), index in text
    entities: list[JSONDict] = []
    marks = ("*", "_") if legacy else ("__", "||", "*", "_", "~")
    escapable = "_*`[\\" if legacy else None
    line_start = True
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and (escapable is None or text[i + 1 : i + 2] in tuple(escapable)):
            if i + 1 >= len(text):
                raise _EntityError(
                    "Character '\\' is reserved and must be escaped with the preceding '\\'"
                )
            out.add(text[i + 1])
            i += 2
            line_start = False
            continue
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = _find_closing(text, fence, i + len(fence), escapes=not legacy)
            kind = "pre" if fence == "```" else "code"
            if end < 0:
                raise _EntityError(
                    f"Can't find end of {kind.title()} entity at byte offset "
                    f"{_byte_offset(text, i)}"
                )
            body = text[i + len(fence) : end]
            entity: JSONDict = {"type": kind}
            if fence == "```":
                first, newline, rest = body.partition("\n")
                if newline and first and not first.isspace() and " " not in first:
                    entity["language"] = first
                    body = rest
            if not legacy:
                body = _unescape_markdown(body)
            start = out.u16
            out.add(body)
            if body:
                entities.append({**entity, "offset": start, "length": out.u16 - start})
            i = end + len(fence)
            line_start = False
            continue
        if char == "[":
            stack.append(("[", out.u16, i))
            i += 1
            continue
        if char == "]" and any(mark == "[" for mark, _, _ in stack):
            mark, start, at = stack.pop()
            if mark != "[":
                raise _EntityError(
                    f"Can't find end of {_MD_NAMES[mark]} entity at byte offset "
                    f"{_byte_offset(text, at)}"
                )
            end = _find_closing(text, ")", i + 2, escapes=not legacy)
            if not text.startswith("(", i + 1) or end < 0:
                raise _EntityError(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, i)}"
                )
            url = text[i + 2 : end]
            if not legacy:
                url = _unescape_markdown(url)
            if out.u16 > start:
                entities.append(
                    {"type": "text_link", "offset": start, "length": out.u16 - start, "url": url}
                )
            i = end + 1
            continue
        mark_here = next((m for m in marks if text.startswith(m, i)), None)
        if mark_here is not None:
            if stack and stack[-1][0] == mark_here:
                _, start, _ = stack.pop()
                if out.u16 > start:
                    entities.append(
                        {"type": _MD_TYPES[mark_here], "offset": start, "length": out.u16 - start}
                    )
            elif any(mark == mark_here for mark, _, _ in stack):
                mark, _, at = stack[-1]
                raise _EntityError(
                    f"Can't find end of {_MD_NAMES[mark]} entity at byte offset "
                    f"{_byte_offset(text, at)}"
                )
            else:
                stack.append((mark_here, out.u16, i))
            i += len(mark_here)
            continue
        if not legacy:
            if char == ">" and line_start:
                i += 1
                continue
            if char in _MD_V2_RESERVED:
                raise _EntityError(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
        out.add(char)
        line_start = char == "\n"
        i += 1
    if stack:
        mark, _, at = stack[0]
        raise _EntityError(
            f"Can't find end of {_MD_NAMES[mark]} entity at byte offset {_byte_offset(text, at)}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, GIF or JPEG header, if it is one."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
                i += 1 if marker == 0xFF else 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + int(length)
    return None


def _now() -> int:
    return int(time.time())


def _message_kind(message: Mapping[str, Any]) -> str:
    return next((kind for kind in _MESSAGE_CONTENT_KINDS if kind in message), "service")


def _message_summary(message: Mapping[str, Any]) -> str:
    if "text" in message:
        return str(message["text"])
    if "caption" in message:
        return str(message["caption"])
    if "location" in message:
        location = message["location"]
        return f"location {location['latitude']}, {location['longitude']}"
    if "contact" in message:
        return f"contact {message['contact']['phone_number']}"
    if "sticker" in message:
        return str(message["sticker"].get("emoji", "sticker"))
    if "migrate_to_chat_id" in message:
        return f"group upgraded to supergroup {message['migrate_to_chat_id']}"
    if "migrate_from_chat_id" in message:
        return f"supergroup created from group {message['migrate_from_chat_id']}"
    return ""


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _is_loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


# --------------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------------


class TelegramStandIn(
    Recording[TranscriptEntry, SentMessage, int | None], StandInServer, Resumable
):
    """A Bot API server for one bot, with simulated people and a record of what they saw.

    Args:
        token: the bot token the server accepts (others answer 401 Unauthorized). Its numeric
            part before ``:`` is the bot's user id.
        bot_username: the username ``getMe`` reports.
        bot_name: the first name ``getMe`` reports.
        enforce_limits: answer 429 Too Many Requests beyond Telegram's broadcast limits (see
            `GLOBAL_MESSAGES_PER_SECOND`, `GROUP_MESSAGES_PER_MINUTE`, `PRIVATE_BURST`). Can be
            switched later through the attribute of the same name.
        privacy_mode: in groups, deliver only what a bot in privacy mode receives.
        allow_remote_webhooks: let `deliver` POST to webhook URLs that are not loopback.
        clock: monotonic seconds, for the rate limits (tests can pass a fake one).
        first_update_id: the update_id of the first simulated update.
    """

    KEPT = (
        "_chats",
        "_users",
        "_files",
        "_files_by_path",
        "_file_counter",
        "_sent",
        "_transcript",
        "_next_update_id",
        "_delivered_ids",
    )

    def __init__(
        self,
        token: str = "123456789:STAND-IN-TOKEN",
        bot_username: str = "aduan_test_bot",
        *,
        bot_name: str = "Aduan",
        enforce_limits: bool = False,
        privacy_mode: bool = True,
        allow_remote_webhooks: bool = False,
        clock: Callable[[], float] = time.monotonic,
        first_update_id: int = 100_000_001,
    ) -> None:
        super().__init__(
            lambda where: self.messages(where),  # late-bound, like report
            text_of=lambda m: m.content,
            report=lambda what, where, timeout: self.report(what, chat_id=where, timeout=timeout),
        )
        self.token = token
        self.bot_username = bot_username
        self.bot_name = bot_name
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 1_000_000_001
        self.enforce_limits = enforce_limits
        self.privacy_mode = privacy_mode
        self.allow_remote_webhooks = allow_remote_webhooks

        self.api_calls: list[ApiCall] = []
        """Every Bot API call, in order, including failed ones."""
        self.callback_answers: list[CallbackAnswer] = []
        self.deliveries: list[WebhookDelivery] = []
        """Every POST to the webhook, including retries."""
        self.too_many_requests = 0
        """How many 429 Too Many Requests answers were given (limits and injected faults)."""

        self._limiter = _RateLimiter(clock)
        self._chats: dict[int, _ChatState] = {}
        self._users: dict[int, User] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_counter = 0
        self._sent: list[SentMessage] = []
        self._transcript: list[TranscriptEntry] = []
        self._callbacks: dict[str, _CallbackState] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._faults: list[_Fault] = []
        self._delays: dict[str, _Delay] = {}
        self._in_flight: Counter[str] = Counter()

        self._next_update_id = first_update_id
        self._pending: list[JSONDict] = []
        self._delivered_ids: set[int] = set()
        self._allowed_updates: tuple[str, ...] | None = None
        self._webhook: WebhookSettings | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._poll_generation = 0
        self._polls_waiting = 0

        self._stopping = asyncio.Event()
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._session: aiohttp.ClientSession | None = None

        self._handlers: dict[str, Callable[[_Params], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVideo": self._send_video,
            "sendAudio": self._send_audio,
            "sendVoice": self._send_voice,
            "sendMediaGroup": self._send_media_group,
            "sendLocation": self._send_location,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
        }

    # ---------------------------------------------------------------- lifetime

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serves the API on `host`:`port` (0 picks a free port); see `base_url`."""
        if self._runner is not None:
            raise RuntimeError("the Telegram stand-in is already running")
        self._stopping.clear()
        self._app = self.make_app()
        self._runner, self._base_url = await serve(self._app, host, port)

    async def stop(self) -> None:
        """Stops serving; waiting long polls and delayed calls end at once."""
        await self._begin_shutdown()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        await self._close_session()
        self._base_url = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the value for ``TELEGRAM_API_BASE_URL``."""
        if self._base_url is None:
            raise RuntimeError("the Telegram stand-in is not running; await start() first")
        return self._base_url

    def make_app(self) -> web.Application:
        """A new aiohttp application serving this stand-in's API, to run or mount elsewhere.

        Routes: ``GET|POST /bot{token}/{method}`` and ``GET /file/bot{token}/{file_path}``.
        """
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("POST", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._handle_file)
        app.on_startup.append(self._on_app_startup)
        app.on_shutdown.append(self._on_app_shutdown)
        app.on_cleanup.append(self._on_app_cleanup)
        return app

    async def _on_app_startup(self, app: web.Application) -> None:
        self._stopping.clear()

    async def _on_app_shutdown(self, app: web.Application) -> None:
        await self._begin_shutdown()

    async def _on_app_cleanup(self, app: web.Application) -> None:
        await self._close_session()

    async def _begin_shutdown(self) -> None:
        self._stopping.set()
        await self._notify()

    # ---------------------------------------------------------------- faults and limits

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Makes the next `times` calls of `method` (only those to `chat_id`, if given) fail.

        `method` is a Bot API name in any case or snake_case (``"sendMessage"``,
        ``"send_message"``). The answer has `status`, `description` (default: the status's
        phrase) and, if given, ``parameters.retry_after`` / ``parameters.migrate_to_chat_id``.
        The failed call has no effect.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(
            _Fault(
                method=self._method_name(method),
                status=status,
                description=description or self._default_description(status, retry_after),
                retry_after=retry_after,
                migrate_to_chat_id=migrate_to_chat_id,
                chat_id=chat_id,
                remaining=times,
            )
        )

    def delay(
        self, method: str, seconds: float, *, times: int | None = None, chat_id: int | None = None
    ) -> None:
        """Makes `method` answer only after `seconds` (for timeouts); 0 removes the delay.

        The call still takes effect after the delay, as on the real API: a client that timed
        out and retried (or died waiting) has sent twice. `times` limits the delay to the
        next calls; `chat_id` to the calls about that chat.
        """
        name = self._method_name(method)
        if seconds <= 0:
            self._delays.pop(name, None)
        else:
            self._delays[name] = _Delay(seconds, times, chat_id)

    def in_flight(self, method: str) -> int:
        """How many calls of `method` are being answered right now (e.g. held by `delay`)."""
        return self._in_flight[self._method_name(method)]

    async def wait_for_in_flight(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - as in wait_for
    ) -> None:
        """Waits until at least `count` calls of `method` are being answered."""
        await self._wait_until(
            lambda: self.in_flight(method) >= count,
            timeout,
            lambda: f"{self.in_flight(method)} {method} calls in flight after {timeout} s",
        )

    def clear_faults(self) -> None:
        """Removes every pending `fail_next` and `delay`."""
        self._faults.clear()
        self._delays.clear()

    def block(self, chat_id: int) -> None:
        """The user blocked the bot (or, for a group, removed it): sends answer 403."""
        self._state(chat_id).blocked = True

    def unblock(self, chat_id: int) -> None:
        self._state(chat_id).blocked = False

    def forget_chat(self, chat_id: int) -> None:
        """Telegram no longer knows the chat: calls about it answer 400 chat not found.

        It becomes known again when a simulated user writes in it.
        """
        self._state(chat_id).forgotten = True

    async def migrate(
        self, old_chat_id: int, new_chat_id: int, *, by: User | None = None, deliver: bool = True
    ) -> list[JSONDict]:
        """The group `old_chat_id` was upgraded to the supergroup `new_chat_id`.

        From now on sends to the old id answer 400 "group chat was upgraded to a supergroup
        chat" with ``parameters.migrate_to_chat_id``. Returns the two service updates Telegram
        sends (see `migration_updates`), delivered first unless `deliver` is false.
        """
        updates = self.migration_updates(old_chat_id, new_chat_id, by=by)
        self._chats[old_chat_id].migrated_to = new_chat_id
        if deliver:
            for update in updates:
                await self.deliver(update)
        return updates

    # ---------------------------------------------------------------- what was recorded

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """What the bot sent to `chat_id` (or to everyone), oldest first."""
        return [m for m in self._sent if chat_id is None or m.chat_id == chat_id]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """The text (or caption) of each message the bot sent to `chat_id`."""
        return [m.content for m in self.messages(chat_id)]

    def last_message(self, chat_id: int) -> SentMessage:
        """The last message the bot sent to `chat_id`."""
        sent = self.messages(chat_id)
        if not sent:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}")
        return sent[-1]

    def transcript(self, chat_id: int | None = None) -> list[TranscriptEntry]:
        """Everything that happened in `chat_id` (or everywhere), people and bot, in order."""
        return [e for e in self._transcript if chat_id is None or e.chat_id == chat_id]

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """The Bot API calls made, optionally only those of `method`."""
        if method is None:
            return list(self.api_calls)
        name = self._method_name(method)
        return [call for call in self.api_calls if call.method == name]

    # subscribe() and unsubscribe() come from Recording.

    async def wait_for(
        self,
        condition: int | Callable[[list[SentMessage]], bool],
        *,
        chat_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the condition, not cancellation
        what: str | None = None,
    ) -> list[SentMessage]:
        """Waits until the bot's messages (to `chat_id`, or all) satisfy `condition`.

        `condition` is a count (at least that many messages) or a predicate over the list of
        messages. Returns the messages. On timeout raises `AssertionError` listing what every
        chat received; `what` names the awaited thing in that report.
        """
        return await self._wait_for_messages(condition, chat_id, timeout, what)

    async def wait_for_text(
        self,
        chat_id: int,
        fragment: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - as in wait_for
    ) -> SentMessage:
        """Waits for a message to `chat_id` whose text or caption contains `fragment`."""
        return await self._wait_for_text(chat_id, fragment, timeout)

    async def wait_for_poll(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Waits until a ``getUpdates`` long poll is waiting (the bot is listening)."""
        await self._wait_until(
            lambda: self._polls_waiting > 0,
            timeout,
            lambda: (
                f"no getUpdates long poll arrived within {timeout} s; "
                f"calls so far: {[call.method for call in self.api_calls]}"
            ),
        )

    def report(self, what: str, *, chat_id: int | None = None, timeout: float | None = None) -> str:
        """A readable account of what every chat received, for failure messages."""
        where = f" in chat {chat_id}" if chat_id is not None else ""
        after = f" after {timeout} s" if timeout is not None else ""
        lines = [f"Timed out{after} waiting for {what}{where}.", "What each chat received:"]
        chat_ids = sorted({m.chat_id for m in self._sent} | ({chat_id} if chat_id else set()))
        for cid in chat_ids:
            state = self._chats.get(cid)
            label = state.chat.label if state else "unknown chat"
            sent = self.messages(cid)
            lines.append(f"  chat {cid} ({label}): {len(sent) or 'nothing'}")
            for m in sent:
                buttons = f"  buttons {[[b[0] for b in row] for row in m.keyboard]}"
                flags = " (deleted)" if m.deleted else ""
                lines.append(
                    f"    #{m.message_id} {m.kind}{flags}: {m.content!r}"
                    f"{buttons if m.keyboard else ''}"
                )
        if not chat_ids:
            lines.append("  (the bot sent nothing at all)")
        user_side = [e for e in self._transcript if e.sender == "user"][-5:]
        if user_side:
            lines.append("Last things the simulated people did:")
            lines.extend(f"  chat {e.chat_id}: {e.kind} {e.text!r}" for e in user_side)
        failed = [c for c in self.api_calls if c.status != 200][-5:]
        if failed:
            lines.append("Last failed API calls:")
            lines.extend(f"  {c.method} -> {c.status} {c.description}" for c in failed)
        return "\n".join(lines)

    def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """The bot's command list for `scope` (default scope) as (command, description)."""
        key = (json.dumps(dict(scope or {"type": "default"}), sort_keys=True), language_code)
        return [(c["command"], c["description"]) for c in self._commands.get(key, [])]

    @property
    def webhook(self) -> WebhookSettings | None:
        """The webhook the bot set, if any."""
        return self._webhook

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates waiting for ``getUpdates``."""
        return copy.deepcopy(self._pending)

    def file_bytes(self, file_id: str) -> bytes:
        """The content of a file the stand-in knows, by file_id."""
        stored = self._files.get(file_id)
        if stored is None:
            raise KeyError(f"unknown file_id {file_id!r}")
        return stored.data

    def register_file(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> str:
        """Stores a file as if someone had sent it before; returns its file_id.

        For a photo, the id of its largest size.
        """
        if kind == "photo":
            return self._store_photo(data)[-1].file_id
        meta: JSONDict = {}
        if kind in ("document", "video", "audio"):
            name = file_name or f"file{_FILE_DIRS.get(kind, ('', ''))[1]}"
            meta["file_name"] = name
            meta["mime_type"] = (
                mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            )
        elif kind == "voice":
            meta["mime_type"] = mime_type or "audio/ogg"
        if kind in ("video", "audio", "voice"):
            meta["duration"] = 1
        if kind == "video":
            meta.update(width=640, height=360)
        if kind == "sticker":
            meta.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
        return self._store_file(kind, data, meta, file_name).file_id

    # ---------------------------------------------------------------- simulated people

    def add_user(self, user: User) -> None:
        """Makes `user` known (done automatically by every builder)."""
        self._users[user.id] = user
        state = self._chats.get(user.id)
        if state is not None and state.chat.type == "private":
            state.chat = Chat.private(user)

    def add_chat(self, chat: Chat) -> None:
        """Makes `chat` known with its title/names (builders do this for the chats they use)."""
        self._ensure_chat(chat)

    def text_update(
        self,
        user: User,
        text: str,
        *,
        chat: Chat | None = None,
        reply_to: SentMessage | int | None = None,
    ) -> JSONDict:
        """`user` writes `text` (in their private chat unless `chat` is given).

        Text starting with ``/`` gets a ``bot_command`` entity, ``@names`` get ``mention``
        entities. `reply_to` (a recorded bot message or a message id in that chat) is
        included in full as ``reply_to_message``.
        """
        state, message = self._user_message(user, chat, reply_to=reply_to)
        message["text"] = text
        entities = self._text_entities(text)
        if entities:
            message["entities"] = entities
        return self._wrap(state, message)

    def photo_update(
        self,
        user: User,
        *,
        data: bytes | None = None,
        width: int | None = None,
        height: int | None = None,
        caption: str | None = None,
        chat: Chat | None = None,
        media_group_id: str | None = None,
        reply_to: SentMessage | int | None = None,
    ) -> JSONDict:
        """`user` sends a photo: several ``PhotoSize``s, largest last, downloadable.

        Without `data` the photo is a 1x1 PNG; the sizes come from `width`/`height`, the
        image header, or 1280x960.
        """
        state, message = self._user_message(
            user, chat, reply_to=reply_to, media_group_id=media_group_id
        )
        sizes = self._store_photo(data, width=width, height=height)
        message["photo"] = [size.to_object() for size in sizes]
        self._add_caption(message, caption)
        return self._wrap(state, message)

    def document_update(
        self,
        user: User,
        *,
        data: bytes | None = None,
        file_name: str = "dokumen.pdf",
        mime_type: str | None = None,
        caption: str | None = None,
        chat: Chat | None = None,
        media_group_id: str | None = None,
        reply_to: SentMessage | int | None = None,
    ) -> JSONDict:
        """`user` sends a file as a document (in reply to `reply_to`, if given)."""
        state, message = self._user_message(
            user, chat, reply_to=reply_to, media_group_id=media_group_id
        )
        content = data if data is not None else b"%PDF-1.4\n% stand-in document\n%%EOF\n"
        meta = {
            "file_name": file_name,
            "mime_type": mime_type
            or mimetypes.guess_type(file_name)[0]
            or "application/octet-stream",
        }
        message["document"] = self._store_file("document", content, meta, file_name).to_object()
        self._add_caption(message, caption)
        return self._wrap(state, message)

    def video_update(
        self,
        user: User,
        *,
        data: bytes | None = None,
        duration: int = 5,
        width: int = 640,
        height: int = 360,
        caption: str | None = None,
        chat: Chat | None = None,
        media_group_id: str | None = None,
    ) -> JSONDict:
        """`user` sends a video."""
        state, message = self._user_message(user, chat, media_group_id=media_group_id)
        meta = {"width": width, "height": height, "duration": duration, "mime_type": "video/mp4"}
        content = data if data is not None else b"\x00\x00\x00\x18ftypmp42stand-in video"
        message["video"] = self._store_file("video", content, meta).to_object()
        self._add_caption(message, caption)
        return self._wrap(state, message)

    def voice_update(
        self, user: User, *, data: bytes | None = None, duration: int = 3, chat: Chat | None = None
    ) -> JSONDict:
        """`user` sends a voice note."""
        state, message = self._user_message(user, chat)
        content = data if data is not None else b"OggS\x00stand-in voice"
        meta = {"duration": duration, "mime_type": "audio/ogg"}
        message["voice"] = self._store_file("voice", content, meta).to_object()
        return self._wrap(state, message)

    def location_update(
        self, user: User, latitude: float, longitude: float, *, chat: Chat | None = None
    ) -> JSONDict:
        """`user` shares a location."""
        state, message = self._user_message(user, chat)
        message["location"] = {"latitude": latitude, "longitude": longitude}
        return self._wrap(state, message)

    def contact_update(
        self,
        user: User,
        phone_number: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        own: bool = True,
        chat: Chat | None = None,
    ) -> JSONDict:
        """`user` shares a contact; `own` (default) means their own number (``user_id`` set)."""
        state, message = self._user_message(user, chat)
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name or user.first_name,
        }
        if last_name or (own and user.last_name):
            contact["last_name"] = last_name or user.last_name
        if own:
            contact["user_id"] = user.id
        message["contact"] = contact
        return self._wrap(state, message)

    def sticker_update(
        self, user: User, *, emoji: str = "👍", chat: Chat | None = None
    ) -> JSONDict:
        """`user` sends a sticker."""
        state, message = self._user_message(user, chat)
        meta = {
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        message["sticker"] = self._store_file("sticker", b"RIFF\x00WEBPstand-in", meta).to_object()
        return self._wrap(state, message)

    def album_updates(
        self,
        user: User,
        photos: int | Sequence[bytes] = 2,
        *,
        caption: str | None = None,
        caption_index: int = 0,
        chat: Chat | None = None,
        order: Sequence[int] | None = None,
    ) -> list[JSONDict]:
        """`user` sends several photos at once: one update per photo, one media_group_id.

        `caption` goes on item `caption_index`. The updates come in sending order unless
        `order` (a permutation of the item indexes) says otherwise, to simulate Telegram
        delivering an album out of order.
        """
        datas: list[bytes | None] = [None] * photos if isinstance(photos, int) else list(photos)
        if len(datas) < 2:
            raise ValueError("an album has at least 2 photos")
        media_group_id = str(secrets.randbelow(2**62) + 10**17)
        updates = [
            self.photo_update(
                user,
                data=data,
                caption=caption if index == caption_index else None,
                chat=chat,
                media_group_id=media_group_id,
            )
            for index, data in enumerate(datas)
        ]
        if order is None:
            return updates
        if sorted(order) != list(range(len(updates))):
            raise ValueError(f"order must be a permutation of 0..{len(updates) - 1}")
        return [updates[index] for index in order]

    def callback_update(self, user: User, message: SentMessage, button: str) -> JSONDict:
        """`user` taps the inline button labelled `button` (or with that callback data)."""
        if message.deleted:
            raise ValueError(f"message {message.message_id} was deleted; nothing to tap")
        data = next((d for label, d in message.buttons if label == button and d), None)
        if data is None:
            data = next((d for _, d in message.buttons if d == button), None)
        if data is None:
            raise ValueError(f"no callback button {button!r} on the message; has {message.buttons}")
        self.add_user(user)
        state = self._state(message.chat_id)
        query_id = str(secrets.randbelow(2**62) + 10**18)
        self._callbacks[query_id] = _CallbackState(chat_id=message.chat_id)
        query = {
            "id": query_id,
            "from": user.to_dict(),
            "message": copy.deepcopy(message.raw),
            "chat_instance": state.chat_instance,
            "data": data,
        }
        return {"update_id": self._take_update_id(), "callback_query": query}

    def edited_message_update(self, original: Mapping[str, Any], text: str) -> JSONDict:
        """The author of `original` (an update from a builder) edits its text/caption."""
        source = original.get("message") or original.get("edited_message")
        if not isinstance(source, Mapping):
            raise ValueError("original must be a message update made by a builder")
        state = self._state(int(source["chat"]["id"]))
        message = copy.deepcopy(dict(state.messages.get(int(source["message_id"]), source)))
        key = "text" if "text" in message else "caption"
        message[key] = text
        message.pop("entities" if key == "text" else "caption_entities", None)
        entities = self._text_entities(text)
        if entities:
            message["entities" if key == "text" else "caption_entities"] = entities
        message["edit_date"] = _now()
        state.messages[int(message["message_id"])] = message
        return {"update_id": self._take_update_id(), "edited_message": copy.deepcopy(message)}

    def my_chat_member_update(
        self,
        user: User,
        chat: Chat | None = None,
        *,
        old_status: str = "member",
        new_status: str | None = None,
    ) -> JSONDict:
        """The bot's membership changed: by default `user` blocked it / removed it from `chat`.

        `new_status` defaults to ``kicked`` in a private chat and ``left`` in a group.
        Leaving or being kicked also blocks further sends (403), as on Telegram; ``member``
        unblocks.
        """
        self.add_user(user)
        state = self._ensure_chat(chat or Chat.private(user))
        new_status = new_status or ("left" if state.chat.is_group else "kicked")
        update = {
            "update_id": self._take_update_id(),
            "my_chat_member": {
                "chat": state.chat.to_dict(),
                "from": user.to_dict(),
                "date": _now(),
                "old_chat_member": self._bot_member(old_status),
                "new_chat_member": self._bot_member(new_status),
            },
        }
        state.blocked = new_status in ("left", "kicked")
        return update

    def migration_updates(
        self, old_chat_id: int, new_chat_id: int, *, by: User | None = None
    ) -> list[JSONDict]:
        """The service messages of a group upgrade: ``migrate_to_chat_id`` in the old group,
        ``migrate_from_chat_id`` in the new supergroup. Only builds them; see `migrate`."""
        if old_chat_id >= 0 or new_chat_id >= 0:
            raise ValueError("only groups (negative ids) migrate")
        by = by or User(_ANONYMOUS_ADMIN_ID, "Group", username="GroupAnonymousBot")
        old = self._state(old_chat_id)
        if old.chat.type != "group":
            old.chat = Chat(old_chat_id, "group", title=old.chat.title)
        new = self._ensure_chat(Chat(new_chat_id, "supergroup", title=old.chat.title))
        updates: list[JSONDict] = []
        for state, key, value in (
            (old, "migrate_to_chat_id", new_chat_id),
            (new, "migrate_from_chat_id", old_chat_id),
        ):
            message = {
                "message_id": state.take_message_id(),
                "from": by.to_dict(),
                "chat": state.chat.to_dict(),
                "date": _now(),
                key: value,
            }
            updates.append(self._wrap(state, message))
        return updates

    async def user_says(
        self,
        user: User,
        text: str,
        *,
        chat: Chat | None = None,
        reply_to: SentMessage | int | None = None,
    ) -> JSONDict:
        """Builds `text_update` and delivers it; returns the update."""
        update = self.text_update(user, text, chat=chat, reply_to=reply_to)
        await self.deliver(update)
        return update

    async def user_sends_photo(
        self,
        user: User,
        *,
        data: bytes | None = None,
        caption: str | None = None,
        chat: Chat | None = None,
    ) -> JSONDict:
        """Builds `photo_update` and delivers it; returns the update."""
        update = self.photo_update(user, data=data, caption=caption, chat=chat)
        await self.deliver(update)
        return update

    async def user_sends_album(
        self,
        user: User,
        photos: int | Sequence[bytes] = 2,
        *,
        caption: str | None = None,
        chat: Chat | None = None,
        order: Sequence[int] | None = None,
    ) -> list[JSONDict]:
        """Builds `album_updates` and delivers them one by one; returns them."""
        updates = self.album_updates(user, photos, caption=caption, chat=chat, order=order)
        for update in updates:
            await self.deliver(update)
        return updates

    async def user_sends_location(
        self, user: User, latitude: float, longitude: float, *, chat: Chat | None = None
    ) -> JSONDict:
        """Builds `location_update` and delivers it; returns the update."""
        update = self.location_update(user, latitude, longitude, chat=chat)
        await self.deliver(update)
        return update

    async def user_taps(self, user: User, message: SentMessage, button: str) -> JSONDict:
        """Builds `callback_update` and delivers it; returns the update."""
        update = self.callback_update(user, message, button)
        await self.deliver(update)
        return update

    # ---------------------------------------------------------------- delivery

    async def deliver(
        self,
        update: Mapping[str, Any],
        *,
        retry_until_ok: bool = False,
        attempts: int = 5,
        retry_delay: float = 0.0,
    ) -> int | None:
        """Hands `update` to the bot the way Telegram would.

        With a webhook set, POSTs it as JSON with the ``X-Telegram-Bot-Api-Secret-Token``
        header and returns the HTTP status (0 if the connection failed). Telegram redelivers
        on any non-2xx answer; with `retry_until_ok` so does this, up to `attempts` POSTs,
        `retry_delay` seconds apart. Without a webhook, queues it for ``getUpdates`` and
        returns None; None also when the bot would not receive it (privacy mode, or its type
        is not in ``allowed_updates``). The same update can be delivered again (a duplicate).
        """
        body = copy.deepcopy(dict(update))
        update_id = int(body["update_id"])
        visible = self._allowed(body) and self._visible_to_bot(body)
        if update_id not in self._delivered_ids:
            self._delivered_ids.add(update_id)
            self._record_update(body, seen_by_bot=visible)
        webhook = self._webhook
        if visible and webhook is None:
            self._pending.append(body)
        await self._notify()
        if not visible or webhook is None:
            return None
        return await self._post_to_webhook(webhook, body, retry_until_ok, attempts, retry_delay)

    async def _post_to_webhook(
        self,
        webhook: WebhookSettings,
        body: JSONDict,
        retry_until_ok: bool,
        attempts: int,
        retry_delay: float,
    ) -> int:
        if not self.allow_remote_webhooks and not _is_loopback(webhook.url):
            raise RuntimeError(
                f"refusing to POST to the non-loopback webhook {webhook.url!r}; "
                "pass allow_remote_webhooks=True to allow it"
            )
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        headers = (
            {"X-Telegram-Bot-Api-Secret-Token": webhook.secret_token}
            if webhook.secret_token
            else {}
        )
        status = 0
        for attempt in range(1, max(1, attempts) + 1):
            try:
                async with self._session.post(webhook.url, json=body, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
                    error = f"Wrong response from the webhook: {status} {resp.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = 0
                error = f"Connection failed: {exc}"
            self.deliveries.append(
                WebhookDelivery(int(body["update_id"]), webhook.url, status, attempt)
            )
            if 200 <= status < 300:
                return status
            self._webhook_error = (_now(), error)
            if not retry_until_ok:
                break
            if retry_delay > 0 and attempt < attempts:
                await asyncio.sleep(retry_delay)
        return status

    def _allowed(self, update: Mapping[str, Any]) -> bool:
        kind = _update_type(update)
        allowed = self._webhook.allowed_updates if self._webhook else self._allowed_updates
        if allowed:
            return kind in allowed
        return kind not in _DEFAULT_EXCLUDED_UPDATES

    def _visible_to_bot(self, update: Mapping[str, Any]) -> bool:
        """What a bot in privacy mode receives from a group."""
        message = update.get("message") or update.get("edited_message")
        if not self.privacy_mode or not isinstance(message, Mapping):
            return True
        if message.get("chat", {}).get("type") not in ("group", "supergroup"):
            return True
        if _message_kind(message) == "service":
            return True
        text = str(message.get("text") or message.get("caption") or "")
        command = re.match(r"/[A-Za-z0-9_]+(?:@([A-Za-z0-9_]+))?", text)
        if command:
            addressee = command.group(1)
            return addressee is None or addressee.lower() == self.bot_username.lower()
        replied = message.get("reply_to_message")
        if isinstance(replied, Mapping) and replied.get("from", {}).get("id") == self.bot_id:
            return True
        return f"@{self.bot_username.lower()}" in text.lower()

    def _record_update(self, update: JSONDict, *, seen_by_bot: bool) -> None:
        kind = _update_type(update)
        payload = update.get(kind)
        if not isinstance(payload, Mapping):
            return
        user_data = payload.get("from")
        user = self._users.get(int(user_data["id"])) if isinstance(user_data, Mapping) else None
        if kind in ("message", "edited_message"):
            chat_id = int(payload["chat"]["id"])
            summary = _message_summary(payload)
            entry_kind = _message_kind(payload) if kind == "message" else "edited_message"
            message_id: int | None = int(payload["message_id"])
        elif kind == "callback_query":
            message = payload.get("message") or {}
            chat_id = int(message.get("chat", {}).get("id", 0))
            summary, entry_kind = str(payload.get("data", "")), "callback_query"
            message_id = message.get("message_id")
        elif kind == "my_chat_member":
            chat_id = int(payload["chat"]["id"])
            status = payload["new_chat_member"]["status"]
            summary, entry_kind, message_id = f"bot is now {status}", "my_chat_member", None
        else:
            return
        self._add_entry(
            chat_id=chat_id,
            sender="user",
            kind=entry_kind,
            text=summary,
            message_id=message_id,
            user=user,
            seen_by_bot=seen_by_bot,
            data=update,
        )

    # ---------------------------------------------------------------- HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error_response(_ApiError(401, "Unauthorized"))
        requested = request.match_info["method"]
        method = _METHOD_BY_KEY.get(requested.lower())
        params = _Params({}, {})
        try:
            params = await self._read_params(request)
            if method is None:
                _LOG.warning("Telegram stand-in: the bot called unknown method %r", requested)
                raise _ApiError(404, "Not Found")
            result = await self._call(method, params)
        except _ApiError as err:
            call = ApiCall(method or requested, params.summary(), err.status, err.description)
            self.api_calls.append(call)
            return self._error_response(err)
        self.api_calls.append(ApiCall(method, params.summary(), 200))
        return web.json_response({"ok": True, "result": result})

    def _error_response(self, err: _ApiError) -> web.Response:
        if err.status == 429:
            self.too_many_requests += 1
        return web.json_response(err.body(), status=err.status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self._files_by_path.get(request.match_info["file_path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        content_type = str(stored.meta.get("mime_type") or "application/octet-stream")
        return web.Response(body=stored.data, content_type=content_type)

    async def _read_params(self, request: web.Request) -> _Params:
        values: dict[str, Any] = dict(request.query)
        uploads: dict[str, _Upload] = {}
        if not request.body_exists:
            return _Params(values, uploads)
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise _bad_request("can't parse JSON encoded request body")
            values.update(body)
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                data = bytes(await part.read(decode=True))
                if part.filename is not None:
                    content_type = part.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
                    uploads[part.name] = _Upload(part.filename, content_type, data)
                else:
                    values[part.name] = data.decode(part.get_charset(default="utf-8"))
        else:
            form = await request.post()
            values.update((key, value) for key, value in form.items() if isinstance(value, str))
        return _Params(values, uploads)

    async def _call(self, method: str, params: _Params) -> Any:
        self._in_flight[method] += 1
        await self._notify()
        try:
            return await self._answer(method, params)
        finally:
            self._in_flight[method] -= 1

    async def _answer(self, method: str, params: _Params) -> Any:
        pause = self._delays.get(method)
        if pause is not None and pause.chat_id not in (None, self._peek_chat_id(params)):
            pause = None
        if pause is not None:
            if pause.remaining is not None:
                pause.remaining -= 1
                if pause.remaining <= 0:
                    del self._delays[method]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause.seconds):  # not wait_for (3.11)
                    await self._stopping.wait()
            if self._stopping.is_set():
                raise _ApiError(503, "Service Unavailable: the stand-in is shutting down")
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and self._peek_chat_id(params) != fault.chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            raise fault.error()
        return await self._handlers[method](params)

    # ---------------------------------------------------------------- Bot API: bot and updates

    async def _get_me(self, p: _Params) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: _Params) -> list[JSONDict]:
        if self._webhook is not None:
            raise self._webhook_conflict()
        offset = p.get_int("offset")
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_float("timeout") or 0.0, 0.0)
        allowed = p.get_json("allowed_updates", "allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise _bad_request("can't parse allowed updates JSON object")
            self._allowed_updates = tuple(str(kind) for kind in allowed) or None
            self._pending = [u for u in self._pending if self._allowed(u)]
        if offset is not None:
            if offset < 0:
                self._pending = self._pending[offset:]
            else:
                self._pending = [u for u in self._pending if int(u["update_id"]) >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        async with self._changed:
            self._changed.notify_all()  # a newer getUpdates ends an older one, as on Telegram
            if timeout > 0 and not self._pending and not self._stopping.is_set():
                self._polls_waiting += 1
                self._changed.notify_all()
                try:
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(
                            lambda: (
                                bool(self._pending)
                                or self._stopping.is_set()
                                or self._webhook is not None
                                or generation != self._poll_generation
                            )
                        )
                except TimeoutError:
                    pass
                finally:
                    self._polls_waiting -= 1
        if generation != self._poll_generation:
            raise _ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        if self._webhook is not None:
            raise self._webhook_conflict()
        return copy.deepcopy(self._pending[:limit])

    @staticmethod
    def _webhook_conflict() -> _ApiError:
        return _ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )

    async def _set_webhook(self, p: _Params) -> bool:
        url = p.get_str("url") or ""
        drop = p.get_bool("drop_pending_updates")
        if not url:
            return await self._delete_webhook(p)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_request("bad webhook: invalid webhook URL specified")
        secret = p.get_str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad_request("secret token contains unallowed characters")
        allowed = p.get_json("allowed_updates", "allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise _bad_request("can't parse allowed updates JSON object")
        if allowed is not None:
            self._allowed_updates = tuple(str(kind) for kind in allowed) or None
        max_connections = p.get_int("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise _bad_request("bad webhook: max_connections must be between 1 and 100")
        self._webhook = WebhookSettings(
            url=url,
            secret_token=secret,
            allowed_updates=self._allowed_updates,
            max_connections=max_connections,
            drop_pending_updates=drop,
        )
        self._webhook_error = None
        if drop:
            self._pending.clear()
        await self._notify()
        return True

    async def _delete_webhook(self, p: _Params) -> bool:
        self._webhook = None
        self._webhook_error = None
        if p.get_bool("drop_pending_updates"):
            self._pending.clear()
        await self._notify()
        return True

    async def _get_webhook_info(self, p: _Params) -> JSONDict:
        webhook = self._webhook
        info: JSONDict = {
            "url": webhook.url if webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": 0 if webhook else len(self._pending),
        }
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if webhook.allowed_updates:
                info["allowed_updates"] = list(webhook.allowed_updates)
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    # ---------------------------------------------------------------- Bot API: sending

    async def _send_message(self, p: _Params) -> JSONDict:
        state = self._target(p)
        text, entities = self._formatted(
            p.get_str("text"), p.get_str("parse_mode"), p.get_json("entities")
        )
        if text is None or not text.strip():
            raise _bad_request("message text is empty")
        if _u16len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        markup, keyboard, reply_keyboard = self._reply_markup(p)
        replied = self._replied_message(p, state)
        self._check_limits(state.chat.id, 1)
        message = self._bot_message(state, replied, markup)
        message["text"] = text
        if entities:
            message["entities"] = entities
        await self._record_sent(
            state,
            message,
            replied,
            method="sendMessage",
            kind="text",
            text=text,
            keyboard=keyboard,
            reply_keyboard=reply_keyboard,
            parse_mode=p.get_str("parse_mode"),
            entities=entities,
        )
        return message

    async def _send_photo(self, p: _Params) -> JSONDict:
        return await self._send_media(p, "photo", "sendPhoto")

    async def _send_document(self, p: _Params) -> JSONDict:
        return await self._send_media(p, "document", "sendDocument")

    async def _send_video(self, p: _Params) -> JSONDict:
        return await self._send_media(p, "video", "sendVideo")

    async def _send_audio(self, p: _Params) -> JSONDict:
        return await self._send_media(p, "audio", "sendAudio")

    async def _send_voice(self, p: _Params) -> JSONDict:
        return await self._send_media(p, "voice", "sendVoice")

    async def _send_media(self, p: _Params, kind: str, method: str) -> JSONDict:
        state = self._target(p)
        caption, entities = self._caption(
            p.get_str("caption"), p.get_str("parse_mode"), p.get_json("caption_entities")
        )
        markup, keyboard, reply_keyboard = self._reply_markup(p)
        replied = self._replied_message(p, state)
        files = self._media_input(kind, p.get_str(kind), p.uploads.get(kind), p.uploads, p)
        self._check_limits(state.chat.id, 1)
        message = self._bot_message(state, replied, markup)
        self._put_media(message, kind, files, caption, entities)
        await self._record_sent(
            state,
            message,
            replied,
            method=method,
            kind=kind,
            caption=caption,
            file_ids=tuple(f.file_id for f in files),
            keyboard=keyboard,
            reply_keyboard=reply_keyboard,
            parse_mode=p.get_str("parse_mode"),
            entities=entities,
        )
        return message

    async def _send_media_group(self, p: _Params) -> list[JSONDict]:
        state = self._target(p)
        if not p.has("media"):
            raise _bad_request('parameter "media" is required')
        media = p.get_json("media", "InputMedia")
        if not media:
            raise _bad_request("there are no messages to send")
        if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
            raise _bad_request("can't parse InputMedia JSON object")
        if len(media) > 10:
            raise _bad_request("too many messages to send as an album")
        if len(media) < 2:
            raise _bad_request(
                "too few messages to send as an album (the stand-in enforces the documented 2-10)"
            )
        kinds = [str(item.get("type", "")) for item in media]
        for kind in kinds:
            if kind not in ("photo", "video", "document", "audio"):
                raise _bad_request(
                    f"can't parse InputMedia: type \"{kind}\" can't be used in sendMediaGroup"
                )
        for lone in ("document", "audio"):
            if lone in kinds and any(kind != lone for kind in kinds):
                raise _bad_request(f"{lone} can't be mixed with other media types")
        items: list[tuple[str, list[_StoredFile], str | None, list[JSONDict], str | None]] = []
        for kind, item in zip(kinds, media, strict=True):
            item_params = _Params(item, {})
            caption, entities = self._caption(
                item_params.get_str("caption"),
                item_params.get_str("parse_mode"),
                item.get("caption_entities"),
            )
            reference = item_params.get_str("media")
            if (
                reference is not None
                and reference.startswith("attach://")
                and reference.removeprefix("attach://") not in p.uploads
            ):
                raise _bad_request("can't parse InputMedia: media not found")
            files = self._media_input(kind, reference, None, p.uploads, item_params)
            items.append((kind, files, caption, entities, item_params.get_str("parse_mode")))
        replied = self._replied_message(p, state)
        self._check_limits(state.chat.id, len(items))
        media_group_id = str(secrets.randbelow(2**62) + 10**17)
        messages: list[JSONDict] = []
        for kind, files, caption, entities, parse_mode in items:
            message = self._bot_message(state, replied, None)
            message["media_group_id"] = media_group_id
            self._put_media(message, kind, files, caption, entities)
            await self._record_sent(
                state,
                message,
                replied,
                method="sendMediaGroup",
                kind=kind,
                caption=caption,
                file_ids=tuple(f.file_id for f in files),
                media_group_id=media_group_id,
                parse_mode=parse_mode,
                entities=entities,
            )
            messages.append(message)
        return messages

    async def _send_location(self, p: _Params) -> JSONDict:
        state = self._target(p)
        latitude, longitude = p.get_float("latitude"), p.get_float("longitude")
        if latitude is None or longitude is None:
            raise _bad_request("latitude and longitude are required")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise _bad_request("wrong latitude or longitude specified")
        markup, keyboard, reply_keyboard = self._reply_markup(p)
        replied = self._replied_message(p, state)
        self._check_limits(state.chat.id, 1)
        message = self._bot_message(state, replied, markup)
        message["location"] = {"latitude": latitude, "longitude": longitude}
        await self._record_sent(
            state,
            message,
            replied,
            method="sendLocation",
            kind="location",
            keyboard=keyboard,
            reply_keyboard=reply_keyboard,
            location=(latitude, longitude),
        )
        return message

    async def _send_chat_action(self, p: _Params) -> bool:
        state = self._target(p)
        action = p.get_str("action")
        if action not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self._add_entry(
            chat_id=state.chat.id, sender="bot", kind="chat_action", text=action, data=p.summary()
        )
        await self._notify()
        return True

    async def _answer_callback_query(self, p: _Params) -> bool:
        query_id = p.get_str("callback_query_id") or ""
        query = self._callbacks.get(query_id)
        if query is None or query.answered:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = p.get_str("text")
        if text is not None and _u16len(text) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            callback_query_id=query_id,
            chat_id=query.chat_id,
            text=text,
            show_alert=p.get_bool("show_alert"),
            url=p.get_str("url"),
        )
        self.callback_answers.append(answer)
        if query.chat_id is not None:
            self._add_entry(
                chat_id=query.chat_id,
                sender="bot",
                kind="callback_answer",
                text=text or "",
                data=p.summary(),
            )
        await self._notify()
        return True

    async def _edit_message_text(self, p: _Params) -> JSONDict:
        state, sent = self._editable(p)
        if sent.text is None:
            raise _bad_request("there is no text in the message to edit")
        text, entities = self._formatted(
            p.get_str("text"), p.get_str("parse_mode"), p.get_json("entities")
        )
        if text is None or not text.strip():
            raise _bad_request("message text is empty")
        if _u16len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        markup, keyboard, _ = self._reply_markup(p, inline_only=True)
        if (
            text == sent.text
            and entities == sent.entities
            and markup == sent.raw.get("reply_markup")
        ):
            raise self._not_modified()
        sent.edit_history.append(sent.text)
        sent.text, sent.entities, sent.parse_mode = text, entities, p.get_str("parse_mode")
        sent.raw["text"] = text
        sent.raw.pop("entities", None)
        if entities:
            sent.raw["entities"] = entities
        return await self._finish_edit(state, sent, markup, keyboard, f"edited: {text}")

    async def _edit_message_reply_markup(self, p: _Params) -> JSONDict:
        state, sent = self._editable(p)
        markup, keyboard, _ = self._reply_markup(p, inline_only=True)
        if markup == sent.raw.get("reply_markup"):
            raise self._not_modified()
        return await self._finish_edit(state, sent, markup, keyboard, "edited the buttons")

    async def _finish_edit(
        self,
        state: _ChatState,
        sent: SentMessage,
        markup: JSONDict | None,
        keyboard: Keyboard,
        summary: str,
    ) -> JSONDict:
        sent.keyboard = keyboard
        sent.raw.pop("reply_markup", None)
        if markup is not None:
            sent.raw["reply_markup"] = markup
        sent.edit_date = sent.raw["edit_date"] = _now()
        state.messages[sent.message_id] = sent.raw
        self._add_entry(
            chat_id=state.chat.id,
            sender="bot",
            kind="edit",
            text=summary,
            message_id=sent.message_id,
            message=sent,
            data=copy.deepcopy(sent.raw),
        )
        await self._notify()
        return copy.deepcopy(sent.raw)

    @staticmethod
    def _not_modified() -> _ApiError:
        return _bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )

    def _editable(self, p: _Params) -> tuple[_ChatState, SentMessage]:
        if p.has("inline_message_id"):
            raise _bad_request("inline messages are not supported by the stand-in")
        state = self._target(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        sent = state.bot_messages.get(message_id)
        if sent is None or sent.deleted:
            if message_id in state.messages and sent is None:
                raise _bad_request("message can't be edited")
            raise _bad_request("message to edit not found")
        return state, sent

    async def _delete_message(self, p: _Params) -> bool:
        state = self._target(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        sent = state.bot_messages.get(message_id)
        if message_id not in state.messages or (sent is not None and sent.deleted):
            raise _bad_request("message to delete not found")
        state.messages.pop(message_id)
        if sent is not None:
            sent.deleted = True
        self._add_entry(
            chat_id=state.chat.id,
            sender="bot",
            kind="delete",
            text=f"deleted message {message_id}",
            message_id=message_id,
            message=sent,
        )
        await self._notify()
        return True

    # ---------------------------------------------------------------- Bot API: files, chats

    async def _get_file(self, p: _Params) -> JSONDict:
        stored = self._files.get(p.get_str("file_id") or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        self._files_by_path[stored.file_path] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    @staticmethod
    def _commands_key(p: _Params) -> tuple[str, str]:
        scope = p.get_json("scope", "BotCommandScope") or {"type": "default"}
        if not isinstance(scope, dict):
            raise _bad_request("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True), p.get_str("language_code") or ""

    async def _set_my_commands(self, p: _Params) -> bool:
        commands = p.get_json("commands", "BotCommand array")
        if not isinstance(commands, list):
            raise _bad_request("can't parse BotCommand array JSON object")
        if len(commands) > 100:
            raise _bad_request("too many commands")
        cleaned: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            name, description = str(command.get("command", "")), str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad_request("command description must be 1-256 characters")
            cleaned.append({"command": name, "description": description})
        self._commands[self._commands_key(p)] = cleaned
        return True

    async def _get_my_commands(self, p: _Params) -> list[JSONDict]:
        return copy.deepcopy(self._commands.get(self._commands_key(p), []))

    async def _delete_my_commands(self, p: _Params) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    async def _get_chat(self, p: _Params) -> JSONDict:
        chat_id = self._chat_id(p)
        state = self._state(chat_id) if isinstance(chat_id, int) else None
        if state is None or state.forgotten:
            raise _bad_request("chat not found")
        return {
            **state.chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # ---------------------------------------------------------------- helpers: chats and messages

    @staticmethod
    def _method_name(method: str) -> str:
        name = _METHOD_BY_KEY.get(method.replace("_", "").lower())
        if name is None:
            raise ValueError(f"the stand-in does not implement {method!r}")
        return name

    @staticmethod
    def _default_description(status: int, retry_after: int | None) -> str:
        if status == 429:
            return f"Too Many Requests: retry after {retry_after or 1}"
        try:
            return HTTPStatus(status).phrase
        except ValueError:
            return f"Error {status}"

    def _bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def _bot_member(self, status: str) -> JSONDict:
        if status not in ("member", "left", "kicked"):
            raise ValueError(f"unsupported chat member status {status!r}")
        member: JSONDict = {"status": status, "user": self._bot_user()}
        if status == "kicked":
            member["until_date"] = 0
        return member

    def _ensure_chat(self, chat: Chat) -> _ChatState:
        if chat.type == "private" and not chat.first_name:
            known = self._users.get(chat.id)
            chat = (
                Chat.private(known)
                if known
                else Chat(chat.id, "private", first_name=f"User {chat.id}")
            )
        state = self._chats.get(chat.id)
        if state is None:
            state = _ChatState(chat=chat, chat_instance=str(secrets.randbelow(2**62)))
            self._chats[chat.id] = state
        else:
            state.chat = chat
        state.forgotten = False
        return state

    def _state(self, chat_id: int) -> _ChatState:
        """The chat's state, creating a plausible chat for an id never seen before."""
        state = self._chats.get(chat_id)
        if state is not None:
            return state
        if chat_id < 0:
            return self._ensure_chat(Chat(chat_id, "supergroup", title=f"Group {chat_id}"))
        return self._ensure_chat(Chat(chat_id, "private"))

    @staticmethod
    def _chat_id(p: _Params) -> int | str:
        raw = p.get_str("chat_id")
        if raw is None or not raw.strip():
            raise _bad_request("chat_id is empty")
        raw = raw.strip()
        if raw.startswith("@"):
            return raw
        try:
            return int(raw)
        except ValueError:
            raise _bad_request("chat not found") from None

    @staticmethod
    def _peek_chat_id(p: _Params) -> int | None:
        with contextlib.suppress(_ApiError, TypeError, ValueError):
            return p.get_int("chat_id")
        return None

    def _target(self, p: _Params) -> _ChatState:
        """The chat a send/edit is for, refusing as Telegram would."""
        chat_id = self._chat_id(p)
        if isinstance(chat_id, str):
            username = chat_id[1:].lower()
            found = next(
                (s for s in self._chats.values() if (s.chat.username or "").lower() == username),
                None,
            )
            if found is None:
                raise _bad_request("chat not found")
            state = found
        else:
            state = self._state(chat_id)
        if state.forgotten:
            raise _bad_request("chat not found")
        if state.migrated_to is not None:
            raise _ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": state.migrated_to},
            )
        if state.blocked:
            if state.chat.type == "private":
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            raise _ApiError(403, f"Forbidden: bot was kicked from the {state.chat.type} chat")
        return state

    def _bot_message(
        self, state: _ChatState, replied: JSONDict | None, markup: JSONDict | None
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": state.take_message_id(),
            "from": self._bot_user(),
            "chat": state.chat.to_dict(),
            "date": _now(),
        }
        if replied is not None:
            message["reply_to_message"] = replied
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    def _replied_message(self, p: _Params, state: _ChatState) -> JSONDict | None:
        parameters = p.get_json("reply_parameters", "reply parameters")
        allow_missing = p.get_bool("allow_sending_without_reply")
        message_id = p.get_int("reply_to_message_id")
        if parameters is not None:
            if not isinstance(parameters, dict):
                raise _bad_request("can't parse reply parameters JSON object")
            reply = _Params(parameters, {})
            message_id = reply.get_int("message_id")
            allow_missing = reply.get_bool("allow_sending_without_reply")
            if reply.has("chat_id"):
                state = self._state(int(reply.get_int("chat_id") or state.chat.id))
        if message_id is None:
            return None
        found = state.messages.get(message_id)
        if found is None:
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        replied = copy.deepcopy(found)
        replied.pop("reply_to_message", None)
        return replied

    def _reply_markup(
        self, p: _Params, *, inline_only: bool = False
    ) -> tuple[JSONDict | None, Keyboard, list[list[str]] | None]:
        """The markup as Telegram echoes it, the inline keyboard, the reply keyboard labels."""
        markup = p.get_json("reply_markup", "reply keyboard markup")
        if markup is None:
            return None, [], None
        if not isinstance(markup, dict):
            raise _bad_request("object expected as reply markup")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            clean_rows: list[list[JSONDict]] = []
            keyboard: Keyboard = []
            for row in rows:
                clean_row: list[JSONDict] = []
                for button in row:
                    clean_row.append(self._inline_button(button))
                clean_rows.append(clean_row)
                keyboard.append([(b["text"], b.get("callback_data")) for b in clean_row])
            return {"inline_keyboard": clean_rows}, keyboard, None
        if inline_only:
            raise _bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad_request(
                    'field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
                )
            labels = [
                [str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in row]
                for row in rows
            ]
            return markup, [], labels
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup, [], None
        raise _bad_request("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _inline_button(button: Any) -> JSONDict:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _bad_request("can't parse inline keyboard button: Text is required")
        if not button["text"]:
            raise _bad_request("BUTTON_TEXT_INVALID")
        actions = [key for key in _INLINE_BUTTON_ACTIONS if key in button]
        if not actions:
            raise _bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline "
                "keyboard"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if (
                not isinstance(data, str)
                or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise _bad_request("BUTTON_DATA_INVALID")
        return {key: value for key, value in button.items() if key == "text" or key in actions}

    def _formatted(
        self, text: str | None, parse_mode: str | None, entities: Any
    ) -> tuple[str | None, list[JSONDict]]:
        """Applies `parse_mode` (or explicit entities) to `text`."""
        if text is None:
            return None, []
        mode = (parse_mode or "").lower()
        try:
            if mode == "html":
                return parse_html(text)
            if mode == "markdownv2":
                return parse_markdown(text)
            if mode == "markdown":
                return parse_markdown(text, legacy=True)
        except _EntityError as err:
            raise _bad_request(f"can't parse entities: {err}") from None
        if mode:
            raise _bad_request(f"unsupported parse_mode {parse_mode!r}")
        if isinstance(entities, str):
            try:
                entities = json.loads(entities)
            except ValueError:
                raise _bad_request("can't parse entities JSON object") from None
        if entities is not None and not isinstance(entities, list):
            raise _bad_request("can't parse entities JSON object")
        return text, list(entities or [])

    def _caption(
        self, caption: str | None, parse_mode: str | None, entities: Any
    ) -> tuple[str | None, list[JSONDict]]:
        text, parsed = self._formatted(caption, parse_mode, entities)
        if text is not None and _u16len(text) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        return (text or None), parsed

    def _check_limits(self, chat_id: int, count: int) -> None:
        if not self.enforce_limits:
            return
        retry_after = self._limiter.acquire(chat_id, count)
        if retry_after is not None:
            raise _ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    async def _record_sent(
        self,
        state: _ChatState,
        message: JSONDict,
        replied: JSONDict | None,
        *,
        method: str,
        kind: str,
        **fields: Any,
    ) -> None:
        """Records a message the bot sent; `fields` are the `SentMessage` fields that vary."""
        sent = SentMessage(
            chat_id=state.chat.id,
            message_id=message["message_id"],
            method=method,
            kind=kind,
            date=message["date"],
            reply_to_message_id=replied["message_id"] if replied else None,
            **fields,
        )
        sent.raw = copy.deepcopy(message)
        state.messages[sent.message_id] = sent.raw
        state.bot_messages[sent.message_id] = sent
        self._sent.append(sent)
        self._add_entry(
            chat_id=sent.chat_id,
            sender="bot",
            kind=sent.kind,
            text=sent.content or _message_summary(message),
            message_id=sent.message_id,
            message=sent,
            data=copy.deepcopy(message),
        )
        await self._notify()

    def _add_entry(
        self,
        *,
        chat_id: int,
        sender: Literal["user", "bot"],
        kind: str,
        text: str,
        message_id: int | None = None,
        user: User | None = None,
        message: SentMessage | None = None,
        seen_by_bot: bool = True,
        data: JSONDict | None = None,
    ) -> None:
        entry = TranscriptEntry(
            seq=len(self._transcript) + 1,
            chat_id=chat_id,
            sender=sender,
            kind=kind,
            text=text,
            date=_now(),
            message_id=message_id,
            user=user,
            message=message,
            seen_by_bot=seen_by_bot,
            data=data or {},
        )
        self._transcript.append(entry)
        self._publish(entry)

    def _take_update_id(self) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        return update_id

    def _user_message(
        self,
        user: User,
        chat: Chat | None,
        *,
        reply_to: SentMessage | int | None = None,
        media_group_id: str | None = None,
    ) -> tuple[_ChatState, JSONDict]:
        self.add_user(user)
        state = self._ensure_chat(chat or Chat.private(user))
        message: JSONDict = {
            "message_id": state.take_message_id(),
            "from": user.to_dict(),
            "chat": state.chat.to_dict(),
            "date": _now(),
        }
        if reply_to is not None:
            replied_id = reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to
            replied = state.messages.get(replied_id)
            if replied is None:
                raise ValueError(f"no message {replied_id} in chat {state.chat.id} to reply to")
            replied = copy.deepcopy(replied)
            replied.pop("reply_to_message", None)
            message["reply_to_message"] = replied
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        return state, message

    def _wrap(self, state: _ChatState, message: JSONDict) -> JSONDict:
        state.messages[int(message["message_id"])] = copy.deepcopy(message)
        return {"update_id": self._take_update_id(), "message": message}

    def _add_caption(self, message: JSONDict, caption: str | None) -> None:
        if caption:
            message["caption"] = caption
            entities = self._text_entities(caption)
            if entities:
                message["caption_entities"] = entities

    @staticmethod
    def _text_entities(text: str) -> list[JSONDict]:
        """The entities Telegram adds to what a user typed: a leading command, mentions."""
        entities: list[JSONDict] = []
        command = re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?", text)
        if command:
            entities.append(
                {"type": "bot_command", "offset": 0, "length": _u16len(command.group())}
            )
        for mention in re.finditer(r"(?<![\w@/])@[A-Za-z][A-Za-z0-9_]{3,31}", text):
            entities.append(
                {
                    "type": "mention",
                    "offset": _u16len(text[: mention.start()]),
                    "length": _u16len(mention.group()),
                }
            )
        return entities

    # ---------------------------------------------------------------- helpers: files

    def _new_file_ids(self, kind: str) -> tuple[str, str]:
        self._file_counter += 1
        token = secrets.token_urlsafe(18)
        return (
            f"{_FILE_ID_PREFIX.get(kind, 'BQACAgUAAxkBAA')}{self._file_counter:04d}{token}",
            f"AQAD{self._file_counter:04d}{token[:8]}",
        )

    def _store_file(
        self, kind: str, data: bytes, meta: JSONDict, file_name: str | None = None
    ) -> _StoredFile:
        file_id, unique_id = self._new_file_ids(kind)
        folder, extension = _FILE_DIRS.get(kind, ("documents", ""))
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1].lower()
        stored = _StoredFile(
            file_id=file_id,
            file_unique_id=unique_id,
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{self._file_counter}{extension}",
            meta=meta,
        )
        self._files[file_id] = stored
        return stored

    def _store_photo(
        self, data: bytes | None, *, width: int | None = None, height: int | None = None
    ) -> list[_StoredFile]:
        """Stores a photo as Telegram does: several sizes (same bytes here), largest last."""
        content = data if data is not None else _PLACEHOLDER_IMAGE
        if width is None or height is None:
            sniffed = _image_size(content) if data is not None else None
            width, height = sniffed or (1280, 960)
        longest = max(width, height, 1)
        dimensions = [
            (max(1, width * side // longest), max(1, height * side // longest))
            for side in (90, 320, 800)
            if side < longest
        ]
        dimensions.append((width, height))
        sizes = [
            self._store_file("photo", content, {"width": w, "height": h}) for w, h in dimensions
        ]
        siblings = tuple(size.file_id for size in sizes)
        for size in sizes:
            size.siblings = siblings
        return sizes

    def _media_input(
        self,
        kind: str,
        reference: str | None,
        upload: _Upload | None,
        uploads: Mapping[str, _Upload],
        p: _Params,
    ) -> list[_StoredFile]:
        """The file a send refers to: an upload, an ``attach://`` part or a known file_id."""
        if upload is None and reference is not None and reference.startswith("attach://"):
            upload = uploads.get(reference.removeprefix("attach://"))
            if upload is None:
                raise _bad_request(f"there is no {kind} in the request")
        if upload is not None:
            return self._store_upload(kind, upload, p)
        if not reference:
            raise _bad_request(f"there is no {kind} in the request")
        if "://" in reference or reference.startswith("www."):
            raise _bad_request("failed to get HTTP URL content")
        stored = self._files.get(reference)
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise _bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        if stored.siblings:
            return [self._files[file_id] for file_id in stored.siblings]
        return [stored]

    def _store_upload(self, kind: str, upload: _Upload, p: _Params) -> list[_StoredFile]:
        if not upload.data:
            raise _bad_request("file must be non-empty")
        if kind == "photo":
            if len(upload.data) > MAX_PHOTO_UPLOAD_BYTES:
                raise _bad_request(
                    f"file of size {len(upload.data)} bytes is too big for a photo; "
                    f"the maximum size is {MAX_PHOTO_UPLOAD_BYTES} bytes"
                )
            size = _image_size(upload.data)
            if size is None:
                raise _bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > MAX_PHOTO_SIDES or max(size) > MAX_PHOTO_RATIO * max(1, min(size)):
                raise _bad_request("PHOTO_INVALID_DIMENSIONS")
            return self._store_photo(upload.data, width=width, height=height)
        guessed = mimetypes.guess_type(upload.filename)[0]
        mime = guessed or upload.content_type or "application/octet-stream"
        meta: JSONDict = {}
        if kind in ("document", "video", "audio"):
            meta["file_name"] = upload.filename
        if kind == "video":
            meta.update(
                width=p.get_int("width") or 640,
                height=p.get_int("height") or 360,
                duration=p.get_int("duration") or 0,
            )
        if kind in ("audio", "voice"):
            meta["duration"] = p.get_int("duration") or 0
        if kind == "audio":
            for key in ("performer", "title"):
                value = p.get_str(key)
                if value:
                    meta[key] = value
        meta["mime_type"] = (
            "audio/ogg" if kind == "voice" and mime == "application/octet-stream" else mime
        )
        return [self._store_file(kind, upload.data, meta, upload.filename)]

    @staticmethod
    def _put_media(
        message: JSONDict,
        kind: str,
        files: list[_StoredFile],
        caption: str | None,
        entities: list[JSONDict],
    ) -> None:
        message[kind] = [f.to_object() for f in files] if kind == "photo" else files[0].to_object()
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
