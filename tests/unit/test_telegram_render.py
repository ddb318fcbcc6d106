"""How the Telegram adapter lays out a message's copyable parts and button edits."""

from __future__ import annotations

from telegram import Bot

from bot.channels.telegram.sender import TelegramChannel
from bot.core.model import Button, Channel, OutgoingMessage, Recipient

GROUP = Recipient(Channel.TELEGRAM, "-1001")


def channel() -> TelegramChannel:
    return TelegramChannel(Bot("123456:offline-token"))  # render never calls the API


async def test_copyable_text_is_a_code_span_counted_in_utf16() -> None:
    command = "/tolak ADU-7K2M9Q "
    text = f"⛔ 🏥 Balas pesan ini.\n{command}\n(ketuk untuk menyalin)"
    [part] = await channel().render(
        GROUP.address, OutgoingMessage(GROUP, text, copyable=(command,))
    )
    [(offset, length)] = part.params["code"]
    as_telegram_counts = text.encode("utf-16-le")
    assert as_telegram_counts[2 * offset : 2 * (offset + length)].decode("utf-16-le") == command


async def test_button_edit_is_one_call_per_message_found() -> None:
    buttons = ((Button("✅ YANKES", "d:ADU-7K2M9Q:YANKES"),),)
    edit = OutgoingMessage(GROUP, buttons=buttons, edits_buttons=True, edit_targets=("7", "9"))
    parts = await channel().render(GROUP.address, edit)
    assert [(p.kind, p.params["message_id"]) for p in parts] == [("buttons", 7), ("buttons", 9)]
    assert all(p.params["markup"] == [[["✅ YANKES", "d:ADU-7K2M9Q:YANKES"]]] for p in parts)
    nothing_found = OutgoingMessage(GROUP, edits_buttons=True)
    assert await channel().render(GROUP.address, nothing_found) == []
