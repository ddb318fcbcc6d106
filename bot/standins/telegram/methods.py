"""The Bot API methods the service calls, answered as Telegram answers them: the updates and
the webhook, sending (text, photos, documents, videos, audio, voice, albums, locations),
answering button taps, editing buttons, and files.

Where it deliberately differs from Telegram (each is there to catch a bug early):

* ``sendMediaGroup`` with a single item is refused (the Bot API documents 2-10 items;
  Telegram itself would send the item as a plain message).
* Files given by URL fail with "failed to get HTTP URL content"; inline messages cannot be
  edited.
"""

from __future__ import annotations

import asyncio
import copy
import json
import mimetypes
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.standins.telegram.api import ApiError, JSONDict, Params, Upload, bad_request
from bot.standins.telegram.faults import FaultInjection
from bot.standins.telegram.formatting import EntityError, parse_html, parse_markdown, u16len
from bot.standins.telegram.limits import (
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_DOWNLOAD_BYTES,
    MAX_PHOTO_RATIO,
    MAX_PHOTO_SIDES,
    MAX_PHOTO_UPLOAD_BYTES,
    MAX_TEXT_LENGTH,
)
from bot.standins.telegram.state import (
    CallbackAnswer,
    ChatState,
    Keyboard,
    SentMessage,
    StoredFile,
    WebhookSettings,
    image_size,
    message_summary,
    now,
)

__all__ = ["BotApiMethods"]

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


class BotApiMethods(FaultInjection):
    """The Bot API methods in `SUPPORTED_METHODS`, each reading its `Params`."""

    def _bot_api(self) -> dict[str, Callable[[Params], Awaitable[Any]]]:
        """Each method of `SUPPORTED_METHODS` and what answers it."""
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVideo": self._send_video,
            "sendAudio": self._send_audio,
            "sendVoice": self._send_voice,
            "sendMediaGroup": self._send_media_group,
            "sendLocation": self._send_location,
            "answerCallbackQuery": self._answer_callback_query,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "getFile": self._get_file,
            "getChatMember": self._get_chat_member,
        }

    # ---------------------------------------------------------------- the bot and its updates

    async def _get_me(self, p: Params) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: Params) -> list[JSONDict]:
        if self._webhook is not None:
            raise self._webhook_conflict()
        offset = p.get_int("offset")
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_float("timeout") or 0.0, 0.0)
        allowed = p.get_json("allowed_updates", "allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed updates JSON object")
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
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        if self._webhook is not None:
            raise self._webhook_conflict()
        return copy.deepcopy(self._pending[:limit])

    @staticmethod
    def _webhook_conflict() -> ApiError:
        return ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )

    async def _set_webhook(self, p: Params) -> bool:
        url = p.get_str("url") or ""
        drop = p.get_bool("drop_pending_updates")
        if not url:
            return await self._delete_webhook(p)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request("bad webhook: invalid webhook URL specified")
        secret = p.get_str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.get_json("allowed_updates", "allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates JSON object")
        if allowed is not None:
            self._allowed_updates = tuple(str(kind) for kind in allowed) or None
        max_connections = p.get_int("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        self._webhook = WebhookSettings(
            url=url,
            secret_token=secret,
            allowed_updates=self._allowed_updates,
            max_connections=max_connections,
            drop_pending_updates=drop,
        )
        if drop:
            self._pending.clear()
        await self._notify()
        return True

    async def _delete_webhook(self, p: Params) -> bool:
        self._webhook = None
        if p.get_bool("drop_pending_updates"):
            self._pending.clear()
        await self._notify()
        return True

    # ---------------------------------------------------------------- sending

    async def _send_message(self, p: Params) -> JSONDict:
        state = self._target(p)
        text, entities = self._formatted(
            p.get_str("text"), p.get_str("parse_mode"), p.get_json("entities")
        )
        if text is None or not text.strip():
            raise bad_request("message text is empty")
        if u16len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
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

    async def _send_photo(self, p: Params) -> JSONDict:
        return await self._send_media(p, "photo", "sendPhoto")

    async def _send_document(self, p: Params) -> JSONDict:
        return await self._send_media(p, "document", "sendDocument")

    async def _send_video(self, p: Params) -> JSONDict:
        return await self._send_media(p, "video", "sendVideo")

    async def _send_audio(self, p: Params) -> JSONDict:
        return await self._send_media(p, "audio", "sendAudio")

    async def _send_voice(self, p: Params) -> JSONDict:
        return await self._send_media(p, "voice", "sendVoice")

    async def _send_media(self, p: Params, kind: str, method: str) -> JSONDict:
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

    async def _send_media_group(self, p: Params) -> list[JSONDict]:
        state = self._target(p)
        if not p.has("media"):
            raise bad_request('parameter "media" is required')
        media = p.get_json("media", "InputMedia")
        if not media:
            raise bad_request("there are no messages to send")
        if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
            raise bad_request("can't parse InputMedia JSON object")
        if len(media) > 10:
            raise bad_request("too many messages to send as an album")
        if len(media) < 2:
            raise bad_request(
                "too few messages to send as an album (the stand-in enforces the documented 2-10)"
            )
        kinds = [str(item.get("type", "")) for item in media]
        for kind in kinds:
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request(
                    f"can't parse InputMedia: type \"{kind}\" can't be used in sendMediaGroup"
                )
        for lone in ("document", "audio"):
            if lone in kinds and any(kind != lone for kind in kinds):
                raise bad_request(f"{lone} can't be mixed with other media types")
        items: list[tuple[str, list[StoredFile], str | None, list[JSONDict], str | None]] = []
        for kind, item in zip(kinds, media, strict=True):
            item_params = Params(item, {})
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
                raise bad_request("can't parse InputMedia: media not found")
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

    async def _send_location(self, p: Params) -> JSONDict:
        state = self._target(p)
        latitude, longitude = p.get_float("latitude"), p.get_float("longitude")
        if latitude is None or longitude is None:
            raise bad_request("latitude and longitude are required")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong latitude or longitude specified")
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

    # ---------------------------------------------------------------- button taps and edits

    async def _answer_callback_query(self, p: Params) -> bool:
        query_id = p.get_str("callback_query_id") or ""
        query = self._callbacks.get(query_id)
        if query is None or query.answered:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = p.get_str("text")
        if text is not None and u16len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
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

    async def _edit_message_reply_markup(self, p: Params) -> JSONDict:
        state, sent = self._editable(p)
        markup, keyboard, _ = self._reply_markup(p, inline_only=True)
        if markup == sent.raw.get("reply_markup"):
            raise self._not_modified()
        return await self._finish_edit(state, sent, markup, keyboard, "edited the buttons")

    async def _finish_edit(
        self,
        state: ChatState,
        sent: SentMessage,
        markup: JSONDict | None,
        keyboard: Keyboard,
        summary: str,
    ) -> JSONDict:
        sent.keyboard = keyboard
        sent.raw.pop("reply_markup", None)
        if markup is not None:
            sent.raw["reply_markup"] = markup
        sent.edit_date = sent.raw["edit_date"] = now()
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
    def _not_modified() -> ApiError:
        return bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )

    def _editable(self, p: Params) -> tuple[ChatState, SentMessage]:
        if p.has("inline_message_id"):
            raise bad_request("inline messages are not supported by the stand-in")
        state = self._target(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        sent = state.bot_messages.get(message_id)
        if sent is None:
            if message_id in state.messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return state, sent

    # ---------------------------------------------------------------- files

    async def _get_file(self, p: Params) -> JSONDict:
        stored = self._files.get(p.get_str("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        self._files_by_path[stored.file_path] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    # ---------------------------------------------------------------- chat members

    async def _get_chat_member(self, p: Params) -> JSONDict:
        state = self._target(p)  # an unknown, migrated or left chat answers as Telegram
        user_id = p.get_int("user_id")
        if user_id is None:
            raise bad_request("invalid user_id specified")
        user = self._users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if not state.chat.is_group:
            if state.chat.id != user_id:
                raise bad_request("user not found")
            return {"status": "member", "user": user.to_dict()}
        status, member = self._members.get(state.chat.id, {}).get(user_id, ("left", False))
        return _chat_member(user.to_dict(), status, member)

    # ---------------------------------------------------------------- helpers: chats and messages

    @staticmethod
    def _chat_id(p: Params) -> int | str:
        raw = p.get_str("chat_id")
        if raw is None or not raw.strip():
            raise bad_request("chat_id is empty")
        raw = raw.strip()
        if raw.startswith("@"):
            return raw
        try:
            return int(raw)
        except ValueError:
            raise bad_request("chat not found") from None

    def _target(self, p: Params) -> ChatState:
        """The chat a send/edit is for, refusing as Telegram would."""
        chat_id = self._chat_id(p)
        if isinstance(chat_id, str):
            username = chat_id[1:].lower()
            found = next(
                (s for s in self._chats.values() if (s.chat.username or "").lower() == username),
                None,
            )
            if found is None:
                raise bad_request("chat not found")
            state = found
        else:
            state = self._state(chat_id)
        if state.forgotten:
            raise bad_request("chat not found")
        if state.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": state.migrated_to},
            )
        if state.blocked:
            if state.chat.type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, f"Forbidden: bot was kicked from the {state.chat.type} chat")
        return state

    def _bot_message(
        self, state: ChatState, replied: JSONDict | None, markup: JSONDict | None
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": state.take_message_id(),
            "from": self._bot_user(),
            "chat": state.chat.to_dict(),
            "date": now(),
        }
        if replied is not None:
            message["reply_to_message"] = replied
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    def _replied_message(self, p: Params, state: ChatState) -> JSONDict | None:
        parameters = p.get_json("reply_parameters", "reply parameters")
        allow_missing = p.get_bool("allow_sending_without_reply")
        message_id = p.get_int("reply_to_message_id")
        if parameters is not None:
            if not isinstance(parameters, dict):
                raise bad_request("can't parse reply parameters JSON object")
            reply = Params(parameters, {})
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
            raise bad_request("message to be replied not found")
        replied = copy.deepcopy(found)
        replied.pop("reply_to_message", None)
        return replied

    def _reply_markup(
        self, p: Params, *, inline_only: bool = False
    ) -> tuple[JSONDict | None, Keyboard, list[list[str]] | None]:
        """The markup as Telegram echoes it, the inline keyboard, the reply keyboard labels."""
        markup = p.get_json("reply_markup", "reply keyboard markup")
        if markup is None:
            return None, [], None
        if not isinstance(markup, dict):
            raise bad_request("object expected as reply markup")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad_request(
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
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad_request(
                    'field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
                )
            labels = [
                [str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in row]
                for row in rows
            ]
            return markup, [], labels
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup, [], None
        raise bad_request("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _inline_button(button: Any) -> JSONDict:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request("can't parse inline keyboard button: Text is required")
        if not button["text"]:
            raise bad_request("BUTTON_TEXT_INVALID")
        actions = [key for key in _INLINE_BUTTON_ACTIONS if key in button]
        if not actions:
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline "
                "keyboard"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if (
                not isinstance(data, str)
                or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise bad_request("BUTTON_DATA_INVALID")
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
        except EntityError as err:
            raise bad_request(f"can't parse entities: {err}") from None
        if mode:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        if isinstance(entities, str):
            try:
                entities = json.loads(entities)
            except ValueError:
                raise bad_request("can't parse entities JSON object") from None
        if entities is not None and not isinstance(entities, list):
            raise bad_request("can't parse entities JSON object")
        return text, list(entities or [])

    def _caption(
        self, caption: str | None, parse_mode: str | None, entities: Any
    ) -> tuple[str | None, list[JSONDict]]:
        text, parsed = self._formatted(caption, parse_mode, entities)
        if text is not None and u16len(text) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return (text or None), parsed

    def _check_limits(self, chat_id: int, count: int) -> None:
        if not self.enforce_limits:
            return
        retry_after = self._limiter.acquire(chat_id, count)
        if retry_after is not None:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    async def _record_sent(
        self,
        state: ChatState,
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
            text=sent.content or message_summary(message),
            message_id=sent.message_id,
            message=sent,
            data=copy.deepcopy(message),
        )
        await self._notify()

    # ---------------------------------------------------------------- helpers: files

    def _media_input(
        self,
        kind: str,
        reference: str | None,
        upload: Upload | None,
        uploads: Mapping[str, Upload],
        p: Params,
    ) -> list[StoredFile]:
        """The file a send refers to: an upload, an ``attach://`` part or a known file_id."""
        if upload is None and reference is not None and reference.startswith("attach://"):
            upload = uploads.get(reference.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"there is no {kind} in the request")
        if upload is not None:
            return self._store_upload(kind, upload, p)
        if not reference:
            raise bad_request(f"there is no {kind} in the request")
        if "://" in reference or reference.startswith("www."):
            raise bad_request("failed to get HTTP URL content")
        stored = self._files.get(reference)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        if stored.siblings:
            return [self._files[file_id] for file_id in stored.siblings]
        return [stored]

    def _store_upload(self, kind: str, upload: Upload, p: Params) -> list[StoredFile]:
        if not upload.data:
            raise bad_request("file must be non-empty")
        if kind == "photo":
            if len(upload.data) > MAX_PHOTO_UPLOAD_BYTES:
                raise bad_request(
                    f"file of size {len(upload.data)} bytes is too big for a photo; "
                    f"the maximum size is {MAX_PHOTO_UPLOAD_BYTES} bytes"
                )
            size = image_size(upload.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > MAX_PHOTO_SIDES or max(size) > MAX_PHOTO_RATIO * max(1, min(size)):
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
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
        files: list[StoredFile],
        caption: str | None,
        entities: list[JSONDict],
    ) -> None:
        message[kind] = [f.to_object() for f in files] if kind == "photo" else files[0].to_object()
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities


_ADMINISTRATOR_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
    "can_manage_topics": False,
}
_RESTRICTIONS = {
    "can_send_messages": False,
    "can_send_audios": False,
    "can_send_documents": False,
    "can_send_photos": False,
    "can_send_videos": False,
    "can_send_video_notes": False,
    "can_send_voice_notes": False,
    "can_send_polls": False,
    "can_send_other_messages": False,
    "can_add_web_page_previews": False,
    "can_change_info": False,
    "can_invite_users": False,
    "can_pin_messages": False,
    "can_manage_topics": False,
    "can_edit_tag": False,
    "can_react_to_messages": False,
    "until_date": 0,
}


def _chat_member(user: JSONDict, status: str, member: bool) -> JSONDict:
    """The Bot API ``ChatMember`` object of that status, with the fields it requires."""
    found: JSONDict = {"status": status, "user": user}
    if status == "creator":
        found["is_anonymous"] = False
    elif status == "administrator":
        found.update(_ADMINISTRATOR_RIGHTS)
    elif status == "restricted":
        found.update(_RESTRICTIONS, is_member=member)
    elif status == "kicked":
        found["until_date"] = 0
    return found
