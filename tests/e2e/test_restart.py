"""`kill -9` and restart of the real `aduanbot run` process: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp

from bot.standins.telegram_api import TelegramStandIn, User
from tests.e2e.conftest import OFFICERS, bot_environment, free_port

DESCRIPTION = (
    "Petugas puskesmas meminta bayaran untuk surat keterangan sehat yang seharusnya gratis."
)


@contextmanager
def running_bot(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def output(log: Path) -> str:
    return log.read_text(errors="replace")


async def until_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(30):
        while True:
            assert process.poll() is None, output(log)
            try:
                async with http.get(f"{base_url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)  # polling a process that is starting: nothing to wait on


async def test_kill_9_mid_dialogue_and_after_acknowledging_loses_nothing(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    citizen = User(5001, "Siti")
    log = tmp_path / "bot.log"
    port = free_port()
    env = bot_environment(tg, database_url, tmp_path, port)
    base = f"http://127.0.0.1:{port}"

    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        await tg.user_says(citizen, "/start")
        await tg.user_says(citizen, DESCRIPTION)
        await tg.wait_for_text(citizen.id, "Di mana kejadiannya", timeout=15)
        bot.send_signal(signal.SIGKILL)
        bot.wait()

    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        await tg.user_says(citizen, "Puskesmas Sukamaju")  # resumes where the citizen was
        await tg.wait_for_text(citizen.id, "Kapan kejadiannya", timeout=15)
        for text in ("lewati", "selesai", "1", "Siti", "lewati"):
            await tg.user_says(citizen, text)
        await tg.wait_for_text(citizen.id, "Apakah sudah benar", timeout=15)
        # Killed right after the webhook answered 200 for "kirim": it was committed.
        assert await tg.deliver(tg.text_update(citizen, "kirim")) == 200
        bot.send_signal(signal.SIGKILL)
        bot.wait()

    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        await tg.wait_for_text(citizen.id, "Kode pelacakan", timeout=15)
        await tg.wait_for_text(OFFICERS, "Pengaduan baru", timeout=15)
        await tg.user_says(citizen, "/status")
        status = await tg.wait_for_text(citizen.id, "Pengaduan Anda:", timeout=15)
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=15) == 0, output(log)  # SIGTERM: a clean shutdown

    acks = [t for t in tg.texts(citizen.id) if "Kode pelacakan" in t]
    assert len(acks) == 1
    assert len([t for t in tg.texts(OFFICERS) if "Pengaduan baru" in t]) == 1
    assert status.content.count("• ") == 1  # one case stored
    # Killed between Telegram accepting a message and the outbox recording it, the
    # message goes again after the restart: at most one repeat, never a loss.
    asked = [t for t in tg.texts(citizen.id) if "Di mana kejadiannya" in t]
    assert 1 <= len(asked) <= 2
