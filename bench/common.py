"""What the benchmarks share: the service in a process of its own, the database, figures.

The service runs as in production: the real app (`bot.app.create_app`) in webhook mode,
in a process of its own (`ServiceProcess`), so that its CPU time, its peak memory and the
webhook's latency are its own; the bench's process plays Telegram with the Bot API
stand-in (`bot/standins/telegram/`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.app import SERVICE, Service, create_app
from bot.core.model import Channel
from bot.logs import TEXT_FORMAT, CaseFilter
from bot.ratelimit import Limit, RateLimiter
from bot.settings import load_settings
from storage.database import normalize_url
from tests.e2e.conftest import stop_bot

NEVER_WAIT = Limit(1_000_000, 1.0)
STALL = 120.0  # seconds without progress before a bench gives up waiting


# --------------------------------------------------------------------------------------------
# The service's process
# --------------------------------------------------------------------------------------------


class LevelCount(logging.Handler):
    """Counts the records it gets, by level name."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname] += 1


def serve(env: dict[str, str], log_file: str, lift_limits: bool, pipe: Connection) -> None:
    """The service's process: runs the app until told to stop, then sends its usage."""
    file = logging.FileHandler(log_file, encoding="utf-8")
    file.setLevel(logging.WARNING)
    file.addFilter(CaseFilter())
    file.setFormatter(logging.Formatter(TEXT_FORMAT))
    count = LevelCount()
    root = logging.getLogger()
    root.handlers[:] = [file, count]
    root.setLevel(logging.INFO)  # as `aduanbot run` logs; only warnings are kept
    for name in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    asyncio.run(_serve(env, lift_limits, pipe))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pipe.send(
        {
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "warnings": count.counts["WARNING"],
            "errors": count.counts["ERROR"] + count.counts["CRITICAL"],
        }
    )


async def _serve(env: dict[str, str], lift_limits: bool, pipe: Connection) -> None:
    settings = load_settings(env, env_file=Path(os.devnull))
    runner = web.AppRunner(create_app(settings))
    await runner.setup()  # the service starts: migrates, meets the stand-in, sets the webhook
    if lift_limits:
        lift_outbound_limit(runner.app[SERVICE])
    await web.TCPSite(runner, settings.host, settings.port).start()
    pipe.send("ready")
    with contextlib.suppress(EOFError):  # "stop", or the bench is gone
        while (asked := await asyncio.to_thread(pipe.recv)) != "stop":
            pipe.send(_usage_now() if asked == "usage" else None)
    await stop_bot(runner)


def _usage_now() -> dict[str, float]:
    """The process's resident memory now and at its peak, and its CPU time so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident_pages = int(statm.read().split()[1])
    return {
        "rss_mb": resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


def lift_outbound_limit(service: Service) -> None:
    """Replaces Telegram's limits (30 messages/s, 20/min a group) by a limiter that never
    waits: the bench measures the service, not the quota."""
    channel, _ = service.sender.channels[Channel.TELEGRAM]
    limiter = RateLimiter(overall=NEVER_WAIT, group=NEVER_WAIT, private=NEVER_WAIT)
    service.sender.channels[Channel.TELEGRAM] = (channel, limiter)


class ServiceProcess:
    """The service started in a process of its own (`serve`), as `aduanbot run` would be."""

    def __init__(self, process: BaseProcess, pipe: Connection) -> None:
        self.process = process
        self.pipe = pipe

    @classmethod
    async def start(
        cls, env: dict[str, str], log_file: Path, *, lift_limits: bool = True
    ) -> ServiceProcess:
        """Starts the service; `lift_limits` replaces Telegram's limits by none."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve, args=(env, str(log_file), lift_limits, theirs), name="service"
        )
        process.start()
        theirs.close()  # so that `recv` ends if the service dies
        try:
            await asyncio.to_thread(ours.recv)
        except EOFError:
            process.join()
            raise SystemExit(f"the service did not start (exit code {process.exitcode})") from None
        print(f"  (service pid {process.pid})", file=sys.stderr)
        return cls(process, ours)

    async def usage(self) -> dict[str, float]:
        """The service's memory now (RSS), its peak, and its CPU time so far."""
        self.pipe.send("usage")
        usage: dict[str, float] = await asyncio.to_thread(self.pipe.recv)
        return usage

    async def stop(self) -> dict[str, float]:
        """Stops the service; its peak memory, CPU time and log counts."""
        self.pipe.send("stop")
        usage: dict[str, float] = await asyncio.to_thread(self.pipe.recv)
        await asyncio.to_thread(self.process.join)
        return usage


async def until(done: Callable[[], Awaitable[bool]], progress: Callable[[], int]) -> bool:
    """Waits until `done()`; False once `progress()` has not changed for `STALL` seconds."""
    last, since = progress(), time.monotonic()
    while not await done():
        await asyncio.sleep(0.5)
        if progress() != last:
            last, since = progress(), time.monotonic()
        elif time.monotonic() - since > STALL:
            return False
    return True


# --------------------------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------------------------


def bench_database(database_url: str | None, name: str) -> tuple[Path, str]:
    """A temporary folder for the run, and the database: `database_url`, or a SQLite file
    `<name>.sqlite3` in that folder."""
    folder = Path(tempfile.mkdtemp(prefix=f"aduanbot-{name}-"))
    return folder, database_url or f"sqlite+aiosqlite:///{folder / f'{name}.sqlite3'}"


async def reading_engine(url: str) -> AsyncEngine:
    """The bench's own engine on the service's database, its schema emptied first. Plain
    connections (no BEGIN IMMEDIATE on SQLite): the bench only reads while it runs."""
    engine = create_async_engine(normalize_url(url), poolclass=NullPool)
    await empty_schema(engine)
    return engine


async def empty_schema(engine: AsyncEngine) -> None:
    """PostgreSQL: drops everything in the `public` schema (SQLite files start empty)."""
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))


def verdict(problems: list[str], passed: str) -> int:
    """Prints each failed check, or that all passed (`passed` says what); the exit status."""
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print(f"checks passed: {passed}")
    return 1 if problems else 0


async def statuses(engine: AsyncEngine, table: str) -> Counter[str]:
    """How many rows of `inbound_updates` or `outbox` have each status."""
    async with engine.connect() as connection:
        rows = await connection.execute(text(f"SELECT status, count(*) FROM {table} GROUP BY 1"))
        return Counter({status: count for status, count in rows})


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def percentile(values: list[float], p: int) -> float:
    """The `p`th percentile (inclusive method); the one value if there is only one."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def row(label: str, value: str, width: int = 46) -> None:
    print(f"{label:<{width}} {value}")


def table(header: list[str], rows: list[list[Any]]) -> None:
    """Prints rows under a header, columns as wide as their widest cell."""
    cells = [header, *[[str(cell) for cell in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, r in enumerate(cells):
        print(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
