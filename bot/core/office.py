"""The agency the bot serves: its name, calendar, groups, units and the time budgets of
each step (`Deadlines`; `bot.core.deadlines` counts them)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.core.budget import Budget, parse_budget
from bot.core.calendar import WorkingCalendar
from bot.core.files import ALL_TYPES
from bot.core.model import Channel, Step, TaskKind

MAX_CATEGORY = 60


# Every time budget of [deadlines] (`bot.core.budget`: working days, or office time).
BUDGET_KEYS = (
    "verify_days",
    "answer_days",
    "complete_days",
    "confirm_days",
    "repeat_days",
    "remind_days_before",
    "liaison_days",
    "lapor_monitor_days",
    "inform_days",
    "approve_days",
    "review_days",
)
BudgetValue = int | str | Budget  # as the agency file writes it (or already read)


@dataclass(frozen=True)
class Deadlines:
    """The agency file's [deadlines] table; the defaults follow the SOPs and SP4N-LAPOR!.

    Each `*_days` budget (and `remind_days_before`) is a whole number of working days or a
    string with its unit, "1d", "4h", "30m" (`bot.core.budget`); the keys keep their
    names whatever the unit. Two tables are equal when their budgets are, however written
    (`1` and `"1d"`)."""

    verify_days: BudgetValue = field(default=1, compare=False)  # officers verify, dispose
    answer_days: BudgetValue = field(default=5, compare=False)  # the unit's first answer
    complete_days: BudgetValue = field(default=10, compare=False)  # reporter completes
    confirm_days: BudgetValue = field(default=10, compare=False)  # reporter may react
    case_days: int = 60  # days from filing before the supervisor is told
    case_days_working: bool = False  # case_days in working days (LAPOR), else calendar days
    escalate_factor: float = 2.0  # a staff step this many times its budget → supervisor
    repeat_days: BudgetValue = field(default=1, compare=False)  # nudge again while overdue
    # the reporter's reminder this long before closure (0: none)
    remind_days_before: BudgetValue = field(default=2, compare=False)
    digest_at: time | None = time(8, 0)  # daily digest on working days (None: no digest)
    tick_seconds: float = 60.0  # how often the scheduler looks for what is due
    # SOP 003: the liaison enters a verified case into SP4N-LAPOR! (`[lapor] enter_all`),
    # then watches LAPOR's disposition of it; SOP 002 step 8: an officer informs a
    # reporter who is not in the chat.
    liaison_days: BudgetValue = field(default=1, compare=False)
    lapor_monitor_days: BudgetValue = field(default=3, compare=False)
    inform_days: BudgetValue = field(default=1, compare=False)
    # The chain of command (`[workflow]`): the supervisor approves a proposed disposition;
    # the reviewer approves the unit's answer.
    approve_days: BudgetValue = field(default=1, compare=False)
    review_days: BudgetValue = field(default=1, compare=False)
    # The budgets read, by key (what equality compares).
    budgets: tuple[tuple[str, Budget], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        read: list[tuple[str, Budget]] = []
        for name in BUDGET_KEYS:
            try:
                budget = parse_budget(getattr(self, name), zero=name == "remind_days_before")
            except ValueError as error:
                raise ValueError(f"{name} {error}") from None
            read.append((name, budget))
        object.__setattr__(self, "budgets", tuple(read))
        if isinstance(self.case_days, bool) or not isinstance(self.case_days, int):
            raise ValueError("case_days must be a whole number of days")
        if self.case_days < 1:
            raise ValueError("case_days must be at least 1 day")
        if not math.isfinite(self.escalate_factor) or self.escalate_factor < 1:
            raise ValueError("escalate_factor must be at least 1")
        complete, before = self.named("complete_days"), self.remind_before
        if (
            before.amount
            and (complete.in_days == before.in_days)
            and (complete.less(before, day_minutes=1) is None)
        ):
            raise ValueError("remind_days_before must be 0 (no reminder) up to complete_days - 1")
        if not 0 < self.tick_seconds <= 3600:
            raise ValueError("tick_seconds must be more than 0 and at most 3600")

    def check(self, day_minutes: int) -> None:
        """What can only be checked knowing how long a working day is: a reminder before
        closure written in another unit than `complete_days` still comes before it."""
        if self.remind_before.amount and self.reminder_budget(day_minutes) is None:
            before, complete = self.remind_before, self.named("complete_days")
            raise ValueError(
                f"remind_days_before ({before}) must be shorter than complete_days ({complete}):"
                ' set it in their units, e.g. "30m", or 0 for no reminder'
            )

    def named(self, name: str) -> Budget:
        """The budget of one key of BUDGET_KEYS."""
        return dict(self.budgets)[name]

    def budget(self, step: Step) -> Budget:
        """The step's time budget."""
        return self.named(
            {
                Step.VERIFY: "verify_days",
                Step.ANSWER: "answer_days",
                Step.COMPLETE: "complete_days",
                Step.CONFIRM: "confirm_days",
                Step.APPROVE: "approve_days",
                Step.REVIEW: "review_days",
            }[step]
        )

    def task_budget(self, kind: TaskKind) -> Budget:
        """A task's time budget."""
        return self.named(
            {
                TaskKind.INFORM: "inform_days",
                TaskKind.LAPOR_ENTRY: "liaison_days",
                TaskKind.LAPOR_MONITOR: "lapor_monitor_days",
            }[kind]
        )

    def escalation_budget(self, step: Step) -> Budget:
        """How long after its start a staff step goes to the supervisor (its budget times
        `escalate_factor`, rounded up)."""
        return self.budget(step).scaled(self.escalate_factor)

    @property
    def repeat(self) -> Budget:
        """How long after a nudge the next comes, while the step is overdue."""
        return self.named("repeat_days")

    @property
    def remind_before(self) -> Budget:
        """How long before a reporter's step closes the reporter is reminded (0: never)."""
        return self.named("remind_days_before")

    def reminder_budget(self, day_minutes: int) -> Budget | None:
        """How long after `/lengkapi` the reporter is reminded (None: never)."""
        if not self.remind_before.amount:
            return None
        return self.named("complete_days").less(self.remind_before, day_minutes)


@dataclass(frozen=True)
class Limits:
    """Per-reporter limits against floods (the `[limits]` table of the agency file)."""

    # More in a minute are ignored, with one polite answer (an album's photos count once).
    messages_per_minute: int = 30
    cases_per_day: int = 5  # complaints one reporter may file in a calendar day


# The sources (sumber) an officer picks from when entering a complaint (`/catat`), unless
# the agency file's `[intake] sources` lists its own.
DEFAULT_SOURCES = (
    "Datang langsung/loket",
    "Telepon",
    "Surat",
    "Email",
    "Media sosial",
    "SP4N-LAPOR!",
    "Aplikasi daerah (LAKSA)",
    "Lainnya",
)


def is_lapor_source(source: str | None) -> bool:
    """Whether a source is SP4N-LAPOR! itself (a case from there has a LAPOR number)."""
    return source is not None and "lapor" in source.casefold()


@dataclass(frozen=True)
class LaporOptions:
    """The agency file's [lapor] table: whether every complaint is entered into
    SP4N-LAPOR! by a liaison (pejabat penghubung, SOP 003), and where the liaison works:
    `liaison_chat_id`, a Telegram chat (a group, or one person's private chat), or
    `liaison_ids`, Telegram users each told in their private chat with the bot."""

    enter_all: bool = False
    liaison_ids: frozenset[str] = frozenset()
    liaison_chat_id: str | None = None

    def liaison_chats(self) -> tuple[str, ...]:
        """Where the liaison's work goes: their chat, else each liaison's private chat."""
        if self.liaison_chat_id is not None:
            return (self.liaison_chat_id,)
        return tuple(sorted(self.liaison_ids))


class AnswerReview(StrEnum):
    """Who approves a unit's answer before it reaches the reporter."""

    NONE = "none"  # nobody: it goes at once (the default)
    OFFICERS = "officers"  # the officers' group (SOP 002 step 7: the unit answers the officer)
    SUPERVISOR = "supervisor"  # the supervisor chat


class DispositionBy(StrEnum):
    """Who decides a disposition."""

    OFFICERS = "officers"  # an officer's /disposisi takes effect (the default)
    SUPERVISOR = "supervisor"  # it is a proposal the supervisor approves (SOP 002 step 5)


@dataclass(frozen=True)
class Workflow:
    """The agency file's [workflow] table: the chain of command of its SOP. Every key is
    optional; the defaults are the bot's shape before it existed."""

    answer_review: AnswerReview = AnswerReview.NONE
    disposition_by: DispositionBy = DispositionBy.OFFICERS
    follow_up_plan: bool = False  # a disposition carries a rencana tindak lanjut (SOP 004)


# The address of a role that has no Telegram chat, only WhatsApp numbers: it stands
# where a chat id would (a message to it reaches the numbers), and no Telegram chat has it.
WHATSAPP_ONLY = "wa:"


def has_telegram_chat(chat_id: str | None) -> bool:
    """Whether a role's chat id names a Telegram chat (not a WhatsApp-only role)."""
    return bool(chat_id) and not str(chat_id).startswith(WHATSAPP_ONLY)


@dataclass(frozen=True)
class Unit:
    """A division or agency (Bidang/OPD) that receives dispositions in its own group,
    and on the WhatsApp numbers of its staff (`whatsapp`), or both."""

    code: str
    name: str
    chat_id: str
    whatsapp: tuple[str, ...] = ()


@dataclass(frozen=True)
class Office:
    """The agency's settings that the core needs (from the agency file).

    The calendar carries the office's time zone, hours and extra holidays; deadlines
    are counted in it.
    """

    name: str
    calendar: WorkingCalendar
    officers_chat_id: str
    units: tuple[Unit, ...]
    supervisor_chat_id: str | None = None
    language: str = "id"
    code_prefix: str = "ADU"
    deadlines: Deadlines = field(default_factory=Deadlines)
    categories: tuple[str, ...] = ()  # the recaps' categories; empty: officers name them freely
    recap_at: time | None = time(8, 0)  # the automatic recap, first working day (None: off)
    # Telegram user ids allowed to act in the officers' group; empty: every member may.
    officer_ids: frozenset[str] = frozenset()
    limits: Limits = field(default_factory=Limits)
    retention_days: int = 730  # closed cases are anonymised this long after (0: never)
    accepted_files: frozenset[str] = ALL_TYPES  # MIME types reporters may send (bot.core.files)
    intake_sources: tuple[str, ...] = DEFAULT_SOURCES  # [intake] sources
    lapor: LaporOptions = field(default_factory=LaporOptions)
    workflow: Workflow = field(default_factory=Workflow)
    # The channels this deployment speaks (set by the composition root from the settings):
    # an officer entering a complaint offers WhatsApp news only when WhatsApp is on.
    reachable: frozenset[Channel] = frozenset({Channel.TELEGRAM})
    # Staff on WhatsApp (issue 22): the numbers of the officers and of the supervisor; a
    # unit's are its `whatsapp`. Each number receives what its role's chat receives.
    officers_whatsapp: tuple[str, ...] = ()
    supervisor_whatsapp: tuple[str, ...] = ()
    _by_code: dict[str, Unit] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for unit in self.units:
            self._by_code[unit.code.upper()] = unit

    @property
    def timezone(self) -> ZoneInfo:
        return self.calendar.timezone

    @property
    def review_chat_id(self) -> str:
        """Where a unit's answer is reviewed (`[workflow] answer_review`, when it is on)."""
        if self.workflow.answer_review is AnswerReview.SUPERVISOR and self.supervisor_chat_id:
            return self.supervisor_chat_id
        return self.officers_chat_id

    def step_chat_id(self, step: Step, unit_code: str | None) -> str:
        """The chat of whoever holds a staff step: the unit answering, the supervisor
        approving a disposition, the reviewer of an answer, else the officers."""
        unit = self.unit(unit_code) if unit_code else None
        if step is Step.ANSWER and unit is not None:
            return unit.chat_id
        if step is Step.APPROVE and self.supervisor_chat_id:
            return self.supervisor_chat_id
        if step is Step.REVIEW:
            return self.review_chat_id
        return self.officers_chat_id

    @property
    def escalation_chat_id(self) -> str:
        """Where escalations go: the supervisor's chat, or the officers' without one."""
        return self.supervisor_chat_id or self.officers_chat_id

    def is_liaison(self, chat_id: str) -> bool:
        """Whether this chat is the liaison's (their chat, or a listed liaison's own)."""
        return chat_id == self.lapor.liaison_chat_id or chat_id in self.lapor.liaison_ids

    @property
    def staff_on_whatsapp(self) -> bool:
        """Whether any role has WhatsApp numbers (`officers_whatsapp`, …)."""
        return bool(
            self.officers_whatsapp
            or self.supervisor_whatsapp
            or any(unit.whatsapp for unit in self.units)
        )

    def whatsapp_of(self, chat_id: str) -> tuple[str, ...]:
        """The staff WhatsApp numbers of the role whose chat this is (none: no role's)."""
        if chat_id == self.officers_chat_id:
            return self.officers_whatsapp
        if chat_id == self.supervisor_chat_id:
            return self.supervisor_whatsapp
        unit = self.unit_for_chat(chat_id)
        return unit.whatsapp if unit is not None else ()

    def role_of_number(self, number: str) -> str | None:
        """The chat id of the role a staff WhatsApp number belongs to (None: not staff)."""
        if number in self.officers_whatsapp:
            return self.officers_chat_id
        if number in self.supervisor_whatsapp:
            return self.supervisor_chat_id
        for unit in self.units:
            if number in unit.whatsapp:
                return unit.chat_id
        return None

    def is_officer(self, user_id: str) -> bool:
        """Whether this member of the officers' group may act there."""
        return not self.officer_ids or user_id in self.officer_ids

    def unit(self, code: str) -> Unit | None:
        return self._by_code.get(code.upper())

    def category(self, text: str) -> str | None:
        """The category `text` names: one of the list (exactly, or by a unique beginning,
        in any case), or, when the office keeps no list, the text with a capital first
        letter (so "obat" and "Obat" count as one)."""
        wanted = " ".join(text.split())
        if not wanted or len(wanted) > MAX_CATEGORY:
            return None
        if not self.categories:
            return wanted[0].upper() + wanted[1:]
        folded = wanted.casefold()
        exact = [c for c in self.categories if c.casefold() == folded]
        if exact:
            return exact[0]
        starting = [c for c in self.categories if c.casefold().startswith(folded)]
        return starting[0] if len(starting) == 1 else None

    def unit_for_chat(self, chat_id: str) -> Unit | None:
        for unit in self.units:
            if unit.chat_id == chat_id:
                return unit
        return None
