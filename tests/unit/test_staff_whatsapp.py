"""Staff on WhatsApp (issue 22) on the in-memory fakes: the agency file's staff numbers,
the copies of a role's messages for its numbers, and a staff number's words, numbered
choices and replies acting in its role's chat."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.agency import parse_office, require_whatsapp_for_staff, whatsapp_number
from bot.core import mirror
from bot.core.dialogue import Rejected
from bot.core.model import Button, Channel, OutgoingMessage, Recipient
from bot.core.office import WHATSAPP_ONLY, Unit, has_telegram_chat
from bot.core.patrol import patrol
from bot.core.reception import rejection_text
from bot.settings import ConfigError
from handlers import staff_whatsapp
from tests.unit.sample import OFFICERS, OfficeWorld, T, sample_office
from tests.unit.test_cases import submission

WIB = ZoneInfo("Asia/Jakarta")
BUDI, ANI, RINA, KADIS = "+6281100000001", "+6281100000002", "+6281100000010", "+6281100000009"
BASE: dict[str, Any] = {
    "agency": {"name": "Dinas Contoh", "timezone": "Asia/Jakarta"},
    "groups": {"officers_chat_id": -100},
    "units": [{"code": "YANKES", "name": "Bidang Pelayanan", "chat_id": -200}],
}


def office_with(groups: dict[str, Any], unit: dict[str, Any] | None = None) -> Any:
    units = [{"code": "YANKES", "name": "Bidang Pelayanan", **(unit or {"chat_id": -200})}]
    return parse_office({**BASE, "groups": groups, "units": units})


# ---------------------------------------------------------------------- the agency file
def test_staff_numbers_are_read_role_by_role() -> None:
    office = office_with(
        {"officers_chat_id": -100, "officers_whatsapp": ["0811 0000 0001", "+6281100000002"]},
        {"chat_id": -200, "whatsapp": ["6281100000010"]},
    )
    assert office.officers_whatsapp == (BUDI, ANI)  # 08… and 62… become +62…
    assert office.units[0].whatsapp == (RINA,)
    assert office.whatsapp_of("-100") == (BUDI, ANI)
    assert office.whatsapp_of("-200") == (RINA,)
    assert office.role_of_number(RINA) == "-200" and office.role_of_number("+628123") is None
    assert office.staff_on_whatsapp
    assert not parse_office(BASE).staff_on_whatsapp


def test_a_role_may_be_on_whatsapp_only() -> None:
    office = office_with(
        {"officers_whatsapp": [BUDI], "supervisor_whatsapp": [KADIS]}, {"whatsapp": [RINA]}
    )
    assert office.officers_chat_id == f"{WHATSAPP_ONLY}officers"
    assert office.supervisor_chat_id == f"{WHATSAPP_ONLY}supervisor"
    assert office.units[0].chat_id == f"{WHATSAPP_ONLY}unit:YANKES"
    assert not has_telegram_chat(office.officers_chat_id) and has_telegram_chat("-100")
    assert office.role_of_number(KADIS) == office.supervisor_chat_id


@pytest.mark.parametrize(
    ("groups", "unit", "message"),
    [
        ({}, None, "officers_chat_id must be a Telegram chat id"),
        ({"officers_chat_id": -100, "officers_whatsapp": "0811"}, None, "must be a list"),
        ({"officers_chat_id": -100, "officers_whatsapp": ["12345"]}, None, "not a WhatsApp"),
        (
            {"officers_chat_id": -100, "officers_whatsapp": [BUDI]},
            {"chat_id": -200, "whatsapp": ["081100000001"]},
            "already listed in agency file [groups] officers_whatsapp",
        ),
        ({"officers_chat_id": -100}, {"name": "x"}, "chat_id must be a Telegram chat id"),
    ],
)
def test_bad_staff_numbers_are_refused(
    groups: dict[str, Any], unit: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        office_with(groups, unit)


def test_staff_numbers_need_whatsapp_on() -> None:
    office = office_with({"officers_chat_id": -100, "officers_whatsapp": [BUDI]})
    with pytest.raises(ConfigError, match="WhatsApp is off: set TWILIO_ACCOUNT_SID"):
        require_whatsapp_for_staff(office, whatsapp_enabled=False)
    require_whatsapp_for_staff(office, whatsapp_enabled=True)
    require_whatsapp_for_staff(parse_office(BASE), whatsapp_enabled=False)


def test_whatsapp_numbers() -> None:
    assert whatsapp_number("0812-3456-7890") == "+6281234567890"
    assert whatsapp_number("+44 20 7946 0958") == "+442079460958"
    assert whatsapp_number("abc") is None and whatsapp_number("+0123456789") is None


# ---------------------------------------------------------------------- the copies
STAFFED = dataclasses.replace(
    sample_office(Unit("YANKES", "Bidang Pelayanan Kesehatan", "-2001", (RINA,))),
    officers_whatsapp=(BUDI, ANI),
)


def test_a_roles_message_is_copied_to_its_numbers() -> None:
    message = OutgoingMessage(
        recipient=OFFICERS,
        text="📥 Pengaduan baru ADU-AAAAAA",
        buttons=((Button("➡️ YANKES", "d:ADU-AAAAAA:YANKES"),),),
        case_code="ADU-AAAAAA",
        template=mirror.STAFF_NEW_CASE,
        copyable=("/disposisi ADU-AAAAAA ",),
    )
    group, budi, ani = mirror.copies(STAFFED, message)
    assert group is message
    assert [budi.recipient, ani.recipient] == [
        Recipient(Channel.WHATSAPP, BUDI),
        Recipient(Channel.WHATSAPP, ANI),
    ]
    assert budi.buttons == message.buttons and budi.text == message.text
    assert budi.template == mirror.STAFF_NEW_CASE and budi.copyable == ()
    assert dict(budi.params) == {"code": "ADU-AAAAAA", "text": message.text}
    # anything else is a staff_update; edits of buttons and taps' notices stay on Telegram
    [_, update, _] = mirror.copies(STAFFED, dataclasses.replace(message, template=None))
    assert update.template == mirror.STAFF_UPDATE
    for own in (
        dataclasses.replace(message, edits_buttons=True),
        dataclasses.replace(message, text="", answers_tap="tap-1"),
        dataclasses.replace(message, purpose=mirror.NOT_MIRRORED),
    ):
        assert mirror.copies(STAFFED, own) == [own]
    # a unit's group; nobody else's
    unit = dataclasses.replace(message, recipient=Recipient(Channel.TELEGRAM, "-2001"))
    assert [m.recipient.address for m in mirror.copies(STAFFED, unit)] == ["-2001", RINA]
    reporter = dataclasses.replace(message, recipient=Recipient(Channel.WHATSAPP, "+628123"))
    assert mirror.copies(STAFFED, reporter) == [reporter]


def test_a_whatsapp_only_role_gets_only_the_copies() -> None:
    office = dataclasses.replace(STAFFED, officers_chat_id=f"{WHATSAPP_ONLY}officers")
    message = OutgoingMessage(
        recipient=Recipient(Channel.TELEGRAM, office.officers_chat_id), text="hai"
    )
    assert [m.recipient.address for m in mirror.copies(office, message)] == [BUDI, ANI]


async def test_an_undelivered_message_is_reported_once_a_day_per_number() -> None:
    world = OfficeWorld(STAFFED)
    now = datetime(2026, 3, 2, 10, 0, tzinfo=WIB)
    budi = Recipient(Channel.WHATSAPP, BUDI)
    assert await mirror.report_failure(world.uow, STAFFED, T, budi, "63016", now)
    assert await mirror.report_failure(world.uow, STAFFED, T, budi, "63016", now)
    [notice] = world.uow.outbox.to(OFFICERS)
    assert notice.text == T(
        "staff_delivery_failed", role="petugas pengaduan", number=BUDI, error="63016"
    )
    assert notice.purpose == mirror.NOT_MIRRORED
    rina = Recipient(Channel.WHATSAPP, RINA)
    assert await mirror.report_failure(world.uow, STAFFED, T, rina, "x", now)
    assert "staf unit YANKES" in world.uow.outbox.to(OFFICERS)[-1].text
    tomorrow = now.replace(day=3)
    assert await mirror.report_failure(world.uow, STAFFED, T, budi, "63016", tomorrow)
    assert len(world.uow.outbox.to(OFFICERS)) == 3
    citizen = Recipient(Channel.WHATSAPP, "+628123456789")
    assert not await mirror.report_failure(world.uow, STAFFED, T, citizen, "x", now)


# ---------------------------------------------------------------------- a staff number
def form(number: str, body: str, **extra: str) -> dict[str, str]:
    return {"From": f"whatsapp:{number}", "Body": body, "ProfileName": "Budi", **extra}


async def test_words_and_choices_act_in_the_roles_chat() -> None:
    world = OfficeWorld(STAFFED)
    reporter = await world.uow.reporters.get_or_create(Channel.WHATSAPP, "+628123456789", "S")
    case = await world.desk().submit(reporter, submission())
    budi = Recipient(Channel.WHATSAPP, BUDI)
    [relay] = [m for m in world.uow.outbox.to(budi) if m.buttons]
    world.uow.outbox.remember_sent(budi, "SM1", case.id, relay.purpose)
    # a bare number picks from the only message with choices
    assert await staff_whatsapp.on_message(world.desk(), form(BUDI, "1"), ()) is None
    stored = await world.uow.cases.get_by_code(case.code)
    assert stored is not None and stored.unit_code == "YANKES"
    # out of range, then with no choices left but that one (a reply names the message)
    world.clear()
    await staff_whatsapp.on_message(
        world.desk(), form(BUDI, "9", OriginalRepliedMessageSid="SM1"), ()
    )
    assert world.to(budi) == [T("err_choice_range", count=3)]
    # words with or without "/"
    world.clear()
    await staff_whatsapp.on_message(world.desk(), form(BUDI, f"kasus {case.code}"), ())
    assert world.to(budi)[0].startswith(f"Kasus {case.code}")
    world.clear()
    await staff_whatsapp.on_message(world.desk(), form(BUDI, "/antrian"), ())
    assert world.to(budi)[0].startswith("Kasus terbuka (1)")
    # chatter is answered with what to do
    world.clear()
    await staff_whatsapp.on_message(world.desk(), form(BUDI, "selamat pagi"), ())
    assert world.to(budi) == [T("staff_whatsapp_hint")]
    # the unit's number cannot dispose
    world.clear()
    await staff_whatsapp.on_message(world.desk(), form(RINA, f"disposisi {case.code} YANKES"), ())
    assert world.to(Recipient(Channel.WHATSAPP, RINA)) == [T("err_officers_only", chat_id="-2001")]


async def test_a_citizens_number_and_the_citizens_words_go_to_the_citizens_handler() -> None:
    world = OfficeWorld(STAFFED)
    citizen = form("+628123456789", "halo")
    assert await staff_whatsapp.on_message(world.desk(), citizen, ()) is citizen
    started = await staff_whatsapp.on_message(world.desk(), form(BUDI, "lapor"), ())
    assert started is not None and started["Body"] == staff_whatsapp.START_WORD
    status = form(BUDI, "status")
    assert await staff_whatsapp.on_message(world.desk(), status, ()) is status
    # "lapor KODE" stays the officers' command
    assert await staff_whatsapp.on_message(world.desk(), form(BUDI, "lapor ADU-X"), ()) is None
    assert world.sent and world.sent[-1].recipient == Recipient(Channel.WHATSAPP, BUDI)


def test_commands_are_words() -> None:
    command = staff_whatsapp.command_of("Disposisi ADU-AAAAAA YANKES cek stok")
    assert command is not None and command.args == "ADU-AAAAAA YANKES cek stok"
    assert staff_whatsapp.command_of("selamat pagi") is None
    slashed = staff_whatsapp.command_of("/antrian")
    assert slashed is not None and slashed.name == "antrian"


async def test_a_listed_number_is_an_officer_whatever_officer_ids_say() -> None:
    office = dataclasses.replace(STAFFED, officer_ids=frozenset({"7001"}))
    world = OfficeWorld(office)
    reporter = await world.uow.reporters.get_or_create(Channel.WHATSAPP, "+628123456789", "S")
    case = await world.desk().submit(reporter, submission())
    await staff_whatsapp.on_message(world.desk(), form(ANI, f"disposisi {case.code} YANKES"), ())
    stored = await world.uow.cases.get_by_code(case.code)
    assert stored is not None and stored.unit_code == "YANKES"


async def test_a_staff_members_answer_to_their_own_complaints_choice_is_a_citizens() -> None:
    world = OfficeWorld(STAFFED)
    budi = Recipient(Channel.WHATSAPP, BUDI)
    rating = OutgoingMessage(
        recipient=budi, text="Seberapa puas…", buttons=((Button("5", "r:ADU-AAAAAA:5"),),)
    )
    await world.uow.outbox.enqueue(rating)
    five = form(BUDI, "1")
    assert await staff_whatsapp.on_message(world.desk(), five, ()) is five


async def test_the_digest_and_the_reminders_reach_the_numbers_as_their_templates() -> None:
    office = dataclasses.replace(
        STAFFED, deadlines=dataclasses.replace(STAFFED.deadlines, digest_at=time(8, 0))
    )
    world = OfficeWorld(office)
    reporter = await world.uow.reporters.get_or_create(Channel.WHATSAPP, "+628123456789", "S")
    case = await world.desk().submit(reporter, submission())
    world.clear()
    # the next working day at 10:00: the digest, and the overdue case's reminder
    await patrol(world.uow, office, T, datetime(2026, 3, 3, 10, 0, tzinfo=WIB))
    budi = world.uow.outbox.to(Recipient(Channel.WHATSAPP, BUDI))
    templates = {m.template for m in budi}
    assert {mirror.STAFF_DIGEST, mirror.STAFF_REMINDER} <= templates
    digest = next(m for m in budi if m.template == mirror.STAFF_DIGEST)
    assert digest.text.startswith("📋 Ringkasan harian") and dict(digest.params)["text"]
    reminder = next(m for m in budi if m.template == mirror.STAFF_REMINDER)
    assert case.code in reminder.text


async def test_a_file_the_agency_refuses_is_said_to_the_staff_member() -> None:
    world = OfficeWorld(STAFFED)
    refused = Rejected(1, "media_type_not_allowed", "skrip.exe", "exe", None)
    assert await staff_whatsapp.on_message(world.desk(), form(RINA, ""), (), (refused,)) is None
    [told] = world.to(Recipient(Channel.WHATSAPP, RINA))
    assert told == rejection_text(T, STAFFED, refused)
