"""History benchmark: what years of cases (1 million by default) cost the daily work.

    python bench/history.py                     # SQLite file in a temporary folder
    python bench/history.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
    python bench/history.py --cases 200000 --repeat 50

The database (the newest schema) is filled by the generator of `bench/cases.py` with
`--cases` cases filed over the last `--years` years, with a fifth as many reporters: cases
older than 30 days are closed, the recent ones open in realistic shares, each on its
step's clock as the deadline patrol keeps it (what fell due was nudged and checks again
later; a few fell due since the last round). It then times, `--repeat` times each, in
this process through the service's own repositories (`storage/repositories/`,
`bot/reports.py`):

- overdue scan: what the patrol's tick reads (`due_for_check`, up to 500 cases), and the
  overdue cases of one unit (`overdue`, what a nudge lists);
- `/status <code>`: a case by its code; `/status`: a reporter's 10 latest cases (what
  `bot/core/reception.py` reads for each);
- `/antrian`: the open cases, oldest first, and the message the officers get;
- the monthly recap: the SQL tallies of the last full month and its XLSX case list.

The service's memory: the service runs (in a process of its own, see `bench/common.py`)
once on the empty database and once on the filled one; each time a reporter asks
`/status`, the officers `/antrian` and the supervisor `/rekap` of the last month through
the webhook, and the service's resident memory after the replies, and at its peak, is
read after `/antrian`, after `/rekap`, and at its peak (the recap's XLSX lists the
month's cases, so it grows with a month's volume, not with history). Targets: overdue
scan under 50 ms, `/status` under 5 ms, monthly recap under 2 s (judged on the median of
`--repeat` runs; best and worst alongside), and memory that does not grow with history.

Checks (a failure exits 1): every command got its reply, in both runs. PostgreSQL: the
database's `public` schema is emptied first, so never point it at a database you care
about.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text

from bench.cases import OFFICE, UNITS, fill
from bench.common import (
    STALL,
    ServiceProcess,
    bench_database,
    empty_schema,
    row,
    table,
    verdict,
)
from bot.channels.telegram.webhook import SECRET_HEADER
from bot.clock import SystemClock
from bot.core import views
from bot.core.model import Step
from bot.core.recap import Period, month_period
from bot.core.texts import load_texts
from bot.reports import load_recap, write_recap_file
from bot.standins.telegram import Chat, TelegramStandIn, User
from storage.database import Database
from tests.e2e.conftest import OFFICERS, SUPERVISOR, TOKEN, bot_environment, free_port

QUEUE_LINES = 40  # handlers/officers.py
TARGETS_MS = {
    "overdue scan": 50.0,
    "/status <code>": 5.0,
    "/status: the reporter's 10 latest cases": 5.0,
    "monthly recap": 2000.0,
}
AGENCY = f"""
[agency]
name = "Pemerintah Kota Contoh"
timezone = "Asia/Jakarta"

[groups]
officers_chat_id = {OFFICERS}
supervisor_chat_id = {SUPERVISOR}

{
    "".join(
        f'''
[[units]]
code = "{unit.code}"
name = "{unit.name}"
chat_id = {-1003000000000 - i}
'''
        for i, unit in enumerate(UNITS, 1)
    )
}
[deadlines]
digest_time = ""

[recaps]
send_time = ""
"""


def last_month(now: datetime) -> Period:
    local = now.astimezone(OFFICE.timezone)
    first = local.replace(day=1) - timedelta(days=1)
    return month_period(first.year, first.month)


# --------------------------------------------------------------------------------------------
# Timings in this process
# --------------------------------------------------------------------------------------------


async def timings(db: Database, cases: int, repeat: int, folder: Path) -> dict[str, list[float]]:
    """Each operation's times in seconds, `repeat` of each."""
    rng = random.Random(1)
    t = load_texts("id")
    clock = SystemClock()
    reporters = max(1, cases // 5)
    month = last_month(clock.now())
    found: dict[str, list[float]] = {}

    async def time_it(name: str, work: Callable[[], Awaitable[Any]]) -> Any:
        began = time.perf_counter()
        result = await work()
        found.setdefault(name, []).append(time.perf_counter() - began)
        return result

    for n in range(repeat):
        now = clock.now()

        async def due(now: datetime = now) -> int:
            async with db.transaction(readonly=True) as uow:
                return len(await uow.cases.due_for_check(now, 500))

        async def unit_overdue(now: datetime = now, n: int = n) -> int:
            async with db.transaction(readonly=True) as uow:
                return len(await uow.cases.overdue(Step.ANSWER, UNITS[n % len(UNITS)].code, now))

        async def status() -> int:
            code = f"ADU-{rng.randint(1, cases):08d}"
            async with db.transaction(readonly=True) as uow:
                case = await uow.cases.get_by_code(code)
            assert case is not None
            return case.reporter_id

        async def status_of_reporter() -> int:
            async with db.transaction(readonly=True) as uow:
                listed = await uow.cases.recent_cases_of_reporter(rng.randint(1, reporters), 10)
            return len(listed)

        async def queue(now: datetime = now) -> str:
            async with db.transaction(readonly=True) as uow:  # as handlers/officers.py
                open_cases = await uow.cases.open_cases(QUEUE_LINES)
                total = await uow.cases.count_open()
            return views.queue(OFFICE, t, open_cases, now, total)

        async def recap() -> int:
            recap = await load_recap(db, OFFICE, month, clock)
            return recap.figures.received

        async def workbook() -> None:
            recap = await load_recap(db, OFFICE, month, clock)
            await write_recap_file(db, OFFICE, t, recap, folder / f"{month.label}.xlsx", "xlsx")

        due_count = await time_it("overdue scan", due)
        overdue_count = await time_it("overdue scan: a unit's overdue cases", unit_overdue)
        await time_it("/status <code>", status)
        await time_it("/status: the reporter's 10 latest cases", status_of_reporter)
        await time_it("/antrian", queue)
        received = await time_it("monthly recap", recap)
        if n < 3:  # the workbook takes seconds: three are enough
            await time_it("monthly recap with its XLSX case list", workbook)
        if n == 0:
            print(
                f"  {due_count} cases due for the patrol, {overdue_count} overdue at "
                f"{UNITS[0].code}; {received:,} cases received in {month.label}",
                file=sys.stderr,
            )
    return found


# --------------------------------------------------------------------------------------------
# The service's memory
# --------------------------------------------------------------------------------------------


async def service_memory(
    tg: TelegramStandIn, url: str, folder: Path, label: str
) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Runs the service, asks /status, /antrian and /rekap through the webhook; its memory,
    the time of each reply, and what went wrong."""
    env = bot_environment(tg, url, folder, free_port(), agency=AGENCY)
    env["MEDIA_DIR"] = str(folder / f"media-{label}")
    service = await ServiceProcess.start(env, folder / f"service-{label}.log")
    webhook = tg.webhook
    assert webhook is not None and webhook.secret_token is not None
    headers = {SECRET_HEADER: webhook.secret_token}
    reporter = User(10_001, "Warga", "Satu")  # reporter 1 of the history
    officer = User(7001, "Budi", "Petugas")
    supervisor = User(7002, "Sri", "Kepala")
    officers = Chat.group(OFFICERS, "Petugas Pengaduan")
    bosses = Chat.group(SUPERVISOR, "Pimpinan")
    month = last_month(datetime.now(UTC))
    replies: dict[str, float] = {}
    problems: list[str] = []
    try:
        async with aiohttp.ClientSession() as session:
            for name, user, chat, typed, count in (
                ("/status", reporter, None, "/status", 1),
                ("/antrian", officer, officers, "/antrian", 1),
                ("/rekap", supervisor, bosses, f"/rekap {month.label}", 2),
            ):
                chat_id = chat.id if chat is not None else user.id
                before = len(tg.messages(chat_id))
                update = tg.text_update(user, typed, chat=chat)
                began = time.perf_counter()
                async with session.post(webhook.url, json=update, headers=headers) as response:
                    if response.status != 200:
                        problems.append(f"{label}: {name} answered {response.status}")
                while len(tg.messages(chat_id)) < before + count:
                    if time.perf_counter() - began > STALL:
                        problems.append(f"{label}: no reply to {name}")
                        break
                    await asyncio.sleep(0.005)
                replies[name] = time.perf_counter() - began
                if name == "/antrian":  # what every day costs, before the month's recap
                    daily = await service.usage()
        usage = await service.usage()
        usage["daily_rss_mb"] = daily["rss_mb"]
    finally:
        final = await service.stop()
    usage["errors"] = final["errors"]
    if final["errors"]:
        problems.append(f"{label}: {final['errors']:.0f} errors in the service's log")
    return usage, replies, problems


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=4.0, help="history filed over this long")
    parser.add_argument("--repeat", type=int, default=20, help="times each operation is run")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    folder, url = bench_database(args.database_url, "history")
    db = Database(url)
    await empty_schema(db.engine)
    await db.upgrade()
    problems: list[str] = []
    async with TelegramStandIn(token=TOKEN, bot_username="aduan_history_bot") as tg:
        print(f"{db.dialect}: the service on an empty database", file=sys.stderr)
        empty, empty_replies, trouble = await service_memory(tg, url, folder, "empty")
        problems += trouble
        async with db.engine.begin() as connection:  # what the first run left
            for table_name in (
                "sent_messages",
                "outbox",
                "inbound_updates",
                "report_jobs",
                "dialogues",
            ):
                await connection.execute(text(f"DELETE FROM {table_name}"))
            await connection.execute(text("DELETE FROM reporters"))
        now = datetime.now(UTC)
        period = (now - timedelta(days=365.25 * args.years), now)
        began = time.perf_counter()
        await fill(db, args.cases, args.seed, period=period, open_since=now - timedelta(days=30))
        filled = time.perf_counter() - began
        print(f"  filled in {filled:.0f} s; timing", file=sys.stderr)
        found = await timings(db, args.cases, args.repeat, folder)
        print(f"{db.dialect}: the service on {args.cases:,} cases", file=sys.stderr)
        full, full_replies, trouble = await service_memory(tg, url, folder, "full")
        problems += trouble
    async with db.transaction(readonly=True) as uow:
        open_cases = await uow.cases.count_open()
    await db.dispose()

    print(
        f"\nHistory, {db.dialect}: {args.cases:,} cases over {args.years:g} years, "
        f"{open_cases:,} open; times in ms over {args.repeat} runs"
    )
    rows = []
    for name, times in found.items():
        ms = sorted(1000 * t for t in times)
        target = TARGETS_MS.get(name)
        median = statistics.median(ms)  # the best run would flatter a noisy machine
        judged = "" if target is None else ("met" if median < target else "MISSED")
        rows.append(
            [
                name,
                f"{ms[0]:,.1f}",
                f"{median:,.1f}",
                f"{ms[-1]:,.1f}",
                "" if target is None else f"< {target:,.0f}",
                judged,
            ]
        )
    table(["operation", "best", "p50", "worst", "target", ""], rows)
    print()
    table(
        [
            "the service",
            "RSS after /status, /antrian",
            "after /rekap",
            "peak RSS",
            "/status",
            "/antrian",
            "/rekap",
        ],
        [
            [
                label,
                f"{usage['daily_rss_mb']:,.0f} MB",
                f"{usage['rss_mb']:,.0f} MB",
                f"{usage['peak_rss_mb']:,.0f} MB",
                *(
                    f"{replies.get(c, float('nan')) * 1000:,.0f} ms"
                    for c in ("/status", "/antrian", "/rekap")
                ),
            ]
            for label, usage, replies in (
                ("empty database", empty, empty_replies),
                (f"{args.cases:,} cases", full, full_replies),
            )
        ],
    )
    growth = full["daily_rss_mb"] - empty["daily_rss_mb"]
    row(
        "memory growth with history, after /status and /antrian (target: none)",
        f"{growth:+,.0f} MB {'met' if growth < 10 else 'MISSED'}",
        width=72,
    )
    row(
        "peak memory growth, with the last month's recap",
        f"{full['peak_rss_mb'] - empty['peak_rss_mb']:+,.0f} MB (the month's case list)",
        width=72,
    )
    return verdict(problems, "every command answered, in both runs")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
