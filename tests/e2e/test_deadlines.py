"""Deadlines end to end: the real app's APScheduler ticks on a controllable clock, and
what reaches each chat through the Bot API stand-in.

The office closes for Idul Fitri 2026 from Wednesday 18 to Tuesday 24 March. Time is
moved with the service's clock; each check waits for two whole scheduler ticks after
the move, so at least one round ran entirely at the new time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.app import SERVICE
from bot.standins.telegram import TelegramStandIn
from storage.testing import POSTGRESQL, database_params, empty_database
from tests.e2e.conftest import (
    AGENCY,
    OFFICERS,
    SUPERVISOR,
    YANKES,
    World,
    people,
    running,
    start_bot,
    stop_bot,
)
from tests.fakes import FixedClock

WIB = ZoneInfo("Asia/Jakarta")
# Ticks every 50 ms instead of every minute; the daily digest on, at 08:00.
FAST_AGENCY = AGENCY.replace('digest_time = ""', 'digest_time = "08:00"\ntick_seconds = 0.05')
DESCRIPTION = "Antrean pendaftaran di Puskesmas Sukamaju tidak diatur, lansia menunggu berdiri."
NUDGE = "⏰ Pengingat tenggat"


def wib(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


async def after_ticks(world: World, moment: datetime, clock: FixedClock) -> None:
    """Moves the clock and waits until a scheduler round ran wholly at the new time."""
    clock.set(moment)
    async with asyncio.timeout(20):
        await world.service.scheduler.wait_for_ticks(2)
        await world.service.sender.drain()


def said(world: World, chat_id: int, fragment: str) -> list[str]:
    return [text for text in world.tg.texts(chat_id) if fragment in text]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(wib(3, 17, 13, 50))  # Tuesday, the last working day before the holiday


@pytest.fixture
async def world(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=FAST_AGENCY, clock=clock) as world:
        yield world


async def test_an_undisposed_case_filed_before_idul_fitri_is_nudged_on_the_right_day(
    world: World, clock: FixedClock
) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    # the day's digest went out when the service started (a working day, after 08:00)
    assert len(said(world, OFFICERS, "📋 Ringkasan harian 17-03-2026")) == 1

    for quiet in (wib(3, 18, 10), wib(3, 20, 13, 50), wib(3, 24, 15), wib(3, 25, 13, 49)):
        await after_ticks(world, quiet, clock)
    await after_ticks(world, wib(3, 25, 13, 50), clock)  # 1 working day after filing
    nudge = await world.expect(OFFICERS, NUDGE)
    assert f"• {code} — verifikasi dan disposisi, sudah 1 hari kerja (batas 1 hari kerja)" in (
        nudge.content
    )
    assert len(said(world, OFFICERS, NUDGE)) == 1  # and none before, during the holiday
    # digests: none on holidays, one on Wednesday 25 March when the office reopened
    digests = said(world, OFFICERS, "📋 Ringkasan harian")
    assert [d.splitlines()[0] for d in digests] == [
        "📋 Ringkasan harian 17-03-2026",
        "📋 Ringkasan harian 25-03-2026",
    ]
    assert "• Pengaduan baru sejak 17-03-2026 08:00: 1" in digests[1]

    # the officers see it in /antrian and /kasus
    await world.says(world.officer, "/antrian", chat=world.officers)
    queue = await world.expect(OFFICERS, "Kasus terbuka (1)")
    assert code in queue.content and "⏰ terlambat" in queue.content
    await world.says(world.officer, f"/kasus {code}", chat=world.officers)
    detail = await world.expect(OFFICERS, f"Kasus {code}")
    assert "batas 25-03-2026 13:50 — ⏰ TERLAMBAT, sudah 1 hari kerja" in detail.content
    assert "Eskalasi ke atasan bila belum selesai: 26-03-2026 13:50" in detail.content

    # a day later still undisposed: nudged again, and the supervisor hears of it once
    await after_ticks(world, wib(3, 26, 13, 50), clock)
    escalation = await world.expect(SUPERVISOR, "⚠️ Eskalasi")
    assert code in escalation.content and "sudah 2 hari kerja" in escalation.content
    assert len(said(world, OFFICERS, NUDGE)) == 2
    await after_ticks(world, wib(3, 26, 15), clock)
    assert len(said(world, SUPERVISOR, "⚠️ Eskalasi")) == 1

    # disposed: the officers' reminders stop, the unit's clock starts
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await world.expect(YANKES, f"Disposisi {code}")
    await after_ticks(world, wib(3, 27, 13, 50), clock)
    assert len(said(world, OFFICERS, NUDGE)) == 2
    assert said(world, YANKES, NUDGE) == []


async def test_a_reporter_who_never_completes_is_reminded_then_closed(
    world: World, clock: FixedClock
) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(
        world.officer, f"/lengkapi {code} Mohon kirim foto antreannya.", chat=world.officers
    )
    await world.expect(world.citizen.id, "Mohon kirim foto antreannya.")
    # 10 working days from Tuesday 17 March 13:50: 25, 26, 27, 30, 31 March, 1, 2, 6, 7, 8 April
    await after_ticks(world, wib(4, 6, 13, 49), clock)
    assert said(world, world.citizen.id, "⏰ Pengingat") == []
    await after_ticks(world, wib(4, 6, 13, 50), clock)  # two working days before
    reminder = await world.expect(world.citizen.id, "⏰ Pengingat")
    assert "sebelum 08-04-2026 13:50" in reminder.content
    await after_ticks(world, wib(4, 8, 13, 50), clock)
    closed = await world.expect(world.citizen.id, f"Pengaduan {code} kami tutup")
    assert "dalam 10 hari kerja" in closed.content
    told = await world.expect(OFFICERS, "🔒 Ditutup otomatis")
    assert f"{code} — kelengkapan tidak diterima dalam 10 hari kerja" in told.content
    await world.says(world.citizen, "/status")
    await world.expect(world.citizen.id, f"{code} — Selesai")


async def test_a_late_unit_is_reminded_and_a_silent_reporter_closed_after_the_answer(
    world: World, clock: FixedClock
) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    case_message = await world.expect(YANKES, f"Disposisi {code}")
    # 5 working days from Tuesday 17 March 13:50: 25, 26, 27, 30, 31 March
    await after_ticks(world, wib(3, 31, 13, 49), clock)
    assert said(world, YANKES, NUDGE) == []
    await after_ticks(world, wib(3, 31, 13, 50), clock)
    nudge = await world.expect(YANKES, NUDGE)
    assert f"• {code} — tindak lanjut unit, sudah 5 hari kerja (batas 5 hari kerja)" in (
        nudge.content
    )
    assert said(world, OFFICERS, NUDGE) == []  # the unit holds it, not the officers

    clock.set(wib(3, 31, 14, 0))
    await world.says(
        world.unit_staff,
        "Antrean sudah diatur dengan nomor.",
        chat=world.yankes,
        reply_to=case_message,
    )
    await world.expect(world.citizen.id, "Antrean sudah diatur dengan nomor.")
    # 10 working days after the answer: 1, 2, (3 Good Friday), 6 ... 15 April 14:00
    await after_ticks(world, wib(4, 15, 13, 59), clock)
    assert said(world, world.citizen.id, "kami tutup") == []
    assert len(said(world, YANKES, NUDGE)) == 1  # answered: no more reminders
    await after_ticks(world, wib(4, 15, 14, 0), clock)
    closed = await world.expect(world.citizen.id, f"Pengaduan {code} kami tutup")
    assert "tidak ada tanggapan dari Bapak/Ibu dalam 10 hari kerja" in closed.content
    for chat in (OFFICERS, YANKES):
        told = await world.expect(chat, "🔒 Ditutup otomatis")
        assert f"{code} — pelapor tidak menanggapi jawaban dalam 10 hari kerja" in told.content


async def several_rounds(*worlds: World) -> None:
    """Waits for three rounds of each instance at the current time, and their sending."""
    async with asyncio.timeout(30):
        for _ in range(3):
            for world in worlds:
                await world.service.scheduler.wait_for_ticks(2)
        for world in worlds:
            await world.service.sender.drain()


def postgresql_only() -> list[Any]:
    """Several instances share PostgreSQL only (SQLite serves one instance)."""
    return [p for p in database_params() if p.id == POSTGRESQL]


@pytest.mark.parametrize("backend", postgresql_only())
async def test_two_instances_on_one_postgresql_database_send_each_nudge_once(
    tg: TelegramStandIn, tmp_path: Path, clock: FixedClock, backend: str
) -> None:
    async with empty_database(backend, tmp_path) as url:
        instances: list[web.AppRunner] = []
        try:
            address: dict[str, str] = {}
            for name in ("a", "b"):
                folder = tmp_path / name
                folder.mkdir()
                # both behind one address (the first's), as behind a load balancer
                runner, settings = await start_bot(
                    tg, url, folder, agency=FAST_AGENCY, clock=clock, **address
                )
                address = {"PUBLIC_BASE_URL": f"http://{settings.host}:{settings.port}"}
                instances.append(runner)
            first, second = (people(tg, r, r.app[SERVICE].settings) for r in instances)
            first.others = (second.service,)
            code = await first.file_complaint(first.citizen, DESCRIPTION)
            other = await first.file_complaint(first.other_citizen, "Toilet puskesmas rusak.")
            assert len(said(first, OFFICERS, "📋 Ringkasan harian 17-03-2026")) == 1

            clock.set(wib(3, 25, 14))
            await several_rounds(first, second)
            nudge = await first.expect(OFFICERS, NUDGE)
            assert code in nudge.content and other in nudge.content
            assert len(said(first, OFFICERS, NUDGE)) == 1
            await first.expect(OFFICERS, "📋 Ringkasan harian 25-03-2026")
            assert len(said(first, OFFICERS, "📋 Ringkasan harian 25-03-2026")) == 1
            assert said(first, SUPERVISOR, "Eskalasi") == []

            clock.set(wib(3, 26, 14))  # the next day: one repeat, one escalation
            await first.expect(SUPERVISOR, "⚠️ Eskalasi: 2 kasus")
            await several_rounds(first, second)
            assert len(said(first, OFFICERS, NUDGE)) == 2
            assert len(said(first, SUPERVISOR, "⚠️ Eskalasi")) == 1
            # every message of the whole test reached Telegram once
            sent = [(m.chat_id, m.content) for m in tg.messages()]
            assert len(sent) == len(set(sent))
        finally:
            for runner in instances:
                await stop_bot(runner)
