"""The chain of command each SOP has (`[workflow]`, issue 21), over the real webhook.

SOP 002 (`disposition_by = "supervisor"`): the officer hands the complaint to the
*atasan*, who disposes it; the reporter hears *Dalam Proses* only then, and the
supervisor's step has its own deadline. SOP 004 (`follow_up_plan = true` as well): the
team proposes a disposition with its follow-up plan, the Sekretaris approves it, the unit
sees the plan and reports its result to the team, and at closure the Sekretaris gets the
case's result report. In any agency with a supervisor chat the officers may return a case
to the supervisor, and any case outside the office's authority may be transferred to
another agency, the reporter told where and why.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.model import Case
from bot.standins.telegram import Chat, SentMessage, TelegramStandIn, User
from tests.e2e.conftest import (
    AGENCY,
    OFFICERS,
    P2P,
    SUPERVISOR,
    YANKES,
    World,
    running,
    settled,
)
from tests.e2e.test_recaps import files_after, row_of, workbook
from tests.fakes import FixedClock

WIB = ZoneInfo("Asia/Jakarta")
DESCRIPTION = "Obat hipertensi di Puskesmas Sukamaju habis sejak seminggu, pasien disuruh beli."
HEAD = User(9001, "Kepala", "Dinas")
SUPERVISOR_CHAT = Chat.group(SUPERVISOR, "Atasan")
SOP_002 = AGENCY + '\n[workflow]\ndisposition_by = "supervisor"\n'
SOP_004 = AGENCY + '\n[workflow]\ndisposition_by = "supervisor"\nfollow_up_plan = true\n'
PLAN = "Rapat tim 3 Maret: cek stok di gudang farmasi, kirim obat ke puskesmas, pantau seminggu."
IN_PROCESS = "Dalam Proses"


async def case_of(world: World, code: str) -> Case:
    async with world.service.db.transaction(readonly=True) as uow:
        case = await uow.cases.get_by_code(code)
    assert case is not None
    return case


def labels(message: SentMessage) -> list[str]:
    return [label for label, _ in message.buttons]


def labels_now(world: World, message: SentMessage) -> list[str]:
    """The labels the message's buttons have now, after any edits."""
    current = next(
        m for m in world.tg.messages(message.chat_id) if m.message_id == message.message_id
    )
    return labels(current)


def said(world: World, chat_id: int, fragment: str) -> list[str]:
    return [text for text in world.tg.texts(chat_id) if fragment in text]


async def answer_of(world: World, user: User, chat: Chat, text: str) -> str:
    """What the bot says next in that chat after `user` types `text` there (once all
    that came before was sent)."""
    await settled(world)
    before = len(world.tg.messages(chat.id))
    await world.says(user, text, chat=chat)
    return (await world.tg.wait_for(before + 1, chat_id=chat.id, timeout=10))[before].content


@pytest.fixture
async def sop_002(tg: TelegramStandIn, database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=SOP_002) as world:
        yield world


@pytest.fixture
async def sop_004(tg: TelegramStandIn, database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=SOP_004) as world:
        yield world


# ------------------------------------------------------------------ SOP 002: the atasan
async def test_sop_002_the_supervisor_disposes_what_the_officer_proposed(sop_002: World) -> None:
    world, tg = sop_002, sop_002.tg
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")

    # step 5: the officer hands the complaint to the atasan (the unit button is a proposal)
    await tg.user_taps(world.officer, relay, "➡️ YANKES")
    proposed = await world.expect(OFFICERS, f"{code} diusulkan ke")
    assert "Bidang Pelayanan Kesehatan (YANKES) oleh Budi Petugas" in proposed.content
    assert "menunggu persetujuan atasan" in proposed.content
    proposal = await world.expect(SUPERVISOR, f"Usulan disposisi {code}")
    assert DESCRIPTION in proposal.content and "Siti Aminah" in proposal.content
    assert labels(proposal) == ["✅ Setujui YANKES", "➡️ P2P"]
    assert all(len((data or "").encode()) <= 64 for _, data in proposal.buttons)
    await settled(world)
    assert said(world, world.citizen.id, IN_PROCESS) == []  # the reporter hears nothing yet
    assert world.tg.texts(YANKES) == [] and world.tg.texts(P2P) == []
    assert labels_now(world, relay) == ["⏳ YANKES", "➡️ P2P", "❓ Minta kelengkapan", "⛔ Tolak"]
    assert (await case_of(world, code)).status.value == "diusulkan"

    # step 6: the atasan picks another unit; that unit gets it, the reporter hears it now
    await tg.user_taps(HEAD, proposal, "➡️ P2P")
    unit_case = await world.expect(P2P, f"Disposisi {code}")
    assert DESCRIPTION in unit_case.content
    told = await world.expect(world.citizen.id, IN_PROCESS)
    assert "Bidang Pencegahan dan Pengendalian Penyakit" in told.content
    decided = await world.expect(OFFICERS, f"Atasan (Kepala Dinas) mendisposisi {code}")
    assert "(usulan petugas: YANKES)" in decided.content
    await world.expect(SUPERVISOR, f"Atasan (Kepala Dinas) mendisposisi {code}")
    await settled(world)
    assert labels_now(world, proposal) == []
    assert labels_now(world, relay) == ["➡️ YANKES", "✅ P2P", "❓ Minta kelengkapan", "⛔ Tolak"]
    assert world.tg.texts(YANKES) == []
    assert len(said(world, world.citizen.id, IN_PROCESS)) == 1
    case = await case_of(world, code)
    assert (case.status.value, case.unit_code, case.proposed_unit) == ("didisposisi", "P2P", None)

    # the same decision again is refused, with what the case is now
    said_again = await answer_of(world, HEAD, SUPERVISOR_CHAT, f"/setujui {code}")
    assert f"{code} tidak sedang menunggu keputusan atasan (status: Dalam Proses)" in said_again


async def test_sop_002_a_second_proposal_replaces_the_first(sop_002: World) -> None:
    world, tg = sop_002, sop_002.tg
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    first = await world.expect(SUPERVISOR, f"Usulan disposisi {code} ke Bidang Pelayanan")
    stale = copy.deepcopy(first)
    # the same proposal twice changes nothing
    again = await answer_of(world, world.officer, world.officers, f"/disposisi {code} YANKES")
    assert "sudah diusulkan ke Bidang Pelayanan Kesehatan (YANKES)" in again

    # the officers may still ask the reporter for more while it waits
    await world.says(world.officer, f"/lengkapi {code} Mohon foto resepnya.", chat=world.officers)
    await world.expect(world.citizen.id, "Mohon foto resepnya.")
    refused = await answer_of(world, HEAD, SUPERVISOR_CHAT, f"/setujui {code}")
    assert f"{code} tidak sedang menunggu keputusan atasan (status: Perlu dilengkapi)" in refused
    await world.says(world.citizen, "Ini resepnya, dari dokter puskesmas.")
    await world.expect(OFFICERS, f"Pelapor melengkapi {code}")

    await world.says(world.officer, f"/disposisi {code} P2P stok dipegang P2P", chat=world.officers)
    second = await world.expect(SUPERVISOR, f"Usulan disposisi {code} ke Bidang Pencegahan")
    assert "Catatan: stok dipegang P2P" in second.content
    assert labels(second) == ["✅ Setujui P2P", "➡️ YANKES"]
    await settled(world)
    assert labels_now(world, first) == []  # the first proposal's buttons went
    # a phone still showing the first proposal: its approval names the current one
    await tg.user_taps(HEAD, stale, "✅ Setujui YANKES")
    await world.expect(SUPERVISOR, f"Usulan disposisi {code} sudah berubah menjadi")
    await settled(world)
    assert world.tg.texts(YANKES) == []

    # only the supervisor approves; in the supervisor chat, with one word
    refused = await answer_of(world, world.officer, world.officers, f"/setujui {code}")
    assert f"Disposisi {code} diputuskan atasan" in refused
    await world.says(HEAD, f"/setujui {code}", chat=SUPERVISOR_CHAT)
    unit_case = await world.expect(P2P, f"Disposisi {code}")
    assert "Catatan: stok dipegang P2P" in unit_case.content
    await world.expect(OFFICERS, f"Disposisi {code} ke Bidang Pencegahan")
    await world.expect(world.citizen.id, IN_PROCESS)
    await settled(world)
    assert labels_now(world, second) == []


@pytest.fixture
def monday() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 10, 0, tzinfo=WIB))  # no holiday near


async def test_sop_002_the_supervisor_is_nudged_after_approve_days(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, monday: FixedClock
) -> None:
    clock = monday
    fast = 'digest_time = ""\ntick_seconds = 0.05\napprove_days = 2'
    agency = SOP_002.replace('digest_time = ""', fast)
    async with running(tg, database_url, tmp_path, agency=agency, clock=clock) as world:
        code = await world.file_complaint(world.citizen, DESCRIPTION)
        await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
        await world.expect(SUPERVISOR, f"Usulan disposisi {code}")
        await world.says(world.officer, f"/kasus {code}", chat=world.officers)
        detail = await world.expect(OFFICERS, f"Kasus {code}")
        assert "Usulan disposisi: Bidang Pelayanan Kesehatan (YANKES)" in detail.content
        assert "Tahap sekarang: persetujuan disposisi (atasan)" in detail.content
        assert "batas 04-03-2026 10:00" in detail.content

        async def at(moment: datetime) -> None:
            clock.set(moment)
            async with asyncio.timeout(20):
                await world.service.scheduler.wait_for_ticks(2)
                await world.service.sender.drain()

        await at(datetime(2026, 3, 4, 9, 59, tzinfo=WIB))
        assert said(world, SUPERVISOR, "Pengingat tenggat") == []
        await at(datetime(2026, 3, 4, 10, 0, tzinfo=WIB))  # two working days later
        nudge = await world.expect(SUPERVISOR, "⏰ Pengingat tenggat")
        assert f"• {code} — persetujuan disposisi, sudah 2 hari kerja" in nudge.content
        assert "/setujui KODE" in nudge.content
        assert said(world, OFFICERS, "Pengingat tenggat") == []  # the officers did their step

        await world.says(HEAD, f"/setujui {code}", chat=SUPERVISOR_CHAT)
        await world.expect(YANKES, f"Disposisi {code}")
        await at(datetime(2026, 3, 5, 10, 0, tzinfo=WIB))
        assert len(said(world, SUPERVISOR, "Pengingat tenggat")) == 1


# ------------------------------------------------------------------ SOP 004: team and Sekretaris
async def test_sop_004_plan_approval_result_report_and_rating(sop_004: World) -> None:
    world, tg = sop_004, sop_004.tg
    code = await world.file_complaint(world.citizen, DESCRIPTION)

    # step 3: the team meets and proposes the disposition with its follow-up plan
    await world.says(world.officer, f"/disposisi {code} YANKES {PLAN}", chat=world.officers)
    await world.expect(OFFICERS, f"{code} diusulkan ke Bidang Pelayanan Kesehatan (YANKES)")
    proposal = await world.expect(SUPERVISOR, f"Usulan disposisi {code}")
    assert f"Rencana tindak lanjut: {PLAN}" in proposal.content
    assert "Catatan:" not in proposal.content  # the note was the plan
    await settled(world)
    assert said(world, world.citizen.id, IN_PROCESS) == []

    # step 4: the Sekretaris checks the plan and assigns the unit, one tap
    await tg.user_taps(HEAD, proposal, "✅ Setujui YANKES")
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    assert f"📝 Rencana tindak lanjut: {PLAN}" in unit_case.content
    await world.expect(world.citizen.id, IN_PROCESS)
    await world.expect(OFFICERS, f"Disposisi {code} ke Bidang Pelayanan Kesehatan (YANKES)")

    # step 5: the unit resolves and reports its result to the team
    result = "Obat sudah dikirim dari gudang farmasi; stok puskesmas cukup sampai akhir bulan."
    await world.says(world.unit_staff, result, chat=world.yankes, reply_to=unit_case)
    report = await world.expect(OFFICERS, f"Laporan hasil YANKES untuk {code}")
    assert result in report.content
    await world.expect(world.citizen.id, result)

    # step 6: the team closes it; the Sekretaris gets the result report of the case
    await world.says(world.officer, f"/selesai {code} stok aman", chat=world.officers)
    rating = await world.expect(world.citizen.id, "Seberapa puas")
    summary = await world.expect(SUPERVISOR, f"Laporan hasil pengaduan {code} — Selesai")
    lines = summary.content.splitlines()
    assert lines[1].startswith("Diterima: ")
    assert lines[2].startswith("Disposisi: ") and "ke Bidang Pelayanan Kesehatan" in lines[2]
    assert lines[3].startswith("Laporan hasil unit: ")
    assert lines[4].startswith("Ditutup: ") and lines[4].endswith("oleh Budi Petugas")
    assert f"Rencana tindak lanjut: {PLAN}" in summary.content
    assert f"Hasil: {result}" in summary.content
    assert "Penilaian pelapor: belum diberikan" in summary.content
    await tg.user_taps(world.citizen, rating, "4")
    await world.expect(SUPERVISOR, f"Penilaian pelapor {code}: 4/5")

    # kept in the case and its file
    await world.says(world.officer, f"/kasus {code}", chat=world.officers)
    detail = await world.expect(OFFICERS, f"Kasus {code} — Selesai")
    assert f"\nRencana tindak lanjut: {PLAN}\n" in detail.content
    assert "disposisi diusulkan kepada atasan (Budi Petugas): usulan ke YANKES" in detail.content
    before = len(tg.messages(OFFICERS))
    await world.says(world.officer, f"/ekspor {code}", chat=world.officers)
    (export,) = await files_after(world, OFFICERS, before, 1)
    assert row_of(workbook(world, export)["Pengaduan"], "Rencana tindak lanjut")[1] == PLAN


async def test_sop_004_a_tap_without_a_plan_asks_for_it_first(sop_004: World) -> None:
    world, tg = sop_004, sop_004.tg
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    await tg.user_taps(world.officer, relay, "➡️ P2P")
    prompt = await world.expect(OFFICERS, f"Disposisi {code} ke Bidang Pencegahan")
    assert "memerlukan rencana tindak lanjut" in prompt.content
    assert f"/rencana {code}" in prompt.content
    await settled(world)
    assert said(world, SUPERVISOR, code) == []  # nothing is proposed without a plan

    await world.says(
        world.officer, "Koordinasi dengan P2P, survei lokasi.", chat=world.officers, reply_to=prompt
    )
    proposal = await world.expect(SUPERVISOR, f"Usulan disposisi {code} ke Bidang Pencegahan")
    assert "Rencana tindak lanjut: Koordinasi dengan P2P, survei lokasi." in proposal.content
    # the plan may be replaced while the case is open; the supervisor sees the new one
    better = "Koordinasi dengan P2P dan YANKES, survei lokasi besok pagi."
    await world.says(world.officer, f"/rencana {code} {better}", chat=world.officers)
    await world.expect(OFFICERS, f"Rencana tindak lanjut {code} dicatat oleh Budi Petugas")
    await world.expect(SUPERVISOR, better)
    await world.says(HEAD, f"/disposisi {code} YANKES segera", chat=SUPERVISOR_CHAT)
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    assert better in unit_case.content and "Catatan: atasan: segera" in unit_case.content


# ------------------------------------------------------------------ up the chain, and away
async def test_officers_return_a_case_to_the_supervisor(world: World) -> None:
    tg = world.tg
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    usage = await answer_of(world, world.officer, world.officers, f"/kembalikan {code}")
    assert "Cara pakai: /kembalikan KODE alasan" in usage
    await world.says(
        world.officer, f"/kembalikan {code} lintas bidang, mohon arahan", chat=world.officers
    )
    back = await world.expect(SUPERVISOR, f"{code} dikembalikan kepada atasan oleh Budi Petugas")
    assert "lintas bidang, mohon arahan" in back.content and DESCRIPTION in back.content
    assert labels(back) == ["➡️ YANKES", "➡️ P2P"]
    await world.expect(OFFICERS, f"{code} dikembalikan kepada atasan")
    again = await answer_of(world, world.officer, world.officers, f"/kembalikan {code} lagi")
    assert "berstatus Diverifikasi (menunggu persetujuan disposisi)" in again
    nothing = await answer_of(world, HEAD, SUPERVISOR_CHAT, f"/setujui {code}")
    assert f"/setujui {code} UNIT (YANKES, P2P)" in nothing

    await tg.user_taps(HEAD, back, "➡️ YANKES")
    await world.expect(YANKES, f"Disposisi {code}")
    await world.expect(world.citizen.id, IN_PROCESS)
    await world.expect(OFFICERS, f"Atasan (Kepala Dinas) mendisposisi {code}")
    await settled(world)
    assert labels_now(world, back) == []
    # a unit still returns its case to the officers in its own group
    await world.says(world.unit_staff, f"/kembalikan {code} urusan P2P", chat=world.yankes)
    await world.expect(OFFICERS, f"YANKES mengembalikan {code}: urusan P2P")


async def test_without_a_supervisor_chat_a_case_cannot_go_up(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    agency = "\n".join(
        line for line in AGENCY.splitlines() if not line.startswith("supervisor_chat_id")
    )
    async with running(tg, database_url, tmp_path, agency=agency) as world:
        code = await world.file_complaint(world.citizen, DESCRIPTION)
        said_ = await answer_of(world, world.officer, world.officers, f"/kembalikan {code} x")
        assert "tidak punya chat atasan" in said_
        assert (await case_of(world, code)).status.value == "baru"


async def test_a_case_outside_our_authority_is_transferred(world: World) -> None:
    code = await world.file_complaint(world.citizen, "Jalan provinsi di depan puskesmas berlubang.")
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await world.expect(YANKES, f"Disposisi {code}")
    usage = await answer_of(world, world.officer, world.officers, f"/alihkan {code} Dinas PU")
    assert "Cara pakai: /alihkan KODE instansi | catatan" in usage

    await world.says(
        world.officer,
        f"/alihkan {code} Dinas PU Provinsi | jalan provinsi, kewenangan Dinas PU Provinsi",
        chat=world.officers,
    )
    told = await world.expect(world.citizen.id, f"Pengaduan {code} berada di luar kewenangan")
    assert "kami alihkan kepada Dinas PU Provinsi" in told.content
    assert "Keterangan: jalan provinsi, kewenangan Dinas PU Provinsi" in told.content
    await world.expect(OFFICERS, f"{code} dialihkan ke Dinas PU Provinsi oleh Budi Petugas")
    await world.expect(YANKES, f"{code} dialihkan ke Dinas PU Provinsi")
    await settled(world)
    assert labels_now(world, relay) == []
    case = await case_of(world, code)
    assert (case.status.value, case.forwarded_to) == ("dialihkan", "Dinas PU Provinsi")
    assert case.closed_at is not None
    await world.says(world.citizen, f"/status {code}")
    await world.expect(world.citizen.id, "Dialihkan ke instansi lain")
    again = await answer_of(world, world.officer, world.officers, f"/alihkan {code} X | y")
    assert "berstatus Dialihkan ke instansi lain" in again


async def test_the_supervisor_transfers_a_proposed_case(sop_002: World) -> None:
    world = sop_002
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    proposal = await world.expect(SUPERVISOR, f"Usulan disposisi {code}")
    await world.says(
        HEAD, f"/alihkan {code} BPOM | pengawasan obat wewenang BPOM", chat=SUPERVISOR_CHAT
    )
    await world.expect(world.citizen.id, "kami alihkan kepada BPOM")
    await world.expect(SUPERVISOR, f"{code} dialihkan ke BPOM oleh Kepala Dinas")
    await world.expect(OFFICERS, f"{code} dialihkan ke BPOM oleh Kepala Dinas")
    await settled(world)
    assert labels_now(world, proposal) == []
    assert world.tg.texts(YANKES) == []


async def test_help_names_the_chain_of_command(sop_004: World) -> None:
    world = sop_004
    officers = await answer_of(world, world.officer, world.officers, "/bantuan")
    for command in ("/rencana KODE teks", "/kembalikan KODE alasan", "/alihkan KODE", "atasan"):
        assert command in officers
    head = await answer_of(world, HEAD, SUPERVISOR_CHAT, "/bantuan")
    for command in ("/setujui KODE", "/disposisi KODE UNIT", "/rencana KODE teks", "/alihkan"):
        assert command in head
