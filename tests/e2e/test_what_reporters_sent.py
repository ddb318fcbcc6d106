"""What a reporter sends besides the answers to the questions reaches the staff whole:
the words written with a photo (its caption) and the place of a shared pin, as a map
link in the groups' messages and as the place in the files.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.standins.telegram import User
from tests.e2e.conftest import OFFICERS, YANKES, World
from tests.e2e.test_recaps import files_after, row_of, workbook

DESCRIPTION = "Antrean di Puskesmas Sukamaju sangat panjang, pasien menunggu sampai sore."
CAPTION = "ruang tunggu penuh"
LATITUDE, LONGITUDE = -6.91474, 107.60981
MAP = (
    f"https://www.openstreetmap.org/?mlat={LATITUDE}&mlon={LONGITUDE}#map=17/{LATITUDE}/{LONGITUDE}"
)


async def answer(
    world: World, user: User, send: Callable[[], Awaitable[object]], prompt: str
) -> None:
    """The reporter sends something; waits for the bot's next question."""
    before = len(world.tg.messages(user.id))
    await send()
    await world.tg.wait_for(
        lambda sent: any(prompt in m.content for m in sent[before:]),
        chat_id=user.id,
        timeout=10.0,
        what=prompt,
    )


async def file_complaint(
    world: World, *, where: Callable[[], Awaitable[object]], photo_caption: str | None = None
) -> str:
    """The intake with a place given by `where`, and a photo at the attachments step."""
    citizen, tg = world.citizen, world.tg
    await answer(world, citizen, lambda: world.says(citizen, "/start"), "Ceritakan apa")
    await answer(world, citizen, lambda: world.says(citizen, DESCRIPTION), "Di mana")
    await answer(world, citizen, where, "Kapan kejadiannya")
    await answer(world, citizen, lambda: world.says(citizen, "tadi pagi"), "foto atau dokumen")
    photo = lambda: tg.user_sends_photo(citizen, caption=photo_caption)  # noqa: E731
    await answer(world, citizen, photo, "Lampiran diterima (1 berkas)")
    await answer(world, citizen, lambda: world.says(citizen, "selesai"), "Bagaimana identitas")
    await answer(world, citizen, lambda: world.says(citizen, "1"), "Siapa nama")
    await answer(world, citizen, lambda: world.says(citizen, "Siti Aminah"), "Nomor telepon")
    await answer(world, citizen, lambda: world.says(citizen, "lewati"), "Apakah sudah benar")
    await world.says(citizen, "kirim")
    ack = await world.expect(citizen.id, "Kode pelacakan")
    return ack.content.split("Kode pelacakan: ")[1].split()[0]


async def test_a_photos_caption_reaches_officers_unit_case_detail_and_export(
    world: World,
) -> None:
    code = await file_complaint(
        world, where=lambda: world.says(world.citizen, "Jl. Melati 3"), photo_caption=CAPTION
    )
    # the officers' relay of the new case says what the reporter wrote with the photo
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert f"Lampiran: 1 berkas\n• berkas 1: {CAPTION}" in relay.content

    await world.says(world.officer, f"/kasus {code}", chat=world.officers)
    detail = await world.expect(OFFICERS, f"Kasus {code}")
    assert f"• berkas 1: {CAPTION}" in detail.content

    # the unit reads the case as the officers do, the photo's words included
    await world.tg.user_taps(world.officer, relay, "➡️ YANKES")
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    assert f"• berkas 1: {CAPTION}" in unit_case.content

    before = len(world.tg.messages(OFFICERS))
    await world.says(world.officer, f"/ekspor {code}", chat=world.officers)
    (export,) = await files_after(world, OFFICERS, before, 1)
    fields = workbook(world, export)["Pengaduan"]
    assert row_of(fields, "Keterangan lampiran")[1] == f"• berkas 1: {CAPTION}"


async def test_a_shared_pin_reaches_staff_as_a_map_link_and_the_recap_as_the_place(
    world: World,
) -> None:
    pin = lambda: world.tg.user_sends_location(world.citizen, LATITUDE, LONGITUDE)  # noqa: E731
    code = await file_complaint(world, where=pin)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert f"({LATITUDE:.5f}, {LONGITUDE:.5f})\nPeta: {MAP}\n" in relay.content

    await world.tg.user_taps(world.officer, relay, "➡️ YANKES")
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    assert f"Peta: {MAP}\n" in unit_case.content

    before = len(world.tg.messages(OFFICERS))
    await world.says(world.officer, f"/ekspor {code}", chat=world.officers)
    (export,) = await files_after(world, OFFICERS, before, 1)
    assert row_of(workbook(world, export)["Pengaduan"], "Peta")[1] == MAP

    before = len(world.tg.messages(OFFICERS))
    await world.says(world.officer, "/rekap", chat=world.officers)
    document, _chart = await files_after(world, OFFICERS, before, 2)
    header, *cases = workbook(world, document)["Daftar Pengaduan"]
    place = cases[0][header.index("Lokasi")]
    assert place == (f"lokasi dibagikan ({LATITUDE:.5f}, {LONGITUDE:.5f})\nPeta: {MAP}"), (
        "the recap's case list names the pin's place"
    )


async def test_a_pin_sent_after_filing_reaches_the_officers_as_a_map_link(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.tg.user_sends_location(world.citizen, LATITUDE, LONGITUDE)
    relayed = await world.expect(OFFICERS, f"Pesan tambahan pelapor untuk {code}")
    assert f"📍 {LATITUDE:.5f}, {LONGITUDE:.5f}\n{MAP}" in relayed.content
