"""Benchmark: the recap of a busy city's year, with 1 million cases in the database.

    python bench/recap.py                       # SQLite file in a temporary folder
    python bench/recap.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
    python bench/recap.py --cases 200000        # a smaller run

It fills an empty database (the newest schema) with `--cases` cases filed through
2025 (`bench/cases.py`: statuses, units, channels, categories, ratings, refusals and
returns in realistic shares, stamps from the office calendar), then times what the service
does for `/rekap` and `aduanbot report`: the SQL tallies of a month and of the whole
year, the XLSX with the month's case list, and the chart. PostgreSQL: the database's
`public` schema is emptied first, so never point it at a database you care about.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from typing import Any

from bench.cases import OFFICE, fill
from bench.common import bench_database, empty_schema
from bot.clock import SystemClock
from bot.core.recap import month_period, year_period
from bot.core.texts import load_texts
from bot.reports import load_recap, write_recap_file
from storage.database import Database


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
    folder, url = bench_database(args.database_url, "recap")
    db = Database(url)
    await empty_schema(db.engine)
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
