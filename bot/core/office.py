"""The agency the bot serves: its name, calendar, groups, units and the time budgets of
each step (`Deadlines`; `bot.core.deadlines` counts them)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.core.calendar import WorkingCalendar
from bot.core.files import ALL_TYPES
from bot.core.model import Channel, Step, TaskKind

MAX_CATEGORY = 60


@dataclass(frozen=True)
class Deadlines:
    """The agency file's [deadlines] table; the defaults follow the SOPs and SP4N-LAPOR!."""

    verify_days: int = 1  # officers verify and dispose a new case
    answer_days: int = 5  # the unit's first answer after disposition
    complete_days: int = 10  # the reporter completes after /lengkapi, else closed
    confirm_days: int = 10  # the reporter may react to the answer, else closed
    case_days: int = 60  # calendar days from filing before the supervisor is told
    escalate_factor: float = 2.0  # a staff step this many times its budget → supervisor
    repeat_days: int = 1  # nudge again after this many working days while overdue
    remind_days_before: int = 2  # reporter reminder this many working days before closure
    digest_at: time | None = time(8, 0)  # daily digest on working days (None: no digest)
    tick_seconds: float = 60.0  # how often the scheduler looks for what is due
    # SOP 003: the liaison enters a verified case into SP4N-LAPOR! (`[lapor] enter_all`),
    # then watches LAPOR's disposition of it; SOP 002 step 8: an officer informs a
    # reporter who is not in the chat. Working days each.
    liaison_days: int = 1
    lapor_monitor_days: int = 3
    inform_days: int = 1
    # The chain of command (`[workflow]`): the supervisor approves a proposed disposition;
    # the reviewer approves the unit's answer.
    approve_days: int = 1
    review_days: int = 1

    def __post_init__(self) -> None:
        for name in (
            "verify_days",
            "answer_days",
            "complete_days",
            "confirm_days",
            "liaison_days",
            "lapor_monitor_days",
            "inform_days",
            "approve_days",
            "review_days",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 working day")
        if self.case_days < 1:
            raise ValueError("case_days must be at least 1 day")
        if not math.isfinite(self.escalate_factor) or self.escalate_factor < 1:
            raise ValueError("escalate_factor must be at least 1")
        if self.repeat_days < 1:
            raise ValueError("repeat_days must be at least 1 working day")
        if not 0 <= self.remind_days_before < self.complete_days:
            raise ValueError("remind_days_before must be 0 (no reminder) up to complete_days - 1")
        if not 0 < self.tick_seconds <= 3600:
            raise ValueError("tick_seconds must be more than 0 and at most 3600")

    def budget(self, step: Step) -> int:
        """The step's time budget in working days."""
        return {
            Step.VERIFY: self.verify_days,
            Step.ANSWER: self.answer_days,
            Step.COMPLETE: self.complete_days,
            Step.CONFIRM: self.confirm_days,
            Step.APPROVE: self.approve_days,
            Step.REVIEW: self.review_days,
        }[step]

    def task_budget(self, kind: TaskKind) -> int:
        """A task's time budget in working days."""
        return {
            TaskKind.INFORM: self.inform_days,
            TaskKind.LAPOR_ENTRY: self.liaison_days,
            TaskKind.LAPOR_MONITOR: self.lapor_monitor_days,
        }[kind]

    def escalation_budget(self, step: Step) -> int:
        """Working days after which a staff step goes to the supervisor."""
        return math.ceil(self.budget(step) * self.escalate_factor)


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


@dataclass(frozen=True)
class Unit:
    """A division or agency (Bidang/OPD) that receives dispositions in its own group."""

    code: str
    name: str
    chat_id: str


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
