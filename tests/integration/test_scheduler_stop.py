"""Stopping the service while a deadline round is under way: the round is cancelled (its
transaction rolls back) and nothing is logged as an error."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.core.patrol import Round
from bot.scheduler import DeadlineScheduler
from storage import Database
from tests.fakes import FixedClock
from tests.unit.sample import T, sample_office


async def test_a_round_under_way_ends_quietly_when_the_service_stops(
    database: Database, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = DeadlineScheduler(database, sample_office(), T, clock, after_commit=lambda: None)
    started = asyncio.Event()

    async def slow_round() -> Round | None:
        started.set()
        await asyncio.Event().wait()  # a round that would go on until cancelled
        return None

    scheduler.tick = slow_round  # type: ignore[method-assign]
    caplog.set_level(logging.INFO)
    scheduler.start()
    await asyncio.wait_for(started.wait(), 10)
    await scheduler.stop()
    for _ in range(3):  # APScheduler logs a job's outcome in the task's done-callback
        await asyncio.sleep(0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert scheduler.ticks == 1  # the round counts as ended
