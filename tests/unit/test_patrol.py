"""The deadline rules on the in-memory fakes: cases walked through every deadline, across
Idul Fitri 2026, checking exactly which messages go out and to whom.

Idul Fitri 2026 closes the office from Wednesday 18 to Tuesday 24 March (Nyepi, Idul
Fitri and their cuti bersama); Friday 3 April is Good Friday and Friday 1 May Labour
Day. The expected dates below are counted by hand from that calendar, not by the code
under test.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core import views
from bot.core.calendar import WorkingCalendar
from bot.core.model import Case, CaseStatus, Channel, EventKind, Recipient, Step
from bot.core.office import Deadlines, Office
from bot.core.patrol import Round, patrol
from tests.unit.sample import OFFICERS, P2P, P2P_CHAT, YANKES, YANKES_CHAT, OfficeWorld, T
from tests.unit.test_cases import OFFICER, REPORTER, YANKES_STAFF, submission

WIB = ZoneInfo("Asia/Jakarta")
SUPERVISOR = Recipient(Channel.TELEGRAM, "-3001")
OFFICE = Office(
    name="Dinas Kesehatan Kota Contoh",
    calendar=WorkingCalendar(WIB),
    officers_chat_id=OFFICERS.address,
    supervisor_chat_id=SUPERVISOR.address,
    units=(YANKES, P2P),
    deadlines=Deadlines(digest_at=None),  # the digest has tests of its own below
)
DIGEST_OFFICE = dataclasses.replace(OFFICE, deadlines=Deadlines())
EVERYONE = (REPORTER, OFFICERS, YANKES_CHAT, P2P_CHAT, SUPERVISOR)


def wib(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


class World(OfficeWorld):
    def __init__(self, office: Office = OFFICE) -> None:
        super().__init__(office)

    async def file(self, at: datetime) -> Case:
        self.clock.set(at)
        reporter = await self.uow.reporters.get_or_create(
            Channel.WHATSAPP, REPORTER.address, "Siti"
        )
        case = await self.desk().submit(reporter, submission())
        self.clear()
        return case

    async def answered(self) -> Case:
        """Filed Monday 16 March 09:00, disposed at 10:00, answered Tuesday 11:00."""
        case = await self.file(wib(3, 16, 9))
        self.clock.set(wib(3, 16, 10))
        await self.desk().dispose(case.code, "YANKES", None, OFFICER)
        self.clock.set(wib(3, 17, 11))
        await self.desk().answer(case.code, YANKES, "Obat sudah tersedia.", (), YANKES_STAFF)
        return case

    async def case(self, code: str) -> Case:
        case = await self.uow.cases.get_by_code(code)
        assert case is not None
        return case

    async def at(self, moment: datetime) -> Round:
        """One scheduler round at `moment`; returns what it did."""
        self.clock.set(moment)
        return await patrol(self.uow, self.office, T, moment)

    def heard(self) -> dict[Recipient, list[str]]:
        """Who was told what since the last `clear()`; then clears."""
        told = {r: self.to(r) for r in EVERYONE if self.to(r)}
        self.clear()
        return told

    async def kinds(self, code: str) -> list[EventKind]:
        case = await self.case(code)
        assert case.id is not None
        return [e.kind for e in await self.uow.cases.events(case.id)]


@pytest.fixture
def world() -> World:
    return World()


async def test_a_case_filed_before_idul_fitri_is_nudged_on_the_first_working_day_after(
    world: World,
) -> None:
    case = await world.file(wib(3, 17, 14, 0))  # Tuesday, the last working day before
    # 1 working day: Wednesday 25 March 14:00, the holiday week does not count
    assert case.watch is not None and case.watch.due_at == wib(3, 25, 14).astimezone(UTC)

    for quiet in (
        wib(3, 17, 15, 59),
        wib(3, 18, 10),  # cuti bersama Nyepi
        wib(3, 20, 14),  # cuti bersama Idul Fitri
        wib(3, 23, 14),
        wib(3, 24, 14),
        wib(3, 25, 8),
        wib(3, 25, 13, 59),
    ):
        assert not (await world.at(quiet)).acted, quiet
    assert world.heard() == {}

    done = await world.at(wib(3, 25, 14, 0))
    assert done.nudged == {OFFICERS.address: [case.code]}
    told = world.heard()
    assert list(told) == [OFFICERS]
    [nudge] = told[OFFICERS]
    assert nudge.startswith("⏰ Pengingat tenggat: 1 kasus melewati batas waktu.")
    assert (
        f"• {case.code} — verifikasi dan disposisi, sudah 1 hari kerja (batas 1 hari kerja)"
        in nudge
    )
    assert "Mohon segera diverifikasi dan didisposisi" in nudge

    # the same moment again (a second tick, another instance after this one): nothing
    assert not (await world.at(wib(3, 25, 14, 0))).acted
    assert not (await world.at(wib(3, 26, 13, 59))).acted
    assert world.heard() == {}


async def test_an_overdue_case_is_repeated_daily_and_escalated_once_at_twice_the_budget(
    world: World,
) -> None:
    case = await world.file(wib(3, 17, 14, 0))
    await world.at(wib(3, 25, 14))
    world.clear()

    done = await world.at(wib(3, 26, 14))  # 2 working days: nudge again, and escalate
    assert done.escalated == [case.code]
    told = world.heard()
    assert set(told) == {OFFICERS, SUPERVISOR}
    assert "sudah 2 hari kerja" in told[OFFICERS][0]
    [escalation] = told[SUPERVISOR]
    assert escalation.startswith("⚠️ Eskalasi: 1 kasus perlu perhatian atasan.")
    assert (
        f"• {case.code} — verifikasi dan disposisi oleh petugas pengaduan, sudah 2 hari kerja "
        "(batas 1 hari kerja)"
    ) in escalation
    assert EventKind.ESCALATED in await world.kinds(case.code)

    await world.at(wib(3, 27, 14))  # Friday: nudged again, not escalated again
    assert set(world.heard()) == {OFFICERS}
    # the weekend is quiet; Monday repeats
    assert not (await world.at(wib(3, 28, 14))).acted
    assert not (await world.at(wib(3, 29, 14))).acted
    await world.at(wib(3, 30, 14))
    assert set(world.heard()) == {OFFICERS}
    stored = await world.case(case.code)
    assert stored.watch is not None and stored.watch.nudges == 4


async def test_a_case_filed_at_night_on_a_holiday_starts_its_clock_next_working_morning(
    world: World,
) -> None:
    case = await world.file(wib(3, 21, 20, 0))  # Saturday evening, Idul Fitri
    assert case.watch is not None
    assert case.watch.due_at == wib(3, 26, 8).astimezone(UTC)  # Wed 08:00 + 1 working day
    assert not (await world.at(wib(3, 25, 15, 59))).acted
    assert (await world.at(wib(3, 26, 8))).nudged == {OFFICERS.address: [case.code]}


async def test_disposition_stops_the_officers_clock_and_starts_the_units(world: World) -> None:
    case = await world.file(wib(3, 16, 9))
    world.clock.set(wib(3, 16, 10))
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    world.clear()
    stored = await world.case(case.code)
    assert stored.watch is not None and stored.watch.step is Step.ANSWER
    # 5 working days from Monday 16 March 10:00: 17, 25, 26, 27, 30 March
    assert stored.watch.due_at == wib(3, 30, 10).astimezone(UTC)

    assert not (await world.at(wib(3, 30, 9, 59))).acted  # not the officers, not yet the unit
    await world.at(wib(3, 30, 10))
    told = world.heard()
    assert list(told) == [YANKES_CHAT]
    assert (
        f"• {case.code} — tindak lanjut unit, sudah 5 hari kerja (batas 5 hari kerja)"
        in (told[YANKES_CHAT][0])
    )
    assert "/jawab KODE" in told[YANKES_CHAT][0]

    # 10 working days: 31 March, 1, 2, (3 Good Friday), 6, 7 April → escalated Tue 7 April
    for day in (31, 1, 2, 6):
        month = 3 if day == 31 else 4
        await world.at(wib(month, day, 10))
        assert set(world.heard()) == {YANKES_CHAT}, day
    assert not (await world.at(wib(4, 3, 10))).acted  # Good Friday
    await world.at(wib(4, 7, 10))
    told = world.heard()
    assert set(told) == {YANKES_CHAT, SUPERVISOR}
    assert (
        "tindak lanjut unit oleh Bidang Pelayanan Kesehatan (YANKES), sudah 10 hari kerja"
        in (told[SUPERVISOR][0])
    )

    # the unit answers: its clock stops, nothing more is nudged
    world.clock.set(wib(4, 7, 11))
    await world.desk().answer(case.code, YANKES, "Sudah ditangani.", (), YANKES_STAFF)
    world.clear()
    assert not (await world.at(wib(4, 8, 10))).acted


async def test_a_group_nudge_lists_all_its_overdue_cases_in_one_message(world: World) -> None:
    first = await world.file(wib(3, 2, 9))
    second = await world.file(wib(3, 2, 11))
    third = await world.file(wib(3, 3, 15))
    for code in (first.code, second.code):
        world.clock.set(wib(3, 2, 12))
        await world.desk().dispose(code, "P2P", None, OFFICER)
    world.clear()

    # two weeks of downtime: the first round after it acts once, one message per chat
    done = await world.at(wib(3, 16, 13))
    assert done.nudged == {
        OFFICERS.address: [third.code],
        P2P_CHAT.address: [first.code, second.code],
    }
    told = world.heard()
    assert {r: len(m) for r, m in told.items()} == {OFFICERS: 1, P2P_CHAT: 1, SUPERVISOR: 1}
    assert told[P2P_CHAT][0].startswith("⏰ Pengingat tenggat: 2 kasus melewati batas waktu.")
    escalation = told[SUPERVISOR][0]
    assert escalation.startswith("⚠️ Eskalasi: 3 kasus perlu perhatian atasan.")
    assert all(c.code in escalation for c in (first, second, third))
    # and the next ticks find nothing until the next day's repeat
    assert not (await world.at(wib(3, 16, 13, 1))).acted
    assert not (await world.at(wib(3, 16, 15, 59))).acted


async def test_nothing_happens_outside_office_hours(world: World) -> None:
    await world.file(wib(3, 2, 9))
    for moment in (wib(3, 3, 16), wib(3, 3, 23), wib(3, 4, 7, 59), wib(3, 7, 10)):
        assert not (await world.at(moment)).acted, moment
    assert world.heard() == {}
    assert (await world.at(wib(3, 4, 8))).acted


async def test_a_reporter_asked_for_more_is_reminded_once_then_the_case_is_closed(
    world: World,
) -> None:
    case = await world.file(wib(3, 16, 9))
    world.clock.set(wib(3, 16, 10))
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    await world.desk().request_info(case.code, "Mohon kirim foto resep.", OFFICER)
    world.clear()
    stored = await world.case(case.code)
    assert stored.watch is not None and stored.watch.step is Step.COMPLETE
    # 10 working days from Monday 16 March 10:00 → Tuesday 7 April 10:00 (Good Friday off)
    assert stored.watch.due_at == wib(4, 7, 10).astimezone(UTC)

    # the unit is not nudged while the reporter holds the case
    assert not (await world.at(wib(4, 1, 10))).acted
    # 2 working days before: Thursday 2 April 10:00
    assert not (await world.at(wib(4, 2, 9, 59))).acted
    done = await world.at(wib(4, 2, 10))
    assert done.reminded == [case.code]
    told = world.heard()
    assert list(told) == [REPORTER]
    [reminder] = told[REPORTER]
    assert f"pengaduan {case.code} masih menunggu kelengkapan" in reminder
    assert "Mohon kirim foto resep." in reminder
    assert "07-04-2026 10:00" in reminder
    assert not (await world.at(wib(4, 6, 10))).acted  # reminded once only

    done = await world.at(wib(4, 7, 10))
    assert done.closed == [case.code]
    told = world.heard()
    assert set(told) == {REPORTER, OFFICERS, YANKES_CHAT}
    assert told[REPORTER] == [
        f"Pengaduan {case.code} kami tutup karena kelengkapan yang kami minta belum kami "
        "terima dalam 10 hari kerja. Bila masih diperlukan, silakan sampaikan pengaduan baru "
        "dengan /start."
    ]
    line = f"• {case.code} — kelengkapan tidak diterima dalam 10 hari kerja"
    assert told[OFFICERS] == [f"🔒 Ditutup otomatis:\n{line}"]
    assert told[YANKES_CHAT] == [f"🔒 Ditutup otomatis:\n{line}"]
    closed = await world.case(case.code)
    assert closed.status is CaseStatus.CLOSED and closed.watch is None
    assert closed.closed_at == wib(4, 7, 10).astimezone(UTC)
    assert (await world.kinds(case.code))[-2:] == [EventKind.REMINDED, EventKind.EXPIRED]
    assert not (await world.at(wib(4, 8, 10))).acted


async def test_a_reporter_who_completes_in_time_is_not_closed(world: World) -> None:
    case = await world.file(wib(3, 16, 9))
    world.clock.set(wib(3, 16, 10))
    await world.desk().request_info(case.code, "Alamat lengkapnya?", OFFICER)
    world.clock.set(wib(4, 6, 10))
    reporter = await world.uow.reporters.get_or_create(Channel.WHATSAPP, REPORTER.address, None)
    await world.desk().add_from_reporter(
        await world.case(case.code), reporter, "Jl. Melati 3", (), None, True
    )
    world.clear()
    stored = await world.case(case.code)
    # back with the officers, on a fresh 1-day clock from the completion
    assert stored.status is CaseStatus.NEW
    assert stored.watch is not None and stored.watch.step is Step.VERIFY
    assert stored.watch.due_at == wib(4, 7, 10).astimezone(UTC)
    done = await world.at(wib(4, 7, 10))
    assert not done.closed and done.nudged == {OFFICERS.address: [case.code]}


async def test_a_silent_reporter_after_the_answer_is_closed_and_everyone_told(
    world: World,
) -> None:
    case = await world.answered()
    world.clear()
    # 10 working days from Tuesday 17 March 11:00: 25, 26, 27, 30, 31 March, 1, 2, 6, 7, 8 April
    assert not (await world.at(wib(4, 8, 10, 59))).acted
    done = await world.at(wib(4, 8, 11))
    assert done.closed == [case.code] and not done.reminded
    told = world.heard()
    assert set(told) == {REPORTER, OFFICERS, YANKES_CHAT}
    assert told[REPORTER] == [
        f"Pengaduan {case.code} kami tutup karena tidak ada tanggapan dari Bapak/Ibu dalam 10 hari "
        "kerja sejak jawaban kami. Terima kasih telah menyampaikan pengaduan."
    ]
    assert "pelapor tidak menanggapi jawaban dalam 10 hari kerja" in told[OFFICERS][0]
    assert (await world.case(case.code)).status is CaseStatus.CLOSED


async def test_a_reporter_replying_to_the_answer_puts_the_unit_back_on_the_clock(
    world: World,
) -> None:
    case = await world.answered()
    world.clock.set(wib(3, 26, 9))
    reporter = await world.uow.reporters.get_or_create(Channel.WHATSAPP, REPORTER.address, None)
    await world.desk().add_from_reporter(
        await world.case(case.code), reporter, "Belum ada, saya cek tadi.", (), None, True
    )
    world.clear()
    stored = await world.case(case.code)
    assert stored.status is CaseStatus.ANSWERED  # the status the reporter sees stays
    assert stored.watch is not None and stored.watch.step is Step.ANSWER
    # the unit has 5 working days from Thursday 26 March 09:00: due Thursday 2 April
    assert stored.watch.due_at == wib(4, 2, 9).astimezone(UTC)
    assert not (await world.at(wib(4, 1, 16, 0) - timedelta(minutes=1))).acted
    done = await world.at(wib(4, 2, 9))
    assert done.nudged == {YANKES_CHAT.address: [case.code]} and not done.closed


async def test_a_case_open_sixty_days_goes_to_the_supervisor_on_a_working_day(
    world: World,
) -> None:
    case = await world.file(wib(3, 2, 9))
    world.clock.set(wib(3, 2, 10))
    await world.desk().request_info(case.code, "Foto?", OFFICER)
    # keep the reporter's clock from closing it: the reporter keeps answering, the
    # officers keep asking (each request starts a fresh 10 working days)
    for moment in (wib(3, 13, 10), wib(3, 30, 10), wib(4, 13, 10), wib(4, 24, 10)):
        world.clock.set(moment)
        await world.desk().request_info(case.code, "Foto lagi?", OFFICER)
    world.clear()
    # 60 days after 2 March 09:00 is Friday 1 May, Labour Day; Monday 4 May 08:00 it is
    assert not (await world.at(wib(4, 30, 15))).acted
    assert not (await world.at(wib(5, 1, 9))).acted
    done = await world.at(wib(5, 4, 8))
    assert done.escalated == [case.code] and not done.closed
    told = world.heard()
    assert list(told) == [SUPERVISOR]
    assert (
        f"• {case.code} — masih terbuka lebih dari 60 hari sejak diterima 02-03-2026 09:00 "
        "(Perlu dilengkapi, pelapor)"
    ) in told[SUPERVISOR][0]
    assert not (await world.at(wib(5, 5, 8))).acted  # once per case


async def test_without_a_supervisor_chat_escalations_go_to_the_officers() -> None:
    office = Office(
        name="Dinas",
        calendar=WorkingCalendar(WIB),
        officers_chat_id=OFFICERS.address,
        units=(YANKES,),
        deadlines=Deadlines(digest_at=None),
    )
    world = World(office)
    case = await world.file(wib(3, 2, 9))
    await world.at(wib(3, 4, 9))
    [message] = world.heard()[OFFICERS]  # one message with both the escalation and the nudge
    assert message.startswith("⚠️ Eskalasi: 1 kasus")
    assert "⏰ Pengingat tenggat: 1 kasus" in message and case.code in message


async def test_closing_a_case_stops_every_clock(world: World) -> None:
    case = await world.file(wib(3, 2, 9))
    world.clock.set(wib(3, 2, 10))
    await world.desk().close(case.code, None, OFFICER)
    stored = await world.case(case.code)
    assert stored.watch is None and stored.next_check_at is None
    world.clear()
    assert not (await world.at(wib(6, 1, 10))).acted


async def test_a_case_stored_before_deadlines_existed_is_adopted(world: World) -> None:
    case = await world.file(wib(3, 2, 9))
    world.clock.set(wib(3, 2, 10))
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    stored = await world.case(case.code)
    stored.watch = None  # as the migration leaves an open case
    stored.next_check_at = datetime(2000, 1, 1, tzinfo=UTC)
    await world.uow.cases.update(stored)
    world.clear()
    assert not (await world.at(wib(3, 3, 10))).acted  # adopted, not yet due
    adopted = await world.case(case.code)
    assert adopted.watch is not None and adopted.watch.step is Step.ANSWER
    assert adopted.watch.started_at == wib(3, 2, 10).astimezone(UTC)
    assert adopted.watch.due_at == wib(3, 9, 10).astimezone(UTC)


# ---------------------------------------------------------------------- the daily digest


async def test_the_digest_goes_to_the_officers_once_each_working_day_at_eight() -> None:
    world = World(DIGEST_OFFICE)
    overdue = await world.file(wib(3, 5, 9))  # Thursday
    answered = await world.file(wib(3, 5, 10))
    refused = await world.file(wib(3, 6, 9))  # Friday
    fresh = await world.file(wib(3, 6, 11))
    world.clock.set(wib(3, 6, 12))
    await world.desk().dispose(answered.code, "YANKES", None, OFFICER)
    await world.desk().answer(answered.code, YANKES, "Beres.", (), YANKES_STAFF)
    await world.desk().refuse(refused.code, "Bukan kewenangan kami.", OFFICER)
    world.clear()

    assert not (await world.at(wib(3, 7, 8))).acted  # Saturday
    assert not (await world.at(wib(3, 9, 7, 59))).digest  # before eight (and before hours)
    done = await world.at(wib(3, 9, 8))  # Monday
    assert done.digest
    digest = next(m for m in world.heard()[OFFICERS] if m.startswith("📋"))
    assert digest == (
        "📋 Ringkasan harian 09-03-2026\n"
        "• Pengaduan baru sejak 06-03-2026 08:00: 2\n"  # Friday's two; not Thursday's
        "• Menunggu verifikasi/disposisi: 2\n"
        "• Melewati tenggat: 1\n"  # Friday's are due Monday after eight
        "• Dijawab, menunggu penutupan: 1\n"
        "• Ditutup sejak 06-03-2026 08:00: 1\n"
        "Daftar kasus terbuka: /antrian"
    )
    assert done.nudged == {OFFICERS.address: [overdue.code]}
    assert fresh.code not in digest
    assert not (await world.at(wib(3, 9, 8, 1))).digest
    assert not (await world.at(wib(3, 9, 15))).digest
    assert (await world.at(wib(3, 10, 8))).digest


async def test_a_digest_missed_during_downtime_is_sent_once_later_that_day() -> None:
    world = World(DIGEST_OFFICE)
    done = await world.at(wib(3, 3, 11, 30))
    assert done.digest
    assert world.heard()[OFFICERS][0].startswith("📋 Ringkasan harian 03-03-2026")
    assert not (await world.at(wib(3, 3, 11, 31))).digest


async def test_the_digest_time_and_its_absence_are_configurable() -> None:
    late = World(
        Office(
            name="Dinas",
            calendar=WorkingCalendar(WIB, office_start=time(7, 30), office_end=time(15, 30)),
            officers_chat_id=OFFICERS.address,
            units=(YANKES,),
            deadlines=Deadlines(digest_at=time(9, 15)),
        )
    )
    assert not (await late.at(wib(3, 3, 9, 14))).digest
    assert (await late.at(wib(3, 3, 9, 15))).digest
    silent = World(
        Office(
            name="Dinas",
            calendar=WorkingCalendar(WIB),
            officers_chat_id=OFFICERS.address,
            units=(YANKES,),
            deadlines=Deadlines(digest_at=None),
        )
    )
    assert not (await silent.at(wib(3, 3, 9))).acted


async def test_budgets_come_from_the_agency_file(world: World) -> None:
    office = Office(
        name="Dinas",
        calendar=WorkingCalendar(WIB, extra_holidays=[wib(3, 3).date()]),
        officers_chat_id=OFFICERS.address,
        units=(YANKES,),
        deadlines=Deadlines(verify_days=3, escalate_factor=1.0, digest_at=None),
    )
    custom = World(office)
    case = await custom.file(wib(3, 2, 9))
    # 3 working days, Tuesday 3 March being the office's own holiday: 4, 5, 6 March
    assert case.watch is not None and case.watch.due_at == wib(3, 6, 9).astimezone(UTC)
    assert not (await custom.at(wib(3, 5, 15))).acted
    done = await custom.at(wib(3, 6, 9))
    assert done.nudged == {OFFICERS.address: [case.code]}
    assert done.escalated == [case.code]  # factor 1: escalated when overdue


# ---------------------------------------------------------------------- what staff see


async def test_kasus_shows_each_deadline_of_the_step_under_way(world: World) -> None:
    case = await world.file(wib(3, 16, 9))
    world.clock.set(wib(3, 16, 10))
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    await world.at(wib(3, 31, 10))  # overdue since Monday 30 March: nudged
    stored = await world.case(case.code)
    text = views.case_deadlines(OFFICE, T, stored, wib(3, 31, 11))
    assert text.splitlines() == [
        "• Tahap sekarang: tindak lanjut unit (Bidang Pelayanan Kesehatan (YANKES)), sejak "
        "16-03-2026 10:00, batas 30-03-2026 10:00 — ⏰ TERLAMBAT, sudah 6 hari kerja",
        "• Pengingat terkirim: 1×, terakhir 31-03-2026 10:00",
        "• Eskalasi ke atasan bila belum selesai: 07-04-2026 10:00",
        "• Batas 60 hari sejak diterima: 15-05-2026 09:00",
    ]
    world.clock.set(wib(3, 31, 12))
    await world.desk().request_info(case.code, "Nomor resep?", OFFICER)
    asked = views.case_deadlines(OFFICE, T, await world.case(case.code), wib(3, 31, 12))
    assert asked.splitlines() == [
        "• Tahap sekarang: kelengkapan dari pelapor (pelapor), sejak 31-03-2026 12:00, "
        "batas 15-04-2026 12:00",
        "• Pengingat ke pelapor: 13-04-2026 12:00",
        "• Ditutup otomatis bila pelapor diam sampai: 15-04-2026 12:00",
        "• Batas 60 hari sejak diterima: 15-05-2026 09:00",
    ]
    world.clock.set(wib(3, 31, 13))
    await world.desk().close(case.code, None, OFFICER)
    closed = await world.case(case.code)
    assert views.case_deadlines(OFFICE, T, closed, wib(3, 31, 13)) == (
        "Tidak ada (kasus sudah ditutup)."
    )


async def test_antrian_marks_the_overdue_cases(world: World) -> None:
    late = await world.file(wib(3, 2, 9))
    waiting_on_reporter = await world.file(wib(3, 2, 10))
    world.clock.set(wib(3, 2, 11))
    await world.desk().request_info(waiting_on_reporter.code, "Foto?", OFFICER)
    fresh = await world.file(wib(3, 3, 10))
    now = wib(3, 3, 11)
    cases = await world.uow.cases.open_cases(10)
    lines = views.queue(OFFICE, T, cases, now, len(cases)).splitlines()
    assert lines[0] == "Kasus terbuka (3):"
    by_code = {
        code: next(line for line in lines if code in line)
        for code in (late.code, waiting_on_reporter.code, fresh.code)
    }
    assert by_code[late.code].endswith("⏰ terlambat")
    assert "terlambat" not in by_code[waiting_on_reporter.code]  # the reporter holds it
    assert "terlambat" not in by_code[fresh.code]


# ---------------------------------------------------------------------- budgets in office time

# SOP 001: dispose within 5 minutes; reminded every 30 office minutes while overdue; the
# unit answers within 4 hours; a reporter completes within 2 hours, reminded 30 minutes
# before. Twice a budget goes to the supervisor.
MINUTES_OFFICE = dataclasses.replace(
    OFFICE,
    deadlines=Deadlines(
        verify_days="5m",
        answer_days="4h",
        complete_days="2h",
        remind_days_before="30m",
        repeat_days="30m",
        digest_at=None,
    ),
)


@pytest.fixture
def minutes() -> World:
    return World(MINUTES_OFFICE)


async def test_a_minute_budget_nudges_after_five_office_minutes_and_repeats_every_thirty(
    minutes: World,
) -> None:
    case = await minutes.file(wib(3, 2, 10, 0))  # Monday
    assert case.watch is not None and case.watch.due_at == wib(3, 2, 10, 5).astimezone(UTC)
    assert not (await minutes.at(wib(3, 2, 10, 4))).acted
    done = await minutes.at(wib(3, 2, 10, 5))
    assert done.nudged == {OFFICERS.address: [case.code]}
    [nudge] = minutes.heard()[OFFICERS]
    assert f"• {case.code} — verifikasi dan disposisi, sudah 5 menit (batas 5 menit)" in nudge

    # twice the budget: the supervisor hears of it; the officers wait for their repeat
    assert not (await minutes.at(wib(3, 2, 10, 9))).acted
    done = await minutes.at(wib(3, 2, 10, 10))
    assert done.escalated == [case.code] and not done.nudged
    [escalation] = minutes.heard()[SUPERVISOR]
    assert (
        f"• {case.code} — verifikasi dan disposisi oleh petugas pengaduan, sudah 10 menit "
        "(batas 5 menit)"
    ) in escalation
    assert not (await minutes.at(wib(3, 2, 10, 34))).acted
    done = await minutes.at(wib(3, 2, 10, 35))  # 30 office minutes after the first nudge
    assert done.nudged == {OFFICERS.address: [case.code]}
    [again] = minutes.heard()[OFFICERS]
    assert "sudah 35 menit (batas 5 menit)" in again

    # /kasus: the step's budget in minutes, its escalation at 10 minutes
    text = views.case_deadlines(MINUTES_OFFICE, T, await minutes.case(case.code), wib(3, 2, 11))
    assert text.splitlines()[:3] == [
        "• Tahap sekarang: verifikasi dan disposisi (petugas pengaduan), sejak 02-03-2026 "
        "10:00, batas 02-03-2026 10:05 — ⏰ TERLAMBAT, sudah 60 menit",
        "• Pengingat terkirim: 2×, terakhir 02-03-2026 10:35",
        "• Sudah dieskalasi ke atasan: 02-03-2026 10:10",
    ]
    # the repeat runs in office time too: 30 minutes from 15:50 is 08:20 the next day
    await minutes.at(wib(3, 2, 15, 50))
    minutes.clear()
    assert not (await minutes.at(wib(3, 3, 8, 19))).acted
    assert (await minutes.at(wib(3, 3, 8, 20))).nudged == {OFFICERS.address: [case.code]}


async def test_a_minute_budget_stops_for_the_evening_and_the_weekend(minutes: World) -> None:
    case = await minutes.file(wib(3, 6, 15, 58))  # Friday, two minutes before closing
    assert case.watch is not None and case.watch.due_at == wib(3, 9, 8, 3).astimezone(UTC)
    for quiet in (wib(3, 6, 15, 59), wib(3, 7, 10), wib(3, 9, 8, 0), wib(3, 9, 8, 2)):
        assert not (await minutes.at(quiet)).acted, quiet
    assert (await minutes.at(wib(3, 9, 8, 3))).nudged == {OFFICERS.address: [case.code]}


async def test_an_answer_budget_in_hours(minutes: World) -> None:
    case = await minutes.file(wib(3, 2, 13, 0))
    minutes.clock.set(wib(3, 2, 13, 1))
    await minutes.desk().dispose(case.code, "YANKES", None, OFFICER)
    minutes.clear()
    # 4 office hours from 13:01: three today, one tomorrow morning
    stored = await minutes.case(case.code)
    assert stored.watch is not None and stored.watch.due_at == wib(3, 3, 9, 1).astimezone(UTC)
    assert not (await minutes.at(wib(3, 3, 9, 0))).acted
    done = await minutes.at(wib(3, 3, 9, 1))
    assert done.nudged == {YANKES.chat_id: [case.code]}
    [nudge] = minutes.heard()[YANKES_CHAT]
    assert f"• {case.code} — tindak lanjut unit, sudah 4 jam (batas 4 jam)" in nudge


async def test_a_reporter_with_two_hours_is_reminded_half_an_hour_before_closing(
    minutes: World,
) -> None:
    case = await minutes.file(wib(3, 2, 14, 0))
    minutes.clock.set(wib(3, 2, 14, 0))
    await minutes.desk().request_info(case.code, "Mohon kirim foto resep.", OFFICER)
    minutes.clear()
    # 2 office hours from 14:00: 16:00; the reminder 30 minutes before
    assert not (await minutes.at(wib(3, 2, 15, 29))).acted
    assert (await minutes.at(wib(3, 2, 15, 30))).reminded == [case.code]
    [reminder] = minutes.heard()[REPORTER]
    assert "Mohon kirimkan sebelum 02-03-2026 16:00" in reminder
    # 16:00 is closing time: the office closes the case at its next working minute
    assert not (await minutes.at(wib(3, 2, 15, 59))).acted
    done = await minutes.at(wib(3, 3, 8, 0))
    assert done.closed == [case.code]
    told = minutes.heard()
    assert "belum kami terima dalam 2 jam." in told[REPORTER][0]
    assert told[OFFICERS] == [
        f"🔒 Ditutup otomatis:\n• {case.code} — kelengkapan tidak diterima dalam 2 jam"
    ]


async def test_the_whole_case_counted_in_working_days() -> None:
    """`case_days_working`: LAPOR's 60 days are working days (3 here, to be walked)."""
    office = dataclasses.replace(
        OFFICE, deadlines=Deadlines(case_days=3, case_days_working=True, digest_at=None)
    )
    world = World(office)
    case = await world.file(wib(3, 17, 14))  # Tuesday, before Idul Fitri
    world.clock.set(wib(3, 17, 14, 30))
    await world.desk().request_info(case.code, "Alamat lengkapnya?", OFFICER)
    world.clear()
    # 3 working days: 25, 26, 27 March (3 calendar days would be Friday 20 March)
    stored = await world.case(case.code)
    assert views.case_deadlines(office, T, stored, wib(3, 18, 9)).splitlines()[-1] == (
        "• Batas 3 hari kerja sejak diterima: 27-03-2026 14:00"
    )
    assert not (await world.at(wib(3, 27, 13, 59))).escalated
    done = await world.at(wib(3, 27, 14))
    assert done.escalated == [case.code]
    [line] = [line for line in world.heard()[SUPERVISOR][0].splitlines() if case.code in line]
    assert line.startswith(
        f"• {case.code} — masih terbuka lebih dari 3 hari kerja sejak diterima 17-03-2026 14:00"
    )
