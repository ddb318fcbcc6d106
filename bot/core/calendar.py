"""The working-day calendar (hari kerja) that government deadlines are counted in.

Plain Python only: the standard library and the `holidays` package, nothing channel-specific.

The rules:

* **Working day.** A date is a working day when its weekday is one of the office's
  ``workdays`` (Monday–Friday unless configured) and it is neither a public holiday
  (libur nasional) nor a cuti bersama (joint leave day for civil servants), nor one of the
  office's ``extra_holidays``. Holidays come from ``holidays.country_holidays("ID",
  categories=("public", "government"))``: "public" holds the national holidays and
  "government" the cuti bersama, which the package lists only for the years whose decree
  (SKB 3 Menteri) it knows; an office adds later years' cuti bersama, and its regional
  holidays, through ``extra_holidays``. A date in ``extra_working_days`` is a working day
  whatever else holds (a Saturday decreed a working day, a cancelled cuti bersama).
* **Office hours.** Every working day has the same hours, ``office_start`` up to (not
  including) ``office_end``, in wall-clock time of the office's zone: WIB ``Asia/Jakarta``,
  WITA ``Asia/Makassar`` or WIT ``Asia/Jayapura``. A full working day is
  ``office_end - office_start`` of working time (8 hours by default).
* **Clock start.** Something that happens within office hours of a working day starts the
  clock at once. Before office hours on a working day it starts at ``office_start`` that
  day; at or after ``office_end``, at night, on a weekend or on a holiday it starts at
  ``office_start`` of the next working day.
* **Deadlines.** *n* working days after a moment is the clock start's time of day on the
  *n*-th working day after the clock start's day. *h* working hours (or *m* minutes of
  office time) after a moment counts office hours only, from the clock start; a budget
  that runs out exactly at closing time ends at ``office_end`` that day. Office hours
  have no break: the time from ``office_start`` to ``office_end`` all counts.
* **Elapsed working time** counts only the office hours of working days between two
  instants, exactly (to the microsecond), and is never negative.

Every public method that takes a datetime needs a time-zone-aware one (naive datetimes
raise ``ValueError``) and reads it in the office's zone; every datetime returned is in UTC
(``tzinfo is datetime.UTC``). Methods that take a ``date`` mean the office's local date; given
an aware datetime instead, they use its date in the office's zone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

WIB = ZoneInfo("Asia/Jakarta")
"""Waktu Indonesia Barat (UTC+7): Sumatra, Java, West and Central Kalimantan."""
WITA = ZoneInfo("Asia/Makassar")
"""Waktu Indonesia Tengah (UTC+8): Bali, Nusa Tenggara, Sulawesi, East/South Kalimantan."""
WIT = ZoneInfo("Asia/Jayapura")
"""Waktu Indonesia Timur (UTC+9): Maluku and Papua."""

MONDAY_TO_FRIDAY: frozenset[int] = frozenset(range(5))
HOLIDAY_CATEGORIES: tuple[str, ...] = ("public", "government")
EXTRA_HOLIDAY_NAME = "Hari libur kantor"

_MICROS_PER_HOUR = 3_600_000_000
_MICROS_PER_MINUTE = 60_000_000
_MAX_SEARCH_DAYS = 3660  # a configuration with no working day in ten years is an error


def _micros_of(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _require_aware(moment: datetime, what: str = "moment") -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a time-zone-aware datetime, got naive {moment!r}")


STAMP_EPOCH = date(2020, 1, 1)


class WorkingCalendar:
    """Count deadlines and elapsed time in an Indonesian office's working days and hours."""

    def __init__(
        self,
        timezone: ZoneInfo,
        *,
        extra_holidays: Iterable[date] | Mapping[date, str] = (),
        extra_working_days: Iterable[date] = (),
        office_start: time = time(8, 0),
        office_end: time = time(16, 0),
        workdays: frozenset[int] = MONDAY_TO_FRIDAY,
        language: str = "id",
    ) -> None:
        """Set up the calendar; `extra_holidays` may map dates to names for `holiday_name`."""
        if office_start.tzinfo is not None or office_end.tzinfo is not None:
            raise ValueError("office_start and office_end are wall-clock times without tzinfo")
        if office_start >= office_end:
            raise ValueError(f"office_start {office_start} must be before office_end {office_end}")
        if not workdays or not workdays <= frozenset(range(7)):
            raise ValueError(f"workdays must be a non-empty subset of 0..6, got {set(workdays)}")
        self._tz = timezone
        self._office_start = office_start
        self._office_end = office_end
        self._start_us = _micros_of(office_start)
        self._end_us = _micros_of(office_end)
        self._day_us = self._end_us - self._start_us
        self._workdays = frozenset(workdays)
        self._language = language
        if isinstance(extra_holidays, Mapping):
            self._extra_holidays: dict[date, str] = {
                self._plain_date(d): str(name) for d, name in extra_holidays.items()
            }
        else:
            self._extra_holidays = {self._plain_date(d): EXTRA_HOLIDAY_NAME for d in extra_holidays}
        self._extra_working_days = frozenset(self._plain_date(d) for d in extra_working_days)
        both = self._extra_working_days & self._extra_holidays.keys()
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates both in extra_holidays and extra_working_days: {listed}")
        self._holiday_years: dict[int, dict[date, str]] = {}
        self._year_tables: dict[int, tuple[int, ...]] = {}

    # -- configuration -----------------------------------------------------------------

    @property
    def timezone(self) -> ZoneInfo:
        """Return the office's time zone."""
        return self._tz

    @property
    def office_start(self) -> time:
        """Return the wall-clock time office hours begin."""
        return self._office_start

    @property
    def office_end(self) -> time:
        """Return the wall-clock time office hours end."""
        return self._office_end

    @property
    def working_day_length(self) -> timedelta:
        """Return the working time in one full working day (office_end - office_start)."""
        return timedelta(microseconds=self._day_us)

    @property
    def working_day_minutes(self) -> int:
        """Return the whole minutes in one full working day (480 for 08:00-16:00)."""
        return self._day_us // _MICROS_PER_MINUTE

    # -- days --------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Tell whether the office's local date `d` is a working day."""
        return self._is_working(self._local_date(d))

    def holiday_name(self, d: date) -> str | None:
        """Return the name of the holiday that closes the office on `d`, or None."""
        day = self._local_date(d)
        if day in self._extra_working_days:
            return None
        return self._holidays_of(day.year).get(day) or self._extra_holidays.get(day)

    def working_days_in(self, start: date, end: date) -> list[date]:
        """List the working days from `start` to `end`, both included."""
        first, last = self._local_date(start), self._local_date(end)
        days: list[date] = []
        day = first
        while day <= last:
            if self._is_working(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def first_working_day_of_month(self, year: int, month: int) -> date:
        """Return the first working day of the given month."""
        return self._working_day_on_or_after(date(year, month, 1))

    def next_working_day_at(self, d: date, at: time) -> datetime:
        """Return `at` (office wall-clock time) on the first working day on or after `d`, in UTC."""
        if at.tzinfo is not None:
            raise ValueError("`at` is an office wall-clock time and must not carry tzinfo")
        day = self._working_day_on_or_after(self._local_date(d))
        return datetime.combine(day, at, tzinfo=self._tz).astimezone(UTC)

    # -- instants ----------------------------------------------------------------------

    def is_working_time(self, moment: datetime) -> bool:
        """Tell whether `moment` falls within office hours of a working day."""
        local = self._to_local(moment)
        t = _micros_of(local.time())
        return self._is_working(local.date()) and self._start_us <= t < self._end_us

    def clock_start(self, moment: datetime) -> datetime:
        """Return when the clock starts for something that happened at `moment`, in UTC."""
        return self._clock_start_local(self._to_local(moment)).astimezone(UTC)

    def add_working_days(self, moment: datetime, n: int) -> datetime:
        """Return the deadline `n` working days after `moment`'s clock start, in UTC."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        start = self._clock_start_local(self._to_local(moment))
        day = start.date()
        for _ in range(n):
            day = self._working_day_on_or_after(day + timedelta(days=1))
        return datetime.combine(day, start.time(), tzinfo=self._tz).astimezone(UTC)

    def add_working_hours(self, moment: datetime, hours: float) -> datetime:
        """Return the instant `hours` of office hours after `moment`'s clock start, in UTC."""
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number >= 0, got {hours}")
        return self._add_working_micros(moment, round(hours * _MICROS_PER_HOUR))

    def add_working_minutes(self, moment: datetime, minutes: int) -> datetime:
        """Return the instant `minutes` of office time after `moment`'s clock start, in UTC.

        Office time runs only within office hours of working days: 5 minutes from 15:58 on
        a Friday (office until 16:00) is 08:03 on the next working day.
        """
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
            raise ValueError(f"minutes must be a whole number >= 0, got {minutes!r}")
        return self._add_working_micros(moment, minutes * _MICROS_PER_MINUTE)

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Return the office hours elapsed from `start` to `end` (0 if `end` is not later)."""
        return self._working_micros(start, end) / _MICROS_PER_HOUR

    def working_minutes_between(self, start: datetime, end: datetime) -> float:
        """Return the office minutes elapsed from `start` to `end` (0 if `end` is not later)."""
        return self._working_micros(start, end) / _MICROS_PER_MINUTE

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Return the working time from `start` to `end` in full working days (0 if not later)."""
        return self._working_micros(start, end) / self._day_us

    def stamp(self, moment: datetime) -> int:
        """Return the working minutes from the stamp epoch (1 January 2020, local) to `moment`.

        Stored with a case when it reaches a point (filed, disposed, answered, closed), so
        the database can subtract two stamps to get the working time between them.
        """
        epoch = datetime.combine(STAMP_EPOCH, time(0), tzinfo=self._tz)
        return self._working_micros(epoch, moment) // _MICROS_PER_MINUTE

    # -- internals ---------------------------------------------------------------------

    def _to_local(self, moment: datetime) -> datetime:
        _require_aware(moment)
        return moment.astimezone(self._tz)

    def _local_date(self, d: date) -> date:
        if isinstance(d, datetime):
            return self._to_local(d).date()
        return d

    @staticmethod
    def _plain_date(d: date) -> date:
        if isinstance(d, datetime):
            raise TypeError(f"expected a date, got the datetime {d!r}")
        return d

    def _holidays_of(self, year: int) -> dict[date, str]:
        cached = self._holiday_years.get(year)
        if cached is None:
            found = holidays.country_holidays(
                "ID", years=year, categories=HOLIDAY_CATEGORIES, language=self._language
            )
            cached = {day: str(name) for day, name in found.items()}
            self._holiday_years[year] = cached
        return cached

    def _is_working(self, day: date) -> bool:
        if day in self._extra_working_days:
            return True
        if day.weekday() not in self._workdays or day in self._extra_holidays:
            return False
        return day not in self._holidays_of(day.year)

    def _working_day_on_or_after(self, day: date) -> date:
        for _ in range(_MAX_SEARCH_DAYS):
            if self._is_working(day):
                return day
            day += timedelta(days=1)
        raise ValueError(f"no working day within {_MAX_SEARCH_DAYS} days of {day}")

    def _clock_start_local(self, local: datetime) -> datetime:
        day = local.date()
        t = _micros_of(local.time())
        if self._is_working(day) and t < self._end_us:
            if t >= self._start_us:
                return local
            return datetime.combine(day, self._office_start, tzinfo=self._tz)
        next_day = self._working_day_on_or_after(day + timedelta(days=1))
        return datetime.combine(next_day, self._office_start, tzinfo=self._tz)

    def _year_table(self, year: int) -> tuple[int, ...]:
        """Return cumulative counts: item i is how many of the year's first i days are working."""
        table = self._year_tables.get(year)
        if table is None:
            counts = [0]
            day = date(year, 1, 1)
            while day.year == year:
                counts.append(counts[-1] + self._is_working(day))
                day += timedelta(days=1)
            table = tuple(counts)
            self._year_tables[year] = table
        return table

    def _count_working_days(self, first: date, stop: date) -> int:
        """Count the working days from `first` up to, not including, `stop`."""
        if stop <= first:
            return 0
        first_index = (first - date(first.year, 1, 1)).days
        stop_index = (stop - date(stop.year, 1, 1)).days
        if first.year == stop.year:
            table = self._year_table(first.year)
            return table[stop_index] - table[first_index]
        head = self._year_table(first.year)
        count = head[-1] - head[first_index]
        for year in range(first.year + 1, stop.year):
            count += self._year_table(year)[-1]
        return count + self._year_table(stop.year)[stop_index]

    def _add_working_micros(self, moment: datetime, remaining: int) -> datetime:
        start = self._clock_start_local(self._to_local(moment))
        day = start.date()
        offset = _micros_of(start.time()) - self._start_us
        while remaining > self._day_us - offset:
            remaining -= self._day_us - offset
            day = self._working_day_on_or_after(day + timedelta(days=1))
            offset = 0
        opening = datetime.combine(day, self._office_start, tzinfo=self._tz)
        return (opening + timedelta(microseconds=offset + remaining)).astimezone(UTC)

    def _working_micros(self, start: datetime, end: datetime) -> int:
        local_start, local_end = self._to_local(start), self._to_local(end)
        if local_end <= local_start:
            return 0
        first, last = local_start.date(), local_end.date()
        t_start = min(max(_micros_of(local_start.time()), self._start_us), self._end_us)
        t_end = min(max(_micros_of(local_end.time()), self._start_us), self._end_us)
        if first == last:
            return max(t_end - t_start, 0) if self._is_working(first) else 0
        total = self._count_working_days(first + timedelta(days=1), last) * self._day_us
        if self._is_working(first):
            total += self._end_us - t_start
        if self._is_working(last):
            total += t_end - self._start_us
        return total
