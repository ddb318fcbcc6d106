"""Two `aduanbot run` processes behind one address, sharing one PostgreSQL database.

A balancer hands each webhook to the next instance in turn, so every chat's updates
are split between them. Then the instance caught in the middle of a deadline round is
killed with SIGKILL, and the other one does the round instead.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from bot.standins.telegram import TelegramStandIn, User
from storage.testing import POSTGRESQL, database_params, empty_database
from tests.e2e.conftest import OFFICERS, bot_environment, free_port
from tests.e2e.processes import (
    Balancer,
    all_file_at_once,
    each_answered_once,
    eventually,
    metric,
    open_now_agency,
    output,
    running_bot,
    until_healthy,
)

CITIZENS = 12
NUDGE = "⏰ Pengingat tenggat"


def postgresql_only() -> list[Any]:
    """Several instances share a database server: PostgreSQL."""
    return [p for p in database_params() if p.id == POSTGRESQL]


async def blocked_instance(connection: AsyncConnection) -> int | None:
    """The pid of the instance whose transaction waits to write to the outbox."""
    name = await connection.scalar(
        text(
            "SELECT application_name FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO outbox%' "
            "AND datname = current_database()"  # not a test's on another database
        )
    )
    return int(name.rsplit(" ", 1)[1]) if name else None


@pytest.mark.parametrize("backend", postgresql_only())
async def test_two_instances_share_the_work_keep_each_chat_in_order_and_take_over(
    tg: TelegramStandIn, tmp_path: Path, backend: str
) -> None:
    ports = [free_port(), free_port()]
    balancer = Balancer(ports)
    await balancer.start()
    agency = open_now_agency(tick_seconds=1)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    citizens = [User(6000 + i, f"Warga{i}") for i in range(CITIZENS)]
    async with empty_database(backend, tmp_path) as url:
        envs = []
        for name, port in zip("ab", ports, strict=True):
            folder = tmp_path / name
            folder.mkdir()
            env = bot_environment(tg, url, folder, port, agency)
            envs.append({**env, "PUBLIC_BASE_URL": balancer.url})
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            with running_bot(envs[0], logs[0]) as a, running_bot(envs[1], logs[1]) as b:
                for base, process, log in zip(bases, (a, b), logs, strict=True):
                    await until_healthy(base, process, log)
                assert tg.webhook is not None and tg.webhook.url.startswith(balancer.url)

                await all_file_at_once(tg, citizens)
                for base in bases:  # both instances took webhooks
                    assert await metric(base, "aduanbot_updates_received_total") > 0
                each_answered_once(tg, citizens)

                # A deadline round is stopped mid-way: the outbox is locked, the case it
                # nudges about is overdue. The instance in that round is killed.
                code = await overdue_case(engine)
                async with engine.connect() as lock:
                    await lock.execute(text("LOCK TABLE outbox IN EXCLUSIVE MODE"))
                    await make_overdue(engine, code)
                    async with engine.connect() as watch:
                        # (autocommit: in a transaction pg_stat_activity would not change)
                        watch = await watch.execution_options(isolation_level="AUTOCOMMIT")

                        async def round_blocked() -> bool:
                            return await blocked_instance(watch) is not None

                        await eventually(round_blocked, "a deadline round waiting for the outbox")
                        pid = await blocked_instance(watch)
                    victim, survivor = (a, b) if pid == a.pid else (b, a)
                    assert pid == victim.pid
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    await lock.rollback()  # the dead instance's round can only roll back

                # The other instance does the round instead, at its next tick.
                nudge = await tg.wait_for_text(OFFICERS, NUDGE, timeout=60)
                assert code in nudge.content
                await tg.user_says(citizens[0], "/status")  # the survivor takes every webhook
                await tg.wait_for_text(citizens[0].id, "Pengaduan Bapak/Ibu:", timeout=15)
                async with engine.connect() as connection:
                    nudges = await connection.scalar(
                        text("SELECT count(*) FROM outbox WHERE payload::text LIKE :pattern"),
                        {"pattern": "%Pengingat tenggat%"},
                    )
                    count = await connection.scalar(
                        text("SELECT nudge_count FROM cases WHERE code = :code"), {"code": code}
                    )
                assert (nudges, count) == (1, 1)
                assert len([t for t in tg.texts(OFFICERS) if NUDGE in t]) == 1
                survivor.send_signal(signal.SIGTERM)
                assert survivor.wait(timeout=15) == 0, "\n".join(output(log) for log in logs)
        finally:
            await engine.dispose()
            await balancer.stop()


async def overdue_case(engine: Any) -> str:
    async with engine.connect() as connection:
        code = await connection.scalar(text("SELECT code FROM cases ORDER BY id LIMIT 1"))
    assert isinstance(code, str)
    return code


async def make_overdue(engine: Any, code: str) -> None:
    """Moves the case's verification deadline into the past (as a day passing would)."""
    past = datetime.now(UTC) - timedelta(minutes=1)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE cases SET due_at = :past, next_check_at = :past WHERE code = :code"),
            {"past": past, "code": code},
        )
