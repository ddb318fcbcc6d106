"""SOP 003 end to end (Diskominfo Tanah Laut, "Pengintegrasian seluruh Pengaduan kedalam
sistem LAPOR oleh Pejabat Penghubung"): a complaint received outside SP4N-LAPOR! is
verified, handed to the liaison, entered into LAPOR's manual form, and LAPOR's
disposition watched, with the liaison's nudges on the right working days.

The real app runs with `[lapor] enter_all = true` and the liaison's own Telegram group;
the scheduler ticks on a fixed clock (as tests/e2e/test_deadlines.py). The office closes
for Idul Fitri 2026 from Wednesday 18 to Tuesday 24 March, and on weekends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.standins.telegram import Chat, TelegramStandIn, User
from tests.e2e.conftest import OFFICERS, YANKES, World, running, settled
from tests.e2e.test_buttons import code_spans
from tests.e2e.test_deadlines import DESCRIPTION, FAST_AGENCY, after_ticks, said, wib
from tests.fakes import FixedClock

LIAISON = -1001000000020
LAPOR_AGENCY = (
    FAST_AGENCY
    + f"""
[lapor]
enter_all = true
liaison_chat_id = {LIAISON}
"""
)
REMINDER = "📌 Pengingat tugas"
NUMBER = "2026-0317001"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(wib(3, 17, 13, 50))  # Tuesday, the last working day before the holiday


@pytest.fixture
async def world(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=LAPOR_AGENCY, clock=clock) as world:
        yield world


async def test_sop_003_steps_1_to_5_with_the_liaisons_clocks(
    world: World, clock: FixedClock
) -> None:
    liaison_group = Chat.group(LIAISON, "Pejabat Penghubung SP4N-LAPOR!")
    wulan = User(7101, "Wulan", "Penghubung")

    # Step 1: "Laporan diterima melalui kanal diluar LAPOR" — a citizen writes to the
    # office's Telegram chat, a channel outside LAPOR.
    code = await world.file_complaint(world.citizen, DESCRIPTION)

    # Step 2: "Laporan diverifikasi oleh SKPA" — the officers verify it and dispose it
    # (its first disposition is the verification).
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await world.expect(YANKES, f"Disposisi {code}")

    # Step 3: "Laporan disampaikan kepada pejabat penghubung" — the liaison's group gets
    # it in the manual form's shape, with the command to record its number to copy.
    handover = await world.expect(LIAISON, f"pengaduan {code} sudah diverifikasi")
    assert handover.content.startswith(
        "📤 Untuk dimasukkan ke SP4N-LAPOR! paling lambat 25-03-2026 13:50"
    )
    for line in (
        f"Form manual SP4N-LAPOR! — {code}",
        f"Isi laporan: {DESCRIPTION}",
        "Unit penanggung jawab: Bidang Pelayanan Kesehatan (YANKES)",
        "Pelapor: Siti Aminah, 081234567890",
    ):
        assert line in handover.content, line
    assert code_spans(handover) == [f"/lapor {code} "]

    # Step 4 has 1 working day: the holiday week does not count, so the liaison is
    # reminded on Wednesday 25 March at 13:50 and not before.
    for quiet in (wib(3, 18, 10), wib(3, 20, 13, 50), wib(3, 23, 14), wib(3, 25, 13, 49)):
        await after_ticks(world, quiet, clock)
    assert said(world, LIAISON, REMINDER) == []
    await after_ticks(world, wib(3, 25, 13, 50), clock)
    nudge = await world.expect(LIAISON, REMINDER)
    assert (
        f"• {code} — belum dimasukkan ke SP4N-LAPOR!, sudah 1 hari kerja sejak diserahkan "
        "(batas 1 hari kerja)"
    ) in nudge.content
    await after_ticks(world, wib(3, 25, 15, 59), clock)
    assert len(said(world, LIAISON, REMINDER)) == 1  # once that day

    # the liaison's group may see the case and its form, and nothing else
    await world.says(wulan, "/bantuan", chat=liaison_group)
    await world.expect(LIAISON, "Perintah pejabat penghubung SP4N-LAPOR!")
    await world.says(wulan, f"/lapor {code}", chat=liaison_group)
    await world.expect(LIAISON, f"Form manual SP4N-LAPOR! — {code}")
    await world.says(wulan, f"/kasus {code}", chat=liaison_group)
    detail = await world.expect(LIAISON, f"Kasus {code} — Dalam Proses")
    assert "Pelapor: Siti Aminah" in detail.content  # staff of the office, as the form says
    await world.says(wulan, f"/disposisi {code} P2P", chat=liaison_group)
    await world.expect(LIAISON, "hanya dapat dipakai di grup petugas pengaduan")
    await world.says(wulan, f"/lapor {code} sudah", chat=liaison_group)
    await world.expect(LIAISON, "«sudah» bukan nomor SP4N-LAPOR!")

    # Step 4: "Pejabat penghubung menginput Laporan menggunakan form manual LAPOR" — the
    # liaison enters it on Thursday 26 March and records LAPOR's number.
    clock.set(wib(3, 26, 10))
    await world.says(wulan, f"/lapor {code} #{NUMBER}", chat=liaison_group)
    linked = f"🔗 {code} tercatat di SP4N-LAPOR! dengan nomor {NUMBER} (oleh Wulan Penghubung)."
    watch = "Admin Koordinator pada 31-03-2026 10:00."  # 3 working days: 27, 30, 31 March
    for chat in (LIAISON, OFFICERS):
        told = await world.expect(chat, linked)
        assert watch in told.content
    await world.says(wulan, f"/lapor {code} {NUMBER}", chat=liaison_group)
    await world.expect(LIAISON, f"Nomor SP4N-LAPOR! {code} memang {NUMBER}")

    # Step 5: "Pejabat Penghubung memantau Laporan yang akan didisposisikan oleh Admin
    # Koordinator" — reminded after 3 working days (a weekend between), not before.
    for quiet in (wib(3, 26, 13, 50), wib(3, 28, 10), wib(3, 30, 15), wib(3, 31, 9, 59)):
        await after_ticks(world, quiet, clock)
    assert len(said(world, LIAISON, REMINDER)) == 1  # the entry's, no more
    await after_ticks(world, wib(3, 31, 10), clock)
    reminders = said(world, LIAISON, REMINDER)
    assert len(reminders) == 2
    assert (
        f"• {code} — nomor SP4N-LAPOR! {NUMBER}: periksa disposisi Admin Koordinator "
        "(3 hari kerja sejak dimasukkan)"
    ) in reminders[1]
    assert "/lapor KODE status teks" in reminders[1]

    status = "Didisposisikan Admin Koordinator ke Dinas Kesehatan Kota Contoh."
    await world.says(wulan, f"/lapor {code} status {status}", chat=liaison_group)
    recorded = f"📝 Status SP4N-LAPOR! {code} (nomor {NUMBER}), dicatat oleh Wulan Penghubung:"
    for chat in (LIAISON, OFFICERS):
        told = await world.expect(chat, recorded)
        assert told.content.endswith(status)
    await after_ticks(world, wib(4, 1, 10), clock)
    await after_ticks(world, wib(4, 2, 10), clock)
    assert len(said(world, LIAISON, REMINDER)) == 2  # recorded: the watch is over

    # the case's history shows each step
    await world.says(world.officer, f"/kasus {code}", chat=world.officers)
    detail = await world.expect(OFFICERS, f"Kasus {code}")
    history = detail.content.split("Riwayat:")[1]
    steps = [
        "pengaduan diterima",
        "disposisi",
        "diserahkan ke pejabat penghubung untuk SP4N-LAPOR! (sistem): input ke SP4N-LAPOR! "
        "paling lambat 25-03-2026 13:50",
        f"nomor SP4N-LAPOR! dicatat (Wulan Penghubung): {NUMBER}",
        f"status di SP4N-LAPOR! (Wulan Penghubung): {status}",
    ]
    at = 0
    for step in steps:
        found = history.find(step, at)
        assert found >= 0, step
        at = found
    await settled(world)
    # the liaison's group is not the officers': no relay of new cases, no unit's nudges
    assert not any("Pengaduan baru" in text for text in world.tg.texts(LIAISON))


async def test_a_number_recorded_on_another_case_is_refused(world: World) -> None:
    first = await world.file_complaint(world.citizen, DESCRIPTION)
    second = await world.file_complaint(world.other_citizen, "Toilet puskesmas rusak.")
    await world.says(world.officer, f"/lapor {first} {NUMBER}", chat=world.officers)
    await world.expect(OFFICERS, f"🔗 {first} tercatat di SP4N-LAPOR! dengan nomor {NUMBER}")
    await world.says(world.officer, f"/lapor {second} {NUMBER.lower()}", chat=world.officers)
    refused = await world.expect(OFFICERS, f"sudah tercatat untuk kasus {first}")
    assert f"/gabung {second} {first}" in refused.content
    # recorded before its verification: no handover when it is disposed
    await world.says(world.officer, f"/disposisi {first} YANKES", chat=world.officers)
    await world.expect(YANKES, f"Disposisi {first}")
    await world.says(world.officer, f"/disposisi {second} YANKES", chat=world.officers)
    await world.expect(LIAISON, f"pengaduan {second} sudah diverifikasi")
    await settled(world)
    assert not any(first in text for text in world.tg.texts(LIAISON))
