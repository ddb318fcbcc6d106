"""`aduanbot run` as an office runs it: a process of its own, started from the shell with
its settings in the environment, in each production shape.

In-process tests build the app inside pytest's running event loop; the CLI builds it
before `web.run_app` starts one. What only the real process shows (how the CLI builds the
app, which event loop owns the clients, settings read from the environment, start-up and
shutdown) is checked here: each shape comes up, takes a whole complaint on each of its
channels, answers it, relays it to the officers, and stops cleanly on SIGTERM with no
traceback or error in its log.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.standins.telegram import TelegramStandIn, User
from bot.standins.twilio import TwilioStandIn, WhatsAppUser
from tests.e2e.conftest import (
    AGENCY,
    OFFICERS,
    TOKEN,
    YANKES,
    bot_environment,
    free_port,
    twilio_settings,
)
from tests.e2e.processes import (
    aduanbot,
    all_file_at_once,
    answered_in_order,
    each_answered_once,
    eventually,
    file_without_waiting,
    output,
    running_bot,
    until_healthy,
)

DESCRIPTION = "Antrean pendaftaran di Puskesmas Melati tidak dilayani sejak pukul tujuh pagi."
WA_DESCRIPTION = "Apotek puskesmas menolak resep BPJS anak saya tanpa alasan yang jelas."
# Settings a deployment has; the fail-closed tests start from an environment without them.
DEPLOYMENT = ("TELEGRAM_", "TWILIO_", "DATABASE_", "PUBLIC_", "ADUAN_", "MEDIA_", "HOST", "PORT")


@pytest.fixture
async def tw() -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn() as standin:
        yield standin


def whatsapp_settings(tw: TwilioStandIn, folder: Path) -> dict[str, str]:
    """The environment that turns WhatsApp on, pointed at the Twilio stand-in."""
    return {name: str(value) for name, value in twilio_settings(tw, folder).items()}


def stops_cleanly(bot: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM: the process exits 0 and its log holds no traceback and no error."""
    bot.send_signal(signal.SIGTERM)
    assert bot.wait(timeout=20) == 0, output(log)
    bad = [line for line in output(log).splitlines() if "Traceback" in line or " ERROR " in line]
    assert not bad, output(log)


async def file_on_whatsapp(tw: TwilioStandIn, citizen: WhatsAppUser) -> str:
    """A citizen files a whole complaint over WhatsApp; returns its tracking code."""
    for body, next_question in (
        ("halo", "Ceritakan apa yang terjadi"),
        (WA_DESCRIPTION, "Di mana kejadiannya"),
        ("Puskesmas Melati", "Kapan kejadiannya"),
        ("lewati", "foto atau dokumen"),
        ("selesai", "Bagaimana identitas"),
        ("1", "Siapa nama"),
        ("Dewi Lestari", "Apakah sudah benar"),
    ):
        assert await tw.deliver(tw.text(citizen, body)) == 200
        await tw.wait_for_text(citizen, next_question, timeout=15)
    assert await tw.deliver(tw.text(citizen, "1")) == 200
    ack = await tw.wait_for_text(citizen, "Kode pelacakan", timeout=15)
    return ack.text.split("Kode pelacakan: ")[1].split()[0]


async def test_webhooks_and_whatsapp_as_deployed(
    tg: TelegramStandIn, tw: TwilioStandIn, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **bot_environment(tg, database_url, tmp_path, port),
        **whatsapp_settings(tw, tmp_path),
    }
    base, log = f"http://127.0.0.1:{port}", tmp_path / "bot.log"
    tw.configure_webhooks(f"{base}/webhook/whatsapp")
    siti, dewi = User(5001, "Siti"), WhatsAppUser("+6281298765432", "Dewi")

    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        assert tg.webhook is not None and tg.webhook.url == f"{base}/webhook/telegram"
        await file_without_waiting(tg, siti, DESCRIPTION, "Puskesmas Melati")
        await eventually(
            lambda: _async(answered_in_order(tg.texts(siti.id))), "Siti's whole dialogue"
        )
        wa_code = await file_on_whatsapp(tw, dewi)
        relay = await tg.wait_for_text(OFFICERS, WA_DESCRIPTION, timeout=15)
        await tg.wait_for_text(OFFICERS, DESCRIPTION, timeout=15)
        # An officer's /catat: the process asks Telegram whether they are in the group.
        budi = User(7001, "Budi", "Petugas")
        tg.add_member(OFFICERS, budi)
        await tg.user_says(budi, "/catat")
        await tg.wait_for_text(budi.id, "Dari mana pengaduan ini diterima", timeout=15)
        await tg.user_says(budi, "/batal")
        await tg.wait_for_text(budi.id, "dibatalkan", timeout=15)
        stops_cleanly(bot, log)

    assert wa_code.startswith("ADU-") and wa_code in relay.content
    assert all(m.status != "failed" for m in tw.messages(dewi))


async def test_citizens_filing_at_the_same_time_are_each_answered_as_deployed(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """Citizens typing their complaints at the same moment: webhooks arrive while other
    chats' updates are being handled (on SQLite, the handling transaction stores them as
    it commits). Each citizen gets every answer once, in order, with a tracking code of
    their own, and each complaint reaches the officers once, with that code."""
    port = free_port()
    env = bot_environment(tg, database_url, tmp_path, port)
    base, log = f"http://127.0.0.1:{port}", tmp_path / "bot.log"
    citizens = [User(5100 + i, f"Warga{i}") for i in range(8)]
    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        await all_file_at_once(tg, citizens)
        each_answered_once(tg, citizens)
        codes = [tg.texts(c.id)[-1].split("Kode pelacakan: ")[1].split()[0] for c in citizens]
        assert len(set(codes)) == len(citizens)
        for i, code in enumerate(codes):
            assert any(code in t and f"Jalan {i}" in t for t in tg.texts(OFFICERS))
        stops_cleanly(bot, log)


STAFF_AGENCY = AGENCY.replace("[groups]\n", '[groups]\nofficers_whatsapp = ["+6281100000001"]\n')


async def test_staff_on_whatsapp_as_deployed(
    tg: TelegramStandIn, tw: TwilioStandIn, database_url: str, tmp_path: Path
) -> None:
    """An officer on WhatsApp (issue 22) in the deployed process: they get the new case
    and dispose it by replying "1" to it."""
    assert STAFF_AGENCY != AGENCY
    port = free_port()
    env = {
        **bot_environment(tg, database_url, tmp_path, port, STAFF_AGENCY),
        **whatsapp_settings(tw, tmp_path),
    }
    base, log = f"http://127.0.0.1:{port}", tmp_path / "bot.log"
    tw.configure_webhooks(f"{base}/webhook/whatsapp")
    budi, dewi = WhatsAppUser("+6281100000001", "Budi"), WhatsAppUser("+6281298765432", "Dewi")
    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        assert await tw.deliver(tw.text(budi, "antrian")) == 200
        await tw.wait_for_text(budi, "Tidak ada kasus terbuka", timeout=15)
        code = await file_on_whatsapp(tw, dewi)
        relay = await tw.wait_for_text(budi, f"Pengaduan baru {code}", timeout=15)
        await tg.wait_for_text(OFFICERS, f"Pengaduan baru {code}", timeout=15)
        assert await tw.deliver(tw.text(budi, "1", reply_to=relay)) == 200
        await tg.wait_for_text(YANKES, f"Disposisi {code}", timeout=15)
        disposed = f"{code} didisposisi ke Bidang Pelayanan Kesehatan"
        await tw.wait_for_text(budi, disposed, timeout=15)
        stops_cleanly(bot, log)


def test_staff_numbers_without_whatsapp_stop_the_start(tmp_path: Path) -> None:
    """Staff numbers in the agency file and no Twilio settings: one line, exit 2."""
    config = tmp_path / "aduan.toml"
    config.write_text(STAFF_AGENCY, encoding="utf-8")
    done = subprocess.run(
        [*aduanbot(), "run"],
        env=clean_environment(
            ADUAN_CONFIG=str(config),
            TELEGRAM_BOT_TOKEN=TOKEN,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
            PORT=str(free_port()),
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert "names staff WhatsApp numbers" in line and "WhatsApp is off" in line


async def test_long_polling_as_deployed(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **bot_environment(tg, database_url, tmp_path, port),
        "PUBLIC_BASE_URL": "",
        "TELEGRAM_WEBHOOK_SECRET": "",
    }
    base, log = f"http://127.0.0.1:{port}", tmp_path / "bot.log"
    siti = User(5001, "Siti")

    with running_bot(env, log) as bot:
        await until_healthy(base, bot, log)
        await tg.wait_for_poll(timeout=15)
        assert tg.webhook is None  # removed, so that getUpdates works
        await file_without_waiting(tg, siti, DESCRIPTION, "Puskesmas Melati")
        await eventually(
            lambda: _async(answered_in_order(tg.texts(siti.id))), "Siti's whole dialogue"
        )
        await tg.wait_for_text(OFFICERS, DESCRIPTION, timeout=15)
        stops_cleanly(bot, log)


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any deployment setting, plus `settings`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(DEPLOYMENT)}
    return {**kept, **settings}


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("DATABASE_URL", {"DATABASE_URL": "postgresql+asyncpg://aduan@db.example/aduan"}),
        (
            "PUBLIC_BASE_URL",
            {"PUBLIC_BASE_URL": "https://aduan.example.go.id", "TELEGRAM_WEBHOOK_SECRET": "s3"},
        ),
        ("TWILIO_API_BASE_URL", {"TWILIO_API_BASE_URL": "https://api.twilio.example"}),
    ],
)
def test_without_a_token_a_deployment_stops_instead_of_serving_the_playground(
    tmp_path: Path, name: str, settings: dict[str, str]
) -> None:
    done = subprocess.run(
        [*aduanbot(), "run"],
        env=clean_environment(**settings, PORT=str(free_port())),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "TELEGRAM_BOT_TOKEN is not set" in done.stderr
    assert f"{name} is set" in done.stderr
    assert "PLAYGROUND" not in done.stdout
    assert not (tmp_path / "data").exists()  # nothing was created


async def test_a_port_already_taken_is_one_clear_line_not_a_traceback(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as held:  # another program holds the port
        port = held.getsockname()[1]
        env = {**os.environ, **bot_environment(tg, database_url, tmp_path, port)}
        done = await asyncio.to_thread(
            subprocess.run, [*aduanbot(), "run"], env=env, capture_output=True, text=True
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("aduanbot:")]
    assert f"127.0.0.1:{port} is already in use" in line
    assert f"PORT={port + 1} aduanbot run" in line
    assert tg.webhook is None  # nothing started: the port is checked first


@pytest.mark.parametrize("shape", ["deployment", "playground"])
async def test_a_bad_port_is_one_clear_line_not_a_traceback(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, shape: str
) -> None:
    if shape == "deployment":
        env = {**os.environ, **bot_environment(tg, database_url, tmp_path, free_port())}
    else:  # no token and nothing of a deployment: `aduanbot run` would serve the playground
        env = clean_environment()
    done = await asyncio.to_thread(
        subprocess.run,
        [*aduanbot(), "run"],
        env={**env, "PORT": "abc"},
        cwd=tmp_path,
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "aduanbot: configuration error: PORT must be a port number (1–65535), got 'abc'"
    ]
    assert done.stdout == ""  # no banner, no "serving on"
    assert tg.webhook is None  # nothing started
    assert not (tmp_path / "data").exists()  # nothing was created


async def _async(value: bool) -> bool:
    return value
