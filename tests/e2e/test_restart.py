"""`kill -9` and restart of the real `aduanbot run` process: nothing lost, nothing twice."""

from __future__ import annotations

import signal
from pathlib import Path

from bot.standins.telegram import TelegramStandIn, User
from tests.e2e.conftest import OFFICERS, bot_environment, free_port
from tests.e2e.processes import (
    PROMPTS,
    answered_in_order,
    eventually,
    file_without_waiting,
    metric,
    output,
    running_bot,
    until_healthy,
)

DESCRIPTION = (
    "Petugas puskesmas meminta bayaran untuk surat keterangan sehat yang seharusnya gratis."
)


def one_process(
    tg: TelegramStandIn, database_url: str, folder: Path
) -> tuple[dict[str, str], Path, str]:
    """The environment of one `aduanbot run`, its log file, and its base URL."""
    port = free_port()
    return (
        bot_environment(tg, database_url, folder, port),
        folder / "bot.log",
        f"http://127.0.0.1:{port}",
    )


async def test_kill_9_mid_dialogue_and_after_acknowledging_loses_nothing(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    citizen = User(5001, "Siti")
    env, log, base = one_process(tg, database_url, tmp_path)

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
        status = await tg.wait_for_text(citizen.id, "Pengaduan Bapak/Ibu:", timeout=15)
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


async def test_kill_9_between_commit_and_send_sends_each_message_once(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """The Bot API refuses every send to the citizen (HTTP 502), so the whole dialogue's
    answers are committed in the outbox but not sent when the process is killed."""
    citizen = User(5001, "Siti")
    env, log, base = one_process(tg, database_url, tmp_path)
    tg.fail_next("sendMessage", status=502, chat_id=citizen.id, times=10_000)

    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        await file_without_waiting(tg, citizen, DESCRIPTION, "Puskesmas Sukamaju")
        await tg.wait_for_text(OFFICERS, "Pengaduan baru", timeout=15)

        async def all_queued_and_tried() -> bool:
            tried = any(call.status == 502 for call in tg.calls("sendMessage"))
            return tried and await metric(base, "aduanbot_outbox_pending") == len(PROMPTS)

        await eventually(all_queued_and_tried, "every answer queued, the first one tried")
        bot.send_signal(signal.SIGKILL)
        bot.wait()
    assert tg.texts(citizen.id) == []

    tg.clear_faults()
    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        await tg.wait_for(len(PROMPTS), chat_id=citizen.id, timeout=15)
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=15) == 0, output(log)

    assert answered_in_order(tg.texts(citizen.id)), tg.texts(citizen.id)
    assert len([t for t in tg.texts(OFFICERS) if "Pengaduan baru" in t]) == 1


async def test_kill_9_mid_send_repeats_that_message_at_most_once(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """Killed while Telegram holds the acknowledgement's sendMessage call: Telegram
    delivers it, but the bot never heard so, and sends it again after the restart."""
    citizen = User(5001, "Siti")
    env, log, base = one_process(tg, database_url, tmp_path)

    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        await file_without_waiting(tg, citizen, DESCRIPTION, "Puskesmas Sukamaju")
        # (the acknowledgement was held before "kirim": hold it now, as it goes out)
        await tg.wait_for_text(citizen.id, "Apakah sudah benar", timeout=15)
        tg.delay("sendMessage", 5.0, times=1, chat_id=citizen.id)
        await tg.wait_for_in_flight("sendMessage", timeout=15)
        await tg.wait_for_text(OFFICERS, "Pengaduan baru", timeout=15)

        async def relay_recorded() -> bool:
            return await metric(base, "aduanbot_outbox_pending") == 1  # the one held

        await eventually(relay_recorded, "the relay recorded as sent")
        bot.send_signal(signal.SIGKILL)
        bot.wait()
    await tg.wait_for_text(citizen.id, "Kode pelacakan", timeout=15)  # Telegram delivered it

    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        await tg.wait_for(
            lambda sent: sum("Kode pelacakan" in m.content for m in sent) == 2,
            chat_id=citizen.id,
            timeout=15,
            what="the acknowledgement sent again",
        )
        await tg.user_says(citizen, "/status")
        await tg.wait_for_text(citizen.id, "Pengaduan Bapak/Ibu:", timeout=15)
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=15) == 0, output(log)

    # The one message in flight repeats once; everything else went once.
    texts = tg.texts(citizen.id)
    assert answered_in_order(texts[: len(PROMPTS)]), texts
    assert "Kode pelacakan" in texts[len(PROMPTS)] and "Pengaduan Bapak/Ibu:" in texts[-1]
    assert len(texts) == len(PROMPTS) + 2
    assert len([t for t in tg.texts(OFFICERS) if "Pengaduan baru" in t]) == 1
