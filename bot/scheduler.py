"""The deadline scheduler: APScheduler runs a periodic tick; the database decides the rest.

APScheduler 3's `AsyncIOScheduler`, in the office's time zone, runs one interval job
and nothing else: no job per case and no job store, because what is due lives in the
database (each case's `next_check_at`, the digest's mark) and 3.x job stores must not
be shared between instances. Each tick is one transaction that first takes a lock
(`TransactionLocks.try_hold`); an instance that finds it taken skips its tick, and
the holder's changes are committed before anyone else looks, so two instances on one
PostgreSQL database (or two ticks at once) act on each deadline once.

Two chores of each tick run at any hour, not only in office hours: relaying the
follow-ups held back for a case as one digest (each case's `digest_at`, under the same
lock), and, every SWEEP_EVERY, removing stored files nothing refers to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core.cases import CaseDesk
from bot.core.office import Office
from bot.core.patrol import Round, patrol
from bot.core.ports import Clock
from bot.core.recap import queue_automatic
from bot.core.texts import Texts
from bot.privacy import remove_files, remove_orphans, retention_round
from storage.database import Database
from storage.errors import StorageError
from storage.locks import LockKey

log = logging.getLogger(__name__)

JOB_ID = "aduanbot-deadlines"
DIGEST_BATCH = 200  # cases whose held follow-ups a tick relays at most
SWEEP_EVERY = timedelta(minutes=15)  # how often stored files nothing refers to are looked for


class DeadlineScheduler:
    def __init__(
        self,
        db: Database,
        office: Office,
        texts: Texts,
        clock: Clock,
        after_commit: Callable[[], None],
        media: Path | None = None,
    ) -> None:
        self.db = db
        self.media = media  # where stored attachments live (removed with their cases)
        self.office = office
        self.texts = texts
        self.clock = clock
        self.after_commit = after_commit
        self._scheduler: AsyncIOScheduler | None = None
        self._tick_task: asyncio.Task[object] | None = None  # the round under way, if any
        self._stopping = False  # stop() was called: a cancelled round is its doing
        self.ticks = 0  # rounds finished (acted or not) since start
        self._ticked = asyncio.Condition()
        self._swept_at: datetime | None = None  # the last sweep of files nothing refers to

    async def tick(self) -> Round | None:
        """One patrol round if this instance gets the lock; None if it did not act."""
        now = self.clock.now()
        if self._swept_at is None or now - self._swept_at >= SWEEP_EVERY:
            await self.sweep()
        await self.relay_digests(now)
        if not self.office.calendar.is_working_time(now):
            return None  # nothing is acted on outside office hours
        try:
            async with self.db.transaction() as uow:
                if not await uow.locks.try_hold(LockKey.DEADLINE_PATROL):
                    log.debug("deadlines: another instance is on it")
                    return None
                done = await patrol(uow, self.office, self.texts, now)
                recaps = await queue_automatic(uow, self.office, now)
                erased = await retention_round(uow, self.office, self.texts, now)
        except StorageError as error:
            log.warning("deadlines: database unavailable, next tick retries (%s)", error)
            return None
        if done.acted:
            log.info(
                "deadlines: nudged %s, escalated %s, reminded %s, closed %s, tasks %s, digest %s",
                {chat: len(codes) for chat, codes in done.nudged.items()},
                done.escalated,
                done.reminded,
                done.closed,
                {chat: len(codes) for chat, codes in done.tasks.items()},
                done.digest,
            )
        if recaps:
            log.info("recaps: queued %s", ", ".join(p.label for p in recaps))
        if erased.cases or erased.reporters:
            files = remove_files(erased.files, self.media) if self.media else 0
            log.info(
                "retention: %s cases anonymised, %s reporters forgotten, %s files removed",
                len(erased.cases),
                erased.reporters,
                files,
            )
        if done.acted or recaps:
            self.after_commit()
        return done

    async def relay_digests(self, now: datetime) -> list[str]:
        """Relays the follow-ups held back for each case as one digest (at any hour: they
        were held from groups that got the others at once); returns the cases' codes."""
        try:
            async with self.db.transaction() as uow:
                if not await uow.locks.try_hold(LockKey.DEADLINE_PATROL):
                    return []
                desk = CaseDesk(uow, self.office, self.texts, now)
                cases = await uow.cases.digests_due(now, DIGEST_BATCH)
                for case in cases:
                    await desk.relay_digest(case)
        except StorageError as error:
            log.warning("digests: database unavailable, next tick retries (%s)", error)
            return []
        codes = [case.code for case in cases]
        if codes:
            log.info("digests of held follow-ups relayed: %s", ", ".join(codes))
            self.after_commit()
        return codes

    async def sweep(self) -> int:
        """Removes stored files nothing refers to (housekeeping, at any hour); returns
        how many. Every instance may sweep: deleting a file twice is harmless."""
        now = self._swept_at = self.clock.now()
        if self.media is None:
            return 0
        try:
            removed = await remove_orphans(self.db, self.media, now)
        except (StorageError, OSError) as error:  # OSError: the files'
            log.warning("media: files nothing refers to not swept (%s)", error)
            return 0
        if removed:
            log.info("media: %s files nothing refers to removed", removed)
        return removed

    def start(self) -> None:
        """Starts ticking now and every `[deadlines] tick_seconds` after."""
        scheduler = AsyncIOScheduler(timezone=self.office.timezone)
        scheduler.add_job(
            self._run_tick,
            "interval",
            seconds=self.office.deadlines.tick_seconds,
            id=JOB_ID,
            next_run_time=datetime.now(self.office.timezone),
            coalesce=True,  # after a stall, one tick, not one per missed interval
            max_instances=1,
            misfire_grace_time=None,
        )
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        """Stops ticking; a round under way is cancelled and awaited (its transaction rolls
        back), so nothing touches the database after the service has closed it."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        self._stopping = True
        tick = self._tick_task
        if tick is not None and not tick.done():
            tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tick

    async def wait_for_ticks(self, count: int = 1) -> None:
        """Waits until `count` more scheduled ticks have finished."""
        async with self._ticked:
            target = self.ticks + count
            await self._ticked.wait_for(lambda: self.ticks >= target)

    async def _run_tick(self) -> None:
        self._tick_task = asyncio.current_task()
        try:
            await self.tick()
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # stop() cancelled the round (its transaction rolled back): an end, not an
            # error for APScheduler to log with a traceback
        except Exception:  # a bug in one round must not stop later rounds
            log.exception("deadlines: the patrol round failed")
        finally:
            async with self._ticked:
                self.ticks += 1
                self._ticked.notify_all()
