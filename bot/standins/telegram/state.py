"""What the Telegram stand-in holds: the people, the chats and their messages, the files, and
what the bot did, recorded for tests and the playground to read and wait on.

`TelegramState` is the base of the stand-in: everything lives in memory and belongs to one
instance. The conversations (`KEPT`) can be saved and resumed by a later run (`Resumable`).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import mimetypes
import secrets
import struct
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

from bot.standins.recording import Recording, Resumable
from bot.standins.telegram.api import ApiError, JSONDict, method_name
from bot.standins.telegram.limits import RateLimiter

__all__ = [
    "ApiCall",
    "CallbackAnswer",
    "Chat",
    "SentMessage",
    "TelegramState",
    "TranscriptEntry",
    "User",
    "WebhookDelivery",
    "WebhookSettings",
]

Keyboard = list[list[tuple[str, str | None]]]
"""An inline keyboard as rows of (label, callback_data); buttons without callback data
(URL buttons and the like) have ``None``."""

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
CHAT_MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
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
# A 1x1 PNG: what a simulated photo contains when the test gives no bytes.
_PLACEHOLDER_IMAGE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


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


@dataclass
class SentMessage:
    """A message the bot sent, as the people in the chat see it now.

    `kind` is the content: ``text``, ``photo``, ``document``, ``video``, ``audio``, ``voice``
    or ``location``. An item of a media group has the kind of its media, `method`
    ``"sendMediaGroup"`` and a `media_group_id`. `text` is the text after formatting was
    applied (no HTML tags, no MarkdownV2 escapes), `caption` likewise. An edit of the buttons
    changes `keyboard` in place and sets `edit_date`.
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
    ``my_chat_member``, ``service`` (user side) and ``edit``, ``callback_answer`` (bot side).
    `text` is a human-readable summary. `data` holds the update (user side) or the
    message/parameters (bot side). `seen_by_bot` is false for group messages that privacy mode
    kept from the bot.
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


@dataclass
class StoredFile:
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
class ChatState:
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
class CallbackState:
    chat_id: int | None
    answered: bool = False


@dataclass
class Fault:
    """An error answer `fail_next` queued for the next calls of `method`."""

    method: str
    status: int
    description: str
    retry_after: int | None
    migrate_to_chat_id: int | None
    chat_id: int | None
    remaining: int

    def error(self) -> ApiError:
        parameters: JSONDict = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        return ApiError(self.status, self.description, parameters or None)


@dataclass
class Delay:
    """A hold-up `delay` set on the calls of a method."""

    seconds: float
    remaining: int | None
    chat_id: int | None = None


def image_size(data: bytes) -> tuple[int, int] | None:
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


def now() -> int:
    return int(time.time())


def message_kind(message: Mapping[str, Any]) -> str:
    return next((kind for kind in _MESSAGE_CONTENT_KINDS if kind in message), "service")


def message_summary(message: Mapping[str, Any]) -> str:
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


class TelegramState(Recording[TranscriptEntry, SentMessage, int | None], Resumable):
    """The stand-in's memory and what can be read from it; see `TelegramStandIn` for the
    arguments."""

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
        "_members",
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

        # The conversations: what `KEPT` saves for a later run.
        self._chats: dict[int, ChatState] = {}
        self._users: dict[int, User] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = 0
        self._sent: list[SentMessage] = []
        self._transcript: list[TranscriptEntry] = []
        self._next_update_id = first_update_id
        self._delivered_ids: set[int] = set()
        # Who is in each group, as getChatMember answers: chat id → user id → (status,
        # whether a restricted user is still a member). Anyone who posts joins.
        self._members: dict[int, dict[int, tuple[str, bool]]] = {}

        self._callbacks: dict[str, CallbackState] = {}
        self._limiter = RateLimiter(clock)
        self._faults: list[Fault] = []
        self._delays: dict[str, Delay] = {}
        self._in_flight: Counter[str] = Counter()

        # Updates on their way to the bot: the getUpdates queue, or the webhook.
        self._pending: list[JSONDict] = []
        self._allowed_updates: tuple[str, ...] | None = None
        self._webhook: WebhookSettings | None = None
        self._poll_generation = 0
        self._polls_waiting = 0

        self._stopping = asyncio.Event()
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._session: aiohttp.ClientSession | None = None

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
        name = method_name(method)
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
                lines.append(
                    f"    #{m.message_id} {m.kind}: {m.content!r}{buttons if m.keyboard else ''}"
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

    # ---------------------------------------------------------------- people and chats

    def set_member(
        self, chat_id: int, user: User, status: str = "member", *, is_member: bool = True
    ) -> None:
        """Sets `user`'s standing in the group `chat_id`, as getChatMember answers it:
        ``creator``, ``administrator``, ``member``, ``restricted`` (still a member unless
        `is_member` is false), ``left`` or ``kicked``. A user who posts in a group is
        made a member by that (unless they already are one)."""
        if status not in CHAT_MEMBER_STATUSES:
            raise ValueError(f"unknown chat member status {status!r}")
        self.add_user(user)
        self._state(chat_id)
        still_in = status != "restricted" or is_member
        self._members.setdefault(chat_id, {})[user.id] = (status, still_in)

    def add_member(self, chat_id: int, user: User) -> None:
        """`user` joins the group `chat_id` (as a plain member)."""
        self.set_member(chat_id, user, "member")

    def remove_member(self, chat_id: int, user: User, *, banned: bool = False) -> None:
        """`user` leaves the group `chat_id` (or, `banned`, is removed and banned)."""
        self.set_member(chat_id, user, "kicked" if banned else "left", is_member=False)

    def member_status(self, chat_id: int, user_id: int) -> str:
        """`user_id`'s status in `chat_id` (``left`` for someone never in it)."""
        return self._members.get(chat_id, {}).get(user_id, ("left", False))[0]

    def is_member(self, chat_id: int, user_id: int) -> bool:
        """Whether `user_id` is in the group `chat_id` now."""
        status, member = self._members.get(chat_id, {}).get(user_id, ("left", False))
        return status in ("creator", "administrator", "member") or (
            status == "restricted" and member
        )

    def add_user(self, user: User) -> None:
        """Makes `user` known (done automatically by every builder)."""
        self._users[user.id] = user
        state = self._chats.get(user.id)
        if state is not None and state.chat.type == "private":
            state.chat = Chat.private(user)

    def add_chat(self, chat: Chat) -> None:
        """Makes `chat` known with its title/names (builders do this for the chats they use)."""
        self._ensure_chat(chat)

    def _ensure_chat(self, chat: Chat) -> ChatState:
        if chat.type == "private" and not chat.first_name:
            known = self._users.get(chat.id)
            chat = (
                Chat.private(known)
                if known
                else Chat(chat.id, "private", first_name=f"User {chat.id}")
            )
        state = self._chats.get(chat.id)
        if state is None:
            state = ChatState(chat=chat, chat_instance=str(secrets.randbelow(2**62)))
            self._chats[chat.id] = state
        else:
            state.chat = chat
        state.forgotten = False
        return state

    def _state(self, chat_id: int) -> ChatState:
        """The chat's state, creating a plausible chat for an id never seen before."""
        state = self._chats.get(chat_id)
        if state is not None:
            return state
        if chat_id < 0:
            return self._ensure_chat(Chat(chat_id, "supergroup", title=f"Group {chat_id}"))
        return self._ensure_chat(Chat(chat_id, "private"))

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

    def _take_update_id(self) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        return update_id

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
            date=now(),
            message_id=message_id,
            user=user,
            message=message,
            seen_by_bot=seen_by_bot,
            data=data or {},
        )
        self._transcript.append(entry)
        self._publish(entry)

    # ---------------------------------------------------------------- files

    def _new_file_ids(self, kind: str) -> tuple[str, str]:
        self._file_counter += 1
        token = secrets.token_urlsafe(18)
        return (
            f"{_FILE_ID_PREFIX.get(kind, 'BQACAgUAAxkBAA')}{self._file_counter:04d}{token}",
            f"AQAD{self._file_counter:04d}{token[:8]}",
        )

    def _store_file(
        self, kind: str, data: bytes, meta: JSONDict, file_name: str | None = None
    ) -> StoredFile:
        file_id, unique_id = self._new_file_ids(kind)
        folder, extension = _FILE_DIRS.get(kind, ("documents", ""))
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1].lower()
        stored = StoredFile(
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
    ) -> list[StoredFile]:
        """Stores a photo as Telegram does: several sizes (same bytes here), largest last."""
        content = data if data is not None else _PLACEHOLDER_IMAGE
        if width is None or height is None:
            sniffed = image_size(content) if data is not None else None
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
