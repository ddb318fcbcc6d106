"""The recaps' SQL: a period's tallies counted by the database.

`SqlRecaps.figures` returns counts and histograms (grouped queries over the cases filed
in the period, read from the covering index `ix_cases_recap` alone), never the cases
themselves, so a year of a busy city costs a handful of grouped index scans. Durations
are differences of the working-minute stamps stored on each case
(`bot.core.recap.mark_milestones`); each step's ends are named once, below, for the
histograms and the case list alike.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import CaseStatus, EventKind, Location, TaskKind
from bot.core.recap import (
    NO_CATEGORY,
    NO_UNIT,
    CaseRow,
    RecapFigures,
    RecapQuery,
    Turnback,
    UnitTally,
)
from storage.models import CaseEventRecord, CaseRecord, CaseTaskRecord

C = CaseRecord
TURNBACKS = (EventKind.REFUSED.value, EventKind.RETURNED.value, EventKind.FORWARDED.value)
MAX_TURNBACKS = 5000  # listed on their sheet; the counts are exact regardless

# The ends of each step (see bot.core.recap): verification ends at the first proposal
# to the supervisor, or at the first disposition without one; the unit's answer starts
# when the disposition is in effect (approved, or at once) and ends at the unit's first
# answer (put to review, or sent); the reporter's first answer is the reviewed one when
# the answer went to review.
VERIFIED = func.coalesce(C.proposed_stamp, C.disposed_stamp)
IN_EFFECT = func.coalesce(C.approved_stamp, C.disposed_stamp)
UNIT_ANSWERED = func.coalesce(C.submitted_stamp, C.answered_stamp)
REPORTER_ANSWERED = case((C.submitted_stamp.is_(None), C.answered_stamp), else_=C.reviewed_stamp)


def _seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[int]:
    """Whole seconds from `earlier` to `later` (rounded), in the dialect's own words."""
    if dialect == "postgresql":
        return cast(func.round(func.extract("epoch", later - earlier)), Integer)
    return cast((func.julianday(later) - func.julianday(earlier)) * 86400 + 0.5, Integer)


class SqlRecaps:
    """Counts a period's figures in the database."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name

    async def figures(self, q: RecapQuery) -> RecapFigures:
        in_period = and_(C.created_at >= q.start, C.created_at < q.end)
        # A duplicate merged into another case is the same complaint: counted once, as
        # its main case, so in none of the figures below. Tested through coalesce() so
        # that no planner takes ix_cases_merged_into for "IS NULL" (nearly every case)
        # over the period's range in the covering index.
        merged_into = func.coalesce(C.merged_into, "")
        filed = and_(in_period, merged_into == "")
        units: dict[str, dict[str, Any]] = defaultdict(dict)
        f = await self._breakdown(q, filed, units)
        seconds = _seconds(self._dialect, C.acknowledged_at, C.created_at)
        ack = await self._histogram(seconds, filed, C.acknowledged_at.is_not(None))
        disposition = await self._histogram(VERIFIED - C.filed_stamp, filed, VERIFIED.is_not(None))
        first_answer = await self._histogram(
            REPORTER_ANSWERED - C.filed_stamp, filed, REPORTER_ANSWERED.is_not(None)
        )
        closure = await self._histogram(
            C.closed_stamp - C.filed_stamp, filed, C.closed_stamp.is_not(None)
        )
        answer = await self._histogram(
            UNIT_ANSWERED - IN_EFFECT, filed, UNIT_ANSWERED.is_not(None), IN_EFFECT.is_not(None)
        )
        # The chain of command's steps, when the workflow has them.
        approval: tuple[tuple[int, int], ...] = ()
        if q.approve_minutes is not None:
            approval = await self._histogram(
                C.approved_stamp - C.proposed_stamp,
                filed,
                C.approved_stamp.is_not(None),
                C.proposed_stamp.is_not(None),
            )
        review: tuple[tuple[int, int], ...] = ()
        if q.review_minutes is not None:
            review = await self._histogram(
                C.reviewed_stamp - C.submitted_stamp,
                filed,
                C.reviewed_stamp.is_not(None),
                C.submitted_stamp.is_not(None),
            )
        for code, hist in (await self._unit_answer_histograms(filed)).items():
            units[code]["answer_minutes"] = hist
        open_at_end, overdue_at_end = await self._backlog(q, units)
        turnbacks, counts, returned = await self._turnbacks(q)
        for code, count in returned.items():
            units[code]["returned"] = count
        merged = await self._count(in_period, merged_into != "")
        tallies = {code: UnitTally(**values) for code, values in units.items() if code != NO_UNIT}
        return replace(
            f,
            ack_seconds=ack,
            disposition_minutes=disposition,
            first_answer_minutes=first_answer,
            closure_minutes=closure,
            answer_after_disposition=answer,
            approval_minutes=approval,
            review_minutes=review,
            open_at_end=open_at_end,
            overdue_at_end=overdue_at_end,
            units=tallies,
            turnbacks=tuple(turnbacks),
            turnback_counts=counts,
            merged=merged,
            informed_tasks=await self._informed_tasks(q),
        )

    async def _breakdown(
        self, q: RecapQuery, filed: ColumnElement[bool], units: dict[str, dict[str, Any]]
    ) -> RecapFigures:
        """One grouped scan: counts by status, channel, unit, category, privacy, rating,
        source (NULL: the reporter sent it), and how many have a LAPOR number."""
        in_time = (
            _seconds(self._dialect, C.closed_at, C.created_at) <= q.case_seconds
            if q.case_minutes is None  # calendar days
            else C.closed_stamp - C.filed_stamp <= q.case_minutes  # working days
        )
        closed_in_budget = case((and_(C.closed_stamp.is_not(None), in_time), 1), else_=0)
        asked = case((or_(C.rating_requested, C.rating.is_not(None)), 1), else_=0)
        answered = case((C.answered_at.is_not(None), 1), else_=0)
        linked = case((C.lapor_number.is_not(None), 1), else_=0)
        keys = (C.status, C.channel, C.unit_code, C.category, C.privacy, C.rating, C.source)
        rows = await self._session.execute(
            select(
                *keys,
                func.count(),
                func.sum(answered),
                func.sum(closed_in_budget),
                func.sum(asked),
                func.sum(linked),
            )
            .where(filed)
            .group_by(*keys)
        )
        by: dict[str, dict[str, int]] = {
            name: defaultdict(int) for name in ("status", "channel", "unit", "category", "privacy")
        }
        ratings: dict[int, int] = defaultdict(int)
        self_reported: dict[str, int] = defaultdict(int)
        staff_entered: dict[str, int] = defaultdict(int)
        received = within = requests = lapor = 0
        for (
            status,
            channel,
            unit,
            category,
            privacy,
            rating,
            source,
            n,
            n_answered,
            n_within,
            n_asked,
            n_linked,
        ) in rows:
            n, n_answered, n_within, n_asked, n_linked = (
                int(v or 0) for v in (n, n_answered, n_within, n_asked, n_linked)
            )
            received += n
            within += n_within
            requests += n_asked
            lapor += n_linked
            if source is None:
                self_reported[channel] += n
            else:
                staff_entered[source] += n
            by["status"][status] += n
            by["channel"][channel] += n
            by["unit"][unit or NO_UNIT] += n
            by["category"][category or NO_CATEGORY] += n
            by["privacy"][privacy] += n
            if rating is not None:
                ratings[int(rating)] += n
            tally = units[unit or NO_UNIT]
            tally["received"] = tally.get("received", 0) + n
            tally["answered"] = tally.get("answered", 0) + n_answered
            if status == CaseStatus.CLOSED.value:
                tally["closed"] = tally.get("closed", 0) + n
            if rating is not None:
                tally["rating_sum"] = tally.get("rating_sum", 0) + int(rating) * n
                tally["rating_count"] = tally.get("rating_count", 0) + n
        return RecapFigures(
            received=received,
            by_status=dict(by["status"]),
            by_channel=dict(by["channel"]),
            by_unit=dict(by["unit"]),
            by_category=dict(by["category"]),
            by_privacy=dict(by["privacy"]),
            closed_within_case_budget=within,
            ratings=dict(ratings),
            rating_requests=requests,
            self_reported=dict(self_reported),
            staff_entered=dict(staff_entered),
            lapor_linked=lapor,
        )

    async def _count(self, *conditions: ColumnElement[bool]) -> int:
        return int(await self._session.scalar(select(func.count()).where(*conditions)) or 0)

    async def _informed_tasks(self, q: RecapQuery) -> int:
        """ "Kabari pelapor" tasks an officer recorded done in the period (`/dikabari`).

        A scan of case_tasks, which holds a few rows per case whose reporter is in no
        chat: far fewer than the cases."""
        T = CaseTaskRecord
        count = await self._session.scalar(
            select(func.count())
            .select_from(T)
            .where(T.kind == TaskKind.INFORM.value, T.done_at >= q.start, T.done_at < q.end)
        )
        return int(count or 0)

    async def _histogram(
        self, value: ColumnElement[Any], *conditions: ColumnElement[bool]
    ) -> tuple[tuple[int, int], ...]:
        rows = await self._session.execute(
            select(value.label("v"), func.count()).where(*conditions).group_by("v").order_by("v")
        )
        return tuple((int(v), int(n)) for v, n in rows)

    async def _unit_answer_histograms(
        self, filed: ColumnElement[bool]
    ) -> dict[str, tuple[tuple[int, int], ...]]:
        minutes = (UNIT_ANSWERED - IN_EFFECT).label("v")
        rows = await self._session.execute(
            select(C.unit_code, minutes, func.count())
            .where(filed, UNIT_ANSWERED.is_not(None), IN_EFFECT.is_not(None))
            .group_by(C.unit_code, "v")
            .order_by(C.unit_code, "v")
        )
        found: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for unit, value, count in rows:
            found[unit or NO_UNIT].append((int(value or 0), int(count)))
        return {code: tuple(hist) for code, hist in found.items()}

    async def _backlog(self, q: RecapQuery, units: dict[str, dict[str, Any]]) -> tuple[int, int]:
        """Cases open at the period's end (filed before it, not closed by it), and how
        many of those were past the verification or the unit's answer budget then (with
        the supervisor's approval, or the answer's review, added to it when the workflow
        has them).

        Read from the covering index `ix_cases_backlog`: still open (NULL), or closed after
        the end. The duplicates merged into another case among them are then taken off
        (their main case is the complaint): read through `ix_cases_merged_into`, a few
        rows however long the history.
        """
        not_disposed = or_(C.first_disposed_at.is_(None), C.first_disposed_at >= q.end)
        not_answered = or_(C.answered_at.is_(None), C.answered_at >= q.end)
        verify = q.verify_minutes + (q.approve_minutes or 0)
        answer = q.answer_minutes + (q.review_minutes or 0)
        late = or_(
            and_(not_disposed, literal(q.end_stamp) - C.filed_stamp > verify),
            and_(~not_disposed, not_answered, literal(q.end_stamp) - C.disposed_stamp > answer),
        )
        # The unit holding the case at the end is not kept; the current holder stands in.
        counted: list[tuple[int, str | None, int, int]] = []  # sign, unit, open, late
        for still_open in (C.closed_at.is_(None), C.closed_at >= q.end):
            rows = await self._session.execute(
                select(C.unit_code, func.count(), func.sum(case((late, 1), else_=0)))
                .where(still_open, C.created_at < q.end)
                .group_by(C.unit_code)
            )
            counted += [(1, unit, count, count_late) for unit, count, count_late in rows]
        # The duplicates: their WHERE names merged_into alone, as a range (SQLite takes no
        # index for IS NOT NULL), so that a planner takes ix_cases_merged_into.
        open_then = and_(C.created_at < q.end, or_(C.closed_at.is_(None), C.closed_at >= q.end))
        rows = await self._session.execute(
            select(
                C.unit_code,
                func.sum(case((open_then, 1), else_=0)),
                func.sum(case((and_(open_then, late), 1), else_=0)),
            )
            .where(C.merged_into > "")
            .group_by(C.unit_code)
        )
        counted += [(-1, unit, count, count_late) for unit, count, count_late in rows if count]
        open_total = late_total = 0
        for sign, unit, count, count_late in counted:
            n, n_late = sign * int(count or 0), sign * int(count_late or 0)
            open_total += n
            late_total += n_late
            tally = units[unit or NO_UNIT]
            tally["open_at_end"] = tally.get("open_at_end", 0) + n
            tally["overdue_at_end"] = tally.get("overdue_at_end", 0) + n_late
        return open_total, late_total

    async def _turnbacks(
        self, q: RecapQuery
    ) -> tuple[list[Turnback], dict[str, int], dict[str, int]]:
        """Refusals and returns in the period with their reasons (the first
        MAX_TURNBACKS), how many of each kind, and returns per unit."""
        E = CaseEventRecord
        rows = await self._session.execute(
            select(C.code, E.at, E.kind, E.unit_code, E.note, E.actor_name)
            .join(C, C.id == E.case_id)
            .where(E.kind.in_(TURNBACKS), E.at >= q.start, E.at < q.end)
            .order_by(E.at, E.id)
        )
        turnbacks: list[Turnback] = []
        returned: dict[str, int] = defaultdict(int)
        counts: dict[str, int] = defaultdict(int)
        for code, at, kind, unit, note, actor in rows:
            counts[kind] += 1
            if len(turnbacks) < MAX_TURNBACKS:
                turnbacks.append(Turnback(code, at, kind, unit, note or "", actor))
            if kind == EventKind.RETURNED.value and unit:
                returned[unit] += 1
        return turnbacks, dict(counts), dict(returned)

    async def case_rows(
        self, start: datetime, end: datetime, after_id: int, limit: int
    ) -> list[tuple[int, CaseRow]]:
        """The period's cases in filing order, a page at a time (keyset: ids above `after_id`)."""
        records = await self._session.execute(
            select(
                C.id,
                C.code,
                C.created_at,
                C.channel,
                C.privacy,
                C.status,
                C.category,
                C.unit_code,
                C.description,
                C.location_text,
                C.acknowledged_at,
                C.first_disposed_at,
                C.answered_at,
                C.closed_at,
                VERIFIED - C.filed_stamp,
                REPORTER_ANSWERED - C.filed_stamp,
                C.closed_stamp - C.filed_stamp,
                C.rating,
                C.latitude,
                C.longitude,
                C.location_label,
                C.source,
                C.lapor_number,
                C.merged_into,
            )
            .where(C.created_at >= start, C.created_at < end, C.id > after_id)
            .order_by(C.id)
            .limit(limit)
        )
        # The columns are selected in CaseRow's field order up to the rating, then the
        # shared pin's parts, then where it came from.
        rows: list[tuple[Any, ...]] = [tuple(record) for record in records]
        return [
            (
                row[0],
                CaseRow(  # type: ignore[misc]
                    *row[1:18],
                    location=pin(*row[18:21]),
                    source=row[21],
                    lapor_number=row[22],
                    merged_into=row[23],
                ),
            )
            for row in rows
        ]

    async def unstamped(
        self, limit: int
    ) -> list[tuple[int, datetime, datetime | None, datetime | None, datetime | None]]:
        """Cases stored before stamps existed: id, filed, first disposed, answered, closed."""
        rows = await self._session.execute(
            select(C.id, C.created_at, C.first_disposed_at, C.answered_at, C.closed_at)
            .where(C.filed_stamp.is_(None))
            .order_by(C.id)
            .limit(limit)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    async def stamp(
        self, case_id: int, stamps: tuple[int | None, int | None, int | None, int | None]
    ) -> None:
        filed, disposed, answered, closed = stamps
        await self._session.execute(
            update(C)
            .where(C.id == case_id)
            .values(
                filed_stamp=filed,
                disposed_stamp=disposed,
                answered_stamp=answered,
                closed_stamp=closed,
            ),
            execution_options={"synchronize_session": False},
        )


def pin(latitude: float | None, longitude: float | None, label: str | None) -> Location | None:
    """A case's shared pin from its columns (none stored: None)."""
    return None if latitude is None or longitude is None else Location(latitude, longitude, label)
