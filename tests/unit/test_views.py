"""What staff are shown of what a reporter wrote: without the invisible characters that
reorder or hide text; the record keeps it as it came."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

from bot.core import views
from bot.core.dialogue import Submission
from bot.core.model import Actor, Attachment, AttachmentKind, Channel, Location, Privacy
from bot.exports.tables import write_case_csv
from bot.exports.workbook import write_case_workbook
from tests.unit.sample import OFFICERS, YANKES, YANKES_CHAT, OfficeWorld, T, sample_office

OFFICER = Actor("officer", "900", "Petugas Sari", OFFICERS.address)
RLO, PDF, ZWSP, ZWJ, LRI, BOM = "\u202e", "\u202c", "\u200b", "\u200d", "\u2066", "\ufeff"
INVISIBLE = (RLO, PDF, ZWSP, ZWJ, LRI, BOM, "\u200e", "\u2060")


def test_for_staff_drops_direction_and_zero_width_characters() -> None:
    assert views.for_staff(f"lampiran {RLO}txt.exe{PDF}") == "lampiran txt.exe"
    assert views.for_staff(f"Si{ZWSP}ti{BOM} Ami{ZWJ}nah {LRI}Jl.\u2069 Melati") == (
        "Siti Aminah Jl. Melati"
    )
    health_worker = f"\U0001f469{ZWJ}\u2695\ufe0f"  # one emoji drawn from two
    assert views.for_staff(f"bidan {health_worker}") == f"bidan {health_worker}"
    assert views.for_staff("Rp 50.000, 3 hari") == "Rp 50.000, 3 hari"


async def test_officers_and_the_unit_see_the_text_plain_and_the_record_keeps_it(
    tmp_path: Path,
) -> None:
    world = OfficeWorld(sample_office(YANKES))
    reporter = await world.uow.reporters.get_or_create(Channel.TELEGRAM, "5001", "Siti")
    name = f"Siti{ZWSP} {RLO}hanimA{PDF}"
    story = f"Bidan meminta uang {RLO}000.05 pR{PDF} untuk surat lahir."
    place = f"Puskesmas{ZWJ} Melati{BOM}"
    submission = Submission(story, place, None, "kemarin", (), Privacy.NORMAL, name, "0812")
    case = await world.desk().submit(reporter, submission)
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    assert case.id is not None
    stored = await world.uow.cases.get(case.id)
    assert stored is not None
    detail = views.case_detail(
        world.office,
        T,
        stored,
        await world.uow.cases.events(case.id),
        world.clock.now(),
        for_unit=False,
    )
    await world.desk().tell(OFFICERS, detail, stored)  # /kasus, as the handler answers it
    assert any(c in detail for c in INVISIBLE)  # the view keeps the record's text...
    form = views.lapor_form(world.office, T, stored, await world.uow.cases.events(case.id))
    for shown in [*world.to(OFFICERS), *world.to(YANKES_CHAT), form]:  # ...staff see it plain
        assert not any(c in shown for c in INVISIBLE), shown
    relay = next(m for m in world.to(OFFICERS) if "Pengaduan baru" in m)
    assert "Siti hanimA" in relay and "000.05 pR" in relay and "Puskesmas Melati" in relay
    assert "000.05 pR" in world.to(YANKES_CHAT)[0]
    # the record keeps what came
    assert (stored.reporter_name, stored.description, stored.location_text) == (name, story, place)
    # and so do the exported files
    events = await world.uow.cases.events(case.id)
    names = {"YANKES": "Bidang Yankes"}
    write_case_workbook(tmp_path / "k.xlsx", stored, events, T, world.office.timezone, names)
    write_case_csv(tmp_path / "k.csv", stored, events, T, world.office.timezone, names)
    book = openpyxl.load_workbook(tmp_path / "k.xlsx")
    cells = [str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row]
    with (tmp_path / "k.csv").open(encoding="utf-8-sig", newline="") as file:
        cells += [cell for row in csv.reader(file) for cell in row]
    assert any("000.05 pR" in cell for cell in cells)
    assert not any(c in cell for cell in cells for c in INVISIBLE)


async def test_staff_read_each_photos_words_once_and_the_pin_as_a_map_link() -> None:
    world = OfficeWorld(sample_office(YANKES))
    reporter = await world.uow.reporters.get_or_create(Channel.TELEGRAM, "5001", "Siti")
    story = "Ruang tunggu penuh, pasien berdiri sampai ke luar."
    photos = tuple(
        Attachment(AttachmentKind.PHOTO, f"p{n}", Channel.TELEGRAM, caption=caption)
        for n, caption in enumerate((story, None, "antre sejak subuh"), start=1)
    )
    pin = Location(-6.91474, 107.60981)
    submission = Submission(story, "Puskesmas Melati", pin, None, photos, Privacy.NORMAL, "S", None)
    case = await world.desk().submit(reporter, submission)
    relay = next(m for m in world.to(OFFICERS) if "Pengaduan baru" in m)
    # the first photo's words are the story itself, told above: not repeated
    assert "Lampiran: 3 berkas\n• berkas 3: antre sejak subuh\n" in relay
    assert relay.count(story) == 1
    assert (
        f"Lokasi: Puskesmas Melati; lokasi dibagikan (-6.91474, 107.60981)\nPeta: {pin.map_url}\n"
    ) in relay
    assert pin.map_url == (
        "https://www.openstreetmap.org/?mlat=-6.91474&mlon=107.60981#map=17/-6.91474/107.60981"
    )
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    unit = world.to(YANKES_CHAT)[0]
    assert "• berkas 3: antre sejak subuh" in unit and f"Peta: {pin.map_url}" in unit
