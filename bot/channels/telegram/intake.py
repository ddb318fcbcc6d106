"""How a Telegram update is recorded in the inbox: under the source "telegram", by its
update_id, in the chat it belongs to (the webhook and the poller both record here)."""

from __future__ import annotations

from typing import Any

from bot.core.model import Channel
from bot.inbox.intake import Intake

SOURCE = Channel.TELEGRAM.value  # what Telegram's updates are recorded under


async def record_update(intake: Intake, update: dict[str, Any]) -> bool:
    """Stores a Telegram update once (deduplicated on update_id); false if seen before."""
    return await intake.record(SOURCE, str(update["update_id"]), chat_key(update), update)


def chat_key(update: dict[str, Any]) -> str:
    """The chat an update belongs to (for ordering), or "" when it has none."""
    for key in ("message", "edited_message", "channel_post", "my_chat_member", "chat_member"):
        value = update.get(key)
        if isinstance(value, dict) and isinstance(value.get("chat"), dict):
            return str(value["chat"].get("id", ""))
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return str(message["chat"].get("id", ""))
        sender = query.get("from")
        if isinstance(sender, dict):
            return str(sender.get("id", ""))
    return ""
