"""The real `aduanbot run` as separate processes: started, killed with SIGKILL, restarted,
and several of them behind one address, as in production.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.standins.telegram import TelegramStandIn, User
from tests.e2e.conftest import AGENCY, OFFICERS


def aduanbot() -> list[str]:
    """The `aduanbot` command as installed beside this Python (`python -m bot.cli` when the
    project runs from a source tree that was not installed)."""
    script = Path(sys.executable).with_name("aduanbot")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bot.cli"]


@contextmanager
def running_bot(
    env: dict[str, str],
    log: Path,
    command: str = "run",
    cwd: Path | None = None,
    *,
    inherit: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """`aduanbot <command>` with `env` (added to this process's environment, or alone
    when not `inherit`), its output appended to `log`; killed at the end."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*aduanbot(), command],
            env={**os.environ, **env} if inherit else env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
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
    """Waits until the process answers 200 on /healthz (it fails the test if it exits)."""
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


async def eventually(
    condition: Callable[[], Awaitable[bool]],
    what: str,
    timeout: float = 15.0,  # noqa: ASYNC109 - a deadline for the condition, not cancellation
) -> None:
    """Polls `condition` (about another process: there is nothing to wait on) until true."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                if await condition():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"never happened within {timeout} s: {what}") from None


async def metric(base_url: str, name: str) -> float:
    """The sum of a metric's samples at `base_url`/metrics (0 when it has none)."""
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/metrics") as response:
        body = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " ")
    )


class Balancer:
    """A reverse proxy in front of several instances, as a load balancer would be.

    Each request goes to the next instance in turn (so one chat's updates reach
    different instances); an instance that refuses the connection is skipped.
    """

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        self._http = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        first = next(self._turn)
        for port in (self.ports[(first + i) % len(self.ports)] for i in range(len(self.ports))):
            try:
                async with self._http.request(
                    request.method,
                    f"http://127.0.0.1:{port}{request.path_qs}",
                    data=body,
                    headers=headers,
                ) as answer:
                    return web.Response(
                        status=answer.status,
                        body=await answer.read(),
                        content_type=answer.content_type,
                    )
            except aiohttp.ClientConnectionError:
                continue  # that instance is down: the next one takes it
        return web.Response(status=502, text="no instance answers")


def open_now_agency(*, tick_seconds: float) -> str:
    """The e2e agency, placed in a time zone where it is around midday now, on a day
    listed as a working day, with the scheduler ticking every `tick_seconds`: processes
    run on the real clock, and deadlines are only acted on in office hours."""
    now = datetime.now(UTC)
    offset = (12 - now.hour + 12) % 24 - 12  # -12..11 hours east of UTC
    zone = f"Etc/GMT{-offset:+d}"  # POSIX style: Etc/GMT-7 is UTC+7
    local = (now + timedelta(hours=offset)).date()
    days = ", ".join(f'"{local + timedelta(days=d)}"' for d in (-1, 0, 1))
    return (
        AGENCY.replace('timezone = "Asia/Jakarta"', f'timezone = "{zone}"')
        .replace('digest_time = ""', f'digest_time = ""\ntick_seconds = {tick_seconds}')
        .replace("[recaps]", f"[calendar]\nextra_working_days = [{days}]\n\n[recaps]")
    )


async def file_without_waiting(
    tg: TelegramStandIn, citizen: User, description: str, place: str
) -> None:
    """A citizen types the whole complaint in one go, without waiting for the questions
    (each message is posted once the webhook has answered the previous one; in long
    polling, queued for getUpdates)."""
    polling = tg.webhook is None
    for text in ("/start", description, place, "lewati", "selesai", "1", citizen.first_name):
        assert await tg.deliver(tg.text_update(citizen, text)) == (None if polling else 200)
    for text in ("lewati", "kirim"):
        assert await tg.deliver(tg.text_update(citizen, text)) == (None if polling else 200)


# What the bot says to a citizen who files as `file_without_waiting` does, in order.
PROMPTS = (
    "Selamat datang",
    "Ceritakan apa yang terjadi",
    "Di mana kejadiannya",
    "Kapan kejadiannya",
    "foto atau dokumen",
    "Bagaimana identitas",
    "Siapa nama",
    "Nomor telepon",
    "Ringkasan pengaduan",
    "Apakah sudah benar",
    "Kode pelacakan",
)


def answered_in_order(texts: list[str]) -> bool:
    """Whether the bot's messages to the citizen are `PROMPTS`, each once, in order."""
    return len(texts) == len(PROMPTS) and all(p in t for p, t in zip(PROMPTS, texts, strict=True))


async def all_file_at_once(tg: TelegramStandIn, citizens: list[User]) -> None:
    """Every citizen types a whole complaint at once (`file_without_waiting`), all at the
    same time, complaint i about "Jalan i"; returns once each has been answered and every
    complaint relayed to the officers (or fails the test after 30 s)."""
    await asyncio.gather(
        *(
            file_without_waiting(
                tg, c, f"Keluhan warga nomor {i}: antrean tidak tertib.", f"Jalan {i}"
            )
            for i, c in enumerate(citizens)
        )
    )
    await tg.wait_for(
        lambda sent: sum("Pengaduan baru" in m.content for m in sent) == len(citizens),
        chat_id=OFFICERS,
        timeout=30,
        what="every complaint relayed",
    )
    for c in citizens:
        await tg.wait_for(len(PROMPTS), chat_id=c.id, timeout=30)


def each_answered_once(tg: TelegramStandIn, citizens: list[User]) -> None:
    """Each chat's answers came once each, in the order of its messages (an update handled
    out of turn would have been taken as the wrong answer), and each complaint reached the
    officers once, with its place."""
    for i, c in enumerate(citizens):
        assert answered_in_order(tg.texts(c.id)), tg.texts(c.id)
        relays = [t for t in tg.texts(OFFICERS) if f"Keluhan warga nomor {i}:" in t]
        assert len(relays) == 1 and f"Jalan {i}" in relays[0]
