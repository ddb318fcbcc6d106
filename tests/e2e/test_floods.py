"""Floods and leftovers, end to end: a blocked reporter's files are never fetched, files
nothing refers to are swept away, and one reporter cannot flood the staff's groups."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.model import Channel, EventKind, Recipient
from bot.standins.telegram import TelegramStandIn
from bot.standins.twilio import TwilioStandIn, WhatsAppUser
from tests.e2e.conftest import (
    OFFICERS,
    World,
    people,
    running,
    settled,
    start_bot,
    stop_bot,
    twilio_settings,
)
from tests.e2e.test_whatsapp import JPEG, Both
from tests.fakes import FixedClock
from tests.unit.test_scrub import pdf_by

DESCRIPTION = "Pegawai kelurahan meminta imbalan untuk surat pengantar yang seharusnya gratis."


@pytest.fixture
async def both(tg: TelegramStandIn, database_url: str, tmp_path: Path) -> AsyncIterator[Both]:
    async with TwilioStandIn() as tw:
        runner, settings = await start_bot(
            tg, database_url, tmp_path, **twilio_settings(tw, tmp_path)
        )
        tw.configure_webhooks(f"{settings.public_base_url}/webhook/whatsapp")
        try:
            yield Both(people(tg, runner, settings), tw, WhatsAppUser("+6281298765432", "Siti R"))
        finally:
            await stop_bot(runner)


def stored_files(folder: Path) -> list[Path]:
    """The media kept in MEDIA_DIR (the exports' own folder aside)."""
    return [p for p in folder.glob("*") if p.is_file()] if folder.is_dir() else []


async def block(world: World, code: str) -> None:
    await world.says(world.officer, f"/blokir {code} berkas tak henti", chat=world.officers)
    await world.expect(OFFICERS, f"Pelapor {code} diblokir")


async def test_a_blocked_whatsapp_reporters_pdf_is_never_fetched(both: Both) -> None:
    world, tw = both.world, both.tw
    code = await both.complaint()
    await block(world, code)
    fetched = len(tw.media_fetches)

    await tw.user_sends_media(both.siti, [(pdf_by("Siti Rahma", pages=30), "application/pdf")])
    await world.service.processor.caught_up()

    assert len(tw.media_fetches) == fetched  # not even asked for
    assert stored_files(world.settings.media_dir) == []
    assert not any("tidak dapat" in m.text for m in tw.messages(both.siti))  # ignored, as before


async def test_a_blocked_telegram_reporters_pdf_is_never_fetched(world: World) -> None:
    tg = world.tg
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await block(world, code)
    before = len(world.tg.messages(world.citizen.id))

    pdf = pdf_by("Siti Aminah", pages=30)
    await tg.deliver(tg.document_update(world.citizen, data=pdf, file_name="bukti.pdf"))
    await world.service.processor.caught_up()

    assert tg.calls("getFile") == []
    assert len(world.tg.messages(world.citizen.id)) == before  # ignored, as before


async def test_files_nothing_refers_to_are_removed_after_a_grace_period(both: Both) -> None:
    world, tw = both.world, both.tw
    media = world.settings.media_dir
    # a PDF sent during an intake the reporter then cancels: kept, then referred to by nothing
    for text, prompt in (
        ("halo", "Ceritakan"),
        (DESCRIPTION, "Di mana"),
        ("Kantor Kelurahan", "Kapan"),
        ("tadi", "foto atau dokumen"),
    ):
        await both.says(text)
        await both.expect(prompt)
    await tw.user_sends_media(both.siti, [(pdf_by("Siti Rahma"), "application/pdf")])
    await both.expect("Lampiran diterima (1 berkas)")
    await both.says("batal")
    await both.expect("dibatalkan")
    [cancelled] = stored_files(media)
    # a photo of a complaint filed: referred to by its case
    await both.complaint(files=[(JPEG, "image/jpeg")])
    [filed] = [p for p in stored_files(media) if p != cancelled]
    # and a file someone's message is being prepared with right now
    fresh = media / "MMfresh-0.pdf"
    fresh.write_bytes(pdf_by("Siti Rahma"))

    hours_ago = (world.service.clock.now() - timedelta(hours=2)).timestamp()
    for old in (cancelled, filed):
        os.utime(old, (hours_ago, hours_ago))
    assert await world.service.scheduler.sweep() == 1

    assert sorted(stored_files(media)) == sorted([filed, fresh])


# ---------------------------------------------------------------- what one reporter can push
@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))  # Tuesday 09:00 WIB


@pytest.fixture
async def ticking(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[World]:
    """The bot on a clock the test moves (its scheduler ticks when the test asks)."""
    async with running(tg, database_url, tmp_path, clock=clock) as world:
        yield world


def follow_ups(world: World, code: str) -> list[str]:
    return [t for t in world.tg.texts(OFFICERS) if f"pelapor untuk {code}" in t]


async def test_a_flood_of_long_follow_ups_reaches_the_officers_bounded(
    ticking: World, clock: FixedClock
) -> None:
    world = ticking
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    clock.advance(timedelta(minutes=1))  # the complaint's messages were a minute's worth
    sent = [f"Tambahan ke-{n}: " + f"kalimat {n} yang panjang sekali. " * 130 for n in range(10)]
    assert all(len(text) > 4000 for text in sent)
    before = len(world.tg.messages(OFFICERS))

    for text in sent:  # ten messages of 4,000 characters in one minute
        await world.says(world.citizen, text)
    await settled(world)

    relayed = world.tg.texts(OFFICERS)[before:]
    assert len(relayed) == len(follow_ups(world, code)) == 3  # the first three, one message each
    for n, text in enumerate(relayed):
        assert text.startswith(f"💬 Pesan tambahan pelapor untuk {code}:\nTambahan ke-{n}: ")
        assert text.endswith(f"… (terpotong; teks lengkap di /kasus {code})")
        assert len(text) < 1700

    clock.advance(timedelta(minutes=1))
    await world.service.scheduler.tick()
    await settled(world)
    [digest] = world.tg.texts(OFFICERS)[before + 3 :]  # the other seven, in one message
    assert f"7 pesan tambahan lain dari pelapor {code}" in digest
    assert [n for n in range(10) if f"Tambahan ke-{n}:" in digest] == [3, 4, 5, 6, 7, 8, 9]
    assert f"/kasus {code}" in digest and len(digest) < 4096
    await world.service.scheduler.tick()  # a second round relays nothing again
    await settled(world)
    assert len(world.tg.texts(OFFICERS)) == before + 4

    async with world.service.db.transaction(readonly=True) as uow:
        case = await uow.cases.get_by_code(code)
        assert case is not None and case.id is not None
        events = await uow.cases.events(case.id)
    assert [e.note for e in events if e.kind is EventKind.FOLLOW_UP] == [t.strip() for t in sent]


async def test_a_new_case_reaches_the_officers_before_a_backlog_of_follow_ups(
    ticking: World, clock: FixedClock
) -> None:
    world = ticking
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    clock.advance(timedelta(minutes=1))
    world.tg.block(OFFICERS)  # the officers' group is held up (the bot was removed)
    for n in range(3):
        await world.says(world.citizen, f"Tambahan ke-{n} untuk petugas.")
    await world.service.processor.caught_up()
    other = await world.file_complaint_no_wait(world.other_citizen, DESCRIPTION)

    await world.service.processor.caught_up()  # the new case's relay is queued
    world.tg.unblock(OFFICERS)  # back: what waited goes out
    # A send refused before the unblock may record its retry only now: after the resume
    # it would wait its 300 s.
    await world.service.sender.drain()
    async with world.service.db.transaction() as uow:
        await uow.outbox.resume(Recipient(Channel.TELEGRAM, str(OFFICERS)))
    await settled(world)

    texts = world.tg.texts(OFFICERS)
    new_case = next(i for i, t in enumerate(texts) if f"Pengaduan baru {other}" in t)
    waited = [i for i, t in enumerate(texts) if f"pelapor untuk {code}" in t]
    assert len(waited) == 3 and new_case < min(waited)
