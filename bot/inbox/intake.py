"""The inbox's intake: records each inbound update durably (deduplicated on its source
and id) and commits before the webhook that brought it answers, so what a provider was
told it delivered is never lost. It knows no channel: each channel's webhook or poller
calls `Intake.record` with its own source name, id and chat; `not_recorded` is the
answer a webhook gives when its update could not be stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.core.ports import Clock
from storage.database import Database
from storage.errors import DatabaseRefused, error_class, is_outage
from storage.repositories.inbound import InboundDelivery
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

# C0 control characters but tab, newline and carriage return, and lone surrogates: text
# PostgreSQL cannot hold (NUL) or UTF-8 cannot encode, and that no person means to send.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def without_controls(value: Any) -> Any:
    """The value with every string in it (dict keys too, at any depth) cleared of control
    characters but tab, newline and carriage return, and of lone surrogates."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("", value)
    if isinstance(value, dict):
        return {without_controls(k): without_controls(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_controls(item) for item in value]
    return value


# Updates stored in one transaction at most (a burst after an outage comes in these).
MAX_BATCH = 500
# On PostgreSQL the processor waits for a pause in the webhooks this long before handling
# an update, but never longer than GIVE_WAY_LIMIT in all (a flood must not stop handling).
# Not on SQLite: its writers take turns anyway, and a burst there was stored faster, and
# a steady flow handled sooner, without the pause (bench/intake.py).
QUIET = 0.002
GIVE_WAY_LIMIT = 0.5


@dataclass
class _Waiting:
    delivery: InboundDelivery
    fresh: asyncio.Future[bool]


class Intake:
    """Records inbound updates durably before they are acknowledged.

    Updates that arrive while a write is under way are stored together by the next one:
    one transaction and one commit for a burst, where one each would queue for SQLite's
    write lock (or a PostgreSQL connection) and make every webhook wait for all those
    before it. On SQLite, what waits while the inbound processor handles updates is
    stored by the processor's transaction as it ends (`ride`), with no turn of its own at
    the write lock. Each caller still returns only once its update is committed.

    What is recorded is cleared of control characters (`without_controls`): PostgreSQL
    cannot store a NUL, and an update that cannot be stored cannot be handled either.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        on_recorded: Callable[[], None],
        counted: Callable[[str], None] | None = None,
        quiet: float | None = None,
    ) -> None:
        self.db = db
        self.quiet = (QUIET if db.dialect == "postgresql" else 0.0) if quiet is None else quiet
        self.clock = clock
        self.on_recorded = on_recorded
        self.counted = counted  # told the source of each new update (the metrics)
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._stored = asyncio.Event()  # set (and replaced) as each batch is done
        self._last_stored = 0.0  # the loop's time when the last batch was done
        self._riders_refused = False  # set while updates a rider took along wait again

    async def record(
        self, source: str, external_id: str, chat_key: str, payload: dict[str, Any]
    ) -> bool:
        """Stores an inbound update once (deduplicated on its id); false if seen before."""
        waiting = _Waiting(
            InboundDelivery(
                source,
                without_controls(external_id),
                without_controls(chat_key),
                without_controls(payload),
            ),
            asyncio.get_running_loop().create_future(),
        )
        self._waiting.append(waiting)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="intake")
        return await waiting.fresh

    async def give_way(self) -> None:
        """Waits while updates are being stored, and while webhooks keep arriving (a
        batch stored less than `quiet` ago), for at most GIVE_WAY_LIMIT.

        The processor asks before each update it handles, so that a burst of webhooks
        is acknowledged first: their time is what Telegram waits for (and what it
        redelivers after). Handling one update takes longer than storing a batch, so
        during a burst (the next webhooks already on their way) it waits for a pause.
        """
        loop = asyncio.get_running_loop()
        until = loop.time() + GIVE_WAY_LIMIT
        while loop.time() < until:
            if self._writer is not None:
                await self._stored.wait()
            elif loop.time() - self._last_stored < self.quiet:
                await asyncio.sleep(self.quiet)
            else:
                return

    def waiting(self) -> int:
        """Updates waiting to be stored."""
        return len(self._waiting)

    async def ride(self, uow: SqlUnitOfWork) -> Callable[[bool], None] | None:
        """Stores the updates waiting in `uow`, another transaction of this process that
        holds the write turn (on SQLite the inbound processor's, just before it commits),
        rather than in a transaction of their own after it: one commit for both, and one
        turn at SQLite's write lock fewer for each webhook at a steady rate.

        Returns what to call once `uow` has ended (None if nothing waited): with True when
        it committed, and the webhooks are answered; with False when it did not, and the
        updates wait again, first in line, for the intake's own transaction (which, should
        the database refuse one of them, tells that webhook alone). They are never
        acknowledged before the commit that stores them.
        """
        if not self._waiting or self._riders_refused:
            return None
        batch = self._take()
        try:
            fresh = await uow.inbound.record_many(
                [waiting.delivery for waiting in batch], self.clock.now()
            )
        except BaseException:
            self._wait_again(batch)
            raise

        def ended(committed: bool) -> None:
            if committed:
                self._stored_ok(batch, fresh)
            else:
                self._wait_again(batch)

        return ended

    async def _write(self) -> None:
        """Stores what waits, a batch a transaction, until nothing does.

        A batch is taken once the transaction has its turn to write: what waited meanwhile
        joins it, and what a handling transaction took along (`ride`) waits no more.
        """
        batch: list[_Waiting] = []
        try:
            while self._waiting:
                batch = []
                try:
                    async with self.db.transaction(urgent=True) as uow:
                        batch = self._take()
                        deliveries = [waiting.delivery for waiting in batch]
                        fresh = (
                            await uow.inbound.record_many(deliveries, self.clock.now())
                            if batch
                            else []
                        )
                except Exception as error:
                    batch = batch or self._take()  # (no turn to write: they are told so)
                    if is_outage(error) or len(batch) == 1:
                        # the database is down (or refused the only one): each webhook says so
                        for waiting in batch:
                            _settle(waiting, error=error)
                        continue
                    # One update the database refuses must not fail the others.
                    for waiting in batch:
                        try:
                            async with self.db.transaction(urgent=True) as uow:
                                alone = [waiting.delivery]
                                fresh = await uow.inbound.record_many(alone, self.clock.now())
                        except Exception as single:
                            _settle(waiting, error=single)
                        else:
                            self._stored_ok([waiting], fresh)
                else:
                    self._stored_ok(batch, fresh)
                finally:
                    self._last_stored = asyncio.get_running_loop().time()
                    self._stored.set()
                    self._stored = asyncio.Event()
            self._riders_refused = False  # (whatever a rider could not store is stored)
        except asyncio.CancelledError:  # the service is stopping: nobody gets a 200
            for waiting in [*batch, *self._waiting]:
                waiting.fresh.cancel()
            raise
        finally:
            self._writer = None

    def _take(self) -> list[_Waiting]:
        batch = self._waiting[:MAX_BATCH]
        del self._waiting[:MAX_BATCH]
        return batch

    def _wait_again(self, batch: list[_Waiting]) -> None:
        """Updates a rider took along that its transaction did not store: first in line
        for the intake's own transaction, and no rider takes any until that is done."""
        self._waiting[:0] = batch
        self._riders_refused = True
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="intake")

    def _stored_ok(self, batch: list[_Waiting], fresh: list[bool]) -> None:
        """Once their transaction committed: the new ones counted and the processor woken,
        the webhooks answered."""
        for waiting, new in zip(batch, fresh, strict=True):
            if new:
                self.on_recorded()
                if self.counted is not None:
                    self.counted(waiting.delivery.source)
            _settle(waiting, new)


def _settle(waiting: _Waiting, fresh: bool = False, error: BaseException | None = None) -> None:
    """Tells a webhook how its update fared (unless it stopped waiting)."""
    if waiting.fresh.done():
        return
    if error is not None:
        waiting.fresh.set_exception(error)
    else:
        waiting.fresh.set_result(fresh)


def not_recorded(webhook: str, error: Exception) -> web.Response:
    """The answer to a webhook whose update could not be stored: 503 while the database is
    unavailable (the provider delivers it again), 400 when the database refused it for its
    content (it would be refused again each time); any other error goes on (a 500)."""
    if is_outage(error):
        log.exception("%s: database unavailable; the provider will deliver it again", webhook)
        return web.Response(status=503, text="try again")
    if isinstance(error, DatabaseRefused):
        log.error("%s: the database refused the update (%s)", webhook, error_class(error))
        return web.Response(status=400, text="not storable")
    raise error
