"""The inbound processor: handles each recorded update exactly once, in arrival order.

Webhooks and the poller only record updates (committed before Telegram gets its 2xx).
This loop takes them in order and handles each in a transaction that also marks it
done, so a crash at any moment either keeps the whole effect or none of it. The updates
waiting are handled several to a transaction (at most `TOGETHER`, joining for at most
`TOGETHER_FOR`): the set-up and commit of a transaction, and the sender's round after
it, then serve several updates under load; after a busy round the next waits out
`ROUND_EVERY`, so that the updates arriving meanwhile join it. On SQLite, which has one
writer at a time, the webhooks' updates that arrive meanwhile are stored by the same
transaction as it ends (`Rider`, the intake), rather than each webhook waiting for a turn
at the write lock after it; none joins after `YIELD_AFTER` while a crowd of webhooks
waits for that commit, nor after `RIDE_FOR` while any does. Should one of them
fail, that transaction is rolled back and each of its updates handled again in a
transaction of its own, as below. With several instances on one PostgreSQL database
any instance may take any update, but an update waits while an earlier one of its chat
is still pending (`InboundLog.claim`), so each chat's updates are handled one at a
time, in the order they arrived.

An update that fails is told apart by why (`storage.errors.is_outage`): while the
database is unavailable it stays pending and is tried again; one the database refuses
for its content (or that meets a bug) would fail every time, so it is recorded as failed
with the kind of error, the officers are told once, and the updates after it go on.
What cannot be stored at all (NUL and the other control characters) is removed when an
update is recorded (`without_controls`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from bot.core import views
from bot.core.cases import CaseDesk
from bot.core.model import Channel, OutgoingMessage, Recipient
from bot.core.office import Office
from bot.core.ports import Clock
from bot.core.texts import Texts
from bot.core.tracing import CURRENT_CASE
from bot.inbox.envelope import Envelope, InboxSource, Preparer, SourceHandler
from bot.inbox.intake import without_controls
from storage.database import Database
from storage.errors import DatabaseRefused, error_class, is_outage
from storage.repositories.inbound import InboundRow
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

BATCH = 100
TOGETHER = 20  # updates handled in one transaction, at most
TOGETHER_FOR = 0.03  # seconds: no more updates join a transaction open that long
# Seconds: on SQLite, a transaction open this long lets no more updates join while a
# crowd of webhooks (CROWD) waits for it to commit, or this process's write turn (without a
# rider); open RIDE_FOR, while any webhook does. Their updates ride along (`Rider`).
YIELD_AFTER = 0.005
CROWD = 10
RIDE_FOR = 0.015
IDLE_WAIT = 1.0
# Seconds: after a round that handled updates, the next begins at most this long after it
# began, so that the updates arriving meanwhile share its read and its transaction (at
# 200 updates a second each took a round of its own). An idle processor starts at once.
ROUND_EVERY = 0.01
DB_RETRY_WAIT = 2.0
MAX_REASON = 500  # characters of an error kept with a failed update


class RideRefused(Exception):
    """The database refused updates taken along (`Rider.ride`): the transaction is rolled
    back and tried again without them (the intake stores them in its own)."""


class Rider(Protocol):
    """Stores updates recorded meanwhile in a handling transaction (`Intake.ride`)."""

    def waiting(self) -> int: ...

    async def ride(self, uow: SqlUnitOfWork) -> Callable[[bool], None] | None: ...


class InboundProcessor:
    """Turns recorded updates into case changes and outgoing messages.

    It knows no channel: each channel adds the sources it records updates under
    (`add`), and each source's handler gets the update in an `Envelope`.
    """

    def __init__(
        self,
        db: Database,
        office: Office,
        texts: Texts,
        clock: Clock,
        sources: dict[str, SourceHandler],
        after_commit: Callable[[], None],
        preparers: dict[str, Preparer] | None = None,
    ) -> None:
        self.db = db
        self.office = office
        self.texts = texts
        self.clock = clock
        self.sources = sources
        self.after_commit = after_commit
        self.preparers = preparers if preparers is not None else {}
        self._wake = asyncio.Event()
        self._recorded = 0  # updates recorded by this process, and handled since start
        self._handled = 0
        self._progress = asyncio.Condition()
        # Awaited before each update is handled: lets the webhooks store theirs first.
        self.give_way: Callable[[], Awaitable[None]] | None = None
        # Stores the webhooks' updates waiting meanwhile in each handling transaction
        # (SQLite: the intake).
        self.rider: Rider | None = None

    def add(self, source: InboxSource) -> None:
        """Handles the updates recorded under `source.name` from now on."""
        self.sources[source.name] = source.handle
        if source.prepare is not None:
            self.preparers[source.name] = source.prepare

    def wake(self) -> None:
        """Tells the processor an update was recorded."""
        self._recorded += 1
        self._wake.set()

    async def caught_up(self) -> None:
        """Waits until every update recorded so far by this process has been handled
        by it (tests of one instance)."""
        target = self._recorded
        async with self._progress:
            await self._progress.wait_for(lambda: self._handled >= target)

    async def run(self) -> None:
        """Processes until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                began = loop.time()
                handled = await self.process_pending()
            except Exception as error:
                if is_outage(error):
                    log.warning("inbound: database unavailable, retrying", exc_info=True)
                else:  # (this loop must never end: nothing would be handled any more)
                    log.error(
                        "inbound: handling interrupted (%s), retrying",
                        error_class(error),
                        exc_info=not isinstance(error, DatabaseRefused),  # (may quote a value)
                    )
                await asyncio.sleep(DB_RETRY_WAIT)
                continue
            if not handled:
                with contextlib.suppress(TimeoutError):
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                    # cancellation that arrives as the event is set, and the loop never stops.
                    async with asyncio.timeout(IDLE_WAIT):
                        await self._wake.wait()
                continue
            if (rest := began + ROUND_EVERY - loop.time()) > 0:
                await asyncio.sleep(rest)  # the updates arriving meanwhile join the next round

    async def process_pending(self) -> int:
        """Handles every recorded update it can now; returns how many it took up.

        An update whose chat has an earlier one still under way at another instance
        waits for a later round, so each chat's updates keep their order.
        """
        async with self.db.transaction(readonly=True) as uow:  # (no wait for SQLite's writer)
            rows = await uow.inbound.pending(BATCH)
        taken = 0
        ready: dict[int, Envelope] = {}  # prepared, not handled yet (a group may stop early)
        while rows:
            if self.give_way is not None:
                await self.give_way()
            through, took = await self._process_together(rows[:TOGETHER], ready)
            rows = rows[through:]
            taken += took
        return taken

    async def _process_together(
        self, rows: list[InboundRow], ready: dict[int, Envelope]
    ) -> tuple[int, int]:
        """Handles the first of `rows`, and as many after it as may join, in one
        transaction; how many of the rows it went through, and how many of those it took
        up (the others wait for an earlier update of their chat). `ready` keeps the
        envelopes prepared for rows that a later group handles."""
        prepared: list[tuple[InboundRow, Envelope]] = []
        for row in rows:  # (before the transaction: preparing may ask Telegram, fetch files)
            try:
                envelope = ready.get(row.id) or await self._envelope(row)
                ready[row.id] = envelope
                prepared.append((row, envelope))
            except Exception as error:
                if is_outage(error):
                    raise  # the database is unavailable: the update stays pending
                if prepared:
                    break  # it goes first next time, and is recorded failed then
                await self._failed(row, error)
                await self._count(1)
                return 1, 1
        if len(prepared) == 1:
            return 1, await self._process_alone(*prepared[0])
        clock = asyncio.get_running_loop().time
        since = clock()
        outcomes: list[bool] = []  # of each update handled: taken up, or waiting
        try:
            async with self._transaction() as uow:
                for row, envelope in prepared:
                    open_for = clock() - since
                    if outcomes and (open_for > TOGETHER_FOR or self._webhooks_first(open_for)):
                        break
                    outcomes.append(await self._handle(uow, row, envelope))
        except RideRefused:
            return 0, 0  # the same updates again (no rider takes any now)
        except Exception as error:
            if is_outage(error):
                raise  # the database is unavailable: the updates stay pending
            # One of them failed for what it is: each again, in a transaction of its own.
            tried = prepared[: len(outcomes) + 1]
            return len(tried), sum([await self._process_alone(*each) for each in tried])
        self.after_commit()
        await self._count(sum(outcomes))
        return len(outcomes), sum(outcomes)

    def _webhooks_first(self, open_for: float) -> bool:
        """Whether a transaction open this long lets no more updates join, for the
        webhooks that wait for it (SQLite): a webhook is answered once its update is
        committed, and Telegram sends no more than its connections allow meanwhile."""
        if open_for <= YIELD_AFTER:
            return False
        if self.rider is None:
            return self.db.writers_waiting()
        waiting = self.rider.waiting()
        return waiting >= CROWD or (waiting > 0 and open_for > RIDE_FOR)

    async def _process_alone(self, row: InboundRow, envelope: Envelope) -> int:
        """Handles one update in a transaction of its own, or records why it failed; 1 if
        it was taken up, 0 if it waits for an earlier update of its chat."""
        while True:
            try:
                async with self._transaction() as uow:
                    taken = await self._handle(uow, row, envelope)
            except RideRefused:
                continue  # the same update again, without what the rider took along
            except Exception as error:
                if is_outage(error):
                    raise  # the database is unavailable: the update stays pending, tried again
                await self._failed(row, error)
                taken = True
            else:
                self.after_commit()
            await self._count(int(taken))
            return int(taken)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[SqlUnitOfWork]:
        """A handling transaction, which also stores the webhooks' updates that wait for
        its turn to write (`ride`), and tells the intake how it ended."""
        ended: Callable[[bool], None] | None = None
        committed = False
        try:
            async with self.db.transaction() as uow:
                yield uow
                if self.rider is not None:
                    try:
                        ended = await self.rider.ride(uow)
                    except Exception as error:
                        if is_outage(error):
                            raise
                        raise RideRefused from error  # not the updates' fault
            committed = True
        finally:
            if ended is not None:
                ended(committed)

    async def _envelope(self, row: InboundRow) -> Envelope:
        prepare = self.preparers.get(row.source)
        return await prepare(row.payload) if prepare is not None else Envelope(row.payload)

    async def _handle(self, uow: SqlUnitOfWork, row: InboundRow, envelope: Envelope) -> bool:
        """Marks one update done and handles it, in the transaction; False if it must wait
        for an earlier update of its chat."""
        CURRENT_CASE.set(None)  # the case desk names the case once it knows it
        now = self.clock.now()
        if not await uow.inbound.take(row.id, now):
            # handled already or right now elsewhere, or its chat's turn is not yet
            return not await uow.inbound.is_pending(row.id)
        handler = self.sources.get(row.source)
        if handler is not None:
            await handler(uow, CaseDesk(uow, self.office, self.texts, now), envelope)
        else:
            log.error("inbound: no handler for source %s", row.source)
        return True

    async def _count(self, handled: int) -> None:
        """Counts updates handled (for `caught_up`)."""
        if handled:
            async with self._progress:
                self._handled += handled
                self._progress.notify_all()

    async def _failed(self, row: InboundRow, error: Exception) -> None:
        """Records an update that fails for what it is (its content, or a bug met by it),
        and tells the officers once, so that every later update goes on."""
        kind = error_class(error)
        if isinstance(error, DatabaseRefused):
            # Its message may quote the value refused: the kind of error only.
            log.error(
                "inbound: %s update %s of chat %s failed: the database refused it (%s)",
                row.source,
                row.external_id,
                row.chat_key or "-",
                kind,
            )
            detail = error.detail
        else:  # a bug: where it happened is what its fixer needs
            log.exception("inbound: %s update %s failed", row.source, row.external_id)
            detail = str(error)
        reason = without_controls(f"{kind}: {detail}" if detail else kind)[:MAX_REASON]
        async with self.db.transaction() as uow:
            if not await uow.inbound.claim(row.id):
                return  # another instance took it up meanwhile (and tells, if it fails)
            await uow.inbound.mark_failed(row.id, reason, self.clock.now())
            notice = self._failure_notice(row, kind)
            if notice is not None:
                await uow.outbox.enqueue(notice)
        self.after_commit()

    def _failure_notice(self, row: InboundRow, kind: str) -> OutgoingMessage | None:
        """The officers' notice of a message that was skipped (none for delivery reports,
        which no person wrote). Names the chat as staff know it, never what was written."""
        try:
            channel = Channel(row.source)
        except ValueError:
            return None
        t = self.texts
        if row.chat_key:
            chat = views.chat_label(self.office, t, Recipient(channel, row.chat_key), None)
        else:
            chat = t(f"channel_{channel.value}")
        return OutgoingMessage(
            recipient=Recipient(Channel.TELEGRAM, self.office.officers_chat_id),
            text=t(
                "officers_update_failed",
                chat=chat,
                time=views.local_time(self.office, t, row.received_at),
                reason=kind,
            ),
        )
