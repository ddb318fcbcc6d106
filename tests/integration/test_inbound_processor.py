"""The inbound processor on real databases: an update that fails for its content is
recorded as failed and told once, and the others go on; one that meets an outage stays
pending and is handled when the database is back; updates waiting are handled several to
a transaction."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.exc import DataError, OperationalError

from bot.core.cases import CaseDesk
from bot.inbox import processor as processor_module
from bot.inbox.envelope import Envelope, SourceHandler
from bot.inbox.processor import InboundProcessor
from storage import Database
from storage.errors import DatabaseUnavailable
from storage.repositories.inbound import InboundDelivery
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
