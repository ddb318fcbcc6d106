"""PostgreSQL unreachable for a while: webhooks answer 503 so Telegram redelivers, the
health check says so, and the service recovers by itself when the database is back.

The outage is real at the network level: the service reaches PostgreSQL through a TCP
proxy that the test cuts (every connection aborted, new ones refused) and restores.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from bot.standins.telegram import TelegramStandIn
from storage.testing import POSTGRESQL, database_params, empty_database
from tests.e2e.conftest import World, people, start_bot, stop_bot


class TcpProxy:
    """A loopback TCP relay to `target` that can be cut and restored."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.open = True
        self.port = 0
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """Aborts every relayed connection and refuses new ones."""
        self.open = False
        for client, upstream in list(self._links):
            client.transport.abort()
            upstream.transport.abort()

    def restore(self) -> None:
        self.open = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        link = (writer, up_writer)
        self._links.add(link)
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._links.discard(link)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    sink.transport.abort()


def postgresql_only() -> list[Any]:
    """An outage of a database server: PostgreSQL (SQLite is a file)."""
    return [p for p in database_params() if p.id == POSTGRESQL]


async def health(world: World) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{world.base_url}/healthz") as r:
        return r.status, await r.json()


@pytest.mark.parametrize("backend", postgresql_only())
async def test_webhooks_answer_503_while_the_database_is_down_and_the_service_recovers(
    tg: TelegramStandIn, tmp_path: Path, backend: str
) -> None:
    async with empty_database(backend, tmp_path) as url:
        real = make_url(url)
        proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
        await proxy.start()
        through = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        runner, settings = await start_bot(tg, through, tmp_path)
        try:
            world = people(tg, runner, settings)
            await world.says(world.citizen, "/start")
            await world.expect(world.citizen.id, "Ceritakan apa yang terjadi")

            proxy.cut()
            update = tg.text_update(world.citizen, "Atap puskesmas bocor di ruang tunggu.")
            assert await tg.deliver(update) == 503  # not acknowledged: Telegram will redeliver
            assert await health(world) == (503, {"status": "degraded", "database": "unreachable"})

            proxy.restore()
            # Telegram redelivers until it gets a 2xx; the first tries may meet pooled
            # connections the outage killed, which the pool then replaces.
            assert (
                await tg.deliver(update, retry_until_ok=True, attempts=30, retry_delay=0.2) == 200
            )
            await world.expect(world.citizen.id, "Di mana kejadiannya")
            status, body = await health(world)
            assert (status, body["status"], body["database"]) == (200, "ok", "ok")

            # Everything after the outage works as before, each message once.
            await world.says(world.citizen, "Puskesmas Sukamaju")
            await world.expect(world.citizen.id, "Kapan kejadiannya")
            texts = tg.texts(world.citizen.id)
            assert sum("Di mana kejadiannya" in t for t in texts) == 1
            assert sum("Kapan kejadiannya" in t for t in texts) == 1
        finally:
            await stop_bot(runner)
            await proxy.stop()
