"""How a channel joins the service: each channel package exposes one `ChannelRegistration`,
and the composition root (`bot.app`) loops over a tuple of them.

A registration says whether the settings turn its channel on and builds, from the
`ChannelContext` the root hands it, the channel's `ChannelParts`: the sender and its
rate limits (for the outbox), the web routes its provider calls, the inbox sources its
updates are recorded under, and what must start and stop with the service. The root
knows no channel by name; adding one is a package, a `handlers/<name>.py`, a `Channel`
value and one line in its tuple.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.channels.base import MessageChannel
from bot.core.model import Channel
from bot.core.office import Office
from bot.core.ports import Clock
from bot.core.texts import Texts
from bot.inbox.envelope import InboxSource
from bot.inbox.intake import Intake
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from storage.database import Database

if TYPE_CHECKING:
    from bot.outbox import OutboxSender

# Downloads the file its provider holds under a ref (a Telegram file_id) to a path,
# whole or not at all; raises bot.channels.filecheck.MediaUnavailable when it cannot now.
FetchFile = Callable[[str, Path], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


@dataclass(frozen=True)
class ChannelContext:
    """What the composition root hands a channel to build its parts with.

    `spawn` runs a loop of the channel's (a poller) until the service stops;
    `held_elsewhere` tells, by channel, how to fetch a file that channel's provider
    holds (filled as the channels are built, read while the service runs).
    """

    settings: Settings
    office: Office
    texts: Texts
    clock: Clock
    db: Database
    intake: Intake
    outbox: OutboxSender
    spawn: Callable[[Coroutine[Any, Any, None], str], None]
    held_elsewhere: Mapping[Channel, FetchFile]


@dataclass(frozen=True)
class ChannelParts:
    """One channel, built: what the outbox, the web app, the inbox and the service's
    lifetime each take from it."""

    channel: Channel
    sender: MessageChannel
    limits: RateLimiter
    routes: Sequence[web.RouteDef] = ()
    sources: Sequence[InboxSource] = ()
    start: Hook = _nothing  # before the inbox and the outbox start
    stop: Hook = _nothing  # after they stopped
    fetch_file: FetchFile | None = None  # for files its provider holds (see FetchFile)


@dataclass(frozen=True)
class ChannelRegistration:
    """A channel as the composition root knows it: its name, whether the settings turn it
    on, and how it is built."""

    label: str  # as `aduanbot check` names it
    enabled: Callable[[Settings], bool]
    build: Callable[[ChannelContext], ChannelParts]
    channel: Channel  # the people it reaches (`Office.reachable`)
