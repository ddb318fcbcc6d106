"""The recap's figures, counted by the database, against a known set of cases.

Eight cases are taken through the SOP steps by the case desk on each database, at
chosen moments of March 2026 (before the Nyepi and Lebaran holidays), so every number
below is worked out by hand from the office hours (08:00-16:00 WIB, 480 minutes a
day) and the default budgets (verification 1 working day, answer 5, case 60 days).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from bot.core.cases import CaseDesk
from bot.core.dialogue import Submission
from bot.core.model import (
    Actor,
    Case,
    CaseStatus,
    Channel,
    ContactDetails,
    Intake,
    Privacy,
    Task,
    TaskKind,
)
from bot.core.office import AnswerReview, Deadlines, DispositionBy, Workflow
from bot.core.recap import (
    NO_CATEGORY,
    NO_UNIT,
    RecapFigures,
    UnitTally,
    build_recap,
    mark_milestones,
    parse_period,
    recap_query,
    summary,
)
from bot.core.texts import load_texts
from bot.reports import load_recap, write_recap_xlsx
from storage import Database
from tests.fakes import FixedClock
from tests.unit.sample import P2P, YANKES, sample_office

WIB = ZoneInfo("Asia/Jakarta")
OFFICE = sample_office(YANKES, P2P)
T = load_texts("id")
OFFICER = Actor("officer", "900", "Petugas Sari", "-1001")
YANKES_STAFF = Actor("unit", "901", "Staf Yankes", YANKES.chat_id)
P2P_STAFF = Actor("unit", "902", "Staf P2P", P2P.chat_id)
PERIOD = parse_period("2026-03-02..2026-03-13", date(2026, 3, 20))


def wib(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=WIB)


class Office:
    """Runs desk steps on the database at chosen moments."""

    def __init__(self, database: Database, clock: FixedClock) -> None:
        self.database = database
        self.clock = clock

    async def at(self, moment: datetime, step: Callable[[CaseDesk], Awaitable[Any]]) -> Any:
        self.clock.set(moment)
        async with self.database.transaction() as uow:
            return await step(CaseDesk(uow, OFFICE, T, self.clock.now()))

    async def file(
        self,
        moment: datetime,
        *,
        channel: Channel = Channel.TELEGRAM,
        privacy: Privacy = Privacy.NORMAL,
        acknowledged_after: float | None = None,
    ) -> str:
        async def submit(desk: CaseDesk) -> Case:
            address = f"{channel.value}-{moment.isoformat()}"
            reporter = await desk.uow.reporters.get_or_create(channel, address, "Warga")
            return await desk.submit(
                reporter,
                Submission(
                    "Obat habis di puskesmas",
                    "Puskesmas Contoh",
                    None,
                    None,
                    (),
                    privacy,
                    "Warga",
                    "0812",
                ),
            )

        case = await self.at(moment, submit)
        if acknowledged_after is not None:
            self.clock.advance(timedelta(seconds=acknowledged_after))
            async with self.database.transaction() as uow:
                assert case.id is not None
                await uow.sending.mark_acknowledged(case.id, self.clock.now())
        return str(case.code)


@pytest.fixture
async def figures(database: Database, clock: FixedClock) -> RecapFigures:
    office = Office(database, clock)
    # A: disposed in an hour, answered the next morning, closed and rated 5.
    a = await office.file(wib(2, 9), acknowledged_after=4)
    await office.at(wib(2, 9, 30), lambda d: d.categorize(a, "Obat", OFFICER))
    await office.at(wib(2, 10), lambda d: d.dispose(a, "YANKES", None, OFFICER))
    await office.at(wib(3, 10), lambda d: d.answer(a, YANKES, "Sudah dikirim", (), YANKES_STAFF))
    await office.at(wib(3, 11), lambda d: d.close(a, None, OFFICER))

    async def rate_a(desk: CaseDesk) -> None:
        case = await desk.find(a)
        reporter = await desk.reporter_of(case)
        await desk.rate(case, reporter, 5)

    await office.at(wib(3, 12), rate_a)
    # B: WhatsApp, anonim, filed at night; disposed late; P2P has not answered by the end.
    b = await office.file(
        wib(2, 20), channel=Channel.WHATSAPP, privacy=Privacy.ANONYMOUS, acknowledged_after=30
    )
    await office.at(wib(4, 9), lambda d: d.dispose(b, "P2P", None, OFFICER))
    # C: rahasia, refused within half an hour.
    c = await office.file(wib(3, 8, 30), privacy=Privacy.CONFIDENTIAL, acknowledged_after=10)
    await office.at(wib(3, 9), lambda d: d.refuse(c, "Bukan kewenangan dinas", OFFICER))
    # D: disposed to YANKES, returned (wrong unit), disposed to P2P, answered; still open.
    d = await office.file(wib(4, 14), acknowledged_after=2)
    await office.at(wib(4, 14, 5), lambda dk: dk.categorize(d, "obat", OFFICER))
    await office.at(wib(4, 15), lambda dk: dk.dispose(d, "YANKES", None, OFFICER))
    await office.at(
        wib(5, 9), lambda dk: dk.return_to_officers(d, YANKES, "Salah unit", YANKES_STAFF)
    )
    await office.at(wib(5, 10), lambda dk: dk.dispose(d, "P2P", None, OFFICER))
    await office.at(wib(9, 10), lambda dk: dk.answer(d, P2P, "Sudah ditangani", (), P2P_STAFF))
    # E: filed an hour before the end; not acknowledged yet.
    await office.file(wib(13, 15))
    # F: filed before the period and never disposed: overdue backlog, not counted as received.
    await office.file(wib(27, 10, month=2), acknowledged_after=3)
    # G: filed after the period: in nothing.
    await office.file(wib(14, 10), acknowledged_after=3)
    # H: answered the same morning, closed, asked for a rating that never came.
    h = await office.file(wib(5, 9), acknowledged_after=5)
    await office.at(wib(5, 9, 10), lambda dk: dk.categorize(h, "Jalan  rusak", OFFICER))
    await office.at(wib(5, 9, 30), lambda dk: dk.dispose(h, "YANKES", None, OFFICER))
    await office.at(wib(5, 11, 30), lambda dk: dk.answer(h, YANKES, "Beres", (), YANKES_STAFF))
    await office.at(wib(6, 9), lambda dk: dk.close(h, None, OFFICER))

    clock.set(wib(20, 9))
    async with database.transaction(readonly=True) as uow:
        return await uow.recaps.figures(recap_query(OFFICE, PERIOD, clock.now()))


async def test_every_tally_matches_the_cases(figures: RecapFigures) -> None:
    assert figures.received == 6
    assert figures.by_status == {
        "selesai": 2,
        "didisposisi": 1,
        "ditolak": 1,
        "dijawab": 1,
        "baru": 1,
    }
    assert figures.by_channel == {"telegram": 5, "whatsapp": 1}
    assert figures.by_unit == {"YANKES": 2, "P2P": 2, NO_UNIT: 2}
    assert figures.by_category == {"Obat": 2, "Jalan rusak": 1, NO_CATEGORY: 3}
    assert figures.by_privacy == {"biasa": 4, "anonim": 1, "rahasia": 1}
    assert figures.ack_seconds == ((2, 1), (4, 1), (5, 1), (10, 1), (30, 1))
    # Filing → first disposition: A 60, B 540 (from 08:00 on the 3rd), D 60, H 30.
    assert figures.disposition_minutes == ((30, 1), (60, 2), (540, 1))
    # Filing → first answer: A 420 + 120, D 120 + 480 + 480 + 120, H 150.
    assert figures.first_answer_minutes == ((150, 1), (540, 1), (1200, 1))
    # Filing → closure: C 30, H 420 + 60, A 540 + 60.
    assert figures.closure_minutes == ((30, 1), (480, 1), (600, 1))
    # First disposition → first answer: H 120, A 480, D 60 + 480 + 480 + 120.
    assert figures.answer_after_disposition == ((120, 1), (480, 1), (1140, 1))
    assert figures.closed_within_case_budget == 3
    # Open at the end: B, D, E and F (filed before); late: B (answer) and F (verification).
    assert (figures.open_at_end, figures.overdue_at_end) == (4, 2)
    assert figures.ratings == {5: 1}
    assert figures.rating_requests == 2
    assert figures.units == {
        "YANKES": UnitTally(
            received=2,
            answered=2,
            closed=2,
            returned=1,
            answer_minutes=((120, 1), (480, 1)),
            rating_sum=5,
            rating_count=1,
        ),
        "P2P": UnitTally(
            received=2,
            answered=1,
            open_at_end=2,
            overdue_at_end=1,
            answer_minutes=((1140, 1),),
        ),
    }
    assert [(tb.kind, tb.unit_code, tb.reason, tb.actor_name) for tb in figures.turnbacks] == [
        ("ditolak", None, "Bukan kewenangan dinas", "Petugas Sari"),
        ("dikembalikan", "YANKES", "Salah unit", "Staf Yankes"),
    ]
    assert [tb.at for tb in figures.turnbacks] == [wib(3, 9), wib(5, 9)]
    assert figures.turnback_counts == {"ditolak": 1, "dikembalikan": 1}


async def test_the_recap_reads_medians_percentiles_and_shares(figures: RecapFigures) -> None:
    recap = build_recap(OFFICE, PERIOD, figures, wib(20, 9))
    ack, disposition, answer = recap.acknowledgement, recap.disposition, recap.answer
    assert (ack.reached, ack.median, ack.p90, ack.within) == (5, 5, 22, 5)
    # [30, 60, 60, 540]: median between the 60s; p90 at rank 2.7 → 60 + 0.7 × 480.
    assert disposition.median == 60 and disposition.p90 == pytest.approx(396)
    assert (disposition.within, disposition.share_within) == (3, 0.75)
    assert answer.median == 480 and answer.p90 == pytest.approx(1008) and answer.within == 3
    closure = recap.closure
    assert closure.median == 480 and closure.p90 == pytest.approx(576)
    assert closure.share_within == 1.0
    assert (recap.rating_average, recap.rating_count, recap.rating_response_rate) == (5, 1, 0.5)
    yankes, p2p = recap.units
    assert (yankes.code, yankes.answer.median, yankes.rating_average) == ("YANKES", 300, 5)
    assert (p2p.code, p2p.answer.median, p2p.rating_average) == ("P2P", 1140, None)


async def test_the_workbook_from_the_database_lists_the_periods_cases(
    database: Database, figures: RecapFigures, clock: FixedClock, tmp_path: Path
) -> None:
    recap = await load_recap(database, OFFICE, PERIOD, clock)
    assert recap.figures == figures
    pages: list[int] = []
    path = tmp_path / "rekap.xlsx"
    listed = await write_recap_xlsx(database, OFFICE, T, recap, path, pages.append)
    assert (listed, pages) == (6, [6])
    book = load_workbook(path, read_only=True)
    sheet = book[book.sheetnames[-1]]
    rows = list(sheet.iter_rows(values_only=True))
    codes = [row[0] for row in rows[1:] if row[0]]
    assert len(codes) == 6 and all(code.startswith("ADU-") for code in codes)
    # In the order they were stored (H was stored last, with an earlier time), as local
    # times in real date cells.
    received = [row[1] for row in rows[1:] if row[0]]
    stored_order = [wib(2, 9), wib(2, 20), wib(3, 8, 30), wib(4, 14), wib(13, 15), wib(5, 9)]
    assert received == [moment.replace(tzinfo=None) for moment in stored_order]
    assert sum("(rahasia)" in row for row in rows[1:]) == 1  # C's description is withheld


async def test_a_period_too_long_for_the_file_gets_a_note_instead_of_its_list(
    database: Database, figures: RecapFigures, clock: FixedClock, tmp_path: Path
) -> None:
    recap = await load_recap(database, OFFICE, PERIOD, clock)
    path = tmp_path / "rekap.xlsx"
    assert await write_recap_xlsx(database, OFFICE, T, recap, path, limit=5) == 0
    book = load_workbook(path, read_only=True)
    rows = list(book[book.sheetnames[-1]].iter_rows(values_only=True))
    assert len(rows) == 2
    assert str(rows[1][0]).startswith("Daftar 6 pengaduan terlalu panjang untuk berkas ini")
    summary = list(book["Ringkasan"].iter_rows(values_only=True))
    assert next(row for row in summary if row[0] == "Diterima dalam periode")[1] == 6


# ------------------------------------------------------------------ by source (issue 20)
#
# Complaints officers entered (stored directly, as `/catat` will store them), some with
# an SP4N-LAPOR! number, two duplicates merged into their main case, and the "kabari
# pelapor" tasks of a reporter who is in no chat.

STAFF = Intake("Telepon", date(2026, 3, 5), "900", "Petugas Sari")


async def enter(
    database: Database,
    moment: datetime,
    code: str,
    source: str,
    *,
    channel: Channel = Channel.MANUAL,
    lapor_number: str | None = None,
    merged_into: str | None = None,
) -> Case:
    """A complaint an officer entered: its source, the day received, who entered it."""
    async with database.transaction() as uow:
        reporter = await uow.reporters.get_or_create(channel, f"{channel.value}-{code}", "Darto")
        assert reporter.id is not None
        case = Case(
            code=code,
            reporter_id=reporter.id,
            channel=channel,
            description="Ambulans desa tidak datang saat dipanggil.",
            created_at=moment,
            updated_at=moment,
            reporter_name="Darto",
            reporter_contact="081211112222",
            intake=replace(STAFF, source=source, received_on=moment.date()),
            contacts=ContactDetails("081233334444", "darto@example.id", "Jl. Kenanga 5"),
            lapor_number=lapor_number,
            merged_into=merged_into,
        )
        mark_milestones(OFFICE.calendar, case)
        await uow.cases.add(case)
        return case


async def change(database: Database, code: str, **values: Any) -> None:
    async with database.transaction() as uow:
        case = await uow.cases.get_by_code(code)
        assert case is not None
        for name, value in values.items():
            setattr(case, name, value)
        await uow.cases.update(case)


async def inform_task(
    database: Database, case: Case, kind: TaskKind, done: datetime | None
) -> None:
    assert case.id is not None
    async with database.transaction() as uow:
        await uow.tasks.add(
            Task(case.id, kind, wib(5, 10), wib(6, 10), "Pengaduan diteruskan.", done_at=done)
        )


@pytest.fixture
async def by_source(database: Database, clock: FixedClock) -> RecapFigures:
    office = Office(database, clock)
    # Sent by the reporters themselves: two on Telegram (one since linked to LAPOR), one
    # on WhatsApp, and a WhatsApp duplicate of the first, disposed to P2P and merged
    # into it after the period (`/gabung` closes it): then it counts nowhere, not even
    # among the cases open at the period's end.
    t1 = await office.file(wib(2, 9))
    await office.at(wib(2, 10), lambda d: d.dispose(t1, "YANKES", None, OFFICER))
    t2 = await office.file(wib(3, 9))
    await change(database, t2, lapor_number="4100001")
    await office.file(wib(4, 10), channel=Channel.WHATSAPP)
    w2 = await office.file(wib(4, 11), channel=Channel.WHATSAPP)
    await office.at(wib(4, 12), lambda d: d.dispose(w2, "P2P", None, OFFICER))
    await office.at(wib(16, 9), lambda d: d.merge(w2, t1, OFFICER))
    # Entered by officers: a phone call (its reporter told by hand), a letter about the
    # same thing (merged into the call), two from SP4N-LAPOR! (one reporter reached on
    # WhatsApp), one from a source since taken off the agency file's list, and one
    # after the period.
    m1 = await enter(database, wib(5, 10), "ADU-TLP001", "Telepon")
    await enter(database, wib(5, 11), "ADU-SRT001", "Surat", merged_into=m1.code)
    await enter(
        database,
        wib(6, 9),
        "ADU-LPR001",
        "SP4N-LAPOR!",
        channel=Channel.WHATSAPP,
        lapor_number="4123987",
    )
    await enter(database, wib(9, 9), "ADU-LPR002", "SP4N-LAPOR!", lapor_number="4123988")
    await enter(database, wib(10, 9), "ADU-LKT001", "Loket lama")
    await enter(database, wib(16, 9), "ADU-TLP002", "Telepon")
    await enter(database, wib(16, 10), "ADU-SRT002", "Surat", merged_into="ADU-TLP002")
    # The call's reporter was told twice by hand: once in the period, once after; a
    # third piece of news is still owed; the liaison's LAPOR entry is not news.
    await inform_task(database, m1, TaskKind.INFORM, wib(6, 10))
    await inform_task(database, m1, TaskKind.INFORM, wib(16, 10))
    await inform_task(database, m1, TaskKind.INFORM, None)
    await inform_task(database, m1, TaskKind.LAPOR_ENTRY, wib(6, 11))

    clock.set(wib(20, 9))
    async with database.transaction(readonly=True) as uow:
        return await uow.recaps.figures(recap_query(OFFICE, PERIOD, clock.now()))


async def test_the_recap_counts_by_source_and_each_merged_pair_once(
    by_source: RecapFigures,
) -> None:
    f = by_source
    assert f.received == 7  # nine in the period, less the two duplicates
    assert f.self_reported == {"telegram": 2, "whatsapp": 1}
    assert f.staff_entered == {"Telepon": 1, "SP4N-LAPOR!": 2, "Loket lama": 1}
    assert (f.self_reported_total, f.staff_entered_total) == (3, 4)
    assert f.lapor_linked == 3
    assert f.by_channel == {"telegram": 2, "whatsapp": 2, "manual": 3}
    assert f.informed_by_hand == 3
    assert f.informed_tasks == 1
    assert f.merged == 2
    # the duplicates are in no other count either
    assert f.by_status == {"didisposisi": 1, "baru": 6}
    assert f.by_unit == {"YANKES": 1, NO_UNIT: 6}
    assert f.disposition_minutes == ((60, 1),)  # the main case's; not the duplicate's
    assert f.closure_minutes == () and f.closed_within_case_budget == 0  # merging closes
    # open at the end, all of them late (verification, or YANKES's answer to the first);
    # not the duplicates, open as they are (P2P holds one)
    assert (f.open_at_end, f.overdue_at_end) == (7, 7)
    assert {code: (t.open_at_end, t.overdue_at_end) for code, t in f.units.items()} == {
        "YANKES": (1, 1),
        "P2P": (0, 0),
    }
    assert sum(f.by_privacy.values()) == sum(f.by_category.values()) == 7


async def test_the_case_list_holds_the_duplicates_with_where_every_case_came_from(
    database: Database, by_source: RecapFigures, clock: FixedClock, tmp_path: Path
) -> None:
    start, end = PERIOD.bounds(OFFICE)
    async with database.transaction(readonly=True) as uow:
        rows = [row for _, row in await uow.recaps.case_rows(start, end, 0, 100)]
    staff = {row.code: (row.channel, row.source, row.lapor_number, row.merged_into) for row in rows}
    assert len(rows) == by_source.listed == 9
    assert {
        code: facts for code, facts in staff.items() if code.startswith("ADU-") and facts[1]
    } == {
        "ADU-TLP001": ("manual", "Telepon", None, None),
        "ADU-SRT001": ("manual", "Surat", None, "ADU-TLP001"),
        "ADU-LPR001": ("whatsapp", "SP4N-LAPOR!", "4123987", None),
        "ADU-LPR002": ("manual", "SP4N-LAPOR!", "4123988", None),
        "ADU-LKT001": ("manual", "Loket lama", None, None),
    }
    assert sorted(facts[2] or "" for facts in staff.values() if not facts[1]) == [
        "",
        "",
        "",
        "4100001",
    ]
    # the workbook: the figures on the summary sheet, every case on the list
    recap = await load_recap(database, OFFICE, PERIOD, clock)
    path = tmp_path / "rekap.xlsx"
    assert await write_recap_xlsx(database, OFFICE, T, recap, path) == 9
    book = load_workbook(path, read_only=True)
    summary = list(book["Ringkasan"].iter_rows(values_only=True))
    assert next(row for row in summary if row[0] == "Telepon")[1] == 1
    assert next(row for row in summary if row[0] == "Dicatat petugas")[1] == 4
    assert next(row for row in summary if row[0] and "ganda digabung" in row[0])[1] == 2
    listed = list(book["Daftar Pengaduan"].iter_rows(values_only=True))
    assert ("ADU-SRT001", "Surat", None, "ADU-TLP001") in [
        (row[0], row[17], row[18], row[19]) for row in listed
    ]
    # a period too long for the file counts its duplicates among the cases to list
    assert await write_recap_xlsx(database, OFFICE, T, recap, tmp_path / "k.xlsx", limit=8) == 0


async def test_the_recap_reads_the_period_from_its_covering_index(
    database: Database, by_source: RecapFigures, clock: FixedClock
) -> None:
    """Every count over the period's cases is answered from ix_cases_recap alone; the
    duplicates among the cases open at its end are found through ix_cases_merged_into."""
    seen: list[tuple[str, Any]] = []
    duplicates: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM cases" in statement and "JOIN" not in statement and "created_at >=" in statement:
            seen.append((statement, parameters))
        elif "merged_into >" in statement:
            duplicates.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with database.transaction(readonly=True) as uow:
            await uow.recaps.figures(recap_query(OFFICE, PERIOD, clock.now()))
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    assert len(seen) == 8  # the breakdown, six histograms, the duplicates
    async with database.engine.connect() as connection:
        if database.dialect == "postgresql":
            await connection.exec_driver_sql("SET enable_seqscan = off")
            await connection.exec_driver_sql("SET enable_bitmapscan = off")
            explain = "EXPLAIN "
        else:
            explain = "EXPLAIN QUERY PLAN "
        for statement, parameters in seen:
            result = await connection.exec_driver_sql(explain + statement, parameters)
            plan = " ".join(str(value) for line in result.all() for value in line)
            if database.dialect == "postgresql":
                assert "Index Only Scan using ix_cases_recap" in plan, plan
            else:
                assert "COVERING INDEX ix_cases_recap" in plan, (statement, plan)
        [(statement, parameters)] = duplicates
        result = await connection.exec_driver_sql(explain + statement, parameters)
        plan = " ".join(str(value) for line in result.all() for value in line)
        assert "ix_cases_merged_into" in plan, plan


# ------------------------------------------------------------ the chain's steps (issue 21)
#
# An office on SOP 001's clock: verification 5 minutes, the supervisor's approval 5, the
# unit's answer 1 hour, its review 10 minutes, the whole case 1 working day. Cases are
# walked through the chain's statuses at chosen moments (as the desk's _record stamps
# them: `mark_milestones` as each status is stored).

CHAIN_OFFICE = replace(
    OFFICE,
    deadlines=Deadlines(
        verify_days="5m",
        approve_days="5m",
        answer_days="1h",
        review_days="10m",
        case_days=1,
        case_days_working=True,
    ),
    workflow=Workflow(
        answer_review=AnswerReview.SUPERVISOR, disposition_by=DispositionBy.SUPERVISOR
    ),
    supervisor_chat_id="-3001",
)


async def walk(database: Database, code: str, moment: datetime, status: CaseStatus) -> None:
    """The case reaches `status` at `moment`, with the times the desk would set."""
    async with database.transaction() as uow:
        case = await uow.cases.get_by_code(code)
        assert case is not None
        case.status = status
        case.updated_at = moment
        if status is CaseStatus.DISPOSED:
            case.disposed_at = moment
            case.first_disposed_at = case.first_disposed_at or moment
        elif status is CaseStatus.ANSWERED:
            case.answered_at = case.answered_at or moment
        elif status is CaseStatus.CLOSED:
            case.closed_at = moment
        mark_milestones(CHAIN_OFFICE.calendar, case, moment)
        await uow.cases.update(case)


@pytest.fixture
async def chain(database: Database, clock: FixedClock) -> RecapFigures:
    S = CaseStatus
    # P, Monday 2 March: proposed in 3 minutes, approved in 3, put to review after 34,
    # sent back for revision, put to review again, approved 18 minutes after the first
    # submission; closed an hour after filing.
    p = (await enter(database, wib(2, 10), "ADU-P", "Telepon")).code
    for moment, status in (
        (wib(2, 10, 3), S.PROPOSED),
        (wib(2, 10, 6), S.DISPOSED),
        (wib(2, 10, 40), S.IN_REVIEW),
        (wib(2, 10, 45), S.DISPOSED),
        (wib(2, 10, 50), S.IN_REVIEW),
        (wib(2, 10, 58), S.ANSWERED),
        (wib(2, 11), S.CLOSED),
    ):
        await walk(database, p, moment, status)
    # Q, filed two minutes before Friday's closing: proposed on Monday at 08:05 (7 office
    # minutes), approved at 08:07, put to review at 09:30, sent at 09:35, closed on
    # Wednesday (1057 office minutes: past its working day).
    q = (await enter(database, wib(6, 15, 58), "ADU-Q", "Telepon")).code
    for moment, status in (
        (wib(9, 8, 5), S.PROPOSED),
        (wib(9, 8, 7), S.DISPOSED),
        (wib(9, 9, 30), S.IN_REVIEW),
        (wib(9, 9, 35), S.ANSWERED),
        (wib(11, 9, 35), S.CLOSED),
    ):
        await walk(database, q, moment, status)
    # R: proposed and never approved, open and late at the period's end.
    r = (await enter(database, wib(12, 10), "ADU-R", "Telepon")).code
    await walk(database, r, wib(12, 10, 2), S.PROPOSED)
    # S: disposed by the officers without a proposal (before the workflow changed) and
    # answered without review: in the verification and the answer, not the chain's steps.
    s = (await enter(database, wib(3, 9), "ADU-S", "Telepon")).code
    await walk(database, s, wib(3, 9, 4), S.DISPOSED)
    await walk(database, s, wib(3, 9, 30), S.ANSWERED)

    clock.set(wib(20, 9))
    async with database.transaction(readonly=True) as uow:
        return await uow.recaps.figures(recap_query(CHAIN_OFFICE, PERIOD, clock.now()))


async def test_each_step_of_the_chain_is_timed_from_its_stamps(
    database: Database, chain: RecapFigures
) -> None:
    async with database.transaction(readonly=True) as uow:
        p = await uow.cases.get_by_code("ADU-P")
    assert p is not None
    first = CHAIN_OFFICE.calendar.stamp(wib(2, 10))
    m = p.milestones
    assert (m.proposed, m.approved, m.submitted, m.reviewed) == (
        first + 3,
        first + 6,
        first + 40,  # the first submission, not the one after the revision
        first + 58,
    )
    f = chain
    # verification: P 3, Q 2 + 5, R 2, S 4 (its disposition, no proposal)
    assert f.disposition_minutes == ((2, 1), (3, 1), (4, 1), (7, 1))
    assert f.approval_minutes == ((2, 1), (3, 1))  # P, Q
    # the unit: from the disposition in effect to its first answer: P 34, Q 83, S 26
    assert f.answer_after_disposition == ((26, 1), (34, 1), (83, 1))
    assert f.review_minutes == ((5, 1), (18, 1))  # Q, P (revision included)
    # the reporter's first answer: S 30, P 58, Q 2 + 95
    assert f.first_answer_minutes == ((30, 1), (58, 1), (97, 1))
    assert f.closure_minutes == ((60, 1), (1057, 1))
    assert f.closed_within_case_budget == 1  # P: within 1 working day (480 minutes)
    # open at the end: R (late: its 10 minutes to a disposition are long gone) and S
    assert (f.open_at_end, f.overdue_at_end) == (2, 1)
    assert f.units == {}  # entered and never given a unit


async def test_the_recap_judges_each_step_by_its_budget_in_its_unit(
    database: Database, chain: RecapFigures, clock: FixedClock, tmp_path: Path
) -> None:
    recap = build_recap(CHAIN_OFFICE, PERIOD, chain, wib(20, 9))
    assert recap.approval is not None and recap.review is not None
    assert (recap.disposition.within, recap.disposition.budget) == (3, 5)  # Q was late
    assert (recap.approval.within, recap.approval.budget) == (2, 5)
    assert (recap.answer.within, recap.answer.budget) == (2, 60)  # Q took 83 minutes
    assert (recap.review.within, recap.review.budget) == (1, 10)  # P took 18
    assert (recap.first_answer.within, recap.first_answer.budget) == (2, 80)
    assert recap.closure.share_within == 0.5
    text = summary(T, recap)
    for line in (
        "Usulan disposisi: median 3,5 menit kerja, 75% tepat waktu (batas 5 menit)",
        "Persetujuan atasan: median 2,5 menit kerja, 100% tepat waktu (batas 5 menit)",
        "Jawaban unit: median 0,6 jam kerja, 67% tepat waktu (batas 1 jam)",
        "Tinjauan jawaban: median 11,5 menit kerja, 50% tepat waktu (batas 10 menit)",
        "Selesai: median 1,2 hari kerja, 50% dalam 1 hari kerja",
    ):
        assert f"\n{line}\n" in text, line

    # the workbook: each step in its budget's unit, on the summary and in the case list
    recap = await load_recap(database, CHAIN_OFFICE, PERIOD, clock)
    path = tmp_path / "rekap.xlsx"
    assert await write_recap_xlsx(database, CHAIN_OFFICE, T, recap, path) == 4
    book = load_workbook(path, read_only=True)
    rows = {row[0]: row[1:7] for row in book["Ringkasan"].iter_rows(values_only=True)}
    # [2, 3, 4, 7]: the 90th percentile at rank 2.7, 4 + 0.7 × 3
    assert rows["Usulan disposisi sejak diterima (menit kerja)"] == (
        4,
        3.5,
        pytest.approx(6.1),
        5,
        3,
        0.75,
    )
    assert rows["Persetujuan atasan sejak diusulkan (menit kerja)"][3:] == (5, 2, 1)
    assert rows["Jawaban unit sejak disposisi (jam kerja)"][3] == 1
    assert rows["Tinjauan jawaban sejak diajukan (menit kerja)"][1:4] == (
        11.5,
        pytest.approx(16.7),
        10,
    )
    assert rows["Jawaban pertama sejak diterima (jam kerja)"][3] == pytest.approx(80 / 60)
    assert rows["Selesai sejak diterima (hari kerja)"][3:5] == (1, 1)
    listed = list(book["Daftar Pengaduan"].iter_rows(values_only=True))
    header = listed[0]
    assert header[13:16] == (
        "Lama disposisi (menit kerja)",
        "Lama jawaban pertama (jam kerja)",
        "Lama penyelesaian (hari kerja)",
    )
    p = next(row for row in listed if row[0] == "ADU-P")
    assert p[13:16] == (3, pytest.approx(58 / 60), 0.125)


async def test_the_chains_steps_are_read_from_the_covering_index_too(
    database: Database, chain: RecapFigures, clock: FixedClock
) -> None:
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM cases" in statement and "JOIN" not in statement and "created_at >=" in statement:
            seen.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with database.transaction(readonly=True) as uow:
            await uow.recaps.figures(recap_query(CHAIN_OFFICE, PERIOD, clock.now()))
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    assert len(seen) == 10  # the eight of every office, and the approval and the review
    async with database.engine.connect() as connection:
        if database.dialect == "postgresql":
            await connection.exec_driver_sql("SET enable_seqscan = off")
            await connection.exec_driver_sql("SET enable_bitmapscan = off")
            explain = "EXPLAIN "
        else:
            explain = "EXPLAIN QUERY PLAN "
        for statement, parameters in seen:
            result = await connection.exec_driver_sql(explain + statement, parameters)
            plan = " ".join(str(value) for line in result.all() for value in line)
            if database.dialect == "postgresql":
                assert "Index Only Scan using ix_cases_recap" in plan, plan
            else:
                assert "COVERING INDEX ix_cases_recap" in plan, (statement, plan)
