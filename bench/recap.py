"""Benchmark: the recap of a busy city's year, with 1 million cases in the database.

    python bench/recap.py                       # SQLite file in a temporary folder
    python bench/recap.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
    python bench/recap.py --cases 200000        # a smaller run

It fills an empty database (the newest schema) with `--cases` cases filed through
2025 (statuses, units, channels, categories, ratings, refusals and returns in
realistic shares, stamps from the office calendar), then times what the service
does for `/rekap` and `aduanbot report`: the SQL tallies of a month and of the whole
year, the XLSX with the month's case list, and the chart. PostgreSQL: the database's
`public` schema is emptied first, so never point it at a database you care about.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text

from bot.clock import SystemClock
from bot.core.calendar import WorkingCalendar
from bot.core.office import Office, Unit
from bot.core.recap import month_period, year_period
from bot.core.texts import load_texts
from bot.reports import load_recap, write_recap_file
from storage.database import Database
from storage.models import CaseEventRecord, CaseRecord, ReporterRecord

WIB = ZoneInfo("Asia/Jakarta")
UNITS = tuple(Unit(f"U{i:02d}", f"Bidang {i:02d}", f"-100{i:03d}") for i in range(1, 13))
OFFICE = Office(
    name="Pemerintah Kota Contoh",
    calendar=WorkingCalendar(WIB),
    officers_chat_id="-1000",
    units=UNITS,
)
CATEGORIES = ("Infrastruktur", "Kesehatan", "Pendidikan", "Kebersihan", "Perizinan", None)
BATCH = 10_000


def _minutes(rng: random.Random, mean: float) -> timedelta:
    return timedelta(minutes=rng.expovariate(1 / mean))


def _case(
    rng: random.Random, n: int, reporters: int, start: datetime, span: float
) -> dict[str, Any]:
    calendar = OFFICE.calendar
    created = start + timedelta(seconds=rng.random() * span)
    unit = rng.choice(UNITS).code if rng.random() < 0.85 else None
    roll = rng.random()
    disposed = answered = closed = None
    status = "baru"
    if unit is not None:
        disposed = created + _minutes(rng, 600)
        status = "didisposisi"
        if roll < 0.8:
            answered = disposed + _minutes(rng, 2400)
            status = "dijawab"
            if roll < 0.7:
                closed = answered + _minutes(rng, 600)
                status = "selesai"
    elif roll < 0.3:
        closed = created + _minutes(rng, 300)
        status = "ditolak"
    rating = (
        rng.choice((1, 2, 3, 4, 4, 5, 5, 5)) if status == "selesai" and rng.random() < 0.6 else None
    )
    return {
        "id": n,
        "code": f"ADU-{n:08d}",
        "reporter_id": 1 + n % reporters,
        "channel": "whatsapp" if rng.random() < 0.4 else "telegram",
        "status": status,
        "privacy": rng.choice(("biasa",) * 8 + ("anonim", "rahasia")),
        "description": "Jalan berlubang di depan sekolah, membahayakan pengendara.",
        "location_text": "Kelurahan Contoh",
        "unit_code": unit,
        "category": rng.choice(CATEGORIES),
        "created_at": created,
        "updated_at": closed or answered or disposed or created,
        "acknowledged_at": created + timedelta(seconds=rng.uniform(0.2, 8)),
        "disposed_at": disposed,
        "first_disposed_at": disposed,
        "answered_at": answered,
        "closed_at": closed,
        "rating": rating,
        "rating_requested": status == "selesai" and rating is None,
        "nudge_count": 0,
        "filed_stamp": calendar.stamp(created),
        "disposed_stamp": calendar.stamp(disposed) if disposed else None,
        "answered_stamp": calendar.stamp(answered) if answered else None,
        "closed_stamp": calendar.stamp(closed) if closed else None,
    }


async def fill(db: Database, count: int, seed: int) -> None:
    rng = random.Random(seed)
    reporters = max(1, count // 5)
    start = datetime(2025, 1, 1, tzinfo=WIB).astimezone(UTC)
    span = (datetime(2026, 1, 1, tzinfo=WIB) - datetime(2025, 1, 1, tzinfo=WIB)).total_seconds()
    now = datetime.now(UTC)
    async with db.engine.begin() as connection:
        for first in range(1, reporters + 1, BATCH):
            rows = [
                {"id": i, "channel": "telegram", "address": str(10_000 + i), "created_at": now}
                for i in range(first, min(first + BATCH, reporters + 1))
            ]
            await connection.execute(insert(ReporterRecord), rows)
    made = 0
    event_id = 0
    while made < count:
        cases = [
            _case(rng, n, reporters, start, span)
            for n in range(made + 1, min(made + BATCH, count) + 1)
        ]
        events = []
        for case in cases:
            if case["status"] == "ditolak" or (case["unit_code"] and rng.random() < 0.03):
                event_id += 1
                events.append(
                    {
                        "id": event_id,
                        "case_id": case["id"],
                        "at": case["closed_at"] or case["disposed_at"],
                        "kind": "ditolak" if case["status"] == "ditolak" else "dikembalikan",
                        "actor_role": "officer",
                        "actor_name": "Petugas",
                        "note": "Bukan kewenangan",
                        "status_after": case["status"],
                        "unit_code": case["unit_code"],
                    }
                )
        async with db.engine.begin() as connection:
            await connection.execute(insert(CaseRecord), cases)
            if events:
                await connection.execute(insert(CaseEventRecord), events)
        made += len(cases)
        print(f"\r  filled {made:,} of {count:,} cases", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if db.engine.dialect.name == "postgresql":
        async with db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))


async def timed(label: str, work: Any) -> Any:
    began = time.perf_counter()
    result = await work
    print(f"{label:<44} {time.perf_counter() - began:8.3f} s")
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="aduanbot-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    db = Database(url)
    if db.engine.dialect.name == "postgresql":
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await db.upgrade()
    print(f"{db.engine.dialect.name}: {args.cases:,} cases filed through 2025")
    await timed("fill the database", fill(db, args.cases, args.seed))
    t = load_texts("id")
    clock = SystemClock()
    month = month_period(2025, 6)
    year = year_period(2025)
    recap = await timed("/rekap 2025-06: SQL tallies", load_recap(db, OFFICE, month, clock))
    print(f"  {recap.figures.received:,} cases received, {recap.figures.open_at_end:,} open at end")
    yearly = await timed("/rekap 2025: SQL tallies", load_recap(db, OFFICE, year, clock))
    print(f"  {yearly.figures.received:,} cases received")
    await timed(
        "2025-06 XLSX with the month's case list",
        write_recap_file(db, OFFICE, t, recap, folder / "2025-06.xlsx", "xlsx"),
    )
    await timed(
        "2025-06 chart (PNG)", write_recap_file(db, OFFICE, t, recap, folder / "2025-06.png", "png")
    )
    await timed(
        "2025 CSV (tallies)", write_recap_file(db, OFFICE, t, yearly, folder / "2025.csv", "csv")
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS) {peak:,.0f} MB; files in {folder}")
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
