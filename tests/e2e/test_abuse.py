"""A reporter who floods the bot: a friendly answer once a minute, a daily allowance of
complaints, and officers who block and unblock a reporter - end to end, on a clock the
test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.model import EventKind
from bot.standins.telegram import TelegramStandIn
from tests.e2e.conftest import AGENCY, OFFICERS, World, running, settled
from tests.fakes import FixedClock

LIMITED = (
    AGENCY
    + """
[limits]
messages_per_minute = 12
cases_per_day = 1
"""
)
DESCRIPTION = "Pegawai kelurahan meminta imbalan untuk surat pengantar yang seharusnya gratis."


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))  # Tuesday 09:00 WIB


@pytest.fixture
async def world(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=LIMITED, clock=clock) as world:
        yield world


def statuses(world: World) -> int:
    return sum("Pengaduan Bapak/Ibu:" in t for t in world.tg.texts(world.citizen.id))


async def test_a_flood_is_answered_once_a_minute_and_complaints_once_a_day(
    world: World, clock: FixedClock
) -> None:
    citizen = world.citizen
    code = await world.file_complaint(citizen, DESCRIPTION)  # 10 messages this minute

    clock.advance(timedelta(minutes=1))
    await world.says(citizen, "/start")  # a second complaint the same day
    said = await world.expect(citizen.id, "pengaduan hari ini")
    assert "sudah mengirim 1 pengaduan hari ini" in said.content

    for _ in range(15):  # 14 more messages in the same minute: 12 allowed
        await world.says(citizen, "/status")
    await settled(world)
    assert statuses(world) == 11  # the /start above was the minute's first
    texts = world.tg.texts(citizen.id)
    assert sum("terlalu cepat" in t for t in texts) == 1  # told once, then quiet
    assert "terlalu cepat" in texts[-1]

    clock.advance(timedelta(minutes=1))  # a new minute
    await world.says(citizen, "/status")
    await settled(world)
    assert statuses(world) == 12

    clock.advance(timedelta(days=1))  # the next day, a new complaint may begin
    await world.says(citizen, "/start")
    await world.expect(citizen.id, "Ceritakan apa yang terjadi")
    assert code in world.tg.texts(OFFICERS)[0]


async def test_officers_block_and_unblock_a_reporter(world: World, clock: FixedClock) -> None:
    citizen = world.citizen
    code = await world.file_complaint(citizen, DESCRIPTION)
    clock.advance(timedelta(minutes=1))

    await world.says(world.officer, f"/blokir {code} mengirim pesan kasar", chat=world.officers)
    blocked = await world.expect(OFFICERS, f"Pelapor {code} diblokir oleh Budi Petugas")
    assert "mengirim pesan kasar" in blocked.content and f"/bukablokir {code}" in blocked.content
    before = len(world.tg.messages(citizen.id)), len(world.tg.messages(OFFICERS))
    for text in ("/status", "dasar petugas tidak becus", "/start"):
        await world.says(citizen, text)
    await settled(world)
    assert (len(world.tg.messages(citizen.id)), len(world.tg.messages(OFFICERS))) == before

    await world.says(world.officer, f"/bukablokir {code}", chat=world.officers)
    await world.expect(OFFICERS, f"Blokir pelapor {code} dibuka oleh Budi Petugas")
    await world.says(citizen, "/status")
    await world.expect(citizen.id, "Pengaduan Bapak/Ibu:")

    async with world.service.db.transaction(readonly=True) as uow:
        case = await uow.cases.get_by_code(code)
        assert case is not None and case.id is not None
        events = await uow.cases.events(case.id)
    trail = [(e.kind, e.actor.user_id, e.note) for e in events if e.kind.name.endswith("BLOCKED")]
    assert trail == [
        (EventKind.BLOCKED, str(world.officer.id), "mengirim pesan kasar"),
        (EventKind.UNBLOCKED, str(world.officer.id), None),
    ]


async def test_an_albums_photos_count_once_against_the_limit(world: World) -> None:
    citizen = world.citizen
    for text in ("/start", DESCRIPTION, "Kantor Kelurahan Sukamaju", "kemarin"):
        await world.says(citizen, text)
    await world.expect(citizen.id, "foto atau dokumen")
    await world.tg.user_sends_album(citizen, 10)  # 4 + 10 photos would pass the 12
    await world.expect(citizen.id, "Lampiran diterima")
    for text in ("selesai", "1", "Siti", "lewati"):
        await world.says(citizen, text)
    summary = await world.expect(citizen.id, "Ringkasan pengaduan")
    assert "Lampiran: 10 berkas" in summary.content
    assert not any("terlalu cepat" in t for t in world.tg.texts(citizen.id))
