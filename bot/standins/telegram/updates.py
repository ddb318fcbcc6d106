"""The update builders: what tests and the playground use to make simulated people act (write
text, send a photo, an album, a location, a document, tap a button, reply, edit, remove the
bot), and the delivery of those updates to the bot the way Telegram does it: queued for
``getUpdates``, or POSTed to the webhook.

Privacy mode is on, as ``getMe`` reports: in groups the bot only receives commands, replies
to its own messages, messages mentioning it and service messages (``privacy_mode=False``
delivers everything). Webhooks are only POSTed to loopback addresses unless
``allow_remote_webhooks`` is set.
"""

from __future__ import annotations

import asyncio
import copy
import mimetypes
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.standins.recording import is_loopback_host
from bot.standins.telegram.api import JSONDict
from bot.standins.telegram.formatting import u16len
from bot.standins.telegram.state import (
    CallbackState,
    Chat,
    ChatState,
    SentMessage,
    TelegramState,
    User,
    WebhookDelivery,
    WebhookSettings,
    message_kind,
    message_summary,
    now,
)

__all__ = ["UpdateBuilders"]

_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_ANONYMOUS_ADMIN_ID = 1087968824


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _is_loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


class UpdateBuilders(TelegramState):
    """Builds what simulated people do as Bot API updates, and delivers them to the bot."""

    # ---------------------------------------------------------------- builders

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
        data = next((d for label, d in message.buttons if label == button and d), None)
        if data is None:
            data = next((d for _, d in message.buttons if d == button), None)
        if data is None:
            raise ValueError(f"no callback button {button!r} on the message; has {message.buttons}")
        self.add_user(user)
        state = self._state(message.chat_id)
        query_id = str(secrets.randbelow(2**62) + 10**18)
        self._callbacks[query_id] = CallbackState(chat_id=message.chat_id)
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
        message["edit_date"] = now()
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
                "date": now(),
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
                "date": now(),
                key: value,
            }
            updates.append(self._wrap(state, message))
        return updates

    # ---------------------------------------------------------------- build and deliver

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
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            self.deliveries.append(
                WebhookDelivery(int(body["update_id"]), webhook.url, status, attempt)
            )
            if 200 <= status < 300:
                return status
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
        if message_kind(message) == "service":
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
            summary = message_summary(payload)
            entry_kind = message_kind(payload) if kind == "message" else "edited_message"
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

    # ---------------------------------------------------------------- helpers

    def _user_message(
        self,
        user: User,
        chat: Chat | None,
        *,
        reply_to: SentMessage | int | None = None,
        media_group_id: str | None = None,
    ) -> tuple[ChatState, JSONDict]:
        self.add_user(user)
        state = self._ensure_chat(chat or Chat.private(user))
        if state.chat.is_group and not self.is_member(state.chat.id, user.id):
            self.set_member(state.chat.id, user)  # who posts in a group is in it
        message: JSONDict = {
            "message_id": state.take_message_id(),
            "from": user.to_dict(),
            "chat": state.chat.to_dict(),
            "date": now(),
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

    def _wrap(self, state: ChatState, message: JSONDict) -> JSONDict:
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
            entities.append({"type": "bot_command", "offset": 0, "length": u16len(command.group())})
        for mention in re.finditer(r"(?<![\w@/])@[A-Za-z][A-Za-z0-9_]{3,31}", text):
            entities.append(
                {
                    "type": "mention",
                    "offset": u16len(text[: mention.start()]),
                    "length": u16len(mention.group()),
                }
            )
        return entities
