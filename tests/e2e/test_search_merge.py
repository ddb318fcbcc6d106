"""Finding cases and merging duplicates, over the real webhook on each database: officers
search by name, phone, LAPOR number and words of the story; a unit searches its own
cases without ever seeing who reported them; two citizens report the same pothole, the
officers merge the reports, and both citizens get the news of the one case to its end.
"""

from __future__ import annotations

from bot.standins.telegram import SentMessage, User
from tests.e2e.conftest import OFFICERS, YANKES, World, settled, shows

POTHOLE = "Jalan berlubang besar di depan SD Negeri 3, dua motor sudah jatuh."
SAME_POTHOLE = "Ada lubang dalam di jalan depan SD Negeri 3, bahaya untuk anak sekolah."
LAMP = "Lampu penerangan jalan mati sejak Senin, gelap sekali malam hari."
LAPOR_NUMBER = "LPR-2026-004217"


async def file(world: World, user: User, story: str, place: str, name: str, phone: str) -> str:
    """The citizen goes through the intake dialogue with their own name and phone."""
    before = len(world.tg.messages(user.id))
    await world.says(user, "/start")
    await world.expect(user.id, "Ceritakan apa yang terjadi")
    for text, prompt in (
        (story, "Di mana kejadiannya"),
        (place, "Kapan kejadiannya"),
        ("tadi pagi", "foto atau dokumen"),
        ("selesai", "Bagaimana identitas"),
        ("1", "Siapa nama"),
        (name, "Nomor telepon"),
        (phone, "Apakah sudah benar"),
        ("kirim", "Kode pelacakan"),
    ):
        await world.says(user, text)
        await world.tg.wait_for(shows(prompt, before), chat_id=user.id, timeout=10, what=prompt)
    ack = next(m for m in world.tg.messages(user.id)[before:] if "Kode pelacakan" in m.content)
    code = ack.content.split("Kode pelacakan: ")[1].split()[0]
    await world.expect(OFFICERS, f"Pengaduan baru {code}")
    return code


async def officers_search(world: World, query: str) -> SentMessage:
    await world.says(world.officer, f"/cari {query}", chat=world.officers)
    return await world.expect(OFFICERS, f"yang cocok dengan “{query}”")


async def test_officers_and_units_find_cases(world: World) -> None:
    siti, joko = world.citizen, world.other_citizen
    road = await file(world, siti, POTHOLE, "Jl. Melati", "Siti Aminah", "081234567890")
    lamp = await file(world, joko, LAMP, "Gang Mawar", "Joko Susilo", "+62 813-1111-2222")
    # The LAPOR number as `/lapor KODE NOMOR` records it (that command is tested with it).
    async with world.service.db.transaction() as uow:
        case = await uow.cases.get_by_code(road)
        assert case is not None
        case.lapor_number = LAPOR_NUMBER
        await uow.cases.update(case)

    by_name = await officers_search(world, "siti")
    assert road in by_name.content and lamp not in by_name.content
    assert "Baru (menunggu verifikasi)" in by_name.content and "SD Negeri 3" in by_name.content
    for typed in ("0812-3456-7890", "+6281234567890"):
        by_phone = await officers_search(world, typed)
        assert road in by_phone.content and lamp not in by_phone.content, typed
    by_phone = await officers_search(world, "081311112222")  # given as +62 813-1111-2222
    assert lamp in by_phone.content and road not in by_phone.content
    by_lapor = await officers_search(world, LAPOR_NUMBER.lower())
    assert road in by_lapor.content and lamp not in by_lapor.content
    by_words = await officers_search(world, "jalan melati")
    assert road in by_words.content and lamp not in by_words.content
    both = await officers_search(world, "jalan")
    assert both.content.index(lamp) < both.content.index(road)  # newest first
    none = await officers_search(world, "banjir")
    assert "Tidak ada kasus yang cocok" in none.content
    await world.says(world.officer, "/search gelap", chat=world.officers)  # the English word
    english = await world.expect(OFFICERS, "yang cocok dengan “gelap”")
    assert lamp in english.content and road not in english.content

    # a unit: its own cases, never found by or shown with the reporter's identity
    await world.says(world.officer, f"/disposisi {road} YANKES", chat=world.officers)
    await world.expect(YANKES, f"Disposisi {road}")
    await world.says(world.unit_staff, "/cari SD Negeri", chat=world.yankes)
    found = await world.expect(YANKES, "Kasus unit YANKES yang cocok dengan “SD Negeri”")
    assert road in found.content
    assert "Siti" not in found.content and "0812" not in found.content
    for identity in ("Siti Aminah", "081234567890"):
        await world.says(world.unit_staff, f"/cari {identity}", chat=world.yankes)
        nothing = await world.expect(
            YANKES, f"Tidak ada kasus unit YANKES yang cocok dengan “{identity}”"
        )
        assert road not in nothing.content
    await world.says(world.unit_staff, "/cari gelap", chat=world.yankes)  # not theirs
    await world.expect(YANKES, "Tidak ada kasus unit YANKES yang cocok dengan “gelap”")
    await world.says(world.unit_staff, "/cari", chat=world.yankes)
    await world.expect(YANKES, "Cara pakai: /cari kata…")
    await world.says(world.unit_staff, "/cari " + "jalan " * 60, chat=world.yankes)
    await world.expect(YANKES, "Kata pencarian terlalu panjang")
    await world.says(world.unit_staff, f"/gabung {road} {lamp}", chat=world.yankes)
    await world.expect(YANKES, "hanya dapat dipakai di grup petugas pengaduan.")


async def test_two_reports_of_one_pothole_merged_and_both_reporters_hear_it_out(
    world: World,
) -> None:
    siti, joko = world.citizen, world.other_citizen
    main = await file(world, siti, POTHOLE, "Jl. Melati", "Siti Aminah", "081234567890")
    duplicate = await file(world, joko, SAME_POTHOLE, "depan SD 3", "Joko Susilo", "081311112222")

    # the officers find both, and merge the later one into the first
    both = await officers_search(world, "SD Negeri 3")
    assert main in both.content and duplicate in both.content
    await world.says(world.officer, f"/gabung {duplicate} {main}", chat=world.officers)
    await world.expect(OFFICERS, f"{duplicate} digabung ke {main} oleh Budi Petugas")
    told = await world.expect(joko.id, f"Pengaduan {duplicate} sama dengan pengaduan {main}")
    assert f"dengan kode {main}" in told.content
    await world.says(world.officer, f"/gabung {duplicate} {main}", chat=world.officers)
    await world.expect(OFFICERS, f"{duplicate} sudah digabung ke {main} sebelumnya")
    await world.says(world.officer, f"/gabung {main} {duplicate}", chat=world.officers)
    await world.expect(OFFICERS, f"{main} tidak dapat digabung ke laporan gandanya sendiri")

    # disposition: both reporters hear it, under the main case's code
    await world.says(world.officer, f"/disposisi {main} YANKES", chat=world.officers)
    unit_case = await world.expect(YANKES, f"Disposisi {main}")
    for user in (siti, joko):
        await world.expect(user.id, f"Pengaduan {main} sudah diteruskan ke Bidang Pelayanan")

    # what the duplicate's reporter adds later reaches the main case's holders
    await world.says(joko, "Tadi pagi ada motor jatuh lagi di lubang itu.")
    await world.expect(joko.id, f"sudah ditambahkan ke pengaduan {main}")
    relayed = await world.expect(OFFICERS, "motor jatuh lagi")
    assert main in relayed.content and duplicate in relayed.content
    await world.expect(YANKES, "motor jatuh lagi")

    # the unit's answer and the closing reach both; the rating is asked of the main's
    await world.says(
        world.unit_staff, "Lubang sudah ditambal hari ini.", chat=world.yankes, reply_to=unit_case
    )
    for user in (siti, joko):
        answer = await world.expect(
            user.id, f"Tanggapan Bidang Pelayanan Kesehatan atas pengaduan {main}"
        )
        assert "Lubang sudah ditambal hari ini." in answer.content
    await world.says(world.officer, f"/selesai {main} sudah ditambal", chat=world.officers)
    for user in (siti, joko):
        await world.expect(user.id, f"Pengaduan {main} telah Selesai")
    await world.expect(siti.id, "Seberapa puas")
    await settled(world)
    assert not any("Seberapa puas" in text for text in world.tg.texts(joko.id))
    assert sum(f"Pengaduan {main} telah Selesai" in t for t in world.tg.texts(joko.id)) == 1

    # both histories say so
    await world.says(world.officer, f"/kasus {duplicate}", chat=world.officers)
    history = await world.expect(OFFICERS, f"Kasus {duplicate} — Selesai")
    assert f"digabung ke kasus utama (Budi Petugas): {main}" in history.content
    await world.says(world.officer, f"/kasus {main}", chat=world.officers)
    history = await world.expect(OFFICERS, f"Kasus {main} — Selesai")
    assert f"laporan ganda digabung ke kasus ini (Budi Petugas): {duplicate}" in history.content
    # and the duplicate's reporter sees where their report went
    await world.says(joko, "/status")
    status = await world.expect(joko.id, "Pengaduan Bapak/Ibu:")
    assert f"{duplicate} — Selesai, digabung ke {main}" in status.content
