"""Budgets in office minutes end to end (SOP 001: dispose within 5 minutes): the real
app's scheduler ticks on a controllable clock, and what reaches each chat through the
Bot API stand-in.

The agency file says `verify_days = "5m"`: five minutes of office time (08:00-16:00 WIB
on working days). Time is moved with the service's clock; each check waits for two whole
scheduler ticks after the move, so at least one round ran entirely at the new time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.standins.telegram import TelegramStandIn
from tests.e2e.conftest import AGENCY, OFFICERS, SUPERVISOR, World, running
from tests.e2e.test_deadlines import DESCRIPTION, NUDGE, after_ticks, said, wib
from tests.fakes import FixedClock

MINUTES_AGENCY = AGENCY.replace(
    'digest_time = ""',
    'digest_time = ""\ntick_seconds = 0.05\nverify_days = "5m"\nrepeat_days = "30m"',
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(wib(3, 2, 10, 0))  # Monday 2 March 2026, in office hours


@pytest.fixture
async def world(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=MINUTES_AGENCY, clock=clock) as world:
        yield world


async def test_the_officers_are_nudged_five_office_minutes_after_a_case_arrives(
    world: World, clock: FixedClock
) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/kasus {code}", chat=world.officers)
    detail = await world.expect(OFFICERS, f"Kasus {code}")
    assert "sejak 02-03-2026 10:00, batas 02-03-2026 10:05" in detail.content
    assert "Eskalasi ke atasan bila belum selesai: 02-03-2026 10:10" in detail.content

    for quiet in (wib(3, 2, 10, 1), wib(3, 2, 10, 4)):
        await after_ticks(world, quiet, clock)
    assert said(world, OFFICERS, NUDGE) == []  # not before
    await after_ticks(world, wib(3, 2, 10, 5), clock)
    nudge = await world.expect(OFFICERS, NUDGE)
    assert f"• {code} — verifikasi dan disposisi, sudah 5 menit (batas 5 menit)" in (nudge.content)
    assert len(said(world, OFFICERS, NUDGE)) == 1

    # twice the budget: the supervisor hears of it; the officers' reminder repeats after
    # 30 office minutes, not every tick
    await after_ticks(world, wib(3, 2, 10, 10), clock)
    escalation = await world.expect(SUPERVISOR, "⚠️ Eskalasi")
    assert f"• {code} — verifikasi dan disposisi oleh petugas pengaduan, sudah 10 menit" in (
        escalation.content
    )
    await after_ticks(world, wib(3, 2, 10, 34), clock)
    assert len(said(world, OFFICERS, NUDGE)) == 1
    await after_ticks(world, wib(3, 2, 10, 35), clock)
    assert len(said(world, OFFICERS, NUDGE)) == 2
    assert "sudah 35 menit (batas 5 menit)" in said(world, OFFICERS, NUDGE)[-1]

    # disposed: no more reminders to the officers
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await world.expect(world.citizen.id, "Dalam Proses")
    await after_ticks(world, wib(3, 2, 11, 30), clock)
    assert len(said(world, OFFICERS, NUDGE)) == 2


async def test_a_case_arriving_two_minutes_before_fridays_closing_is_due_on_monday(
    world: World, clock: FixedClock
) -> None:
    clock.set(wib(3, 6, 15, 58))  # Friday 6 March, two minutes before closing
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/kasus {code}", chat=world.officers)
    detail = await world.expect(OFFICERS, f"Kasus {code}")
    assert "sejak 06-03-2026 15:58, batas 09-03-2026 08:03" in detail.content

    for quiet in (wib(3, 6, 15, 59), wib(3, 6, 20), wib(3, 7, 10), wib(3, 9, 8, 2)):
        await after_ticks(world, quiet, clock)
    assert said(world, OFFICERS, NUDGE) == []
    await after_ticks(world, wib(3, 9, 8, 3), clock)
    nudge = await world.expect(OFFICERS, NUDGE)
    assert f"• {code} — verifikasi dan disposisi, sudah 5 menit (batas 5 menit)" in (nudge.content)
