"""A busy city's case history, generated straight into the database (bench/recap.py,
bench/history.py).

Statuses, units, channels, categories, ratings, refusals and returns come in realistic
shares, with stamps from the office calendar. By default every case keeps the status it
drew, as if the history were frozen at its end; with `open_since` only cases filed since
then are still open, each on the clock of its step (`step`, `due_at`, `next_check_at`)
as the deadline patrol keeps it: older ones were long answered and closed, and an
overdue case was nudged already, so its next check lies ahead.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text

from bot.core.calendar import WorkingCalendar
from bot.core.model import Step
from bot.core.office import Office, Unit
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
YEAR_2025 = (datetime(2025, 1, 1, tzinfo=WIB), datetime(2026, 1, 1, tzinfo=WIB))
STEP_OF_STATUS = {
    "baru": Step.VERIFY,
    "didisposisi": Step.ANSWER,
    "dijawab": Step.CONFIRM,
}


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


def _settle(rng: random.Random, case: dict[str, Any], open_since: datetime, now: datetime) -> None:
    """Closes an old case, or puts a recent open one on its step's clock."""
    calendar = OFFICE.calendar
    if case["created_at"] < open_since or case["created_at"] > now:
        if case["status"] == "baru":
            case["status"] = "ditolak"
            case["closed_at"] = case["created_at"] + _minutes(rng, 300)
        elif case["status"] in ("didisposisi", "dijawab"):
            case["answered_at"] = case["answered_at"] or case["disposed_at"] + _minutes(rng, 2400)
            case["closed_at"] = case["answered_at"] + _minutes(rng, 600)
            case["status"] = "selesai"
            case["answered_stamp"] = calendar.stamp(case["answered_at"])
        else:
            return
        case["updated_at"] = case["closed_at"]
        case["closed_stamp"] = calendar.stamp(case["closed_at"])
        return
    for moment in ("disposed", "answered", "closed"):  # not in the future
        if case[f"{moment}_at"] is not None and case[f"{moment}_at"] > now:
            case[f"{moment}_at"] = now - _minutes(rng, 30)
            case[f"{moment}_stamp"] = calendar.stamp(case[f"{moment}_at"])
    step = STEP_OF_STATUS.get(case["status"])
    if step is None:
        return
    started = {"baru": "created_at", "didisposisi": "disposed_at", "dijawab": "answered_at"}
    began = case[started[case["status"]]]
    due = OFFICE.deadlines.budget(step).after(calendar, began)
    case["step"] = step.value
    case["step_started_at"] = began
    case["due_at"] = due
    # The patrol has been keeping up: what fell due was nudged and checks again later;
    # a few cases fell due since the last round.
    late = rng.random() < 0.01
    case["next_check_at"] = (
        due
        if due > now
        else now - timedelta(minutes=rng.uniform(0, 5))
        if late
        else now + timedelta(hours=rng.uniform(0.5, 24))
    )
    if due <= now and not late:
        case["nudged_at"] = now - timedelta(hours=rng.uniform(0, 8))
        case["nudge_count"] = 1


async def fill(
    db: Database,
    count: int,
    seed: int,
    *,
    period: tuple[datetime, datetime] = YEAR_2025,
    open_since: datetime | None = None,
) -> None:
    """Stores `count` cases filed over `period` (with a fifth as many reporters).

    With `open_since`, cases filed before it are closed and the open ones are on their
    step's clock (see the module); the period's end is then taken as now.
    """
    rng = random.Random(seed)
    reporters = max(1, count // 5)
    start = period[0].astimezone(UTC)
    span = (period[1] - period[0]).total_seconds()
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
        if open_since is not None:
            for case in cases:
                case.update(dict.fromkeys(("step", "step_started_at", "due_at")))
                case.update(dict.fromkeys(("next_check_at", "nudged_at")))
                _settle(rng, case, open_since, period[1])
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
    if db.engine.dialect.name == "postgresql":  # as autovacuum would have by then
        async with db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
