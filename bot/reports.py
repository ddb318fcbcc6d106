"""Making recaps and exports: the files (XLSX, CSV, PNG) and the background worker.

`/rekap`, `/ekspor` and the calendar queue a job (`report_jobs`); the worker of any
instance claims it, counts the figures in the database, writes the files outside any
transaction (in a thread, so the event loop keeps serving webhooks), then queues the
messages that carry them and marks the job done in one transaction. A job whose maker
died is taken again when its lease runs out; a job that keeps failing is given up
after a few attempts and the chat that asked is told.

The CLI (`aduanbot report`, `aduanbot export`) uses the same functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.core.model import (
    STORED_FILE,
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    Channel,
    OutgoingMessage,
    Recipient,
)
from bot.core.office import Office
from bot.core.ports import Clock
from bot.core.recap import (
    CASE_JOB,
    RECAP_JOB,
    Period,
    Recap,
    build_recap,
    milestones,
    parse_period,
    recap_query,
    summary,
)
from bot.core.texts import Texts
from bot.core.tracing import CURRENT_CASE
from bot.exports.tables import write_case_csv, write_recap_csv
from bot.exports.workbook import EXCEL_MAX_ROWS, RecapWorkbook, write_case_workbook
from storage.database import Database
from storage.repositories.reports import ReportJob

log = logging.getLogger(__name__)

PAGE = 2000  # cases read per query when listing a period's cases
LEASE = timedelta(minutes=15)  # a job unfinished this long is taken by another instance
RETRY_DELAY = timedelta(minutes=1)
MAX_ATTEMPTS = 3
IDLE_POLL = 30.0  # seconds between looks for jobs queued by another instance
KEEP_FILES = timedelta(days=7)  # made files stay this long for the outbox to upload
STAMP_BATCH = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_CASES = EXCEL_MAX_ROWS - 1  # a sheet's rows, less the header
# A chat gets a case list of at most this many (about 12 MB; Telegram takes 50 MB from
# a bot); `aduanbot report` lists up to a sheet's worth.
CHAT_CASES = 100_000


def unit_names(office: Office) -> dict[str, str]:
    return {unit.code: unit.name for unit in office.units}


async def load_recap(db: Database, office: Office, period: Period, clock: Clock) -> Recap:
    now = clock.now()
    async with db.transaction(readonly=True) as uow:
        figures = await uow.recaps.figures(recap_query(office, period, now))
    return build_recap(office, period, figures, now)


async def write_recap_xlsx(
    db: Database,
    office: Office,
    t: Texts,
    recap: Recap,
    path: Path,
    progress: Callable[[int], object] | None = None,
    limit: int = SHEET_CASES,
) -> int:
    """Writes the recap workbook, listing the period's cases a page at a time; returns
    how many cases it listed. `progress` is told each page's size. A period of more
    than `limit` cases gets a note instead of its case list (the tallies are whole)."""
    start, end = recap.period.bounds(office)
    book = await asyncio.to_thread(
        RecapWorkbook, path, recap, t, office.timezone, unit_names(office)
    )
    listed = 0
    try:
        if recap.figures.listed > limit:  # the duplicates merged are listed too
            note = t("xlsx_cases_omitted", count=recap.figures.listed, limit=limit)
            await asyncio.to_thread(book.omit_cases, note)
        else:
            listed = await _list_cases(db, book, start, end, progress)
    finally:
        await asyncio.to_thread(book.close)
    return listed


async def _list_cases(
    db: Database,
    book: RecapWorkbook,
    start: datetime,
    end: datetime,
    progress: Callable[[int], object] | None,
) -> int:
    listed = after = 0
    while True:
        async with db.transaction(readonly=True) as uow:
            page = await uow.recaps.case_rows(start, end, after, PAGE)
        if not page:
            return listed
        after = page[-1][0]
        await asyncio.to_thread(book.add_cases, [row for _, row in page])
        listed += len(page)
        if progress is not None:
            progress(len(page))


async def write_recap_file(
    db: Database,
    office: Office,
    t: Texts,
    recap: Recap,
    path: Path,
    fmt: str,
    progress: Callable[[int], object] | None = None,
    limit: int = SHEET_CASES,
) -> None:
    """The recap as `fmt` ("xlsx", "csv" or "png") at `path`."""
    if fmt == "xlsx":
        await write_recap_xlsx(db, office, t, recap, path, progress, limit)
    elif fmt == "csv":
        await asyncio.to_thread(write_recap_csv, path, recap, t)
    elif fmt == "png":
        image = await asyncio.to_thread(_render_chart, recap, t, unit_names(office))
        await asyncio.to_thread(path.write_bytes, image)
    else:
        raise ValueError(f"unknown format {fmt!r}: xlsx, csv or png")


def _render_chart(recap: Recap, t: Texts, names: Mapping[str, str]) -> bytes:
    """The recap chart. matplotlib is imported with the first chart (in a worker thread),
    not when the service starts: it is most of the service's import time."""
    from bot.exports.chart import render_recap_chart

    return render_recap_chart(recap, t, names)


async def load_case(db: Database, code: str) -> tuple[Case, list[CaseEvent]] | None:
    async with db.transaction(readonly=True) as uow:
        case = await uow.cases.get_by_code(code.strip().upper())
        if case is None or case.id is None:
            return None
        return case, await uow.cases.events(case.id)


async def write_case_file(
    office: Office, t: Texts, case: Case, events: list[CaseEvent], path: Path, fmt: str
) -> None:
    """One case with its whole history as `fmt` ("xlsx" or "csv") at `path`."""
    names = unit_names(office)
    if fmt == "xlsx":
        await asyncio.to_thread(write_case_workbook, path, case, events, t, office.timezone, names)
    elif fmt == "csv":
        await asyncio.to_thread(write_case_csv, path, case, events, t, office.timezone, names)
    else:
        raise ValueError(f"unknown format {fmt!r}: xlsx or csv")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "laporan"


@dataclass
class ReportWorker:
    """Makes queued recaps and exports and hands them to the outbox."""

    db: Database
    office: Office
    texts: Texts
    clock: Clock
    folder: Path  # where the files are kept for the outbox to upload
    after_commit: Callable[[], None]

    def __post_init__(self) -> None:
        self._wakeup = asyncio.Event()
        self.made = 0  # jobs finished (for tests and logs)
        self._made = asyncio.Condition()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        try:
            await self.stamp_old_cases()
        except Exception:  # the database may be down at start; the next start retries
            log.exception("reports: cases stored before recaps could not be stamped")
        while True:
            self._wakeup.clear()  # before looking, so a job queued meanwhile wakes us
            try:
                worked = await self.make_next()
                if worked:
                    await asyncio.to_thread(self.prune, time.time() - KEEP_FILES.total_seconds())
            except Exception:
                log.exception("reports: the job queue could not be read")
                worked = False
            if worked:
                continue
            with contextlib.suppress(TimeoutError):  # a look now and then for others' jobs
                async with asyncio.timeout(IDLE_POLL):
                    await self._wakeup.wait()

    def prune(self, before: float) -> int:
        """Deletes the files made before `before` (a Unix time); long sent by then."""
        gone = 0
        for path in self.folder.glob("*"):
            if path.is_file() and path.stat().st_mtime < before:
                path.unlink(missing_ok=True)
                gone += 1
        return gone

    async def wait_for_jobs(self, count: int) -> None:
        """Until `count` jobs in all have been finished by this worker (tests)."""
        async with self._made:
            await self._made.wait_for(lambda: self.made >= count)

    async def make_next(self) -> bool:
        """Claims and makes one job; False when there was none."""
        # Woken when this process queued a job, and every IDLE_POLL for jobs queued
        # elsewhere, the worker looks first without writing: on SQLite a claim takes the
        # write lock, which webhooks and the processor queue for.
        async with self.db.transaction(readonly=True) as uow:
            if not await uow.reports.any_claimable(LEASE):
                return False
        async with self.db.transaction() as uow:
            job = await uow.reports.claim(LEASE)
        if job is None:
            return False
        CURRENT_CASE.set(job.subject if job.kind == CASE_JOB else None)
        try:
            messages = await self._make(job)
        except Exception as exc:
            log.exception("reports: job %s (%s %s) failed", job.id, job.kind, job.subject)
            await self._failed(job, exc)
            return True
        async with self.db.transaction() as uow:
            if await uow.reports.finish(job):
                for message in messages:
                    await uow.outbox.enqueue(message)
        self.after_commit()
        async with self._made:
            self.made += 1
            self._made.notify_all()
        return True

    async def _failed(self, job: ReportJob, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:500]
        async with self.db.transaction() as uow:
            if job.attempts < MAX_ATTEMPTS:
                await uow.reports.release(job, error, LEASE, RETRY_DELAY)
                return
            if await uow.reports.finish(job, error):
                await uow.outbox.enqueue(
                    OutgoingMessage(
                        Recipient(Channel.TELEGRAM, job.chat_id),
                        self.texts("report_failed", subject=job.subject),
                    )
                )
        self.after_commit()

    async def _make(self, job: ReportJob) -> list[OutgoingMessage]:
        if job.kind == RECAP_JOB:
            return await self._recap(job)
        if job.kind == CASE_JOB:
            return await self._case(job)
        raise ValueError(f"unknown report job kind {job.kind!r}")

    async def _recap(self, job: ReportJob) -> list[OutgoingMessage]:
        t, office = self.texts, self.office
        today = self.clock.now().astimezone(office.timezone).date()
        period = parse_period(job.subject, today)
        recap = await load_recap(self.db, office, period, self.clock)
        base = self.folder / f"{job.id}-rekap-{_safe(period.label)}"
        xlsx, png = base.with_suffix(".xlsx"), base.with_suffix(".png")
        await write_recap_file(self.db, office, t, recap, xlsx, "xlsx", limit=CHAT_CASES)
        await write_recap_file(self.db, office, t, recap, png, "png")
        chat = Recipient(Channel.TELEGRAM, job.chat_id)
        name = f"rekap-{_safe(office.code_prefix.lower())}-{_safe(period.label)}"
        document = Attachment(
            AttachmentKind.DOCUMENT, str(xlsx), STORED_FILE, f"{name}.xlsx", XLSX, None
        )
        chart = Attachment(AttachmentKind.PHOTO, str(png), STORED_FILE, f"{name}.png", "image/png")
        return [
            OutgoingMessage(chat, summary(t, recap)),
            OutgoingMessage(
                chat, t("recap_file_caption", period=period.title(t)), attachments=(document,)
            ),
            OutgoingMessage(
                chat, t("recap_chart_caption", period=period.title(t)), attachments=(chart,)
            ),
        ]

    async def _case(self, job: ReportJob) -> list[OutgoingMessage]:
        found = await load_case(self.db, job.subject)
        chat = Recipient(Channel.TELEGRAM, job.chat_id)
        if found is None:
            return [OutgoingMessage(chat, self.texts("err_unknown_case", code=job.subject))]
        case, events = found
        path = self.folder / f"{job.id}-{_safe(case.code)}.xlsx"
        await write_case_file(self.office, self.texts, case, events, path, "xlsx")
        document = Attachment(
            AttachmentKind.DOCUMENT, str(path), STORED_FILE, f"{_safe(case.code)}.xlsx", XLSX
        )
        caption = self.texts("export_caption", code=case.code)
        return [OutgoingMessage(chat, caption, attachments=(document,), case_id=case.id)]

    async def stamp_old_cases(self) -> int:
        """Gives cases stored before working-minute stamps existed their stamps."""
        done = 0
        while True:
            async with self.db.transaction() as uow:
                rows = await uow.recaps.unstamped(STAMP_BATCH)
                for case_id, filed, disposed, answered, closed in rows:
                    m = milestones(self.office.calendar, filed, disposed, answered, closed)
                    await uow.recaps.stamp(case_id, (m.filed, m.disposed, m.answered, m.closed))
            done += len(rows)
            if len(rows) < STAMP_BATCH:
                if done:
                    log.info("reports: stamped %d cases stored before recaps existed", done)
                return done
