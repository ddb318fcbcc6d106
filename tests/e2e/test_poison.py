"""One bad update never stops the service.

A citizen's message with a NUL (PostgreSQL text cannot hold one) is cleared of it when
recorded and handled as usual, on Telegram and on WhatsApp; an update the database
refuses for a reason no cleaning covers is recorded as failed, the officers are told
once, and every other update, of that chat and of others, goes on. The tests count the
recorded updates afterwards: whatever was acknowledged is either handled or kept as
failed with its payload, never left waiting and never lost. A webhook the database
cannot store at all is refused (400), not asked for again and again (503).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.core.model import Channel
from bot.inbox import processor as processor_module
from bot.inbox.envelope import Envelope, SourceHandler
from bot.standins.telegram import TelegramStandIn
from bot.standins.twilio import TwilioStandIn, WhatsAppUser
from storage.uow import SqlUnitOfWork
from tests.e2e.conftest import OFFICERS, World, people, start_bot, stop_bot
from tests.e2e.conftest import twilio_settings as twilio_environment

SKIPPED = "tidak dapat diproses bot dan dilewati"


async def recorded(world: World) -> dict[str, int]:
    """How many recorded updates are in each state."""
    async with world.service.db.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT status, count(*) FROM inbound_updates GROUP BY status")
        )
        return {status: count for status, count in rows}


async def failure_reasons(world: World) -> list[str]:
    async with world.service.db.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT error FROM inbound_updates WHERE status = 'failed'")
        )
        return [error for (error,) in rows]


async def settled(world: World) -> None:
    """Waits until every recorded update was taken up and what it queued was sent."""
    await world.service.processor.caught_up()
    await world.service.sender.drain()


async def test_a_nul_in_a_telegram_message_is_removed_and_the_message_handled(
    world: World,
) -> None:
    citizen, other = world.citizen, world.other_citizen
    code = await world.file_complaint(citizen, "Atap ruang tunggu Puskesmas Sukamaju bocor.")
    await world.says(citizen, "foto menyusul\u0000")
    await world.says(other, "/start")  # another chat, right behind it
    await world.expect(citizen.id, f"sudah ditambahkan ke pengaduan {code}")
    await world.expect(other.id, "Ceritakan apa yang terjadi")
    relayed = await world.expect(OFFICERS, f"Pesan tambahan pelapor untuk {code}")
    assert relayed.content.endswith("foto menyusul")
    await settled(world)
    assert await recorded(world) == {"done": 11}  # the complaint's nine, and these two
    assert not any(SKIPPED in t for t in world.tg.texts(OFFICERS))


@pytest.fixture
async def whatsapp(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[World, TwilioStandIn]]:
    async with TwilioStandIn() as tw:
        runner, settings = await start_bot(
            tg, database_url, tmp_path, **twilio_environment(tw, tmp_path)
        )
        tw.configure_webhooks(f"{settings.public_base_url}/webhook/whatsapp")
        try:
            yield people(tg, runner, settings), tw
        finally:
            await stop_bot(runner)


async def test_a_signed_whatsapp_body_with_a_nul_is_handled(
    whatsapp: tuple[World, TwilioStandIn],
) -> None:
    world, tw = whatsapp
    siti, budi = WhatsAppUser("+6281298765432", "Siti"), WhatsAppUser("+6281311112222", "Budi")
    assert await tw.deliver(tw.text(siti, "halo")) == 200
    await tw.wait_for_text(siti, "Ceritakan apa yang terjadi", timeout=10)
    # form-encoded as Body=tambahan%00info, and signed so by the stand-in
    assert await tw.deliver(tw.text(siti, "Obat habis, tambahan\u0000info menyusul")) == 200
    assert await tw.deliver(tw.text(budi, "halo")) == 200
    await tw.wait_for_text(siti, "Di mana kejadiannya", timeout=10)
    await tw.wait_for_text(budi, "Ceritakan apa yang terjadi", timeout=10)
    await settled(world)
    await tw.callbacks_settled()  # (the delivery reports of the answers are updates too)
    await settled(world)
    counts = await recorded(world)
    assert set(counts) == {"done"} and counts["done"] >= 3
    async with world.service.db.transaction(readonly=True) as uow:
        reporter = await uow.reporters.find(Channel.WHATSAPP, siti.number)
        assert reporter is not None and reporter.id is not None
        dialogue = await uow.dialogues.load(reporter.id)
    assert dialogue is not None and "Obat habis, tambahaninfo menyusul" in str(dialogue)


REFUSED = "RUSAK"  # the message the database refuses (see `refusing`)


def refusing(handler: SourceHandler) -> SourceHandler:
    """The Telegram handler, except that handling REFUSED meets a real refusal of the
    database (a NOT NULL violation, on either engine) as a handler writing a value the
    schema does not allow would."""

    async def handle(uow: SqlUnitOfWork, desk: Any, envelope: Envelope) -> None:
        update = envelope.update
        if (update.get("message") or {}).get("text") == REFUSED:
            await uow.inbound._session.execute(
                text("UPDATE inbound_updates SET source = NULL WHERE external_id = :id"),
                {"id": str(update["update_id"])},
            )
        await handler(uow, desk, envelope)

    return handle


async def test_an_update_refused_for_its_content_is_recorded_and_the_others_go_on(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    processor = world.service.processor
    processor.sources["telegram"] = refusing(processor.sources["telegram"])
    citizen, other = world.citizen, world.other_citizen
    caplog.set_level(logging.INFO)
    await world.says(citizen, "/start")
    await world.expect(citizen.id, "Ceritakan apa yang terjadi")
    await world.says(citizen, REFUSED)
    await world.says(other, "/start")
    await world.says(citizen, "Lampu jalan mati di depan puskesmas")
    await world.expect(other.id, "Ceritakan apa yang terjadi")  # another chat goes on
    await world.expect(citizen.id, "Di mana kejadiannya")  # and the same chat too
    notice = await world.expect(OFFICERS, SKIPPED)
    assert f"…{str(citizen.id)[-4:]} (Telegram)" in notice.content
    assert "IntegrityError" in notice.content

    await settled(world)
    assert await recorded(world) == {"done": 3, "failed": 1}
    [reason] = await failure_reasons(world)
    assert reason.startswith("IntegrityError (")
    assert sum(SKIPPED in t for t in world.tg.texts(OFFICERS)) == 1  # told once
    assert REFUSED not in notice.content
    assert "refused it (IntegrityError" in caplog.text
    assert REFUSED not in "".join(r.getMessage() for r in caplog.records)
    assert "Traceback" not in caplog.text  # (a traceback would show the message's text)

    # handled again after a restart: the failed update stays failed, nothing repeats
    await world.service.processor.process_pending()
    assert sum(SKIPPED in t for t in world.tg.texts(OFFICERS)) == 1


async def test_an_update_refused_among_others_handled_together_costs_them_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Updates waiting are handled in one transaction: a refused one among them rolls it
    back, and each is handled again alone. Each person still gets one answer."""
    monkeypatch.setattr(processor_module, "TOGETHER_FOR", 60.0)
    processor = world.service.processor
    processor.sources["telegram"] = refusing(processor.sources["telegram"])
    citizen, other = world.citizen, world.other_citizen
    await world.says(citizen, "/start")
    await world.expect(citizen.id, "Ceritakan apa yang terjadi")
    # The processor's loop stops, so that the next three wait together.
    (loop,) = [task for task in world.service._tasks if task.get_name() == "inbound"]
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    await world.says(other, "/start")
    await world.says(citizen, REFUSED)
    await world.says(citizen, "Lampu jalan mati di depan puskesmas")
    assert await processor.process_pending() == 3
    await world.expect(other.id, "Ceritakan apa yang terjadi")
    await world.expect(citizen.id, "Di mana kejadiannya")
    await world.expect(OFFICERS, SKIPPED)
    await world.service.sender.drain()
    assert await recorded(world) == {"done": 3, "failed": 1}
    # the rolled-back attempt's answers were never sent: each went out once
    assert sum("Ceritakan apa yang terjadi" in t for t in world.tg.texts(other.id)) == 1
    assert sum("Di mana kejadiannya" in t for t in world.tg.texts(citizen.id)) == 1
    assert sum(SKIPPED in t for t in world.tg.texts(OFFICERS)) == 1


async def test_a_webhook_the_database_refuses_to_store_is_answered_400_not_503(
    whatsapp: tuple[World, TwilioStandIn], caplog: pytest.LogCaptureFixture
) -> None:
    """503 would have Twilio (or Telegram) deliver it again, to be refused again."""
    world, tw = whatsapp
    siti = WhatsAppUser("+6281298765432", "Siti")
    odd = {**tw.text(siti, "pesan rahasia"), "MessageSid": "SM" + "9" * 200}
    caplog.set_level(logging.INFO)
    postgresql = world.service.db.dialect == "postgresql"
    # PostgreSQL keeps ids to their column's length; SQLite stores what it is given
    assert await tw.deliver(odd) == (400 if postgresql else 200)
    if postgresql:
        assert "the database refused the update (DBAPIError (22001" in caplog.text
    assert "pesan rahasia" not in caplog.text
    assert await tw.deliver(tw.text(siti, "halo")) == 200
    await tw.wait_for_text(siti, "Ceritakan apa yang terjadi", timeout=10)
