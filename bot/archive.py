"""The CLI's archive commands: `aduanbot report` and `aduanbot export`.

They read the database the service writes (any instance may be running) and write
files for the office's archive; a progress bar shows on a terminal for long case lists.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from tqdm import tqdm

from bot.clock import SystemClock
from bot.core import views
from bot.core.office import Office
from bot.core.recap import PeriodError, month_period, parse_period, whole
from bot.core.texts import Texts
from bot.reports import load_case, load_recap, write_case_file, write_recap_file
from bot.settings import Settings
from storage.database import Database

FORMATS_BY_SUFFIX = {".xlsx": "xlsx", ".csv": "csv", ".png": "png", ".txt": "lapor"}


def _format(given: str | None, output: Path | None, default: str) -> str:
    if given:
        return given
    if output is not None and output.suffix.lower() in FORMATS_BY_SUFFIX:
        return FORMATS_BY_SUFFIX[output.suffix.lower()]
    return default


async def write_report(
    settings: Settings,
    office: Office,
    t: Texts,
    period_text: str,
    fmt: str | None,
    output: Path,
) -> int:
    """Writes a period's recap; the default period is the month before this one."""
    clock = SystemClock()
    today = clock.now().astimezone(office.timezone).date()
    try:
        if period_text.strip():
            period = parse_period(period_text, today)
        else:
            last_month = today.replace(day=1) - timedelta(days=1)
            period = month_period(last_month.year, last_month.month)
    except PeriodError:
        print(
            f"aduanbot: {period_text!r} is not a period: use 2026-11, 2026-Q4, 2026 or "
            "2026-11-01..2026-11-15",
            file=sys.stderr,
        )
        return 2
    kind = _format(fmt, output, "xlsx")
    if kind not in ("xlsx", "csv", "png"):
        print("aduanbot: a recap is written as xlsx, csv or png", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        recap = await load_recap(db, office, period, clock)
        output.parent.mkdir(parents=True, exist_ok=True)
        with tqdm(
            total=recap.figures.received,
            unit=" pengaduan",
            desc=f"rekap {period.label}",
            file=sys.stderr,
            disable=None if kind == "xlsx" else True,  # on a terminal only
        ) as bar:
            await write_recap_file(db, office, t, recap, output, kind, bar.update)
    finally:
        await db.dispose()
    received = whole(t, recap.figures.received)
    print(f"{output}: {t('recap_cli_done', period=period.title(t), received=received)}")
    return 0


async def export_case(
    settings: Settings,
    office: Office,
    t: Texts,
    code: str,
    fmt: str | None,
    output: Path | None,
) -> int:
    """Writes one case with its whole history, or its SP4N-LAPOR! form text."""
    kind = _format(fmt, output, "lapor" if output is None else "xlsx")
    if output is None and kind != "lapor":
        print("aduanbot: --output FILE is needed for xlsx and csv", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        found = await load_case(db, code)
    finally:
        await db.dispose()
    if found is None:
        print(f"aduanbot: {t('err_unknown_case', code=code)}", file=sys.stderr)
        return 1
    case, events = found
    if kind == "lapor":
        text = views.lapor_form(office, t, case, events)
        if output is None:
            print(text)
        else:
            await asyncio.to_thread(output.write_text, text + "\n", encoding="utf-8")
        return 0
    assert output is not None
    output.parent.mkdir(parents=True, exist_ok=True)
    await write_case_file(office, t, case, events, output, kind)
    print(f"{output}: {t('export_cli_done', code=case.code, events=len(events))}")
    return 0
