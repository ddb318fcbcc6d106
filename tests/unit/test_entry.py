"""Staff entry (`/catat`): the dialogue alone (no storage, no channel), and the case it
makes through the desk on the in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.core import entry as steps
from bot.core.cases import CASE_MESSAGE
from bot.core.dialogue import MAX_DESCRIPTION, MAX_SHORT_TEXT, CitizenInput, Reply
from bot.core.entry import (
    Entry,
    EntryDialogue,
    EntryOutcome,
    email_address,
    is_entry,
    parse_day,
    whatsapp_number,
)
from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    CaseStatus,
    Channel,
    EventKind,
    Location,
    Privacy,
    Recipient,
    TaskKind,
)
from bot.core.office import DEFAULT_SOURCES, Office
from bot.core.ports import DialogueState
from bot.core.tasks import lapor_number
from tests.unit.sample import DESCRIPTION, OFFICERS, YANKES, OfficeWorld, T, sample_office

TODAY = date(2026, 3, 2)  # the sample clock's day in Jakarta (a Monday)
TELEGRAM_ONLY = sample_office(YANKES)
WITH_WHATSAPP = replace(TELEGRAM_ONLY, reachable=frozenset({Channel.TELEGRAM, Channel.WHATSAPP}))
LAPOR = DEFAULT_SOURCES.index("SP4N-LAPOR!") + 1  # its number in the list of sources
PHONE_CALL = DEFAULT_SOURCES.index("Telepon") + 1


def dialogue(office: Office = TELEGRAM_ONLY) -> EntryDialogue:
    return EntryDialogue(T, office)


def say(engine: EntryDialogue, outcome: EntryOutcome, **kwargs: object) -> EntryOutcome:
    assert outcome.state is not None
    return engine.advance(outcome.state, CitizenInput(**kwargs), TODAY)  # type: ignore[arg-type]


def last(outcome: EntryOutcome) -> Reply:
    return outcome.replies[-1]


def photo(ref: str, caption: str | None = None) -> CitizenInput:
    attachment = Attachment(AttachmentKind.PHOTO, ref, Channel.TELEGRAM)
    return CitizenInput(text=caption, attachments=(attachment,))


def at(engine: EntryDialogue, step: str, **data: object) -> EntryOutcome:
    """An entry stopped at `step` with `data` answered."""
    base: dict[str, object] = {
        "attachments": [],
        "albums": [],
        "source": "Telepon",
        "received_on": TODAY.isoformat(),
        "description": DESCRIPTION,
    }
    state = DialogueState(step, {**base, **data})
    return EntryOutcome(state, engine.prompt(state))


def walk_in(engine: EntryDialogue) -> EntryOutcome:
    """A walk-in entered up to the summary, every optional part skipped."""
    o = engine.begin()
    o = say(engine, o, text="1")  # Datang langsung/loket
    o = say(engine, o, text="hari ini")
    o = say(engine, o, text=DESCRIPTION)
    for _ in range(3):  # place, time, files
        o = say(engine, o, text="lewati" if _ < 2 else "selesai")
    o = say(engine, o, text="1")  # biasa
    for _ in range(5):  # name, phone, WhatsApp, email, address
        o = say(engine, o, text="lewati" if _ != 2 else "tidak ada")
    return o


# ---------------------------------------------------------------------- the whole way
def test_every_step_of_a_phone_call_with_all_details() -> None:
    engine = dialogue(WITH_WHATSAPP)
    o = engine.begin()
    assert o.replies[0].text == T("entry_welcome")
    assert last(o).text == T("entry_ask_source")
    assert [c.label for c in last(o).choices] == list(DEFAULT_SOURCES)
    assert o.state is not None and is_entry(o.state)

    o = say(engine, o, text="Telepon")  # the name, or its number
    assert last(o).text == T("entry_ask_received")
    assert [c.label for c in last(o).choices] == ["Hari ini", "Kemarin"]
    o = say(engine, o, action="yesterday")
    assert last(o).text == T("entry_ask_description")  # no LAPOR number for a call
    o = say(engine, o, text=DESCRIPTION)
    assert last(o).text == T("entry_ask_location")
    o = say(engine, o, location=Location(-6.2, 106.8, "Puskesmas Sukamaju"))
    assert last(o).text == T("ask_time")
    o = say(engine, o, text="Senin pagi")
    assert last(o).text == T("entry_ask_attachments")
    o = engine.advance(o.state, photo("scan-surat"), TODAY)  # type: ignore[arg-type]
    assert last(o).text == T("attachment_received", count=1)
    o = say(engine, o, text="selesai")
    assert last(o).text == T("entry_ask_privacy")
    o = say(engine, o, text="Anonim")
    assert last(o).text == T("entry_ask_name")
    o = say(engine, o, text="Pak Darto")
    assert last(o).text == T("entry_ask_phone")
    o = say(engine, o, text="0812-3456-7890")
    assert last(o).text == T("entry_ask_whatsapp")
    assert [c.value for c in last(o).choices] == ["same", "none"]
    o = say(engine, o, text="Sama dengan telepon")
    assert last(o).text == T("entry_ask_consent", number="+6281234567890")
    o = say(engine, o, text="ya")
    assert last(o).text == T("entry_ask_email")
    o = say(engine, o, text="darto@contoh.id")
    assert last(o).text == T("entry_ask_address")
    o = say(engine, o, text="Jl. Kenanga 5, Sukamaju")
    assert last(o).text == T("entry_confirm_prompt")
    summary = o.replies[-2].text
    for part in (
        "Sumber: Telepon · Diterima: 01-03-2026",
        "Pak Darto",
        "081234567890",
        "+6281234567890 (setuju dikabari lewat WhatsApp)",
        "darto@contoh.id",
        "Jl. Kenanga 5",
        "1 berkas",
        "anonim",
        "Puskesmas Sukamaju",
    ):
        assert part in summary
    assert "SP4N-LAPOR!" not in summary

    o = say(engine, o, text="kirim")
    assert o.state is None and o.replies == []
    assert o.entry == Entry(
        source="Telepon",
        received_on=date(2026, 3, 1),
        lapor_number=None,
        description=DESCRIPTION,
        location_text=None,
        location=Location(-6.2, 106.8, "Puskesmas Sukamaju"),
        occurred_text="Senin pagi",
        attachments=(Attachment(AttachmentKind.PHOTO, "scan-surat", Channel.TELEGRAM),),
        privacy=Privacy.ANONYMOUS,
        name="Pak Darto",
        phone="081234567890",
        whatsapp="+6281234567890",
        whatsapp_news=True,
        email="darto@contoh.id",
        address="Jl. Kenanga 5, Sukamaju",
    )


def test_a_walk_in_with_everything_optional_skipped() -> None:
    engine = dialogue()
    o = walk_in(engine)
    assert last(o).text == T("entry_confirm_prompt")
    o = say(engine, o, text="1")
    assert o.entry is not None
    entry = o.entry
    assert (entry.source, entry.received_on) == ("Datang langsung/loket", TODAY)
    assert (entry.location_text, entry.location, entry.occurred_text) == (None, None, None)
    assert (entry.name, entry.phone, entry.whatsapp, entry.email, entry.address) == (None,) * 5
    assert entry.attachments == () and entry.privacy is Privacy.NORMAL
    assert entry.whatsapp_news is False


def test_the_lapor_number_is_asked_only_for_a_complaint_from_lapor() -> None:
    engine = dialogue()
    o = say(engine, engine.begin(), text=str(LAPOR))
    o = say(engine, o, text="01-03-2026")
    assert last(o).text == T("entry_ask_lapor")
    o = say(engine, o, text="#lap-4123456")
    assert o.state is not None and o.state.data["lapor_number"] == "LAP-4123456"
    assert last(o).text == T("entry_ask_description")


def test_the_lapor_number_can_be_skipped_and_bad_ones_are_refused() -> None:
    engine = dialogue()
    o = at(engine, steps.LAPOR, source="SP4N-LAPOR!")
    for bad in ("12", "nomor saya 123", "x" * 41, "🙂🙂🙂"):
        o = say(engine, o, text=bad)
        assert last(o).text == T("entry_lapor_invalid")
        assert o.state is not None and o.state.step == steps.LAPOR
    o = say(engine, o, text="lewati")
    assert o.state is not None and o.state.data["lapor_number"] is None
    assert last(o).text == T("entry_ask_description")


# ---------------------------------------------------------------------- the date received
@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("03-02-2026", date(2026, 2, 3)),
        ("3/2/26", date(2026, 2, 3)),
        ("03.02.2026", date(2026, 2, 3)),
        ("2026-02-03", date(2026, 2, 3)),
        ("02-03-2026", TODAY),
    ],
)
def test_a_typed_date_received(typed: str, day: date) -> None:
    engine = dialogue()
    o = say(engine, at(engine, steps.RECEIVED), text=typed)
    assert o.state is not None and o.state.data["received_on"] == day.isoformat()


def test_today_and_yesterday_buttons() -> None:
    engine = dialogue()
    o = say(engine, at(engine, steps.RECEIVED), action="today")
    assert o.state is not None and o.state.data["received_on"] == TODAY.isoformat()
    o = say(engine, at(engine, steps.RECEIVED), text="Kemarin")
    assert o.state is not None
    assert o.state.data["received_on"] == (TODAY - timedelta(days=1)).isoformat()


@pytest.mark.parametrize("typed", ["31-02-2026", "kemarin lusa", "1-13-2026", "03-12-1999", ""])
def test_a_date_that_is_no_date_is_asked_again(typed: str) -> None:
    engine = dialogue()
    o = say(engine, at(engine, steps.RECEIVED), text=typed)
    assert last(o).text == T("entry_received_invalid")
    assert [c.value for c in last(o).choices] == ["today", "yesterday"]
    assert o.state is not None and o.state.step == steps.RECEIVED


def test_a_date_in_the_future_is_refused() -> None:
    engine = dialogue()
    o = say(engine, at(engine, steps.RECEIVED), text="03-03-2026")
    assert last(o).text == T("entry_received_future", date="03-03-2026")
    assert o.state is not None and o.state.step == steps.RECEIVED
    assert o.state.data["received_on"] == TODAY.isoformat()  # as it was


def test_parse_day_reads_only_whole_dates() -> None:
    assert parse_day(" 3-2-2026 ") == date(2026, 2, 3)
    assert parse_day("3-2-2026 pagi") is None
    assert parse_day("2026/02/03") is None


# ---------------------------------------------------------------------- the story and files
def test_the_story_has_the_citizens_limits() -> None:
    engine = dialogue()
    o = at(engine, steps.DESCRIPTION)
    o = say(engine, o, text="pendek")
    assert last(o).text == T("description_too_short", min=10)
    o = say(engine, o, text="x" * (MAX_DESCRIPTION + 1))
    assert last(o).text == T("description_too_long", max=MAX_DESCRIPTION)
    o = say(engine, o, location=None, text="")
    assert o.replies[0].text == T("expected_text")
    assert o.state is not None and o.state.step == steps.DESCRIPTION


def test_a_scanned_letter_with_the_story_as_its_caption() -> None:
    engine = dialogue()
    o = at(engine, steps.DESCRIPTION, description=None)
    assert o.state is not None
    o = engine.advance(o.state, photo("surat-1", caption=DESCRIPTION), TODAY)
    assert o.state is not None and o.state.data["description"] == DESCRIPTION
    assert last(o).text == T("entry_ask_location")
    assert o.state.data["attachments"][0]["caption"] == DESCRIPTION


def test_files_sent_before_their_step_are_kept() -> None:
    engine = dialogue()
    o = at(engine, steps.PRIVACY)
    assert o.state is not None
    o = engine.advance(o.state, photo("tangkapan-layar"), TODAY)
    assert [r.text for r in o.replies] == [T("attachment_kept", count=1), T("entry_ask_privacy")]
    assert o.state is not None
    o = engine.advance(o.state, photo("tangkapan-layar"), TODAY)  # the same file twice
    assert o.state is not None and len(o.state.data["attachments"]) == 1


def test_place_time_and_address_are_skippable_and_limited() -> None:
    engine = dialogue()
    for step, key in (
        (steps.LOCATION, "location_text"),
        (steps.TIME, "occurred_text"),
        (steps.ADDRESS, "address"),
    ):
        o = say(engine, at(engine, step), text="y" * (MAX_SHORT_TEXT + 1))
        assert last(o).text == T("entry_too_long", max=MAX_SHORT_TEXT)
        o = say(engine, o, action="skip")
        assert o.state is not None and o.state.data[key] is None
        assert o.state.step != step


def test_a_shared_pin_answers_where() -> None:
    engine = dialogue()
    o = say(engine, at(engine, steps.DESCRIPTION, description=None), location=Location(1, 2))
    assert [r.text for r in o.replies] == [T("location_received"), T("entry_ask_description")]
    o = say(engine, o, text=DESCRIPTION)
    assert last(o).text == T("ask_time")  # the place is known already


# ---------------------------------------------------------------------- the reporter
def test_a_bad_phone_is_asked_again_and_a_contact_card_is_taken() -> None:
    engine = dialogue()
    o = at(engine, steps.PHONE)
    for bad in ("nomornya lupa", "12345", "0812345678901234567"):
        o = say(engine, o, text=bad)
        assert last(o).text == T("contact_invalid")
        assert o.state is not None and o.state.step == steps.PHONE
    o = say(engine, o, contact="+62 812 1111 2222")
    assert o.state is not None and o.state.data["phone"] == "+6281211112222"
    assert last(o).text == T("entry_ask_whatsapp")


def test_a_bad_name_is_asked_again() -> None:
    engine = dialogue()
    o = say(engine, at(engine, steps.NAME), text="n" * 101)
    assert last(o).text == T("name_invalid", max=100)


def test_whatsapp_typed_same_as_phone_or_none() -> None:
    engine = dialogue(WITH_WHATSAPP)
    o = say(engine, at(engine, steps.WHATSAPP, phone="021555123"), text="0857 1234 5678")
    assert o.state is not None and o.state.data["whatsapp"] == "+6285712345678"
    assert last(o).text == T("entry_ask_consent", number="+6285712345678")
    o = say(engine, at(engine, steps.WHATSAPP, phone=None), text="tidak ada")
    assert o.state is not None and o.state.data["whatsapp"] is None
    assert last(o).text == T("entry_ask_email")  # no consent asked without a number
    # without a phone there is nothing to be the same as
    assert [c.value for c in engine.choices(DialogueState(steps.WHATSAPP, {}))] == ["none"]


def test_a_bad_whatsapp_number_is_asked_again() -> None:
    engine = dialogue(WITH_WHATSAPP)
    o = at(engine, steps.WHATSAPP, phone="1234567")
    for bad in ("wa saya", "0812"):
        o = say(engine, o, text=bad)
        assert last(o).text == T("entry_whatsapp_invalid")
    o = say(engine, o, action="same")  # a phone too short to be a WhatsApp number
    assert last(o).text == T("entry_whatsapp_invalid")


def test_consent_is_asked_only_when_this_deployment_speaks_whatsapp() -> None:
    engine = dialogue(TELEGRAM_ONLY)
    o = say(engine, at(engine, steps.WHATSAPP, phone="081234567890"), text="1")
    assert o.state is not None and o.state.data["whatsapp"] == "+6281234567890"
    assert last(o).text == T("entry_ask_email")
    summary = engine.summary({**o.state.data, "email": None, "address": None})
    assert "WhatsApp: +6281234567890\n" in summary  # nothing said of news by WhatsApp
    o = say(engine, say(engine, o, text="lewati"), text="lewati")
    assert o.entry is None
    o = say(engine, o, text="kirim")
    assert o.entry is not None and o.entry.whatsapp_news is False


def test_a_reporter_who_did_not_agree_gets_no_whatsapp_news() -> None:
    engine = dialogue(WITH_WHATSAPP)
    o = at(engine, steps.CONSENT, whatsapp="+6281234567890")
    o = say(engine, o, text="mungkin")
    assert last(o).text == T("choose_one", options="1. Ya, 2. Tidak")
    o = say(engine, o, text="Tidak")
    assert o.state is not None and o.state.data["consent"] is False
    o = say(engine, say(engine, o, action="skip"), action="skip")
    assert "(tidak dikabari lewat WhatsApp)" in o.replies[-2].text
    o = say(engine, o, action="send")
    assert o.entry is not None and o.entry.whatsapp == "+6281234567890"
    assert o.entry.whatsapp_news is False


def test_a_bad_email_is_asked_again() -> None:
    engine = dialogue()
    o = at(engine, steps.EMAIL)
    for bad in ("darto", "darto@", "a b@c.id", "x@" + "y" * 260 + ".id"):
        o = say(engine, o, text=bad)
        assert last(o).text == T("entry_email_invalid")
    o = say(engine, o, text="Darto@Contoh.go.id")
    assert o.state is not None and o.state.data["email"] == "Darto@Contoh.go.id"


def test_the_small_readers() -> None:
    assert whatsapp_number("0812-3456-7890") == "+6281234567890"
    assert whatsapp_number("6281234567890") == "+6281234567890"
    assert whatsapp_number("81234567890") == "+6281234567890"
    assert whatsapp_number("+1 415 555 0100") == "+14155550100"
    assert whatsapp_number("0812abc") is None
    assert lapor_number(" # 4123456 ") == "4123456"
    assert lapor_number("lap/2026-01-7") == "LAP/2026-01-7"
    assert lapor_number("lap/2026-01.7") is None
    assert lapor_number("4123 456") is None
    assert email_address(" a@b.id ") == "a@b.id"
    assert email_address("a@b.") is None


# ---------------------------------------------------------------------- summary, edit, cancel
def test_edit_fixes_any_part_and_returns_to_the_summary() -> None:
    engine = dialogue()
    o = say(engine, walk_in(engine), text="ubah")
    assert last(o).text == T("edit_prompt")
    labels = [c.label for c in last(o).choices]
    assert labels[:3] == ["Sumber", "Tanggal diterima", "Kejadian"]  # no LAPOR number here
    assert "Data pelapor" in labels and labels[-1] == "Kembali"

    o = say(engine, o, action="received")
    assert last(o).text == T("entry_ask_received")
    o = say(engine, o, text="27-02-2026")
    assert last(o).text == T("entry_confirm_prompt")
    assert "Diterima: 27-02-2026" in o.replies[-2].text

    o = say(engine, say(engine, o, text="ubah"), action="reporter")
    assert last(o).text == T("entry_ask_name")
    o = say(engine, o, text="Bu Wati")
    o = say(engine, o, text="081311112222")
    o = say(engine, o, text="tidak ada")
    o = say(engine, o, text="lewati")
    o = say(engine, o, text="lewati")
    assert last(o).text == T("entry_confirm_prompt")
    assert "Pelapor: Bu Wati" in o.replies[-2].text

    o = say(engine, say(engine, o, text="ubah"), action="description")
    o = say(engine, o, text="Antrean loket obat sangat lama, lebih dari tiga jam.")
    assert last(o).text == T("entry_confirm_prompt")

    o = say(engine, say(engine, o, text="ubah"), action="back")
    assert last(o).text == T("entry_confirm_prompt")
    o = say(engine, o, action="send")
    assert o.entry is not None
    assert (o.entry.received_on, o.entry.name, o.entry.phone) == (
        date(2026, 2, 27),
        "Bu Wati",
        "081311112222",
    )
    assert o.entry.description.startswith("Antrean loket obat")


def test_editing_the_source_to_lapor_asks_its_number_and_away_drops_it() -> None:
    engine = dialogue()
    o = say(engine, say(engine, walk_in(engine), text="ubah"), action="source")
    o = say(engine, o, text=str(LAPOR))
    assert last(o).text == T("entry_ask_lapor")
    o = say(engine, o, text="4123456")
    assert last(o).text == T("entry_confirm_prompt")
    assert "Nomor SP4N-LAPOR!: 4123456" in o.replies[-2].text
    o = say(engine, o, text="ubah")
    assert "Nomor LAPOR" in [c.label for c in last(o).choices]
    o = say(engine, say(engine, o, action="source"), text=str(PHONE_CALL))
    assert last(o).text == T("entry_confirm_prompt")
    assert "SP4N-LAPOR!" not in o.replies[-2].text
    o = say(engine, o, action="send")
    assert o.entry is not None and o.entry.lapor_number is None


def test_editing_the_files_starts_them_again() -> None:
    engine = dialogue()
    o = at(engine, steps.CONFIRM, attachments=[photo("a").attachments[0].to_dict()])
    o = say(engine, say(engine, o, text="ubah"), action="attachments")
    assert o.state is not None and o.state.data["attachments"] == []
    o = engine.advance(o.state, photo("b"), TODAY)
    o = say(engine, o, action="done")
    assert last(o).text == T("entry_confirm_prompt")
    assert o.state is not None and [a["ref"] for a in o.state.data["attachments"]] == ["b"]


@pytest.mark.parametrize("word", ["/batal", "batal", "/cancel", "Batal"])
def test_cancel_at_any_step(word: str) -> None:
    engine = dialogue()
    for step in (steps.SOURCE, steps.DESCRIPTION, steps.NAME, steps.CONFIRM):
        o = say(engine, at(engine, step), text=word)
        assert o.state is None and o.entry is None
        assert [r.text for r in o.replies] == [T("entry_cancelled")]


def test_help_and_other_commands_keep_the_entry_where_it_is() -> None:
    engine = dialogue()
    o = say(engine, at(engine, steps.NAME), text="/bantuan")
    assert [r.text for r in o.replies] == [T("entry_help"), T("entry_ask_name")]
    o = say(engine, o, text="/status ADU-7K3Q9X")
    assert [r.text for r in o.replies] == [T("entry_busy"), T("entry_ask_name")]
    assert o.state is not None and o.state.step == steps.NAME


def test_unsupported_input_and_wrong_choices_are_answered() -> None:
    engine = dialogue()
    o = say(engine, at(engine, steps.SOURCE), unsupported=True)
    assert [r.text for r in o.replies] == [T("unsupported_input"), T("entry_ask_source")]
    o = say(engine, o, text="merpati pos")
    assert last(o).text.startswith("Silakan pilih salah satu: 1. Datang langsung/loket")
    o = say(engine, o, action="src99")  # a button of a list that has changed since
    assert last(o).text.startswith("Silakan pilih salah satu")
    assert o.state is not None and o.state.step == steps.SOURCE


def test_the_sources_are_the_agency_files() -> None:
    office = replace(TELEGRAM_ONLY, intake_sources=("Loket", "LAKSA", "Lapor Gubernur"))
    engine = dialogue(office)
    o = say(engine, engine.begin(), text="3")
    assert o.state is not None and o.state.data["source"] == "Lapor Gubernur"
    o = say(engine, o, action="today")
    assert last(o).text == T("entry_ask_lapor")  # a LAPOR source by its name


def test_entry_steps_are_never_a_citizens() -> None:
    assert not is_entry(DialogueState("description", {}))
    assert not is_entry(None)
    assert all(step.startswith("catat:") for step in (*steps.STEPS, steps.CONFIRM, steps.EDIT))


# ---------------------------------------------------------------------- the case it makes
OFFICER = Actor("staff", "7001", "Budi Petugas", "7001")
OFFICER_CHAT = Recipient(Channel.TELEGRAM, "7001")


def an_entry(**changes: object) -> Entry:
    base = Entry(
        source="Datang langsung/loket",
        received_on=TODAY,
        lapor_number=None,
        description=DESCRIPTION,
        location_text="Puskesmas Sukamaju",
        location=None,
        occurred_text=None,
        attachments=(Attachment(AttachmentKind.PHOTO, "scan", Channel.TELEGRAM),),
        privacy=Privacy.NORMAL,
        name="Pak Darto",
        phone="081234567890",
        whatsapp=None,
        whatsapp_news=False,
        email="darto@contoh.id",
        address="Jl. Kenanga 5",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_enter_makes_a_case_the_officer_does_not_report() -> None:
    world = OfficeWorld(TELEGRAM_ONLY)
    case = await world.desk().enter(an_entry(), OFFICER, OFFICER_CHAT)

    stored = await world.uow.cases.get_by_code(case.code)
    assert stored is not None and stored.status is CaseStatus.NEW
    assert stored.intake is not None and stored.staff_entered
    assert (stored.intake.source, stored.intake.received_on) == ("Datang langsung/loket", TODAY)
    assert (stored.intake.entered_by_id, stored.intake.entered_by_name) == ("7001", "Budi Petugas")
    assert (stored.contacts.email, stored.contacts.address) == ("darto@contoh.id", "Jl. Kenanga 5")
    assert (stored.reporter_name, stored.reporter_contact) == ("Pak Darto", "081234567890")
    reporter = await world.uow.reporters.get(stored.reporter_id)
    assert reporter is not None
    assert (reporter.channel, reporter.address) == (Channel.MANUAL, case.code)
    assert stored.channel is Channel.MANUAL
    assert await world.uow.reporters.find(Channel.TELEGRAM, "7001") is None

    assert stored.id is not None
    [event] = await world.uow.cases.events(stored.id)
    assert event.kind is EventKind.SUBMITTED and event.actor == OFFICER
    assert event.note == T(
        "entry_event_note", source="Datang langsung/loket", received="02-03-2026"
    )

    inform, relay = world.uow.outbox.to(OFFICERS)  # the relay goes first: it is urgent
    assert relay.purpose == CASE_MESSAGE and relay.urgent and relay.buttons
    assert "📝 Dicatat oleh Budi Petugas · Sumber: Datang langsung/loket" in relay.text
    assert "Diterima: 02-03-2026" in relay.text and "SP4N-LAPOR!" not in relay.text
    assert [a.ref for a in relay.attachments] == ["scan"]
    # The reporter is in no chat: the acknowledgement is the entering officer's to pass on.
    assert world.uow.outbox.to(Recipient(Channel.MANUAL, case.code)) == []
    assert f"Kabari pelapor {case.code} (dicatat oleh Budi Petugas)" in inform.text
    assert T("acknowledgement", code=case.code)[:40] in inform.text
    [task] = await world.uow.tasks.open_of_case(stored.id)
    assert task.kind is TaskKind.INFORM and task.text == T("acknowledgement", code=case.code)
    [done] = world.to(OFFICER_CHAT)
    assert done == T("entry_done", code=case.code, reporter_line=T("entry_done_manual"))


async def test_enter_from_lapor_keeps_its_number() -> None:
    world = OfficeWorld(TELEGRAM_ONLY)
    entry = an_entry(source="SP4N-LAPOR!", lapor_number="4123456")
    case = await world.desk().enter(entry, OFFICER, OFFICER_CHAT)
    assert case.lapor_number == "4123456"
    _inform, relay = world.uow.outbox.to(OFFICERS)
    assert "Nomor SP4N-LAPOR!: 4123456" in relay.text
    # a number never belongs to a case from elsewhere
    other = await world.desk().enter(an_entry(lapor_number="999"), OFFICER, OFFICER_CHAT)
    assert other.lapor_number is None


async def test_a_lapor_number_already_on_a_case_is_not_taken_twice() -> None:
    """The same LAPOR complaint entered again is kept, without the number, and the
    officer is shown the case that has it and the /gabung to join them."""
    world = OfficeWorld(TELEGRAM_ONLY)
    entry = an_entry(source="SP4N-LAPOR!", lapor_number="4123456")
    first = await world.desk().enter(entry, OFFICER, OFFICER_CHAT)
    again = await world.desk().enter(entry, OFFICER, OFFICER_CHAT)
    assert (first.lapor_number, again.lapor_number) == ("4123456", None)
    stored = await world.uow.cases.get_by_code(again.code)
    assert stored is not None and stored.lapor_number is None
    said = world.to(OFFICER_CHAT)[-1]
    assert f"sudah tercatat pada kasus {first.code}" in said
    assert f"/gabung {again.code} {first.code}" in said


async def test_a_reporter_who_agreed_is_the_whatsapp_reporter_of_the_number() -> None:
    world = OfficeWorld(WITH_WHATSAPP)
    number = "+6281234567890"
    entry = an_entry(whatsapp=number, whatsapp_news=True)
    case = await world.desk().enter(entry, OFFICER, OFFICER_CHAT)

    reporter = await world.uow.reporters.find(Channel.WHATSAPP, number)
    assert reporter is not None and case.reporter_id == reporter.id
    assert case.channel is Channel.WHATSAPP and case.contacts.whatsapp == number
    [ack] = world.uow.outbox.to(Recipient(Channel.WHATSAPP, number))
    assert ack.template == "acknowledgement" and ack.params == (("code", case.code),)
    assert ack.text.startswith(T("acknowledgement", code=case.code)[:40])
    line = T("entry_done_whatsapp", number=number)
    assert world.to(OFFICER_CHAT) == [T("entry_done", code=case.code, reporter_line=line)]


async def test_whatsapp_news_needs_whatsapp_on() -> None:
    world = OfficeWorld(TELEGRAM_ONLY)
    entry = an_entry(whatsapp="+6281234567890", whatsapp_news=True)
    case = await world.desk().enter(entry, OFFICER, OFFICER_CHAT)
    assert case.channel is Channel.MANUAL and case.contacts.whatsapp == "+6281234567890"


async def test_entries_count_against_no_reporters_daily_limit() -> None:
    world = OfficeWorld(WITH_WHATSAPP)
    number = "+6281234567890"
    for _ in range(world.office.limits.cases_per_day + 1):
        await world.desk().enter(
            an_entry(whatsapp=number, whatsapp_news=True), OFFICER, OFFICER_CHAT
        )
    reporter = await world.uow.reporters.find(Channel.WHATSAPP, number)
    assert reporter is not None and reporter.id is not None
    midnight = world.clock.now() - timedelta(hours=12)
    assert await world.uow.cases.count_filed_since(reporter.id, midnight) == 0


async def test_manual_reporters_are_one_per_case() -> None:
    world = OfficeWorld(TELEGRAM_ONLY)
    first = await world.desk().enter(an_entry(), OFFICER, OFFICER_CHAT)
    second = await world.desk().enter(an_entry(), OFFICER, OFFICER_CHAT)
    assert first.reporter_id != second.reporter_id


async def test_a_staff_chat_reads_staff_text() -> None:
    world = OfficeWorld(TELEGRAM_ONLY)
    desk = world.desk()
    desk.staff_chats.add(OFFICER_CHAT)
    await desk.tell(OFFICER_CHAT, "txt.\u202eexe")
    await desk.tell(Recipient(Channel.TELEGRAM, "5001"), "txt.\u202eexe")
    assert world.to(OFFICER_CHAT) == ["txt.exe"]
    assert world.to(Recipient(Channel.TELEGRAM, "5001")) == ["txt.\u202eexe"]
