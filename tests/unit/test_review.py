"""The review of a unit's answer (`[workflow] answer_review`, issue 21) on the in-memory
fakes: the answer waits in the reviewing chat, reaches the reporter only once approved
(with the reviewer's corrections, which the unit is shown), goes back to the unit with a
note, is replaced by the unit's newer version, and has its own deadline and nudges."""

from __future__ import annotations

import dataclasses
from datetime import time, timedelta

import pytest

from bot.core import review
from bot.core.cases import CASE_MESSAGE, PROMPT_REVISE, REVIEW, Refusal
from bot.core.model import (
    Attachment,
    AttachmentKind,
    Case,
    CaseStatus,
    Channel,
    EventKind,
    Step,
)
from bot.core.office import AnswerReview, Deadlines, Office, Workflow
from bot.core.patrol import patrol
from bot.core.permissions import Action
from bot.core.ports import SentRef
from handlers import chain, officers, supervisor, units
from handlers.staff import StaffMessage
from tests.unit.sample import OFFICERS, YANKES, YANKES_CHAT, T
from tests.unit.test_cases import OFFICER, REPORTER, YANKES_STAFF
from tests.unit.test_chain import HEAD_CHAT, MONDAY, TODAY, World, refusal_text, staff, world_of

BY_OFFICERS = dataclasses.replace(TODAY, workflow=Workflow(answer_review=AnswerReview.OFFICERS))
BY_SUPERVISOR = dataclasses.replace(TODAY, workflow=Workflow(answer_review=AnswerReview.SUPERVISOR))
PHOTO = Attachment(AttachmentKind.PHOTO, "tg-hasil-1", Channel.TELEGRAM)
PHOTO_2 = Attachment(AttachmentKind.PHOTO, "tg-hasil-2", Channel.TELEGRAM)
ANSWER = "Obat sudah dikirim ke Puskesmas Sukamaju pada hari Senin."


async def disposed(office: Office = BY_OFFICERS) -> tuple[World, Case]:
    world = world_of(office)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    world.clear()
    return world, case


def unit_says(text: str = "", *attachments: Attachment) -> StaffMessage:
    msg = staff(YANKES_CHAT, text)
    return dataclasses.replace(msg, user_id="601", user_name="Rina", attachments=attachments)


async def test_the_answer_waits_for_the_officers_and_reaches_the_reporter_once_approved() -> None:
    world, case = await disposed()
    await units.on_command(
        world.desk(), unit_says(), YANKES, Action.ANSWER, f"{case.code} {ANSWER}"
    )

    stored = await world.case(case.code)
    assert stored.status is CaseStatus.IN_REVIEW and stored.answered_at is None
    assert stored.watch is not None and stored.watch.step is Step.REVIEW
    assert world.to(REPORTER) == []  # nothing reaches the reporter before the review
    [request] = world.messages(OFFICERS)
    assert request.purpose == REVIEW
    assert request.text.startswith(
        f"📝 Jawaban Bidang Pelayanan Kesehatan (YANKES) untuk {case.code} menunggu "
        "tinjauan (dikirim Rina)."
    )
    assert f"\nJawaban:\n{ANSWER}\n" in request.text
    assert [[b.action for b in row] for row in request.buttons] == [
        [f"sa:{case.code}:1", f"ra:{case.code}:1"]
    ]
    assert world.to(YANKES_CHAT) == [
        T("unit_answer_in_review", code=case.code, reviewer="petugas pengaduan")
    ]
    world.clear()

    await officers.on_command(world.desk(), staff(OFFICERS), Action.APPROVE, case.code)

    stored = await world.case(case.code)
    assert stored.status is CaseStatus.ANSWERED and stored.answered_at is not None
    assert world.to(REPORTER) == [
        T(
            "reporter_answered",
            code=case.code,
            unit="Bidang Pelayanan Kesehatan",
            answer=ANSWER,
        )
    ]
    assert world.to(OFFICERS) == [
        T("officers_answered", code=case.code, unit="YANKES", answer=ANSWER)
        + "\nDisetujui oleh Budi Santoso."
    ]
    assert world.to(YANKES_CHAT) == [
        T("unit_answer_approved", code=case.code, actor="Budi Santoso")
    ]
    assert [e.purpose for e in world.edits(OFFICERS) if e.purpose == REVIEW] == [REVIEW]
    kinds = [kind for kind, _, _ in await world.events(case.code)]
    assert kinds[-2:] == [EventKind.ANSWER_SUBMITTED, EventKind.ANSWERED]
    # approved once: the button and the command are answered with what happened
    with pytest.raises(Refusal) as caught:
        await chain.on_review_tap(world.desk(), staff(OFFICERS), f"sa:{case.code}:1")
    assert caught.value.key == "tap_moved_on"
    assert "dijawab" in refusal_text(caught) and "Budi Santoso" in refusal_text(caught)
    with pytest.raises(Refusal) as caught:
        await officers.on_command(world.desk(), staff(OFFICERS), Action.REVISE, f"{case.code} x")
    assert caught.value.key == "err_not_in_review"


async def test_the_reviewers_corrected_text_is_sent_and_the_unit_sees_the_changes() -> None:
    world, case = await disposed()
    await world.desk().answer(case.code, YANKES, ANSWER, (PHOTO,), YANKES_STAFF)
    world.clear()
    corrected = "Obat sudah dikirim ke Puskesmas Sukamaju pada Senin, 2 Maret 2026."
    await officers.on_command(
        world.desk(), staff(OFFICERS), Action.APPROVE, f"{case.code} {corrected}"
    )

    [answer] = [m for m in world.uow.outbox.to(REPORTER)]
    assert corrected in answer.text and [a.ref for a in answer.attachments] == ["tg-hasil-1"]
    [told] = world.to(YANKES_CHAT)
    assert told.startswith(T("unit_answer_approved", code=case.code, actor="Budi Santoso"))
    assert "\n• «hari Senin.» → «Senin, 2 Maret 2026.»\n" in told
    assert told.endswith(f"Jawaban yang dikirim:\n{corrected}")
    history = await world.events(case.code)
    assert history[-1] == (EventKind.ANSWERED, "YANKES", corrected)
    assert history[-2] == (EventKind.ANSWER_SUBMITTED, "YANKES", ANSWER)


async def test_revision_by_button_and_reply_then_a_new_version() -> None:
    world, case = await disposed()
    await world.desk().answer(case.code, YANKES, ANSWER, (), YANKES_STAFF)
    world.clear()

    await chain.on_review_tap(world.desk(), staff(OFFICERS), f"ra:{case.code}:1")
    [prompt] = world.messages(OFFICERS)
    assert prompt.purpose == PROMPT_REVISE and prompt.copyable == (f"/revisi {case.code} ",)
    assert (await world.case(case.code)).status is CaseStatus.IN_REVIEW  # only asked
    world.clear()
    note = "Sebutkan jumlah obat yang dikirim."
    await officers.on_reply(world.desk(), staff(OFFICERS, note), SentRef(case.id, PROMPT_REVISE))

    stored = await world.case(case.code)
    assert stored.status is CaseStatus.DISPOSED and stored.unit_code == "YANKES"
    assert stored.watch is not None and stored.watch.step is Step.ANSWER
    assert stored.watch.started_at == MONDAY + timedelta(minutes=5)  # a fresh clock
    [notice] = world.messages(YANKES_CHAT)
    assert notice.purpose == CASE_MESSAGE  # the unit answers anew by replying to it
    assert notice.text == T(
        "unit_revision",
        code=case.code,
        actor="Budi Santoso",
        note=note,
        command=f"/jawab {case.code} ",
    )
    assert world.to(OFFICERS) == [
        T(
            "review_revision_sent",
            code=case.code,
            unit="Bidang Pelayanan Kesehatan (YANKES)",
            actor="Budi Santoso",
        )
    ]
    assert world.to(REPORTER) == []
    assert (await world.events(case.code))[-1] == (EventKind.REVISION, "YANKES", note)

    # the unit replies to the note: version 2, and version 1's buttons no longer count
    world.clear()
    better = "Sebanyak 40 kotak obat sudah dikirim ke Puskesmas Sukamaju."
    await units.on_reply(world.desk(), unit_says(better), YANKES, SentRef(case.id, CASE_MESSAGE))
    [request] = world.messages(OFFICERS)
    assert " Ini versi 2, menggantikan versi sebelumnya." in request.text
    assert request.buttons[0][0].action == f"sa:{case.code}:2"
    with pytest.raises(Refusal) as caught:
        await chain.on_review_tap(world.desk(), staff(OFFICERS), f"sa:{case.code}:1")
    assert refusal_text(caught) == T("review_version_changed", code=case.code, version=2)
    await chain.on_review_tap(world.desk(), staff(OFFICERS), f"sa:{case.code}:2")
    assert better in world.to(REPORTER)[0] and ANSWER not in world.to(REPORTER)[0]


async def test_a_new_text_replaces_the_answer_under_review_and_files_join_it() -> None:
    world, case = await disposed()
    desk = world.desk()
    await desk.answer(case.code, YANKES, "Jawaban pertama", (PHOTO,), YANKES_STAFF)
    await desk.answer(case.code, YANKES, ANSWER, (), YANKES_STAFF)  # a better text
    await desk.answer(case.code, YANKES, "", (PHOTO_2,), YANKES_STAFF)  # a photo after it
    assert case.id is not None
    case_events = await world.uow.cases.events(case.id)
    pending = review.pending_answer(case_events)
    assert pending is not None
    assert (pending.version, pending.text, [a.ref for a in pending.attachments]) == (
        2,
        ANSWER,
        ["tg-hasil-2"],
    )
    requests = [m for m in world.messages(OFFICERS) if m.purpose == REVIEW]
    assert [r.buttons[0][0].action for r in requests] == [
        f"sa:{case.code}:1",
        f"sa:{case.code}:2",
    ]
    [added] = [m for m in world.messages(OFFICERS) if m.purpose is None]
    assert added.text == T("review_files_added", code=case.code)
    assert [a.ref for a in added.attachments] == ["tg-hasil-2"]
    # version 1's buttons were taken off when version 2 came
    assert [e.purpose for e in world.edits(OFFICERS)].count(REVIEW) >= 2
    world.clear()
    await desk.approve_answer(case.code, OFFICER, OFFICERS)
    [sent] = world.uow.outbox.to(REPORTER)
    assert ANSWER in sent.text and "Jawaban pertama" not in sent.text
    assert [a.ref for a in sent.attachments] == ["tg-hasil-2"]


async def test_the_supervisor_reviews_where_the_agency_says_so() -> None:
    world, case = await disposed(BY_SUPERVISOR)
    await world.desk().answer(case.code, YANKES, ANSWER, (), YANKES_STAFF)
    [request] = world.messages(HEAD_CHAT)
    assert request.purpose == REVIEW and world.messages(OFFICERS) == []
    assert world.to(YANKES_CHAT) == [T("unit_answer_in_review", code=case.code, reviewer="atasan")]
    with pytest.raises(Refusal) as caught:
        await officers.on_command(world.desk(), staff(OFFICERS), Action.APPROVE, case.code)
    assert refusal_text(caught) == T("err_review_elsewhere", code=case.code, reviewer="atasan")
    world.clear()

    await supervisor.on_command(world.desk(), staff(HEAD_CHAT), Action.APPROVE, case.code)

    assert world.to(HEAD_CHAT) == [T("review_approved", code=case.code, actor="Kepala Dinas")]
    assert world.to(OFFICERS) == [
        T("officers_answered", code=case.code, unit="YANKES", answer=ANSWER)
        + "\nDisetujui oleh Kepala Dinas."
    ]
    assert len(world.to(REPORTER)) == 1
    # the supervisor chat's help names the review, the officers' does not
    await supervisor.on_command(world.desk(), staff(HEAD_CHAT), Action.HELP, "")
    assert T("help_supervisor_review") in world.to(HEAD_CHAT)[-1]
    await officers.on_command(world.desk(), staff(OFFICERS), Action.HELP, "")
    assert T("help_officers_review") not in world.to(OFFICERS)[-1]


async def test_a_revision_note_is_asked_in_the_supervisor_chat_too() -> None:
    world, case = await disposed(BY_SUPERVISOR)
    await world.desk().answer(case.code, YANKES, ANSWER, (), YANKES_STAFF)
    world.clear()
    await supervisor.on_reply(
        world.desk(), staff(HEAD_CHAT, "Lengkapi tanggalnya."), SentRef(case.id, PROMPT_REVISE)
    )
    assert (await world.case(case.code)).status is CaseStatus.DISPOSED
    assert "Lengkapi tanggalnya." in world.to(YANKES_CHAT)[0]
    # a reply to anything else in the supervisor chat is their own conversation
    world.clear()
    await supervisor.on_reply(world.desk(), staff(HEAD_CHAT, "ok"), SentRef(case.id, REVIEW))
    assert world.sent == []


async def test_closing_a_case_under_review_takes_the_review_buttons_off() -> None:
    world, case = await disposed()
    await world.desk().answer(case.code, YANKES, ANSWER, (), YANKES_STAFF)
    world.clear()
    await world.desk().close(case.code, None, OFFICER)
    assert REVIEW in [e.purpose for e in world.edits(OFFICERS)]
    with pytest.raises(Refusal) as caught:
        await chain.on_review_tap(world.desk(), staff(OFFICERS), f"sa:{case.code}:1")
    assert caught.value.key == "tap_moved_on"


async def test_without_answer_review_the_reviewers_words_are_refused() -> None:
    world, case = await disposed(TODAY)
    await world.desk().answer(case.code, YANKES, ANSWER, (), YANKES_STAFF)
    assert (await world.case(case.code)).status is CaseStatus.ANSWERED  # at once
    with pytest.raises(Refusal) as caught:
        await officers.on_command(world.desk(), staff(OFFICERS), Action.REVISE, f"{case.code} x")
    assert caught.value.key == "err_review_off"
    for args in ("", case.code):
        with pytest.raises(Refusal):
            await chain.revise(world.desk(), staff(OFFICERS), args)


async def test_a_review_overdue_is_nudged_in_the_reviewing_chat() -> None:
    office = dataclasses.replace(
        BY_OFFICERS, deadlines=Deadlines(review_days="30m", digest_at=time(9, 0))
    )
    world, case = await disposed(office)
    await world.desk().answer(case.code, YANKES, ANSWER, (), YANKES_STAFF)
    world.clear()
    due = MONDAY + timedelta(minutes=5 + 30)
    early = await patrol(world.uow, office, T, due - timedelta(minutes=1))
    assert early.nudged == {}
    # today's digest went with it, counting the answer awaiting review
    [digest] = world.to(OFFICERS)
    assert "\n• Jawaban unit menunggu tinjauan: 1\n" in digest
    world.clear()
    done = await patrol(world.uow, office, T, due)
    assert done.nudged == {OFFICERS.address: [case.code]}
    [nudge] = world.to(OFFICERS)
    assert f"• {case.code} — tinjauan jawaban unit, sudah 30 menit (batas 30 menit)" in nudge
    assert nudge.endswith(T("patrol_overdue_review"))
    assert world.to(YANKES_CHAT) == []


def test_the_changes_shown_to_the_unit() -> None:
    found, more = review.changes("a b c d", "a x c")
    assert (found, more) == ([("b", "x"), ("d", "")], 0)
    assert review.changes("satu", "satu dua") == ([("", "dua")], 0)
    many_old = " ".join(f"w{n}" for n in range(40))
    many_new = " ".join(f"w{n}" if n % 2 else f"v{n}" for n in range(40))
    found, more = review.changes(many_old, many_new)
    assert len(found) == review.CHANGES_SHOWN and more == 20 - review.CHANGES_SHOWN
    long = "kata " * 50
    [(removed, added)] = review.changes(long, "")[0]
    assert len(removed) == review.QUOTED and removed.endswith("…") and added == ""
