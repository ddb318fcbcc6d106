"""Pigeon's sender: delivers a message's text by appending it to a list (what the
test reads as what people received)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.base import Part
from bot.core.model import OutgoingMessage


@dataclass(frozen=True)
class Sent:
    address: str
    text: str


class PigeonSender:
    """A `MessageChannel` that records what it sent."""

    def __init__(self, sent: list[Sent]) -> None:
        self.sent = sent

    def is_group(self, address: str) -> bool:
        return False

    async def render(
        self, address: str, message: OutgoingMessage, *, resumed: bool = False
    ) -> list[Part]:
        if message.answers_tap or message.edits_buttons or not message.text.strip():
            return []
        return [Part("text", {"text": message.text})]

    async def send(self, address: str, part: Part) -> list[str]:
        self.sent.append(Sent(address, part.params["text"]))
        return [str(len(self.sent))]
