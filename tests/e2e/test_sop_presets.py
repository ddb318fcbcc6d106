"""Each example agency of examples/agencies/ walked through its own SOP, step by step as
the seed names them (/work/shared/seeds/), over the webhook against the stand-ins.

A test loads the preset file itself; it changes only what a test must: the placeholder
chat ids become the test's groups, and Telegram's pacing is raised ([telegram]), never
the chain of command or the budgets.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.standins.telegram import Chat, TelegramStandIn, User
from bot.standins.twilio import TwilioStandIn, WhatsAppUser
from tests.e2e.conftest import (
    GENEROUS_LIMITS,
    OFFICERS,
    P2P,
    SUPERVISOR,
    YANKES,
    people,
    running,
    settled,
    start_bot,
    stop_bot,
    twilio_settings,
)
from tests.e2e.test_deadlines import NUDGE, after_ticks, said, wib
from tests.e2e.test_staff_entry import Entering
from tests.e2e.test_whatsapp import DESCRIPTION as WHATSAPP_STORY
from tests.e2e.test_whatsapp import JPEG, Both
from tests.fakes import FixedClock

PRESETS = Path(__file__).parents[2] / "examples" / "agencies"
STORY = "Petugas loket Puskesmas Cibodas meminta biaya tambahan untuk surat rujukan BPJS."


def preset(name: str, chats: dict[int, int], *, ticking: bool = False) -> str:
    """The preset's text with its placeholder chat ids replaced by the test's groups (and,
    `ticking`, the scheduler looking every 50 ms, for a test that moves its clock)."""
    text = (PRESETS / name).read_text(encoding="utf-8")
    if ticking:
        text = text.replace("[deadlines]\n", "[deadlines]\ntick_seconds = 0.05\n", 1)
    for placeholder, chat in chats.items():
        assert str(placeholder) in text, placeholder
        text = text.replace(str(placeholder), str(chat))
    return text + GENEROUS_LIMITS


async def test_sop000_dinkes_kota_tangerang_laksa(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """SOP 000, Pengelolaan Aspirasi Masyarakat melalui LAKSA, steps 1-6."""
    agency = preset(
        "sop000-dinkes-kota-tangerang.toml",
        {
            -1001100000001: OFFICERS,
            -1001100000002: SUPERVISOR,
            -1001100000010: YANKES,
            -1001100000011: P2P,
        },
    )
    head = User(9001, "Kepala", "Dinas")
    supervisor = Chat.group(SUPERVISOR, "Kepala Dinas Kesehatan")
    async with running(tg, database_url, tmp_path, agency=agency) as world:
        # 1. Pengaduan masuk dari masyarakat: a citizen writes to the bot; the SOP's
        #    acknowledgement and a tracking code of this office's prefix come back.
        code = await world.file_complaint(world.citizen, STORY)
        assert code.startswith("DKT-")
        # 2. Monitoring pengaduan yang masuk (10 menit): it is in the operators' group at
        #    once, with a button per Bidang of the office.
        relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
        assert STORY in relay.content
        labels = [label for label, _ in relay.buttons]
        assert {"➡️ YANKES", "➡️ KESMAS", "➡️ P2P", "➡️ SDK"} <= set(labels)
        # 3. Mendisposisikan pengaduan yang masuk ke Bidang terkait (1 hari).
        await tg.user_taps(world.officer, relay, "➡️ YANKES")
        unit_case = await world.expect(YANKES, f"Disposisi {code}")
        assert STORY in unit_case.content
        # 4. Mengirimkan tanggapan masyarakat terhadap tindak lanjut Bidang terkait:
        #    the reporter sees "Dalam Proses", then the Bidang's answer.
        await world.expect(world.citizen.id, "Dalam Proses")
        answer = "Petugas loket sudah ditegur; biaya rujukan BPJS tidak dipungut."
        await world.says(world.unit_staff, f"/jawab {code} {answer}", chat=world.yankes)
        told = await world.expect(world.citizen.id, f"atas pengaduan {code}")
        assert answer in told.content
        # 5. Menutup pengaduan dan membuat status selesai (5 menit).
        await world.says(world.officer, f"/selesai {code}", chat=world.officers)
        await world.expect(world.citizen.id, f"Pengaduan {code} telah Selesai")
        # 6. Mencatat dan mendata pengaduan: the recap for the Kepala Dinas counts it.
        await world.says(head, "/rekap", chat=supervisor)
        summary = await world.expect(SUPERVISOR, "📊 Rekap pengaduan Dinas Kesehatan Kota")
        assert "Diterima: 1\n" in summary.content
        assert "Selesai 1" in summary.content


async def test_sop001_diskominfo_kota_tangerang_in_minutes(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """SOP 001, Pengolahan Aspirasi Masyarakat melalui Layanan NON Gawatdarurat LAKSA,
    steps 1-6, every step counted in office minutes."""
    agency = preset(
        "sop001-diskominfo-kota-tangerang.toml",
        {
            -1001200000001: OFFICERS,
            -1001200000002: SUPERVISOR,
            -1001200000010: YANKES,
            -1001200000011: P2P,
        },
        ticking=True,
    )
    clock = FixedClock(wib(3, 2, 10))  # Monday 2 March 2026, 10:00 WIB
    async with running(tg, database_url, tmp_path, agency=agency, clock=clock) as world:
        officer = world.officer
        tg.add_member(OFFICERS, officer)
        # 1. Pengaduan masuk dari masyarakat: through LAKSA, outside the bot.
        # 2. Memasukan pengaduan dari masyarakat (5 menit): the operator enters it.
        code = await Entering(world, officer).enter(STORY, name="Bu Ratna")
        assert code.startswith("TLR-")
        relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
        assert "Sumber: Aplikasi LAKSA" in relay.content
        # 3. Mendisposisikan pengaduan masyarakat ke OPD (5 menit): a minute short, no
        #    reminder; at five office minutes, the operators are reminded.
        await after_ticks(world, wib(3, 2, 10, 4), clock)
        assert said(world, OFFICERS, NUDGE) == []
        await after_ticks(world, wib(3, 2, 10, 5), clock)
        nudge = await world.expect(OFFICERS, NUDGE)
        assert f"• {code} — verifikasi dan disposisi, sudah 5 menit (batas 5 menit)" in (
            nudge.content
        )
        await world.says(officer, f"/disposisi {code} DINKES", chat=world.officers)
        await world.expect(YANKES, f"Disposisi {code}")
        # 4. Mengirimkan tanggapan masyarakat terhadap tindak lanjut OPD (5 menit): the
        #    OPD answers; the operator passes it to the reporter (not in the chat).
        answer = "Loket rujukan Puskesmas Cibodas diperiksa; pungutan dihentikan."
        await world.says(world.unit_staff, f"/jawab {code} {answer}", chat=world.yankes)
        await tg.wait_for(
            lambda sent: any(answer in m.content and "Kabari" in m.content for m in sent),
            chat_id=OFFICERS,
            timeout=10.0,
            what="the answer to pass on",
        )
        await world.says(officer, f"/dikabari {code} telepon", chat=world.officers)
        await world.expect(OFFICERS, f"✅ Pelapor {code} sudah dikabari oleh Budi Petugas")
        # 5. Menutup pengaduan dengan membuat status menjadi selesai (5 menit).
        await world.says(officer, f"/selesai {code}", chat=world.officers)
        await world.expect(OFFICERS, f"{code} ditutup (Selesai)")
        # 6. Mencatat dan mendata pengaduan (5 menit): the recap, with the disposition
        #    counted against its five minutes.
        await world.says(officer, "/rekap", chat=world.officers)
        summary = (await world.expect(OFFICERS, "📊 Rekap pengaduan")).content
        assert "Diterima: 1\n" in summary
        assert "Aplikasi LAKSA 1" in summary
        assert "5 menit" in summary


ACKNOWLEDGEMENT = (  # SOP 002 step 3, word for word
    "Baik, informasi pengaduan yang Bapak/Ibu kirim akan segera kami tindak lanjuti ke unit "
    "terkait dan akan kami berikan informasi lanjutan, terima kasih."
)
# The templates the OKU Selatan preset names, as registered in Twilio (Content SID → text).
OKU_TEMPLATES = {
    "HX00000000000000000000000000000a02": "Pengaduan {{1}} sudah diteruskan ke {{2}} dan "
    "sekarang Dalam Proses.",
    "HX00000000000000000000000000000a03": "Tanggapan {{2}} atas pengaduan {{1}}: {{3}}",
    "HX00000000000000000000000000000a08": "Pengaduan {{1}} kami tutup karena tidak ada "
    "tanggapan dari Bapak/Ibu dalam {{2}} sejak jawaban kami.",
}


async def test_sop002_dinkes_oku_selatan_whatsapp_and_the_atasan(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """SOP 002, Pengelolaan Pengaduan Masyarakat (Dinkes OKU Selatan), steps 1-8 and
    SP4N-LAPOR!'s closing rule: a WhatsApp reporter, the atasan before disposition, and the
    templates of the preset for a reporter who wrote more than 24 hours ago."""
    agency = preset(
        "sop002-dinkes-oku-selatan.toml",
        {
            -1001500000001: OFFICERS,
            -1001500000002: SUPERVISOR,
            -1001500000010: YANKES,
            -1001500000011: P2P,
        },
        ticking=True,
    )
    clock = FixedClock(wib(3, 2, 10))  # Monday 2 March 2026, 10:00 WIB
    sekretaris = User(9001, "Sekretaris", "Dinkes")
    async with TwilioStandIn(clock=clock.now) as tw:
        for sid, text in OKU_TEMPLATES.items():
            tw.register_template(sid, text)
        runner, settings = await start_bot(
            tg, database_url, tmp_path, agency=agency, clock=clock, **twilio_settings(tw, tmp_path)
        )
        tw.configure_webhooks(f"{settings.public_base_url}/webhook/whatsapp")
        world = people(tg, runner, settings)
        reporter = Both(world, tw, WhatsAppUser("+6281377001122", "Ibu Marlina"))
        try:
            # 1.-2. Petugas membuka aplikasi / mendapatkan info pengaduan masuk (5 menit):
            #    the complaint comes in on the office's WhatsApp and is in the officers'
            #    group at once.
            code = await reporter.complaint()
            assert code.startswith("OKUS-")
            relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
            assert "Saluran: WhatsApp" in relay.content
            # 3. Petugas langsung merespon aduan (10 menit): the SOP's own words, at once.
            ack = [m.text for m in tw.messages(reporter.siti) if "Kode pelacakan" in m.text]
            assert ACKNOWLEDGEMENT in ack[-1]
            # 4. Petugas memeriksa lampiran kasus aduan dan memastikan lengkap (1 hari): no
            #    photo of the prescription; asked for, it comes, and the case is whole.
            ask = "Mohon kirimkan foto resep atau kartu berobat anak Ibu."
            await world.says(world.officer, f"/lengkapi {code} {ask}", chat=world.officers)
            assert ask in await reporter.expect(f"kelengkapan untuk pengaduan {code}")
            await tw.user_sends_media(reporter.siti, [(JPEG, "image/jpeg")], "resep dokter")
            await world.expect(OFFICERS, f"📎 Pelapor melengkapi {code}")
            # 5. Petugas mencetak info pengaduan dan menyerahkan kepada atasan: the
            #    disposition the officer chooses is the atasan's to decide.
            await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
            proposal = await world.expect(SUPERVISOR, f"Usulan disposisi {code}")
            assert WHATSAPP_STORY in proposal.content
            assert not [m for m in tw.messages(reporter.siti) if "Dalam Proses" in m.text]
            # 6. Mendisposisi pengaduan kepada unit terkait (1 hari): the atasan is reminded
            #    a working day later, not before, and disposes with one tap; the reporter,
            #    silent for more than 24 hours, hears "Dalam Proses" as the template.
            await after_ticks(world, wib(3, 3, 9, 59), clock)
            assert said(world, SUPERVISOR, NUDGE) == []
            await after_ticks(world, wib(3, 3, 10), clock)
            nudge = await world.expect(SUPERVISOR, NUDGE)
            assert f"• {code} — persetujuan disposisi, sudah 1 hari kerja" in nudge.content
            clock.set(wib(3, 3, 10, 30))
            await tg.user_taps(sekretaris, proposal, "✅ Setujui YANKES")
            unit_case = await world.expect(YANKES, f"Disposisi {code}")
            assert WHATSAPP_STORY in unit_case.content
            disposed = await tw.wait_for(
                lambda sent: any(m.is_template for m in sent), to=reporter.siti, timeout=10.0
            )
            template = next(m for m in disposed if m.is_template)
            assert template.content_sid == "HX00000000000000000000000000000a02"
            assert template.content_variables == {"1": code, "2": "Bidang Pelayanan Kesehatan"}
            # 7. Memberikan jawaban oleh unit terkait kepada petugas: the unit's answer goes
            #    to the petugas (answer_review = "officers"), not yet to the reporter.
            answer = "Obat sudah dikirim dari Instalasi Farmasi ke Puskesmas Kenanga hari ini."
            await world.says(world.unit_staff, answer, chat=world.yankes, reply_to=unit_case)
            review = await world.expect(OFFICERS, f"untuk {code} menunggu tinjauan")
            assert f"\nJawaban:\n{answer}\n" in review.content
            await settled(world)
            assert sum(m.is_template for m in tw.messages(reporter.siti)) == 1
            # 8. Petugas kembali menginformasikan jawaban pengaduan kepada pelapor (20 menit):
            #    reminded 20 minutes later, not before; one tap informs the reporter, in the
            #    office's name, as the template.
            await after_ticks(world, wib(3, 3, 10, 49), clock)
            assert said(world, OFFICERS, NUDGE) == []
            await after_ticks(world, wib(3, 3, 10, 50), clock)
            nudge = await world.expect(OFFICERS, NUDGE)
            assert f"• {code} — tinjauan jawaban unit, sudah 20 menit" in nudge.content
            await tg.user_taps(world.officer, review, "✅ Setujui & kirim")
            answered = await tw.wait_for(
                lambda sent: sum(m.is_template for m in sent) == 2, to=reporter.siti, timeout=10.0
            )
            template = [m for m in answered if m.is_template][-1]
            assert template.content_sid == "HX00000000000000000000000000000a03"
            assert template.content_variables == {
                "1": code,
                "2": "Bidang Pelayanan Kesehatan",
                "3": answer,
            }
            await world.expect(YANKES, f"Jawaban untuk {code} disetujui Budi Petugas")
            # SP4N-LAPOR!: "jika dalam 10 hari kerja tidak ada tanggapan dari pelapor, maka
            # laporan selesai" - on Tuesday 17 March at 10:50, not a minute before.
            await after_ticks(world, wib(3, 17, 10, 49), clock)
            assert sum(m.is_template for m in tw.messages(reporter.siti)) == 2
            await after_ticks(world, wib(3, 17, 10, 50), clock)
            closed = await tw.wait_for(
                lambda sent: sum(m.is_template for m in sent) == 3, to=reporter.siti, timeout=10.0
            )
            template = [m for m in closed if m.is_template][-1]
            assert template.content_sid == "HX00000000000000000000000000000a08"
            assert template.content_variables == {"1": code, "2": "10 hari kerja"}
            await world.says(world.officer, f"/kasus {code}", chat=world.officers)
            detail = await world.expect(OFFICERS, f"Kasus {code}")
            assert "ditutup otomatis" in detail.content
        finally:
            await stop_bot(runner)


WITA = ZoneInfo("Asia/Makassar")
LIAISON = -1001000000020
REMINDER = "📌 Pengingat tugas"


def wita(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=WITA)  # March 2026: no holiday 2-6


async def test_sop003_diskominfo_tanah_laut_liaison(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """SOP 003, Pengintegrasian seluruh Pengaduan kedalam sistem LAPOR oleh Pejabat
    Penghubung, steps 1-5, on the office's WITA clock."""
    agency = preset(
        "sop003-diskominfo-tanah-laut.toml",
        {
            -1001300000001: OFFICERS,
            -1001300000002: SUPERVISOR,
            -1001300000003: LIAISON,
            -1001300000010: YANKES,
            -1001300000011: P2P,
        },
        ticking=True,
    )
    clock = FixedClock(wita(2, 10))  # Monday 2 March 2026, 10:00 WITA
    liaison = Chat.group(LIAISON, "Pejabat Penghubung")
    wulan = User(7101, "Wulan", "Penghubung")
    async with running(tg, database_url, tmp_path, agency=agency, clock=clock) as world:
        # 1. Laporan diterima melalui kanal diluar LAPOR: the office's Telegram chat.
        code = await world.file_complaint(world.citizen, STORY)
        assert code.startswith("TALA-")
        # 2. Laporan diverifikasi oleh SKPA (1 hari): verified and disposed to a Bidang.
        await world.says(world.officer, f"/disposisi {code} IKP", chat=world.officers)
        await world.expect(YANKES, f"Disposisi {code}")
        # 3. Laporan disampaikan kepada pejabat penghubung (1 hari): at once, as LAPOR's
        #    manual form.
        handover = await world.expect(LIAISON, f"Form manual SP4N-LAPOR! — {code}")
        assert f"Isi laporan: {STORY}" in handover.content
        # 4. Pejabat penghubung menginput Laporan … form manual LAPOR (1 hari): reminded
        #    on Tuesday at 10:00 WITA, not before.
        await after_ticks(world, wita(3, 9, 59), clock)
        assert said(world, LIAISON, REMINDER) == []
        await after_ticks(world, wita(3, 10), clock)
        assert (
            f"• {code} — belum dimasukkan ke SP4N-LAPOR!"
            in (await world.expect(LIAISON, REMINDER)).content
        )
        clock.set(wita(3, 11))
        await world.says(wulan, f"/lapor {code} 4551209", chat=liaison)
        await world.expect(OFFICERS, f"{code} tercatat di SP4N-LAPOR! dengan nomor 4551209")
        # 5. Pejabat Penghubung memantau Laporan yang akan didisposisikan oleh Admin
        #    Koordinator (3 hari): reminded on Friday at 11:00 WITA, not before.
        await after_ticks(world, wita(6, 10, 59), clock)
        assert len(said(world, LIAISON, REMINDER)) == 1
        await after_ticks(world, wita(6, 11), clock)
        assert "periksa disposisi Admin Koordinator" in said(world, LIAISON, REMINDER)[-1]
        status = "Didisposisikan Admin Koordinator ke Diskominfo Kabupaten Tanah Laut."
        await world.says(wulan, f"/lapor {code} status {status}", chat=liaison)
        await world.expect(OFFICERS, f"Status SP4N-LAPOR! {code} (nomor 4551209)")
        await world.says(world.officer, f"/kasus {code}", chat=world.officers)
        history = (await world.expect(OFFICERS, "Riwayat")).content
        for step in ("diserahkan ke pejabat penghubung", "nomor SP4N-LAPOR! dicatat", status):
            assert step in history, step


async def test_sop004_dinkes_kabupaten_pasuruan_team_and_sekretaris(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """SOP 004, Pengelolaan Pengaduan Masyarakat (Sekretariat Dinkes Pasuruan), steps 1-6:
    the team plans, the Sekretaris assigns, the Bidang reports to the team, the Sekretaris
    gets the result."""
    agency = preset(
        "sop004-dinkes-kabupaten-pasuruan.toml",
        {
            -1001400000001: OFFICERS,
            -1001400000002: SUPERVISOR,
            -1001400000010: YANKES,
            -1001400000011: P2P,
        },
    )
    sekretaris = User(9002, "Sekretaris", "Dinkes")
    office_of_sekretaris = Chat.group(SUPERVISOR, "Sekretaris Dinkes")
    plan = "Rapat tim Senin; cek stok vaksin di gudang farmasi dan jadwal posyandu."
    async with running(tg, database_url, tmp_path, agency=agency) as world:
        # 1. The complaint is received and its documents given to the Sekretaris's office.
        code = await world.file_complaint(world.citizen, STORY)
        assert code.startswith("DKP-")
        # 2.-3. Examined, passed to the team, which studies it and proposes the follow-up
        #    plan with the Bidang; the reporter hears nothing of it yet.
        await world.says(world.officer, f"/disposisi {code} KESMAS {plan}", chat=world.officers)
        proposal = await world.expect(SUPERVISOR, f"Usulan disposisi {code}")
        assert f"Rencana tindak lanjut: {plan}" in proposal.content
        assert not any("Dalam Proses" in t for t in tg.texts(world.citizen.id))
        # 4. The Sekretaris checks the plan and assigns the Bidang (one tap).
        await tg.user_taps(sekretaris, proposal, "✅ Setujui KESMAS")
        unit_case = await world.expect(P2P, f"Disposisi {code}")
        assert plan in unit_case.content
        await world.expect(world.citizen.id, "Dalam Proses")
        # 5. The Bidang resolves it and reports its result to the team.
        result = "Loket rujukan ditertibkan; petugas diberi pembinaan oleh Kepala Puskesmas."
        await world.says(world.unit_staff, f"/jawab {code} {result}", chat=Chat.group(P2P, "B"))
        report = await world.expect(OFFICERS, f"Laporan hasil KESMAS untuk {code}")
        assert result in report.content
        # 6. The team closes it and the Sekretaris gets the result report and status.
        await world.says(world.officer, f"/selesai {code}", chat=world.officers)
        summary = await world.expect(SUPERVISOR, f"Laporan hasil pengaduan {code} — Selesai")
        assert f"Rencana tindak lanjut: {plan}" in summary.content
        assert f"Hasil: {result}" in summary.content
        await world.says(sekretaris, "/rekap", chat=office_of_sekretaris)
        await world.expect(SUPERVISOR, "📊 Rekap pengaduan Dinas Kesehatan Kabupaten Pasuruan")
