"""What `/macet` reads from the outbox: chats whose next message failed and waits, and
messages given up on; and making a chat's waiting messages due again."""

from __future__ import annotations

from datetime import timedelta

from bot.core.model import Case, Channel, OutgoingMessage, Privacy, Recipient
from bot.core.ports import StuckChat
from storage import Database
from storage.repositories.sending import PartSent
from tests.fakes import FixedClock

CITIZEN = Recipient(Channel.WHATSAPP, "+6281298765432")
UNIT = Recipient(Channel.TELEGRAM, "-100200")
OTHER = Recipient(Channel.TELEGRAM, "5551")


async def test_stuck_chats_and_failed_messages_are_listed_with_their_cases(
    database: Database, clock: FixedClock
) -> None:
    async with database.transaction() as uow:
        reporter = await uow.reporters.get_or_create(Channel.WHATSAPP, CITIZEN.address, "Siti")
        assert reporter.id is not None
        case = await uow.cases.add(
            Case("ADU-7", reporter.id, Channel.WHATSAPP, "Obat kosong", clock.now(), Privacy.NORMAL)
        )
        for text in ("satu", "dua", "tiga"):
            await uow.outbox.enqueue(OutgoingMessage(CITIZEN, text, case_id=case.id))
        await uow.outbox.enqueue(OutgoingMessage(UNIT, "disposisi"))  # never tried: not stuck
        await uow.outbox.enqueue(OutgoingMessage(OTHER, "tertolak", case_id=case.id))
    queued = clock.now()
    async with database.transaction() as uow:
        due = {row.recipient: row for row in await uow.sending.due(clock.now(), 10)}
    clock.advance(timedelta(minutes=1))
    for attempt in range(2):
        async with database.transaction() as uow:
            later = clock.now() + timedelta(minutes=5)
            await uow.sending.retry_later(due[CITIZEN].id, later, f"twilio 503 #{attempt}")
    async with database.transaction() as uow:
        await uow.sending.mark_failed(due[OTHER].id, "forbidden: blocked", clock.now())

    async with database.transaction(readonly=True) as uow:
        trouble = await uow.outbox.trouble(queued, 10)
    retry_at = clock.now() + timedelta(minutes=5)
    assert trouble.stuck == [StuckChat(CITIZEN, 3, queued, 2, retry_at, "twilio 503 #1", "ADU-7")]
    assert [(f.recipient, f.error, f.case_code) for f in trouble.failed] == [
        (OTHER, "forbidden: blocked", "ADU-7")
    ]
    async with database.transaction(readonly=True) as uow:
        later_only = await uow.outbox.trouble(clock.now() + timedelta(seconds=1), 10)
    assert later_only.failed == [] and len(later_only.stuck) == 1

    async with database.transaction() as uow:
        assert await uow.outbox.resume(CITIZEN) == 3
        assert await uow.outbox.resume(UNIT) == 1  # waiting, though never tried
    async with database.transaction(readonly=True) as uow:
        due_now = await uow.sending.due(clock.now(), 10)
    assert {row.recipient for row in due_now} == {CITIZEN, UNIT}


async def test_an_urgent_message_goes_ahead_of_a_chats_waiting_ones_but_not_into_a_split_one(
    database: Database, clock: FixedClock
) -> None:
    async with database.transaction() as uow:
        for text in ("tambahan 1", "tambahan 2"):
            await uow.outbox.enqueue(OutgoingMessage(UNIT, text))
        await uow.outbox.enqueue(OutgoingMessage(UNIT, "pengaduan baru A", urgent=True))
        await uow.outbox.enqueue(OutgoingMessage(UNIT, "pengaduan baru B", urgent=True))

    async def head() -> str:
        async with database.transaction(readonly=True) as uow:
            (row,) = await uow.sending.due(clock.now(), 10)
        return row.message.text

    assert await head() == "pengaduan baru A"  # the urgent ones first, in their order
    async with database.transaction() as uow:
        (row,) = await uow.sending.due(clock.now(), 10)
        await uow.sending.mark_sent(row.id, clock.now())
    assert await head() == "pengaduan baru B"
    async with database.transaction() as uow:
        (row,) = await uow.sending.due(clock.now(), 10)
        await uow.sending.mark_sent(row.id, clock.now())
    assert await head() == "tambahan 1"
    async with database.transaction() as uow:
        (row,) = await uow.sending.due(clock.now(), 10)
        # the first of its two parts went out
        await uow.sending.parts_sent([PartSent(row, ["m1"], clock.now())])
        await uow.outbox.enqueue(OutgoingMessage(UNIT, "pengaduan baru C", urgent=True))
    assert await head() == "tambahan 1"  # its second part before anything else
