"""A unit's answer reviewed before it reaches the reporter (`[workflow] answer_review`,
issue 21), over the real webhook: SOP 002's "the unit answers the officer, the officer
informs the reporter" with the officers reviewing, and the supervisor reviewing where the
agency file says so. The reporter gets the answer only once it is approved; a revision
goes back to the unit with its note; the unit sees what the reviewer corrected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.standins.telegram import Chat, SentMessage, TelegramStandIn, User
from tests.e2e.conftest import (
    AGENCY,
    OFFICERS,
    SUPERVISOR,
    TOKEN,
    YANKES,
    World,
    running,
    settled,
)
from tests.e2e.test_chain_of_command import answer_of, case_of, labels, labels_now, said

DESCRIPTION = "Obat hipertensi di Puskesmas Sukamaju habis sejak seminggu, pasien disuruh beli."
HEAD = User(9001, "Kepala", "Dinas")
SUPERVISOR_CHAT = Chat.group(SUPERVISOR, "Atasan")
BY_OFFICERS = AGENCY + '\n[workflow]\nanswer_review = "officers"\n'
BY_SUPERVISOR = AGENCY + '\n[workflow]\nanswer_review = "supervisor"\n'
FIRST = "Sudah kami cek, obat akan dikirim."
BETTER = "Sebanyak 40 kotak obat hipertensi dikirim ke Puskesmas Sukamaju hari Senin."
CORRECTED = "Sebanyak 40 kotak obat hipertensi sudah tiba di Puskesmas Sukamaju pada Senin."
ANSWERED = "Tanggapan Bidang Pelayanan Kesehatan"


@pytest.fixture
async def reviewed_by_officers(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=BY_OFFICERS) as world:
        yield world


@pytest.fixture
async def reviewed_by_supervisor(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> AsyncIterator[World]:
    async with running(tg, database_url, tmp_path, agency=BY_SUPERVISOR) as world:
        yield world


async def disposed(world: World) -> tuple[str, SentMessage]:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    return code, unit_case


async def test_the_officers_review_send_back_and_approve_a_corrected_answer(
    reviewed_by_officers: World,
) -> None:
    world, tg = reviewed_by_officers, reviewed_by_officers.tg
    code, unit_case = await disposed(world)

    # SOP 002 step 7: the unit answers the officer (a reply to its case message)
    await world.says(world.unit_staff, FIRST, chat=world.yankes, reply_to=unit_case)
    first = await world.expect(OFFICERS, f"untuk {code} menunggu tinjauan")
    assert f"\nJawaban:\n{FIRST}\n" in first.content and DESCRIPTION in first.content
    assert labels(first) == ["✅ Setujui & kirim", "✍️ Revisi"]
    await world.expect(YANKES, f"Jawaban untuk {code} diteruskan kepada petugas pengaduan")
    await settled(world)
    assert said(world, world.citizen.id, ANSWERED) == []  # not before the review
    assert (await case_of(world, code)).status.value == "ditinjau"

    # the officer sends it back: ✍️ asks for the note, the reply to the question is it
    await tg.user_taps(world.officer, first, "✍️ Revisi")
    question = await world.expect(OFFICERS, "catatan revisi")
    await world.says(
        world.officer,
        "Sebutkan jumlah obat dan kapan dikirim.",
        chat=world.officers,
        reply_to=question,
    )
    notice = await world.expect(YANKES, f"Jawaban {code} dikembalikan untuk direvisi")
    assert "Sebutkan jumlah obat dan kapan dikirim." in notice.content
    await world.expect(OFFICERS, f"Jawaban {code} dikembalikan ke Bidang Pelayanan")
    await settled(world)
    assert labels_now(world, first) == []  # a done review's buttons go
    assert (await case_of(world, code)).status.value == "didisposisi"

    # the unit answers anew with a photo; the officer approves with a corrected text
    await tg.user_sends_photo(
        world.unit_staff, caption=f"/jawab {code} {BETTER}", chat=world.yankes
    )
    second = await world.expect(OFFICERS, "Ini versi 2")
    assert second.kind == "photo" and BETTER in second.content
    await world.says(world.officer, f"/setujui {code} {CORRECTED}", chat=world.officers)

    # SOP 002 step 8: the reporter is informed, with the unit's photo
    answer = await world.expect(world.citizen.id, ANSWERED)
    assert CORRECTED in answer.content and answer.kind == "photo"
    assert BETTER not in answer.content and FIRST not in answer.content
    approved = await world.expect(OFFICERS, "Disetujui oleh Budi Petugas")
    assert CORRECTED in approved.content
    told = await world.expect(YANKES, f"Jawaban untuk {code} disetujui Budi Petugas")
    assert "«dikirim ke» → «sudah tiba di»" in told.content
    assert "• «hari» → «pada»" in told.content
    assert told.content.endswith(f"Jawaban yang dikirim:\n{CORRECTED}")
    await settled(world)
    assert len(said(world, world.citizen.id, ANSWERED)) == 1
    assert labels_now(world, second) == []
    case = await case_of(world, code)
    assert case.status.value == "dijawab" and case.answered_at is not None
    detail = await answer_of(world, world.officer, world.officers, f"/kasus {code}")
    assert "jawaban dikembalikan untuk direvisi" in detail
    assert "jawaban unit diajukan untuk ditinjau" in detail


async def test_the_supervisor_reviews_and_officers_cannot_approve(
    reviewed_by_supervisor: World,
) -> None:
    world, tg = reviewed_by_supervisor, reviewed_by_supervisor.tg
    code, _ = await disposed(world)
    await world.says(world.unit_staff, f"/jawab {code} {BETTER}", chat=world.yankes)
    request = await world.expect(SUPERVISOR, f"untuk {code} menunggu tinjauan")
    await world.expect(YANKES, "diteruskan kepada atasan untuk ditinjau")
    refused = await answer_of(world, world.officer, world.officers, f"/setujui {code}")
    assert refused == f"Jawaban {code} ditinjau oleh atasan, di chat mereka."
    await settled(world)
    assert said(world, world.citizen.id, ANSWERED) == []

    await tg.user_taps(HEAD, request, "✅ Setujui & kirim")
    answer = await world.expect(world.citizen.id, ANSWERED)
    assert BETTER in answer.content
    await world.expect(SUPERVISOR, f"Jawaban {code} disetujui Kepala Dinas")
    await world.expect(OFFICERS, "Disetujui oleh Kepala Dinas")
    told = await world.expect(YANKES, f"Jawaban untuk {code} disetujui Kepala Dinas")
    assert "Peninjau memperbaiki" not in told.content
    await settled(world)
    assert labels_now(world, request) == []
    # the same approval again says what the case is now
    again = await answer_of(world, HEAD, SUPERVISOR_CHAT, f"/setujui {code}")
    assert again == f"Kasus {code} tidak sedang menunggu tinjauan jawaban (status: Dijawab)."


async def test_a_supervisor_who_is_one_person_reviews_in_their_own_chat(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """The agency file may name the supervisor's own chat with the bot (their user id):
    that chat is the supervisor chat, not a citizen's."""
    agency = BY_SUPERVISOR.replace(
        f"supervisor_chat_id = {SUPERVISOR}", f"supervisor_chat_id = {HEAD.id}"
    )
    assert agency != BY_SUPERVISOR
    async with running(tg, database_url, tmp_path, agency=agency) as world:
        code, _ = await disposed(world)
        await world.says(world.unit_staff, f"/jawab {code} {BETTER}", chat=world.yankes)
        await world.expect(HEAD.id, f"untuk {code} menunggu tinjauan")
        detail = await answer_of(world, HEAD, Chat.private(HEAD), f"/kasus {code}")
        assert detail.startswith(f"Kasus {code}") and DESCRIPTION in detail
        helped = await answer_of(world, HEAD, Chat.private(HEAD), "/bantuan")
        assert helped.startswith("Perintah chat atasan")
        await world.says(HEAD, f"/setujui {code}")
        answer = await world.expect(world.citizen.id, ANSWERED)
        assert BETTER in answer.content
        await world.expect(HEAD.id, f"Jawaban {code} disetujui Kepala Dinas")


async def test_an_album_answer_is_reviewed_as_one_and_sent_as_one(
    database_url: str, tmp_path: Path
) -> None:
    """A unit's answer of several photos, the command in the first one's caption: where
    the bot reads all of the group's messages (an administrator, or privacy mode off) the
    other photos come too, and all of them are reviewed and sent as one album."""
    tg = TelegramStandIn(token=TOKEN, bot_username="aduan_test_bot", privacy_mode=False)
    await tg.start()
    try:
        async with running(tg, database_url, tmp_path, agency=BY_OFFICERS) as world:
            code, _ = await disposed(world)
            caption = f"/jawab {code} {BETTER}"
            await tg.user_sends_album(world.unit_staff, 3, caption=caption, chat=world.yankes)
            await world.expect(OFFICERS, f"untuk {code} menunggu tinjauan")
            album = await tg.wait_for(
                lambda sent: sum(m.method == "sendMediaGroup" for m in sent) == 3,
                chat_id=OFFICERS,
                timeout=10,
            )
            assert len({m.media_group_id for m in album if m.media_group_id}) == 1
            await settled(world)
            assert said(world, OFFICERS, "Lampiran tambahan") == []  # one answer, one album
            assert len(said(world, YANKES, "diteruskan kepada petugas")) == 1
            await world.says(world.officer, f"/setujui {code}", chat=world.officers)
            await world.expect(world.citizen.id, ANSWERED)
            sent = await tg.wait_for(
                lambda all_sent: sum(m.method == "sendMediaGroup" for m in all_sent) == 3,
                chat_id=world.citizen.id,
                timeout=10,
            )
            assert len({m.media_group_id for m in sent if m.media_group_id}) == 1
    finally:
        await tg.stop()
