"""Citizens in private chats: every channel adapter hands its messages to `on_message`."""

from __future__ import annotations

from bot.core.cases import CaseDesk
from bot.core.reception import CitizenMessage, Reception


async def on_message(desk: CaseDesk, message: CitizenMessage) -> None:
    """Passes a citizen's message to the reception (dialogue, follow-up, rating, command)."""
    await Reception(desk).receive(message)
