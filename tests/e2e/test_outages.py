"""The providers down for minutes, and a group that removes the bot: messages wait in the
outbox, go out once each and in order per chat when the way is open again, and the
officers can see what is stuck.

The service runs on a clock the test moves, so minutes of retries take moments; each
round makes the sender try every chat that is due.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.outbox import MAX_BACKOFF, STUCK_NOTICE_AFTER
from bot.standins.telegram import Chat, TelegramStandIn
from bot.standins.twilio import TwilioStandIn, WhatsAppUser
from tests.e2e.conftest import (
    OFFICERS,
    SUPERVISOR,
    YANKES,
    World,
    people,
    running,
    start_bot,
    stop_bot,
    twilio_settings,
)
from tests.e2e.processes import eventually
from tests.fakes import FixedClock

DESCRIPTION = "Petugas loket meminta uang tambahan untuk mempercepat pembuatan kartu berobat."
STUCK = "belum bisa terkirim sejak"


async def retry_round(world: World, clock: FixedClock, seconds: float) -> None:
    """Lets `seconds` pass and makes the sender try every chat that is due, once."""
    clock.advance(timedelta(seconds=seconds))
    await world.service.sender.send_due()
    await world.service.sender.drain()


async def until_sent(world: World, clock: FixedClock) -> None:
    """Retry rounds until the outbox is empty (each backoff at most MAX_BACKOFF)."""
    for _ in range(20):
        async with world.service.db.transaction(readonly=True) as uow:
            if await uow.sending.backlog() == 0:
                return
        await retry_round(world, clock, MAX_BACKOFF)
    raise AssertionError("the outbox never emptied")


def new_texts(world: World, chat_id: int, before: dict[int, int]) -> list[str]:
    return world.tg.texts(chat_id)[before[chat_id] :]


def in_order(texts: list[str], fragments: list[str]) -> bool:
    """Whether each fragment is in exactly one text, in the order given."""
    places = []
    for fragment in fragments:
        found = [i for i, text in enumerate(texts) if fragment in text]
        if len(found) != 1:
            return False
        places.append(found[0])
    return places == sorted(places)


async def test_bot_api_down_for_minutes_then_every_chat_gets_its_messages_once_in_order(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    clock = FixedClock(datetime.now(UTC))
    async with running(tg, database_url, tmp_path, clock=clock) as world:
        code = await world.file_complaint(world.citizen, DESCRIPTION)
        chats = (world.citizen.id, OFFICERS, SUPERVISOR, YANKES)
        before = {chat: len(tg.messages(chat)) for chat in chats}

        tg.fail_next("sendMessage", status=502, times=1_000_000)  # the Bot API is down
        await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
        answer = f"/jawab {code} Petugas sudah ditegur."
        await world.says(world.unit_staff, answer, chat=world.yankes)
        await world.says(world.citizen, "/status")
        await world.service.processor.caught_up()
        for _ in range(15):  # a quarter of an hour of 502s
            await retry_round(world, clock, 60)
        assert all(new_texts(world, chat, before) == [] for chat in chats)
        snapshot = await world.service.metrics.snapshot()
        assert snapshot.outbox_oldest_seconds >= 15 * 60 and snapshot.outbox_pending >= 6

        tg.clear_faults()  # back up
        await until_sent(world, clock)

    citizen = new_texts(world, world.citizen.id, before)
    assert in_order(
        citizen, ["sudah diteruskan ke", "Petugas sudah ditegur.", "Pengaduan Bapak/Ibu:"]
    )
    assert in_order(new_texts(world, YANKES, before), [f"Disposisi {code}"])
    officers = new_texts(world, OFFICERS, before)
    assert in_order(officers, [f"{code} didisposisi ke", f"untuk {code} (sudah dikirim"])
    # One notice about the chat that was stuck first (to the supervisor if that was the
    # officers' group itself), however many chats were stuck.
    notices = [t for t in officers + new_texts(world, SUPERVISOR, before) if STUCK in t]
    assert len(notices) == 1 and "/macet" in notices[0]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))  # Twilio's window for replies keeps real time


@pytest.fixture
async def whatsapp(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[tuple[World, TwilioStandIn]]:
    async with TwilioStandIn() as tw:
        runner, settings = await start_bot(
            tg, database_url, tmp_path, clock=clock, **twilio_settings(tw, tmp_path)
        )
        tw.configure_webhooks(f"{settings.public_base_url}/webhook/whatsapp")
        try:
            yield people(tg, runner, settings), tw
        finally:
            await stop_bot(runner)


async def whatsapp_complaint(tw: TwilioStandIn, siti: WhatsAppUser) -> str:
    for text in ("halo", DESCRIPTION, "Puskesmas Kenanga", "lewati", "selesai", "1", "Siti"):
        assert await tw.deliver(tw.text(siti, text)) == 200
    await tw.wait_for_text(siti, "Apakah sudah benar", timeout=10)
    assert await tw.deliver(tw.text(siti, "1")) == 200
    ack = await tw.wait_for_text(siti, "Kode pelacakan", timeout=10)
    return ack.text.split("Kode pelacakan: ")[1].split()[0]


async def test_whatsapp_down_for_minutes_the_officers_see_what_is_stuck(
    whatsapp: tuple[World, TwilioStandIn], clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    world, tw = whatsapp
    siti = WhatsAppUser("+6281298765432", "Siti R")
    code = await whatsapp_complaint(tw, siti)
    # A Telegram reporter who has blocked the bot: given up on, and listed as such.
    blocked = await world.file_complaint(world.other_citizen, "Jalan berlubang di depan puskesmas.")
    world.tg.block(world.other_citizen.id)
    await world.says(world.officer, f"/lengkapi {blocked} Mohon kirim foto.", chat=world.officers)
    await world.expect(OFFICERS, f"Pesan untuk pelapor {blocked} tidak dapat terkirim")

    tw.fail_next(status=503, times=1_000_000, to=siti)  # Twilio fails for Siti's messages
    request = f"/lengkapi {code} Mohon kirim foto resep."
    await world.says(world.officer, request, chat=world.officers)
    await world.expect(OFFICERS, f"Kelengkapan {code} diminta")
    assert await tw.deliver(tw.text(siti, "Resepnya hilang, Pak.")) == 200
    await world.expect(OFFICERS, f"Pelapor melengkapi {code}")
    for _ in range(STUCK_NOTICE_AFTER + 2):  # a minute of 503s and more
        await retry_round(world, clock, 60)
    notices = [t for t in world.tg.texts(OFFICERS) if STUCK in t]
    assert len(notices) == 1  # told once, not at every failed try
    assert f"pelapor {code} (WhatsApp)" in notices[0] and "/macet" in notices[0]

    await world.says(world.officer, "/macet", chat=world.officers)
    listing = await world.expect(OFFICERS, "📮 Pesan tertahan")
    lines = listing.content.splitlines()
    assert lines[0].startswith("📮 Pesan tertahan untuk 1 percakapan (2 pesan)")
    assert lines[1].startswith(f"• pelapor {code} (WhatsApp): 2 pesan sejak ")
    tries = int(lines[1].split("sudah dicoba ")[1].split("×")[0])
    assert tries >= STUCK_NOTICE_AFTER and "503" in lines[1]
    assert siti.number not in listing.content  # staff see the case, not the number
    assert lines[3].startswith("❌ Gagal terkirim sejak ")
    assert lines[4].startswith(f"• pelapor {blocked} (Telegram), ") and "blocked" in lines[4]

    tw.clear_faults()
    await until_sent(world, clock)
    bodies = tw.bodies(siti)
    assert in_order(bodies, ["Mohon kirim foto resep.", f"pengaduan {code} sudah kami terima"])
    shown = len(world.tg.messages(OFFICERS))
    await world.says(world.officer, "/macet", chat=world.officers)
    done = (await world.tg.wait_for(shown + 1, chat_id=OFFICERS, timeout=10))[shown]
    assert done.content.startswith("❌ Gagal terkirim")  # nothing stuck now; the failure stays
    assert code not in done.content and blocked in done.content
    # the retries were logged, without the reporter's number
    assert "to whatsapp:…5432 waits" in caplog.text and "98765432" not in caplog.text


async def test_a_unit_group_that_removes_the_bot_gets_its_messages_when_it_is_back(
    world: World,
) -> None:
    tg = world.tg
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await tg.deliver(tg.my_chat_member_update(world.unit_staff, world.yankes))
    removed = await world.expect(OFFICERS, "Bot dikeluarkan dari grup YANKES")
    assert "Rina Yankes" in removed.content

    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await world.expect(OFFICERS, f"{code} didisposisi ke")

    async def refused() -> bool:
        # recorded by the sender, not only answered by the stand-in: /macet reads the record
        async with world.service.db.transaction(readonly=True) as uow:
            trouble = await uow.outbox.trouble(datetime(2000, 1, 1, tzinfo=UTC), 10)
        return any(c.status == 403 for c in tg.calls("sendMessage")) and bool(trouble.stuck)

    await eventually(refused, "the relay refused by the group (and kept for later)")
    await world.says(world.officer, "/macet", chat=world.officers)
    listing = await world.expect(OFFICERS, "📮 Pesan tertahan")
    assert "• grup YANKES: 1 pesan" in listing.content and "forbidden" in listing.content

    added = tg.my_chat_member_update(
        world.unit_staff, world.yankes, old_status="left", new_status="member"
    )
    await tg.deliver(added)
    back = await world.expect(YANKES, "Bot aktif kembali di grup ini")
    assert "(1)" in back.content
    # a group the agency file does not know learns its id when the bot is added to it
    stranger = Chat.group(-1009999999999, "Grup baru")
    await tg.deliver(
        tg.my_chat_member_update(world.officer, stranger, old_status="left", new_status="member")
    )
    told = await world.expect(stranger.id, "belum terdaftar")
    assert "-1009999999999" in told.content
    relays = [t for t in tg.texts(YANKES) if f"Disposisi {code}" in t]
    assert len(relays) == 1 and tg.texts(YANKES).index(relays[0]) < tg.texts(YANKES).index(
        back.content
    )


async def test_a_bot_api_slower_than_the_timeout_repeats_that_message_at_most_once(
    tg: TelegramStandIn, tmp_path: Path
) -> None:
    """Telegram takes longer than the bot's read timeout (15 s) over one sendMessage but
    carries it out anyway: the bot, having timed out, sends it again. The database plays
    no part here, so this runs on SQLite only."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'slow.sqlite3'}"
    async with running(tg, url, tmp_path) as world:
        citizen = world.citizen
        tg.delay("sendMessage", 16, times=1, chat_id=citizen.id)
        await world.says(citizen, "/start")
        await tg.wait_for_in_flight("sendMessage")
        await tg.wait_for_text(citizen.id, "Ceritakan apa yang terjadi", timeout=30)
        await world.says(citizen, DESCRIPTION)
        await world.expect(citizen.id, "Di mana kejadiannya")
    texts = tg.texts(citizen.id)
    assert sum("Selamat datang" in t for t in texts) == 2  # the one timed-out call, repeated
    assert in_order(texts, ["Ceritakan apa yang terjadi", "Di mana kejadiannya"])
    assert all("Selamat datang" in t for t in texts[:2])  # and nothing overtook it
