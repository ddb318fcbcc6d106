"""The report worker on each database: jobs made once, retried, taken over, given up;
old cases stamped; the acknowledgement time recorded by the sender; the CLI's files."""

from __future__ import annotations

import asyncio
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import Connection, bindparam, select, text

from bot.core.cases import CaseDesk
from bot.core.dialogue import Submission
from bot.core.model import Actor, Channel, Privacy
from bot.core.recap import CASE_JOB, RECAP_JOB
from bot.core.texts import load_texts
from bot.reports import LEASE, MAX_ATTEMPTS, RETRY_DELAY, ReportWorker
from storage import Database
from storage.models import CaseRecord, OutboxRecord, ReportJobRecord, UTCDateTime
from tests.fakes import FixedClock
from tests.integration.test_storage_infra import _upgrade_to
from tests.unit.sample import P2P, YANKES, sample_office

WIB = ZoneInfo("Asia/Jakarta")
OFFICE = sample_office(YANKES, P2P)
T = load_texts("id")
OFFICER = Actor("officer", "900", "Petugas Sari", "-1001")
CHAT = "-1001"


def worker(database: Database, clock: FixedClock, folder: Path) -> ReportWorker:
    folder.mkdir(exist_ok=True)
    return ReportWorker(database, OFFICE, T, clock, folder, after_commit=lambda: None)


async def queue(database: Database, kind: str, subject: str) -> None:
    async with database.transaction() as uow:
        assert await uow.reports.add(kind, subject, CHAT, "Petugas Sari")


async def file_case(database: Database, clock: FixedClock) -> str:
    async with database.transaction() as uow:
        desk = CaseDesk(uow, OFFICE, T, clock.now())
        reporter = await uow.reporters.get_or_create(Channel.TELEGRAM, "5001", "Siti")
        case = await desk.submit(
            reporter,
            Submission(
                "Obat habis", "Puskesmas Contoh", None, None, (), Privacy.NORMAL, "Siti", "0812"
            ),
        )
    return case.code


def _bytes(path: str) -> bytes:
    """A file the worker wrote (for the outbox to upload)."""
    return Path(path).read_bytes()


async def outbox(database: Database) -> list[dict[str, Any]]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(select(OutboxRecord.payload).order_by(OutboxRecord.id))
        return [row[0] for row in rows]


async def test_a_recap_job_is_made_once_into_summary_workbook_and_chart(
    database: Database, clock: FixedClock, tmp_path: Path
) -> None:
    code = await file_case(database, clock)
    await queue(database, RECAP_JOB, "2026-03")
    made = worker(database, clock, tmp_path / "reports")
    assert await made.make_next() is True
    assert await made.make_next() is False  # done: nobody makes it again
    messages = [m for m in await outbox(database) if m["text"].startswith(("📊", "📎", "📈"))]
    assert [m["text"].split("\n")[0] for m in messages] == [
        "📊 Rekap pengaduan Dinas Kesehatan Kota Contoh",
        "📎 Rekap pengaduan Maret 2026 (XLSX)",
        "📈 Grafik rekap Maret 2026",
    ]
    (document,) = messages[1]["attachments"]
    assert document["file_name"] == "rekap-adu-2026-03.xlsx"
    book = load_workbook(io.BytesIO(_bytes(document["ref"])), read_only=True)
    listed = list(book[book.sheetnames[-1]].iter_rows(values_only=True))
    assert [row[0] for row in listed[1:]] == [code]
    (chart,) = messages[2]["attachments"]
    assert _bytes(chart["ref"]).startswith(b"\x89PNG")


async def test_a_case_export_job_sends_the_history_workbook(
    database: Database, clock: FixedClock, tmp_path: Path
) -> None:
    code = await file_case(database, clock)
    await queue(database, CASE_JOB, code.lower())
    await queue(database, CASE_JOB, "ADU-TIDAKADA")
    made = worker(database, clock, tmp_path / "reports")
    assert await made.make_next() and await made.make_next()
    sent = await outbox(database)
    export, missing = sent[-2:]
    assert export["text"] == f"📎 Pengaduan {code} beserta seluruh riwayatnya"
    (document,) = export["attachments"]
    book = load_workbook(Path(document["ref"]), read_only=True)
    assert book.sheetnames == ["Pengaduan", "Riwayat"]
    assert missing["text"] == "Kasus ADU-TIDAKADA tidak ditemukan."


async def test_a_failing_job_is_retried_then_given_up_with_word_to_the_chat(
    database: Database, clock: FixedClock, tmp_path: Path
) -> None:
    await queue(database, RECAP_JOB, "bukan-periode")
    made = worker(database, clock, tmp_path / "reports")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await made.make_next() is True, attempt
        assert await made.make_next() is False  # waits out the retry delay
        clock.advance(RETRY_DELAY + timedelta(seconds=1))
    async with database.engine.connect() as connection:
        job = (await connection.execute(select(ReportJobRecord))).one()
    assert (job.status, job.attempts) == ("failed", MAX_ATTEMPTS)
    assert "PeriodError" in (job.error or "")
    assert (await outbox(database))[-1]["text"].startswith(
        "⚠️ Maaf, bukan-periode gagal disiapkan setelah beberapa kali mencoba."
    )


async def test_a_job_whose_maker_died_is_taken_over_after_the_lease(
    database: Database, clock: FixedClock
) -> None:
    await queue(database, RECAP_JOB, "2026-03")
    async with database.transaction() as uow:
        first = await uow.reports.claim(LEASE)
    assert first is not None
    async with database.transaction() as uow:
        assert await uow.reports.claim(LEASE) is None
    clock.advance(LEASE + timedelta(seconds=1))
    async with database.transaction() as uow:
        second = await uow.reports.claim(LEASE)
    assert second is not None and (second.id, second.attempts) == (first.id, 2)
    async with database.transaction() as uow:
        assert await uow.reports.finish(first) is False  # the first maker lost it
        assert await uow.reports.finish(second) is True


async def test_automatic_recaps_are_queued_once_per_period(database: Database) -> None:
    async with database.transaction() as uow:
        assert await uow.reports.add(RECAP_JOB, "2026-03", CHAT, None, dedup_key="auto:2026-03")
    async with database.transaction() as uow:
        assert not await uow.reports.add(RECAP_JOB, "2026-03", CHAT, None, dedup_key="auto:2026-03")
        assert await uow.reports.pending() == 1


async def test_the_sender_records_when_the_acknowledgement_went_out(
    database: Database, clock: FixedClock
) -> None:
    code = await file_case(database, clock)
    async with database.transaction() as uow:
        case = await uow.cases.get_by_code(code)
        assert case is not None and case.id is not None and case.acknowledged_at is None
        await uow.sending.mark_acknowledged(case.id, clock.now() + timedelta(seconds=3))
        await uow.sending.mark_acknowledged(case.id, clock.now() + timedelta(seconds=9))
        case.status_before_info_request = None
        await uow.cases.update(case)  # a later save never overwrites it
    async with database.transaction() as uow:
        stored = await uow.cases.get_by_code(code)
    assert stored is not None
    assert stored.acknowledged_at == clock.now() + timedelta(seconds=3)


MONDAY_09_WIB = datetime(2026, 3, 2, 9, 0, tzinfo=WIB)


def _insert_old_case(connection: Connection) -> None:
    at = bindparam("at", type_=UTCDateTime())
    later = bindparam("later", type_=UTCDateTime())
    connection.execute(
        text(
            "INSERT INTO reporters (id, channel, address, created_at) "
            "VALUES (1, 'telegram', '5001', :at)"
        ).bindparams(at),
        {"at": MONDAY_09_WIB},
    )
    connection.execute(
        text(
            "INSERT INTO cases (id, code, reporter_id, channel, status, privacy, description, "
            "unit_code, created_at, updated_at, disposed_at, answered_at) VALUES (1, 'ADU-OLD001', "
            "1, 'telegram', 'dijawab', 'biasa', 'Obat habis', 'P2P', :at, :later, :later, :later)"
        ).bindparams(at, later),
        {"at": MONDAY_09_WIB, "later": MONDAY_09_WIB + timedelta(hours=3)},
    )
    for kind, hours in (("disposisi", 1), ("disposisi", 3), ("dijawab", 3)):
        connection.execute(
            text(
                "INSERT INTO case_events (case_id, at, kind, actor_role) "
                "VALUES (1, :at, :kind, 'officer')"
            ).bindparams(bindparam("at", type_=UTCDateTime())),
            {"at": MONDAY_09_WIB + timedelta(hours=hours), "kind": kind},
        )


async def test_cases_stored_before_recaps_get_their_first_disposition_and_stamps(
    database_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    database = Database(database_url, clock=clock)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(_upgrade_to("0003"))
            await connection.run_sync(_insert_old_case)
        await database.upgrade()
        assert await worker(database, clock, tmp_path / "r").stamp_old_cases() == 1
        async with database.engine.connect() as connection:
            row = (await connection.execute(select(CaseRecord))).one()
        # the first of the two dispositions, at 10:00; 60 working minutes after filing
        assert row.first_disposed_at == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
        assert row.disposed_stamp - row.filed_stamp == 60
        assert row.answered_stamp - row.filed_stamp == 180
        assert row.closed_stamp is None
        assert await worker(database, clock, tmp_path / "r").stamp_old_cases() == 0
    finally:
        await database.dispose()


@pytest.mark.parametrize("period", ["2026-03", "2026-Q1"])
async def test_the_report_command_writes_each_format(
    database: Database,
    database_url: str,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    period: str,
) -> None:
    from bot import cli

    code = await file_case(database, clock)
    agency = tmp_path / "aduan.toml"
    agency.write_text(
        '[agency]\nname = "Dinas Kesehatan Kota Contoh"\ntimezone = "Asia/Jakarta"\n'
        "[groups]\nofficers_chat_id = -1001\n"
        '[[units]]\ncode = "YANKES"\nname = "Bidang Pelayanan Kesehatan"\nchat_id = -2001\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)  # the archive needs no bot
    monkeypatch.setenv("ADUAN_CONFIG", str(agency))
    monkeypatch.setenv("DATABASE_URL", database_url)
    for fmt in ("xlsx", "csv", "png"):
        output = tmp_path / f"rekap.{fmt}"
        assert (
            await asyncio.to_thread(
                cli.main, ["report", "--period", period, "--format", fmt, "--output", str(output)]
            )
            == 0
        )
        assert output.stat().st_size > 0
    title = "Maret 2026" if period == "2026-03" else "Triwulan I 2026"
    assert (
        capsys.readouterr().out.splitlines()[0]
        == f"{tmp_path / 'rekap.xlsx'}: rekap {title}, 1 pengaduan"
    )
    book = load_workbook(tmp_path / "rekap.xlsx", read_only=True)
    assert [row[0] for row in list(book[book.sheetnames[-1]].iter_rows(values_only=True))[1:]] == [
        code
    ]
    assert "Diterima dalam periode" in (tmp_path / "rekap.csv").read_text(encoding="utf-8-sig")
    assert (tmp_path / "rekap.png").read_bytes().startswith(b"\x89PNG")

    assert await asyncio.to_thread(cli.main, ["export", code]) == 0
    assert f"Form manual SP4N-LAPOR! — {code}" in capsys.readouterr().out
    assert (
        await asyncio.to_thread(cli.main, ["export", code, "--output", str(tmp_path / "kasus.csv")])
        == 0
    )
    assert code in (tmp_path / "kasus.csv").read_text(encoding="utf-8-sig")
    assert await asyncio.to_thread(cli.main, ["export", "ADU-TIDAKADA"]) == 1
    assert (
        await asyncio.to_thread(
            cli.main, ["report", "--period", "2026-13", "--output", str(tmp_path / "x.xlsx")]
        )
        == 2
    )


def test_made_files_are_pruned_once_long_sent(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    old, new = folder / "1-rekap-2026-01.xlsx", folder / "2-rekap-2026-02.xlsx"
    for path in (old, new):
        path.write_bytes(b"xlsx")
    os.utime(old, (1_000_000, 1_000_000))
    made = ReportWorker(cast(Database, None), OFFICE, T, FixedClock(), folder, lambda: None)
    assert made.prune(before=2_000_000) == 1
    assert [p.name for p in folder.iterdir()] == [new.name]
