"""What the inbox hands a channel's source handler: the `Envelope` a channel prepared
from a recorded update, and the `InboxSource` that names how one kind of update is
prepared and handled.

A channel prepares an update before the handling transaction (downloading and checking
its files, so no lock is held meanwhile) and gives the result in one shape, whichever
the channel: the update, the files it kept, and the files it refused, each refusal told
to the reporter by the core (`Rejected`). Preparing must be idempotent: after a crash
the update is prepared again, and nothing of the envelope is stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.core.dialogue import Rejected
from bot.core.model import Attachment, Channel
from bot.core.office import Office
from bot.core.ports import Clock
from bot.core.reception import turns_away

if TYPE_CHECKING:
    from bot.core.cases import CaseDesk
    from storage.database import Database
    from storage.uow import SqlUnitOfWork


class Standing(StrEnum):
    """Whether the sender of a staff command in a private chat is an officer (a member
    of the officers' group), as the channel found out before the handling."""

    OFFICER = "officer"
    NOT_OFFICER = "not_officer"
    UNKNOWN = "unknown"  # the channel could not tell (its API failed): refused, try again


@dataclass(frozen=True)
class Envelope:
    """A recorded update as its channel prepared it for handling.

    `update` is the channel's own payload (a Telegram update, Twilio's form), less any
    file that was refused; `attachments` the files kept on this service's disk for it;
    `refused` the files not taken, as the reporter is told them; `standing` whether the
    sender of a staff command in a private chat is an officer (None: not asked).
    """

    update: dict[str, Any]
    attachments: tuple[Attachment, ...] = ()
    refused: tuple[Rejected, ...] = ()
    standing: Standing | None = None


SourceHandler = Callable[["SqlUnitOfWork", "CaseDesk", Envelope], Awaitable[None]]
# Work done before the transaction (downloading media), so no lock is held meanwhile.
# It must be idempotent: after a crash the update is prepared again.
Preparer = Callable[[dict[str, Any]], Awaitable[Envelope]]
# Asked by a preparer before it fetches a message's files: will the message of this
# (channel, chat, album) be ignored unseen? See `bot.core.reception.turns_away`.
TurnedAway = Callable[[Channel, str, str | None], Awaitable[bool]]


@dataclass(frozen=True)
class InboxSource:
    """How the inbox handles the updates recorded under `name` (a webhook's or a
    poller's `source`): prepared by `prepare` (if any), then handled by `handle`."""

    name: str
    handle: SourceHandler
    prepare: Preparer | None = None


def turned_away(db: Database, office: Office, clock: Clock) -> TurnedAway:
    """The preparers' look at a reporter's block and limits (read-only, outside the
    handling transaction; only asked when there is a file to fetch)."""

    async def check(channel: Channel, address: str, album_id: str | None) -> bool:
        async with db.transaction(readonly=True) as uow:
            return await turns_away(uow, office, channel, address, album_id, clock.now())

    return check
