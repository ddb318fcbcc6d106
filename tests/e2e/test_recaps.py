"""SOP 000 step 6 / SOP 001 / SOP 004 step 6: recaps and exports, through the webhooks.

Officers (and the supervisor) ask with `/rekap`, `/ekspor` and `/lapor`; the bot answers
in the same chat with a summary, the XLSX file and the chart. On the first working day
of a month the recaps of the periods just ended reach the supervisor chat by themselves.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.core.model import Case, Channel, ContactDetails, Intake
from bot.core.recap import mark_milestones
from bot.standins.telegram import Chat, SentMessage, TelegramStandIn, User
from tests.e2e.conftest import (
    AGENCY,
    OFFICERS,
    SUPERVISOR,
    YANKES,
    World,
    running,
)
from tests.fakes import FixedClock

WIB = ZoneInfo("Asia/Jakarta")
DESCRIPTION = "Obat hipertensi di Puskesmas Sukamaju kosong sejak dua minggu."
HEAD = User(9001, "Kepala", "Dinas")
SUPERVISOR_CHAT = Chat.group(SUPERVISOR, "Pimpinan")
PNG = b"\x89PNG\r\n\x1a\n"


async def files_after(world: World, chat_id: int, before: int, count: int) -> list[SentMessage]:
    """Waits until the bot has sent `count` files (documents or photos) to the chat."""
    sent = await world.tg.wait_for(
        lambda sent: sum(m.kind in ("document", "photo") for m in sent[before:]) >= count,
        chat_id=chat_id,
        timeout=30.0,
        what=f"{count} files",
    )
    return [m for m in sent[before:] if m.kind in ("document", "photo")]


def workbook(world: World, message: SentMessage) -> dict[str, list[tuple[object, ...]]]:
    assert message.kind == "document" and message.file_id is not None
    book = load_workbook(io.BytesIO(world.tg.file_bytes(message.file_id)), read_only=True)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def row_of(rows: list[tuple[object, ...]], label: str) -> tuple[object, ...]:
    return next(row for row in rows if row and row[0] == label)


async def test_officers_recap_export_and_lapor_text(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/kategori {code} obat", chat=world.officers)
    await world.expect(OFFICERS, f"{code} masuk kategori Obat")
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await world.expect(YANKES, f"Disposisi {code}")

    before = len(world.tg.messages(OFFICERS))
    await world.says(world.officer, "/rekap", chat=world.officers)
    await world.expect(OFFICERS, "sedang disiapkan")
    summary = await world.expect(OFFICERS, "📊 Rekap pengaduan Dinas Kesehatan Kota Contoh")
    assert "Diterima: 1\n" in summary.content
    assert "Status: Dalam Proses 1" in summary.content
    assert "Unit terbanyak: Bidang Pelayanan Kesehatan 1" in summary.content
    # the sender recorded when the acknowledgement reached Telegram
    assert "100% dalam 10 menit" in summary.content
    document, chart = await files_after(world, OFFICERS, before, 2)
    assert document.caption is not None and "Rekap pengaduan" in document.caption
    sheets = workbook(world, document)
    assert next(iter(sheets)) == "Ringkasan"
    cases = sheets[list(sheets)[-1]]
    assert [row[0] for row in cases[1:]] == [code]
    assert chart.kind == "photo" and chart.file_id is not None
    assert world.tg.file_bytes(chart.file_id).startswith(PNG)

    before = len(world.tg.messages(OFFICERS))
    await world.says(world.officer, f"/ekspor {code}", chat=world.officers)
    (export,) = await files_after(world, OFFICERS, before, 1)
    history = workbook(world, export)
    fields = history[next(iter(history))]
    assert row_of(fields, "Kategori")[1] == "Obat"
    events = [row[1] for row in history[list(history)[1]][1:]]
    assert events == ["pengaduan diterima", "kategori ditetapkan", "disposisi"]

    await world.says(world.officer, f"/lapor {code}", chat=world.officers)
    form = await world.expect(OFFICERS, f"Form manual SP4N-LAPOR! — {code}")
    assert f"Isi laporan: {DESCRIPTION}" in form.content
    assert "Kategori: Obat" in form.content
    assert "Pelapor: Siti Aminah, 081234567890" in form.content
    assert "Tindak lanjut: belum ada" in form.content


async def enter_by_phone(world: World, code: str) -> None:
    """A complaint an officer took by phone, stored as `/catat` stores it: its reporter is
    in no chat and hears the news from an officer; SP4N-LAPOR! knows it already."""
    now = world.service.clock.now()
    async with world.service.db.transaction() as uow:
        reporter = await uow.reporters.get_or_create(Channel.MANUAL, f"manual-{code}", "Darto")
        assert reporter.id is not None
        case = Case(
            code=code,
            reporter_id=reporter.id,
            channel=Channel.MANUAL,
            description="Ambulans desa tidak datang saat dipanggil.",
            created_at=now,
            updated_at=now,
            reporter_name="Pak Darto",
            reporter_contact="081211112222",
            intake=Intake("Telepon", now.astimezone(WIB).date(), "700", "Petugas Sari"),
            contacts=ContactDetails("081233334444", "darto@example.id", "Jl. Kenanga 5"),
            lapor_number="4123987",
        )
        mark_milestones(world.service.office.calendar, case)
        await uow.cases.add(case)


async def test_the_recap_counts_by_source_and_a_case_shows_where_it_came_from(
    world: World,
) -> None:
    await world.file_complaint(world.citizen, DESCRIPTION)
    await enter_by_phone(world, "ADU-TLP001")
    # another citizen writes about the same ambulance: a duplicate of the call
    same = await world.file_complaint(world.other_citizen, "Ambulans desa tidak datang.")
    await world.says(world.officer, f"/gabung {same} ADU-TLP001", chat=world.officers)
    await world.expect(OFFICERS, f"{same} digabung ke ADU-TLP001")

    await world.says(world.officer, "/rekap", chat=world.officers)
    summary = (await world.expect(OFFICERS, "📊 Rekap pengaduan")).content
    assert "\nDiterima: 2 (1 laporan ganda digabung, dihitung sekali)\n" in summary
    assert "\nStatus: Baru (menunggu verifikasi) 2\n" in summary  # not the merged one
    assert "\nSumber: Telegram 1, WhatsApp 0, Telepon 1\n" in summary
    assert "\nLapor sendiri: 1 · Dicatat petugas: 1 · Terhubung SP4N-LAPOR!: 1\n" in summary
    assert "\nDikabari petugas: 1 pelapor, 0 kabar disampaikan\n" in summary

    await world.says(world.officer, "/kasus ADU-TLP001", chat=world.officers)
    detail = (await world.expect(OFFICERS, "Kasus ADU-TLP001")).content
    assert "Saluran: Dikabari petugas" in detail
    assert "\nSumber: Telepon · diterima kantor " in detail
    assert " · dicatat oleh Petugas Sari\n" in detail
    others = "WhatsApp 081233334444 · email darto@example.id · alamat Jl. Kenanga 5"
    assert f"\nKontak lain: {others}\n" in detail
    assert "\nNomor SP4N-LAPOR!: 4123987\n" in detail
    await world.says(world.officer, f"/kasus {same}", chat=world.officers)
    await world.expect(OFFICERS, f"Kasus {same} — Selesai · digabung ke ADU-TLP001")

    await world.says(world.officer, "/lapor ADU-TLP001", chat=world.officers)
    form = (await world.expect(OFFICERS, "Form manual SP4N-LAPOR! — ADU-TLP001")).content
    assert "\nSudah tercatat di SP4N-LAPOR! dengan nomor 4123987.\n" in form
    assert ", melalui Telepon\n" in form

    before = len(world.tg.messages(OFFICERS))
    await world.says(world.officer, "/ekspor ADU-TLP001", chat=world.officers)
    (export,) = await files_after(world, OFFICERS, before, 1)
    fields = workbook(world, export)["Pengaduan"]
    assert row_of(fields, "Sumber")[1] == "Telepon"
    assert row_of(fields, "Dicatat oleh")[1] == "Petugas Sari"
    assert row_of(fields, "Nomor SP4N-LAPOR!")[1] == "4123987"
    assert row_of(fields, "Email pelapor")[1] == "darto@example.id"


async def test_supervisor_asks_for_a_period_and_units_may_not(world: World) -> None:
    await world.says(HEAD, "/rekap 2026-13", chat=SUPERVISOR_CHAT)
    await world.expect(SUPERVISOR, 'Periode "2026-13" tidak dikenal')
    before = len(world.tg.messages(SUPERVISOR))
    await world.says(HEAD, "/rekap 2025-Q4", chat=SUPERVISOR_CHAT)
    summary = await world.expect(SUPERVISOR, "Periode: Triwulan IV 2025")
    assert "Diterima: 0\n" in summary.content
    document, _chart = await files_after(world, SUPERVISOR, before, 2)
    assert row_of(workbook(world, document)["Ringkasan"], "Diterima dalam periode")[1] == 0

    await world.says(world.unit_staff, "/rekap", chat=world.yankes)
    await world.expect(YANKES, "hanya dapat dipakai di grup petugas pengaduan atau chat atasan")
    await world.says(HEAD, "/bantuan", chat=SUPERVISOR_CHAT)
    await world.expect(SUPERVISOR, "Perintah chat atasan")


# ------------------------------------------------------------------ the automatic recap

AUTO_AGENCY = AGENCY.replace('send_time = ""', 'send_time = "08:00"').replace(
    'digest_time = ""', 'digest_time = ""\ntick_seconds = 0.05'
)


@pytest.fixture
def clock() -> FixedClock:
    # Tuesday 31 March 2026, 15:00: the last working day of the first quarter.
    return FixedClock(datetime(2026, 3, 31, 15, 0, tzinfo=WIB))


@pytest.fixture
async def auto_world(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=AUTO_AGENCY, clock=clock) as world:
        yield world


async def test_the_month_and_quarter_just_ended_reach_the_supervisor_once(
    auto_world: World, clock: FixedClock
) -> None:
    world = auto_world
    # Started late in March: February's recap, missed on its day, goes out now.
    await world.tg.wait_for(
        lambda sent: any(m.kind == "document" for m in sent),
        chat_id=SUPERVISOR,
        timeout=30.0,
        what="February's workbook",
    )
    await world.file_complaint(world.citizen, DESCRIPTION)
    # Wednesday 1 April 07:59: the first working day, but before the hour.
    clock.set(datetime(2026, 4, 1, 7, 59, tzinfo=WIB))
    await world.service.scheduler.wait_for_ticks(3)
    clock.set(datetime(2026, 4, 1, 8, 0, tzinfo=WIB))
    await world.tg.wait_for(
        lambda sent: sum(m.kind == "document" for m in sent) >= 3,
        chat_id=SUPERVISOR,
        timeout=30.0,
        what="the March and first-quarter workbooks",
    )
    for _ in range(3):  # later rounds, the same day and the next, queue nothing more
        await world.service.scheduler.wait_for_ticks(3)
        clock.set(datetime(2026, 4, 2, 9, 0, tzinfo=WIB))
    await world.service.scheduler.wait_for_ticks(3)
    async with asyncio.timeout(10):
        await world.service.reports.wait_for_jobs(3)
        await world.service.sender.drain()
    summaries = [t for t in world.tg.texts(SUPERVISOR) if "📊" in t]
    assert [s.split("\n")[1] for s in summaries] == [
        "Periode: Februari 2026",
        "Periode: Maret 2026",
        "Periode: Triwulan I 2026",
    ]
    assert ["Diterima: 1\n" in s for s in summaries] == [False, True, True]
    assert world.service.reports.made == 3
    documents = [m for m in world.tg.messages(SUPERVISOR) if m.kind == "document"]
    charts = [m for m in world.tg.messages(SUPERVISOR) if m.kind == "photo"]
    assert (len(documents), len(charts)) == (3, 3)
    assert not [t for t in world.tg.texts(OFFICERS) if "📊" in t]
