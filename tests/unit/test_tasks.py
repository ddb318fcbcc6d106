"""Tasks on the in-memory fakes: informing a reporter who is in no chat (SOP 002 step 8)
and the liaison's SP4N-LAPOR! entry and watch (SOP 003 steps 3–5), with their
deadlines and nudges in working days.

Idul Fitri 2026 closes the office from Wednesday 18 to Tuesday 24 March (Nyepi, Idul
Fitri and their cuti bersama); the expected dates are counted by hand from that calendar.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.agency import parse_office
from bot.core import deadlines, tasks
from bot.core.cases import Refusal
from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    ContactDetails,
    EventKind,
    Intake,
    OutgoingMessage,
    Recipient,
    Task,
    TaskKind,
)
from bot.core.office import Deadlines, LaporOptions, Office
from bot.core.patrol import Round, patrol
from bot.core.permissions import ALLOWED, Action, Audience, audience_of, refusal_for
from bot.settings import ConfigError
from handlers import officers
from handlers.staff import StaffMessage
from tests.fakes import FakeOutbox
from tests.unit.sample import (
    DESCRIPTION,
    OFFICERS,
    P2P,
    YANKES,
    YANKES_CHAT,
    OfficeWorld,
    T,
    sample_office,
)
from tests.unit.test_cases import OFFICER, YANKES_STAFF, submission

WIB = ZoneInfo("Asia/Jakarta")
LIAISON = Recipient(Channel.TELEGRAM, "-4001")
SUPERVISOR = Recipient(Channel.TELEGRAM, "-3001")
OFFICE = dataclasses.replace(
    sample_office(YANKES, P2P),
    supervisor_chat_id=SUPERVISOR.address,
    deadlines=Deadlines(digest_at=None),
)
LAPOR_OFFICE = dataclasses.replace(
    OFFICE, lapor=LaporOptions(enter_all=True, liaison_chat_id=LIAISON.address)
)
CALLER = Recipient(Channel.MANUAL, "manual:1")
ENTERED_BY = Intake(
    source="Telepon",
    received_on=date(2026, 3, 17),
    entered_by_id="501",
    entered_by_name="Budi Santoso",
)
CONTACTS = ContactDetails(email="joko@contoh.id", address="Jl. Kenanga 7, Sukamaju")
CALLER_PHONE = "081298765432"
LIAISON_STAFF = Actor("staff", "901", "Wulan", LIAISON.address)


def wib(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


class World(OfficeWorld):
    def __init__(self, office: Office = OFFICE) -> None:
        super().__init__(office)
        self.clock.set(wib(3, 17, 10))  # Tuesday, the last working day before Idul Fitri

    async def by_phone(self, **fields: object) -> Case:
        """A complaint taken by phone and entered by an officer (as /catat stores one),
        acknowledged to the caller: the reporter is in no chat."""
        reporter = await self.uow.reporters.get_or_create(Channel.MANUAL, "manual:1", None)
        assert reporter.id is not None
        values: dict[str, object] = {
            "code": "ADU-TLP001",
            "reporter_name": "Joko Widodo",
            "reporter_contact": CALLER_PHONE,
            "intake": ENTERED_BY,
            "contacts": CONTACTS,
            **fields,
        }
        case = Case(
            reporter_id=reporter.id,
            channel=Channel.MANUAL,
            description=DESCRIPTION,
            created_at=self.clock.now(),
            updated_at=self.clock.now(),
            **values,  # type: ignore[arg-type]
        )
        deadlines.follow(self.office, case, EventKind.SUBMITTED, self.clock.now())
        await self.uow.cases.add(case)
        assert case.id is not None
        actor = Actor("staff", "501", "Budi Santoso")
        await self.uow.cases.add_event(
            case.id,
            CaseEvent(EventKind.SUBMITTED, self.clock.now(), actor, status_after=case.status),
        )
        await self.desk().tell_reporter(reporter, "acknowledgement", case, code=case.code)
        return case

    async def from_chat(self) -> Case:
        """A complaint a citizen sent through the Telegram chat (outside LAPOR)."""
        reporter = await self.uow.reporters.get_or_create(Channel.TELEGRAM, "5001", "Siti")
        return await self.desk().submit(reporter, submission())

    async def case(self, code: str) -> Case:
        found = await self.uow.cases.get_by_code(code)
        assert found is not None
        return found

    async def tasks_of(self, case: Case, kind: TaskKind | None = None) -> list[Task]:
        assert case.id is not None
        return await self.uow.tasks.of_case(case.id, kind)

    async def events(self, case: Case) -> list[CaseEvent]:
        assert case.id is not None
        return await self.uow.cases.events(case.id)

    async def at(self, moment: datetime) -> Round:
        self.clock.set(moment)
        return await patrol(self.uow, self.office, T, moment)

    def messages(self, recipient: Recipient) -> list[OutgoingMessage]:
        return self.uow.outbox.to(recipient)


def officer_in(chat: Recipient, user_id: str = "501", name: str = "Budi Santoso") -> StaffMessage:
    return StaffMessage(chat_id=chat.address, user_id=user_id, user_name=name, text="")


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def lapor_world() -> World:
    return World(LAPOR_OFFICE)


# ---------------------------------------------------------------------- informing by hand
async def test_what_a_caller_should_hear_becomes_a_task_in_the_officers_group(
    world: World,
) -> None:
    case = await world.by_phone()
    assert all(m.recipient.channel is not Channel.MANUAL for m in world.sent)
    [task] = await world.tasks_of(case)
    assert task.kind is TaskKind.INFORM and task.done_at is None
    assert task.text == T("acknowledgement", code=case.code)
    # 1 working day from Tuesday 17 March 10:00, the holiday week not counted
    assert task.due_at == task.next_at == wib(3, 25, 10).astimezone(UTC)

    [kabari] = world.messages(OFFICERS)
    assert kabari.text.startswith(
        "📞 Kabari pelapor ADU-TLP001 (dicatat oleh Budi Santoso), paling lambat 25-03-2026 10:00"
    )
    for line in (
        "Pelapor: Joko Widodo",
        f"Telepon: {CALLER_PHONE}",
        "Email: joko@contoh.id",
        "Alamat: Jl. Kenanga 7, Sukamaju",
        "Yang perlu disampaikan kepada pelapor:\nBaik, informasi pengaduan",
        "Kode pelacakan: ADU-TLP001",
    ):
        assert line in kabari.text, line
    assert "WhatsApp:" not in kabari.text  # no such contact: no such line
    assert kabari.text.endswith("\n/dikabari ADU-TLP001 cara")
    assert kabari.copyable == ("/dikabari ADU-TLP001 ",)
    assert kabari.case_id == case.id


async def test_each_step_the_caller_should_hear_of_is_one_more_task(world: World) -> None:
    case = await world.by_phone()
    world.clear()
    await world.desk().dispose(case.code, "YANKES", "Cek stok obat", OFFICER)
    kabari = [m.text for m in world.messages(OFFICERS) if m.text.startswith("📞")]
    assert len(kabari) == 1
    assert T("reporter_disposed", code=case.code, unit=YANKES.name) in kabari[0]
    assert "Masih ada 1 kabar sebelumnya yang belum disampaikan" in kabari[0]
    assert [t.text for t in await world.tasks_of(case)] == [
        T("acknowledgement", code=case.code),
        T("reporter_disposed", code=case.code, unit=YANKES.name),
    ]


async def test_a_manual_case_is_never_asked_for_a_rating(world: World) -> None:
    case = await world.by_phone()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    await world.desk().answer(case.code, YANKES, "Obat sudah tersedia.", (), YANKES_STAFF)
    world.clear()
    await world.desk().close(case.code, "Sudah dicek", OFFICER)
    stored = await world.case(case.code)
    assert stored.status is CaseStatus.CLOSED and stored.rating_requested is False
    texts = [t.text or "" for t in await world.tasks_of(case)]
    assert texts[-1] == T(
        "reporter_closed", code=case.code, note_line=T("reporter_closed_note", note="Sudah dicek")
    )
    assert not any("Seberapa puas" in text for text in texts)
    assert not any(m.buttons for m in world.sent if "Seberapa puas" in m.text)


async def test_an_answer_with_files_points_the_officer_to_them(world: World) -> None:
    case = await world.by_phone()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    world.clear()
    photo = Attachment(AttachmentKind.PHOTO, "file-1", Channel.TELEGRAM)
    await world.desk().answer(
        case.code, YANKES, "Foto stok terlampir.", (photo,), YANKES_STAFF, "alb"
    )
    await world.desk().answer(
        case.code, YANKES, "", (photo,), YANKES_STAFF, "alb"
    )  # the album's rest
    officers_heard = world.messages(OFFICERS)
    kabari = [m.text for m in officers_heard if m.text.startswith("📞")]
    assert len(kabari) == 1  # the album's second item has no words for the reporter
    assert "Foto stok terlampir." in kabari[0]
    assert "Beserta lampiran dari unit: lihat jawaban ADU-TLP001 di grup ini." in kabari[0]
    assert any(m.attachments for m in officers_heard)  # the files went to the group
    answered = T(
        "officers_answered_by_hand", code=case.code, unit="YANKES", answer="Foto stok terlampir."
    )
    assert answered in [m.text for m in officers_heard]
    assert "pelapor tidak memakai chat" in answered
    assert world.to(YANKES_CHAT) == [T("unit_answer_by_hand", code=case.code)]


async def test_every_step_of_a_manual_case_reaches_no_chat_of_the_reporter(world: World) -> None:
    """The fake outbox refuses a MANUAL recipient as the database's does: walking a
    case through every step that tells the reporter proves the desk never tries."""
    case = await world.by_phone()
    await world.desk().dispose(case.code, "P2P", None, OFFICER)
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    await world.desk().answer(case.code, YANKES, "Sudah ditangani.", (), YANKES_STAFF)
    await world.desk().request_info(case.code, "Di puskesmas mana?", OFFICER)
    world.clock.advance(timedelta(days=1))
    stored = await world.case(case.code)
    assert stored.watch is not None
    await world.desk().remind(stored)
    await world.desk().refuse(case.code, "Bukan kewenangan kami", OFFICER)
    assert all(m.recipient.channel is not Channel.MANUAL for m in world.sent)
    assert len(await world.tasks_of(case)) == 7
    with pytest.raises(ValueError, match="no chat reaches manual:manual:1"):
        await FakeOutbox().enqueue(OutgoingMessage(CALLER, "Halo"))


async def test_news_of_a_main_case_for_a_merged_callers_goes_on_the_callers_case(
    world: World,
) -> None:
    duplicate = await world.by_phone()
    main = await world.from_chat()
    world.clear()
    caller = await world.uow.reporters.find(Channel.MANUAL, "manual:1")
    assert caller is not None
    await world.desk().tell_reporter(caller, "reporter_disposed", main, code=main.code, unit="X")
    [kabari] = world.messages(OFFICERS)
    assert kabari.text.startswith(f"📞 Kabari pelapor {duplicate.code} ")
    assert "Pelapor: Joko Widodo" in kabari.text
    assert len(await world.tasks_of(duplicate)) == 2 and await world.tasks_of(main) == []


async def test_dikabari_records_every_waiting_news_as_told(world: World) -> None:
    case = await world.by_phone()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    world.clock.advance(timedelta(hours=2))
    world.clear()
    await officers.on_command(
        world.desk(), officer_in(OFFICERS), Action.INFORMED, f"{case.code.lower()} telepon ke 0812…"
    )
    done = await world.tasks_of(case)
    assert [(t.done_at, t.done_by, t.done_note, t.next_at) for t in done] == [
        (world.clock.now(), "Budi Santoso", "telepon ke 0812…", None)
    ] * 2
    last = (await world.events(case))[-1]
    assert (last.kind, last.note, last.actor.name) == (
        EventKind.INFORMED,
        "telepon ke 0812…",
        "Budi Santoso",
    )
    assert [m.text for m in world.messages(OFFICERS)] == [
        "✅ Pelapor ADU-TLP001 sudah dikabari oleh Budi Santoso, lewat telepon ke 0812… "
        "(2 kabar, tercatat di riwayat)."
    ]
    # the same command again: nothing waits any more
    with pytest.raises(Refusal) as again:
        await world.desk().informed(case.code, "telepon", OFFICER, OFFICERS)
    assert again.value.key == "informed_nothing_waiting"
    assert [e.kind for e in await world.events(case)].count(EventKind.INFORMED) == 1


async def test_dikabari_without_a_way_and_from_a_private_chat_tells_the_group_too(
    world: World,
) -> None:
    case = await world.by_phone()
    world.clear()
    private = Recipient(Channel.TELEGRAM, "501")
    await world.desk().informed(case.code, "  ", OFFICER, private)
    assert (await world.events(case))[-1].note is None
    told = "✅ Pelapor ADU-TLP001 sudah dikabari oleh Budi Santoso (1 kabar, tercatat di riwayat)."
    assert [m.text for m in world.messages(OFFICERS)] == [told]
    assert [m.text for m in world.messages(private)] == [told]


async def test_dikabari_answers_clearly_when_there_is_nothing_to_do(world: World) -> None:
    chat_case = await world.from_chat()
    with pytest.raises(Refusal) as in_chat:
        await world.desk().informed(chat_case.code, "telepon", OFFICER, OFFICERS)
    assert T(in_chat.value.key, **in_chat.value.params) == (
        f"Pelapor {chat_case.code} menerima kabar langsung dari bot lewat Telegram; "
        "tidak ada yang perlu dikabari petugas."
    )
    with pytest.raises(Refusal) as unknown:
        await world.desk().informed("ADU-NONE00", "telepon", OFFICER, OFFICERS)
    assert unknown.value.key == "err_unknown_case"
    with pytest.raises(Refusal) as usage:
        await officers.on_command(world.desk(), officer_in(OFFICERS), Action.INFORMED, "")
    assert T(usage.value.key, **usage.value.params) == "Cara pakai: /dikabari KODE [cara]"


async def test_a_caller_is_nudged_for_on_the_next_working_day_until_told(world: World) -> None:
    case = await world.by_phone()  # Tuesday 17 March 10:00
    world.clear()
    for quiet in (wib(3, 18, 10), wib(3, 23, 10), wib(3, 25, 9, 59), wib(3, 25, 20)):
        assert not (await world.at(quiet)).acted, quiet
    assert world.sent == []
    done = await world.at(wib(3, 26, 8))  # Thursday's first working hour: 1 day overdue
    assert done.tasks == {OFFICERS.address: [case.code]}
    assert done.nudged == {OFFICERS.address: [case.code]}  # and its verification
    [nudge] = world.messages(OFFICERS)  # both in one message
    overdue, reminder = nudge.text.split("\n\n")
    assert overdue.startswith("⏰ Pengingat tenggat: 1 kasus melewati batas waktu.")
    assert reminder == "\n".join(
        [
            "📌 Pengingat tugas (1):",
            f"• {case.code} — kabari pelapor Joko Widodo ({CALLER_PHONE}): 1 kabar, "
            "sudah 1 hari kerja (batas 1 hari kerja)",
            "Setelah pelapor dikabari: /dikabari KODE cara. Kontak pelapor: /kasus KODE.",
        ]
    )
    world.clear()
    assert not (await world.at(wib(3, 26, 15))).tasks  # once per round, then a day later
    assert (await world.at(wib(3, 27, 8))).tasks == {OFFICERS.address: [case.code]}
    [task] = await world.tasks_of(case)
    assert task.nudges == 2 and task.nudged_at == wib(3, 27, 8).astimezone(UTC)
    await world.desk().informed(case.code, "telepon", OFFICER, OFFICERS)
    world.clear()
    assert not (await world.at(wib(3, 30, 8))).tasks  # told: no more reminders of it
    assert not any("📌" in m.text for m in world.messages(OFFICERS))


async def test_news_erased_with_its_anonymised_case_is_not_nudged_for(world: World) -> None:
    case = await world.by_phone()
    [task] = await world.tasks_of(case)
    task.text = None  # what the retention round leaves of it
    await world.uow.tasks.update(task)
    world.clear()
    assert not (await world.at(wib(3, 26, 8))).tasks
    [task] = await world.tasks_of(case)
    assert (task.done_by, task.next_at) == ("sistem", None)


async def test_a_callers_reminder_made_by_the_patrol_rides_in_its_one_message(
    world: World,
) -> None:
    case = await world.by_phone()
    await world.desk().request_info(case.code, "Di puskesmas mana?", OFFICER)
    await world.desk().informed(case.code, "telepon", OFFICER, OFFICERS)
    world.clear()
    # 10 working days to complete, the reminder 2 before: Monday 6 April 10:00
    done = await world.at(wib(4, 6, 10))
    assert done.reminded == [case.code] and done.informs == 1
    [message] = world.messages(OFFICERS)  # one message to the group this round
    assert message.text.startswith("📞 Kabari pelapor ADU-TLP001")
    assert "⏰ Pengingat: pengaduan ADU-TLP001 masih menunggu kelengkapan" in message.text
    assert message.copyable == ("/dikabari ADU-TLP001 ",)
    # the case closes as incomplete two working days later, with the group's notice
    world.clear()
    done = await world.at(wib(4, 8, 10))
    assert done.closed == [case.code]
    [message] = world.messages(OFFICERS)
    assert message.text.startswith("🔒")
    assert "📞 Kabari pelapor ADU-TLP001" in message.text
    assert f"Pengaduan {case.code} kami tutup karena kelengkapan" in message.text


# ---------------------------------------------------------------------- the LAPOR number
@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("2026-0012345", "2026-0012345"),
        ("#4123456", "4123456"),
        ("lpr/2026/77", "LPR/2026/77"),
        ("A1B2", "A1B2"),
        ("1" * 32, "1" * 32),
        ("123", None),  # too short
        ("1" * 33, None),  # too long
        ("sudah", None),  # a word, no digit
        ("-1234", None),
        ("1234-", None),
        ("12 34", None),
        ("12_34", None),
        ("12\x0034", None),
        ("١٢٣٤٥", None),  # digits, but not 0-9
        ("", None),
    ],
)
def test_a_lapor_number_is_letters_and_digits_with_dashes_or_slashes(
    typed: str, number: str | None
) -> None:
    assert tasks.lapor_number(typed) == number


async def test_lapor_kode_nomor_records_the_number_in_the_history(world: World) -> None:
    case = await world.from_chat()
    world.clear()
    await officers.on_command(
        world.desk(), officer_in(OFFICERS), Action.LAPOR, f"{case.code} #2026-001"
    )
    stored = await world.case(case.code)
    assert stored.lapor_number == "2026-001"
    last = (await world.events(case))[-1]
    assert (last.kind, last.note) == (EventKind.LAPOR_LINKED, "2026-001")
    assert [m.text for m in world.messages(OFFICERS)] == [
        f"🔗 {case.code} tercatat di SP4N-LAPOR! dengan nomor 2026-001 (oleh Budi Santoso)."
    ]
    assert await world.tasks_of(case) == []  # without enter_all, nothing to watch

    # the same again: nothing changes
    with pytest.raises(Refusal) as same:
        await world.desk().link_lapor(case.code, "2026-001", OFFICER, OFFICERS)
    assert same.value.key == "lapor_number_kept"
    # a correction replaces it, on the record
    world.clear()
    await world.desk().link_lapor(case.code, "2026-002", OFFICER, OFFICERS)
    assert (await world.case(case.code)).lapor_number == "2026-002"
    last = (await world.events(case))[-1]
    assert (last.kind, last.note) == (EventKind.LAPOR_LINKED, "2026-002 (sebelumnya 2026-001)")
    assert "diganti menjadi 2026-002 (sebelumnya 2026-001)" in world.messages(OFFICERS)[0].text


async def test_a_lapor_number_of_another_case_is_refused_naming_it(world: World) -> None:
    first = await world.from_chat()
    second = await world.from_chat()
    await world.desk().link_lapor(first.code, "2026-001", OFFICER, OFFICERS)
    with pytest.raises(Refusal) as taken:
        await world.desk().link_lapor(second.code, "2026-001", OFFICER, OFFICERS)
    assert T(taken.value.key, **taken.value.params) == (
        f"Nomor SP4N-LAPOR! 2026-001 sudah tercatat untuk kasus {first.code}. Periksa kembali "
        f"nomornya. Bila {second.code} laporan ganda dari kasus itu: "
        f"/gabung {second.code} {first.code}"
    )
    assert (await world.case(second.code)).lapor_number is None


async def test_lapor_refuses_what_is_no_number_and_explains(world: World) -> None:
    case = await world.from_chat()
    desk, msg = world.desk(), officer_in(OFFICERS)
    with pytest.raises(Refusal) as bad:
        await officers.on_command(desk, msg, Action.LAPOR, f"{case.code} sudah")
    assert T(bad.value.key, **bad.value.params) == (
        "«sudah» bukan nomor SP4N-LAPOR!: nomornya 4–32 huruf atau angka (boleh dengan - atau /) "
        f"dan memuat angka. Contoh: /lapor {case.code} 2026-0012345"
    )
    huge = "9" * 5000
    with pytest.raises(Refusal) as long:
        await officers.on_command(desk, msg, Action.LAPOR, f"{case.code} {huge}")
    assert len(T(long.value.key, **long.value.params)) < 300
    for args in (
        "",
        f"{case.code} 2026-001 dan lagi",
        f"{case.code} status",
        f"{case.code} STATUS  ",
    ):
        with pytest.raises(Refusal) as usage:
            await officers.on_command(desk, msg, Action.LAPOR, args)
        assert T(usage.value.key, **usage.value.params) == (
            "Cara pakai: /lapor KODE [NOMOR | status teks]"
        ), args
    assert [e.kind for e in await world.events(case)] == [EventKind.SUBMITTED]


async def test_lapor_status_records_what_lapor_says(world: World) -> None:
    case = await world.from_chat()
    msg = officer_in(OFFICERS)
    with pytest.raises(Refusal) as no_number:
        await officers.on_command(world.desk(), msg, Action.LAPOR, f"{case.code} status Diproses")
    assert no_number.value.key == "err_lapor_status_no_number"
    await world.desk().link_lapor(case.code, "2026-001", OFFICER, OFFICERS)
    world.clear()
    status = "Didisposisikan Admin Koordinator ke Dinas Kesehatan\nmenunggu tindak lanjut"
    await officers.on_command(world.desk(), msg, Action.LAPOR, f"{case.code} Status {status}")
    last = (await world.events(case))[-1]
    assert (last.kind, last.note) == (EventKind.LAPOR_STATUS, status)
    assert [m.text for m in world.messages(OFFICERS)] == [
        f"📝 Status SP4N-LAPOR! {case.code} (nomor 2026-001), dicatat oleh Budi Santoso:\n{status}"
    ]
    with pytest.raises(Refusal) as again:
        await world.desk().lapor_status(case.code, status, OFFICER, OFFICERS)
    assert again.value.key == "lapor_status_kept"
    assert "sudah tercatat" in T(again.value.key, **again.value.params)


async def test_the_form_text_is_still_what_lapor_kode_gives(world: World) -> None:
    case = await world.from_chat()
    world.clear()
    await officers.on_command(world.desk(), officer_in(OFFICERS), Action.LAPOR, case.code)
    [form] = world.messages(OFFICERS)
    assert form.text.startswith(f"Form manual SP4N-LAPOR! — {case.code}")


# ---------------------------------------------------------------------- SOP 003: the liaison
async def test_a_verified_case_is_handed_to_the_liaison_once(lapor_world: World) -> None:
    world = lapor_world
    case = await world.from_chat()
    world.clear()
    # SOP 003 step 2–3: verified (its first disposition), handed to the liaison
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    kinds = [e.kind for e in await world.events(case)]
    assert kinds[-2:] == [EventKind.DISPOSED, EventKind.LAPOR_HANDOVER]
    handover = (await world.events(case))[-1]
    assert handover.note == "input ke SP4N-LAPOR! paling lambat 25-03-2026 10:00"
    [task] = await world.tasks_of(case)
    assert task.kind is TaskKind.LAPOR_ENTRY
    assert task.due_at == wib(3, 25, 10).astimezone(UTC)  # liaison_days = 1
    [message] = world.messages(LIAISON)
    assert message.text.startswith(
        f"📤 Untuk dimasukkan ke SP4N-LAPOR! paling lambat 25-03-2026 10:00: pengaduan {case.code}"
    )
    assert f"Form manual SP4N-LAPOR! — {case.code}" in message.text
    assert "Unit penanggung jawab: Bidang Pelayanan Kesehatan (YANKES)" in message.text
    assert message.text.endswith(f"\n/lapor {case.code} NOMOR")
    assert message.copyable == (f"/lapor {case.code} ",)
    assert len(message.attachments) == 2  # the reporter's files, for LAPOR's form
    # moved to another unit: no second handover
    world.clear()
    await world.desk().dispose(case.code, "P2P", None, OFFICER)
    assert world.messages(LIAISON) == []
    assert len(await world.tasks_of(case)) == 1


async def test_no_handover_for_a_case_from_lapor_with_a_number_or_without_enter_all(
    lapor_world: World,
) -> None:
    world = lapor_world
    from_lapor = await world.by_phone(
        intake=dataclasses.replace(ENTERED_BY, source="SP4N-LAPOR!"), code="ADU-LPR001"
    )
    numbered = await world.from_chat()
    await world.desk().link_lapor(numbered.code, "2026-9", OFFICER, OFFICERS)
    for case in (from_lapor, numbered):
        await world.desk().dispose(case.code, "YANKES", None, OFFICER)
        kinds = [e.kind for e in await world.events(case)]
        assert EventKind.LAPOR_HANDOVER not in kinds
        assert await world.tasks_of(case, TaskKind.LAPOR_ENTRY) == []
    assert not any("📤" in m.text for m in world.messages(LIAISON))
    plain = World()
    case = await plain.from_chat()
    await plain.desk().dispose(case.code, "YANKES", None, OFFICER)
    assert await plain.tasks_of(case) == []
    assert EventKind.LAPOR_HANDOVER not in [e.kind for e in await plain.events(case)]


async def test_sop_003_the_liaison_is_nudged_then_watches_lapors_disposition(
    lapor_world: World,
) -> None:
    world = lapor_world
    case = await world.from_chat()  # step 1: received outside LAPOR
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)  # steps 2–3
    world.clear()
    # step 4 due Wednesday 25 March 10:00 (the holiday week not counted)
    for quiet in (wib(3, 18, 10), wib(3, 24, 10), wib(3, 25, 9, 59)):
        assert not (await world.at(quiet)).tasks, quiet
    done = await world.at(wib(3, 25, 10))
    assert done.tasks == {LIAISON.address: [case.code]}
    [nudge] = [m.text for m in world.messages(LIAISON)]
    assert nudge == "\n".join(
        [
            "📌 Pengingat tugas (1):",
            f"• {case.code} — belum dimasukkan ke SP4N-LAPOR!, sudah 1 hari kerja sejak "
            "diserahkan (batas 1 hari kerja)",
            "Teks form manual: /lapor KODE. Setelah masuk SP4N-LAPOR!: /lapor KODE NOMOR.",
        ]
    )
    # step 4: the liaison records the number (Thursday 26 March 11:00)
    world.clear()
    world.clock.set(wib(3, 26, 11))
    await officers.on_command(
        world.desk(), officer_in(LIAISON, "901", "Wulan"), Action.LAPOR, f"{case.code} 2026-0012345"
    )
    [entry, watch] = await world.tasks_of(case)
    assert (entry.kind, entry.done_by, entry.done_note) == (
        TaskKind.LAPOR_ENTRY,
        "Wulan",
        "2026-0012345",
    )
    assert watch.kind is TaskKind.LAPOR_MONITOR and watch.done_at is None
    # 3 working days: Friday 27, Monday 30, Tuesday 31 March
    assert watch.due_at == wib(3, 31, 11).astimezone(UTC)
    told = (
        f"🔗 {case.code} tercatat di SP4N-LAPOR! dengan nomor 2026-0012345 (oleh Wulan).\n"
        "Pejabat penghubung diingatkan memeriksa disposisi Admin Koordinator pada 31-03-2026 11:00."
    )
    assert [m.text for m in world.messages(OFFICERS)] == [told]
    assert [m.text for m in world.messages(LIAISON)] == [told]
    # step 5: reminded to check LAPOR's disposition when the watch is due
    world.clear()
    assert not (await world.at(wib(3, 31, 10, 59))).tasks
    await world.at(wib(3, 31, 11))
    [reminder] = [m.text for m in world.messages(LIAISON)]
    assert (
        f"• {case.code} — nomor SP4N-LAPOR! 2026-0012345: periksa disposisi Admin "
        "Koordinator (3 hari kerja sejak dimasukkan)" in reminder
    )
    assert "Catat yang tertera di SP4N-LAPOR!: /lapor KODE status teks." in reminder
    # recorded: the watch is done, no more reminders
    await world.desk().lapor_status(case.code, "Diteruskan ke Dinkes", LIAISON_STAFF, LIAISON)
    [entry, watch] = await world.tasks_of(case)
    assert (watch.done_by, watch.done_note) == ("Wulan", "Diteruskan ke Dinkes")
    world.clear()
    assert not (await world.at(wib(4, 1, 11))).tasks
    assert world.messages(LIAISON) == []
    kinds = [e.kind for e in await world.events(case)]
    assert [k for k in kinds if k.value in {"ke_penghubung", "nomor_lapor", "status_lapor"}] == [
        EventKind.LAPOR_HANDOVER,
        EventKind.LAPOR_LINKED,
        EventKind.LAPOR_STATUS,
    ]


async def test_a_case_closed_meanwhile_keeps_its_lapor_tasks(lapor_world: World) -> None:
    world = lapor_world
    case = await world.from_chat()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    await world.desk().refuse(
        case.code, "Bukan kewenangan", OFFICER
    )  # SOP 003 step 4: entered anyway
    world.clear()
    assert (await world.at(wib(3, 25, 10))).tasks == {LIAISON.address: [case.code]}


async def test_the_liaisons_listed_by_id_each_hear_in_their_own_chat() -> None:
    office = dataclasses.replace(
        OFFICE, lapor=LaporOptions(enter_all=True, liaison_ids=frozenset({"902", "901"}))
    )
    world = World(office)
    case = await world.from_chat()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    for liaison in ("901", "902"):
        [handover] = world.messages(Recipient(Channel.TELEGRAM, liaison))
        assert handover.text.startswith("📤")
    world.clear()
    done = await world.at(wib(3, 25, 10))
    assert done.tasks == {"901": [case.code], "902": [case.code]}


async def test_the_liaison_in_the_officers_group_gets_one_message_a_round(
    world: World,
) -> None:
    office = dataclasses.replace(
        OFFICE, lapor=LaporOptions(enter_all=True, liaison_chat_id=OFFICERS.address)
    )
    world = World(office)
    caller = await world.by_phone()
    await world.desk().dispose(caller.code, "YANKES", None, OFFICER)  # an INFORM and an ENTRY
    world.clear()
    # the INFORM task (acknowledgement) is due Wednesday 10:00, the disposition's too
    done = await world.at(wib(3, 25, 10))
    assert done.tasks == {OFFICERS.address: [caller.code, caller.code]}
    [message] = world.messages(OFFICERS)
    assert message.text.startswith("📌 Pengingat tugas (2):")
    assert "kabari pelapor Joko Widodo" in message.text
    assert "belum dimasukkan ke SP4N-LAPOR!" in message.text


# ---------------------------------------------------------------------- who may
def test_the_liaisons_own_group_may_use_lapor_kasus_and_help() -> None:
    office = LAPOR_OFFICE
    assert audience_of(office, LIAISON.address, private=False) is Audience.LIAISON
    for action in (Action.LAPOR, Action.SHOW_CASE, Action.HELP):
        assert refusal_for(action, Audience.LIAISON) is None
    for action in (Action.DISPOSE, Action.CLOSE, Action.INFORMED, Action.QUEUE):
        assert refusal_for(action, Audience.LIAISON) == "err_officers_only"
    assert Audience.LIAISON in ALLOWED[Action.LAPOR]
    # the officers' group as the liaison's is simply the officers
    shared = dataclasses.replace(
        OFFICE, lapor=LaporOptions(enter_all=True, liaison_chat_id=OFFICERS.address)
    )
    assert audience_of(shared, OFFICERS.address, private=False) is Audience.OFFICERS
    assert audience_of(OFFICE, LIAISON.address, private=False) is Audience.STRANGER


AGENCY = {
    "agency": {"name": "Dinas", "timezone": "Asia/Jakarta"},
    "groups": {"officers_chat_id": -1001, "supervisor_chat_id": -3001},
    "units": [{"code": "YANKES", "name": "Bidang Yankes", "chat_id": -2001}],
}


@pytest.mark.parametrize("chat", [-2001, -3001])
def test_a_units_or_the_supervisors_chat_cannot_be_the_liaisons(chat: int) -> None:
    data = {**AGENCY, "lapor": {"enter_all": True, "liaison_chat_id": chat}}
    with pytest.raises(ConfigError, match="liaison_chat_id"):
        parse_office(data)
    for fine in (-1001, -4001):
        office = parse_office({**AGENCY, "lapor": {"enter_all": True, "liaison_chat_id": fine}})
        assert office.lapor.liaison_chat_id == str(fine)


def test_every_task_kind_has_its_nudge_words() -> None:
    for kind in TaskKind:
        assert T(
            f"patrol_task_{kind.value}",
            code="X",
            name="N",
            contact="C",
            count=1,
            number="1",
            age=1,
            budget=1,
        )
        assert T(f"patrol_tasks_footer_{kind.value}")


# ---------------------------------------------------------------------- budgets in office time
async def test_a_task_with_a_minute_budget_is_nudged_and_repeated_in_office_minutes() -> None:
    """SOP 002 step 8 in minutes: inform the caller within 20 minutes, reminded every 15."""
    office = dataclasses.replace(
        OFFICE, deadlines=Deadlines(inform_days="20m", repeat_days="15m", digest_at=None)
    )
    world = World(office)
    world.clock.set(wib(3, 17, 15, 50))  # ten minutes before closing, before Idul Fitri
    case = await world.by_phone()
    [task] = await world.tasks_of(case)
    assert task.due_at == wib(3, 25, 8, 10).astimezone(UTC)  # 10 today, 10 after the holiday
    assert "paling lambat 25-03-2026 08:10" in world.messages(OFFICERS)[0].text
    world.clear()
    assert not (await world.at(wib(3, 25, 8, 9))).acted
    done = await world.at(wib(3, 25, 8, 10))
    assert done.tasks == {OFFICERS.address: [case.code]}
    [nudge] = world.messages(OFFICERS)
    assert (
        f"• {case.code} — kabari pelapor Joko Widodo ({CALLER_PHONE}): 1 kabar, sudah 20 menit "
        "(batas 20 menit)"
    ) in nudge.text
    world.clear()
    assert not (await world.at(wib(3, 25, 8, 24))).acted
    assert (await world.at(wib(3, 25, 8, 25))).tasks == {OFFICERS.address: [case.code]}
    assert "sudah 35 menit (batas 20 menit)" in world.messages(OFFICERS)[0].text
