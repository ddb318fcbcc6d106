"""End-to-end fixtures: the real aiohttp app over HTTP against the Bot API stand-in.

The bot is configured exactly as in production (environment settings, an agency
file); only TELEGRAM_API_BASE_URL points at the local stand-in, and Telegram's side
(people typing, tapping, sending photos) is simulated by the stand-in posting updates
to the bot's webhook.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pytest
from aiohttp import web

from bot.app import SERVICE, Service, create_app
from bot.core.ports import Clock
from bot.settings import Settings, load_settings
from bot.standins.telegram import Chat, SentMessage, TelegramStandIn, User
from bot.standins.twilio import TwilioStandIn

TOKEN = "123456789:AAE2E-test-token-aaaaaaaaaaaaaaaa"
SECRET = "e2e-secret_token"
OFFICERS = -1001000000001
SUPERVISOR = -1001000000002
YANKES = -1001000000010
P2P = -1001000000011

TELEGRAMS_PACE = f"""
[agency]
name = "Dinas Kesehatan Kota Contoh"
timezone = "Asia/Jakarta"

[groups]
officers_chat_id = {OFFICERS}
supervisor_chat_id = {SUPERVISOR}

[[units]]
code = "YANKES"
name = "Bidang Pelayanan Kesehatan"
chat_id = {YANKES}

[[units]]
code = "P2P"
name = "Bidang Pencegahan dan Pengendalian Penyakit"
chat_id = {P2P}

[deadlines]
# The tests run at any hour on the real clock: no digest in the officers' group
# (tests/e2e/test_deadlines.py turns it on with a clock of its own).
digest_time = ""

[recaps]
# Nor the automatic monthly recap to the supervisor (tests/e2e/test_recaps.py has it).
send_time = ""
"""
# Within Telegram's own limits (the default) a person gets about one message a second
# and a group 20 a minute: that pacing would be most of these tests' time, so their agency
# files raise the limits. tests/e2e/test_pacing.py keeps the real ones (`TELEGRAMS_PACE`).
GENEROUS_LIMITS = """
[telegram]
messages_per_second = 1000
group_messages_per_minute = 1000
private_messages_per_second = 1000
"""
AGENCY = TELEGRAMS_PACE + GENEROUS_LIMITS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bot_environment(
    tg: TelegramStandIn, database_url: str, folder: Path, port: int, agency: str = AGENCY
) -> dict[str, str]:
    """The settings a deployment would put in its environment, pointed at the stand-in."""
    config = folder / "aduan.toml"
    config.write_text(agency, encoding="utf-8")
    return {
        "ADUAN_CONFIG": str(config),
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": tg.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        # the test's own (the default, data/media, would be shared by tests run in parallel)
        "MEDIA_DIR": str(folder / "media"),
    }


def shows(prompt: str, after: int) -> Callable[[list[SentMessage]], bool]:
    """Whether the bot's messages after the first `after` include `prompt`."""
    return lambda sent: any(prompt in m.content for m in sent[after:])


@dataclass
class World:
    """The running bot and the people around it."""

    tg: TelegramStandIn
    settings: Settings
    service: Service
    citizen: User
    other_citizen: User
    officer: User
    unit_staff: User
    officers: Chat
    yankes: Chat
    p2p: Chat
    # Further instances of the service on the same database (any of them may send).
    others: tuple[Service, ...] = ()

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    async def says(
        self,
        user: User,
        text: str,
        *,
        chat: Chat | None = None,
        reply_to: SentMessage | None = None,
    ) -> None:
        await self.tg.user_says(user, text, chat=chat, reply_to=reply_to)

    async def expect(self, chat_id: int, fragment: str) -> SentMessage:
        """Waits for the bot to say something containing `fragment` in that chat.

        Also waits until the bot has stored that message's id, as it has long before a
        person could reply to it.
        """
        message = await self.tg.wait_for_text(chat_id, fragment, timeout=10.0)
        waits = [
            asyncio.create_task(service.sender.recorded(str(chat_id), str(message.message_id)))
            for service in (self.service, *self.others)
        ]
        done, pending = await asyncio.wait(waits, timeout=10.0, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if not done:
            raise TimeoutError(f"message {message.message_id} in {chat_id} was never recorded")
        return message

    async def file_complaint(self, user: User, description: str, *, privacy: str = "1") -> str:
        """A citizen goes through the whole intake dialogue; returns the tracking code."""
        code = await self.file_complaint_no_wait(user, description, privacy=privacy)
        await self.expect(OFFICERS, f"Pengaduan baru {code}")
        return code

    async def file_complaint_no_wait(
        self, user: User, description: str, *, privacy: str = "1"
    ) -> str:
        """Files a complaint without waiting for the officers' relay."""
        before = len(self.tg.messages(user.id))
        await self.says(user, "/start")
        await self.expect(user.id, "Ceritakan apa yang terjadi")
        for text, prompt in (
            (description, "Di mana kejadiannya"),
            ("Puskesmas Sukamaju, Jl. Melati No. 3", "Kapan kejadiannya"),
            ("kemarin pagi", "foto atau dokumen"),
            ("selesai", "Bagaimana identitas"),
            (privacy, "Siapa nama"),
            ("Siti Aminah", "Nomor telepon"),
            ("081234567890", "Apakah sudah benar"),
        ):
            await self.says(user, text)
            await self.tg.wait_for(
                shows(prompt, before),
                chat_id=user.id,
                timeout=10.0,
                what=prompt,
            )
        await self.says(user, "kirim")
        sent = await self.tg.wait_for(
            lambda sent: any("Kode pelacakan" in m.content for m in sent[before:]),
            chat_id=user.id,
            timeout=10.0,
            what="the acknowledgement",
        )
        ack = next(m for m in sent[before:] if "Kode pelacakan" in m.content)
        return ack.content.split("Kode pelacakan: ")[1].split()[0]


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    standin = TelegramStandIn(token=TOKEN, bot_username="aduan_test_bot")
    await standin.start()
    try:
        yield standin
    finally:
        await standin.stop()


async def start_bot(
    tg: TelegramStandIn,
    database_url: str,
    folder: Path,
    *,
    agency: str = AGENCY,
    clock: Clock | None = None,
    **overrides: str,
) -> tuple[web.AppRunner, Settings]:
    """Starts the real app in-process; `overrides` change settings (e.g. PUBLIC_BASE_URL="").

    `agency` is the agency file's text; `clock` replaces the real clock (the Bot API
    stand-in and the rate limits keep real time).
    """
    port = free_port()
    env = {**bot_environment(tg, database_url, folder, port, agency), **overrides}
    settings = load_settings(env, env_file=folder / "none.env")
    runner = web.AppRunner(create_app(settings, clock=clock))
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    return runner, settings


class TwilioSettings(TypedDict):
    """The environment that turns WhatsApp on (typed, so it can be spread into `start_bot`)."""

    TWILIO_ACCOUNT_SID: str
    TWILIO_AUTH_TOKEN: str
    TWILIO_WHATSAPP_FROM: str
    TWILIO_API_BASE_URL: str
    MEDIA_DIR: str


def twilio_settings(tw: TwilioStandIn, folder: Path) -> TwilioSettings:
    """The settings that turn WhatsApp on, pointed at the Twilio stand-in."""
    return {
        "TWILIO_ACCOUNT_SID": tw.account_sid,
        "TWILIO_AUTH_TOKEN": tw.auth_token,
        "TWILIO_WHATSAPP_FROM": tw.whatsapp_from,
        "TWILIO_API_BASE_URL": tw.base_url,
        "MEDIA_DIR": str(folder / "media"),
    }


async def stop_bot(runner: web.AppRunner) -> None:
    """Stops the app; a shutdown that hangs fails the test with every task's stack."""
    try:
        async with asyncio.timeout(30):
            await runner.cleanup()
    except TimeoutError:
        message = "the service did not stop within 30 s:\n" + "\n".join(
            awaiting(task) for task in asyncio.all_tasks()
        )
        raise AssertionError(message) from None


def awaiting(task: asyncio.Task[Any]) -> str:
    """The chain of coroutines a task is suspended in, innermost last."""
    lines = [f"{task.get_name()}:"]
    coroutine: Any = task.get_coro()
    while coroutine is not None:
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
        if frame is not None:
            lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)
    return "\n".join(lines)


def people(tg: TelegramStandIn, runner: web.AppRunner, settings: Settings) -> World:
    """The running bot with the usual citizens, staff and groups."""
    return World(
        tg=tg,
        settings=settings,
        service=runner.app[SERVICE],
        citizen=User(5001, "Siti", "Aminah"),
        other_citizen=User(5002, "Joko"),
        officer=User(7001, "Budi", "Petugas"),
        unit_staff=User(8001, "Rina", "Yankes"),
        officers=Chat.group(OFFICERS, "Petugas Pengaduan"),
        yankes=Chat.group(YANKES, "Bidang Yankes"),
        p2p=Chat.group(P2P, "Bidang P2P"),
    )


@asynccontextmanager
async def running(
    tg: TelegramStandIn,
    database_url: str,
    folder: Path,
    *,
    agency: str = AGENCY,
    clock: Clock | None = None,
) -> AsyncIterator[World]:
    """The bot running (with `agency` and `clock`, see `start_bot`), stopped afterwards."""
    runner, settings = await start_bot(tg, database_url, folder, agency=agency, clock=clock)
    try:
        yield people(tg, runner, settings)
    finally:
        await stop_bot(runner)


@pytest.fixture
async def world(tg: TelegramStandIn, database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path) as world:
        yield world


async def settled(world: World) -> None:
    """Everything received was handled, and everything it queued was sent."""
    service = world.service
    await service.processor.caught_up()
    for _ in range(100):  # each round sends the next message of every chat
        async with service.db.transaction(readonly=True) as uow:
            if await uow.sending.backlog() == 0:
                return
        await service.sender.send_due()
        await service.sender.drain()
    raise AssertionError("the outbox never emptied")
