"""A time budget (tenggat) of the agency file's [deadlines]: whole working days, or hours
or minutes of office time.

The agency file writes a budget as a whole number of working days (`1`, as always), or
as a string with its unit: `"1d"` (working days), `"4h"` (hours) or `"30m"` (minutes) of
office time. Days are counted as `WorkingCalendar.add_working_days` does (the same time
of day, *n* working days after the clock start); hours and minutes only within office
hours of working days (`WorkingCalendar.add_working_minutes`: 5 minutes from 15:58 on a
Friday, office until 16:00, end at 08:03 on Monday). SOP 001's "5 menit" is `"5m"`.

Allowed: a whole number (an integer, or digits before the unit) of at least 1, up to a
year's worth (366 days, 8784 hours, 527040 minutes). Refused, with a line naming the
key: fractions (`1.5`, `"1.5d"`: write `"12h"` or `"90m"` instead), other units or
words (`"5x"`, `"5 menit"`), zero and negative numbers (`"0m"`, `-1`), a bare string of
digits (`"1"`: is it days?), and true/false. `remind_days_before` alone may be 0 (no
reminder).

Plain Python only; no channel, no database.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.core.calendar import WorkingCalendar
from bot.core.texts import Texts


class BudgetUnit(StrEnum):
    """What a budget counts, coarsest first (the order `coarsest` goes by)."""

    DAYS = "d"  # working days
    HOURS = "h"  # hours of office time
    MINUTES = "m"  # minutes of office time


_MINUTES_PER = {BudgetUnit.HOURS: 60, BudgetUnit.MINUTES: 1}
_LARGEST = {BudgetUnit.DAYS: 366, BudgetUnit.HOURS: 366 * 24, BudgetUnit.MINUTES: 366 * 24 * 60}
_WRITTEN = re.compile(r"(\d+)\s*([dhm])", re.IGNORECASE)
_FRACTION = re.compile(r"\d*[.,]\d+\s*[dhm]?", re.IGNORECASE)
_UNIT_WORDS = {
    BudgetUnit.DAYS: "working day",
    BudgetUnit.HOURS: "hour",
    BudgetUnit.MINUTES: "minute",
}
FORMS = 'a whole number of working days (1) or a time such as "1d", "4h" or "30m"'


@dataclass(frozen=True)
class Budget:
    """`amount` working days, or hours or minutes of office time."""

    amount: int
    unit: BudgetUnit = BudgetUnit.DAYS

    @property
    def in_days(self) -> bool:
        return self.unit is BudgetUnit.DAYS

    def office_minutes(self, day_minutes: int) -> int:
        """The budget in minutes of office time (a working day being `day_minutes`)."""
        if self.in_days:
            return self.amount * day_minutes
        return self.amount * _MINUTES_PER[self.unit]

    def after(self, calendar: WorkingCalendar, moment: datetime) -> datetime:
        """When the budget runs out, counted from `moment`'s clock start (UTC)."""
        if self.in_days:
            return calendar.add_working_days(moment, self.amount)
        return calendar.add_working_minutes(moment, self.amount * _MINUTES_PER[self.unit])

    def scaled(self, factor: float) -> Budget:
        """The budget `factor` times over, rounded up to a whole amount (escalation)."""
        return Budget(math.ceil(self.amount * factor), self.unit)

    def less(self, other: Budget, day_minutes: int) -> Budget | None:
        """This budget shortened by `other` (None when nothing is left): in days when both
        are, else in minutes of office time."""
        if self.in_days and other.in_days:
            left = self.amount - other.amount
            return Budget(left) if left > 0 else None
        minutes = self.office_minutes(day_minutes) - other.office_minutes(day_minutes)
        return Budget(minutes, BudgetUnit.MINUTES) if minutes > 0 else None

    def elapsed(self, calendar: WorkingCalendar, start: datetime, end: datetime) -> Budget:
        """The working time from `start` to `end` in this budget's unit, rounded down
        (how long a step has been under way, to show beside its budget)."""
        if self.in_days:
            return Budget(math.floor(calendar.working_days_between(start, end)))
        minutes = calendar.working_minutes_between(start, end)
        return Budget(math.floor(minutes / _MINUTES_PER[self.unit]), self.unit)

    def __str__(self) -> str:
        """As the agency file writes it: "1d", "4h", "30m"."""
        return f"{self.amount}{self.unit.value}"


def coarsest(*budgets: Budget) -> BudgetUnit:
    """The coarsest unit among the budgets (days over hours over minutes): how a sum of
    them is best shown."""
    order = list(BudgetUnit)
    return min((b.unit for b in budgets), key=order.index)


def parse_budget(value: object, *, zero: bool = False) -> Budget:
    """A budget from the agency file's value (see the module); ValueError says what is
    wrong, for the caller to name the key. `zero`: 0 is allowed (and means none)."""
    if isinstance(value, Budget):
        budget = value
    elif isinstance(value, int) and not isinstance(value, bool):
        budget = Budget(value)
    elif isinstance(value, str) and (match := _WRITTEN.fullmatch(value.strip())):
        budget = Budget(int(match[1]), BudgetUnit(match[2].lower()))
    elif isinstance(value, float) or (
        isinstance(value, str) and _FRACTION.fullmatch(value.strip())
    ):
        smaller = 'write a fraction in a smaller unit ("12h", "90m")'
        raise ValueError(f"must be a whole number: {smaller}, not {value!r}")
    else:
        raise ValueError(f"must be {FORMS}, not {value!r}")
    if zero and budget.amount < 0:
        raise ValueError(f"must be 0 (none) or more, not {value!r}")
    if not zero and budget.amount < 1:
        raise ValueError(f"must be at least 1 {_UNIT_WORDS[budget.unit]}, not {value!r}")
    largest = _LARGEST[budget.unit]
    if budget.amount > largest:
        raise ValueError(f"must be at most a year ({largest}{budget.unit}), not {value!r}")
    return budget


def words(t: Texts, budget: Budget) -> str:
    """The budget as people read it: "1 hari kerja", "4 jam", "30 menit"."""
    key = {
        BudgetUnit.DAYS: "budget_days",
        BudgetUnit.HOURS: "budget_hours",
        BudgetUnit.MINUTES: "budget_minutes",
    }[budget.unit]
    return t(f"{key}_one" if budget.amount == 1 else key, count=budget.amount)


def case_limit(t: Texts, days: int, working: bool) -> str:
    """The whole case's limit (`case_days`) in words: "60 hari", or "60 hari kerja"
    when it is counted in working days."""
    if working:
        return words(t, Budget(days))
    return t("calendar_days_one" if days == 1 else "calendar_days", count=days)
