"""A new channel is one package and one line: Pigeon (tests/e2e/pigeon/), a made-up
channel, joins the real app through the composition root's tuple of registrations; a
message in through its webhook reaches the core, and the core's answer goes out
through its sender, while Telegram goes on beside it."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp import web

from bot.app import CHANNELS, create_app
from bot.settings import load_settings
from bot.standins.telegram import TelegramStandIn
from tests.e2e.conftest import bot_environment, free_port, people, settled, stop_bot
from tests.e2e.pigeon import registration
from tests.e2e.pigeon.intake import CHANNEL
from tests.e2e.pigeon.sender import Sent

NUMBER = "+6281200001111"


async def test_a_new_channel_is_one_package_and_one_line(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    sent: list[Sent] = []
    port = free_port()
    env = bot_environment(tg, database_url, tmp_path, port)
    settings = load_settings(env, env_file=tmp_path / "none.env")
    app = create_app(settings, channels=(*CHANNELS, registration(sent)))  # the one line
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    world = people(tg, runner, settings)
    try:
        async with aiohttp.ClientSession() as http:
            for n, text in enumerate(["halo", "Lampu jalan di depan puskesmas mati"], 1):
                body = {"id": f"P{n}", "from": NUMBER, "text": text}
                async with http.post(f"{world.base_url}/webhook/pigeon", json=body) as answer:
                    assert answer.status == 200
                await settled(world)
        assert [s.address for s in sent] == [NUMBER] * len(sent)
        texts = [s.text for s in sent]
        assert any("Ceritakan apa yang terjadi" in t for t in texts)
        assert "Di mana kejadiannya" in texts[-1]
        async with world.service.db.transaction(readonly=True) as uow:
            assert await uow.reporters.find(CHANNEL, NUMBER) is not None

        await world.says(world.citizen, "/start")  # Telegram, beside it, as before
        await world.expect(world.citizen.id, "Ceritakan apa yang terjadi")
    finally:
        await stop_bot(runner)
