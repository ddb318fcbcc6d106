"""What the outbox sender needs from a channel, and how a channel reports failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.model import OutgoingMessage


@dataclass(frozen=True)
class Part:
    """One provider call of a message (a text chunk, a photo, an album…).

    `weight` is how many messages the provider counts it as for its rate limits;
    `buttons`: the message it creates carries the message's buttons.
    """

    kind: str
    params: dict[str, Any]
    weight: int = 1
    buttons: bool = False


class DeliveryError(Exception):
    """A part could not be delivered now."""


class RetryLater(DeliveryError):
    """The provider asked us to wait (HTTP 429 with retry_after)."""

    def __init__(self, seconds: float, detail: str = "") -> None:
        super().__init__(detail or f"retry after {seconds}s")
        self.seconds = seconds


class TemporaryFailure(DeliveryError):
    """A network error or 5xx: try again with backoff."""


class PermanentFailure(DeliveryError):
    """The message can never be delivered (bot blocked, chat not found, refused)."""


class ChatRefused(PermanentFailure):
    """The chat refuses the bot: the user blocked it, or the bot is not in the group."""


class ChatMoved(DeliveryError):
    """The group became a supergroup with a new id; send there from now on."""

    def __init__(self, new_address: str) -> None:
        super().__init__(f"chat moved to {new_address}")
        self.new_address = new_address


class MessageChannel(Protocol):
    """Something that can deliver a message to a recipient, part by part."""

    async def render(
        self, address: str, message: OutgoingMessage, *, resumed: bool = False
    ) -> list[Part]:
        """Splits a message into provider calls.

        The same message gives the same parts, so a send interrupted after some parts
        resumes where it stopped (`resumed`: some parts already went out).
        """

    def is_group(self, address: str) -> bool: ...

    async def send(self, address: str, part: Part) -> list[str]:
        """Delivers one part; returns the provider's ids of the messages it created."""
