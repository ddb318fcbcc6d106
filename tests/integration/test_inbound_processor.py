"""The inbound processor on real databases: an update that fails for its content is
recorded as failed and told once, and the others go on; one that meets an outage stays
pending and is handled when the database is back; updates waiting are handled several to
a transaction; on SQLite the webhooks' updates ride in the handling transaction."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.exc import DataError, OperationalError

from bot.channels.telegram.intake import record_update
from bot.core.cases import CaseDesk
from bot.inbox import processor as processor_module
from bot.inbox.envelope import Envelope, SourceHandler
from bot.inbox.intake import Intake
from bot.inbox.processor import InboundProcessor
from storage import Database
from storage.errors import DatabaseUnavailable
from storage.repositories.inbound import InboundDelivery, InboundLog
from storage.uow import SqlUnitOfWork
from tests.fakes import FixedClock
from tests.unit.sample import OFFICERS, T, sample_office


async def record(database: Database, now: datetime, *updates: tuple[str, str]) -> None:
    """Records Telegram updates given as (update id, chat)."""
    async with database.transaction() as uow:
        await uow.inbound.record_many(
            [
                InboundDelivery("telegram", update_id, chat, {"update_id": int(update_id)})
                for update_id, chat in updates
            ],
            now,
        )


def processor(database: Database, clock: FixedClock, handler: SourceHandler) -> InboundProcessor:
    office = sample_office()
    return InboundProcessor(database, office, T, clock, {"telegram": handler}, lambda: None)


async def states(database: Database) -> dict[str, tuple[str, str | None]]:
    """Each recorded update's status and error, by update id."""
    async with database.engine.connect() as connection:
        rows = await connection.exec_driver_sql(
            "SELECT external_id, status, error FROM inbound_updates"
        )
        return {row.external_id: (row.status, row.error) for row in rows}


async def officers_told(database: Database, clock: FixedClock) -> list[str]:
    async with database.transaction() as uow:
        due = await uow.sending.due(clock.now(), 100)
    return [row.message.text for row in due if row.recipient == OFFICERS]


async def test_an_update_refused_for_its_content_is_failed_once_and_the_rest_handled(
    database: Database, clock: FixedClock
) -> None:
    handled: list[int] = []

    async def handler(uow: SqlUnitOfWork, desk: CaseDesk, envelope: Envelope) -> None:
        if envelope.update["update_id"] == 1:
            raise DataError("INSERT INTO case_events ...", None, ValueError("value too long"))
        handled.append(envelope.update["update_id"])

    await record(database, clock.now(), ("1", "5001"), ("2", "5001"), ("3", "5002"))
    inbound = processor(database, clock, handler)
    assert await inbound.process_pending() == 3
    assert handled == [2, 3]  # the same chat's next update, and another chat's
    found = await states(database)
    assert found["1"] == ("failed", "DataError (ValueError): value too long")
    assert found["2"][0] == found["3"][0] == "done"
    [notice] = await officers_told(database, clock)
    assert "pelapor …5001 (Telegram)" in notice and "DataError (ValueError)" in notice

    assert await inbound.process_pending() == 0  # nothing is tried again, nobody told again
    assert len(await officers_told(database, clock)) == 1


async def test_an_update_meeting_an_outage_stays_pending_and_is_handled_later(
    database: Database, clock: FixedClock
) -> None:
    handled: list[int] = []
    down = True

    async def handler(uow: SqlUnitOfWork, desk: CaseDesk, envelope: Envelope) -> None:
        if down:
            raise OperationalError("SELECT 1", None, ConnectionResetError("connection lost"))
        handled.append(envelope.update["update_id"])

    await record(database, clock.now(), ("1", "5001"), ("2", "5002"))
    inbound = processor(database, clock, handler)
    with pytest.raises(DatabaseUnavailable) as caught:  # (storage's name for an outage)
        await inbound.process_pending()
    assert isinstance(caught.value.__cause__, OperationalError)
    assert {status for status, _ in (await states(database)).values()} == {"pending"}

    down = False
    assert await inbound.process_pending() == 2
    assert handled == [1, 2]
    assert await officers_told(database, clock) == []


@pytest.fixture
def unhurried(monkeypatch: pytest.MonkeyPatch) -> None:
    """Updates join a transaction however long it is open (the test's machine may be slow)."""
    monkeypatch.setattr(processor_module, "TOGETHER_FOR", 60.0)


@pytest.mark.usefixtures("unhurried")
async def test_waiting_updates_are_handled_together_in_one_transaction(
    database: Database, clock: FixedClock
) -> None:
    handled: list[int] = []
    commits: list[int] = []

    async def handler(uow: SqlUnitOfWork, desk: CaseDesk, envelope: Envelope) -> None:
        handled.append(envelope.update["update_id"])

    await record(database, clock.now(), ("1", "5001"), ("2", "5001"), ("3", "5002"))

    @event.listens_for(database.engine.sync_engine, "commit")
    def count(connection: Connection) -> None:
        commits.append(len(handled))

    assert await processor(database, clock, handler).process_pending() == 3
    assert handled == [1, 2, 3]  # in their order, the same chat's second after its first
    assert commits == [0, 3]  # the look for waiting updates, then all three at once
    assert {status for status, _ in (await states(database)).values()} == {"done"}


@pytest.mark.usefixtures("unhurried")
async def test_an_update_failing_among_others_is_failed_alone_and_the_others_kept(
    database: Database, clock: FixedClock
) -> None:
    attempts: list[int] = []

    async def handler(uow: SqlUnitOfWork, desk: CaseDesk, envelope: Envelope) -> None:
        update_id = envelope.update["update_id"]
        attempts.append(update_id)
        await desk.tell(OFFICERS, f"pembaruan {update_id}")
        if update_id == 2:
            raise DataError("INSERT INTO case_events ...", None, ValueError("value too long"))

    await record(database, clock.now(), ("1", "5001"), ("2", "5002"), ("3", "5003"))
    assert await processor(database, clock, handler).process_pending() == 3
    # 1 and 2 together, rolled back; then each alone; then 3
    assert attempts == [1, 2, 1, 2, 3]
    found = await states(database)
    assert found["2"] == ("failed", "DataError (ValueError): value too long")
    assert found["1"][0] == found["3"][0] == "done"
    async with database.engine.connect() as connection:
        rows = await connection.exec_driver_sql("SELECT payload FROM outbox ORDER BY id")
        payloads = [p if isinstance(p, dict) else json.loads(p) for (p,) in rows]
    told = [payload["text"] for payload in payloads]
    # what the rolled-back attempt queued is gone: each message once, the failure told once
    assert told[:1] + told[2:] == ["pembaruan 1", "pembaruan 3"]
    assert "DataError (ValueError)" in told[1]


# --- on SQLite, webhooks' updates ride in the handling transaction (`Intake.ride`) --------


@pytest.fixture
async def sqlite_file(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Database]:
    """A SQLite file: one writer at a time, where the processor takes the webhooks along."""
    database = Database(f"sqlite:///{tmp_path}/aduan.db", clock=clock)
    try:
        await database.upgrade()
        yield database
    finally:
        await database.dispose()


def chat_update(n: int) -> dict[str, Any]:
    chat = {"id": 6000 + n, "type": "private"}
    return {"update_id": n, "message": {"message_id": n, "chat": chat, "text": f"pesan {n}"}}


def riding(
    database: Database, clock: FixedClock, webhooks: list[asyncio.Task[bool]]
) -> tuple[InboundProcessor, Intake]:
    """A processor with the intake as its rider, whose handler of update 1 lets two
    webhooks arrive while it first works (their updates wait for the write turn it holds)."""
    intake = Intake(database, clock, on_recorded=lambda: None)

    async def handler(uow: SqlUnitOfWork, desk: CaseDesk, envelope: Envelope) -> None:
        if envelope.update["update_id"] == 1 and not webhooks:  # (not when handled again)
            await webhooks_arrive(intake, webhooks)

    inbound = processor(database, clock, handler)
    inbound.rider = intake
    return inbound, intake


async def webhooks_arrive(intake: Intake, webhooks: list[asyncio.Task[bool]]) -> None:
    """Two webhooks (updates 10 and 11) arrive while a handling transaction holds the write
    turn: their updates wait for it."""
    for n in (10, 11):
        webhooks.append(asyncio.create_task(record_update(intake, chat_update(n))))
    await asyncio.sleep(0.05)
    assert not any(webhook.done() for webhook in webhooks)  # nothing stored yet


def riders_refused_once(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The database refuses the next insert of two updates (the webhooks taken along) once;
    the list is emptied when it has."""
    record_many = InboundLog.record_many
    refusals = ["the rider's insert is refused once"]

    async def refused_once(
        log: InboundLog, deliveries: list[InboundDelivery], at: datetime
    ) -> list[bool]:
        if refusals and len(deliveries) == 2:
            refusals.pop()
            raise DataError("INSERT INTO inbound_updates ...", None, ValueError("refused"))
        return await record_many(log, deliveries, at)

    monkeypatch.setattr(InboundLog, "record_many", refused_once)
    return refusals


async def test_webhooks_arriving_while_an_update_is_handled_are_stored_by_its_commit(
    sqlite_file: Database, clock: FixedClock
) -> None:
    webhooks: list[asyncio.Task[bool]] = []
    inbound, _ = riding(sqlite_file, clock, webhooks)
    await record(sqlite_file, clock.now(), ("1", "5001"))
    commits: list[str] = []

    @event.listens_for(sqlite_file.engine.sync_engine, "commit")
    def count(connection: Connection) -> None:
        commits.append(",".join(sorted(recorded_now(connection))))

    assert await inbound.process_pending() == 1
    assert [await webhook for webhook in webhooks] == [True, True]  # stored, each once
    # the look for waiting updates, then one commit: the update handled, the two stored
    assert len(commits) == 2
    assert await states(sqlite_file) == {
        "1": ("done", None),
        "10": ("pending", None),
        "11": ("pending", None),
    }
    assert await inbound.process_pending() == 2  # and handled next


def recorded_now(connection: Connection) -> list[str]:
    """The update ids recorded, as the committing transaction sees them."""
    rows = connection.exec_driver_sql("SELECT external_id FROM inbound_updates")
    return [external_id for (external_id,) in rows]


async def test_webhooks_taken_along_by_a_commit_that_fails_are_stored_by_the_intake(
    sqlite_file: Database, clock: FixedClock
) -> None:
    webhooks: list[asyncio.Task[bool]] = []
    inbound, _ = riding(sqlite_file, clock, webhooks)
    await record(sqlite_file, clock.now(), ("1", "5001"))
    failures = ["commit fails once"]

    @event.listens_for(sqlite_file.engine.sync_engine, "commit")
    def fail_once(connection: Connection) -> None:
        rows = connection.exec_driver_sql("SELECT count(*) FROM inbound_updates").scalar()
        if failures and rows == 3:  # the handling transaction, the two taken along
            failures.pop()
            raise OperationalError("COMMIT", None, sqlite3.OperationalError("disk I/O error"))

    with pytest.raises(DatabaseUnavailable):
        await inbound.process_pending()
    assert not failures
    assert [await webhook for webhook in webhooks] == [True, True]  # acknowledged once stored
    assert await states(sqlite_file) == {
        "1": ("pending", None),  # rolled back: handled again
        "10": ("pending", None),
        "11": ("pending", None),
    }
    assert await inbound.process_pending() == 3


async def test_webhooks_a_rider_could_not_store_are_stored_by_the_intake_alone(
    sqlite_file: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhooks: list[asyncio.Task[bool]] = []
    inbound, intake = riding(sqlite_file, clock, webhooks)
    await record(sqlite_file, clock.now(), ("1", "5001"))
    refusals = riders_refused_once(monkeypatch)
    # the handling transaction rolls back; the update is handled again alone, and the
    # webhooks' updates wait for the intake's own transaction (no rider takes them again)
    assert await inbound.process_pending() == 1
    assert not refusals
    assert [await webhook for webhook in webhooks] == [True, True]
    found = await states(sqlite_file)
    assert found == {"1": ("done", None), "10": ("pending", None), "11": ("pending", None)}
    assert intake.waiting() == 0


@pytest.mark.usefixtures("unhurried")
async def test_an_update_handled_alone_whose_riders_are_refused_is_handled_again(
    sqlite_file: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhooks: list[asyncio.Task[bool]] = []
    intake = Intake(sqlite_file, clock, on_recorded=lambda: None)
    attempts: list[int] = []

    async def handler(uow: SqlUnitOfWork, desk: CaseDesk, envelope: Envelope) -> None:
        update_id = envelope.update["update_id"]
        attempts.append(update_id)
        if update_id == 2:
            raise DataError("INSERT INTO case_events ...", None, ValueError("value too long"))
        if attempts == [1, 2, 1]:  # handled alone after 2 failed beside it
            await webhooks_arrive(intake, webhooks)

    await record(sqlite_file, clock.now(), ("1", "5001"), ("2", "5002"))
    refusals = riders_refused_once(monkeypatch)
    inbound = processor(sqlite_file, clock, handler)
    inbound.rider = intake
    assert await inbound.process_pending() == 2
    # 1 and 2 together, rolled back; 1 alone, its riders refused; 1 again without them; 2
    assert attempts == [1, 2, 1, 1, 2]
    assert not refusals
    assert [await webhook for webhook in webhooks] == [True, True]
    found = await states(sqlite_file)
    assert found["1"] == ("done", None)  # not blamed for what it took along
    assert found["2"] == ("failed", "DataError (ValueError): value too long")
    assert found["10"] == found["11"] == ("pending", None)
