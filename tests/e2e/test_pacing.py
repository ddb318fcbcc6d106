"""The bot within Telegram's real limits: the stand-in answers 429 Too Many Requests to
anything beyond them, and the bot, on the agency file's default limits, never gets one.

The other end-to-end tests raise the limits in their agency file (tests/e2e/conftest.py),
so that a dialogue does not take a second per message; these keep the real pace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.standins.telegram import TelegramStandIn
from storage.testing import SQLITE
from storage.testing import database_url as database_url_of
from tests.e2e.conftest import OFFICERS, TELEGRAMS_PACE, TOKEN, World, running
from tests.e2e.processes import PROMPTS, answered_in_order, file_without_waiting

DESCRIPTION = "Pegawai kelurahan meminta imbalan untuk surat pengantar yang seharusnya gratis."


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn(
        token=TOKEN, bot_username="aduan_test_bot", enforce_limits=True
    ) as standin:
        yield standin


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the pace is the same on any database, and the group's takes a minute."""
    return database_url_of(SQLITE, tmp_path)


@pytest.fixture
async def world(tg: TelegramStandIn, database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=TELEGRAMS_PACE) as world:
        yield world


async def test_a_person_who_types_ahead_gets_about_a_message_a_second(world: World) -> None:
    tg, citizen = world.tg, world.citizen
    await file_without_waiting(tg, citizen, DESCRIPTION, "Kantor Kelurahan")

    sent = await tg.wait_for(len(PROMPTS), chat_id=citizen.id, timeout=30)

    assert answered_in_order([m.content for m in sent])
    assert tg.too_many_requests == 0
    # a burst of three, then one a second: the last of eleven at least 7 s after the first
    assert sent[-1].date - sent[0].date >= 7


async def test_a_group_gets_at_most_twenty_messages_a_minute(world: World) -> None:
    tg = world.tg
    for _ in range(22):
        await world.says(world.officer, "/antrian", chat=world.officers)

    sent = await tg.wait_for(22, chat_id=OFFICERS, timeout=90)

    assert all("Tidak ada kasus terbuka" in m.content for m in sent)
    assert tg.too_many_requests == 0
    assert sent[20].date - sent[0].date >= 59  # the 21st waited for the first to be a minute old
