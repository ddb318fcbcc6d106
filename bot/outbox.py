"""The outbox sender: delivers queued messages in order per chat, within rate limits.

Messages are written to the outbox in the same transaction as the change that caused
them; this loop sends them. A message whose send was interrupted after the provider
accepted a part may repeat that one part once after a restart; nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.channels.base import (
    ChatMoved,
    ChatRefused,
    MessageChannel,
    PermanentFailure,
    RetryLater,
    TemporaryFailure,
)
from bot.core import mirror, views
from bot.core.cases import ACKNOWLEDGEMENT
from bot.core.model import Channel, OutgoingMessage, Recipient
from bot.core.office import Office
from bot.core.ports import Clock
from bot.core.texts import Texts
from bot.core.tracing import CURRENT_CASE
from bot.ratelimit import RateLimiter

if TYPE_CHECKING:
    from bot.metrics import Metrics
from storage.database import Database
from storage.locks import ChatLocks, LockKey
from storage.repositories.outbox import OutboxRow
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

BATCH = 200
IDLE_WAIT = 1.0
MAX_BACKOFF = 300.0
MAX_MIGRATION_HOPS = 3
RECENTLY_RECORDED = 10_000
# A chat whose message failed this many tries in a row (about a minute with the
# backoff) is reported to the officers, at most once per STUCK_NOTICE_QUIET.
STUCK_NOTICE_AFTER = 7
STUCK_NOTICE_QUIET = timedelta(minutes=30)
STUCK_NOTICE = "stuck_notice"
STUCK_NOTICE_MARK = "stuck_notice:last"  # when the last one was queued (ISO 8601)


class OutboxSender:
    """Sends what the outbox holds, per chat in order, with retries and rate limits."""

    def __init__(
        self,
        db: Database,
        channels: dict[Channel, tuple[MessageChannel, RateLimiter]],
        clock: Clock,
        texts: Texts,
        office: Office,
        on_failure: Callable[[OutboxRow, str], None] | None = None,
    ) -> None:
        self.db = db
        self.locks = ChatLocks(db)
        self.channels = channels
        self.clock = clock
        self.texts = texts
        self.office = office
        self.officers = Recipient(Channel.TELEGRAM, office.officers_chat_id)
        # The staff's groups: a group that removed the bot gets its messages once the
        # bot is back, so they are kept rather than given up on.
        self.groups = {
            Recipient(Channel.TELEGRAM, chat)
            for chat in (
                office.officers_chat_id,
                office.supervisor_chat_id,
                *(unit.chat_id for unit in office.units),
            )
            if chat
        }
        self._wake = asyncio.Event()
        self._busy: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._current: dict[str, str] = {}
        self.on_failure = on_failure
        self.metrics: Metrics | None = None  # counts sends, failures and retries if set
        self._progress = asyncio.Condition()
        # (address, message id) of the latest sends, so callers can wait for one to be stored
        self._recorded: deque[tuple[str, str]] = deque(maxlen=RECENTLY_RECORDED)

    def wake(self) -> None:
        """Tells the sender new messages are waiting (called after a commit)."""
        self._wake.set()

    async def run(self) -> None:
        """Sends until cancelled."""
        try:
            while True:
                self._wake.clear()
                try:
                    await self.send_due()
                except Exception:  # the database may be down: keep trying
                    log.exception("outbox: could not read due messages")
                with contextlib.suppress(TimeoutError):
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                    # cancellation that arrives as the event is set, and the loop never stops.
                    async with asyncio.timeout(IDLE_WAIT):
                        await self._wake.wait()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.locks.close()

    async def send_due(self) -> int:
        """Starts delivery of every chat's next due message; returns how many started."""
        async with self.db.transaction() as uow:
            rows = await uow.sending.due(self.clock.now(), BATCH, set(self._busy))
        for row in rows:
            key = (row.recipient.channel.value, row.recipient.address)
            if key in self._busy:
                continue  # being sent here
            # Marked busy before waiting for the lock: PostgreSQL grants a session's own
            # advisory lock again, so a second round here must not get that far.
            self._busy.add(key)
            if not await self.locks.acquire(_lock_name(key)):
                self._busy.discard(key)
                continue  # being sent by another instance
            task = asyncio.create_task(self._deliver_chat(row, key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(rows)

    async def drain(self) -> None:
        """Waits for deliveries under way (used on shutdown and in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def recorded(self, address: str, message_id: str) -> None:
        """Waits until a sent message's id is stored (replies to it can then be traced)."""
        async with self._progress:
            await self._progress.wait_for(lambda: (address, message_id) in self._recorded)

    async def stored_or_idle(self, channel: Channel, address: str, message_id: str) -> None:
        """Waits until that id is stored, or until nothing is being sent to that chat.

        Only a send under way can have an id the database does not know yet.
        """
        key = (channel.value, address)
        async with self._progress:
            await self._progress.wait_for(
                lambda: (address, message_id) in self._recorded or key not in self._busy
            )

    async def _deliver_chat(self, row: OutboxRow, key: tuple[str, str]) -> None:
        try:
            if self.locks.shared:  # another instance may have sent it before we locked
                async with self.db.transaction(readonly=True) as uow:
                    current = await uow.sending.still_pending(row.id)
                if current is None:
                    return
                row = current
            await self._deliver(row)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox: delivering message %s failed unexpectedly", row.id)
            await self._retry(row, TemporaryFailure("unexpected error"), None)
        finally:
            await self.locks.release(_lock_name(key))
            self._busy.discard(key)
            self._wake.set()  # the chat's next message may be due
            async with self._progress:
                self._progress.notify_all()

    async def _deliver(self, row: OutboxRow) -> None:
        CURRENT_CASE.set(row.message.case_code)
        channel, limiter = self.channels[row.recipient.channel]
        address = await self._address(row.recipient)
        message = row.message
        if message.edits_buttons:
            async with self.db.transaction(readonly=True) as uow:
                targets = await uow.sending.keyboards(row)
            message = replace(message, edit_targets=tuple(targets))
        try:
            parts = await channel.render(address, message, resumed=row.parts_done > 0)
        except PermanentFailure as exc:
            await self._fail(row, exc)
            return
        done = row.parts_done
        hops = 0
        while done < len(parts):
            part = parts[done]
            try:
                async with limiter.sending(address, part.weight, group=channel.is_group(address)):
                    ids = await channel.send(address, part)
            except ChatMoved as moved:
                hops += 1
                if hops > MAX_MIGRATION_HOPS:
                    await self._fail(row, PermanentFailure(str(moved)))
                    return
                log.info("chat %s moved to %s", address, moved.new_address)
                async with self.db.transaction() as uow:
                    await uow.chats.record_migration(address, moved.new_address, self.clock.now())
                self._current.pop(row.recipient.address, None)
                address = moved.new_address
                continue
            except RetryLater as exc:
                await self._retry(row, exc, exc.seconds)
                return
            except TemporaryFailure as exc:
                await self._retry(row, exc, None)
                return
            except ChatRefused as exc:
                if row.recipient in self.groups:
                    await self._retry(row, exc, MAX_BACKOFF)  # until the bot is back
                else:
                    await self._fail(row, exc)
                return
            except PermanentFailure as exc:
                await self._fail(row, exc)
                return
            done += 1
            async with self.db.transaction() as uow:
                now = self.clock.now()
                await uow.sending.part_sent(
                    row.id, done, ids, now if done == len(parts) else None, keyboard=part.buttons
                )
                if done == 1 and row.message.purpose == ACKNOWLEDGEMENT and row.message.case_id:
                    await uow.sending.mark_acknowledged(row.message.case_id, now)
            if done == len(parts):
                self._count("sent", row)
            async with self._progress:
                for chat in {row.recipient.address, address}:  # as configured, and current
                    self._recorded.extend((chat, i) for i in ids)
                self._progress.notify_all()
        if not parts:
            async with self.db.transaction() as uow:
                await uow.sending.mark_sent(row.id, self.clock.now())

    async def _address(self, recipient: Recipient) -> str:
        """The chat's current id (a group may have become a supergroup)."""
        if recipient.channel is not Channel.TELEGRAM or not recipient.address.startswith("-"):
            return recipient.address
        cached = self._current.get(recipient.address)
        if cached is None:
            async with self.db.transaction() as uow:
                cached = await uow.chats.current(recipient.address)
            self._current[recipient.address] = cached
        return cached

    async def _retry(self, row: OutboxRow, exc: Exception, seconds: float | None) -> None:
        if seconds is None:
            seconds = min(2.0 ** min(row.attempts, 10), MAX_BACKOFF)
        when = self.clock.now() + timedelta(seconds=seconds)
        log.warning("outbox: message %s to %s waits %.0fs: %s", row.id, row.recipient, seconds, exc)
        async with self.db.transaction() as uow:
            await uow.sending.retry_later(row.id, when, str(exc))
            if row.attempts + 1 == STUCK_NOTICE_AFTER:
                await self._report_stuck(uow, row, str(exc))
        self._count("retried", row)

    async def _report_stuck(self, uow: SqlUnitOfWork, row: OutboxRow, error: str) -> None:
        """Tells the officers (the supervisor, when the officers' group is the one stuck)
        that a chat's messages are not going out, unless they were told lately."""
        if row.message.purpose == STUCK_NOTICE:
            return
        to = self.officers
        if row.recipient == self.officers:
            if not self.office.supervisor_chat_id:
                return
            to = Recipient(Channel.TELEGRAM, self.office.supervisor_chat_id)
        if not await uow.locks.try_hold(LockKey.STUCK_NOTICE):
            return  # another chat's notice is being queued right now
        now = self.clock.now()
        last = await uow.marks.get(STUCK_NOTICE_MARK)
        if last is not None and now - datetime.fromisoformat(last) < STUCK_NOTICE_QUIET:
            return
        await uow.marks.put(STUCK_NOTICE_MARK, now.isoformat())
        case = await uow.cases.get(row.message.case_id) if row.message.case_id else None
        code = case.code if case is not None else None
        t = self.texts
        await uow.outbox.enqueue(
            OutgoingMessage(
                recipient=to,
                text=t(
                    "officers_stuck_notice",
                    chat=views.chat_label(self.office, t, row.recipient, code),
                    since=views.local_time(self.office, t, row.created_at),
                    error=views.short_error(t, error),
                ),
                purpose=STUCK_NOTICE,
            )
        )
        self.wake()

    async def _fail(self, row: OutboxRow, exc: PermanentFailure) -> None:
        """Records a message that can never go out; officers hear of an unreachable reporter."""
        log.error("outbox: message %s to %s failed for good: %s", row.id, row.recipient, exc)
        async with self.db.transaction() as uow:
            await uow.sending.mark_failed(row.id, str(exc), self.clock.now())
            if not row.message.edits_buttons:
                await mirror.report_failure(
                    uow, self.office, self.texts, row.recipient, str(exc), self.clock.now()
                )
            if row.recipient != self.officers and row.message.case_id is not None:
                case = await uow.cases.get(row.message.case_id)
                if (
                    case is not None
                    and row.recipient.channel is case.channel
                    and not row.message.answers_tap
                    and not row.message.edits_buttons
                ):
                    reporter = await uow.reporters.get(case.reporter_id)
                    if reporter is not None and reporter.recipient == row.recipient:
                        await uow.outbox.enqueue(
                            OutgoingMessage(
                                recipient=self.officers,
                                text=self.texts(
                                    "officers_delivery_failed", code=case.code, error=str(exc)
                                ),
                                case_id=case.id,
                            )
                        )
        self._count("failed", row)
        if self.on_failure is not None:
            self.on_failure(row, str(exc))
        self.wake()

    def _count(self, outcome: str, row: OutboxRow) -> None:
        if self.metrics is not None:
            counter = getattr(self.metrics, outcome)
            counter.labels(row.recipient.channel.value).inc()


def _lock_name(key: tuple[str, str]) -> str:
    return f"{key[0]}:{key[1]}"
