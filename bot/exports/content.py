"""What the exports say, shared by the spreadsheet (`workbook`) and the CSV tables (`tables`).

The summary is described once, as sections of labelled numbers, so that the XLSX
summary sheet and the long-format recap CSV cannot drift apart: a figure added here
appears in both. Values stay numbers (with what they measure) until a writer decides
how to show them; labels come from the templates, so the office's language applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from zoneinfo import ZoneInfo

from bot.core.budget import BudgetUnit
from bot.core.model import Actor, CaseEvent, CaseStatus, Channel, EventKind, Intake, Privacy
from bot.core.recap import (
    NO_CATEGORY,
    NO_UNIT,
    Recap,
    SourceCount,
    Timing,
    channel_name,
    source_counts,
    step_timings,
)
from bot.core.texts import Texts

DESCRIPTION_LIMIT = 500  # characters of a description in the recap's case list
ELLIPSIS = "…"


class Measure(Enum):
    """What a number is, which decides its spreadsheet format and its CSV rounding."""

    COUNT = "count"
    SHARE = "share"  # a fraction 0..1, shown as a percentage
    DAYS = "days"  # working days
    HOURS = "hours"  # working hours (office time)
    MINUTES = "minutes"  # minutes: clock minutes, or working minutes (office time)
    AVERAGE = "average"  # a rating average, 1..5


@dataclass(frozen=True)
class Value:
    number: float | None  # None: nothing to measure (no case reached the point)
    measure: Measure = Measure.COUNT


@dataclass(frozen=True)
class Line:
    label: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Section:
    """A titled block of the summary: one row per line, one column per value."""

    title: str
    columns: tuple[str, ...]
    lines: tuple[Line, ...]


def label(t: Texts, key: str, fallback: str) -> str:
    """A template's text, or `fallback` for a value no template names (a status added
    to the database before the templates learnt it must not stop the export)."""
    return t(key) if key in t else fallback


def unit_name(t: Texts, code: str | None, names: Mapping[str, str]) -> str:
    if code is None or code == NO_UNIT:
        return t("xlsx_no_unit")
    return names.get(code, code)


def category_name(t: Texts, category: str | None) -> str:
    return t("xlsx_no_category") if category is None or category == NO_CATEGORY else category


def source_name(t: Texts, channel: str, source: str | None) -> str:
    """Where a case came from: a staff-entered one's source, else the reporter's channel
    ("Telegram (lapor sendiri)")."""
    if source is not None:
        return source
    return t("source_self", channel=channel_name(t, channel))


def entered_by(intake: Intake | None) -> str | None:
    """Who entered a staff-entered complaint: their name, else their id."""
    if intake is None:
        return None
    return intake.entered_by_name or f"#{intake.entered_by_id}"


def source_count_name(t: Texts, item: SourceCount) -> str:
    return item.name if item.staff else source_name(t, item.name, None)


def role_name(t: Texts, role: str) -> str:
    return label(t, f"xlsx_role_{role}", role)


def actor_name(actor: Actor) -> str:
    """The person's name; an id when the name is unknown; nothing for the bot itself
    (the role column already says "sistem")."""
    if actor.name and actor.role != "system":
        return actor.name
    return f"#{actor.user_id}" if actor.user_id else ""


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    """`moment` as the office's wall-clock time, without tzinfo (spreadsheets have none).

    A naive `moment` is taken as UTC: that is how every time is stored, and SQLite hands
    them back without their zone.
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(tz).replace(tzinfo=None)


def shorten(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def unit_names_of(recap: Recap, extra: Mapping[str, str]) -> dict[str, str]:
    """Unit code → name: the recap's units (the office's, and any since removed),
    overridden by the caller's names."""
    names = {row.code: row.name for row in recap.units}
    names.update(extra)
    return names


# ---------------------------------------------------------------------------- summary


def summary_sections(recap: Recap, t: Texts, names: Mapping[str, str]) -> list[Section]:
    """Every figure of the recap's summary, in reading order."""
    f = recap.figures
    count, share = t("xlsx_col_count"), t("xlsx_col_share")

    def tally(title: str, items: Iterable[tuple[str, int]], whole: int) -> Section:
        return Section(
            title,
            (count, share),
            tuple(
                Line(name, (Value(n), Value(n / whole if whole else None, Measure.SHARE)))
                for name, n in items
            ),
        )

    statuses = _ordered(f.by_status, [s.value for s in CaseStatus])
    channels = _ordered(f.by_channel, [c.value for c in Channel])
    privacies = _ordered(f.by_privacy, [p.value for p in Privacy])
    unit_codes = _ordered(
        {k: v for k, v in f.by_unit.items() if k != NO_UNIT}, [row.code for row in recap.units]
    )
    units = [(unit_name(t, code, names), f.by_unit.get(code, 0)) for code in unit_codes]
    if f.by_unit.get(NO_UNIT):
        units.append((unit_name(t, NO_UNIT, names), f.by_unit[NO_UNIT]))
    categories = sorted(
        ((name, n) for name, n in f.by_category.items() if name != NO_CATEGORY),
        key=lambda item: (-item[1], item[0].casefold()),
    )
    if f.by_category.get(NO_CATEGORY):
        categories.append((NO_CATEGORY, f.by_category[NO_CATEGORY]))
    rated = recap.rating_count
    kinds = f.turnback_counts
    turnback_kinds = _ordered(
        kinds, [EventKind.REFUSED.value, EventKind.RETURNED.value, EventKind.FORWARDED.value]
    )

    return [
        Section(
            t("xlsx_section_received"), (count,), (Line(t("xlsx_received"), (Value(f.received),)),)
        ),
        tally(
            t("xlsx_section_status"),
            ((label(t, f"status_{s}", s), f.by_status.get(s, 0)) for s in statuses),
            f.received,
        ),
        tally(
            t("xlsx_section_channel"),
            ((label(t, f"channel_{c}", c), f.by_channel.get(c, 0)) for c in channels),
            f.received,
        ),
        tally(
            t("xlsx_section_source"),
            ((source_count_name(t, item), item.count) for item in source_counts(recap)),
            f.received,
        ),
        tally(
            t("xlsx_section_intake"),
            (
                (t("xlsx_self_reported"), f.self_reported_total),
                (t("xlsx_staff_entered"), f.staff_entered_total),
                (t("xlsx_lapor_linked"), f.lapor_linked),
                (t("xlsx_informed_by_hand"), f.informed_by_hand),
            ),
            f.received,
        ),
        Section(
            t("xlsx_section_by_hand"),
            (count,),
            (
                Line(t("xlsx_informed_tasks"), (Value(f.informed_tasks),)),
                Line(t("xlsx_merged"), (Value(f.merged),)),
            ),
        ),
        tally(t("xlsx_section_unit"), units, f.received),
        tally(
            t("xlsx_section_category"),
            ((category_name(t, name), n) for name, n in categories),
            f.received,
        ),
        tally(
            t("xlsx_section_privacy"),
            ((label(t, f"privacy_{p}", p), f.by_privacy.get(p, 0)) for p in privacies),
            f.received,
        ),
        _timing_section(recap, t),
        Section(
            t("xlsx_section_period_end"),
            (count,),
            (
                Line(t("xlsx_open_at_end"), (Value(f.open_at_end),)),
                Line(t("xlsx_overdue_at_end"), (Value(f.overdue_at_end),)),
            ),
        ),
        Section(
            t("xlsx_section_rating"),
            (t("xlsx_col_value"),),
            (
                Line(t("xlsx_rating_average"), (Value(recap.rating_average, Measure.AVERAGE),)),
                Line(t("xlsx_rating_count"), (Value(rated),)),
                Line(t("xlsx_rating_requests"), (Value(f.rating_requests),)),
                Line(
                    t("xlsx_rating_response"),
                    (Value(recap.rating_response_rate, Measure.SHARE),),
                ),
            ),
        ),
        tally(
            t("xlsx_section_rating_spread"),
            ((t("xlsx_rating_score", score=s), f.ratings.get(s, 0)) for s in range(1, 6)),
            rated,
        ),
        Section(
            t("xlsx_section_turnbacks"),
            (count,),
            tuple(
                Line(label(t, f"event_{kind}", kind), (Value(kinds.get(kind, 0)),))
                for kind in turnback_kinds
            ),
        ),
    ]


def _ordered(tallies: Mapping[str, int], known: Sequence[str]) -> list[str]:
    """The known keys in their order (even at zero, so periods compare line by line),
    then any others the tallies have, alphabetically."""
    return [*known, *sorted(set(tallies) - set(known))]


def shown_in(unit: BudgetUnit, day_minutes: int) -> tuple[float, Measure]:
    """How working minutes are shown in `unit`: what to divide them by, and as what."""
    return {
        BudgetUnit.DAYS: (day_minutes, Measure.DAYS),
        BudgetUnit.HOURS: (60, Measure.HOURS),
        BudgetUnit.MINUTES: (1, Measure.MINUTES),
    }[unit]


def unit_label(t: Texts, unit: BudgetUnit) -> str:
    """The unit working time is shown in, for a label: "hari kerja", "menit kerja"…"""
    return t(f"recap_unit_{unit.value}")


def working_value(minutes: float | None, unit: BudgetUnit, day_minutes: int) -> Value:
    """Working minutes as a value in `unit`."""
    per, measure = shown_in(unit, day_minutes)
    return Value(None if minutes is None else minutes / per, measure)


def _timing_section(recap: Recap, t: Texts) -> Section:
    day = recap.day_minutes

    def working(timing: Timing, key: str) -> Line:
        per, measure = shown_in(timing.unit, day)
        name = t(key, unit=unit_label(t, timing.unit))
        return _timing_line(name, timing, per, measure, Value(timing.budget / per, measure))

    closure = recap.closure
    # The staff steps in their order, with the first answer since filing before the unit's.
    staff: list[Line] = []
    for name, timing in step_timings(recap):
        if name == "answer":
            staff.append(working(recap.first_answer, "xlsx_step_first_answer"))
        staff.append(working(timing, f"xlsx_step_{name}"))
    closure_key = "xlsx_step_closure_working" if recap.case_days_working else "xlsx_step_closure"
    return Section(
        t("xlsx_section_timing"),
        tuple(
            t(key)
            for key in (
                "xlsx_col_reached",
                "xlsx_col_median",
                "xlsx_col_p90",
                "xlsx_col_budget",
                "xlsx_col_within",
                "xlsx_col_within_share",
            )
        ),
        (
            _timing_line(
                t("xlsx_step_acknowledgement"),
                recap.acknowledgement,
                60,
                Measure.MINUTES,
                Value(recap.acknowledgement.budget / 60, Measure.MINUTES),
            ),
            *staff,
            # The case budget is in days (calendar days unless `case_days_working`), the
            # values in working days.
            _timing_line(t(closure_key), closure, day, Measure.DAYS, Value(recap.case_days)),
        ),
    )


def _timing_line(name: str, timing: Timing, per: float, measure: Measure, budget: Value) -> Line:
    """One step's timing, its durations divided by `per` (60: seconds → minutes;
    a working day's minutes: working minutes → working days)."""

    def scaled(value: float | None) -> Value:
        return Value(None if value is None else value / per, measure)

    return Line(
        name,
        (
            Value(timing.reached),
            scaled(timing.median),
            scaled(timing.p90),
            budget,
            Value(timing.within),
            Value(timing.share_within, Measure.SHARE),
        ),
    )


def working_days(minutes: float | None, day_minutes: int) -> float | None:
    return None if minutes is None else minutes / day_minutes


def unit_labels(t: Texts, recap: Recap) -> dict[str, str]:
    """The units of the workbook's step columns (`{answer_unit}`… in their headers)."""
    return {
        "disposition_unit": unit_label(t, recap.disposition.unit),
        "first_answer_unit": unit_label(t, recap.first_answer.unit),
        "answer_unit": unit_label(t, recap.answer.unit),
    }


# ---------------------------------------------------------------------------- one case


@dataclass(frozen=True)
class HistoryRow:
    """One line of a case's history, as the "Riwayat" sheet and the case CSV show it."""

    at: datetime  # office wall-clock time, no tzinfo
    event: str
    role: str
    actor: str
    unit: str
    status_after: str
    note: str
    attachments: int


HISTORY_COLUMNS = (
    "xlsx_col_time",
    "xlsx_col_event",
    "xlsx_col_role",
    "xlsx_col_actor",
    "xlsx_col_unit",
    "xlsx_col_status_after",
    "xlsx_col_note",
    "xlsx_col_attachments",
)


def history_rows(
    events: Sequence[CaseEvent], t: Texts, tz: ZoneInfo, names: Mapping[str, str]
) -> list[HistoryRow]:
    """The events in the order given (the audit trail's order), in words."""
    return [
        HistoryRow(
            at=local(event.at, tz),
            event=label(t, f"event_{event.kind.value}", event.kind.value),
            role=role_name(t, event.actor.role),
            actor=actor_name(event.actor),
            unit=names.get(event.unit_code, event.unit_code) if event.unit_code else "",
            status_after=(
                label(t, f"status_{event.status_after.value}", event.status_after.value)
                if event.status_after is not None
                else ""
            ),
            note=event.note or "",
            attachments=len(event.attachments),
        )
        for event in events
    ]
