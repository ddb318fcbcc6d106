"""A citizen's messages through Reception, and the staff handlers, on the in-memory fakes.

Each message opens fresh CaseDesk/Reception objects over the same storage, as the app
does for every inbound message; what people are told is read from the fake outbox.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.core.cases import CASE_MESSAGE, PROMPT_INFO, PROMPT_REFUSE, Refusal
from bot.core.dialogue import CitizenInput, Submission
from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    Case,
    CaseStatus,
    Channel,
    EventKind,
    OutgoingMessage,
    Privacy,
    Recipient,
    Reporter,
)
from bot.core.office import Limits, Unit
from bot.core.permissions import Action
from bot.core.ports import SentRef
from bot.core.reception import CitizenMessage, Reception, turns_away
from handlers import officers, units
from handlers.officers import QUEUE_LINES
from handlers.staff import StaffMessage
from tests.unit.sample import (
    DESCRIPTION,
    OFFICERS,
    P2P,
    P2P_CHAT,
    YANKES,
    YANKES_CHAT,
    OfficeWorld,
    T,
    sample_office,
)

OFFICE = sample_office(YANKES, P2P)
SITI = "7001"  # a Telegram private chat id
SITI_CHAT = Recipient(Channel.TELEGRAM, SITI)
HELP = T("help_citizen", agency=OFFICE.name)


def photo(ref: str) -> Attachment:
    return Attachment(AttachmentKind.PHOTO, ref, Channel.TELEGRAM)


class World(OfficeWorld):
    """The storage of one office, shared by every message's fresh Reception."""

    def __init__(self) -> None:
        super().__init__(OFFICE)

    async def send(
        self,
        text: str | None = None,
        *,
        action: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        album: str | None = None,
        unsupported: bool = False,
        address: str = SITI,
        profile_name: str | None = "Siti Aminah",
    ) -> list[OutgoingMessage]:
        """Receives one message from a citizen; returns what was queued for them."""
        self.clock.advance(timedelta(seconds=30))
        before = len(self.uow.outbox.sent)
        inp = CitizenInput(
            text=text,
            attachments=attachments,
            action=action,
            album_id=album,
            unsupported=unsupported,
        )
        await Reception(self.desk()).receive(
            CitizenMessage(Channel.TELEGRAM, address, profile_name, inp)
        )
        me = Recipient(Channel.TELEGRAM, address)
        return [
            m for m in self.uow.outbox.sent[before:] if m.recipient == me and not m.edits_buttons
        ]

    async def reporter(self, address: str = SITI) -> Reporter:
        return await self.uow.reporters.get_or_create(Channel.TELEGRAM, address, None)

    async def file_case(self, description: str = DESCRIPTION, address: str = SITI) -> Case:
        """A case filed directly through the desk (the dialogue is tested on its own)."""
        self.clock.advance(timedelta(minutes=1))
        case = await self.desk().submit(
            await self.reporter(address),
            Submission(
                description, "Puskesmas Sukamaju", None, None, (), Privacy.NORMAL, "Siti", None
            ),
        )
        self.clear()
        return case

    async def case(self, code: str) -> Case:
        case = await self.uow.cases.get_by_code(code)
        assert case is not None
        return case

    async def events(self, case: Case) -> list[EventKind]:
        assert case.id is not None
        return [e.kind for e in await self.uow.cases.events(case.id)]

    async def step(self, address: str = SITI) -> str | None:
        reporter = await self.reporter(address)
        assert reporter.id is not None
        state = await self.uow.dialogues.load(reporter.id)
        return state.step if state else None


@pytest.fixture
def world() -> World:
    return World()


def texts(messages: list[OutgoingMessage]) -> list[str]:
    return [m.text for m in messages]


def actions(message: OutgoingMessage) -> list[str]:
    return [b.action for row in message.buttons for b in row]


# ---------------------------------------------------------------------- intake dialogue
async def test_whole_dialogue_from_greeting_to_submission(world: World) -> None:
    welcome = T("welcome", agency=OFFICE.name)
    assert texts(await world.send("halo")) == [welcome, T("ask_description")]
    assert texts(await world.send(DESCRIPTION)) == [T("ask_location")]

    [ask_time] = await world.send("Puskesmas Sukamaju, Jl. Melati 3")
    assert ask_time.text == T("ask_time")
    assert actions(ask_time) == ["c:skip"]
    [ask_files] = await world.send(action="c:skip")  # a tapped button
    assert ask_files.text == T("ask_attachments")

    [got] = await world.send(attachments=(photo("tg-p1"),))
    assert got.text == "Lampiran diterima (1 berkas). Kirim lagi bila ada, atau pilih Selesai."
    assert actions(got) == ["c:done"]
    [got] = await world.send(attachments=(photo("tg-p2"),))
    assert got.text == T("attachment_received", count=2)

    [ask_privacy] = await world.send("selesai")
    assert ask_privacy.text == T("ask_privacy")
    assert actions(ask_privacy) == ["c:biasa", "c:anonim", "c:rahasia"]
    [ask_name] = await world.send("2")  # a choice by number: anonim
    assert ask_name.text == T("ask_name")
    assert [(b.label, b.action) for row in ask_name.buttons for b in row] == [
        ("Pakai nama Siti Aminah", "c:profile")
    ]
    assert texts(await world.send(action="c:profile")) == [T("ask_contact")]

    summary, confirm = await world.send("0812-3456-7890")
    assert summary.text == (
        "Ringkasan pengaduan:\n"
        f"Kejadian: {DESCRIPTION}\n"
        "Lokasi: Puskesmas Sukamaju, Jl. Melati 3\n"
        "Waktu: -\n"
        "Lampiran: 2 berkas\n"
        "Nama: Siti Aminah\n"
        "Kontak: 081234567890\n"
        "Identitas: anonim"
    )
    assert confirm.text == T("confirm_prompt")
    assert actions(confirm) == ["c:send", "c:edit", "c:cancel"]
    assert world.uow.outbox.to(OFFICERS) == []

    [ack] = await world.send(action="c:send")
    reporter = await world.reporter()
    assert reporter.id is not None
    [case] = await world.uow.cases.recent_cases_of_reporter(reporter.id, 5)
    assert ack.text == T("acknowledgement", code=case.code)
    assert case.description == DESCRIPTION
    assert case.location_text == "Puskesmas Sukamaju, Jl. Melati 3"
    assert case.occurred_text is None
    assert case.privacy is Privacy.ANONYMOUS
    assert case.reporter_name == "Siti Aminah" and case.reporter_contact == "081234567890"
    assert [a.ref for a in case.attachments] == ["tg-p1", "tg-p2"]
    [relay] = world.uow.outbox.to(OFFICERS)
    assert relay.text.startswith(f"📥 Pengaduan baru {case.code}")
    assert "Pelapor: Siti Aminah · Kontak: 081234567890" in relay.text
    assert [a.ref for a in relay.attachments] == ["tg-p1", "tg-p2"]
    assert await world.step() == "idle"


async def test_first_message_with_substance_starts_at_location(world: World) -> None:
    welcome, ask_location = await world.send(DESCRIPTION)
    assert welcome.text == T("welcome", agency=OFFICE.name)
    assert ask_location.text == T("ask_location")
    assert await world.step() == "location"


async def test_restart_mid_dialogue_resumes_from_the_saved_step(world: World) -> None:
    await world.send("/start")
    await world.send(DESCRIPTION)
    await world.send("Jl. Melati 3")
    assert await world.step() == "time"

    # the process restarts: new unit of work and outbox over the same stored data
    restarted = World()
    restarted.clock.set(world.clock.now() + timedelta(hours=2))
    restarted.uow.cases = world.uow.cases
    restarted.uow.reporters = world.uow.reporters
    restarted.uow.dialogues = world.uow.dialogues

    assert texts(await restarted.send("kemarin sore")) == [T("ask_attachments")]
    assert texts(await restarted.send("selesai")) == [T("ask_privacy")]
    await restarted.send("biasa")
    await restarted.send("Siti Aminah")
    await restarted.send("lewati")
    [ack] = await restarted.send("kirim")
    reporter = await restarted.reporter()
    assert reporter.id is not None
    [case] = await restarted.uow.cases.recent_cases_of_reporter(reporter.id, 5)
    assert ack.text == T("acknowledgement", code=case.code)
    assert case.description == DESCRIPTION
    assert case.location_text == "Jl. Melati 3"
    assert case.occurred_text == "kemarin sore"
    assert case.reporter_contact is None
    assert case.privacy is Privacy.NORMAL


async def test_cancel_mid_dialogue(world: World) -> None:
    await world.send("/start")
    await world.send(DESCRIPTION)
    assert texts(await world.send("/batal")) == [T("cancelled")]
    assert await world.step() == "idle"
    assert world.uow.outbox.to(OFFICERS) == []
    # nothing is left over: the next greeting starts a new complaint from the top
    assert texts(await world.send("halo")) == [
        T("welcome", agency=OFFICE.name),
        T("ask_description"),
    ]
    assert texts(await world.send("batal")) == [T("cancelled")]
    assert texts(await world.send("batal")) == [T("nothing_to_cancel")]


async def test_sticker_gets_a_clear_answer(world: World) -> None:
    [reply] = await world.send(unsupported=True)
    assert reply.text == "Maaf, jenis pesan ini tidak dapat kami proses.\n\n" + HELP
    assert await world.step() == "idle"
    # in the middle of the dialogue: the same apology and the question again
    await world.send("/start")
    assert texts(await world.send(unsupported=True)) == [
        T("unsupported_input"),
        T("ask_description"),
    ]
    assert await world.step() == "description"


async def test_stale_dialogue_button_outside_a_dialogue(world: World) -> None:
    [reply] = await world.send(action="c:send")
    assert reply.text == T("err_button_expired") + "\n\n" + HELP
    assert world.uow.outbox.to(OFFICERS) == []


# ---------------------------------------------------------------------- emergencies
async def test_emergency_gets_the_112_advice_once_when_starting(world: World) -> None:
    replies = texts(await world.send("Tolong ada kebakaran di pasar dekat rumah saya"))
    assert replies == [T("emergency"), T("welcome", agency=OFFICE.name), T("ask_location")]
    assert "112" in replies[0]


async def test_emergency_with_an_open_case_is_advised_and_appended(world: World) -> None:
    case = await world.file_case()
    replies = texts(await world.send("Sekarang ada pasien pingsan di sana"))
    assert replies == [T("emergency"), T("followup_added", code=case.code)]


async def test_short_emergency_text_still_gets_the_advice(world: World) -> None:
    assert texts(await world.send("darurat!")) == [
        T("emergency"),
        T("welcome", agency=OFFICE.name),
        T("ask_description"),
    ]


# ---------------------------------------------------------------------- status
async def test_status_shows_only_own_cases_and_never_leaks(world: World) -> None:
    mine = await world.file_case()
    theirs = await world.file_case("Jalan di depan sekolah berlubang besar sekali.", "7002")
    await world.desk().dispose(mine.code, "YANKES", None, officer_actor())
    world.clear()

    [listing] = await world.send("status")
    assert listing.text == (
        f"Pengaduan Bapak/Ibu:\n• {mine.code} — Dalam Proses (diterima 02-03-2026 09:01)"
    )
    assert theirs.code not in listing.text

    [other] = await world.send(f"/status {theirs.code.lower()}")
    assert other.text == (
        f"Pengaduan {theirs.code} tidak ditemukan di antara pengaduan Bapak/Ibu. "
        "Periksa kembali kodenya."
    )
    assert "Jalan" not in other.text

    [detail] = await world.send(f"cek {mine.code}")
    assert detail.text == (
        f"Pengaduan {mine.code}\n"
        "Status: Dalam Proses\n"
        "Diterima: 02-03-2026 09:01\n"
        f"Kejadian: {DESCRIPTION}\n"
        "Ditangani: Bidang Pelayanan Kesehatan"
    )
    # none of this was taken as a follow-up
    assert await world.events(mine) == [EventKind.SUBMITTED, EventKind.DISPOSED]
    assert world.uow.outbox.to(OFFICERS) == []


async def test_status_without_cases(world: World) -> None:
    assert texts(await world.send("/status")) == [T("status_none")]


async def test_status_shows_the_lapor_number(world: World) -> None:
    case = await world.file_case()
    stored = await world.case(case.code)
    stored.lapor_number = "4123987"
    await world.uow.cases.update(stored)
    [detail] = await world.send(f"/status {case.code}")
    assert detail.text.endswith(f"Kejadian: {DESCRIPTION}\nNomor SP4N-LAPOR!: 4123987")
    # a duplicate says once which case it joined (in its status), and keeps its number
    stored.merged_into = "ADU-MAIN01"
    await world.uow.cases.update(stored)
    [detail] = await world.send(f"/status {case.code}")
    assert detail.text.count("ADU-MAIN01") == 1
    assert detail.text.endswith("\nNomor SP4N-LAPOR!: 4123987")


# ---------------------------------------------------------------------- follow-ups
async def test_follow_up_with_one_open_case_is_appended_and_relayed(world: World) -> None:
    case = await world.file_case()
    await world.desk().dispose(case.code, "YANKES", None, officer_actor())
    world.clear()

    replies = await world.send("Hari ini stok obat masih kosong.")
    assert texts(replies) == [T("followup_added", code=case.code)]
    assert world.to(OFFICERS) == [
        f"💬 Pesan tambahan pelapor untuk {case.code}:\nHari ini stok obat masih kosong."
    ]
    assert world.to(YANKES_CHAT) == [
        f"💬 Tambahan dari pelapor untuk {case.code}:\nHari ini stok obat masih kosong."
    ]
    assert (await world.events(case))[-1] is EventKind.FOLLOW_UP
    assert (await world.case(case.code)).status is CaseStatus.DISPOSED


async def test_a_long_follow_up_reaches_staff_cut_and_stays_whole_in_the_case(
    world: World,
) -> None:
    case = await world.file_case()
    await world.desk().dispose(case.code, "YANKES", None, officer_actor())
    world.clear()
    story = "Antrean obat di loket sangat panjang dan petugasnya tidak ada. " * 100  # 6,300

    await world.send(story)
    cut = f"… (terpotong; teks lengkap di /kasus {case.code})"
    [to_officers] = world.to(OFFICERS)
    assert to_officers.endswith(cut) and len(to_officers) < 1600
    assert story[:1400] in to_officers
    [to_unit] = world.to(YANKES_CHAT)
    assert to_unit.endswith(cut) and len(to_unit) < 1600
    assert case.id is not None
    assert (await world.uow.cases.events(case.id))[-1].note == story.strip()


async def test_reply_to_a_request_for_info_completes_the_case(world: World) -> None:
    case = await world.file_case()
    await world.desk().dispose(case.code, "YANKES", None, officer_actor())
    await world.desk().request_info(case.code, "Mohon foto resep.", officer_actor())
    world.clear()

    replies = await world.send("Ini resepnya", attachments=(photo("tg-resep"),))
    assert texts(replies) == [T("info_added", code=case.code)]
    [to_officers] = world.uow.outbox.to(OFFICERS)
    assert to_officers.text == f"📎 Pelapor melengkapi {case.code}:\nIni resepnya"
    assert [a.ref for a in to_officers.attachments] == ["tg-resep"]
    [to_unit] = world.uow.outbox.to(YANKES_CHAT)
    assert [a.ref for a in to_unit.attachments] == ["tg-resep"]
    assert (await world.case(case.code)).status is CaseStatus.DISPOSED


async def test_album_of_three_photos_as_follow_up_gets_one_confirmation(world: World) -> None:
    case = await world.file_case()
    replies: list[OutgoingMessage] = []
    for n in range(3):
        replies += await world.send(attachments=(photo(f"tg-a{n}"),), album="alb-1")

    assert texts(replies) == [T("followup_added", code=case.code)]
    [to_officers] = world.uow.outbox.to(OFFICERS)
    assert to_officers.text == f"💬 Pesan tambahan pelapor untuk {case.code}:\n-"
    assert [a.ref for a in to_officers.attachments] == ["tg-a0", "tg-a1", "tg-a2"]
    assert await world.events(case) == [EventKind.SUBMITTED] + [EventKind.FOLLOW_UP] * 3


async def test_album_as_the_very_first_message_is_kept_and_the_question_asked(
    world: World,
) -> None:
    replies: list[OutgoingMessage] = []
    for n in range(3):
        replies += await world.send(attachments=(photo(f"tg-a{n}"),), album="alb-1")
    assert texts(replies) == [
        T("welcome", agency=OFFICE.name),
        "Lampiran diterima (1 berkas) dan akan disertakan.",
        T("ask_description"),
    ]
    reporter = await world.reporter()
    assert reporter.id is not None
    state = await world.uow.dialogues.load(reporter.id)
    assert state is not None and state.step == "description"
    assert [a["ref"] for a in state.data["attachments"]] == ["tg-a0", "tg-a1", "tg-a2"]


async def two_open_cases(world: World) -> tuple[Case, Case]:
    older = await world.file_case()
    newer = await world.file_case("Jalan di depan puskesmas rusak dan becek sekali.")
    return older, newer


async def test_with_two_open_cases_the_reporter_is_asked_which(world: World) -> None:
    older, newer = await two_open_cases(world)
    [ask] = await world.send("Petugasnya juga tidak ramah.")
    assert ask.text == T("followup_choose_case")
    # newest first, as tappable codes
    assert [[(b.label, b.action) for b in row] for row in ask.buttons] == [
        [(newer.code, f"o:{newer.code}"), (older.code, f"o:{older.code}")]
    ]
    assert await world.step() == "choose_case"
    assert world.uow.outbox.to(OFFICERS) == []
    assert await world.events(older) == [EventKind.SUBMITTED]
    assert await world.events(newer) == [EventKind.SUBMITTED]


@pytest.mark.parametrize("how", ["number", "code", "tap"])
async def test_choosing_the_case_appends_the_pending_message(world: World, how: str) -> None:
    older, newer = await two_open_cases(world)
    await world.send("Petugasnya juga tidak ramah.")
    answer = {
        "number": {"text": "2"},
        "code": {"text": f"untuk {older.code.lower()}"},
        "tap": {"action": f"o:{older.code}"},
    }[how]

    replies = await world.send(**answer)  # type: ignore[arg-type]

    assert texts(replies) == [T("followup_added", code=older.code)]
    assert world.to(OFFICERS) == [
        f"💬 Pesan tambahan pelapor untuk {older.code}:\nPetugasnya juga tidak ramah."
    ]
    assert (await world.events(older))[-1] is EventKind.FOLLOW_UP
    assert await world.events(newer) == [EventKind.SUBMITTED]
    assert await world.step() == "idle"


async def test_an_unclear_choice_is_kept_and_asked_again(world: World) -> None:
    older, newer = await two_open_cases(world)
    await world.send("Petugasnya juga tidak ramah.")
    [again] = await world.send("Dan antreannya lama sekali.")
    assert again.text == T("choose_one", options=f"1. {newer.code}, 2. {older.code}")
    assert actions(again) == [f"o:{newer.code}", f"o:{older.code}"]
    assert await world.step() == "choose_case"
    assert texts(await world.send("2")) == [T("followup_added", code=older.code)]
    assert world.to(OFFICERS) == [
        f"💬 Pesan tambahan pelapor untuk {older.code}:\n"
        "Petugasnya juga tidak ramah.\nDan antreannya lama sekali."
    ]


async def test_album_with_two_open_cases_waits_for_the_choice(world: World) -> None:
    older, newer = await two_open_cases(world)
    replies: list[OutgoingMessage] = []
    for n in range(3):
        replies += await world.send(attachments=(photo(f"tg-a{n}"),), album="alb-2")
    assert texts(replies) == [T("followup_choose_case")]
    assert world.uow.outbox.to(OFFICERS) == []

    assert texts(await world.send(action=f"o:{newer.code}")) == [
        T("followup_added", code=newer.code)
    ]
    [to_officers] = world.uow.outbox.to(OFFICERS)
    assert to_officers.text == f"💬 Pesan tambahan pelapor untuk {newer.code}:\n-"
    assert [a.ref for a in to_officers.attachments] == ["tg-a0", "tg-a1", "tg-a2"]
    assert await world.events(older) == [EventKind.SUBMITTED]


async def test_a_request_for_info_picks_the_case_without_asking(world: World) -> None:
    older, newer = await two_open_cases(world)
    await world.desk().request_info(older.code, "Puskesmas yang mana?", officer_actor())
    world.clear()
    assert texts(await world.send("Puskesmas Sukamaju")) == [T("info_added", code=older.code)]
    assert (await world.events(older))[-1] is EventKind.INFO_ADDED
    assert await world.events(newer) == [EventKind.SUBMITTED]


# ---------------------------------------------------------------------- ratings
async def test_typed_rating_after_closure(world: World) -> None:
    case = await world.file_case()
    await world.desk().close(case.code, None, officer_actor())
    world.clear()

    assert texts(await world.send("5")) == [
        f"Terima kasih atas penilaian Bapak/Ibu (5/5) untuk pengaduan {case.code}."
    ]
    assert world.to(OFFICERS) == [f"⭐ Pelapor {case.code} memberi penilaian 5/5."]
    stored = await world.case(case.code)
    assert stored.rating == 5 and not stored.rating_requested


async def test_tapped_rating_counts_once(world: World) -> None:
    case = await world.file_case()
    await world.desk().close(case.code, None, officer_actor())
    assert texts(await world.send(action=f"r:{case.code}:3")) == [
        T("rating_thanks", code=case.code, rating=3)
    ]
    assert texts(await world.send(action=f"r:{case.code}:1")) == [
        T("rating_already_given", code=case.code, rating=3)
    ]
    assert (await world.case(case.code)).rating == 3


async def test_someone_else_cannot_rate_my_case(world: World) -> None:
    case = await world.file_case()
    await world.desk().close(case.code, None, officer_actor())
    replies = await world.send(action=f"r:{case.code}:1", address="7002")
    assert texts(replies) == [T("err_button_expired")]
    assert (await world.case(case.code)).rating is None


# ---------------------------------------------------------------------- officers' group
def officer_actor() -> Actor:
    return officer_msg("").actor


def officer_msg(text: str) -> StaffMessage:
    return StaffMessage(chat_id=OFFICERS.address, user_id="501", user_name="Budi", text=text)


def unit_msg(
    text: str, unit: Unit = YANKES, attachments: tuple[Attachment, ...] = ()
) -> StaffMessage:
    return StaffMessage(
        chat_id=unit.chat_id, user_id="601", user_name="Rina", text=text, attachments=attachments
    )


async def test_officers_dispose_command(world: World) -> None:
    case = await world.file_case()
    await officers.on_command(
        world.desk(),
        officer_msg(""),
        Action.DISPOSE,
        f"{case.code.lower()} yankes Mohon cek stok obat segera",
    )
    stored = await world.case(case.code)
    assert stored.status is CaseStatus.DISPOSED and stored.unit_code == "YANKES"
    [to_unit] = world.uow.outbox.to(YANKES_CHAT)
    assert to_unit.text.endswith(
        "Catatan: Mohon cek stok obat segera\n\n"
        f"Jawab dengan membalas pesan ini, atau /jawab {case.code} teks. "
        f"Bukan kewenangan unit ini? /kembalikan {case.code} alasan"
    )
    assert world.to(OFFICERS) == [
        f"➡️ {case.code} didisposisi ke Bidang Pelayanan Kesehatan (YANKES) oleh Budi."
        "\nCatatan: Mohon cek stok obat segera"
    ]
    assert texts(world.uow.outbox.to(SITI_CHAT)) == [
        T("reporter_disposed", code=case.code, unit="Bidang Pelayanan Kesehatan")
    ]
    assert stored.id is not None
    [*_, disposed] = await world.uow.cases.events(stored.id)
    assert (disposed.kind, disposed.actor.name, disposed.actor.chat_id, disposed.note) == (
        EventKind.DISPOSED,
        "Budi",
        OFFICERS.address,
        "Mohon cek stok obat segera",
    )


async def test_the_queue_lists_the_oldest_open_cases_and_counts_them_all(world: World) -> None:
    filed = [await world.file_case(address=f"70{n:02d}") for n in range(QUEUE_LINES + 3)]
    await officers.on_command(world.desk(), officer_msg(""), Action.QUEUE, "")
    [queue] = world.to(OFFICERS)
    lines = queue.splitlines()
    assert lines[0] == T("queue_header", count=QUEUE_LINES + 3)
    assert [line.split()[1] for line in lines[1:-1]] == [c.code for c in filed[:QUEUE_LINES]]
    assert lines[-1] == T("queue_more", count=3)


@pytest.mark.parametrize("args", ["", "ADU-ABCDEF"])
async def test_officers_dispose_without_unit_shows_usage(world: World, args: str) -> None:
    with pytest.raises(Refusal) as caught:
        await officers.on_command(world.desk(), officer_msg(""), Action.DISPOSE, args)
    assert caught.value.key == "err_usage"
    assert T("err_usage", **caught.value.params) == ("Cara pakai: /disposisi KODE UNIT [catatan]")
    assert world.uow.outbox.sent == []


async def test_officers_other_usage_errors(world: World) -> None:
    case = await world.file_case()
    for action, args, usage in (
        (Action.REQUEST_INFO, case.code, "/lengkapi KODE pesan"),
        (Action.REFUSE, case.code, "/tolak KODE alasan"),
        (Action.CLOSE, "", "/selesai KODE [catatan]"),
    ):
        with pytest.raises(Refusal) as caught:
            await officers.on_command(world.desk(), officer_msg(""), action, args)
        assert (caught.value.key, caught.value.params) == ("err_usage", {"usage": usage})
    assert (await world.case(case.code)).status is CaseStatus.NEW


async def test_officers_buttons_and_prompt_replies(world: World) -> None:
    case = await world.file_case()
    await officers.on_tap(world.desk(), officer_msg(""), f"d:{case.code}:P2P")
    assert (await world.case(case.code)).unit_code == "P2P"
    world.clear()

    await officers.on_tap(world.desk(), officer_msg(""), f"l:{case.code}")
    [prompt] = world.uow.outbox.to(OFFICERS)
    command = f"/lengkapi {case.code} "
    assert prompt.text == T("prompt_info_request", code=case.code, command=command)
    assert prompt.copyable == (command,)
    assert (prompt.purpose, prompt.case_id) == (PROMPT_INFO, case.id)
    world.clear()

    await officers.on_reply(
        world.desk(), officer_msg("Mohon foto resep"), SentRef(case.id, PROMPT_INFO)
    )
    assert texts(world.uow.outbox.to(SITI_CHAT)) == [
        T("reporter_info_requested", code=case.code, message="Mohon foto resep")
    ]
    assert (await world.case(case.code)).status is CaseStatus.NEEDS_INFO
    world.clear()

    await officers.on_reply(
        world.desk(), officer_msg("Bukan kewenangan Dinas"), SentRef(case.id, PROMPT_REFUSE)
    )
    assert texts(world.uow.outbox.to(SITI_CHAT)) == [
        T("reporter_refused", code=case.code, reason="Bukan kewenangan Dinas")
    ]
    assert world.to(P2P_CHAT) == [T("unit_case_closed", code=case.code)]
    world.clear()

    # officers chatting in reply to the case message itself is left alone
    await officers.on_reply(world.desk(), officer_msg("siapa pegang?"), SentRef(case.id, "case"))
    assert world.uow.outbox.sent == []


# ---------------------------------------------------------------------- unit groups
async def test_unit_reply_to_the_case_message_answers_the_reporter(world: World) -> None:
    case = await world.file_case()
    await world.desk().dispose(case.code, "YANKES", None, officer_actor())
    [case_message] = world.uow.outbox.to(YANKES_CHAT)
    assert case_message.purpose == CASE_MESSAGE
    world.uow.outbox.remember_sent(YANKES_CHAT, "m-77", case.id, case_message.purpose)
    world.clear()

    ref = await world.uow.outbox.find_sent(YANKES_CHAT, "m-77")
    assert ref == SentRef(case.id, "case")
    letter = Attachment(AttachmentKind.DOCUMENT, "tg-doc", Channel.TELEGRAM, "surat.pdf")
    await units.on_reply(
        world.desk(), unit_msg("Obat sudah dikirim hari ini.", attachments=(letter,)), YANKES, ref
    )

    [to_reporter] = world.uow.outbox.to(SITI_CHAT)
    assert to_reporter.text == T(
        "reporter_answered",
        code=case.code,
        unit="Bidang Pelayanan Kesehatan",
        answer="Obat sudah dikirim hari ini.",
    )
    assert to_reporter.attachments == (letter,)
    [to_officers] = world.uow.outbox.to(OFFICERS)
    assert to_officers.text.startswith(f"✅ Jawaban YANKES untuk {case.code}")
    assert to_officers.attachments == (letter,)
    assert world.to(YANKES_CHAT) == [T("unit_answer_sent", code=case.code)]
    assert (await world.case(case.code)).status is CaseStatus.ANSWERED


async def test_unit_reply_from_the_wrong_unit_or_to_another_message(world: World) -> None:
    case = await world.file_case()
    await world.desk().dispose(case.code, "YANKES", None, officer_actor())
    world.clear()
    with pytest.raises(Refusal) as caught:
        await units.on_reply(
            world.desk(), unit_msg("Sudah", P2P), P2P, SentRef(case.id, CASE_MESSAGE)
        )
    assert caught.value.key == "err_not_your_case"
    with pytest.raises(Refusal) as caught:
        await units.on_reply(world.desk(), unit_msg("Sudah"), YANKES, SentRef(case.id, None))
    assert caught.value.key == "err_reply_unknown"
    assert world.uow.outbox.sent == []
    assert (await world.case(case.code)).status is CaseStatus.DISPOSED


async def test_unit_commands_answer_and_return(world: World) -> None:
    case = await world.file_case()
    await world.desk().dispose(case.code, "YANKES", None, officer_actor())
    world.clear()
    with pytest.raises(Refusal) as caught:
        await units.on_command(world.desk(), unit_msg(""), YANKES, Action.ANSWER, case.code)
    assert caught.value.params == {"usage": "/jawab KODE teks"}

    await units.on_command(
        world.desk(), unit_msg(""), YANKES, Action.RETURN, f"{case.code} Urusan bidang P2P"
    )
    assert world.to(OFFICERS)[0] == (
        f"↩️ YANKES mengembalikan {case.code}: Urusan bidang P2P"
        f"\nDisposisi ulang: /disposisi {case.code} UNIT"
    )
    assert (await world.case(case.code)).status is CaseStatus.RETURNED


async def test_choosing_by_number_is_not_taken_as_a_rating(world: World) -> None:
    closed = await world.file_case("Kasus lama yang sudah selesai ditangani.")
    await world.desk().close(closed.code, None, officer_actor())
    older, _newer = await two_open_cases(world)
    await world.send("Petugasnya juga tidak ramah.")

    assert texts(await world.send("2")) == [T("followup_added", code=older.code)]
    assert (await world.case(closed.code)).rating is None
    assert (await world.events(older))[-1] is EventKind.FOLLOW_UP
    # back outside the choice, a typed number rates the closed case
    assert texts(await world.send("4")) == [T("rating_thanks", code=closed.code, rating=4)]


async def test_cancel_while_choosing_drops_the_pending_message(world: World) -> None:
    older, newer = await two_open_cases(world)
    await world.send("Petugasnya juga tidak ramah.")
    assert texts(await world.send("/batal")) == [T("cancelled")]
    assert await world.step() == "idle"
    assert world.uow.outbox.to(OFFICERS) == []
    assert await world.events(older) == [EventKind.SUBMITTED]
    assert await world.events(newer) == [EventKind.SUBMITTED]


# ---------------------------------------------------------------------- turned away unseen
async def test_turns_away_foresees_the_block_and_the_minutes_allowance() -> None:
    world = World()
    world.office = replace(OFFICE, limits=Limits(messages_per_minute=2))

    async def turned_away(album: str | None = None, address: str = SITI) -> bool:
        now = world.clock.now()
        return await turns_away(world.uow, world.office, Channel.TELEGRAM, address, album, now)

    assert not await turned_away()  # a reporter never seen
    await world.send(attachments=(photo("p1"),), album="A1")  # the first of a minute
    assert not await turned_away()
    await world.send("lagi")  # 30 s on: the second, the last allowed
    assert await turned_away()  # a third would be ignored unseen...
    assert not await turned_away(album="A1")  # ...but not a later item of an album seen
    third = CitizenMessage(Channel.TELEGRAM, SITI, None, CitizenInput(text="ketiga"))
    await Reception(world.desk()).receive(third)  # at the same moment
    assert world.sent[-1].text == T("rate_limited")  # as foreseen
    world.clock.advance(timedelta(minutes=1))
    assert not await turned_away()  # a new minute

    reporter = await world.reporter()
    assert reporter.id is not None
    await world.uow.reporters.set_blocked(reporter.id, world.clock.now())
    assert await turned_away()
    assert await turned_away(album="A1")
    assert not await turned_away(address="7002")  # someone else


async def test_follow_ups_beyond_three_a_minute_wait_for_one_digest(world: World) -> None:
    case = await world.file_case()
    await world.desk().dispose(case.code, "YANKES", None, officer_actor())
    world.clear()

    async def says(text: str) -> None:  # all in the same minute
        message = CitizenMessage(Channel.TELEGRAM, SITI, None, CitizenInput(text=text))
        await Reception(world.desk()).receive(message)

    for n in range(6):
        await says(f"Tambahan ke-{n}.")
    assert [t.split("\n")[1] for t in world.to(OFFICERS)] == [f"Tambahan ke-{n}." for n in range(3)]
    assert len(world.to(YANKES_CHAT)) == 3
    assert world.to(SITI_CHAT) == [T("followup_added", code=case.code)] * 6  # all taken
    assert await world.uow.cases.digests_due(world.clock.now(), 10) == []  # not yet
    world.clear()

    world.clock.advance(timedelta(minutes=1))
    [due] = await world.uow.cases.digests_due(world.clock.now(), 10)
    await world.desk().relay_digest(due)
    [digest] = world.to(OFFICERS)
    assert digest.startswith(f"💬 3 pesan tambahan lain dari pelapor {case.code}")
    assert "• Tambahan ke-3.\n• Tambahan ke-4.\n• Tambahan ke-5." in digest
    [to_unit] = world.uow.outbox.to(YANKES_CHAT)
    assert to_unit.purpose == CASE_MESSAGE and "• Tambahan ke-5." in to_unit.text
    assert await world.uow.cases.digests_due(world.clock.now(), 10) == []  # once
    world.clear()

    for n in range(6, 9):  # the digest was one of this minute's three
        await says(f"Tambahan ke-{n}.")
    assert len(world.to(OFFICERS)) == 2
