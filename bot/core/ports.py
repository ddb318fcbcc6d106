"""What the core needs from the outside world, named for the role each plays.

Storage implements these with SQLAlchemy (`storage/`); unit tests use the in-memory
fakes in `tests/fakes.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.model import (
    Attachment,
    Case,
    CaseEvent,
    Channel,
    OutgoingMessage,
    Recipient,
    Reporter,
    Step,
    Task,
    TaskKind,
)


@dataclass
class DialogueState:
    """Where a citizen is in the intake dialogue, and what they have said so far."""

    step: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SentRef:
    """What a message the bot sent was about, found from the id the channel gave it."""

    case_id: int | None
    purpose: str | None


@dataclass(frozen=True)
class StuckChat:
    """A chat whose next message failed to go out and waits for another try."""

    recipient: Recipient
    waiting: int  # messages queued for the chat, all held behind the first
    since: datetime  # when the oldest of them was queued
    attempts: int  # failed tries of the first
    next_attempt_at: datetime
    error: str | None  # why its last try failed
    case_code: str | None  # the case the first is about, if any


@dataclass(frozen=True)
class FailedSend:
    """A message given up on (the provider refused it for good)."""

    recipient: Recipient
    failed_at: datetime
    error: str | None
    case_code: str | None


@dataclass(frozen=True)
class DeliveryTrouble:
    """What `/macet` shows: chats with messages stuck, and messages given up on lately."""

    stuck: list[StuckChat]
    failed: list[FailedSend]

    def __bool__(self) -> bool:
        return bool(self.stuck or self.failed)


@dataclass(frozen=True)
class DigestCounts:
    """The numbers of the officers' daily digest."""

    new: int  # filed since the previous digest's moment
    waiting: int  # open and not yet disposed (new or returned)
    overdue: int  # officers or a unit past the step's deadline
    answered: int  # answered, waiting to be closed
    closed: int  # closed or refused since the previous digest's moment
    proposed: int = 0  # dispositions awaiting the supervisor (`[workflow] disposition_by`)
    reviewing: int = 0  # units' answers awaiting review (`[workflow] answer_review`)


# What `SearchTerm.phones` is compared with: a stored phone number without these.
PHONE_SEPARATORS = (" ", "-", ".", "(", ")")


@dataclass(frozen=True)
class SearchTerm:
    """One word of a search (`bot.core.search`): `text` as typed, matched case-insensitively
    and literally (a typed "%" or "_" is itself) inside the story, the place, the LAPOR
    number and the reporter's name, or as the whole case code. `phones` are the stored
    forms of the number the word is, if it is one (0812…, 62812…, +62812…), matched
    against a reporter's phone and WhatsApp number without PHONE_SEPARATORS."""

    text: str
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseSearch:
    """What `/cari` looks for: cases matching every term (each in any field).

    `unit_code` keeps to that unit's cases; `identity` False never matches the
    reporter's name or phone (a unit's search). An anonymised case matches by its code
    alone.
    """

    terms: tuple[SearchTerm, ...]
    unit_code: str | None = None
    identity: bool = True


class CaseRepository(Protocol):
    async def add(self, case: Case) -> Case:
        """Stores a new case with its intake attachments and gives it an id."""

    async def code_exists(self, code: str) -> bool: ...

    async def code_with_lapor_number(self, number: str) -> str | None:
        """The code of the case that has this SP4N-LAPOR! number (the oldest, if several)."""

    async def get(self, case_id: int) -> Case | None: ...

    async def get_by_code(self, code: str) -> Case | None: ...

    async def update(self, case: Case) -> None:
        """Saves the case's fields (not its intake attachments, which never change)."""

    async def open_cases_of_reporter(self, reporter_id: int) -> list[Case]:
        """The reporter's open cases, newest first."""

    async def recent_cases_of_reporter(self, reporter_id: int, limit: int) -> list[Case]:
        """The reporter's cases, newest first."""

    async def open_cases(self, limit: int) -> list[Case]:
        """All open cases, oldest first."""

    async def awaiting_rating(self, reporter_id: int) -> Case | None:
        """The reporter's most recently closed case still waiting for a rating."""

    async def due_for_check(self, now: datetime, limit: int) -> list[Case]:
        """Open cases whose `next_check_at` has come, the longest due first."""

    async def digests_due(self, now: datetime, limit: int) -> list[Case]:
        """Cases whose held follow-ups are due to go as one digest, the longest due first."""

    async def overdue(self, step: Step, unit_code: str | None, now: datetime) -> list[Case]:
        """Open cases in `step` (of that unit, for a unit's step) past their deadline,
        the longest overdue first."""

    async def count_filed_since(self, reporter_id: int, since: datetime) -> int:
        """How many cases the reporter filed at or after `since` themselves (a case an
        officer entered for them does not count against their limit)."""

    async def count_open(self) -> int:
        """How many cases are open (for the operators' metrics)."""

    async def digest_counts(self, since: datetime, now: datetime) -> DigestCounts: ...

    async def search(self, search: CaseSearch, offset: int, limit: int) -> list[Case]:
        """The cases `search` finds, newest first: `limit` of them after the first
        `offset`."""

    async def merged_into(self, code: str) -> list[Case]:
        """The duplicates merged into the case with this code, oldest first."""

    async def mains_of_reporter(self, reporter_id: int) -> list[Case]:
        """The open cases into which the reporter's duplicates were merged (whoever
        reported them), newest first."""

    async def add_event(self, case_id: int, event: CaseEvent) -> None: ...

    async def events(self, case_id: int) -> list[CaseEvent]:
        """The case's audit trail, oldest first."""


class ReporterRepository(Protocol):
    async def get_or_create(
        self, channel: Channel, address: str, display_name: str | None
    ) -> Reporter: ...

    async def arrived(
        self, channel: Channel, address: str, display_name: str | None, at: datetime
    ) -> Reporter:
        """The reporter on that chat, who just wrote at `at` (as `touch`); created (with
        `display_name`) if new."""

    async def get(self, reporter_id: int) -> Reporter | None: ...

    async def find(self, channel: Channel, address: str) -> Reporter | None:
        """The reporter on that chat, if known."""

    async def touch(self, reporter: Reporter, at: datetime) -> None:
        """Records that the reporter just wrote (and their current display name)."""

    async def arrived_counted(
        self,
        channel: Channel,
        address: str,
        display_name: str | None,
        at: datetime,
        window: timedelta,
    ) -> tuple[Reporter, int]:
        """`arrived`, and the message counted in the reporter's current window (a new
        window starts with the first message `window` or more after the last one
        started); the reporter and the window's count including this one. A blocked
        reporter's messages are not counted (0)."""

    async def messages_in_window(self, reporter_id: int, at: datetime, window: timedelta) -> int:
        """How many messages the reporter's current window holds at `at` (0 once it has
        run out), counting none (a look before `arrived_counted`)."""

    async def set_blocked(self, reporter_id: int, at: datetime | None) -> None:
        """Blocks the reporter from `at`, or unblocks them (None)."""


class TaskRepository(Protocol):
    """The tasks a case owes besides its step (`bot.core.model.Task`)."""

    async def add(self, task: Task) -> Task:
        """Stores a new task and gives it an id."""

    async def update(self, task: Task) -> None: ...

    async def of_case(self, case_id: int, kind: TaskKind | None = None) -> list[Task]:
        """The case's tasks (of that kind), oldest first, done or not."""

    async def open_of_case(self, case_id: int, kind: TaskKind | None = None) -> list[Task]:
        """The case's tasks (of that kind) not yet done, oldest first."""

    async def due(self, now: datetime, limit: int) -> list[Task]:
        """Tasks not yet done whose `next_at` has come, the longest due first."""


class DialogueRepository(Protocol):
    async def load(self, reporter_id: int) -> DialogueState | None: ...

    async def step_in(self, channel: Channel, address: str) -> str | None:
        """The step of the dialogue stored for that chat's reporter (None: none)."""

    async def in_chat(self, channel: Channel, address: str) -> DialogueState | None:
        """The dialogue stored for that chat's reporter (None: none, or no reporter)."""

    async def save(self, reporter_id: int, state: DialogueState) -> None: ...

    async def clear(self, reporter_id: int) -> None: ...


class Outbox(Protocol):
    async def enqueue(self, message: OutgoingMessage) -> None:
        """Queues a message, in the caller's transaction; the sender delivers it later.

        A message with an `album_key` joins a still-waiting message with the same key
        and recipient (its attachments are appended) instead of queueing anew.
        """

    async def find_sent(self, recipient: Recipient, message_id: str) -> SentRef | None:
        """What the bot's message with this channel id (in this chat) was about."""

    async def trouble(self, failed_since: datetime, limit: int) -> DeliveryTrouble:
        """Chats whose next message has failed at least once and still waits (longest
        stuck first), and messages given up on since `failed_since` (newest first);
        at most `limit` of each."""

    async def resume(self, recipient: Recipient) -> int:
        """Makes the chat's waiting messages due now (the bot is back in a group that
        had removed it); returns how many."""

    async def choices(
        self, recipient: Recipient, message_id: str | None, since: datetime
    ) -> list[tuple[str, ...]]:
        """The buttons' data of the bot's messages sent to that chat: of the one with
        that channel id (a reply to it), else of each sent since `since` that had
        buttons, newest first. What a numbered choice on WhatsApp picks from."""


class Marks(Protocol):
    """Small named values the service keeps between runs (e.g. the last digest's date)."""

    async def get(self, name: str) -> str | None: ...

    async def put(self, name: str, value: str) -> None: ...


class ReportQueue(Protocol):
    """Recaps and exports to be made in the background (`bot.reports`)."""

    async def add(
        self,
        kind: str,
        subject: str,
        chat_id: str,
        requested_by: str | None,
        dedup_key: str | None = None,
    ) -> bool:
        """Queues a job; False if one with `dedup_key` was queued before."""


class UnitOfWork(Protocol):
    """One database transaction: everything a single inbound message changes."""

    @property
    def cases(self) -> CaseRepository: ...

    @property
    def reporters(self) -> ReporterRepository: ...

    @property
    def dialogues(self) -> DialogueRepository: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def marks(self) -> Marks: ...

    @property
    def tasks(self) -> TaskRepository: ...

    @property
    def reports(self) -> ReportQueue: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, time-zone aware (UTC)."""


__all__ = [
    "PHONE_SEPARATORS",
    "Attachment",
    "CaseRepository",
    "CaseSearch",
    "Clock",
    "DialogueRepository",
    "DialogueState",
    "DigestCounts",
    "Marks",
    "Outbox",
    "ReportQueue",
    "ReporterRepository",
    "SearchTerm",
    "SentRef",
    "TaskRepository",
    "UnitOfWork",
]
