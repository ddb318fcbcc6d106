"""The case lifecycle (CaseDesk) on the in-memory fakes: who is told what, and the trail.

Every test looks at the outbox per recipient: the reporter's private chat, the officers'
group and the units' groups, and at the stored case and its events.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.cases import CASE_MESSAGE, Refusal
from bot.core.dialogue import Submission
from bot.core.model import (
    MAX_BUTTON_ACTION_BYTES,
    Actor,
    Attachment,
    AttachmentKind,
    Case,
    CaseStatus,
    Channel,
    EventKind,
    Privacy,
    Recipient,
    Reporter,
)
from bot.core.office import Unit
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

SOP_ACK = (
    "Baik, informasi pengaduan yang Bapak/Ibu kirim akan segera kami tindak lanjuti ke "
    "unit terkait dan akan kami berikan informasi lanjutan, terima kasih."
)
SDK = Unit("SDK", "Bidang Sumber Daya Kesehatan", "-2003")
KESMAS = Unit("KESMAS", "Bidang Kesehatan Masyarakat", "-2004")
OFFICE = sample_office(YANKES, P2P, SDK, KESMAS)
UNIT_CHATS = [Recipient(Channel.TELEGRAM, u.chat_id) for u in OFFICE.units]

PHONE = "081234567890"
WA_NUMBER = "+6281234567890"
NAME = "Siti Aminah"
OFFICER = Actor("staff", "501", "Budi Santoso", OFFICERS.address)
YANKES_STAFF = Actor("staff", "601", "Rina", YANKES.chat_id)
P2P_STAFF = Actor("staff", "602", "Joko", P2P.chat_id)


def photo(ref: str) -> Attachment:
    return Attachment(AttachmentKind.PHOTO, ref, Channel.WHATSAPP, mime_type="image/jpeg")


def submission(privacy: Privacy = Privacy.NORMAL, *, attachments: int = 2) -> Submission:
    return Submission(
        description=DESCRIPTION,
        location_text="Puskesmas Sukamaju, Jl. Melati 3",
        location=None,
        occurred_text="kemarin pagi",
        attachments=tuple(photo(f"media/p{n}.jpg") for n in range(1, attachments + 1)),
        privacy=privacy,
        name=NAME,
        contact=PHONE,
    )


class World(OfficeWorld):
    """The sample office with four units, and helpers for cases filed through the desk."""

    def __init__(self) -> None:
        super().__init__(OFFICE)

    async def reporter(self, address: str = WA_NUMBER) -> Reporter:
        return await self.uow.reporters.get_or_create(Channel.WHATSAPP, address, "Siti")

    async def case(self, code: str) -> Case:
        case = await self.uow.cases.get_by_code(code)
        assert case is not None
        return case

    async def kinds(self, case: Case) -> list[EventKind]:
        assert case.id is not None
        return [e.kind for e in await self.uow.cases.events(case.id)]

    async def submitted(self, privacy: Privacy = Privacy.NORMAL, attachments: int = 2) -> Case:
        """A case just filed, with the outbox emptied."""
        case = await self.desk().submit(
            await self.reporter(), submission(privacy, attachments=attachments)
        )
        self.clock.advance(timedelta(minutes=5))
        self.clear()
        return case

    async def disposed(self, privacy: Privacy = Privacy.NORMAL, unit: Unit = YANKES) -> Case:
        case = await self.submitted(privacy)
        await self.desk().dispose(case.code, unit.code, "Mohon dicek stok obat", OFFICER)
        self.clock.advance(timedelta(minutes=5))
        self.clear()
        return await self.case(case.code)


@pytest.fixture
def world() -> World:
    return World()


REPORTER = Recipient(Channel.WHATSAPP, WA_NUMBER)


# ---------------------------------------------------------------------- submit
async def test_submit_acknowledges_with_sop_sentence_and_code(world: World) -> None:
    reporter = await world.reporter()
    case = await world.desk().submit(reporter, submission())

    assert case.code.startswith("ADU-") and case.id is not None
    [ack] = world.uow.outbox.to(REPORTER)
    assert ack.text == T("acknowledgement", code=case.code)
    assert ack.text.startswith(SOP_ACK)
    assert f"Kode pelacakan: {case.code}" in ack.text
    assert ack.case_id == case.id
    stored = await world.case(case.code)
    assert stored.status is CaseStatus.NEW
    assert stored.reporter_id == reporter.id
    assert stored.channel is Channel.WHATSAPP
    assert [a.ref for a in stored.attachments] == ["media/p1.jpg", "media/p2.jpg"]
    # units hear nothing before a disposition
    assert all(world.to(chat) == [] for chat in UNIT_CHATS)
    assert len(world.sent) == 2


async def test_submit_relays_everything_to_officers_with_one_tap_actions(world: World) -> None:
    case = await world.desk().submit(await world.reporter(), submission(Privacy.CONFIDENTIAL))

    [relay] = world.uow.outbox.to(OFFICERS)
    assert relay.text == T(
        "officers_new_case",
        code=case.code,
        intake="",  # the reporter sent it: no lines about who entered it
        channel="WhatsApp",
        privacy="rahasia",
        name=NAME,
        contact=PHONE,
        description=DESCRIPTION,
        location="Puskesmas Sukamaju, Jl. Melati 3",
        occurred="kemarin pagi",
        attachments="2 berkas",
    )
    # officers see who reported, even for rahasia
    assert f"Pelapor: {NAME} · Kontak: {PHONE}" in relay.text
    assert relay.purpose == CASE_MESSAGE and relay.case_id == case.id
    assert [a.ref for a in relay.attachments] == ["media/p1.jpg", "media/p2.jpg"]
    actions = [[b.action for b in row] for row in relay.buttons]
    assert actions == [
        [f"d:{case.code}:YANKES", f"d:{case.code}:P2P", f"d:{case.code}:SDK"],
        [f"d:{case.code}:KESMAS"],
        [f"l:{case.code}", f"t:{case.code}"],
    ]
    labels = [b.label for row in relay.buttons for b in row]
    assert labels == [
        "➡️ YANKES",
        "➡️ P2P",
        "➡️ SDK",
        "➡️ KESMAS",
        "❓ Minta kelengkapan",
        "⛔ Tolak",
    ]
    assert all(
        len(b.action.encode()) <= MAX_BUTTON_ACTION_BYTES for row in relay.buttons for b in row
    )


async def test_submit_without_attachments_says_so(world: World) -> None:
    await world.desk().submit(await world.reporter(), submission(attachments=0))
    [relay] = world.uow.outbox.to(OFFICERS)
    assert "Lampiran: tidak ada" in relay.text
    assert relay.attachments == ()


async def test_submit_records_the_reporter_in_the_trail(world: World) -> None:
    case = await world.desk().submit(await world.reporter(), submission())
    assert case.id is not None
    [event] = await world.uow.cases.events(case.id)
    assert event.kind is EventKind.SUBMITTED
    assert event.actor.role == "reporter"
    assert event.actor.name == NAME and event.actor.user_id == WA_NUMBER
    assert event.status_after is CaseStatus.NEW
    assert event.at == world.clock.now()


# ---------------------------------------------------------------------- dispose
async def test_dispose_sends_case_to_unit_without_phone_number(world: World) -> None:
    case = await world.submitted()
    await world.desk().dispose(case.code, "yankes", "Mohon dicek stok obat", OFFICER)

    [to_unit] = world.uow.outbox.to(YANKES_CHAT)
    assert to_unit.text == T(
        "unit_new_case",
        code=case.code,
        unit="Bidang Pelayanan Kesehatan (YANKES)",
        reporter=NAME,
        description=DESCRIPTION,
        location="Puskesmas Sukamaju, Jl. Melati 3",
        occurred="kemarin pagi",
        attachments="2 berkas",
        note_line="\nCatatan: Mohon dicek stok obat",
    )
    assert PHONE not in to_unit.text and WA_NUMBER not in to_unit.text
    assert "81234567890" not in to_unit.text
    assert to_unit.purpose == CASE_MESSAGE and to_unit.case_id == case.id
    assert [a.ref for a in to_unit.attachments] == ["media/p1.jpg", "media/p2.jpg"]
    assert world.to(P2P_CHAT) == []

    assert world.to(REPORTER) == [
        T("reporter_disposed", code=case.code, unit="Bidang Pelayanan Kesehatan")
    ]
    assert "Dalam Proses" in world.to(REPORTER)[0]
    assert "Bidang Pelayanan Kesehatan" in world.to(REPORTER)[0]
    assert world.to(OFFICERS) == [
        f"➡️ {case.code} didisposisi ke Bidang Pelayanan Kesehatan (YANKES) oleh Budi Santoso."
        "\nCatatan: Mohon dicek stok obat"
    ]

    stored = await world.case(case.code)
    assert stored.status is CaseStatus.DISPOSED
    assert stored.unit_code == "YANKES"
    assert stored.disposed_at == world.clock.now()


@pytest.mark.parametrize(
    ("privacy", "label"), [(Privacy.ANONYMOUS, "anonim"), (Privacy.CONFIDENTIAL, "rahasia")]
)
async def test_dispose_hides_name_from_unit_for_anonim_and_rahasia(
    world: World, privacy: Privacy, label: str
) -> None:
    case = await world.submitted(privacy)
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)

    [to_unit] = world.uow.outbox.to(YANKES_CHAT)
    assert f"Identitas pelapor: disembunyikan ({label})" in to_unit.text
    assert NAME not in to_unit.text and "Siti" not in to_unit.text
    assert PHONE not in to_unit.text and "81234567890" not in to_unit.text
    assert "Catatan" not in to_unit.text
    # the officers' notice without a note has no note line
    assert world.to(OFFICERS) == [
        f"➡️ {case.code} didisposisi ke Bidang Pelayanan Kesehatan (YANKES) oleh Budi Santoso."
    ]


async def test_redispose_to_another_unit_tells_the_old_unit(world: World) -> None:
    case = await world.disposed()
    await world.desk().dispose(case.code, "P2P", "Salah bidang", OFFICER)

    assert world.to(YANKES_CHAT) == [T("unit_case_moved", code=case.code)]
    [to_new] = world.uow.outbox.to(P2P_CHAT)
    assert to_new.text.startswith(f"📌 Disposisi {case.code} untuk Bidang Pencegahan Penyakit")
    assert world.to(REPORTER) == [
        T("reporter_disposed", code=case.code, unit="Bidang Pencegahan Penyakit")
    ]
    stored = await world.case(case.code)
    assert stored.unit_code == "P2P" and stored.status is CaseStatus.DISPOSED


async def test_dispose_again_to_the_same_unit_is_refused(world: World) -> None:
    case = await world.disposed()
    with pytest.raises(Refusal) as caught:
        await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    assert caught.value.key == "err_bad_status"
    assert caught.value.params == {"code": case.code, "status": "Dalam Proses"}
    assert world.sent == []


async def test_dispose_to_unknown_unit_is_refused_with_the_list(world: World) -> None:
    case = await world.submitted()
    with pytest.raises(Refusal) as caught:
        await world.desk().dispose(case.code, "DUKCAPIL", None, OFFICER)
    refusal = caught.value
    assert refusal.key == "err_unknown_unit"
    assert T(refusal.key, **refusal.params) == (
        "Unit DUKCAPIL tidak dikenal. Pilihan: YANKES, P2P, SDK, KESMAS."
    )
    assert world.sent == []
    assert (await world.case(case.code)).status is CaseStatus.NEW
    assert await world.kinds(case) == [EventKind.SUBMITTED]


async def test_unknown_code_is_refused(world: World) -> None:
    desk = world.desk()
    for step in (
        desk.dispose("adu-zzzzzz", "YANKES", None, OFFICER),
        desk.request_info("ADU-ZZZZZZ", "foto?", OFFICER),
        desk.refuse("ADU-ZZZZZZ", "bukan kewenangan", OFFICER),
        desk.close("ADU-ZZZZZZ", None, OFFICER),
        desk.answer("ADU-ZZZZZZ", YANKES, "sudah", (), YANKES_STAFF),
        desk.return_to_officers("ADU-ZZZZZZ", YANKES, "bukan kami", YANKES_STAFF),
    ):
        with pytest.raises(Refusal) as caught:
            await step
        assert caught.value.key == "err_unknown_case"
        assert caught.value.params == {"code": "ADU-ZZZZZZ"}
    assert world.sent == []


async def test_codes_are_found_whatever_their_case(world: World) -> None:
    case = await world.submitted()
    await world.desk().dispose(case.code.lower(), "YANKES", None, OFFICER)
    assert (await world.case(case.code)).status is CaseStatus.DISPOSED


# ---------------------------------------------------------------------- request info
async def test_request_info_asks_the_reporter_and_waits(world: World) -> None:
    case = await world.disposed()
    message = "Mohon kirim foto resep dan nama puskesmas."
    await world.desk().request_info(case.code, message, OFFICER)

    assert world.to(REPORTER) == [T("reporter_info_requested", code=case.code, message=message)]
    assert world.to(OFFICERS) == [
        f"❓ Kelengkapan {case.code} diminta oleh Budi Santoso: {message}"
    ]
    assert world.to(YANKES_CHAT) == []
    stored = await world.case(case.code)
    assert stored.status is CaseStatus.NEEDS_INFO
    assert stored.status_before_info_request is CaseStatus.DISPOSED


async def test_reporter_completing_restores_previous_status_and_relays(world: World) -> None:
    case = await world.disposed()
    await world.desk().request_info(case.code, "Mohon foto resep.", OFFICER)
    world.clear()
    reporter = await world.reporter()
    stored = await world.case(case.code)
    resep = photo("media/resep.jpg")

    await world.desk().add_from_reporter(
        stored, reporter, "Ini foto resepnya", (resep,), None, first_of_album=True
    )

    assert world.to(REPORTER) == [T("info_added", code=case.code)]
    [to_officers] = world.uow.outbox.to(OFFICERS)
    assert to_officers.text == f"📎 Pelapor melengkapi {case.code}:\nIni foto resepnya"
    assert to_officers.attachments == (resep,)
    [to_unit] = world.uow.outbox.to(YANKES_CHAT)
    assert to_unit.text == f"💬 Tambahan dari pelapor untuk {case.code}:\nIni foto resepnya"
    assert to_unit.attachments == (resep,)
    after = await world.case(case.code)
    assert after.status is CaseStatus.DISPOSED
    assert after.status_before_info_request is None
    assert after.id is not None
    last = (await world.uow.cases.events(after.id))[-1]
    assert last.kind is EventKind.INFO_ADDED
    assert last.note == "Ini foto resepnya" and last.attachments == (resep,)
    assert last.actor.role == "reporter" and last.actor.name == NAME


async def test_completing_a_new_case_goes_back_to_new_and_only_officers_hear(
    world: World,
) -> None:
    case = await world.submitted()
    await world.desk().request_info(case.code, "Di puskesmas mana?", OFFICER)
    # asking twice keeps the status to return to
    await world.desk().request_info(case.code, "Mohon jawab ya.", OFFICER)
    assert (await world.case(case.code)).status_before_info_request is CaseStatus.NEW
    world.clear()

    await world.desk().add_from_reporter(
        await world.case(case.code),
        await world.reporter(),
        "Puskesmas Sukamaju",
        (),
        None,
        first_of_album=True,
    )
    assert (await world.case(case.code)).status is CaseStatus.NEW
    assert world.to(OFFICERS) == [f"📎 Pelapor melengkapi {case.code}:\nPuskesmas Sukamaju"]
    assert all(world.to(chat) == [] for chat in UNIT_CHATS)
    assert world.to(REPORTER) == [T("info_added", code=case.code)]


async def test_follow_up_without_request_is_relayed_and_status_kept(world: World) -> None:
    case = await world.disposed()
    await world.desk().add_from_reporter(
        case, await world.reporter(), "Hari ini masih kosong", (), None, first_of_album=True
    )
    assert world.to(REPORTER) == [T("followup_added", code=case.code)]
    assert world.to(OFFICERS) == [
        f"💬 Pesan tambahan pelapor untuk {case.code}:\nHari ini masih kosong"
    ]
    assert world.to(YANKES_CHAT) == [
        f"💬 Tambahan dari pelapor untuk {case.code}:\nHari ini masih kosong"
    ]
    assert (await world.case(case.code)).status is CaseStatus.DISPOSED
    assert (await world.kinds(case))[-1] is EventKind.FOLLOW_UP


# ---------------------------------------------------------------------- answer
async def test_answer_by_the_right_unit_reaches_reporter_and_officers(world: World) -> None:
    case = await world.disposed()
    scan = Attachment(AttachmentKind.DOCUMENT, "tg-file-1", Channel.TELEGRAM, "surat.pdf")
    text = "Stok obat sudah dikirim ke puskesmas hari ini."
    await world.desk().answer(case.code, YANKES, text, (scan,), YANKES_STAFF)

    [to_reporter] = world.uow.outbox.to(REPORTER)
    assert to_reporter.text == (
        f"Tanggapan Bidang Pelayanan Kesehatan atas pengaduan {case.code}:\n\n{text}"
    )
    assert to_reporter.attachments == (scan,)
    [to_officers] = world.uow.outbox.to(OFFICERS)
    assert to_officers.text == T("officers_answered", code=case.code, unit="YANKES", answer=text)
    assert to_officers.attachments == (scan,)
    assert world.to(YANKES_CHAT) == [T("unit_answer_sent", code=case.code)]

    stored = await world.case(case.code)
    assert stored.status is CaseStatus.ANSWERED
    assert stored.answered_at == world.clock.now()


async def test_answer_album_goes_out_as_one_message_each(world: World) -> None:
    case = await world.disposed()
    pics = [Attachment(AttachmentKind.PHOTO, f"tg-{n}", Channel.TELEGRAM) for n in range(3)]
    desk = world.desk()
    await desk.answer(case.code, YANKES, "Sudah diperbaiki", (pics[0],), YANKES_STAFF, "alb")
    await desk.answer(case.code, YANKES, "", (pics[1],), YANKES_STAFF, "alb")
    await desk.answer(case.code, YANKES, "", (pics[2],), YANKES_STAFF, "alb")

    [to_reporter] = world.uow.outbox.to(REPORTER)
    assert to_reporter.attachments == tuple(pics)
    assert to_reporter.text.endswith("Sudah diperbaiki")
    [to_officers] = world.uow.outbox.to(OFFICERS)
    assert to_officers.attachments == tuple(pics)
    assert world.to(YANKES_CHAT) == [T("unit_answer_sent", code=case.code)]


async def test_answer_by_the_wrong_unit_is_refused_and_changes_nothing(world: World) -> None:
    case = await world.disposed()
    before = await world.kinds(case)
    with pytest.raises(Refusal) as caught:
        await world.desk().answer(case.code, P2P, "Sudah beres", (), P2P_STAFF)
    assert caught.value.key == "err_not_your_case"
    assert T(caught.value.key, **caught.value.params) == (
        f"Kasus {case.code} tidak didisposisi ke unit ini."
    )
    assert world.sent == []
    stored = await world.case(case.code)
    assert stored.status is CaseStatus.DISPOSED and stored.answered_at is None
    assert await world.kinds(case) == before


async def test_answer_before_disposition_is_refused(world: World) -> None:
    case = await world.submitted()
    with pytest.raises(Refusal) as caught:
        await world.desk().answer(case.code, YANKES, "Sudah", (), YANKES_STAFF)
    assert caught.value.key == "err_not_your_case"
    assert world.sent == []


# ---------------------------------------------------------------------- return
async def test_return_to_officers_asks_for_a_new_disposition(world: World) -> None:
    case = await world.disposed()
    await world.desk().return_to_officers(
        case.code, YANKES, "Urusan obat di bidang SDK", YANKES_STAFF
    )

    [to_officers] = world.uow.outbox.to(OFFICERS)
    assert to_officers.text == (
        f"↩️ YANKES mengembalikan {case.code}: Urusan obat di bidang SDK"
        f"\nDisposisi ulang: /disposisi {case.code} UNIT"
    )
    assert [b.action for b in to_officers.buttons[0]] == [
        f"d:{case.code}:YANKES",
        f"d:{case.code}:P2P",
        f"d:{case.code}:SDK",
    ]
    assert world.to(YANKES_CHAT) == [T("unit_returned", code=case.code)]
    assert world.to(REPORTER) == []
    assert (await world.case(case.code)).status is CaseStatus.RETURNED

    # the returned case can go to another unit, and its old unit may no longer answer
    world.clear()
    await world.desk().dispose(case.code, "SDK", None, OFFICER)
    assert (await world.case(case.code)).unit_code == "SDK"
    with pytest.raises(Refusal) as caught:
        await world.desk().answer(case.code, YANKES, "Sudah", (), YANKES_STAFF)
    assert caught.value.key == "err_not_your_case"


async def test_return_by_another_unit_or_after_answer_is_refused(world: World) -> None:
    case = await world.disposed()
    with pytest.raises(Refusal) as caught:
        await world.desk().return_to_officers(case.code, P2P, "bukan kami", P2P_STAFF)
    assert caught.value.key == "err_not_your_case"
    await world.desk().answer(case.code, YANKES, "Sudah dikirim", (), YANKES_STAFF)
    world.clear()
    with pytest.raises(Refusal) as caught:
        await world.desk().return_to_officers(case.code, YANKES, "eh salah", YANKES_STAFF)
    assert caught.value.key == "err_bad_status"
    assert caught.value.params["status"] == "Dijawab"
    assert world.sent == []


# ---------------------------------------------------------------------- refuse, close
async def test_refuse_tells_the_reporter_why(world: World) -> None:
    case = await world.disposed()
    reason = "Puskesmas swasta di luar kewenangan Dinas; silakan lapor ke klinik."
    await world.desk().refuse(case.code, reason, OFFICER)

    assert world.to(REPORTER) == [
        f"Mohon maaf, pengaduan {case.code} tidak dapat kami tindak lanjuti.\nAlasan: {reason}"
    ]
    assert world.to(OFFICERS) == [f"⛔ {case.code} ditolak oleh Budi Santoso: {reason}"]
    assert world.to(YANKES_CHAT) == [T("unit_case_closed", code=case.code)]
    stored = await world.case(case.code)
    assert stored.status is CaseStatus.REFUSED
    assert stored.closed_at == world.clock.now()
    assert not stored.rating_requested


async def test_close_asks_for_a_rating_with_five_buttons(world: World) -> None:
    case = await world.disposed()
    await world.desk().answer(case.code, YANKES, "Stok sudah ada", (), YANKES_STAFF)
    world.clear()
    await world.desk().close(case.code, "Obat sudah tersedia", OFFICER)

    closed, ask = world.uow.outbox.to(REPORTER)
    assert closed.text == (
        f"Pengaduan {case.code} telah Selesai.\nCatatan: Obat sudah tersedia"
        "\nTerima kasih telah menyampaikan pengaduan."
    )
    assert ask.text == T("rating_request", code=case.code)
    assert len(ask.buttons) == 1
    assert [(b.label, b.action) for b in ask.buttons[0]] == [
        (str(n), f"r:{case.code}:{n}") for n in range(1, 6)
    ]
    assert world.to(OFFICERS) == [
        f"🏁 {case.code} ditutup (Selesai) oleh Budi Santoso.\nCatatan: Obat sudah tersedia"
    ]
    assert world.to(YANKES_CHAT) == [T("unit_case_closed", code=case.code)]
    stored = await world.case(case.code)
    assert stored.status is CaseStatus.CLOSED
    assert stored.rating_requested and stored.rating is None
    assert stored.closed_at == world.clock.now()


async def test_close_without_note_or_unit(world: World) -> None:
    case = await world.submitted()
    await world.desk().close(case.code, None, OFFICER)
    assert world.to(REPORTER)[0] == (
        f"Pengaduan {case.code} telah Selesai.\nTerima kasih telah menyampaikan pengaduan."
    )
    assert world.to(OFFICERS) == [f"🏁 {case.code} ditutup (Selesai) oleh Budi Santoso."]
    assert all(world.to(chat) == [] for chat in UNIT_CHATS)


async def test_rating_is_stored_once(world: World) -> None:
    case = await world.submitted()
    await world.desk().close(case.code, None, OFFICER)
    world.clear()
    reporter = await world.reporter()

    await world.desk().rate(await world.case(case.code), reporter, 4)
    assert world.to(REPORTER) == [
        f"Terima kasih atas penilaian Bapak/Ibu (4/5) untuk pengaduan {case.code}."
    ]
    assert world.to(OFFICERS) == [f"⭐ Pelapor {case.code} memberi penilaian 4/5."]
    stored = await world.case(case.code)
    assert stored.rating == 4 and not stored.rating_requested
    world.clear()

    with pytest.raises(Refusal) as caught:
        await world.desk().rate(stored, reporter, 1)
    assert (caught.value.key, caught.value.params) == (
        "rating_already_given",
        {"code": case.code, "rating": 4},
    )
    assert (await world.case(case.code)).rating == 4
    assert world.sent == []


async def test_rating_by_someone_else_is_refused(world: World) -> None:
    case = await world.submitted()
    await world.desk().close(case.code, None, OFFICER)
    stranger = await world.reporter("+6289999999999")
    with pytest.raises(Refusal) as caught:
        await world.desk().rate(await world.case(case.code), stranger, 1)
    assert caught.value.key == "err_button_expired"
    assert (await world.case(case.code)).rating is None


# ---------------------------------------------------------------------- bad status
async def test_steps_on_a_closed_case_are_refused(world: World) -> None:
    case = await world.disposed()
    await world.desk().close(case.code, None, OFFICER)
    world.clear()
    before = await world.kinds(case)
    desk = world.desk()
    for step in (
        desk.dispose(case.code, "P2P", None, OFFICER),
        desk.request_info(case.code, "foto?", OFFICER),
        desk.refuse(case.code, "salah", OFFICER),
        desk.close(case.code, None, OFFICER),
        desk.answer(case.code, YANKES, "Sudah", (), YANKES_STAFF),
    ):
        with pytest.raises(Refusal) as caught:
            await step
        assert caught.value.key == "err_bad_status"
        assert caught.value.params == {"code": case.code, "status": "Selesai"}
    assert T("err_bad_status", **caught.value.params) == (
        f"Kasus {case.code} berstatus Selesai; tindakan ini tidak dapat dilakukan."
    )
    assert world.sent == []
    assert await world.kinds(case) == before
    assert (await world.case(case.code)).status is CaseStatus.CLOSED


async def test_answered_case_cannot_be_disposed_but_refused_case_cannot_be_closed(
    world: World,
) -> None:
    case = await world.disposed()
    await world.desk().answer(case.code, YANKES, "Sudah", (), YANKES_STAFF)
    with pytest.raises(Refusal) as caught:
        await world.desk().dispose(case.code, "P2P", None, OFFICER)
    assert caught.value.params["status"] == "Dijawab"
    await world.desk().refuse(case.code, "Ganda", OFFICER)
    with pytest.raises(Refusal) as caught:
        await world.desk().close(case.code, None, OFFICER)
    assert caught.value.params["status"] == "Ditolak"


# ---------------------------------------------------------------------- audit trail
async def test_audit_trail_records_actor_note_status_and_unit_for_each_step(
    world: World,
) -> None:
    reporter = await world.reporter()
    case = await world.desk().submit(reporter, submission(Privacy.ANONYMOUS))
    start = world.clock.now()
    world.clock.advance(timedelta(minutes=10))
    await world.desk().dispose(case.code, "YANKES", "cek stok", OFFICER)
    world.clock.advance(timedelta(minutes=10))
    await world.desk().return_to_officers(case.code, YANKES, "bukan kami", YANKES_STAFF)
    world.clock.advance(timedelta(minutes=10))
    await world.desk().dispose(case.code, "P2P", None, OFFICER)
    world.clock.advance(timedelta(minutes=10))
    await world.desk().request_info(case.code, "foto resep?", OFFICER)
    world.clock.advance(timedelta(minutes=10))
    await world.desk().add_from_reporter(
        await world.case(case.code), reporter, "ini fotonya", (photo("r.jpg"),), None, True
    )
    world.clock.advance(timedelta(minutes=10))
    await world.desk().answer(case.code, P2P, "sudah ditangani", (), P2P_STAFF)
    world.clock.advance(timedelta(minutes=10))
    await world.desk().close(case.code, "tuntas", OFFICER)
    world.clock.advance(timedelta(minutes=10))
    await world.desk().rate(await world.case(case.code), reporter, 5)

    assert case.id is not None
    events = await world.uow.cases.events(case.id)
    assert [
        (e.kind, e.actor.role, e.actor.name, e.note, e.status_after, e.unit_code) for e in events
    ] == [
        (EventKind.SUBMITTED, "reporter", NAME, None, CaseStatus.NEW, None),
        (EventKind.DISPOSED, "staff", "Budi Santoso", "cek stok", CaseStatus.DISPOSED, "YANKES"),
        (EventKind.RETURNED, "staff", "Rina", "bukan kami", CaseStatus.RETURNED, "YANKES"),
        (EventKind.DISPOSED, "staff", "Budi Santoso", None, CaseStatus.DISPOSED, "P2P"),
        (
            EventKind.INFO_REQUESTED,
            "staff",
            "Budi Santoso",
            "foto resep?",
            CaseStatus.NEEDS_INFO,
            "P2P",
        ),
        (EventKind.INFO_ADDED, "reporter", NAME, "ini fotonya", CaseStatus.DISPOSED, "P2P"),
        (EventKind.ANSWERED, "staff", "Joko", "sudah ditangani", CaseStatus.ANSWERED, "P2P"),
        (EventKind.CLOSED, "staff", "Budi Santoso", "tuntas", CaseStatus.CLOSED, "P2P"),
        (EventKind.RATED, "reporter", NAME, "5", CaseStatus.CLOSED, "P2P"),
    ]
    assert [e.at for e in events] == [start + timedelta(minutes=10 * n) for n in range(9)]
    assert events[5].attachments == (photo("r.jpg"),)
    assert {e.actor.user_id for e in events if e.actor.role == "reporter"} == {WA_NUMBER}
    assert events[1].actor.chat_id == OFFICERS.address
    assert events[2].actor.chat_id == YANKES.chat_id
