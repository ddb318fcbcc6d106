"""Without PUBLIC_BASE_URL the bot long-polls getUpdates: the same cycle, no webhook."""

from __future__ import annotations

from pathlib import Path

from bot.standins.telegram import TelegramStandIn, User
from tests.e2e.conftest import start_bot, stop_bot


async def test_long_polling_takes_updates_and_answers(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    runner, _ = await start_bot(
        tg, database_url, tmp_path, PUBLIC_BASE_URL="", TELEGRAM_WEBHOOK_SECRET=""
    )
    try:
        assert tg.webhook is None  # the bot removed any webhook so that getUpdates works
        await tg.wait_for_poll(timeout=10)
        citizen = User(5003, "Wati")
        await tg.user_says(citizen, "/bantuan")
        help_text = await tg.wait_for_text(citizen.id, "/status", timeout=10)
        assert "Layanan pengaduan Dinas Kesehatan Kota Contoh" in help_text.content
    finally:
        await stop_bot(runner)
