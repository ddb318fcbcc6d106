"""The outbox sender: delivers queued messages in order per chat, within rate limits.

Messages are written to the outbox in the same transaction as the change that caused
them; this loop sends them. A message whose send was interrupted after the provider
accepted a part may repeat that one part once after a restart; nothing is lost.

One task per chat sends that chat's messages one after another. A part that went out
is stored by the sender's next round (`send_due`), which in one transaction stores every
part sent since the last round, reads what is due now, and hands each chat whose
message went out whole its next message: under load one transaction serves many chats,
where each part and each look for due messages took one of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
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
from storage.repositories.outbox import OutboxRow, outbox_row
from storage.repositories.sending import STILL_PENDING_AMONG, PartSent
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

BATCH = 200
IDLE_WAIT = 1.0
# Seconds: while there is work, a round begins at most this long after the one before, so
# that the parts sent and the messages queued meanwhile share its transaction. Under a
# steady 200 updates a second that halves the rounds (one an update before, with one
# transaction and a read of what is due each) for at most 10 ms more per message.
ROUND_EVERY = 0.01
MAX_BACKOFF = 300.0
MAX_MIGRATION_HOPS = 3
RECENTLY_RECORDED = 10_000
# A chat whose message failed this many tries in a row (about a minute with the
# backoff) is reported to the officers, at most once per STUCK_NOTICE_QUIET.
STUCK_NOTICE_AFTER = 7
STUCK_NOTICE_QUIET = timedelta(minutes=30)
STUCK_NOTICE = "stuck_notice"
STUCK_NOTICE_MARK = "stuck_notice:last"  # when the last one was queued (ISO 8601)


Key = tuple[str, str]  # a chat: (channel, address as queued)


@dataclass(frozen=True)
class _Unstored:
    """A part that went out, waiting for the next round to store it; `stored` gets the
    chat's next due message (when the part was a message's last and one is due) and the
    number of the round that stored it."""

    part: PartSent
    key: Key
    stored: asyncio.Future[tuple[OutboxRow | None, int]]


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
        self._busy: set[Key] = set()
        self._unstored: list[_Unstored] = []
        self._letting_go: list[str] = []  # chats whose sends ended, unlocked next round
        self._round = 0  # rounds begun (`send_due`)
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
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._wake.clear()
                began, busy = loop.time(), bool(self._unstored)
                try:
                    busy = await self.send_due() > 0 or busy
                except Exception:  # the database may be down: keep trying
                    log.exception("outbox: could not store sent messages or read due ones")
                with contextlib.suppress(TimeoutError):
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                    # cancellation that arrives as the event is set, and the loop never stops.
                    async with asyncio.timeout(IDLE_WAIT):
                        await self._wake.wait()
                if busy and (rest := began + ROUND_EVERY - loop.time()) > 0:
                    await asyncio.sleep(rest)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._store_unstored()
            await self.locks.close()

    async def send_due(self) -> int:
        """One round: stores the parts that went out since the last round, then starts
        delivery of every chat's next due message (or hands it to the chat's task when
        that task's message has just been stored as sent), in one transaction; returns
        how many messages are due."""
        self._round += 1
        this_round = self._round
        unstored, self._unstored = self._unstored, []
        finishing = {each.key for each in unstored if each.part.last}
        try:
            async with self.db.transaction() as uow:
                await uow.sending.parts_sent([each.part for each in unstored])
                rows = await uow.sending.due(self.clock.now(), BATCH, self._busy - finishing)
        except BaseException as error:
            for each in unstored:
                if not each.stored.done():
                    if isinstance(error, asyncio.CancelledError):
                        each.stored.cancel()
                    else:
                        each.stored.set_exception(error)
            raise
        # The next message of each chat whose message went out whole, for its task.
        following = {_key(row): row for row in rows if _key(row) in finishing}
        for each in unstored:
            if not each.stored.done():
                each.stored.set_result((following.get(each.key), this_round))
        if len(rows) == BATCH:
            self._wake.set()  # more may be due than one round reads
        if self._letting_go:
            chats, self._letting_go = self._letting_go, []
            await self.locks.release_all(chats)
        starting = []
        for row in rows:
            key = _key(row)
            if key in self._busy:
                continue  # being sent here (or handed to its chat's task above)
            # Marked busy before waiting for the lock: PostgreSQL grants a session's own
            # advisory lock again, so a second round here must not get that far.
            self._busy.add(key)
            starting.append(row)
        for row in await self._locked(starting):
            task = asyncio.create_task(self._deliver_chat(row, _key(row)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(rows)

    async def _locked(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        """Takes the locks of the rows' chats (in one query); the rows whose chat it
        holds now, as stored now (another instance may have sent one before the lock
        was ours, the chat's lock then free again). The others' chats are not busy here."""
        held = await self.locks.acquire_all([_lock_name(_key(row)) for row in rows])
        mine = [row for row, ours in zip(rows, held, strict=True) if ours]
        if self.locks.shared and mine:
            found = await self.locks.read(STILL_PENDING_AMONG, {"p_ids": [row.id for row in mine]})
            current = {row.id: outbox_row(row) for row in found}
            gone = [row for row in mine if row.id not in current]
            await self.locks.release_all([_lock_name(_key(row)) for row in gone])
            mine = [current[row.id] for row in mine if row.id in current]
        kept = {row.id for row in mine}
        for row in rows:
            if row.id not in kept:
                self._busy.discard(_key(row))  # being sent by another instance, or sent
        return mine

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

    async def _deliver_chat(self, row: OutboxRow, key: Key) -> None:
        """Sends the chat's messages, one after another, while each round that stores
        one as sent hands over the chat's next."""
        stored_in: int | None = None  # the round that stored the last message sent whole
        current: OutboxRow | None = row
        try:
            while current is not None:
                row = current
                current, stored_in = await self._deliver(row, key)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox: delivering message %s failed unexpectedly", row.id)
            await self._retry(row, TemporaryFailure("unexpected error"), None)
        finally:
            self._letting_go.append(_lock_name(key))  # (by the next round, with others)
            self._busy.discard(key)
            if self.locks.shared or stored_in != self._round:
                # Another instance may wait for the chat's lock, which the next round
                # releases. Or a round since may have passed the chat over as busy: its
                # next message may be due. (A round that stored the message looked.)
                self._wake.set()
            async with self._progress:
                self._progress.notify_all()

    async def _stored(self, part: PartSent, key: Key) -> tuple[OutboxRow | None, int]:
        """Has the next round store the part; that round's number, and the chat's next due
        message if the part was its message's last."""
        stored: asyncio.Future[tuple[OutboxRow | None, int]] = (
            asyncio.get_running_loop().create_future()
        )
        self._unstored.append(_Unstored(part, key, stored))
        self._wake.set()
        return await stored

    async def _store_unstored(self) -> None:
        """Stores the parts that went out but were not stored yet (on the way out)."""
        unstored, self._unstored = self._unstored, []
        if not unstored:
            return
        try:
            async with self.db.transaction() as uow:
                await uow.sending.parts_sent([each.part for each in unstored])
        except Exception:
            log.exception("outbox: %s sent parts not stored (may repeat)", len(unstored))

    async def _deliver(self, row: OutboxRow, key: Key) -> tuple[OutboxRow | None, int | None]:
        """Sends the message's parts; once it went out whole and was stored, the chat's
        next due message and the round that stored it (None, None otherwise)."""
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
            return None, None
        if not parts:
            async with self.db.transaction() as uow:
                await uow.sending.mark_sent(row.id, self.clock.now())
            return None, None
        hops = 0
        sent = row  # as stored, with the parts sent so far
        while True:
            part = parts[sent.parts_done]
            try:
                async with limiter.sending(address, part.weight, group=channel.is_group(address)):
                    ids = await channel.send(address, part)
            except ChatMoved as moved:
                hops += 1
                if hops > MAX_MIGRATION_HOPS:
                    await self._fail(row, PermanentFailure(str(moved)))
                    return None, None
                log.info("chat %s moved to %s", address, moved.new_address)
                async with self.db.transaction() as uow:
                    await uow.chats.record_migration(address, moved.new_address, self.clock.now())
                self._current.pop(row.recipient.address, None)
                address = moved.new_address
                continue
            except RetryLater as exc:
                await self._retry(row, exc, exc.seconds)
                return None, None
            except TemporaryFailure as exc:
                await self._retry(row, exc, None)
                return None, None
            except ChatRefused as exc:
                if row.recipient in self.groups:
                    await self._retry(row, exc, MAX_BACKOFF)  # until the bot is back
                else:
                    await self._fail(row, exc)
                return None, None
            except PermanentFailure as exc:
                await self._fail(row, exc)
                return None, None
            went = PartSent(
                sent,
                ids,
                self.clock.now(),
                last=sent.parts_done + 1 == len(parts),
                keyboard=part.buttons,
                acknowledges=sent.parts_done == 0 and row.message.purpose == ACKNOWLEDGEMENT,
            )
            following, stored_in = await self._stored(went, key)
            sent = went.after
            if went.last:
                self._count("sent", row)
            async with self._progress:
                for chat in {row.recipient.address, address}:  # as configured, and current
                    self._recorded.extend((chat, i) for i in ids)
                self._progress.notify_all()
            if went.last:
                return following, stored_in

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


def _key(row: OutboxRow) -> Key:
    return (row.recipient.channel.value, row.recipient.address)


def _lock_name(key: Key) -> str:
    return f"{key[0]}:{key[1]}"
