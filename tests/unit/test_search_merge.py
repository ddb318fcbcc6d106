"""Finding cases (/cari) and merging a duplicate into its main case (/gabung), on the
in-memory fakes: what each chat is told, what is stored, and what the reporters of a
merged duplicate hear from then on.

Commands go through the staff handlers as the app routes them; citizens' messages
through Reception; each opens a fresh desk over the same storage, as the app does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core import search
from bot.core.cases import CASE_MESSAGE, RATING, Refusal
from bot.core.dialogue import CitizenInput, Submission
from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    EventKind,
    OutgoingMessage,
    Privacy,
    Recipient,
    Reporter,
)
from bot.core.permissions import Action, Audience, refusal_for
from bot.core.reception import CitizenMessage, Reception
from handlers import officers, units
from handlers.staff import USAGE, StaffMessage, parse_command
from tests.unit.sample import (
    OFFICERS,
    P2P,
    YANKES,
    YANKES_CHAT,
    OfficeWorld,
    T,
    sample_office,
)

OFFICE = sample_office(YANKES, P2P)
SUPERVISOR = Recipient(Channel.TELEGRAM, "-3001")
SITI, JOKO, ANI = "7001", "7002", "7003"  # Telegram private chats
POTHOLE = "Jalan berlubang besar di depan SD Negeri 3, dua motor sudah jatuh."
SAME_POTHOLE = "Ada lubang dalam di jalan depan SD Negeri 3, bahaya untuk anak sekolah."


def chat(address: str) -> Recipient:
    return Recipient(Channel.TELEGRAM, address)


class World(OfficeWorld):
    def __init__(self) -> None:
        super().__init__(OFFICE)

    async def reporter(self, address: str) -> Reporter:
        return await self.uow.reporters.get_or_create(Channel.TELEGRAM, address, None)

    async def file(
        self,
        address: str,
        description: str = POTHOLE,
        *,
        name: str | None = "Siti Aminah",
        contact: str | None = "081234567890",
        place: str = "Jl. Melati",
        privacy: Privacy = Privacy.NORMAL,
    ) -> Case:
        self.clock.advance(timedelta(minutes=10))
        case = await self.desk().submit(
            await self.reporter(address),
            Submission(description, place, None, None, (), privacy, name, contact),
        )
        self.clear()
        return case

    async def staff(self, text: str, where: Recipient = OFFICERS) -> list[str]:
        """A staff member types a command in a group; returns what that group was told
        (a refusal as its sentence, as the Telegram handler says it)."""
        self.clock.advance(timedelta(minutes=1))
        before = len(self.sent)
        desk = self.desk()
        msg = StaffMessage(where.address, "501", "Budi Santoso", text)
        command = parse_command(text)
        assert command is not None and command.action is not None
        unit = OFFICE.unit_for_chat(where.address)
        try:
            if unit is None:
                await officers.on_command(desk, msg, command.action, command.args)
            else:
                await units.on_command(desk, msg, unit, command.action, command.args)
        except Refusal as refusal:
            await desk.tell(msg.chat, T(refusal.key, **refusal.params))
        return [m.text for m in self.sent[before:] if m.recipient == where and not m.edits_buttons]

    async def says(self, address: str, text: str) -> list[str]:
        self.clock.advance(timedelta(minutes=1))
        before = len(self.sent)
        await Reception(self.desk()).receive(
            CitizenMessage(Channel.TELEGRAM, address, None, CitizenInput(text=text))
        )
        return [m.text for m in self.sent[before:] if m.recipient == chat(address)]

    async def case(self, code: str) -> Case:
        case = await self.uow.cases.get_by_code(code)
        assert case is not None
        return case

    async def history(self, code: str) -> list[CaseEvent]:
        case = await self.case(code)
        assert case.id is not None
        return await self.uow.cases.events(case.id)

    def told(self, address: str) -> list[OutgoingMessage]:
        return self.uow.outbox.to(chat(address))


@pytest.fixture
def world() -> World:
    return World()


# ---------------------------------------------------------------------- reading /cari
def test_the_page_asked_for_is_read_off_the_end() -> None:
    request = search.parse("jalan rusak hal 3", "usage")
    assert (request.query, request.page) == ("jalan rusak", 3)
    assert [t.text for t in request.terms] == ["jalan", "rusak"]
    assert search.parse("jalan rusak page 2", "usage").page == 2
    assert search.parse("Jalan HALAMAN 2", "usage").query == "Jalan"
    # "hal" that is no page number is a word like any other
    assert search.parse("hal penting", "usage").query == "hal penting"
    assert search.parse("hal", "usage").page == 1


def test_bad_searches_are_refused_with_what_to_type() -> None:
    for args in ("", "   ", "hal 2", "\x00\x00"):
        with pytest.raises(Refusal) as refused:
            search.parse(args, USAGE[Action.SEARCH])
        assert refused.value.key == "err_usage"
        assert refused.value.params == {"usage": USAGE[Action.SEARCH]}
    for args in ("jalan hal 0", f"jalan hal {search.MAX_PAGE + 1}"):
        with pytest.raises(Refusal) as refused:
            search.parse(args, "usage")
        assert refused.value.key == "err_search_page"
    for args in ("x" * (search.MAX_CHARS + 1), " ".join(["kata"] * (search.MAX_WORDS + 1))):
        with pytest.raises(Refusal) as refused:
            search.parse(args, "usage")
        assert refused.value.key == "err_search_too_long"


def test_control_characters_are_no_part_of_a_word() -> None:
    request = search.parse("jal\x00an\u200b rusak\x07", "usage")
    assert [t.text for t in request.terms] == ["jal", "an", "rusak"]
    assert "\x00" not in request.query


def test_a_phone_number_is_looked_for_in_every_form_it_is_stored_in() -> None:
    forms = ("081234567890", "6281234567890", "+6281234567890", "81234567890")
    for typed in ("081234567890", "+6281234567890", "6281234567890", "0812-3456-7890"):
        assert search.phone_forms(typed) == forms, typed
    assert search.phone_forms("(0812) 3456.7890") == forms
    assert search.phone_forms("+15551234567") == ("+15551234567", "15551234567")
    for word in ("0812", "jalan", "ADU-7K3Q9X", "1234567890123456", "08123x4567"):
        assert search.phone_forms(word) == (), word
    # a number typed in groups is one term
    [term] = search.parse("0812 3456 7890", "usage").terms
    assert term.phones == forms


def test_the_snippet_shows_the_story_around_the_word_found() -> None:
    story = (
        "Pada hari Senin pagi kami melihat banyak sekali sampah di sekitar pasar dan juga "
        "di jalan utama menuju sekolah dasar negeri tiga di ujung gang mawar dekat masjid"
    )
    case = Case("ADU-2345AB", 1, Channel.TELEGRAM, story, datetime.now(UTC))
    found = search.snippet(T, case, search.parse("MASJID", "usage").terms)
    assert found.startswith("…") and found.endswith("dekat masjid")
    assert len(found) <= search.SNIPPET + 2
    opening = search.snippet(T, case, search.parse("zebra", "usage").terms)
    assert opening.startswith("Pada hari Senin") and opening.endswith("…")
    assert not opening[:-1].endswith(" ")
    short = Case("ADU-2345AC", 1, Channel.TELEGRAM, "Lampu\nmati.", datetime.now(UTC))
    assert search.snippet(T, short, ()) == "Lampu mati."


# ---------------------------------------------------------------------- /cari in the chats
async def test_officers_find_cases_by_name_phone_and_story(world: World) -> None:
    road = await world.file(SITI)
    lamp = await world.file(
        JOKO, "Lampu jalan mati sejak Senin.", name="Joko", contact="+6281311112222"
    )
    await world.staff(f"/disposisi {road.code} YANKES")

    [page] = await world.staff("/cari siti")
    assert page.splitlines()[0] == T("search_header", query="siti", page=1, scope="")
    assert road.code in page and lamp.code not in page
    when = road.created_at.astimezone(OFFICE.timezone).strftime(T("date_format"))
    assert f"• {road.code} — {when} — Dalam Proses — unit: YANKES" in page
    assert POTHOLE[:40] in page

    [page] = await world.staff("/cari +62 813 1111 2222")
    assert lamp.code in page and road.code not in page
    [page] = await world.staff("/cari jalan")  # newest first
    assert page.index(lamp.code) < page.index(road.code)
    [page] = await world.staff(f"/cari {road.code.lower()}")
    assert road.code in page

    [nothing] = await world.staff("/cari banjir")
    assert nothing == T("search_none", query="banjir", scope="")
    # the supervisor may search as well
    [page] = await world.staff("/cari siti", SUPERVISOR)
    assert road.code in page


async def test_ten_at_a_time_with_the_next_page_to_copy(world: World) -> None:
    codes = [(await world.file(SITI, f"Banjir ke-{n} di Gang Mawar")).code for n in range(12)]
    await world.staff("/cari banjir")
    [first] = world.uow.outbox.to(OFFICERS)[-1:]
    listed = [c for c in codes if c in first.text]
    assert listed == codes[2:]  # the ten newest
    following = T("search_next_command", query="banjir", page=2)
    assert following == "/cari banjir hal 2"
    assert first.text.endswith(T("search_next", command=following))
    assert first.copyable == (following,)

    [second] = await world.staff(following)
    assert [c for c in codes if c in second] == codes[:2]
    assert "hal 3" not in second
    [third] = await world.staff("/cari banjir hal 3")
    assert third == T("search_page_empty", query="banjir", page=3, scope="")


async def test_a_unit_finds_only_its_own_cases_and_never_by_the_reporter(world: World) -> None:
    mine = await world.file(SITI, privacy=Privacy.ANONYMOUS)
    theirs = await world.file(JOKO, SAME_POTHOLE, name="Joko", contact="081311112222")
    await world.staff(f"/disposisi {mine.code} YANKES")
    await world.staff(f"/disposisi {theirs.code} P2P")

    [page] = await world.staff("/cari SD Negeri", YANKES_CHAT)
    assert page.splitlines()[0] == T(
        "search_header", query="SD Negeri", page=1, scope=T("search_scope_unit", unit="YANKES")
    )
    assert mine.code in page and theirs.code not in page
    assert "Siti" not in page and "0812" not in page
    for identity in ("Siti", "Aminah", "081234567890", "+6281234567890"):
        [nothing] = await world.staff(f"/cari {identity}", YANKES_CHAT)
        assert mine.code not in nothing
        assert nothing == T(
            "search_none", query=identity, scope=T("search_scope_unit", unit="YANKES")
        )
    [other] = await world.staff(f"/cari {theirs.code}", YANKES_CHAT)
    assert other == T("search_none", query=theirs.code, scope=T("search_scope_unit", unit="YANKES"))


def test_searching_and_merging_belong_to_their_chats() -> None:
    assert refusal_for(Action.SEARCH, Audience.CITIZEN) == "err_officers_or_supervisor_only"
    assert refusal_for(Action.SEARCH, Audience.STAFF_PRIVATE) is None
    assert refusal_for(Action.MERGE, Audience.UNIT) == "err_officers_only"
    assert refusal_for(Action.MERGE, Audience.SUPERVISOR) == "err_officers_only"


# ---------------------------------------------------------------------- /gabung
async def test_a_duplicate_joins_the_main_case(world: World) -> None:
    main = await world.file(SITI)
    duplicate = await world.file(JOKO, SAME_POTHOLE, name="Joko", contact="081311112222")
    await world.staff(f"/disposisi {duplicate.code} YANKES")
    world.clear()

    [confirmed] = await world.staff(f"/gabung {duplicate.code.lower()} {main.code}")
    assert confirmed == T(
        "officers_merged",
        code=duplicate.code,
        main=main.code,
        actor="Budi Santoso",
        status="Baru (menunggu verifikasi)",
        unit="-",
    )
    stored = await world.case(duplicate.code)
    assert stored.status is CaseStatus.CLOSED and stored.merged_into == main.code
    assert stored.closed_at == world.clock.now()
    assert stored.watch is None and stored.next_check_at is None  # its clock stopped
    assert not stored.rating_requested
    assert [m.text for m in world.told(JOKO)] == [
        T("reporter_merged", code=duplicate.code, main=main.code)
    ]
    assert world.told(SITI) == []
    assert [m.text for m in world.uow.outbox.to(YANKES_CHAT)] == [
        T("unit_case_merged", code=duplicate.code, main=main.code)
    ]
    # the duplicate's buttons in the officers' group go
    edits = world.uow.outbox.edits(OFFICERS)
    assert [(e.case_code, e.buttons) for e in edits if e.purpose == CASE_MESSAGE] == [
        (duplicate.code, ())
    ]

    [merged] = (await world.history(duplicate.code))[-1:]
    assert (merged.kind, merged.note, merged.actor.name) == (
        EventKind.MERGED,
        main.code,
        "Budi Santoso",
    )
    assert merged.status_after is CaseStatus.CLOSED
    [joined] = (await world.history(main.code))[-1:]
    assert (joined.kind, joined.note) == (EventKind.MERGED_IN, duplicate.code)
    assert (await world.case(main.code)).status is CaseStatus.NEW  # the main goes on
    # /kasus of each says so
    [detail] = await world.staff(f"/kasus {duplicate.code}")
    assert f"{T('event_digabung')} (Budi Santoso): {main.code}" in detail
    [detail] = await world.staff(f"/kasus {main.code}")
    assert f"{T('event_gabungan')} (Budi Santoso): {duplicate.code}" in detail

    # a second identical command is refused, and changes nothing
    [again] = await world.staff(f"/gabung {duplicate.code} {main.code}")
    assert again == T("err_merge_already", code=duplicate.code, main=main.code)
    assert len(await world.history(main.code)) == 2
    # the duplicate takes no more steps
    [closing] = await world.staff(f"/selesai {duplicate.code}")
    assert closing == T("err_case_merged", code=duplicate.code, main=main.code)


async def test_the_main_cases_news_reaches_every_reporter_once(world: World) -> None:
    main = await world.file(SITI)
    joko = await world.file(JOKO, SAME_POTHOLE, name="Joko")
    joko_again = await world.file(JOKO, "Lubang di depan SD itu makin besar.", name="Joko")
    ani = await world.file(ANI, "Jalan depan SD 3 rusak parah.", name="Ani")
    siti_again = await world.file(SITI, "Saya lapor lagi soal lubang depan SD.")
    for duplicate in (joko, joko_again, ani, siti_again):
        await world.staff(f"/gabung {duplicate.code} {main.code}")
    world.clear()

    await world.staff(f"/disposisi {main.code} YANKES")
    disposed = T("reporter_disposed", code=main.code, unit=YANKES.name)
    for reporter in (SITI, JOKO, ANI):
        assert [m.text for m in world.told(reporter)] == [disposed], reporter
    # each duplicate's reporter hears it under their own case's record
    assert [m.case_code for m in world.told(JOKO)] == [joko.code]

    world.clear()
    await world.staff(f"/lengkapi {main.code} Mohon kirim foto lubangnya.")
    asked = T("reporter_info_requested", code=main.code, message="Mohon kirim foto lubangnya.")
    for reporter in (SITI, JOKO, ANI):
        assert [m.text for m in world.told(reporter)] == [asked], reporter
    world.clear()
    await world.desk().remind(await world.case(main.code))  # the deadline rules' reminder
    for reporter in (SITI, JOKO, ANI):
        [reminder] = world.told(reporter)
        assert reminder.text.startswith(f"⏰ Pengingat: pengaduan {main.code}"), reporter

    world.clear()
    await world.says(ANI, "Ini fotonya, lubangnya sekitar satu meter.")  # Ani completes it
    assert (await world.case(main.code)).status is CaseStatus.DISPOSED
    await world.staff(f"/jawab {main.code} Lubang sudah ditambal hari ini.", YANKES_CHAT)
    answered = T(
        "reporter_answered",
        code=main.code,
        unit=YANKES.name,
        answer="Lubang sudah ditambal hari ini.",
    )
    for reporter in (SITI, JOKO, ANI):
        assert answered in [m.text for m in world.told(reporter)], reporter

    world.clear()
    await world.staff(f"/selesai {main.code} sudah ditambal")
    closed = T(
        "reporter_closed",
        code=main.code,
        note_line=T("reporter_closed_note", note="sudah ditambal"),
    )
    [closing, rating] = world.told(SITI)
    assert closing.text == closed and rating.purpose == RATING and rating.buttons
    for reporter in (JOKO, ANI):  # the rating is the main case's reporter's to give
        assert [(m.text, m.buttons) for m in world.told(reporter)] == [(closed, ())], reporter


async def test_an_answers_album_reaches_the_duplicates_reporters_whole(world: World) -> None:
    main = await world.file(SITI)
    duplicate = await world.file(JOKO, SAME_POTHOLE, name="Joko")
    await world.staff(f"/gabung {duplicate.code} {main.code}")
    await world.staff(f"/disposisi {main.code} YANKES")
    world.clear()
    photos = [
        Attachment(AttachmentKind.PHOTO, f"tg-{n}", Channel.TELEGRAM, caption=None) for n in (1, 2)
    ]
    rina = Actor("staff", "601", "Rina", YANKES.chat_id)
    await world.desk().answer(main.code, YANKES, "Sudah ditambal.", (photos[0],), rina, "album-1")
    await world.desk().answer(main.code, YANKES, "", (photos[1],), rina, "album-1")
    for reporter in (SITI, JOKO):
        [answer] = world.told(reporter)
        assert [a.ref for a in answer.attachments] == ["tg-1", "tg-2"], reporter


async def test_merging_is_refused_clearly(world: World) -> None:
    main = await world.file(SITI)
    duplicate = await world.file(JOKO, SAME_POTHOLE, name="Joko")
    closed = await world.file(ANI, "Sudah selesai.", name="Ani")
    refused = await world.file(ANI, "Di luar kewenangan.", name="Ani")
    await world.staff(f"/selesai {closed.code}")
    await world.staff(f"/tolak {refused.code} bukan kewenangan dinas")
    usage = T("err_usage", usage=USAGE[Action.MERGE])

    async def refusal(args: str) -> str:
        world.clear()
        [said] = await world.staff(f"/gabung {args}".rstrip())
        assert world.told(SITI) == world.told(JOKO) == []  # no reporter hears of it
        return said

    assert await refusal("") == usage
    assert await refusal(duplicate.code) == usage
    assert await refusal(f"{duplicate.code} {main.code} lagi") == usage
    same = await refusal(f"{main.code} {main.code.lower()}")
    assert same == T("err_merge_same", code=main.code)
    assert await refusal(f"ADU-NOPE22 {main.code}") == T("err_unknown_case", code="ADU-NOPE22")
    assert await refusal(f"{duplicate.code} adu-nope22") == T("err_unknown_case", code="ADU-NOPE22")
    assert await refusal(f"{closed.code} {main.code}") == T(
        "err_merge_closed", code=closed.code, status="Selesai"
    )
    assert await refusal(f"{duplicate.code} {closed.code}") == T(
        "err_merge_main_closed", code=closed.code, status="Selesai"
    )
    assert await refusal(f"{duplicate.code} {refused.code}") == T(
        "err_merge_main_closed", code=refused.code, status="Ditolak"
    )
    assert (await world.case(duplicate.code)).merged_into is None

    await world.staff(f"/gabung {duplicate.code} {main.code}")
    into_own = await refusal(f"{main.code} {duplicate.code}")
    assert into_own == T("err_merge_into_own_duplicate", code=duplicate.code, duplicate=main.code)
    third = await world.file(ANI, "Lubang depan SD.", name="Ani")
    into_merged = await refusal(f"{third.code} {duplicate.code}")
    assert into_merged == T(
        "err_merge_main_merged", code=duplicate.code, main=main.code, duplicate=third.code
    )
    assert (await world.case(main.code)).status is CaseStatus.NEW


async def test_a_main_case_merged_on_takes_its_duplicates_along(world: World) -> None:
    first = await world.file(SITI)
    second = await world.file(JOKO, SAME_POTHOLE, name="Joko")
    third = await world.file(ANI, "Lubang jalan depan SD 3.", name="Ani")
    await world.staff(f"/gabung {second.code} {first.code}")
    world.clear()
    await world.staff(f"/gabung {first.code} {third.code}")  # the first is the duplicate now

    for code in (first.code, second.code):
        stored = await world.case(code)
        assert stored.merged_into == third.code, code
    assert [m.text for m in world.told(JOKO)] == [
        T("reporter_merged", code=second.code, main=third.code)
    ]
    assert [m.text for m in world.told(SITI)] == [
        T("reporter_merged", code=first.code, main=third.code)
    ]
    joined = [e.note for e in await world.history(third.code) if e.kind is EventKind.MERGED_IN]
    assert joined == [second.code, first.code]
    world.clear()
    await world.staff(f"/disposisi {third.code} P2P")
    for reporter in (SITI, JOKO, ANI):
        assert len(world.told(reporter)) == 1, reporter


# ---------------------------------------------------------------------- the duplicate's reporter
async def test_a_duplicates_reporter_writing_later_reaches_the_main_case(world: World) -> None:
    main = await world.file(SITI)
    duplicate = await world.file(JOKO, SAME_POTHOLE, name="Joko")
    await world.staff(f"/disposisi {main.code} YANKES")
    await world.staff(f"/gabung {duplicate.code} {main.code}")
    world.clear()

    replies = await world.says(JOKO, "Tadi pagi ada motor jatuh lagi di lubang itu.")
    assert replies == [T("followup_added", code=main.code)]
    [relayed] = [m.text for m in world.uow.outbox.to(OFFICERS)]
    assert relayed == T(
        "officers_followup",
        code=main.code,
        text=T(
            "followup_from_duplicate",
            code=duplicate.code,
            text="Tadi pagi ada motor jatuh lagi di lubang itu.",
        ),
    )
    [to_unit] = [m.text for m in world.uow.outbox.to(YANKES_CHAT)]
    assert duplicate.code in to_unit and "motor jatuh lagi" in to_unit
    [event] = (await world.history(main.code))[-1:]
    assert (event.kind, event.actor.name) == (EventKind.FOLLOW_UP, "Joko")
    assert world.told(SITI) == []  # the main's reporter is not told of it

    # /status names the case it joined
    [status] = await world.says(JOKO, "/status")
    assert T("merged_status", status="Selesai", main=main.code) in status

    # once the main case is closed, a new message is a new complaint
    await world.staff(f"/selesai {main.code}")
    world.clear()
    replies = await world.says(JOKO, "Sekarang lampu jalannya yang mati.")
    assert replies[0] == T("welcome", agency=OFFICE.name)


async def test_a_duplicates_reporter_with_a_case_of_their_own_is_asked_which(
    world: World,
) -> None:
    main = await world.file(SITI)
    duplicate = await world.file(JOKO, SAME_POTHOLE, name="Joko")
    own = await world.file(JOKO, "Lampu jalan mati di Gang Mawar.", name="Joko")
    await world.staff(f"/gabung {duplicate.code} {main.code}")
    world.clear()
    [question] = await world.says(JOKO, "Ada kabar?")
    assert question == T("followup_choose_case")
    [choices] = world.told(JOKO)[-1:]
    assert [b.label for row in choices.buttons for b in row] == [own.code, main.code]
    await world.says(JOKO, main.code)
    [event] = (await world.history(main.code))[-1:]
    assert (event.kind, event.note) == (EventKind.FOLLOW_UP, "Ada kabar?")
