"""The recap core: periods, percentiles, the automatic schedule, categories, the LAPOR
form, and the chat summary, on the in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.agency import parse_recaps
from bot.core import views
from bot.core.budget import BudgetUnit
from bot.core.calendar import WorkingCalendar
from bot.core.cases import Refusal
from bot.core.dialogue import Submission
from bot.core.model import Actor, Case, CaseStatus, Channel, Milestones, Privacy
from bot.core.office import AnswerReview, Deadlines, DispositionBy, Office, Workflow
from bot.core.recap import (
    PeriodError,
    PeriodKind,
    RecapFigures,
    build_recap,
    mark_milestones,
    parse_period,
    percentile,
    periods_ended_by,
    queue_automatic,
    recap_query,
    source_counts,
    summary,
)
from bot.core.texts import load_texts
from bot.settings import ConfigError
from tests.fakes import FakeUnitOfWork
from tests.unit.sample import DESCRIPTION, OFFICERS, P2P, YANKES, OfficeWorld, T, sample_office

WIB = ZoneInfo("Asia/Jakarta")
TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
OFFICER = Actor("officer", "900", "Petugas Sari", OFFICERS.address)


@pytest.mark.parametrize(
    ("text", "kind", "first", "last", "label", "title"),
    [
        ("", PeriodKind.MONTH, date(2026, 11, 1), date(2026, 11, 30), "2026-11", "November 2026"),
        (
            "2026-02",
            PeriodKind.MONTH,
            date(2026, 2, 1),
            date(2026, 2, 28),
            "2026-02",
            "Februari 2026",
        ),
        (
            "2024-2",
            PeriodKind.MONTH,
            date(2024, 2, 1),
            date(2024, 2, 29),
            "2024-02",
            "Februari 2024",
        ),
        (
            "2026-Q4",
            PeriodKind.QUARTER,
            date(2026, 10, 1),
            date(2026, 12, 31),
            "2026-Q4",
            "Triwulan IV 2026",
        ),
        (
            "2026q1",
            PeriodKind.QUARTER,
            date(2026, 1, 1),
            date(2026, 3, 31),
            "2026-Q1",
            "Triwulan I 2026",
        ),
        ("2025", PeriodKind.YEAR, date(2025, 1, 1), date(2025, 12, 31), "2025", "Tahun 2025"),
        (
            "2026-11-01..2026-11-15",
            PeriodKind.RANGE,
            date(2026, 11, 1),
            date(2026, 11, 15),
            "2026-11-01..2026-11-15",
            "1 November 2026 – 15 November 2026",
        ),
        (
            "2026-11-03",
            PeriodKind.RANGE,
            date(2026, 11, 3),
            date(2026, 11, 3),
            "2026-11-03..2026-11-03",
            "3 November 2026 – 3 November 2026",
        ),
    ],
)
def test_periods_people_type(
    text: str, kind: PeriodKind, first: date, last: date, label: str, title: str
) -> None:
    period = parse_period(text, TODAY)
    assert (period.kind, period.first, period.last) == (kind, first, last)
    assert (period.label, period.title(T)) == (label, title)
    assert parse_period(period.label, TODAY) == period  # what the job queue stores


@pytest.mark.parametrize(
    "text",
    [
        "2026-13",
        "2026-Q5",
        "kemarin",
        "2026-02-30",
        "2026-11-15..2026-11-01",
        "2020-01-01..2026-01-01",
    ],
)
def test_periods_that_are_not(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text, TODAY)


def test_a_period_is_whole_local_days() -> None:
    start, end = parse_period("2026-11", TODAY).bounds(sample_office())
    assert (start, end) == (
        datetime(2026, 10, 31, 17, 0, tzinfo=UTC),  # 1 November 00:00 WIB
        datetime(2026, 11, 30, 17, 0, tzinfo=UTC),  # 1 December 00:00 WIB
    )


@pytest.mark.parametrize(
    ("day", "labels"),
    [
        (date(2026, 2, 2), ["2026-01"]),
        (date(2026, 4, 1), ["2026-03", "2026-Q1"]),
        (date(2027, 1, 4), ["2026-12", "2026-Q4", "2026"]),
    ],
)
def test_the_periods_a_month_start_ends(day: date, labels: list[str]) -> None:
    assert [p.label for p in periods_ended_by(day)] == labels


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7], 0.9, 7),
        ([1, 2, 3, 4], 0.5, 2.5),
        ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9, 91),
        ([5, 5, 5, 100], 0.5, 5),
    ],
)
def test_percentiles_from_histograms_interpolate_like_percentile_cont(
    values: list[int], q: float, expected: float | None
) -> None:
    histogram = sorted({v: values.count(v) for v in values}.items())
    assert percentile(histogram, q) == expected


async def test_the_automatic_recap_waits_for_the_first_working_day_and_the_hour() -> None:
    office = sample_office(YANKES)
    uow = FakeUnitOfWork()
    # 1 January 2027 is a holiday: the first working day is Monday 4 January.
    assert await queue_automatic(uow, office, datetime(2027, 1, 1, 9, tzinfo=WIB)) == []
    assert await queue_automatic(uow, office, datetime(2027, 1, 4, 7, 59, tzinfo=WIB)) == []
    queued = await queue_automatic(uow, office, datetime(2027, 1, 4, 8, 0, tzinfo=WIB))
    assert [p.label for p in queued] == ["2026-12", "2026-Q4", "2026"]
    assert await queue_automatic(uow, office, datetime(2027, 1, 5, 10, tzinfo=WIB)) == []
    assert [(j.subject, j.chat_id, j.requested_by, j.dedup_key) for j in uow.reports.jobs] == [
        ("2026-12", OFFICERS.address, "otomatis", "auto:2026-12"),
        ("2026-Q4", OFFICERS.address, "otomatis", "auto:2026-Q4"),
        ("2026", OFFICERS.address, "otomatis", "auto:2026"),
    ]


async def test_no_automatic_recap_when_the_office_turns_it_off() -> None:
    office = Office("Dinas", WorkingCalendar(WIB), OFFICERS.address, (YANKES,), recap_at=None)
    assert (
        await queue_automatic(FakeUnitOfWork(), office, datetime(2027, 1, 4, 9, tzinfo=WIB)) == []
    )


def test_categories_from_the_agency_list_or_named_freely() -> None:
    listed = Office(
        "Dinas",
        WorkingCalendar(WIB),
        OFFICERS.address,
        (YANKES,),
        categories=("Obat dan alat kesehatan", "Pelayanan", "Pungutan liar"),
    )
    assert listed.category("pungutan LIAR") == "Pungutan liar"
    assert listed.category("obat") == "Obat dan alat kesehatan"  # a unique beginning
    assert listed.category("p") is None  # Pelayanan or Pungutan liar?
    assert listed.category("Jalan") is None
    free = sample_office(YANKES)
    assert free.category("  jalan   rusak ") == "Jalan rusak"
    assert free.category("x" * 61) is None


async def test_officers_file_a_case_under_a_category_or_hear_the_choices() -> None:
    world = OfficeWorld(
        Office(
            "Dinas",
            WorkingCalendar(WIB),
            OFFICERS.address,
            (YANKES, P2P),
            categories=("Obat", "Pelayanan"),
        )
    )
    reporter = await world.uow.reporters.get_or_create(Channel.TELEGRAM, "5001", "Siti")
    submission = Submission(DESCRIPTION, "Puskesmas", None, None, (), Privacy.NORMAL, "Siti", "08")
    case = await world.desk().submit(reporter, submission)
    world.clear()
    await world.desk().categorize(case.code, "pel", OFFICER)
    assert world.to(OFFICERS) == [f"🏷️ {case.code} masuk kategori Pelayanan (oleh Petugas Sari)."]
    assert case.id is not None
    stored = await world.uow.cases.get(case.id)
    assert stored is not None and stored.category == "Pelayanan"
    with pytest.raises(Refusal) as refused:
        await world.desk().categorize(case.code, "Jalan", OFFICER)
    assert refused.value.params == {"category": "Jalan", "categories": "Obat, Pelayanan"}


async def test_a_free_category_name_has_a_length_limit() -> None:
    world = OfficeWorld(sample_office(YANKES))
    reporter = await world.uow.reporters.get_or_create(Channel.TELEGRAM, "5001", "Siti")
    submission = Submission(DESCRIPTION, "Puskesmas", None, None, (), Privacy.NORMAL, "Siti", "08")
    case = await world.desk().submit(reporter, submission)
    with pytest.raises(Refusal) as refused:
        await world.desk().categorize(case.code, "x" * 61, OFFICER)
    assert (refused.value.key, refused.value.params) == ("err_category_too_long", {"limit": 60})


async def test_the_lapor_form_hides_an_anonim_reporter_and_carries_the_answer() -> None:
    world = OfficeWorld(sample_office(YANKES))
    reporter = await world.uow.reporters.get_or_create(Channel.TELEGRAM, "5001", "Siti")
    submission = Submission(
        DESCRIPTION, "Puskesmas Sukamaju", None, "kemarin pagi", (), Privacy.ANONYMOUS, "Siti", "08"
    )
    case = await world.desk().submit(reporter, submission)
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    unit = Actor("unit", "901", "Staf", YANKES.chat_id)
    await world.desk().answer(case.code, YANKES, "Obat sudah dikirim hari ini.", (), unit)
    assert case.id is not None
    stored = await world.uow.cases.get(case.id)
    assert stored is not None
    form = views.lapor_form(world.office, T, stored, await world.uow.cases.events(case.id))
    assert form.splitlines()[:4] == [
        f"Form manual SP4N-LAPOR! — {case.code}",
        "",
        "Judul laporan: " + DESCRIPTION,
        "Isi laporan: " + DESCRIPTION,
    ]
    assert "Tanggal kejadian: kemarin pagi" in form
    assert "Pelapor: dirahasiakan (anonim)" in form
    assert "Siti" not in form
    assert "Unit penanggung jawab: Bidang Pelayanan Kesehatan (YANKES)" in form
    assert form.endswith("Tindak lanjut: Obat sudah dikirim hari ini.")


def test_the_chat_summary_of_an_empty_period_says_so_plainly() -> None:
    office = sample_office(YANKES)
    recap = build_recap(office, parse_period("2026-10", TODAY), RecapFigures(), datetime.now(UTC))
    text = summary(T, recap)
    assert "Periode: Oktober 2026" in text
    assert "Diterima: 0\n" in text
    assert "Disposisi: median –, – tepat waktu" in text


BY_SOURCE = RecapFigures(
    received=9,
    by_status={"baru": 4, "selesai": 5},
    by_channel={"telegram": 4, "whatsapp": 2, "manual": 3},
    self_reported={"telegram": 4, "whatsapp": 1},
    staff_entered={"Telepon": 2, "SP4N-LAPOR!": 1, "Loket lama": 1},
    lapor_linked=2,
    informed_tasks=5,
    merged=2,
)


def test_the_chat_summary_counts_by_source_and_says_how_many_duplicates_were_merged() -> None:
    office = replace(
        sample_office(YANKES), intake_sources=("Datang langsung", "Telepon", "Surat", "SP4N-LAPOR!")
    )
    recap = build_recap(office, parse_period("2026-11", TODAY), BY_SOURCE, datetime.now(UTC))
    lines = summary(T, recap).splitlines()
    start = lines.index("Diterima: 9 (2 laporan ganda digabung, dihitung sekali)")
    assert lines[start + 2 : start + 5] == [
        # the channels always; the office's sources that had cases, in its order, then
        # one since taken off its list
        "Sumber: Telegram 4, WhatsApp 1, Telepon 2, SP4N-LAPOR! 1, Loket lama 1",
        "Lapor sendiri: 5 · Dicatat petugas: 4 · Terhubung SP4N-LAPOR!: 2",
        "Dikabari petugas: 3 pelapor, 5 kabar disampaikan",
    ]
    english = summary(load_texts("en"), recap)
    assert "Received: 9 (2 duplicate reports merged, counted once)\n" in english
    assert "\nSelf-reported: 5 · Entered by staff: 4 · Linked to SP4N-LAPOR!: 2\n" in english


def test_a_summary_without_staff_entries_or_duplicates_keeps_to_the_channels() -> None:
    figures = RecapFigures(received=3, by_channel={"telegram": 3}, self_reported={"telegram": 3})
    recap = build_recap(
        sample_office(YANKES), parse_period("2026-11", TODAY), figures, datetime.now(UTC)
    )
    text = summary(T, recap)
    assert "\nDiterima: 3\nStatus: –\nSumber: Telegram 3, WhatsApp 0\n" in text
    assert "Lapor sendiri: 3 · Dicatat petugas: 0 · Terhubung SP4N-LAPOR!: 0\nUnit" in text
    assert "digabung" not in text and "Dikabari" not in text


def test_sources_in_order_known_ones_even_at_zero() -> None:
    office = replace(
        sample_office(YANKES), intake_sources=("Datang langsung", "Telepon", "SP4N-LAPOR!")
    )
    recap = build_recap(office, parse_period("2026-11", TODAY), BY_SOURCE, datetime.now(UTC))
    assert [(s.name, s.staff, s.count) for s in source_counts(recap)] == [
        ("telegram", False, 4),
        ("whatsapp", False, 1),
        ("Datang langsung", True, 0),
        ("Telepon", True, 2),
        ("SP4N-LAPOR!", True, 1),
        ("Loket lama", True, 1),
    ]
    assert [s.name for s in source_counts(recap, zeros=False)] == [
        "telegram",
        "whatsapp",
        "Telepon",
        "SP4N-LAPOR!",
        "Loket lama",
    ]
    f = recap.figures
    assert (f.self_reported_total, f.staff_entered_total, f.informed_by_hand, f.listed) == (
        5,
        4,
        3,
        11,
    )


def test_recap_settings_in_the_agency_file() -> None:
    assert parse_recaps({}) == {"recap_at": time(8, 0), "categories": ()}
    assert parse_recaps({"recaps": {"send_time": "", "categories": ["Obat ", "Jalan"]}}) == {
        "recap_at": None,
        "categories": ("Obat", "Jalan"),
    }
    for bad in (
        {"recaps": {"when": "08:00"}},
        {"recaps": {"send_time": "25:00"}},
        {"recaps": {"categories": "Obat"}},
        {"recaps": {"categories": ["Obat", "obat"]}},
        {"recaps": {"categories": ["x" * 61]}},
    ):
        with pytest.raises(ConfigError):
            parse_recaps(bad)


def test_a_period_not_over_yet_is_judged_as_it_stands_now() -> None:
    office = sample_office(YANKES)
    period = parse_period("2026-11", TODAY)
    now = datetime(2026, 11, 27, 10, 0, tzinfo=WIB)
    assert recap_query(office, period, now).end_stamp == office.calendar.stamp(now)
    later = datetime(2026, 12, 5, 10, 0, tzinfo=WIB)
    _, end = period.bounds(office)
    assert recap_query(office, period, later).end_stamp == office.calendar.stamp(end)
    # 08:00-16:00 each working day: 480 stamps a day, and one day's stamps are one budget
    query = recap_query(office, period, later)
    assert (query.verify_minutes, query.answer_minutes, query.case_seconds) == (480, 2400, 5184000)


# ---------------------------------------------------------------- budgets per step (issue 21)


def test_the_summary_names_each_steps_budget() -> None:
    office = sample_office(YANKES)
    figures = RecapFigures(
        received=2, disposition_minutes=((30, 1), (630, 1)), answer_after_disposition=((60, 1),)
    )
    recap = build_recap(office, parse_period("2026-11", TODAY), figures, NOW)
    text = summary(T, recap)
    assert "\nDisposisi: median 5,5 jam kerja, 50% tepat waktu (batas 1 hari kerja)\n" in text
    assert "\nJawaban unit: median 1,0 jam kerja, 100% tepat waktu (batas 5 hari kerja)\n" in text
    assert "\nSelesai: median –, – dalam 60 hari\n" in text
    assert "Persetujuan" not in text and "Tinjauan" not in text  # not in this workflow
    english = summary(load_texts("en"), recap)
    assert "\nForwarding: median 5.5 working hours, 50% on time (limit 1 working day)\n" in english
    assert "\nCompleted: median –, – within 60 days\n" in english


def test_minute_budgets_are_reported_in_minutes_and_the_chains_steps_when_configured() -> None:
    office = replace(
        sample_office(YANKES),
        supervisor_chat_id="-3001",
        deadlines=Deadlines(
            verify_days="5m", approve_days="5m", review_days="2h", case_days_working=True
        ),
        workflow=Workflow(
            answer_review=AnswerReview.OFFICERS, disposition_by=DispositionBy.SUPERVISOR
        ),
    )
    figures = RecapFigures(
        received=3,
        disposition_minutes=((3, 2), (9, 1)),
        approval_minutes=((1, 1), (50, 1)),
        review_minutes=((90, 1),),
    )
    period = parse_period("2026-11", TODAY)
    recap = build_recap(office, period, figures, NOW)
    assert recap.disposition.unit is BudgetUnit.MINUTES and recap.disposition.budget == 5
    assert recap.approval is not None and recap.approval.within == 1
    assert recap.review is not None and recap.review.unit is BudgetUnit.HOURS
    assert recap.first_answer.unit is BudgetUnit.DAYS  # 5m + 5m + 5 days + 2h
    assert recap.first_answer.budget == 5 + 5 + 5 * 480 + 120
    lines = summary(T, recap).splitlines()
    start = lines.index("Usulan disposisi: median 3,0 menit kerja, 67% tepat waktu (batas 5 menit)")
    assert lines[start + 1 : start + 5] == [
        "Persetujuan atasan: median 25,5 menit kerja, 50% tepat waktu (batas 5 menit)",
        "Jawaban unit: median –, – tepat waktu (batas 5 hari kerja)",
        "Tinjauan jawaban: median 1,5 jam kerja, 100% tepat waktu (batas 2 jam)",
        "Selesai: median –, – dalam 60 hari kerja",
    ]
    query = recap_query(office, period, NOW)
    assert (query.verify_minutes, query.approve_minutes, query.review_minutes) == (5, 5, 120)
    assert query.case_minutes == 60 * 480
    plain = recap_query(sample_office(YANKES), period, NOW)
    assert (plain.approve_minutes, plain.review_minutes, plain.case_minutes) == (None, None, None)


def test_the_chains_stamps_follow_the_cases_statuses_first_time_only() -> None:
    calendar = WorkingCalendar(WIB)
    case = Case(
        code="ADU-X",
        reporter_id=1,
        channel=Channel.TELEGRAM,
        description=DESCRIPTION,
        created_at=datetime(2026, 3, 2, 10, 0, tzinfo=WIB),
    )
    filed = calendar.stamp(case.created_at)

    def becomes(status: CaseStatus, minute: int) -> Milestones:
        case.status = status
        if status is CaseStatus.DISPOSED:
            case.first_disposed_at = case.first_disposed_at or case.created_at
        mark_milestones(calendar, case, datetime(2026, 3, 2, 10, minute, tzinfo=WIB))
        return case.milestones

    assert becomes(CaseStatus.NEW, 0) == Milestones(filed, None, None, None)
    assert becomes(CaseStatus.PROPOSED, 2).proposed == filed + 2
    assert becomes(CaseStatus.RETURNED, 3).approved is None  # sent back: not approved
    assert becomes(CaseStatus.PROPOSED, 4).proposed == filed + 2  # the first proposal
    assert becomes(CaseStatus.DISPOSED, 6).approved == filed + 6
    assert becomes(CaseStatus.IN_REVIEW, 20).submitted == filed + 20
    assert becomes(CaseStatus.DISPOSED, 25).reviewed is None  # revision asked
    assert becomes(CaseStatus.IN_REVIEW, 30).submitted == filed + 20
    m = becomes(CaseStatus.ANSWERED, 35)
    assert (m.proposed, m.approved, m.submitted, m.reviewed) == (
        filed + 2,
        filed + 6,
        filed + 20,
        filed + 35,
    )
    assert becomes(CaseStatus.CLOSED, 40).reviewed == filed + 35
    # a case the officers dispose themselves, answered at once: no chain stamps
    plain = Case(
        code="ADU-Y",
        reporter_id=1,
        channel=Channel.TELEGRAM,
        description=DESCRIPTION,
        created_at=datetime(2026, 3, 2, 10, 0, tzinfo=WIB),
        status=CaseStatus.ANSWERED,
    )
    mark_milestones(calendar, plain)
    assert (plain.milestones.approved, plain.milestones.reviewed) == (None, None)
