"""In-memory fakes of the core's ports (`bot.core.ports`), for unit tests of the core.

They keep the SQL unit of work's semantics (tests/integration/test_repositories.py
runs one contract suite against both): stored objects are copies, so a change to a
case is stored only by `update()`; datetimes must be aware and come back in UTC;
dialogue data must be JSON and comes back as JSON would.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from bot.core.model import (
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    OutgoingMessage,
    Recipient,
    Reporter,
    Step,
    Task,
    TaskKind,
)
from bot.core.ports import (
    PHONE_SEPARATORS,
    CaseSearch,
    DeliveryTrouble,
    DialogueState,
    DigestCounts,
    SearchTerm,
    SentRef,
)

_DAWN = datetime.min.replace(tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} refused: give it a time zone")
    return moment.astimezone(UTC)


def _stored_case(case: Case) -> Case:
    stored = copy.deepcopy(case)
    for field in dataclasses.fields(stored):
        value = getattr(stored, field.name)
        if isinstance(value, datetime):
            setattr(stored, field.name, _utc(value))
    if stored.watch is not None:
        for field in dataclasses.fields(stored.watch):
            value = getattr(stored.watch, field.name)
            if isinstance(value, datetime):
                setattr(stored.watch, field.name, _utc(value))
    return stored


class FixedClock:
    """A clock that stands still until moved: `set(moment)` (or `current = moment`),
    `advance(delta)`. Implements `bot.core.ports.Clock`; refuses naive datetimes.
    Starts on Monday 2 March 2026, 09:00 WIB (02:00 UTC)."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) -> None:
        self._now = _utc(start)

    def now(self) -> datetime:
        return self._now

    @property
    def current(self) -> datetime:
        return self._now

    @current.setter
    def current(self, moment: datetime) -> None:
        self._now = _utc(moment)

    def set(self, moment: datetime) -> None:
        self._now = _utc(moment)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


class FakeCaseRepository:
    def __init__(self) -> None:
        self._cases: dict[int, Case] = {}
        self._events: dict[int, list[CaseEvent]] = {}
        self._anonymised: set[int] = set()
        self._next_id = 1

    async def add(self, case: Case) -> Case:
        """Stores a copy of the case; sets `case.id` and returns the case.

        A code already taken raises ValueError.
        """
        if case.id is not None:
            raise ValueError(f"case {case.code} is already stored (id {case.id})")
        if await self.code_exists(case.code):
            raise ValueError(f"case code {case.code} is taken")
        stored = _stored_case(case)
        stored.id = case.id = self._next_id
        self._next_id += 1
        self._cases[stored.id] = stored
        self._events[stored.id] = []
        return case

    async def code_exists(self, code: str) -> bool:
        return any(case.code == code for case in self._cases.values())

    async def code_with_lapor_number(self, number: str) -> str | None:
        return next(
            (c.code for _, c in sorted(self._cases.items()) if c.lapor_number == number), None
        )

    async def get(self, case_id: int) -> Case | None:
        case = self._cases.get(case_id)
        return copy.deepcopy(case) if case else None

    async def get_by_code(self, code: str) -> Case | None:
        for case in self._cases.values():
            if case.code == code:
                return copy.deepcopy(case)
        return None

    async def update(self, case: Case) -> None:
        """Saves the case's fields (not its intake attachments, which never change)."""
        if case.id is None:
            raise ValueError(f"case {case.code} was never added")
        old = self._cases.get(case.id)
        if old is None:
            raise LookupError(f"case {case.id} not found")
        stored = _stored_case(case)
        stored.attachments = old.attachments
        self._cases[case.id] = stored

    async def open_cases_of_reporter(self, reporter_id: int) -> list[Case]:
        return self._sorted(
            (c for c in self._cases.values() if c.reporter_id == reporter_id and c.status.is_open),
            newest_first=True,
        )

    async def recent_cases_of_reporter(self, reporter_id: int, limit: int) -> list[Case]:
        mine = (c for c in self._cases.values() if c.reporter_id == reporter_id)
        return self._sorted(mine, newest_first=True)[:limit]

    async def open_cases(self, limit: int) -> list[Case]:
        return self._sorted(c for c in self._cases.values() if c.status.is_open)[:limit]

    async def awaiting_rating(self, reporter_id: int) -> Case | None:
        """The reporter's most recently closed case whose rating was asked for and not given."""
        waiting = [
            c
            for c in self._cases.values()
            if c.reporter_id == reporter_id
            and c.status is CaseStatus.CLOSED
            and c.rating_requested
            and c.rating is None
        ]
        if not waiting:
            return None
        # Latest closed_at first, cases without one last; ties: the newest id.
        waiting.sort(key=lambda c: (c.closed_at is not None, c.closed_at or _DAWN, c.id))
        return copy.deepcopy(waiting[-1])

    async def due_for_check(self, now: datetime, limit: int) -> list[Case]:
        due = [
            c
            for c in self._cases.values()
            if c.status.is_open and c.next_check_at is not None and c.next_check_at <= now
        ]
        due.sort(key=lambda c: (c.next_check_at or _DAWN, c.id))
        return [copy.deepcopy(c) for c in due[:limit]]

    async def digests_due(self, now: datetime, limit: int) -> list[Case]:
        due = [
            c
            for c in self._cases.values()
            if c.relays.digest_at is not None and c.relays.digest_at <= now
        ]
        due.sort(key=lambda c: (c.relays.digest_at or _DAWN, c.id))
        return [copy.deepcopy(c) for c in due[:limit]]

    async def overdue(self, step: Step, unit_code: str | None, now: datetime) -> list[Case]:
        found = [
            c
            for c in self._cases.values()
            if c.status.is_open
            and c.watch is not None
            and c.watch.step is step
            and c.watch.due_at <= now
            and (unit_code is None or c.unit_code == unit_code)
        ]
        found.sort(key=lambda c: (c.watch.due_at if c.watch else _DAWN, c.id))
        return [copy.deepcopy(c) for c in found]

    async def count_open(self) -> int:
        return sum(case.status.is_open for case in self._cases.values())

    async def count_filed_since(self, reporter_id: int, since: datetime) -> int:
        return sum(
            c.reporter_id == reporter_id and c.created_at >= _utc(since) and c.intake is None
            for c in self._cases.values()
        )

    async def digest_counts(self, since: datetime, now: datetime) -> DigestCounts:
        cases = list(self._cases.values())
        finished = tuple(status for status in CaseStatus if not status.is_open)
        return DigestCounts(
            new=sum(since <= c.created_at <= now for c in cases),
            waiting=sum(c.status in (CaseStatus.NEW, CaseStatus.RETURNED) for c in cases),
            overdue=sum(
                c.status.is_open
                and c.watch is not None
                and not c.watch.step.held_by_reporter
                and c.watch.due_at <= now
                for c in cases
            ),
            answered=sum(c.status is CaseStatus.ANSWERED for c in cases),
            closed=sum(
                c.status in finished and c.closed_at is not None and since <= c.closed_at <= now
                for c in cases
            ),
            proposed=sum(c.status is CaseStatus.PROPOSED for c in cases),
            reviewing=sum(c.status is CaseStatus.IN_REVIEW for c in cases),
        )

    async def search(self, search: CaseSearch, offset: int, limit: int) -> list[Case]:
        found = (
            c
            for c in self._cases.values()
            if all(self._finds(term, c, search.identity) for term in search.terms)
            and (search.unit_code is None or c.unit_code == search.unit_code)
        )
        return self._sorted(found, newest_first=True)[offset : offset + limit]

    def _finds(self, term: SearchTerm, case: Case, identity: bool) -> bool:
        if case.code == term.text.upper():
            return True
        if case.id in self._anonymised:
            return False
        fields = [case.description, case.location_text, case.lapor_number]
        if identity:
            fields.append(case.reporter_name)
        if any(term.text.lower() in (field or "").lower() for field in fields):
            return True
        phones = (case.reporter_contact, case.contacts.whatsapp) if identity else ()
        return any(_bare_phone(phone) in term.phones for phone in phones if phone is not None)

    async def merged_into(self, code: str) -> list[Case]:
        return self._sorted(c for c in self._cases.values() if c.merged_into == code)

    async def mains_of_reporter(self, reporter_id: int) -> list[Case]:
        mains = {
            c.merged_into
            for c in self._cases.values()
            if c.reporter_id == reporter_id and c.merged_into is not None
        }
        return self._sorted(
            (c for c in self._cases.values() if c.code in mains and c.status.is_open),
            newest_first=True,
        )

    def anonymise(self, case_id: int, placeholder: str) -> None:
        """What storage's retention does to an old closed case (`PersonalData.anonymise`),
        as far as the case's own fields go."""
        case = self._cases[case_id]
        case.description = placeholder
        case.location_text = case.location = case.occurred_text = None
        case.reporter_name = case.reporter_contact = None
        case.contacts = dataclasses.replace(case.contacts, whatsapp=None, email=None, address=None)
        case.attachments = []
        self._anonymised.add(case_id)

    async def add_event(self, case_id: int, event: CaseEvent) -> None:
        if case_id not in self._cases:
            raise LookupError(f"case {case_id} not found")
        self._events[case_id].append(dataclasses.replace(event, at=_utc(event.at)))

    async def events(self, case_id: int) -> list[CaseEvent]:
        """The case's audit trail, oldest first."""
        return list(self._events.get(case_id, []))

    @staticmethod
    def _sorted(cases: Iterable[Case], *, newest_first: bool = False) -> list[Case]:
        ordered = sorted(cases, key=lambda c: (c.created_at, c.id), reverse=newest_first)
        return [copy.deepcopy(c) for c in ordered]


def _bare_phone(stored: str) -> str:
    """A stored phone number as `SearchTerm.phones` spells it: without separators."""
    for separator in PHONE_SEPARATORS:
        stored = stored.replace(separator, "")
    return stored


class FakeReporterRepository:
    def __init__(self) -> None:
        self._reporters: dict[int, Reporter] = {}
        self._ids: dict[tuple[Channel, str], int] = {}
        self._windows: dict[int, tuple[datetime | None, int]] = {}  # id → (start, count)

    async def get_or_create(
        self, channel: Channel, address: str, display_name: str | None
    ) -> Reporter:
        """The reporter on that chat; created (with `display_name`) if new."""
        reporter_id = self._ids.get((channel, address))
        if reporter_id is None:
            reporter_id = len(self._reporters) + 1
            self._ids[(channel, address)] = reporter_id
            self._reporters[reporter_id] = Reporter(
                channel=channel, address=address, display_name=display_name, id=reporter_id
            )
        return copy.copy(self._reporters[reporter_id])

    async def arrived(
        self, channel: Channel, address: str, display_name: str | None, at: datetime
    ) -> Reporter:
        reporter = await self.get_or_create(channel, address, display_name)
        await self.touch(reporter, at)
        return copy.copy(self._reporters[reporter.id or 0])  # as stored: in UTC

    async def get(self, reporter_id: int) -> Reporter | None:
        reporter = self._reporters.get(reporter_id)
        return copy.copy(reporter) if reporter else None

    async def find(self, channel: Channel, address: str) -> Reporter | None:
        reporter_id = self._ids.get((channel, address))
        return await self.get(reporter_id) if reporter_id is not None else None

    async def touch(self, reporter: Reporter, at: datetime) -> None:
        """Records that the reporter just wrote, and their display name unless it is None.

        Also sets `reporter.last_inbound_at`.
        """
        if reporter.id is None:
            raise ValueError("reporter was never stored")
        stored = self._reporters.get(reporter.id)
        if stored is None:
            raise LookupError(f"reporter {reporter.id} not found")
        stored.last_inbound_at = _utc(at)
        if reporter.display_name is not None:
            stored.display_name = reporter.display_name
        reporter.last_inbound_at = at

    async def arrived_counted(
        self,
        channel: Channel,
        address: str,
        display_name: str | None,
        at: datetime,
        window: timedelta,
    ) -> tuple[Reporter, int]:
        reporter = await self.arrived(channel, address, display_name, at)
        if reporter.id is None or reporter.blocked_at is not None:
            return reporter, 0
        started, count = self._windows.get(reporter.id, (None, 0))
        if started is None or _utc(at) - started >= window:
            started, count = _utc(at), 0
        self._windows[reporter.id] = (started, count + 1)
        return reporter, count + 1

    async def messages_in_window(self, reporter_id: int, at: datetime, window: timedelta) -> int:
        started, count = self._windows.get(reporter_id, (None, 0))
        return 0 if started is None or _utc(at) - started >= window else count

    async def set_blocked(self, reporter_id: int, at: datetime | None) -> None:
        stored = self._reporters.get(reporter_id)
        if stored is None:
            raise LookupError(f"reporter {reporter_id} not found")
        stored.blocked_at = _utc(at) if at is not None else None


class FakeDialogueRepository:
    def __init__(self, reporters: FakeReporterRepository | None = None) -> None:
        self._states: dict[int, tuple[str, str]] = {}
        self._reporters = reporters or FakeReporterRepository()

    async def step_in(self, channel: Channel, address: str) -> str | None:
        reporter = await self._reporters.find(channel, address)
        saved = self._states.get(reporter.id or 0) if reporter is not None else None
        return saved[0] if saved is not None else None

    async def in_chat(self, channel: Channel, address: str) -> DialogueState | None:
        reporter = await self._reporters.find(channel, address)
        return await self.load(reporter.id or 0) if reporter is not None else None

    async def load(self, reporter_id: int) -> DialogueState | None:
        saved = self._states.get(reporter_id)
        if saved is None:
            return None
        step, data = saved
        return DialogueState(step=step, data=json.loads(data))

    async def save(self, reporter_id: int, state: DialogueState) -> None:
        # Stored as JSON, as the database does: anything JSON cannot hold fails here too.
        self._states[reporter_id] = (state.step, json.dumps(state.data))

    async def clear(self, reporter_id: int) -> None:
        self._states.pop(reporter_id, None)


class FakeOutbox:
    """Records queued messages in `sent`, in order; `find_sent` answers what
    `remember_sent` was told.

    A message with an `album_key` joins the last queued message with the same key and
    recipient (attachments appended; its caption fills an empty text), unless that
    message was marked started (`mark_started`) or removed from `sent`.
    """

    def __init__(
        self, router: Callable[[OutgoingMessage], list[OutgoingMessage]] | None = None
    ) -> None:
        self.router = router  # as the service's outbox: the staff's WhatsApp copies
        self.sent: list[OutgoingMessage] = []
        self._started: list[OutgoingMessage] = []  # those a sender has begun sending
        # What a sender would have found stuck or given up on (the fake sends nothing).
        self.stuck_report = DeliveryTrouble([], [])
        self.resumed: list[Recipient] = []
        self._sent_ids: dict[tuple[Recipient, str], SentRef] = {}
        self._sent_messages: dict[tuple[Recipient, str], OutgoingMessage] = {}

    async def enqueue(self, message: OutgoingMessage) -> None:
        for each in self.router(message) if self.router is not None else [message]:
            await self._enqueue(each)

    async def _enqueue(self, message: OutgoingMessage) -> None:
        if message.recipient.channel is Channel.MANUAL:
            raise ValueError(f"no chat reaches {message.recipient}: an officer informs them")
        if message.album_key is not None:
            for index in range(len(self.sent) - 1, -1, -1):
                waiting = self.sent[index]
                if (
                    waiting.album_key == message.album_key
                    and waiting.recipient == message.recipient
                    and not any(waiting is started for started in self._started)
                ):
                    self.sent[index] = dataclasses.replace(
                        waiting,
                        attachments=waiting.attachments + message.attachments,
                        text=waiting.text or message.text,
                    )
                    return
        self.sent.append(message)

    async def find_sent(self, recipient: Recipient, message_id: str) -> SentRef | None:
        return self._sent_ids.get((recipient, message_id))

    async def trouble(self, failed_since: datetime, limit: int) -> DeliveryTrouble:
        return DeliveryTrouble(
            self.stuck_report.stuck[:limit],
            [f for f in self.stuck_report.failed if f.failed_at >= failed_since][:limit],
        )

    async def resume(self, recipient: Recipient) -> int:
        """Records the chat; every message queued for it counts as waiting."""
        self.resumed.append(recipient)
        return len(self.to(recipient))

    async def choices(
        self, recipient: Recipient, message_id: str | None, since: datetime
    ) -> list[tuple[str, ...]]:
        """Of the messages remembered as sent (`remember_sent`, with that id) or else of
        every message queued for the chat (the fake keeps no times), newest first."""
        if message_id is not None:
            ref = self._sent_messages.get((recipient, message_id))
            sent = [ref] if ref is not None else []
        else:
            sent = list(reversed(self.to(recipient)))
        found = [tuple(b.action for row in m.buttons for b in row) for m in sent]
        return [actions for actions in found if actions]

    def remember_sent(
        self,
        recipient: Recipient,
        message_id: str,
        case_id: int | None = None,
        purpose: str | None = None,
    ) -> None:
        """Makes `find_sent` know a message the bot sent (as the real sender records it);
        `choices` knows it too, as the latest message queued for the chat."""
        self._sent_ids[(recipient, message_id)] = SentRef(case_id=case_id, purpose=purpose)
        queued = self.to(recipient)
        if queued:
            self._sent_messages[(recipient, message_id)] = queued[-1]

    def mark_started(self, index: int = -1) -> None:
        """Marks `sent[index]` as started by a sender: album items no longer join it."""
        self._started.append(self.sent[index])

    def to(self, recipient: Recipient) -> list[OutgoingMessage]:
        """The messages queued for one recipient, in order (not the edits of buttons
        they already have: `edits`)."""
        return [m for m in self.sent if m.recipient == recipient and not m.edits_buttons]

    def edits(self, recipient: Recipient) -> list[OutgoingMessage]:
        """The edits of buttons queued for one recipient, in order."""
        return [m for m in self.sent if m.recipient == recipient and m.edits_buttons]


class FakeMarks:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, name: str) -> str | None:
        return self.values.get(name)

    async def put(self, name: str, value: str) -> None:
        self.values[name] = value


@dataclasses.dataclass(frozen=True)
class QueuedReport:
    kind: str
    subject: str
    chat_id: str
    requested_by: str | None
    dedup_key: str | None


class FakeReportQueue:
    def __init__(self) -> None:
        self.jobs: list[QueuedReport] = []

    async def add(
        self,
        kind: str,
        subject: str,
        chat_id: str,
        requested_by: str | None,
        dedup_key: str | None = None,
    ) -> bool:
        if dedup_key is not None and any(job.dedup_key == dedup_key for job in self.jobs):
            return False
        self.jobs.append(QueuedReport(kind, subject, chat_id, requested_by, dedup_key))
        return True


class FakeTaskRepository:
    def __init__(self) -> None:
        self.tasks: dict[int, Task] = {}
        self._next_id = 1

    async def add(self, task: Task) -> Task:
        task.id = self._next_id
        self._next_id += 1
        self.tasks[task.id] = copy.deepcopy(task)
        return task

    async def update(self, task: Task) -> None:
        assert task.id is not None and task.id in self.tasks
        self.tasks[task.id] = copy.deepcopy(task)

    async def of_case(self, case_id: int, kind: TaskKind | None = None) -> list[Task]:
        return [
            copy.deepcopy(t)
            for _, t in sorted(self.tasks.items())
            if t.case_id == case_id and (kind is None or t.kind is kind)
        ]

    async def open_of_case(self, case_id: int, kind: TaskKind | None = None) -> list[Task]:
        return [t for t in await self.of_case(case_id, kind) if t.done_at is None]

    async def due(self, now: datetime, limit: int) -> list[Task]:
        due = [t for t in self.tasks.values() if t.next_at is not None and t.next_at <= now]
        due.sort(key=lambda t: (t.next_at or now, t.id or 0))
        return [copy.deepcopy(t) for t in due[:limit]]


class FakeUnitOfWork:
    """The core's unit of work, in memory (implements `bot.core.ports.UnitOfWork`)."""

    def __init__(
        self, router: Callable[[OutgoingMessage], list[OutgoingMessage]] | None = None
    ) -> None:
        self.cases = FakeCaseRepository()
        self.reporters = FakeReporterRepository()
        self.dialogues = FakeDialogueRepository(self.reporters)
        self.outbox = FakeOutbox(router)
        self.marks = FakeMarks()
        self.reports = FakeReportQueue()
        self.tasks = FakeTaskRepository()
