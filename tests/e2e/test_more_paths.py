"""The rest of what people do, end to end: photos in answers, locations, edits, several
cases, cancelling, the officers' "ask for more" button, stickers, emergencies, English."""

from __future__ import annotations

from pathlib import Path

from bot.core.model import CaseStatus
from bot.standins.telegram import TelegramStandIn, User
from tests.e2e.conftest import AGENCY, OFFICERS, YANKES, World, start_bot, stop_bot

DESCRIPTION = "Ambulans puskesmas tidak bisa dihubungi malam hari, nomor darurat puskesmas mati."


async def test_unit_answers_with_a_photo_by_replying(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    reply = world.tg.photo_update(
        world.unit_staff,
        caption="Nomor baru sudah dipasang di papan.",
        chat=world.yankes,
        reply_to=unit_case,
    )
    await world.tg.deliver(reply)
    answer = await world.expect(world.citizen.id, "Nomor baru sudah dipasang")
    assert answer.kind == "photo"  # the photo itself, captioned with the answer
    assert answer.file_id == reply["message"]["photo"][-1]["file_id"]
    copy = await world.expect(OFFICERS, f"Jawaban YANKES untuk {code}")
    assert copy.kind == "photo"


async def test_shared_location_and_edit_from_the_summary(world: World) -> None:
    tg, citizen = world.tg, world.citizen
    await world.says(citizen, "/start")
    await world.says(citizen, DESCRIPTION)
    await world.expect(citizen.id, "Di mana kejadiannya")
    await tg.deliver(tg.location_update(citizen, -6.2, 106.816666))
    await world.expect(citizen.id, "Kapan kejadiannya")
    for text in ("lewati", "selesai", "1", "Siti"):
        await world.says(citizen, text)
    await world.says(citizen, "lewati")
    summary = await world.expect(citizen.id, "Ringkasan pengaduan")
    assert "lokasi dibagikan (-6.20000, 106.81667)" in summary.content
    confirm = await world.expect(citizen.id, "Apakah sudah benar")
    await tg.user_taps(citizen, confirm, "Ubah")
    menu = await world.expect(citizen.id, "Bagian mana yang ingin diubah")
    await tg.user_taps(citizen, menu, "Waktu")
    await world.expect(citizen.id, "Kapan kejadiannya")
    await world.says(citizen, "Senin malam, 23 November")
    await tg.wait_for(
        lambda sent: sum("Ringkasan pengaduan" in m.content for m in sent) == 2,
        chat_id=citizen.id,
        timeout=10,
    )
    revised = [m for m in tg.messages(citizen.id) if "Ringkasan pengaduan" in m.content][-1]
    assert "Waktu: Senin malam, 23 November" in revised.content
    confirms = await world.tg.wait_for(
        lambda sent: sum("Apakah sudah benar" in m.content for m in sent) == 2,
        chat_id=citizen.id,
        timeout=10,
    )
    last_confirm = [m for m in confirms if "Apakah sudah benar" in m.content][-1]
    await tg.user_taps(citizen, last_confirm, "Kirim")
    await world.expect(citizen.id, "Kode pelacakan")
    relay = await world.expect(OFFICERS, "Pengaduan baru")
    assert "-6.20000, 106.81667" in relay.content and "Senin malam" in relay.content


async def test_message_with_two_open_cases_asks_which(world: World) -> None:
    first = await world.file_complaint(world.citizen, DESCRIPTION)
    second = await world.file_complaint(
        world.citizen, "Toilet puskesmas rusak dan kotor sejak sebulan lalu."
    )
    await world.says(world.citizen, "Ini tambahan: kejadiannya berulang setiap malam.")
    question = await world.expect(world.citizen.id, "Pesan ini untuk pengaduan yang mana")
    assert sorted(label for label, _ in question.buttons) == sorted([first, second])
    await world.says(world.citizen, "Oh ya, kadang juga siang hari.")  # not an answer: kept
    await world.expect(world.citizen.id, "Silakan pilih salah satu")
    await world.tg.user_taps(world.citizen, question, first)
    await world.expect(world.citizen.id, f"sudah ditambahkan ke pengaduan {first}")
    added = await world.expect(OFFICERS, f"Pesan tambahan pelapor untuk {first}")
    assert "berulang setiap malam" in added.content
    assert "kadang juga siang hari" in added.content


async def test_cancel_mid_dialogue_sends_nothing_to_officers(world: World) -> None:
    await world.says(world.citizen, "/start")
    await world.says(world.citizen, DESCRIPTION)
    await world.expect(world.citizen.id, "Di mana kejadiannya")
    await world.says(world.citizen, "batal")
    await world.expect(world.citizen.id, "Pengaduan dibatalkan")
    await world.says(world.citizen, "/batal")
    await world.expect(world.citizen.id, "Tidak ada pengaduan yang sedang diisi")
    assert world.tg.messages(OFFICERS) == []


async def test_officers_ask_for_more_with_the_button(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    await world.tg.user_taps(world.officer, relay, "❓ Minta kelengkapan")
    prompt = await world.expect(
        OFFICERS,
        f"Balas pesan ini dengan pertanyaan atau kelengkapan yang diminta dari pelapor {code}",
    )
    await world.says(
        world.officer, "Jam berapa Ibu menelepon?", chat=world.officers, reply_to=prompt
    )
    asked = await world.expect(world.citizen.id, "Petugas memerlukan kelengkapan")
    assert "Jam berapa Ibu menelepon?" in asked.content
    async with world.service.db.transaction() as uow:
        case = await uow.cases.get_by_code(code)
    assert case is not None and case.status is CaseStatus.NEEDS_INFO


async def test_sticker_and_emergency_get_clear_answers(world: World) -> None:
    await world.tg.deliver(world.tg.sticker_update(world.citizen))
    await world.expect(world.citizen.id, "jenis pesan ini tidak dapat kami proses")
    await world.says(world.other_citizen, "Tolong ada kebakaran di belakang puskesmas!")
    first = await world.expect(world.other_citizen.id, "segera telepon 112")
    assert first is world.tg.messages(world.other_citizen.id)[0]  # before anything else


async def test_an_english_speaking_office(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "english.toml"
    config.write_text(
        AGENCY.replace('timezone = "Asia/Jakarta"', 'timezone = "Asia/Makassar"\nlanguage = "en"')
    )
    runner, _ = await start_bot(tg, database_url, tmp_path, ADUAN_CONFIG=str(config))
    try:
        visitor = User(5009, "Ann")
        await tg.user_says(visitor, "/help")
        help_text = await tg.wait_for_text(visitor.id, "/status", timeout=10)
        assert "Dinas Kesehatan Kota Contoh" in help_text.content
        assert "complaint" in help_text.content.lower()
        await tg.user_says(visitor, "/start")
        welcome = await tg.wait_for_text(visitor.id, "Dinas Kesehatan Kota Contoh", timeout=10)
        assert "Selamat datang" not in welcome.content
    finally:
        await stop_bot(runner)
