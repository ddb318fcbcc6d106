"""SOP 002 step 8 end to end, "Petugas kembali menginformasikan jawaban pengaduan kepada
pelapor", for a reporter who is in no chat with the bot: every sentence the bot would
send them becomes "Kabari pelapor" in the officers' group, nudged until an officer
records with `/dikabari KODE cara` that the reporter was told.

Officers cannot enter such a complaint through `/catat` on this branch (another part of
issue 20 builds it), so the test stores one as `/catat` will: through the service's own
database and CaseDesk, in one transaction. Everything after that goes through Telegram.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.core import deadlines
from bot.core.cases import CaseDesk
from bot.core.model import (
    Actor,
    Case,
    CaseEvent,
    Channel,
    ContactDetails,
    EventKind,
    Intake,
)
from bot.standins.telegram import TelegramStandIn
from storage.models import OutboxRecord
from tests.e2e.conftest import OFFICERS, YANKES, World, running, settled
from tests.e2e.test_buttons import code_spans
from tests.e2e.test_deadlines import FAST_AGENCY, after_ticks, said, wib
from tests.fakes import FixedClock

CODE = "ADU-TLP001"
KABARI = f"📞 Kabari pelapor {CODE}"
REMINDER = "📌 Pengingat tugas"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(wib(3, 17, 10))  # Tuesday, the last working day before Idul Fitri


@pytest.fixture
async def world(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=FAST_AGENCY, clock=clock) as world:
        yield world


async def a_call_is_entered(world: World, clock: FixedClock) -> None:
    """A complaint taken by phone by officer Budi, stored and acknowledged as `/catat`
    stores one: its reporter is reached only by hand."""
    service = world.service
    now = clock.now()
    async with service.db.transaction() as uow:
        desk = CaseDesk(uow, service.office, service.texts, now)
        reporter = await uow.reporters.get_or_create(Channel.MANUAL, "manual:e2e-1", None)
        assert reporter.id is not None
        case = Case(
            code=CODE,
            reporter_id=reporter.id,
            channel=Channel.MANUAL,
            description="Lampu jalan di depan Puskesmas Sukamaju mati sejak seminggu.",
            created_at=now,
            updated_at=now,
            reporter_name="Joko Widodo",
            reporter_contact="081298765432",
            intake=Intake("Telepon", date(2026, 3, 17), str(world.officer.id), "Budi Petugas"),
            contacts=ContactDetails(address="Jl. Kenanga 7, Sukamaju"),
        )
        deadlines.follow(service.office, case, EventKind.SUBMITTED, now)
        await uow.cases.add(case)
        assert case.id is not None
        actor = Actor("staff", str(world.officer.id), "Budi Petugas")
        await uow.cases.add_event(
            case.id, CaseEvent(EventKind.SUBMITTED, now, actor, status_after=case.status)
        )
        await desk.tell_reporter(reporter, "acknowledgement", case, code=CODE)
    service.sender.wake()


async def manual_rows(world: World) -> int:
    async with world.service.db.engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(OutboxRecord).where(OutboxRecord.channel == "manual")
        )
    return int(count or 0)


async def test_a_caller_is_informed_by_an_officer_until_the_case_is_done(
    world: World, clock: FixedClock
) -> None:
    await a_call_is_entered(world, clock)
    acknowledgement = await world.expect(OFFICERS, KABARI)
    assert acknowledgement.content.startswith(
        f"{KABARI} (dicatat oleh Budi Petugas), paling lambat 25-03-2026 10:00"
    )
    for line in (
        "Pelapor: Joko Widodo",
        "Telepon: 081298765432",
        "Alamat: Jl. Kenanga 7, Sukamaju",
        "Yang perlu disampaikan kepada pelapor:\nBaik, informasi pengaduan yang Bapak/Ibu",
        f"Kode pelacakan: {CODE}",
    ):
        assert line in acknowledgement.content, line
    assert code_spans(acknowledgement) == [f"/dikabari {CODE} "]

    # the officers dispose it: one more sentence for the caller
    await world.says(world.officer, f"/disposisi {CODE} YANKES", chat=world.officers)
    disposed = await world.expect(OFFICERS, "sudah diteruskan ke Bidang Pelayanan Kesehatan")
    assert disposed.content.startswith(KABARI)
    assert "Masih ada 1 kabar sebelumnya yang belum disampaikan" in disposed.content

    # not told within 1 working day (the holiday week not counted): nudged on Wednesday
    await after_ticks(world, wib(3, 24, 15), clock)
    assert said(world, OFFICERS, REMINDER) == []
    await after_ticks(world, wib(3, 25, 10), clock)
    nudge = await world.expect(OFFICERS, REMINDER)
    assert (
        f"• {CODE} — kabari pelapor Joko Widodo (081298765432): 2 kabar, sudah 1 hari kerja "
        "(batas 1 hari kerja)"
    ) in nudge.content

    # bad input gets clear answers
    await world.says(world.officer, "/dikabari", chat=world.officers)
    await world.expect(OFFICERS, "Cara pakai: /dikabari KODE [cara]")
    await world.says(world.officer, "/dikabari ADU-ZZZZZZ telepon", chat=world.officers)
    await world.expect(OFFICERS, "ADU-ZZZZZZ")

    # the officer phoned: both sentences recorded as told
    clock.set(wib(3, 25, 11))
    await world.says(
        world.officer, f"/dikabari {CODE.lower()} telepon\x00 ke 0812…", chat=world.officers
    )
    await world.expect(
        OFFICERS,
        f"✅ Pelapor {CODE} sudah dikabari oleh Budi Petugas, lewat telepon ke 0812… (2 kabar",
    )
    await world.says(world.officer, f"/dikabari {CODE} telepon", chat=world.officers)
    await world.expect(OFFICERS, f"Tidak ada kabar untuk pelapor {CODE} yang belum disampaikan.")
    await after_ticks(world, wib(3, 26, 10), clock)
    assert len(said(world, OFFICERS, REMINDER)) == 1  # told: no more reminders

    # the unit answers, the officers close: the caller hears both, never a rating question
    await world.says(world.unit_staff, f"/jawab {CODE} Lampu sudah diganti.", chat=world.yankes)
    answer = await world.expect(
        OFFICERS, f"Tanggapan Bidang Pelayanan Kesehatan atas pengaduan {CODE}"
    )
    assert answer.content.startswith(KABARI) and "Lampu sudah diganti." in answer.content
    await world.expect(OFFICERS, f"Jawaban YANKES untuk {CODE} (pelapor tidak memakai chat")
    await world.expect(YANKES, "sudah diteruskan ke petugas, yang akan mengabari pelapor")
    await world.says(world.officer, f"/selesai {CODE}", chat=world.officers)
    closed = await world.expect(OFFICERS, f"Pengaduan {CODE} telah Selesai.")
    assert closed.content.startswith(KABARI)
    await settled(world)
    assert len(said(world, OFFICERS, KABARI)) == 4
    assert not any("Seberapa puas" in text for text in world.tg.texts(OFFICERS))
    await world.says(world.officer, f"/dikabari {CODE} surat", chat=world.officers)
    await world.expect(OFFICERS, "sudah dikabari oleh Budi Petugas, lewat surat (2 kabar")

    # the history says so, and no message was ever queued for the caller's "chat"
    await world.says(world.officer, f"/kasus {CODE}", chat=world.officers)
    detail = await world.expect(OFFICERS, f"Kasus {CODE}")
    assert "pelapor dikabari petugas (Budi Petugas): telepon ke 0812…" in detail.content
    assert "pelapor dikabari petugas (Budi Petugas): surat" in detail.content
    assert await manual_rows(world) == 0
