"""The SOP cycle over the real webhook, step by step, asserting what each person saw."""

from __future__ import annotations

from bot.core.model import CaseStatus
from tests.e2e.conftest import OFFICERS, P2P, YANKES, World

SOP_SENTENCE = (
    "Baik, informasi pengaduan yang Bapak/Ibu kirim akan segera kami tindak lanjuti ke unit "
    "terkait dan akan kami berikan informasi lanjutan, terima kasih."
)
DESCRIPTION = (
    "Obat hipertensi di Puskesmas Sukamaju habis sejak seminggu, pasien disuruh beli sendiri."
)


async def case_status(world: World, code: str) -> CaseStatus:
    async with world.service.db.transaction() as uow:
        case = await uow.cases.get_by_code(code)
    assert case is not None
    return case.status


async def test_whole_cycle_from_complaint_to_rating(world: World) -> None:
    tg, citizen = world.tg, world.citizen
    code = await world.file_complaint(citizen, DESCRIPTION)

    # 1. acknowledgement: the SOP sentence and the tracking code, at once
    ack = await world.expect(citizen.id, "Kode pelacakan")
    assert SOP_SENTENCE in ack.content and code in ack.content

    # relayed to the officers with everything they need, and one-tap actions
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert "Siti Aminah" in relay.content and "081234567890" in relay.content
    assert DESCRIPTION in relay.content
    labels = [label for label, _ in relay.buttons]
    assert labels == ["➡️ YANKES", "➡️ P2P", "❓ Minta kelengkapan", "⛔ Tolak"]
    assert all(len((data or "").encode()) <= 64 for _, data in relay.buttons)

    # 4. disposition by a button tap
    await tg.user_taps(world.officer, relay, "➡️ YANKES")
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    assert DESCRIPTION in unit_case.content
    assert "Siti Aminah" in unit_case.content  # a normal report shows the name to the unit
    assert "081234567890" not in unit_case.content  # never the phone number
    told = await world.expect(citizen.id, "Dalam Proses")
    assert "Bidang Pelayanan Kesehatan" in told.content and code in told.content
    await world.expect(
        OFFICERS, f"{code} didisposisi ke Bidang Pelayanan Kesehatan (YANKES) oleh Budi Petugas"
    )
    assert tg.callback_answers, "the button tap was acknowledged"
    assert await case_status(world, code) is CaseStatus.DISPOSED

    # 5-6. the unit answers by replying to the case message; the reporter gets it
    await world.says(
        world.unit_staff,
        "Stok obat sudah dikirim ke puskesmas hari ini. Silakan ambil mulai besok.",
        chat=world.yankes,
        reply_to=unit_case,
    )
    answer = await world.expect(citizen.id, "Tanggapan Bidang Pelayanan Kesehatan")
    assert "Stok obat sudah dikirim" in answer.content
    await world.expect(OFFICERS, f"Jawaban YANKES untuk {code}")
    await world.expect(YANKES, f"Jawaban untuk {code} sudah dikirim")
    assert await case_status(world, code) is CaseStatus.ANSWERED

    # 7. close; the reporter is asked for a rating and taps 5
    await world.says(world.officer, f"/selesai {code} stok sudah tersedia", chat=world.officers)
    await world.expect(citizen.id, f"Pengaduan {code} telah Selesai")
    rating = await world.expect(citizen.id, "Seberapa puas")
    assert [label for label, _ in rating.buttons] == ["1", "2", "3", "4", "5"]
    await tg.user_taps(citizen, rating, "5")
    await world.expect(citizen.id, "Terima kasih atas penilaian Bapak/Ibu (5/5)")
    await world.expect(OFFICERS, f"Pelapor {code} memberi penilaian 5/5")
    assert await case_status(world, code) is CaseStatus.CLOSED

    # 8. recorded: the officers' /kasus shows the whole history
    await world.says(world.officer, f"/kasus {code}", chat=world.officers)
    detail = await world.expect(OFFICERS, f"Kasus {code} — Selesai")
    for step in ("pengaduan diterima", "disposisi", "dijawab unit", "selesai", "penilaian"):
        assert step in detail.content


async def test_photos_reach_officers_as_album_and_unit(world: World) -> None:
    tg, citizen = world.tg, world.citizen
    await world.says(citizen, "/start")
    await world.expect(citizen.id, "Ceritakan apa yang terjadi")
    await world.says(citizen, DESCRIPTION)
    await world.says(citizen, "Jl. Melati 3")
    await world.says(citizen, "lewati")
    await world.expect(citizen.id, "foto atau dokumen")
    await tg.user_sends_album(citizen, 3)
    await world.expect(citizen.id, "Lampiran diterima (1 berkas)")
    for text in ("selesai", "1", "Siti"):
        await world.says(citizen, text)
    await world.says(citizen, "lewati")
    summary = await world.expect(citizen.id, "Ringkasan pengaduan")
    assert "Lampiran: 3 berkas" in summary.content
    assert sum("Lampiran diterima" in t for t in tg.texts(citizen.id)) == 1  # an album, one answer
    await world.says(citizen, "kirim")
    await world.expect(citizen.id, "Kode pelacakan")
    album = await tg.wait_for(
        lambda sent: sum(m.method == "sendMediaGroup" for m in sent) == 3,
        chat_id=OFFICERS,
        timeout=10,
    )
    assert len({m.media_group_id for m in album if m.media_group_id}) == 1


async def test_anonymous_report_hides_name_from_unit(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION, privacy="2")
    await world.says(
        world.officer, f"/disposisi {code} P2P mohon ditindaklanjuti", chat=world.officers
    )
    unit_case = await world.expect(P2P, f"Disposisi {code}")
    assert "Siti" not in unit_case.content and "081234567890" not in unit_case.content
    assert "disembunyikan (anonim)" in unit_case.content
    assert "Catatan: mohon ditindaklanjuti" in unit_case.content
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert "Siti Aminah" in relay.content  # officers still see who reported


async def test_request_for_more_information(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(
        world.officer, f"/lengkapi {code} Mohon kirim foto resep obatnya.", chat=world.officers
    )
    asked = await world.expect(world.citizen.id, "Petugas memerlukan kelengkapan")
    assert "Mohon kirim foto resep obatnya." in asked.content
    assert await case_status(world, code) is CaseStatus.NEEDS_INFO
    await world.tg.user_sends_photo(world.citizen, caption="Ini resepnya, tanggal 20 November")
    await world.expect(world.citizen.id, f"kelengkapan untuk pengaduan {code} sudah kami terima")
    relayed = await world.expect(OFFICERS, f"Pelapor melengkapi {code}")
    assert "Ini resepnya" in relayed.content and relayed.kind == "photo"
    assert await case_status(world, code) is CaseStatus.NEW


async def test_refusal_tells_the_reporter_why(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    await world.tg.user_taps(world.officer, relay, "⛔ Tolak")
    prompt = await world.expect(OFFICERS, f"alasan penolakan {code}")
    await world.says(
        world.officer,
        "Jalan provinsi, kewenangan Dinas PU Provinsi.",
        chat=world.officers,
        reply_to=prompt,
    )
    refused = await world.expect(
        world.citizen.id, f"pengaduan {code} tidak dapat kami tindak lanjuti"
    )
    assert "Jalan provinsi, kewenangan Dinas PU Provinsi." in refused.content
    assert await case_status(world, code) is CaseStatus.REFUSED


async def test_unit_returns_case_to_officers(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await world.expect(YANKES, f"Disposisi {code}")
    await world.says(world.unit_staff, f"/kembalikan {code} ini urusan P2P", chat=world.yankes)
    back = await world.expect(OFFICERS, f"YANKES mengembalikan {code}: ini urusan P2P")
    assert any(label == "➡️ P2P" for label, _ in back.buttons)
    assert await case_status(world, code) is CaseStatus.RETURNED


async def test_follow_up_message_reaches_whoever_holds_the_case(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await world.expect(YANKES, f"Disposisi {code}")
    await world.says(world.citizen, "Tadi saya ke sana lagi, masih kosong.")
    await world.expect(world.citizen.id, f"sudah ditambahkan ke pengaduan {code}")
    relayed = await world.expect(YANKES, "masih kosong")
    await world.expect(OFFICERS, "masih kosong")
    # the unit may answer by replying to the relayed follow-up, too
    await world.says(
        world.unit_staff, "Besok pagi stok datang.", chat=world.yankes, reply_to=relayed
    )
    answer = await world.expect(world.citizen.id, "Tanggapan Bidang Pelayanan Kesehatan")
    assert "Besok pagi stok datang." in answer.content


async def test_status_shows_only_own_cases(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.citizen, "/status")
    mine = await world.expect(world.citizen.id, "Pengaduan Bapak/Ibu:")
    assert code in mine.content
    await world.says(world.other_citizen, f"/status {code}")
    other = await world.expect(world.other_citizen.id, "tidak ditemukan")
    assert DESCRIPTION not in other.content


async def test_every_start_word_starts_a_complaint_on_telegram(world: World) -> None:
    """The citizen's command words are one table for every channel: /baru and /mulai start
    a complaint on Telegram as they do on WhatsApp, and /cek asks for the status."""
    citizen = world.citizen
    for word in ("/baru", "/mulai", "/start"):
        await world.says(citizen, word)
        await world.expect(citizen.id, "Ceritakan apa yang terjadi")
        await world.says(citizen, "/batal")
        await world.expect(citizen.id, "Pengaduan dibatalkan")
    await world.says(citizen, "/cek")
    await world.expect(citizen.id, "belum memiliki pengaduan")
    texts = world.tg.texts(citizen.id)
    assert sum("Ceritakan apa yang terjadi" in text for text in texts) == 3
    assert not any("Perintah tidak dikenal" in text for text in texts)
