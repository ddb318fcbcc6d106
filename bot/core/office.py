"""The agency the bot serves: its name, calendar, groups, units and deadlines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo

from bot.core.calendar import WorkingCalendar
from bot.core.deadlines import Deadlines
from bot.core.files import ALL_TYPES

MAX_CATEGORY = 60


@dataclass(frozen=True)
class Limits:
    """Per-reporter limits against floods (the `[limits]` table of the agency file)."""

    # More in a minute are ignored, with one polite answer (an album's photos count once).
    messages_per_minute: int = 30
    cases_per_day: int = 5  # complaints one reporter may file in a calendar day


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
    _by_code: dict[str, Unit] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for unit in self.units:
            self._by_code[unit.code.upper()] = unit

    @property
    def timezone(self) -> ZoneInfo:
        return self.calendar.timezone

    @property
    def escalation_chat_id(self) -> str:
        """Where escalations go: the supervisor's chat, or the officers' without one."""
        return self.supervisor_chat_id or self.officers_chat_id

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
