"""Recaps (rekapitulasi): what a period's complaints add up to, for the head of office.

The database does the counting (`RecapRepository.figures`): it returns tallies and
histograms, never the cases themselves, so a year of a busy city costs a few grouped
queries. This module turns those into the figures people read: medians and 90th
percentiles, shares within each deadline, the rating average.

Times are measured from the moment a complaint is filed. The acknowledgement is the
bot's own reply, so it is counted in clock seconds (SOP 002: within 10 minutes);
disposition, first answer and closure are counted in the office's working minutes,
from the working-minute stamps (`WorkingCalendar.stamp`) stored on each case when it
reaches that point.

Each step is judged against its configured budget (`[deadlines]`, in working days or in
office time, `bot.core.budget`) and shown in that budget's unit: a 5-minute disposition
budget (SOP 001) is reported in minutes, not in hundredths of a day. The chain of
command's steps are reported when the agency's `[workflow]` has them: the supervisor's
approval of a proposed disposition (`disposition_by = "supervisor"`) and the review of
the unit's answer (`answer_review`). Their times come from the stamps `mark_milestones`
sets when the case's status shows the step began and ended:

- verification: filing → the first proposal, or the first disposition without one;
- approval: the first proposal → the disposition first in effect after it;
- the unit's answer: the disposition in effect → its first answer (put to review or sent);
- review: the answer first put to review → the answer first sent on after it;
- first answer: filing → the first answer the reporter received.

Plain Python only; no channel, no database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from bot.core.budget import Budget, BudgetUnit, case_limit, coarsest, words
from bot.core.calendar import WorkingCalendar
from bot.core.model import Case, CaseStatus, Channel, Location, Milestones, Privacy, Step
from bot.core.office import AnswerReview, DispositionBy, Office
from bot.core.ports import UnitOfWork
from bot.core.texts import Texts

ACK_BUDGET_SECONDS = 10 * 60  # SOP 002: the acknowledgement within 10 minutes
NO_UNIT = ""  # the per-unit key of cases not yet disposed
NO_CATEGORY = ""

Histogram = Sequence[tuple[int, int]]  # (value, how many cases), values ascending


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


class PeriodError(ValueError):
    """The text names no period we understand."""


@dataclass(frozen=True)
class Period:
    """Whole days `first`..`last` (inclusive) in the office's time zone."""

    kind: PeriodKind
    first: date
    last: date

    @property
    def label(self) -> str:
        """The period as typed: 2026-11, 2026-Q4, 2026 or 2026-11-01..2026-11-15."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.first:%Y-%m}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        if self.kind is PeriodKind.YEAR:
            return str(self.first.year)
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def title(self, t: Texts) -> str:
        """The period in words: "November 2026", "Triwulan IV 2026", "Tahun 2026"…"""
        if self.kind is PeriodKind.MONTH:
            return f"{month_name(t, self.first.month)} {self.first.year}"
        if self.kind is PeriodKind.QUARTER:
            quarter = ("I", "II", "III", "IV")[(self.first.month - 1) // 3]
            return t("recap_quarter", quarter=quarter, year=self.first.year)
        if self.kind is PeriodKind.YEAR:
            return t("recap_year", year=self.first.year)
        return f"{long_date(t, self.first)} – {long_date(t, self.last)}"

    def bounds(self, office: Office) -> tuple[datetime, datetime]:
        """The period as UTC instants [start, end): local midnight to local midnight."""
        tz = office.timezone
        start = datetime.combine(self.first, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz)
        return start, end.astimezone(UTC)


def month_period(year: int, month: int) -> Period:
    following = date(year + month // 12, month % 12 + 1, 1)
    return Period(PeriodKind.MONTH, date(year, month, 1), following - timedelta(days=1))


def quarter_period(year: int, quarter: int) -> Period:
    first_month = (quarter - 1) * 3 + 1
    last = month_period(year, first_month + 2).last
    return Period(PeriodKind.QUARTER, date(year, first_month, 1), last)


def year_period(year: int) -> Period:
    return Period(PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31))


_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-?[Qq](\d)")
_YEAR = re.compile(r"\d{4}")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|–|—|s/?d|sampai)\s*(\d{4}-\d{2}-\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_RANGE_DAYS = 3 * 366


def parse_period(text: str, today: date) -> Period:
    """Reads a period; an empty text is the current month (up to today's end of month).

    Accepts `2026-11`, `2026-Q4` (or `2026Q4`), `2026`, a single day `2026-11-03`, and a
    range `2026-11-01..2026-11-15`.
    """
    text = text.strip()
    if not text:
        return month_period(today.year, today.month)
    try:
        if match := _RANGE.fullmatch(text):
            first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            if last < first:
                raise PeriodError(text)
            if (last - first).days > MAX_RANGE_DAYS:
                raise PeriodError(text)
            return Period(PeriodKind.RANGE, first, last)
        if _DAY.fullmatch(text):
            day = date.fromisoformat(text)
            return Period(PeriodKind.RANGE, day, day)
        if match := _MONTH.fullmatch(text):
            month = int(match[2])
            if not 1 <= month <= 12:
                raise PeriodError(text)
            return month_period(int(match[1]), month)
        if match := _QUARTER.fullmatch(text):
            quarter = int(match[2])
            if not 1 <= quarter <= 4:
                raise PeriodError(text)
            return quarter_period(int(match[1]), quarter)
        if _YEAR.fullmatch(text):
            return year_period(int(text))
    except ValueError as exc:  # an impossible date such as 2026-02-30
        raise PeriodError(text) from exc
    raise PeriodError(text)


def periods_ended_by(day: date) -> list[Period]:
    """The periods that end the day before the month of `day` starts: the month just
    ended, and the quarter and year when they end with it (oldest kind last)."""
    previous = date(day.year, day.month, 1) - timedelta(days=1)
    ended = [month_period(previous.year, previous.month)]
    if previous.month % 3 == 0:
        ended.append(quarter_period(previous.year, previous.month // 3))
    if previous.month == 12:
        ended.append(year_period(previous.year))
    return ended


def month_name(t: Texts, month: int) -> str:
    return t.raw("recap_months").split()[month - 1]


def long_date(t: Texts, day: date) -> str:
    return f"{day.day} {month_name(t, day.month)} {day.year}"


# ---------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class RecapQuery:
    """What the database needs to count a period's figures."""

    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    end_stamp: int  # the working-minute stamp of `end` (or of now, before the end)
    verify_minutes: int  # the verification budget, in working minutes
    answer_minutes: int  # the unit's answer budget, in working minutes
    case_seconds: int  # the whole case's budget, in clock seconds
    # the whole case's budget in working minutes, when `case_days_working` (else None)
    case_minutes: int | None = None
    # the chain's steps, when the workflow has them (else None): their budgets in
    # working minutes
    approve_minutes: int | None = None
    review_minutes: int | None = None


@dataclass(frozen=True)
class UnitTally:
    """One unit's share of the period: cases received in the period, now with the unit."""

    received: int = 0
    answered: int = 0
    closed: int = 0
    returned: int = 0  # times the unit returned a case to the officers in the period
    open_at_end: int = 0  # all the unit's cases open at the period's end
    overdue_at_end: int = 0
    answer_minutes: Histogram = ()  # disposition → first answer, working minutes
    rating_sum: int = 0
    rating_count: int = 0


@dataclass(frozen=True)
class Turnback:
    """A case refused by the officers or returned by a unit in the period, with why."""

    code: str
    at: datetime
    kind: str  # EventKind value: "ditolak" or "dikembalikan"
    unit_code: str | None
    reason: str
    actor_name: str | None


@dataclass(frozen=True)
class RecapFigures:
    """The database's tallies for one period (cases filed in it, unless said otherwise)."""

    received: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    by_unit: dict[str, int] = field(default_factory=dict)  # NO_UNIT: not yet disposed
    by_category: dict[str, int] = field(default_factory=dict)  # NO_CATEGORY: none set
    by_privacy: dict[str, int] = field(default_factory=dict)
    ack_seconds: Histogram = ()
    disposition_minutes: Histogram = ()  # filing → first disposition (or proposal)
    first_answer_minutes: Histogram = ()  # filing → the first answer sent to the reporter
    closure_minutes: Histogram = ()  # filing → closure (selesai or ditolak)
    answer_after_disposition: Histogram = ()  # disposition in effect → the unit's answer
    approval_minutes: Histogram = ()  # first proposal → approved (with the approval step)
    review_minutes: Histogram = ()  # first put to review → sent on (with the review step)
    closed_within_case_budget: int = 0  # closed within case_days of filing
    open_at_end: int = 0  # every case open at the period's end, whenever it was filed
    overdue_at_end: int = 0
    ratings: dict[int, int] = field(default_factory=dict)  # 1..5 → how many
    rating_requests: int = 0  # closed cases whose reporter was asked for a rating
    units: dict[str, UnitTally] = field(default_factory=dict)
    turnbacks: tuple[Turnback, ...] = ()  # listed, up to a sheet's worth
    turnback_counts: dict[str, int] = field(default_factory=dict)  # kind → all in the period
    # By source (issue 20): a case the reporter sent the bot counts under its channel, one
    # an officer entered (`/catat`) under its source (sumber).
    self_reported: dict[str, int] = field(default_factory=dict)  # Channel value → how many
    staff_entered: dict[str, int] = field(default_factory=dict)  # source → how many
    lapor_linked: int = 0  # with an SP4N-LAPOR! tracking number
    informed_tasks: int = 0  # "kabari pelapor" tasks an officer recorded done in the period
    # Duplicates filed in the period and merged into another case: the same complaint as
    # their main case, so in none of the counts above (but listed with the cases).
    merged: int = 0

    @property
    def self_reported_total(self) -> int:
        return sum(self.self_reported.values())

    @property
    def staff_entered_total(self) -> int:
        return sum(self.staff_entered.values())

    @property
    def informed_by_hand(self) -> int:
        """Cases whose reporter is in no chat and hears the news from an officer."""
        return self.by_channel.get(Channel.MANUAL.value, 0)

    @property
    def listed(self) -> int:
        """The cases the recap's case list holds: those counted, and the duplicates."""
        return self.received + self.merged


@dataclass(frozen=True)
class CaseRow:
    """One case of the period, as the recap's case list shows it (no reporter identity)."""

    code: str
    created_at: datetime  # UTC
    channel: str  # Channel value
    privacy: str  # Privacy value
    status: str  # CaseStatus value
    category: str | None
    unit_code: str | None
    description: str
    location_text: str | None
    acknowledged_at: datetime | None
    first_disposed_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    disposition_minutes: int | None  # working minutes from filing
    first_answer_minutes: int | None
    closure_minutes: int | None
    rating: int | None
    location: Location | None = None  # a shared pin
    source: str | None = None  # staff-entered: where the complaint came from
    lapor_number: str | None = None
    merged_into: str | None = None  # a duplicate: its main case's code


# The channels a reporter can send the bot a complaint through (a MANUAL reporter is in
# no chat: their complaint was entered by an officer).
SELF_REPORT_CHANNELS = tuple(c.value for c in Channel if c is not Channel.MANUAL)


def percentile(histogram: Histogram, q: float) -> float | None:
    """The q-th quantile (0..1) of the values, interpolated linearly between ranks.

    The same definition as PostgreSQL's `percentile_cont` and numpy's default.
    """
    total = sum(count for _, count in histogram)
    if total == 0:
        return None
    rank = q * (total - 1)
    low_rank = int(rank)
    low = _value_at(histogram, low_rank)
    high = _value_at(histogram, min(low_rank + 1, total - 1))
    return low + (high - low) * (rank - low_rank)


def _value_at(histogram: Histogram, index: int) -> int:
    """The value at 0-based `index` of the sorted values the histogram stands for."""
    seen = 0
    for value, count in histogram:
        seen += count
        if index < seen:
            return value
    raise IndexError(index)


def count_within(histogram: Histogram, limit: float) -> int:
    return sum(count for value, count in histogram if value <= limit)


@dataclass(frozen=True)
class Timing:
    """How long cases took to reach one point, and how many made it within the budget."""

    reached: int
    median: float | None
    p90: float | None
    within: int
    budget: float  # in the same unit as the values
    unit: BudgetUnit = BudgetUnit.DAYS  # working time is shown in this unit
    limit: Budget | None = None  # the configured budget, when it is one key's

    @classmethod
    def of(
        cls,
        histogram: Histogram,
        budget: float,
        unit: BudgetUnit = BudgetUnit.DAYS,
        limit: Budget | None = None,
    ) -> Timing:
        return cls(
            reached=sum(count for _, count in histogram),
            median=percentile(histogram, 0.5),
            p90=percentile(histogram, 0.9),
            within=count_within(histogram, budget),
            budget=budget,
            unit=unit,
            limit=limit,
        )

    @property
    def share_within(self) -> float | None:
        return self.within / self.reached if self.reached else None


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    tally: UnitTally
    answer: Timing

    @property
    def rating_average(self) -> float | None:
        return self.tally.rating_sum / self.tally.rating_count if self.tally.rating_count else None


@dataclass(frozen=True)
class Recap:
    """A period's recap, ready to be written as a message, a spreadsheet or a chart."""

    office_name: str
    period: Period
    generated_at: datetime
    figures: RecapFigures
    day_minutes: int  # one working day, in minutes (to show working days)
    acknowledgement: Timing  # clock seconds
    disposition: Timing  # working minutes from filing; budget: verification
    first_answer: Timing  # working minutes from filing; budget: every step's to it
    answer: Timing  # working minutes from disposition; budget: the unit's answer
    closure: Timing  # working minutes from filing; within: the case budget (in days)
    case_days: int
    units: tuple[UnitRow, ...]
    sources: tuple[str, ...] = ()  # the office's sources (sumber), in the agency file's order
    # The chain's steps, when the workflow has them (working minutes; their budgets).
    approval: Timing | None = None
    review: Timing | None = None
    case_days_working: bool = False  # case_days counted in working days

    @property
    def rating_average(self) -> float | None:
        count = sum(self.figures.ratings.values())
        if not count:
            return None
        return sum(score * n for score, n in self.figures.ratings.items()) / count

    @property
    def rating_count(self) -> int:
        return sum(self.figures.ratings.values())

    @property
    def rating_response_rate(self) -> float | None:
        requests = self.figures.rating_requests
        return self.rating_count / requests if requests else None


@dataclass(frozen=True)
class SourceCount:
    """One source's count: a channel of self-reported cases, or a staff-entered source."""

    name: str  # a Channel value (self-reported) or the source as stored (staff-entered)
    staff: bool
    count: int


def source_counts(recap: Recap, *, zeros: bool = True) -> list[SourceCount]:
    """The period's cases by source: the channels reporters write in first, then the
    office's sources in the agency file's order, then any others (a source since taken
    off the list), alphabetically. `zeros`: every known source, even at 0 (periods
    compare line by line); without, only the channels and the sources that have cases."""
    f = recap.figures
    channels = [*SELF_REPORT_CHANNELS, *sorted(set(f.self_reported) - set(SELF_REPORT_CHANNELS))]
    known = [s for s in recap.sources if zeros or f.staff_entered.get(s)]
    others = sorted(set(f.staff_entered) - set(recap.sources), key=str.casefold)
    return [
        *(SourceCount(c, False, f.self_reported.get(c, 0)) for c in channels),
        *(SourceCount(s, True, f.staff_entered.get(s, 0)) for s in [*known, *others]),
    ]


def day_minutes(office: Office) -> int:
    """The minutes of one working day (office hours)."""
    return office.calendar.working_day_minutes


def approves(office: Office) -> bool:
    """Whether the supervisor approves each disposition (the APPROVE step)."""
    return office.workflow.disposition_by is DispositionBy.SUPERVISOR


def reviews(office: Office) -> bool:
    """Whether a unit's answer is reviewed before it is sent (the REVIEW step)."""
    return office.workflow.answer_review is not AnswerReview.NONE


def recap_query(office: Office, period: Period, now: datetime) -> RecapQuery:
    """What the database needs; a period not over yet is judged as it stands `now`."""
    start, end = period.bounds(office)
    d, day = office.deadlines, day_minutes(office)

    def minutes(step: Step) -> int:
        return d.budget(step).office_minutes(day)

    return RecapQuery(
        start=start,
        end=end,
        end_stamp=office.calendar.stamp(min(end, now)),
        verify_minutes=minutes(Step.VERIFY),
        answer_minutes=minutes(Step.ANSWER),
        case_seconds=d.case_days * 86400,
        case_minutes=d.case_days * day if d.case_days_working else None,
        approve_minutes=minutes(Step.APPROVE) if approves(office) else None,
        review_minutes=minutes(Step.REVIEW) if reviews(office) else None,
    )


def build_recap(
    office: Office, period: Period, figures: RecapFigures, generated_at: datetime
) -> Recap:
    """Puts the database's tallies together with the office's budgets and units."""
    d, day = office.deadlines, day_minutes(office)
    verify, answer = d.budget(Step.VERIFY), d.budget(Step.ANSWER)
    approve = d.budget(Step.APPROVE) if approves(office) else None
    review = d.budget(Step.REVIEW) if reviews(office) else None
    to_answer = [b for b in (verify, approve, answer, review) if b is not None]

    def timing(histogram: Histogram, budget: Budget) -> Timing:
        return Timing.of(histogram, budget.office_minutes(day), budget.unit, budget)

    def row(code: str, name: str) -> UnitRow:
        tally = figures.units.get(code, UnitTally())
        return UnitRow(code, name, tally, timing(tally.answer_minutes, answer))

    known = {unit.code for unit in office.units}
    units = [row(unit.code, unit.name) for unit in office.units]
    removed = sorted(set(figures.units) - known - {NO_UNIT})  # units since taken out
    units += [row(code, code) for code in removed]
    return Recap(
        office_name=office.name,
        period=period,
        generated_at=generated_at,
        figures=figures,
        day_minutes=day_minutes(office),
        acknowledgement=Timing.of(figures.ack_seconds, ACK_BUDGET_SECONDS),
        disposition=timing(figures.disposition_minutes, verify),
        first_answer=Timing.of(
            figures.first_answer_minutes,
            sum(b.office_minutes(day) for b in to_answer),
            coarsest(*to_answer),
        ),
        answer=timing(figures.answer_after_disposition, answer),
        closure=Timing(
            reached=sum(count for _, count in figures.closure_minutes),
            median=percentile(figures.closure_minutes, 0.5),
            p90=percentile(figures.closure_minutes, 0.9),
            within=figures.closed_within_case_budget,
            budget=d.case_days,
        ),
        case_days=d.case_days,
        units=tuple(units),
        sources=office.intake_sources,
        approval=None if approve is None else timing(figures.approval_minutes, approve),
        review=None if review is None else timing(figures.review_minutes, review),
        case_days_working=d.case_days_working,
    )


def milestones(
    calendar: WorkingCalendar,
    filed: datetime,
    disposed: datetime | None,
    answered: datetime | None,
    closed: datetime | None,
) -> Milestones:
    """The working-minute stamps of the points a case reached at these times."""
    return Milestones(
        calendar.stamp(filed),
        calendar.stamp(disposed) if disposed else None,
        calendar.stamp(answered) if answered else None,
        calendar.stamp(closed) if closed else None,
    )


# The statuses of a case whose disposition is in effect (the unit holds it, or answered).
_IN_EFFECT = frozenset({CaseStatus.DISPOSED, CaseStatus.IN_REVIEW, CaseStatus.ANSWERED})


def mark_milestones(calendar: WorkingCalendar, case: Case, now: datetime | None = None) -> None:
    """Stamps the points the case has reached: from its times (cheap, so always redone),
    and the chain of command's steps from its status as it changes (`now`: when it
    changed, the case's last update by default), each only the first time.

    Proposed: the case awaits the supervisor's approval (diusulkan). Approved: once
    proposed, its disposition is in effect. Submitted: the unit's answer awaits review
    (ditinjau). Reviewed: once submitted, the answer was sent (dijawab).
    """
    old = case.milestones
    at = now or case.updated_at or case.created_at

    def first(stamp: int | None, reached: bool) -> int | None:
        return stamp if stamp is not None or not reached else calendar.stamp(at)

    proposed = first(old.proposed, case.status is CaseStatus.PROPOSED)
    submitted = first(old.submitted, case.status is CaseStatus.IN_REVIEW)
    times = milestones(
        calendar, case.created_at, case.first_disposed_at, case.answered_at, case.closed_at
    )
    case.milestones = replace(
        times,
        proposed=proposed,
        approved=first(old.approved, proposed is not None and case.status in _IN_EFFECT),
        submitted=submitted,
        reviewed=first(old.reviewed, submitted is not None and case.status is CaseStatus.ANSWERED),
    )


RECAP_JOB = "recap"  # ReportQueue kinds
CASE_JOB = "case"
AUTOMATIC = "otomatis"  # requested_by of the calendar's recaps


async def queue_automatic(uow: UnitOfWork, office: Office, now: datetime) -> list[Period]:
    """Queues the recaps of the periods just ended, once each, for the supervisor chat.

    Due from `recap_at` on the month's first working day (or later, if the service was
    down then); the queue's dedup key makes each period's recap go out once.
    """
    if office.recap_at is None:
        return []
    local = now.astimezone(office.timezone)
    first = office.calendar.first_working_day_of_month(local.year, local.month)
    if (local.date(), local.time()) < (first, office.recap_at):
        return []
    queued = []
    for period in periods_ended_by(local.date()):
        added = await uow.reports.add(
            RECAP_JOB,
            period.label,
            office.escalation_chat_id,
            AUTOMATIC,
            dedup_key=f"auto:{period.label}",
        )
        if added:
            queued.append(period)
    return queued


# ---------------------------------------------------------------------------- words


def percent(part: float | None) -> str:
    return "–" if part is None else f"{part * 100:.0f}%"


def working_time(
    t: Texts, minutes: float | None, day_minutes: int, unit: BudgetUnit = BudgetUnit.DAYS
) -> str:
    """Working minutes in words: hours under a working day, working days above; under an
    hour in minutes, for a step whose budget is in minutes."""
    if minutes is None:
        return "–"
    if unit is BudgetUnit.MINUTES and minutes < 60:
        return t("recap_working_minutes", minutes=decimal(t, minutes))
    if minutes < day_minutes:
        return t("recap_hours", hours=decimal(t, minutes / 60))
    return t("recap_days", days=decimal(t, minutes / day_minutes))


def step_timings(recap: Recap) -> list[tuple[str, Timing]]:
    """The staff steps' timings in the order they happen, each with its name's suffix
    (`recap_step_*`, `chart_step_*`, `xlsx_step_*`): verification and disposition (a
    proposal, with the approval step), the supervisor's approval, the unit's answer, its
    review. The chain's steps only when the workflow has them."""
    steps = [("proposal" if recap.approval else "disposition", recap.disposition)]
    if recap.approval is not None:
        steps.append(("approval", recap.approval))
    steps.append(("answer", recap.answer))
    if recap.review is not None:
        steps.append(("review", recap.review))
    return steps


def step_line(t: Texts, name: str, timing: Timing, day_minutes: int) -> str:
    """One step of the chat summary: its median, its share on time, its budget."""
    return t(
        "recap_step_line",
        step=t(f"recap_step_{name}"),
        median=working_time(t, timing.median, day_minutes, timing.unit),
        within=percent(timing.share_within),
        budget=words(t, timing.limit) if timing.limit else "–",
    )


def clock_time(t: Texts, seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return t("recap_seconds", seconds=f"{seconds:.0f}")
    return t("recap_minutes", minutes=decimal(t, seconds / 60))


def whole(t: Texts, value: int) -> str:
    """A count with the language's thousands mark (Indonesian: 82.717)."""
    return f"{value:,}".replace(",", t.raw("recap_thousands_mark"))


def decimal(t: Texts, value: float) -> str:
    """One decimal, with the language's decimal mark (Indonesian: a comma)."""
    return f"{value:.1f}".replace(".", t.raw("recap_decimal_mark"))


def channel_name(t: Texts, channel: str) -> str:
    """A channel's name; its value for one no template names."""
    key = f"channel_{channel}"
    return t(key) if key in t else channel


def status_counts(t: Texts, figures: RecapFigures) -> str:
    return ", ".join(
        f"{t(f'status_{status.value}')} {whole(t, figures.by_status[status.value])}"
        for status in CaseStatus
        if figures.by_status.get(status.value)
    )


def summary(t: Texts, recap: Recap) -> str:
    """The short chat message that goes with the spreadsheet and the chart."""
    f = recap.figures
    day = recap.day_minutes
    sources = ", ".join(
        f"{item.name if item.staff else channel_name(t, item.name)} {whole(t, item.count)}"
        for item in source_counts(recap, zeros=False)
    )
    informed_line = ""
    if f.informed_by_hand or f.informed_tasks:
        informed_line = t(
            "recap_informed_line",
            cases=whole(t, f.informed_by_hand),
            done=whole(t, f.informed_tasks),
        )
    busiest = sorted(
        ((row.tally.received, row.name) for row in recap.units if row.tally.received),
        reverse=True,
    )[:3]
    units = ", ".join(f"{name} {whole(t, count)}" for count, name in busiest) or "–"
    privacy = f.by_privacy.get(Privacy.ANONYMOUS.value, 0) + f.by_privacy.get(
        Privacy.CONFIDENTIAL.value, 0
    )
    return t(
        "recap_summary",
        office=recap.office_name,
        period=recap.period.title(t),
        received=whole(t, f.received),
        statuses=status_counts(t, f) or "–",
        sources=sources,
        self_reported=whole(t, f.self_reported_total),
        staff_entered=whole(t, f.staff_entered_total),
        lapor_linked=whole(t, f.lapor_linked),
        informed_line=informed_line,
        merged_line=t("recap_merged_line", count=whole(t, f.merged)) if f.merged else "",
        units=units,
        private=whole(t, privacy),
        ack_median=clock_time(t, recap.acknowledgement.median),
        ack_within=percent(recap.acknowledgement.share_within),
        steps="\n".join(step_line(t, name, timing, day) for name, timing in step_timings(recap)),
        closure_median=working_time(t, recap.closure.median, day),
        closure_within=percent(recap.closure.share_within),
        case_days=case_limit(t, recap.case_days, recap.case_days_working),
        open_at_end=whole(t, f.open_at_end),
        overdue_at_end=whole(t, f.overdue_at_end),
        rating=decimal(t, recap.rating_average) if recap.rating_average is not None else "–",
        rated=whole(t, recap.rating_count),
        response=percent(recap.rating_response_rate),
        turnbacks=whole(t, sum(f.turnback_counts.values())),
    )
