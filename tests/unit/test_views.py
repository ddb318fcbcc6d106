"""What staff are shown of what a reporter wrote: without the invisible characters that
reorder or hide text; the record keeps it as it came."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl

from bot.core import views
from bot.core.dialogue import Submission
from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    Case,
    CaseStatus,
    Channel,
    ContactDetails,
    Intake,
    Location,
    Privacy,
)
from bot.core.texts import Texts, load_texts
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


# ------------------------------------------------------- where a case came from (issue 20)

WIB = ZoneInfo("Asia/Jakarta")
FILED = datetime(2026, 3, 4, 10, 30, tzinfo=WIB)


def staff_entered_case(**changes: Any) -> Case:
    """A complaint taken by phone and entered by an officer, its reporter in no chat."""
    fields: dict[str, Any] = {
        "code": "ADU-TLP001",
        "reporter_id": 1,
        "channel": Channel.MANUAL,
        "description": "Ambulans desa tidak datang saat dipanggil.",
        "created_at": FILED,
        "privacy": Privacy.ANONYMOUS,
        "status": CaseStatus.DISPOSED,
        "unit_code": "YANKES",
        "reporter_name": "Pak Darto",
        "reporter_contact": "081211112222",
        "intake": Intake("Telepon", date(2026, 3, 2), "900", "Petugas Sari"),
        "contacts": ContactDetails("081233334444", "darto@example.id", "Jl. Kenanga 5, Sukamaju"),
        "lapor_number": "4123987",
    }
    fields.update(changes)
    return Case(**fields)


def detail(case: Case, *, for_unit: bool, texts: Texts = T) -> str:
    office = sample_office(YANKES)
    return views.case_detail(office, texts, case, [], FILED, for_unit=for_unit)


def test_officers_see_where_a_staff_entered_case_came_from_and_every_contact() -> None:
    text = detail(staff_entered_case(), for_unit=False)
    assert text.splitlines()[:6] == [
        "Kasus ADU-TLP001 — Dalam Proses",
        "Diterima: 04-03-2026 10:30 · Saluran: Dikabari petugas · Identitas: anonim",
        "Sumber: Telepon · diterima kantor 2 Maret 2026 · dicatat oleh Petugas Sari",
        "Pelapor: Pak Darto · Kontak: 081211112222",
        "Kontak lain: WhatsApp 081233334444 · email darto@example.id · "
        "alamat Jl. Kenanga 5, Sukamaju",
        "Unit: Bidang Pelayanan Kesehatan (YANKES)",
    ]
    assert "\nNomor SP4N-LAPOR!: 4123987\n" in text
    english = detail(staff_entered_case(), for_unit=False, texts=load_texts("en"))
    assert "Source: Telepon · received by the office 2 March 2026 · entered by Petugas Sari" in (
        english
    )


def test_a_unit_sees_the_source_and_the_lapor_number_but_no_contact_at_all() -> None:
    text = detail(staff_entered_case(), for_unit=True)
    assert "Sumber: Telepon · diterima kantor 2 Maret 2026 · dicatat oleh Petugas Sari" in text
    assert "Nomor SP4N-LAPOR!: 4123987" in text
    assert "Pelapor: disembunyikan (anonim) · Kontak: -\nUnit:" in text
    for private in ("Darto", "0812", "darto@", "Kenanga", "Kontak lain"):
        assert private not in text, private


def test_a_merged_duplicate_names_its_main_case_and_a_bare_case_shows_nothing_new() -> None:
    merged = staff_entered_case(status=CaseStatus.CLOSED, merged_into="ADU-MAIN01")
    assert detail(merged, for_unit=True).startswith(
        "Kasus ADU-TLP001 — Selesai · digabung ke ADU-MAIN01\n"
    )
    # only some contacts, an officer who has no name on Telegram
    partial = staff_entered_case(
        contacts=ContactDetails(email="darto@example.id"),
        intake=Intake("Surat", date(2026, 3, 3), "900", ""),
    )
    text = detail(partial, for_unit=False)
    assert "Sumber: Surat · diterima kantor 3 Maret 2026 · dicatat oleh #900\n" in text
    assert "\nKontak lain: email darto@example.id\n" in text
    # a complaint the reporter sent the bot: the lines it always had, nothing more
    own = staff_entered_case(
        channel=Channel.TELEGRAM, intake=None, contacts=ContactDetails(), lapor_number=None
    )
    text = detail(own, for_unit=False)
    assert text.splitlines()[1:4] == [
        "Diterima: 04-03-2026 10:30 · Saluran: Telegram · Identitas: anonim",
        "Pelapor: Pak Darto · Kontak: 081211112222",
        "Unit: Bidang Pelayanan Kesehatan (YANKES)",
    ]
    assert "SP4N-LAPOR" not in text and "Sumber" not in text


def test_the_lapor_form_carries_the_number_the_source_and_the_day_received() -> None:
    office = sample_office(YANKES)
    form = views.lapor_form(office, T, staff_entered_case(privacy=Privacy.NORMAL), [])
    assert form.splitlines()[:3] == [
        "Form manual SP4N-LAPOR! — ADU-TLP001",
        "Sudah tercatat di SP4N-LAPOR! dengan nomor 4123987.",
        "",
    ]
    assert "\nDiterima: 2 Maret 2026, melalui Telepon\n" in form
    assert "\nPelapor: Pak Darto, 081211112222\n" in form
    # without a number yet: the form as it always was
    bare = views.lapor_form(office, T, staff_entered_case(lapor_number=None), [])
    assert bare.splitlines()[:2] == ["Form manual SP4N-LAPOR! — ADU-TLP001", ""]
