"""The storage's own machinery on real databases: inbound log, outbox sending, chat
migrations, SQLite concurrency, time zones, and migrations that match the models."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, bindparam, event, select, text
from sqlalchemy.exc import StatementError

from bot.channels.telegram.intake import record_update
from bot.core.calendar import WorkingCalendar
from bot.core.model import (
    Attachment,
    AttachmentKind,
    Channel,
    OutgoingMessage,
    Recipient,
    Step,
)
from bot.core.office import Deadlines, Office, Unit
from bot.core.patrol import patrol
from bot.core.ports import DialogueState, SentRef
from bot.core.texts import load_texts
from bot.inbox.intake import QUIET, Intake
from storage import Database, OutboxRow, normalize_url
from storage.database import alembic_config
from storage.models import OPEN_CASE_STATUSES, Base, OutboxRecord, UTCDateTime
from storage.repositories.cases import OPEN_STATUSES
from storage.repositories.sending import PartSent
from storage.testing import fresh_database
from tests.fakes import FixedClock

REPO = Path(__file__).resolve().parents[2]
TG = Channel.TELEGRAM
ALICE = Recipient(TG, "1")
BOB = Recipient(TG, "2")
CAROL = Recipient(Channel.WHATSAPP, "+62813")


async def enqueue(database: Database, *messages: OutgoingMessage) -> None:
    async with database.transaction() as uow:
        for message in messages:
            await uow.outbox.enqueue(message)


async def due(
    database: Database, at: datetime, limit: int = 100, busy: Any = ()
) -> list[OutboxRow]:
    async with database.transaction() as uow:
        return await uow.sending.due(at, limit, busy)


def texts(rows: list[OutboxRow]) -> list[str]:
    return [row.message.text for row in rows]


# --- inbound log -----------------------------------------------------------------------


async def test_a_delivery_is_recorded_once(database: Database, clock: FixedClock) -> None:
    payload = {"update_id": 10, "message": {"text": "halo", "chat": {"id": 1}}}
    async with database.transaction() as uow:
        assert await uow.inbound.record("telegram", "10", "telegram:1", payload, clock.now())
        assert not await uow.inbound.record("telegram", "10", "telegram:1", {}, clock.now())
    async with database.transaction() as uow:
        assert not await uow.inbound.record("telegram", "10", "telegram:1", {}, clock.now())
        # The same id from another source is another delivery.
        assert await uow.inbound.record("whatsapp", "10", "whatsapp:+62", {}, clock.now())
        pending = await uow.inbound.pending(10)
        assert await uow.inbound.backlog() == 2

    assert [(row.source, row.external_id) for row in pending] == [
        ("telegram", "10"),
        ("whatsapp", "10"),
    ]
    assert pending[0].payload == payload
    assert pending[0].chat_key == "telegram:1"
    assert pending[0].received_at == clock.now()
    assert pending[0].received_at.tzinfo is UTC


async def test_concurrent_redeliveries_record_one_row(database: Database) -> None:
    async def deliver() -> bool:
        async with database.transaction() as uow:
            return await uow.inbound.record(
                "telegram", "77", "telegram:1", {"n": 77}, datetime.now(UTC)
            )

    results = await asyncio.gather(*(deliver() for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    async with database.transaction() as uow:
        assert len(await uow.inbound.pending(100)) == 1


async def test_pending_deliveries_come_oldest_first(database: Database, clock: FixedClock) -> None:
    async with database.transaction() as uow:
        for n in range(5):
            await uow.inbound.record("telegram", str(n), f"telegram:{n % 2}", {"n": n}, clock.now())
    async with database.transaction() as uow:
        first_three = await uow.inbound.pending(3)
        assert [row.payload["n"] for row in first_three] == [0, 1, 2]
        await uow.inbound.mark_done(first_three[0].id, clock.now())
        await uow.inbound.mark_failed(first_three[1].id, "Traceback: boom", clock.now())
    async with database.transaction() as uow:
        assert [row.payload["n"] for row in await uow.inbound.pending(10)] == [2, 3, 4]
        assert await uow.inbound.backlog() == 3
        with pytest.raises(LookupError):
            await uow.inbound.mark_done(9999, clock.now())


# --- outbox: what is due ---------------------------------------------------------------


async def test_each_chat_sends_in_order_and_waits_for_its_first_message(
    database: Database, clock: FixedClock
) -> None:
    await enqueue(
        database,
        OutgoingMessage(ALICE, "a1"),
        OutgoingMessage(BOB, "b1"),
        OutgoingMessage(ALICE, "a2"),
        OutgoingMessage(CAROL, "c1"),
        OutgoingMessage(CAROL, "c2"),
    )
    now = clock.now()
    first = await due(database, now)
    assert texts(first) == ["a1", "b1", "c1"]
    assert first[0].recipient == ALICE
    assert first[0].message == OutgoingMessage(ALICE, "a1")
    assert first[0].created_at == now
    assert (first[0].parts_done, first[0].attempts) == (0, 0)
    a1, b1, c1 = first

    # a1 hit a 429: Alice's a2 must not overtake it; the others keep flowing.
    async with database.transaction() as uow:
        await uow.sending.retry_later(a1.id, now + timedelta(minutes=10), "429 retry after 600")
    assert texts(await due(database, now)) == ["b1", "c1"]
    assert texts(await due(database, now, busy={("telegram", "2")})) == ["c1"]
    assert texts(await due(database, now, busy=[(TG, "2"), ("whatsapp", "+62813")])) == []
    assert texts(await due(database, now, limit=1)) == ["b1"]
    # Nothing is due before the message is.
    assert texts(await due(database, now - timedelta(seconds=1))) == []

    later = now + timedelta(minutes=10)
    again = await due(database, later)
    assert texts(again) == ["b1", "c1", "a1"]  # the longest due first
    assert again[-1].attempts == 1

    async with database.transaction() as uow:
        await uow.sending.mark_sent(a1.id, later)
        await uow.sending.mark_failed(b1.id, "403 Forbidden: bot was blocked", later)
        await uow.sending.mark_sent(c1.id, later)
        assert await uow.sending.backlog() == 2
    assert texts(await due(database, later)) == ["a2", "c2"]


async def test_part_sent_records_progress_and_the_channel_ids(
    database: Database, clock: FixedClock
) -> None:
    album = (Attachment(AttachmentKind.PHOTO, "p1", TG), Attachment(AttachmentKind.PHOTO, "p2", TG))
    await enqueue(
        database,
        OutgoingMessage(BOB, "Kasus ADU-1", attachments=album, case_id=12, purpose="case"),
        OutgoingMessage(BOB, "berikutnya"),
    )
    (row,) = await due(database, clock.now())
    async with database.transaction() as uow:
        await uow.sending.parts_sent([PartSent(row, ["501", "502"], clock.now())])
    (resumed,) = await due(database, clock.now())
    assert (resumed.id, resumed.parts_done) == (row.id, 1)
    assert resumed.provider_ids == ("501", "502")
    assert resumed.message.case_id == 12
    assert resumed.message.purpose == "case"

    async with database.transaction() as uow:
        # the last part: sent
        await uow.sending.parts_sent([PartSent(resumed, ["503"], clock.now(), last=True)])
        for message_id in ("501", "502", "503"):
            assert await uow.outbox.find_sent(BOB, message_id) == SentRef(12, "case")
        with pytest.raises(LookupError):
            await uow.sending.parts_sent([PartSent(replace(row, id=9999), ["1"], clock.now())])
        with pytest.raises(LookupError):
            await uow.sending.mark_sent(9999, clock.now())

    async with database.engine.connect() as connection:
        record = (
            await connection.execute(select(OutboxRecord).where(OutboxRecord.id == row.id))
        ).one()
    assert record.provider_ids == ["501", "502", "503"]
    assert record.status == "sent" and record.sent_at == clock.now()
    assert await due(database, clock.now()) != []  # the chat's next message is due
    assert record.sent_at == clock.now()
    assert texts(await due(database, clock.now())) == ["berikutnya"]


async def test_delivery_statuses_are_recorded_and_never_go_back(
    database: Database, clock: FixedClock
) -> None:
    wa = Recipient(Channel.WHATSAPP, "+6281234567890")
    await enqueue(
        database,
        OutgoingMessage(
            wa, "Tanggapan", case_id=3, template="reporter_answered", params=(("code", "ADU-1"),)
        ),
    )
    (row,) = await due(database, clock.now())
    async with database.transaction() as uow:
        await uow.sending.parts_sent([PartSent(row, ["SM1"], clock.now())])
        assert await uow.sending.delivery_status("whatsapp", "SM1") is None
        found = await uow.sending.record_status("whatsapp", "SM1", "delivered", None, clock.now())
        assert found is not None and found.id == row.id
        assert found.message.template == "reporter_answered"
        assert found.message.params == (("code", "ADU-1"),)
        await uow.sending.record_status("whatsapp", "SM1", "sent", None, clock.now())  # late
        assert await uow.sending.delivery_status("whatsapp", "SM1") == ("delivered", None)
        await uow.sending.record_status("whatsapp", "SM1", "failed", "63016", clock.now())
        assert await uow.sending.delivery_status("whatsapp", "SM1") == ("failed", "63016")
        assert (
            await uow.sending.record_status("whatsapp", "SM-unknown", "sent", None, clock.now())
            is None
        )


async def test_failed_messages_are_listed_since_a_moment(
    database: Database, clock: FixedClock
) -> None:
    await enqueue(database, OutgoingMessage(CAROL, "jawaban", case_id=3, purpose="answer"))
    (row,) = await due(database, clock.now())
    start = clock.now()
    async with database.transaction() as uow:
        await uow.sending.retry_later(row.id, start + timedelta(seconds=30), "timeout")
        await uow.sending.retry_later(row.id, start + timedelta(seconds=90), "timeout again")
        await uow.sending.mark_failed(
            row.id, "63016 outside the 24 h window", clock.advance(timedelta(minutes=2))
        )
        assert await uow.sending.backlog() == 0
        failed = await uow.sending.failed_since(start)
        assert await uow.sending.failed_since(clock.now() + timedelta(seconds=1)) == []
    assert [(f.id, f.attempts, f.message.text, f.message.case_id) for f in failed] == [
        (row.id, 3, "jawaban", 3)
    ]
    assert failed[0].recipient == CAROL
    assert await due(database, clock.now() + timedelta(hours=1)) == []


async def test_reroute_moves_pending_messages_to_the_new_chat(
    database: Database, clock: FixedClock
) -> None:
    old, new = Recipient(TG, "-1001"), Recipient(TG, "-1009")
    await enqueue(database, OutgoingMessage(old, "terkirim"))
    (sent,) = await due(database, clock.now())
    async with database.transaction() as uow:
        await uow.sending.mark_sent(sent.id, clock.now())
    await enqueue(database, OutgoingMessage(old, "satu"), OutgoingMessage(old, "dua"))
    async with database.transaction() as uow:
        assert await uow.sending.reroute("telegram", old.address, new.address) == 2
        assert await uow.sending.reroute("whatsapp", old.address, new.address) == 0
    (head,) = await due(database, clock.now())
    assert (head.recipient, head.message.recipient, head.message.text) == (new, new, "satu")


# --- chat migrations -------------------------------------------------------------------


async def test_chat_migrations_are_followed_both_ways(
    database: Database, clock: FixedClock
) -> None:
    async with database.transaction() as uow:
        await uow.chats.record_migration("-100", "-1001", clock.now())
        await uow.chats.record_migration("-1001", "-1002", clock.now())
        await uow.chats.record_migration("-5", "-5", clock.now())  # not a move
    async with database.transaction() as uow:
        assert await uow.chats.current("-100") == "-1002"
        assert await uow.chats.current("-1001") == "-1002"
        assert await uow.chats.current("-1002") == "-1002"
        assert await uow.chats.current("-7") == "-7"
        assert await uow.chats.original("-1002") == "-100"
        assert await uow.chats.original("-1001") == "-100"
        assert await uow.chats.original("-100") == "-100"
        assert await uow.chats.original("-7") == "-7"
        # Recording the same migration again is harmless.
        await uow.chats.record_migration("-100", "-1001", clock.now())
        assert await uow.chats.current("-100") == "-1002"


async def test_chat_migration_cycles_do_not_hang(database: Database, clock: FixedClock) -> None:
    async with database.transaction() as uow:
        await uow.chats.record_migration("-1", "-2", clock.now())
        await uow.chats.record_migration("-2", "-1", clock.now())
        assert await uow.chats.current("-1") == "-2"
        assert await uow.chats.original("-1") == "-2"


async def test_a_reply_in_a_migrated_group_finds_the_message_sent_before(
    database: Database, clock: FixedClock
) -> None:
    old, new = Recipient(TG, "-100"), Recipient(TG, "-1001")
    await enqueue(database, OutgoingMessage(old, "Kasus ADU-1", case_id=5, purpose="case"))
    (row,) = await due(database, clock.now())
    async with database.transaction() as uow:
        await uow.sending.parts_sent([PartSent(row, ["77"], clock.now())])
        await uow.sending.mark_sent(row.id, clock.now())
        await uow.chats.record_migration(old.address, new.address, clock.now())
    await enqueue(database, OutgoingMessage(new, "Kasus ADU-2", case_id=6, purpose="case"))
    (row,) = await due(database, clock.now())
    async with database.transaction() as uow:
        await uow.sending.parts_sent(
            [PartSent(row, ["77"], clock.now())]
        )  # the same id again, in the new chat
        assert await uow.outbox.find_sent(new, "77") == SentRef(6, "case")
        assert await uow.outbox.find_sent(old, "77") == SentRef(5, "case")
        assert await uow.outbox.find_sent(new, "78") is None


# --- transactions, time zones, SQLite ---------------------------------------------------


async def test_a_failed_transaction_leaves_nothing_behind(database: Database) -> None:
    async def handle() -> None:
        async with database.transaction() as uow:
            await uow.reporters.get_or_create(TG, "1", "Budi")
            await uow.outbox.enqueue(OutgoingMessage(ALICE, "halo"))
            raise RuntimeError("handler crashed")

    with pytest.raises(RuntimeError, match="handler crashed"):
        await handle()
    async with database.transaction() as uow:
        assert await uow.sending.backlog() == 0
        reporter = await uow.reporters.get_or_create(TG, "1", None)
        assert reporter.display_name is None


async def test_naive_datetimes_are_refused(database: Database) -> None:
    async with database.transaction() as uow:
        reporter = await uow.reporters.get_or_create(TG, "1", "Budi")
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as uow:
            await uow.reporters.touch(reporter, datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as uow:
            await uow.inbound.record("telegram", "1", "c", {}, datetime(2026, 3, 2))  # noqa: DTZ001
    async with database.transaction() as uow:
        assert await uow.inbound.backlog() == 0


async def test_concurrent_read_then_write_transactions_on_sqlite(tmp_path: Path) -> None:
    """20 tasks each read, yield to the others, then write: no "database is locked",
    and no lost update (each transaction takes the write lock before it reads)."""
    async with fresh_database("sqlite", tmp_path) as database:
        async with database.transaction() as uow:
            shared = await uow.reporters.get_or_create(TG, "shared", None)
            assert shared.id is not None
            await uow.dialogues.save(shared.id, DialogueState("count", {"n": 0}))

        async def bump(n: int) -> None:
            async with database.transaction() as uow:
                assert shared.id is not None
                state = await uow.dialogues.load(shared.id)
                assert state is not None
                await asyncio.sleep(0.001)  # let the other tasks try to get in
                state.data["n"] += 1
                await uow.dialogues.save(shared.id, state)
                reporter = await uow.reporters.get_or_create(TG, f"r{n}", None)
                await uow.outbox.enqueue(OutgoingMessage(reporter.recipient, f"m{n}"))

        await asyncio.gather(*(bump(n) for n in range(20)))

        async with database.transaction(readonly=True) as uow:
            state = await uow.dialogues.load(shared.id)
            assert state == DialogueState("count", {"n": 20})
            assert await uow.sending.backlog() == 20


async def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path}/new/folder/aduan.db")
    try:
        assert database.url.drivername == "sqlite+aiosqlite"
        await database.upgrade()
        await database.upgrade()  # already at head: nothing to do
        assert await database.ping()
        async with database.engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 15000
    finally:
        await database.dispose()
    assert (tmp_path / "new" / "folder" / "aduan.db").exists()


async def test_sqlite_due_query_is_served_by_indexes(tmp_path: Path, clock: FixedClock) -> None:
    async with fresh_database("sqlite", tmp_path, clock=clock) as database:
        statements: list[tuple[str, Any]] = []

        def capture(conn: Connection, cursor: Any, sql: str, params: Any, *_: Any) -> None:
            if sql.lstrip().startswith("SELECT") and "FROM outbox" in sql:
                statements.append((sql, params))

        event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
        await due(database, clock.now())
        ((sql, params),) = statements
        async with database.engine.connect() as connection:
            plan = " | ".join(
                str(row[-1])
                for row in await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            )
    assert "ix_outbox_status_next_attempt_at" in plan, plan
    assert "ix_outbox_channel_address_status_id" in plan, plan
    assert "SCAN outbox" not in plan, plan


async def test_in_memory_sqlite_serialises_transactions() -> None:
    database = Database("sqlite://")
    try:
        await database.upgrade()

        async def write(n: int) -> None:
            async with database.transaction() as uow:
                await uow.inbound.record("telegram", str(n), "c", {}, datetime.now(UTC))
                await asyncio.sleep(0)

        await asyncio.gather(*(write(n) for n in range(5)))
        async with database.transaction() as uow:
            assert await uow.inbound.backlog() == 5
    finally:
        await database.dispose()


def test_urls_get_the_async_drivers() -> None:
    assert normalize_url("postgresql://u:p@db:5432/aduan").drivername == "postgresql+asyncpg"
    assert normalize_url("postgres://u@db/aduan").drivername == "postgresql+asyncpg"
    assert normalize_url("postgresql+psycopg://u@db/aduan").drivername == "postgresql+asyncpg"
    assert normalize_url("sqlite:///data/aduan.db").drivername == "sqlite+aiosqlite"
    assert normalize_url("sqlite:///data/aduan.db").database == "data/aduan.db"
    with pytest.raises(ValueError, match="unsupported"):
        normalize_url("mysql://u@db/aduan")


async def test_ping_is_false_when_the_database_is_unreachable() -> None:
    database = Database("postgresql://postgres@127.0.0.1:1/none")
    try:
        assert not await database.ping()
    finally:
        await database.dispose()


# --- migrations ------------------------------------------------------------------------


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def test_migrations_create_exactly_the_models(database: Database) -> None:
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(_schema_differences)
        revision = await connection.run_sync(_current_revision)
    assert differences == []
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_alembic_command_line_upgrades_from_any_folder(tmp_path: Path) -> None:
    target = tmp_path / "cli.sqlite3"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(REPO / "alembic.ini"),
            "-x",
            f"url=sqlite:///{target}",
            "upgrade",
            "head",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    with sqlite3.connect(target) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    connection.close()
    assert {"cases", "outbox", "inbound_updates", "chat_migrations"} <= tables
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


MONDAY_10_WIB = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def _upgrade_to(revision: str) -> Any:
    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    return upgrade


async def test_cases_stored_before_deadlines_get_their_clock_after_the_upgrade(
    database_url: str, clock: FixedClock
) -> None:
    """0003 marks open cases for a look; the first patrol gives each its step clock."""
    database = Database(database_url, clock=clock)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(_upgrade_to("0002"))
            await connection.execute(
                text(
                    "INSERT INTO reporters (id, channel, address, created_at) "
                    "VALUES (1, 'telegram', '5001', :at)"
                ).bindparams(bindparam("at", type_=UTCDateTime())),
                {"at": datetime(2026, 3, 2, 2, 0, tzinfo=UTC)},
            )
            for id_, code, status in (
                (1, "ADU-OPEN01", "didisposisi"),
                (2, "ADU-DONE01", "selesai"),
            ):
                await connection.execute(
                    text(
                        "INSERT INTO cases (id, code, reporter_id, channel, status, privacy, "
                        "description, unit_code, created_at, updated_at, disposed_at) VALUES "
                        "(:id, :code, 1, 'telegram', :status, 'biasa', 'Obat habis', 'YANKES', "
                        ":at, :at, :at)"
                    ).bindparams(bindparam("at", type_=UTCDateTime())),
                    {"id": id_, "code": code, "status": status, "at": MONDAY_10_WIB},
                )
        await database.upgrade()
        async with database.transaction() as uow:
            open_case = await uow.cases.get_by_code("ADU-OPEN01")
            done = await uow.cases.get_by_code("ADU-DONE01")
        assert open_case is not None and done is not None
        assert open_case.watch is None and open_case.next_check_at is not None
        assert done.next_check_at is None

        office = Office(
            name="Dinas",
            calendar=WorkingCalendar(ZoneInfo("Asia/Jakarta")),
            officers_chat_id="-1001",
            units=(Unit("YANKES", "Bidang Pelayanan Kesehatan", "-2001"),),
            deadlines=Deadlines(digest_at=None),
        )
        now = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # Tuesday 10:00 WIB
        async with database.transaction() as uow:
            done_round = await patrol(uow, office, load_texts("id"), now)
        assert not done_round.acted  # disposed Monday 10:00: due Monday 9 March
        async with database.transaction() as uow:
            adopted = await uow.cases.get_by_code("ADU-OPEN01")
        assert adopted is not None and adopted.watch is not None
        assert adopted.watch.step is Step.ANSWER
        assert adopted.watch.due_at == datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
        assert adopted.next_check_at == adopted.watch.due_at
    finally:
        await database.dispose()


async def test_the_open_cases_are_read_through_their_partial_index(database: Database) -> None:
    # `/antrian` with years of closed cases: the query must name the index's statuses
    # as literals, or neither database may use the index.
    assert OPEN_STATUSES == OPEN_CASE_STATUSES
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM cases" in statement and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with database.transaction() as uow:
            await uow.cases.open_cases(1000)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    [(statement, parameters)] = seen
    async with database.engine.connect() as connection:
        if database.dialect == "postgresql":
            await connection.exec_driver_sql("SET enable_sort = off")
            await connection.exec_driver_sql("SET enable_seqscan = off")
            explain = "EXPLAIN "
        else:
            # Without statistics (ANALYZE) SQLite prefers ix_cases_status; INDEXED BY fails
            # ("no query solution") unless the WHERE matches the index's predicate.
            statement = statement.replace(
                "FROM cases", "FROM cases INDEXED BY ix_cases_open_created_at", 1
            )
            explain = "EXPLAIN QUERY PLAN "
        result = await connection.exec_driver_sql(explain + statement, parameters)
        plan = " ".join(str(value) for line in result.all() for value in line)
    assert "ix_cases_open_created_at" in plan, plan


# --- the webhooks' intake and the processor ---------------------------------------------


def text_update(n: int) -> dict[str, Any]:
    chat = {"id": 4000 + n % 7, "type": "private"}
    return {"update_id": n, "message": {"message_id": n, "chat": chat, "text": f"pesan {n}"}}


async def test_the_processor_waits_while_a_burst_of_webhooks_is_being_stored(
    database: Database, clock: FixedClock
) -> None:
    intake = Intake(database, clock, on_recorded=lambda: None)
    webhooks = [asyncio.create_task(record_update(intake, text_update(n))) for n in range(50)]
    await asyncio.sleep(0)  # the webhooks have handed in their updates
    await intake.give_way()
    assert all(webhook.done() for webhook in webhooks)  # acknowledged before any handling
    assert [webhook.result() for webhook in webhooks] == [True] * 50
    async with database.transaction(readonly=True) as uow:
        assert len(await uow.inbound.pending(100)) == 50


async def test_the_processor_waits_for_a_pause_in_the_webhooks(
    database: Database, clock: FixedClock
) -> None:
    assert Intake(database, clock, lambda: None).quiet == (
        QUIET if database.dialect == "postgresql" else 0.0
    )
    intake = Intake(database, clock, on_recorded=lambda: None, quiet=QUIET)

    async def one_connection() -> None:  # Telegram posts the next once this one is answered
        for n in range(5):
            await record_update(intake, text_update(n))

    posting = asyncio.create_task(one_connection())
    await asyncio.sleep(0)
    await intake.give_way()
    assert posting.done()  # not only the first batch: every update that came right after


async def test_a_flood_of_webhooks_does_not_stop_handling_for_good(
    database: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.inbox.intake.GIVE_WAY_LIMIT", 0.2)
    intake = Intake(database, clock, on_recorded=lambda: None)
    gave_way = asyncio.Event()

    async def flood() -> int:
        n = 0
        while not gave_way.is_set():  # webhooks keep coming until the processor goes on
            await record_update(intake, text_update(n))
            n += 1
        return n

    flooding = asyncio.create_task(flood())
    await asyncio.sleep(0)
    async with asyncio.timeout(30):  # a processor that waited for a pause would wait here
        await intake.give_way()
    gave_way.set()
    assert await flooding > 1  # it went on while webhooks were still being stored
