"""The chain of command (`[workflow]`, issue 21) on the in-memory fakes: dispositions the
supervisor approves, the follow-up plan and the result report, returning a case to the
supervisor and transferring it to another agency. What each chat is told is read from the
fake outbox; the case and its events from the fake storage.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core import buttons, views
from bot.core.buttons import Tap
from bot.core.calendar import WorkingCalendar
from bot.core.cases import PROMPT_PLAN, PROPOSAL, Refusal
from bot.core.model import (
    MAX_BUTTON_ACTION_BYTES,
    Actor,
    Case,
    CaseStatus,
    Channel,
    EventKind,
    OutgoingMessage,
    Privacy,
    Recipient,
    Step,
)
from bot.core.office import (
    Deadlines,
    DispositionBy,
    LaporOptions,
    Office,
    Workflow,
)
from bot.core.patrol import patrol
from bot.core.permissions import Action, Audience, refusal_for, refusal_in
from bot.core.ports import SentRef
from handlers import officers, supervisor
from handlers.staff import StaffMessage
from tests.unit.sample import OFFICERS, P2P, P2P_CHAT, YANKES, YANKES_CHAT, OfficeWorld, T
from tests.unit.test_cases import OFFICER, REPORTER, YANKES_STAFF, submission

WIB = ZoneInfo("Asia/Jakarta")
HEAD_CHAT = Recipient(Channel.TELEGRAM, "-3001")
HEAD = Actor("staff", "901", "Kepala Dinas", HEAD_CHAT.address)
LIAISON = Recipient(Channel.TELEGRAM, "-4001")
TODAY = Office(
    name="Dinas Kesehatan Kota Contoh",
    calendar=WorkingCalendar(WIB),
    officers_chat_id=OFFICERS.address,
    supervisor_chat_id=HEAD_CHAT.address,
    units=(YANKES, P2P),
    deadlines=Deadlines(digest_at=None),
)
SOP_002 = dataclasses.replace(TODAY, workflow=Workflow(disposition_by=DispositionBy.SUPERVISOR))
SOP_004 = dataclasses.replace(
    TODAY, workflow=Workflow(disposition_by=DispositionBy.SUPERVISOR, follow_up_plan=True)
)
PLAN_ONLY = dataclasses.replace(TODAY, workflow=Workflow(follow_up_plan=True))
PLAN = "Rapat tim: cek stok gudang farmasi, kirim obat, pantau seminggu."
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=WIB)


class World(OfficeWorld):
    async def filed(self) -> Case:
        reporter = await self.uow.reporters.get_or_create(
            Channel.WHATSAPP, REPORTER.address, "Siti"
        )
        case = await self.desk().submit(reporter, submission())
        self.clock.advance(timedelta(minutes=5))
        self.clear()
        return case

    async def case(self, code: str) -> Case:
        case = await self.uow.cases.get_by_code(code)
        assert case is not None
        return case

    async def events(self, code: str) -> list[tuple[EventKind, str | None, str | None]]:
        case = await self.case(code)
        assert case.id is not None
        return [(e.kind, e.unit_code, e.note) for e in await self.uow.cases.events(case.id)]

    def edits(self, recipient: Recipient) -> list[OutgoingMessage]:
        return self.uow.outbox.edits(recipient)

    def messages(self, recipient: Recipient) -> list[OutgoingMessage]:
        return self.uow.outbox.to(recipient)


def world_of(office: Office) -> World:
    world = World(office)
    world.clock.set(MONDAY)
    return world


def staff(chat: Recipient, text: str = "") -> StaffMessage:
    names = {HEAD_CHAT: ("901", "Kepala Dinas")}
    user_id, name = names.get(chat, ("501", "Budi Santoso"))
    return StaffMessage(chat_id=chat.address, user_id=user_id, user_name=name, text=text)


def refusal_text(caught: pytest.ExceptionInfo[Refusal]) -> str:
    return T(caught.value.key, **caught.value.params)


# ---------------------------------------------------------------------- today's shape
async def test_the_default_workflow_disposes_at_once_and_has_no_plan() -> None:
    world = world_of(TODAY)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    assert (await world.case(case.code)).status is CaseStatus.DISPOSED
    assert world.messages(HEAD_CHAT) == [] and world.edits(HEAD_CHAT) == []
    with pytest.raises(Refusal) as caught:
        await officers.on_command(world.desk(), staff(OFFICERS), Action.PLAN, f"{case.code} x")
    assert caught.value.key == "err_plan_off"
    # the supervisor chat disposes only where the supervisor decides dispositions
    assert refusal_in(TODAY, Action.DISPOSE, Audience.SUPERVISOR) == "err_officers_only"
    assert refusal_in(SOP_002, Action.DISPOSE, Audience.SUPERVISOR) is None
    assert refusal_in(TODAY, Action.PLAN, Audience.SUPERVISOR) == "err_officers_only"
    assert refusal_in(PLAN_ONLY, Action.PLAN, Audience.SUPERVISOR) is None
    assert refusal_in(SOP_002, Action.DISPOSE, Audience.UNIT) == "err_officers_only"
    # /kembalikan: the unit's and the officers', nobody else's
    assert refusal_for(Action.RETURN, Audience.OFFICERS) is None
    assert refusal_for(Action.RETURN, Audience.SUPERVISOR) == "err_officers_or_units_only"
    assert refusal_for(Action.FORWARD, Audience.UNIT) == "err_officers_or_supervisor_only"


# ---------------------------------------------------------------------- SOP 002: the atasan
async def test_an_officers_disposition_is_a_proposal_the_supervisor_gets() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    await world.desk().dispose(case.code, "yankes", "cek stok", OFFICER)

    stored = await world.case(case.code)
    assert (stored.status, stored.proposed_unit, stored.unit_code) == (
        CaseStatus.PROPOSED,
        "YANKES",
        None,
    )
    assert stored.watch is not None and stored.watch.step is Step.APPROVE
    assert (await world.events(case.code))[-1] == (EventKind.PROPOSED, "YANKES", "cek stok")
    assert world.to(REPORTER) == []
    assert world.to(YANKES_CHAT) == [] and world.to(P2P_CHAT) == []
    [told] = [t for t in world.to(OFFICERS) if "diusulkan" in t]
    assert told == T(
        "officers_proposed",
        code=case.code,
        unit="Bidang Pelayanan Kesehatan (YANKES)",
        actor="Budi Santoso",
        note_line="\nCatatan: cek stok",
    )
    [proposal] = world.messages(HEAD_CHAT)
    assert proposal.purpose == PROPOSAL and proposal.case_id == case.id
    assert proposal.text.startswith(f"📨 Usulan disposisi {case.code} ke Bidang Pelayanan")
    assert "Catatan: cek stok" in proposal.text
    assert "\nPelapor: Siti Aminah\n" in proposal.text and "0812" not in proposal.text
    assert proposal.text.endswith(
        f"Setujui: /setujui {case.code} · unit lain: /setujui "
        f"{case.code} UNIT · di luar kewenangan: /alihkan "
        f"{case.code} instansi | catatan"
    )
    assert [a.ref for a in proposal.attachments] == ["media/p1.jpg", "media/p2.jpg"]
    assert proposal.copyable == (f"/setujui {case.code}",)
    actions = [[b.action for b in row] for row in proposal.buttons]
    assert actions == [[f"ap:{case.code}:YANKES"], [f"au:{case.code}:P2P"]]
    assert all(
        len(b.action.encode()) <= MAX_BUTTON_ACTION_BYTES for row in proposal.buttons for b in row
    )
    # the officers' message marks the proposed unit
    [edit] = [e for e in world.edits(OFFICERS) if e.purpose == "case"]
    assert [b.label for row in edit.buttons for b in row][:2] == ["⏳ YANKES", "➡️ P2P"]


async def test_the_supervisor_sees_the_reporter_as_the_unit_does() -> None:
    world = world_of(SOP_002)
    reporter = await world.uow.reporters.get_or_create(Channel.WHATSAPP, REPORTER.address, "S")
    case = await world.desk().submit(reporter, submission(Privacy.CONFIDENTIAL))
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    [proposal] = world.messages(HEAD_CHAT)
    assert "\nPelapor: disembunyikan (rahasia)\n" in proposal.text
    assert "Siti" not in proposal.text and "0812" not in proposal.text


async def test_the_supervisor_approves_with_one_tap_as_a_disposition() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", "cek stok", OFFICER)
    world.clear()
    await world.desk().approve_by_tap(case.code, "YANKES", HEAD, proposal=True)

    stored = await world.case(case.code)
    assert (stored.status, stored.unit_code, stored.proposed_unit) == (
        CaseStatus.DISPOSED,
        "YANKES",
        None,
    )
    assert stored.first_disposed_at == MONDAY + timedelta(minutes=5)
    [to_unit] = world.to(YANKES_CHAT)
    assert to_unit.startswith(f"📌 Disposisi {case.code}") and "Catatan: cek stok" in to_unit
    assert world.to(REPORTER) == [
        T("reporter_disposed", code=case.code, unit="Bidang Pelayanan Kesehatan")
    ]
    approved = T(
        "officers_disposition_approved",
        code=case.code,
        unit="Bidang Pelayanan Kesehatan (YANKES)",
        actor="Kepala Dinas",
        note_line="\nCatatan: cek stok",
    )
    assert world.to(OFFICERS) == [approved] and world.to(HEAD_CHAT) == [approved]
    assert [(e.purpose, e.buttons) for e in world.edits(HEAD_CHAT)] == [(PROPOSAL, ())]
    kind, unit, note = (await world.events(case.code))[-1]
    assert (kind, unit, note) == (EventKind.DISPOSED, "YANKES", "cek stok")
    stored_events = await world.uow.cases.events(stored.id or 0)
    assert stored_events[-1].actor == HEAD


async def test_the_supervisor_picks_another_unit_with_a_note() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", "cek stok", OFFICER)
    world.clear()
    await supervisor.on_command(
        world.desk(), staff(HEAD_CHAT), Action.DISPOSE, f"{case.code} P2P segera"
    )
    stored = await world.case(case.code)
    assert (stored.status, stored.unit_code) == (CaseStatus.DISPOSED, "P2P")
    [to_unit] = world.to(P2P_CHAT)
    assert "Catatan: cek stok · atasan: segera" in to_unit
    assert world.to(YANKES_CHAT) == []
    [told] = world.to(OFFICERS)
    assert told.startswith(f"🔀 Atasan (Kepala Dinas) mendisposisi {case.code} ke Bidang")
    assert "(usulan petugas: YANKES)" in told


async def test_a_second_proposal_replaces_the_first_and_old_taps_say_so() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    with pytest.raises(Refusal) as caught:
        await world.desk().dispose(case.code, "YANKES", "lagi", OFFICER)
    assert caught.value.key == "proposal_kept"
    world.clear()
    await world.desk().dispose(case.code, "P2P", None, OFFICER)
    # the earlier proposal's buttons go before the new one is sent
    assert [(m.purpose, m.edits_buttons) for m in world.sent if m.recipient == HEAD_CHAT] == [
        (PROPOSAL, True),
        (PROPOSAL, False),
    ]
    assert (await world.case(case.code)).proposed_unit == "P2P"
    with pytest.raises(Refusal) as caught:
        await world.desk().approve_by_tap(case.code, "YANKES", HEAD, proposal=True)
    assert refusal_text(caught) == T(
        "proposal_changed", code=case.code, unit="Bidang Pencegahan Penyakit (P2P)"
    )
    await world.desk().approve_disposition(case.code, HEAD)
    assert (await world.case(case.code)).unit_code == "P2P"
    # a tap on a case decided since says what became of it
    with pytest.raises(Refusal) as caught:
        await world.desk().approve_by_tap(case.code, "YANKES", HEAD, proposal=False)
    assert caught.value.key == "tap_disposed"


async def test_while_proposed_officers_may_ask_for_more_or_refuse() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    await world.desk().request_info(case.code, "Mohon foto resep.", OFFICER)
    with pytest.raises(Refusal) as caught:
        await world.desk().approve_disposition(case.code, HEAD)
    assert caught.value.key == "err_not_proposed"
    assert caught.value.params["status"] == T("status_perlu_dilengkapi")
    reporter = await world.uow.reporters.get_or_create(Channel.WHATSAPP, REPORTER.address, "Siti")
    stored = await world.case(case.code)
    await world.desk().add_from_reporter(stored, reporter, "Ini fotonya.", (), None, True)
    assert (await world.case(case.code)).status is CaseStatus.PROPOSED  # back where it was
    world.clear()
    await world.desk().refuse(case.code, "Bukan kewenangan dinas.", OFFICER)
    assert [(e.purpose, e.buttons) for e in world.edits(HEAD_CHAT)] == [(PROPOSAL, ())]


async def test_moving_a_held_case_is_proposed_and_the_unit_stops_meanwhile() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    await world.desk().approve_disposition(case.code, HEAD)
    world.clear()
    await world.desk().dispose(case.code, "P2P", "ini urusan P2P", OFFICER)
    stored = await world.case(case.code)
    assert (stored.status, stored.unit_code, stored.proposed_unit) == (
        CaseStatus.PROPOSED,
        "YANKES",
        "P2P",
    )
    assert views.holding_unit(stored) is None
    assert world.to(YANKES_CHAT) == [T("unit_case_proposed_away", code=case.code)]
    with pytest.raises(Refusal) as caught:
        await world.desk().answer(case.code, YANKES, "Sudah.", (), YANKES_STAFF)
    assert caught.value.key == "err_bad_status"
    with pytest.raises(Refusal) as caught:  # nor is the reporter revealed to it now
        await world.desk().reveal_identity(case.code, "perlu menelepon", OFFICER)
    assert caught.value.key == "err_reveal_no_unit"
    world.clear()
    await world.desk().approve_disposition(case.code, HEAD)
    assert world.to(YANKES_CHAT) == [T("unit_case_moved", code=case.code)]
    assert world.to(P2P_CHAT)[0].startswith(f"📌 Disposisi {case.code}")


async def test_the_supervisor_may_dispose_directly_only_where_they_decide() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    await world.desk().approve_disposition(case.code, HEAD, "P2P")
    assert (await world.case(case.code)).unit_code == "P2P"
    assert world.to(OFFICERS) == [
        T(
            "officers_disposition_decided",
            code=case.code,
            unit="Bidang Pencegahan Penyakit (P2P)",
            actor="Kepala Dinas",
            note_line="",
        )
    ]
    with pytest.raises(Refusal) as caught:
        await world.desk().approve_disposition(case.code, HEAD, "P2P")
    assert caught.value.key == "err_bad_status"
    today = world_of(TODAY)
    other = await today.filed()
    with pytest.raises(Refusal) as caught:
        await today.desk().approve_disposition(other.code, HEAD, "P2P")
    assert caught.value.key == "err_not_proposed"
    with pytest.raises(Refusal) as caught:
        await today.desk().approve_disposition(other.code, HEAD, "GIZI")
    assert caught.value.key == "err_not_proposed"  # the case first, then the unit


async def test_approval_hands_a_verified_case_to_the_liaison_once() -> None:
    office = dataclasses.replace(
        SOP_002, lapor=LaporOptions(enter_all=True, liaison_chat_id=LIAISON.address)
    )
    world = world_of(office)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    assert world.to(LIAISON) == []  # a proposal is not the disposition
    await world.desk().approve_disposition(case.code, HEAD)
    [handover] = world.to(LIAISON)
    assert handover.startswith("📤 Untuk dimasukkan ke SP4N-LAPOR!")
    await world.desk().dispose(case.code, "P2P", None, OFFICER)
    await world.desk().approve_disposition(case.code, HEAD)
    assert len(world.to(LIAISON)) == 1


async def test_the_approval_step_nudges_the_supervisor_chat() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    world.clear()
    await patrol(world.uow, SOP_002, T, datetime(2026, 3, 3, 10, 4, tzinfo=WIB))
    assert world.to(HEAD_CHAT) == []
    done = await patrol(world.uow, SOP_002, T, datetime(2026, 3, 3, 10, 5, tzinfo=WIB))
    assert done.nudged == {HEAD_CHAT.address: [case.code]}
    [nudge] = world.to(HEAD_CHAT)
    assert (
        f"• {case.code} — persetujuan disposisi, sudah 1 hari kerja (batas 1 hari kerja)" in nudge
    )
    assert nudge.endswith(T("patrol_overdue_supervisor"))
    assert world.to(OFFICERS) == []


# ---------------------------------------------------------------------- handlers
async def test_setujui_dispatches_on_the_cases_status() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    with pytest.raises(Refusal) as caught:
        await supervisor.on_command(world.desk(), staff(HEAD_CHAT), Action.APPROVE, case.code)
    assert caught.value.key == "err_not_proposed"
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    with pytest.raises(Refusal) as caught:
        await officers.on_command(world.desk(), staff(OFFICERS), Action.APPROVE, case.code)
    assert caught.value.key == "err_approve_supervisor_only"
    for args in ("", f"{case.code} P2P lebih"):
        with pytest.raises(Refusal) as caught:
            await supervisor.on_command(world.desk(), staff(HEAD_CHAT), Action.APPROVE, args)
        assert refusal_text(caught) == "Cara pakai: /setujui KODE [UNIT | teks]"
    # a unit's answer under review is the answer review's, which this agency does not have
    stored = await world.case(case.code)
    stored.status = CaseStatus.IN_REVIEW
    await world.uow.cases.update(stored)
    with pytest.raises(Refusal) as caught:
        await supervisor.on_command(world.desk(), staff(HEAD_CHAT), Action.APPROVE, case.code)
    assert caught.value.key == "err_review_off"
    stored.status = CaseStatus.PROPOSED
    await world.uow.cases.update(stored)
    await supervisor.on_command(world.desk(), staff(HEAD_CHAT), Action.APPROVE, case.code.lower())
    assert (await world.case(case.code)).status is CaseStatus.DISPOSED


async def test_supervisor_buttons_and_stray_taps() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    for data in (buttons.data(Tap.DISPOSE, case.code, "P2P"), f"au:{case.code}:"):
        with pytest.raises(Refusal) as caught:
            await supervisor.on_tap(world.desk(), staff(HEAD_CHAT), data)
        assert caught.value.key == "err_button_expired"
    with pytest.raises(Refusal) as caught:
        await officers.on_tap(world.desk(), staff(OFFICERS), f"ap:{case.code}:YANKES")
    assert caught.value.key == "err_button_expired"
    await supervisor.on_tap(world.desk(), staff(HEAD_CHAT), f"au:{case.code}:P2P")
    assert (await world.case(case.code)).unit_code == "P2P"


# ---------------------------------------------------------------------- SOP 004: the plan
async def test_a_disposition_without_a_plan_waits_for_it() -> None:
    world = world_of(SOP_004)
    case = await world.filed()
    await world.desk().dispose_by_tap(case.code, "YANKES", OFFICER)
    stored = await world.case(case.code)
    assert (stored.status, stored.pending_unit) == (CaseStatus.NEW, "YANKES")
    [prompt] = world.messages(OFFICERS)
    assert prompt.purpose == PROMPT_PLAN and prompt.copyable == (f"/rencana {case.code} ",)
    assert world.messages(HEAD_CHAT) == [] and world.to(REPORTER) == []

    # the reply to the question is the plan; the proposal goes on to the supervisor
    world.clear()
    world.uow.outbox.remember_sent(OFFICERS, "77", stored.id, PROMPT_PLAN)
    ref = await world.uow.outbox.find_sent(OFFICERS, "77")
    assert ref == SentRef(stored.id, PROMPT_PLAN)
    await officers.on_reply(world.desk(), staff(OFFICERS, f"  {PLAN}\n\n"), ref)
    stored = await world.case(case.code)
    assert (stored.status, stored.proposed_unit, stored.pending_unit, stored.plan) == (
        CaseStatus.PROPOSED,
        "YANKES",
        None,
        PLAN,
    )
    kinds = [kind for kind, _, _ in await world.events(case.code)]
    assert kinds[-2:] == [EventKind.PLANNED, EventKind.PROPOSED]
    [proposal] = world.messages(HEAD_CHAT)
    assert f"\nRencana tindak lanjut: {PLAN}\n" in proposal.text


async def test_a_case_returned_up_without_a_plan_is_proposed_once_it_has_one() -> None:
    world = world_of(SOP_004)
    case = await world.filed()
    await world.desk().return_up(case.code, "mohon arahan", OFFICER)
    await world.desk().dispose(case.code, "P2P", None, OFFICER)
    stored = await world.case(case.code)
    assert (stored.status, stored.proposed_unit, stored.pending_unit) == (
        CaseStatus.PROPOSED,
        None,
        "P2P",
    )
    world.clear()
    await officers.on_command(world.desk(), staff(OFFICERS), Action.PLAN, f"{case.code} {PLAN}")
    stored = await world.case(case.code)
    assert (stored.proposed_unit, stored.pending_unit, stored.plan) == ("P2P", None, PLAN)
    [edit, proposal] = [m for m in world.sent if m.recipient == HEAD_CHAT]
    assert edit.edits_buttons and edit.purpose == PROPOSAL  # the returned case's buttons go
    assert proposal.text.startswith(f"📨 Usulan disposisi {case.code} ke Bidang Pencegahan")


async def test_the_note_of_a_disposition_is_its_plan_and_the_unit_sees_it() -> None:
    world = world_of(PLAN_ONLY)
    case = await world.filed()
    await officers.on_command(
        world.desk(), staff(OFFICERS), Action.DISPOSE, f"{case.code} YANKES {PLAN}"
    )
    stored = await world.case(case.code)
    assert (stored.status, stored.plan) == (CaseStatus.DISPOSED, PLAN)
    [to_unit] = world.to(YANKES_CHAT)
    assert T("unit_plan_line", plan=PLAN) in to_unit
    assert "Catatan:" not in to_unit  # the note was the plan, not said twice
    # a new plan while the unit holds the case reaches it
    world.clear()
    await officers.on_command(
        world.desk(), staff(OFFICERS), Action.PLAN, f"{case.code} Tambah survei lapangan."
    )
    assert world.to(YANKES_CHAT) == [
        T("unit_plan_updated", code=case.code, plan="Tambah survei lapangan.")
    ]
    assert world.to(OFFICERS) == [
        T(
            "officers_planned",
            code=case.code,
            actor="Budi Santoso",
            plan="Tambah survei lapangan.",
        )
    ]
    for args, key in (
        (f"{case.code} Tambah survei lapangan.", "plan_kept"),
        (f"{case.code} {'x' * 2001}", "err_plan_too_long"),
        (case.code, "err_usage"),
        ("ADU-TIDAKADA rencana", "err_unknown_case"),
    ):
        with pytest.raises(Refusal) as caught:
            await officers.on_command(world.desk(), staff(OFFICERS), Action.PLAN, args)
        assert caught.value.key == key, args
    await world.desk().close(case.code, None, OFFICER)
    with pytest.raises(Refusal) as caught:
        await world.desk().plan(case.code, "lagi", OFFICER, OFFICERS)
    assert caught.value.key == "err_bad_status"


async def test_the_supervisor_needs_a_plan_before_disposing() -> None:
    world = world_of(SOP_004)
    case = await world.filed()
    await world.desk().return_up(case.code, "mohon arahan", OFFICER)
    with pytest.raises(Refusal) as caught:
        await world.desk().approve_disposition(case.code, HEAD, "YANKES")
    assert refusal_text(caught) == T(
        "err_approve_needs_plan", code=case.code, command=f"/rencana {case.code} "
    )
    world.clear()
    await supervisor.on_command(world.desk(), staff(HEAD_CHAT), Action.PLAN, f"{case.code} {PLAN}")
    told = T("officers_planned", code=case.code, actor="Kepala Dinas", plan=PLAN)
    assert world.to(OFFICERS) == [told] and world.to(HEAD_CHAT) == [told]
    await world.desk().approve_disposition(case.code, HEAD, "YANKES")
    assert T("unit_plan_line", plan=PLAN) in world.to(YANKES_CHAT)[0]


async def test_the_answer_is_the_result_report_and_closure_reports_it_up() -> None:
    world = world_of(SOP_004)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", PLAN, OFFICER)
    await world.desk().approve_disposition(case.code, HEAD)
    world.clock.set(datetime(2026, 3, 3, 11, 0, tzinfo=WIB))
    world.clear()
    await world.desk().answer(case.code, YANKES, "Obat sudah dikirim.", (), YANKES_STAFF)
    assert world.to(OFFICERS) == [
        T("officers_result", code=case.code, unit="YANKES", answer="Obat sudah dikirim.")
    ]
    world.clock.set(datetime(2026, 3, 4, 9, 0, tzinfo=WIB))
    world.clear()
    await world.desk().close(case.code, "stok aman", OFFICER)
    [report] = world.to(HEAD_CHAT)
    assert report == T(
        "result_report",
        code=case.code,
        status="Selesai",
        received="02-03-2026 10:00",
        disposed="02-03-2026 10:05",
        unit="Bidang Pelayanan Kesehatan (YANKES)",
        answered="03-03-2026 11:00",
        closed="04-03-2026 09:00",
        actor="Budi Santoso",
        plan=PLAN,
        result="Obat sudah dikirim.",
        rating=T("result_rating_pending"),
    )
    reporter = await world.uow.reporters.get_or_create(Channel.WHATSAPP, REPORTER.address, "Siti")
    world.clear()
    await world.desk().rate(await world.case(case.code), reporter, 5)
    assert world.to(HEAD_CHAT) == [T("supervisor_rated_later", code=case.code, rating=5)]


async def test_an_automatic_closure_reports_within_the_supervisors_one_message() -> None:
    world = world_of(PLAN_ONLY)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", PLAN, OFFICER)
    await world.desk().answer(case.code, YANKES, "Sudah ditangani.", (), YANKES_STAFF)
    world.clear()
    # ten working days of the reporter's silence after the answer: 16 March 10:05
    done = await patrol(world.uow, PLAN_ONLY, T, datetime(2026, 3, 16, 10, 5, tzinfo=WIB))
    assert done.closed == [case.code]
    [told] = world.to(HEAD_CHAT)
    assert f"📋 Laporan hasil pengaduan {case.code} — Selesai" in told
    assert "Ditutup: 16-03-2026 10:05 oleh sistem" in told
    assert "Hasil: Sudah ditangani." in told


async def test_without_a_plan_in_the_workflow_answers_are_answers_and_no_report() -> None:
    world = world_of(SOP_002)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    await world.desk().approve_disposition(case.code, HEAD)
    world.clear()
    await world.desk().answer(case.code, YANKES, "Sudah.", (), YANKES_STAFF)
    assert world.to(OFFICERS)[0].startswith(f"✅ Jawaban YANKES untuk {case.code}")
    world.clear()
    await world.desk().close(case.code, None, OFFICER)
    assert world.to(HEAD_CHAT) == []


# ---------------------------------------------------------------------- up the chain, away
async def test_officers_return_a_case_to_the_supervisor() -> None:
    world = world_of(TODAY)
    case = await world.filed()
    await officers.on_command(
        world.desk(), staff(OFFICERS), Action.RETURN, f"{case.code} lintas bidang"
    )
    stored = await world.case(case.code)
    assert (stored.status, stored.proposed_unit) == (CaseStatus.PROPOSED, None)
    assert (await world.events(case.code))[-1] == (EventKind.RETURNED_UP, None, "lintas bidang")
    [back] = world.messages(HEAD_CHAT)
    assert back.text.startswith(f"⤴️ {case.code} dikembalikan kepada atasan oleh Budi Santoso")
    assert back.text.endswith(T("supervisor_commands_pick", code=case.code))
    assert back.copyable == ()
    assert [[b.label for b in row] for row in back.buttons] == [["➡️ YANKES", "➡️ P2P"]]
    assert world.to(REPORTER) == []
    for args, key in ((f"{case.code} lagi", "err_bad_status"), (case.code, "err_usage")):
        with pytest.raises(Refusal) as caught:
            await officers.on_command(world.desk(), staff(OFFICERS), Action.RETURN, args)
        assert caught.value.key == key
    with pytest.raises(Refusal) as caught:
        await world.desk().approve_disposition(case.code, HEAD)
    assert refusal_text(caught) == T("err_approve_no_unit", code=case.code, units="YANKES, P2P")
    # the officers may still dispose it themselves (here the officers decide)
    world.clear()
    await world.desk().dispose(case.code, "P2P", None, OFFICER)
    assert (await world.case(case.code)).status is CaseStatus.DISPOSED
    assert [(e.purpose, e.buttons) for e in world.edits(HEAD_CHAT)] == [(PROPOSAL, ())]
    # a case a unit holds is not the officers' to return
    with pytest.raises(Refusal) as caught:
        await world.desk().return_up(case.code, "x", OFFICER)
    assert caught.value.key == "err_bad_status"


async def test_without_a_supervisor_chat_nothing_goes_up() -> None:
    office = dataclasses.replace(TODAY, supervisor_chat_id=None)
    world = world_of(office)
    case = await world.filed()
    with pytest.raises(Refusal) as caught:
        await world.desk().return_up(case.code, "x", OFFICER)
    assert caught.value.key == "err_return_up_no_supervisor"
    assert (await world.case(case.code)).status is CaseStatus.NEW
    help_text = officers.help_text(world.desk())
    assert "/kembalikan" not in help_text and "/alihkan KODE instansi | catatan" in help_text


async def test_a_case_is_transferred_to_another_agency() -> None:
    world = world_of(TODAY)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    world.clear()
    await officers.on_command(
        world.desk(),
        staff(OFFICERS),
        Action.FORWARD,
        f"{case.code}  Dinas  PU Provinsi |  jalan provinsi ",
    )
    stored = await world.case(case.code)
    assert (stored.status, stored.forwarded_to, stored.closed_at) == (
        CaseStatus.FORWARDED,
        "Dinas PU Provinsi",
        world.clock.now(),
    )
    assert not stored.status.is_open and stored.watch is None
    assert world.to(REPORTER) == [
        T("reporter_forwarded", code=case.code, agency="Dinas PU Provinsi", note="jalan provinsi")
    ]
    assert world.to(YANKES_CHAT) == [
        T("unit_case_forwarded", code=case.code, agency="Dinas PU Provinsi")
    ]
    assert world.to(OFFICERS) == [
        T(
            "officers_forwarded",
            code=case.code,
            actor="Budi Santoso",
            agency="Dinas PU Provinsi",
            note="jalan provinsi",
        )
    ]
    [edit] = [e for e in world.edits(OFFICERS) if e.purpose == "case"]
    assert edit.buttons == ()
    assert (await world.events(case.code))[-1] == (
        EventKind.FORWARDED,
        "YANKES",
        "Dinas PU Provinsi: jalan provinsi",
    )
    with pytest.raises(Refusal) as caught:  # once is enough
        await officers.on_command(world.desk(), staff(OFFICERS), Action.FORWARD, f"{case.code} X|y")
    assert caught.value.key == "err_bad_status"


@pytest.mark.parametrize(
    "args", ["", "ADU-ABCDEF", "ADU-ABCDEF Dinas PU", "ADU-ABCDEF | catatan", "ADU-ABCDEF PU |"]
)
async def test_a_transfer_needs_an_agency_and_a_note(args: str) -> None:
    world = world_of(TODAY)
    with pytest.raises(Refusal) as caught:
        await officers.on_command(world.desk(), staff(OFFICERS), Action.FORWARD, args)
    assert refusal_text(caught) == "Cara pakai: /alihkan KODE instansi | catatan"


async def test_a_transfer_waits_on_nothing_the_reporter_holds() -> None:
    world = world_of(TODAY)
    case = await world.filed()
    await world.desk().request_info(case.code, "Mohon foto.", OFFICER)
    with pytest.raises(Refusal) as caught:
        await world.desk().forward(case.code, "BPOM", "obat", OFFICER, OFFICERS)
    assert caught.value.key == "err_bad_status"
    other = await world.filed()
    with pytest.raises(Refusal) as caught:
        await world.desk().forward(other.code, "x" * 201, "obat", OFFICER, OFFICERS)
    assert refusal_text(caught) == T("err_forward_agency_too_long", limit=200)
    assert (await world.case(other.code)).status is CaseStatus.NEW


async def test_case_detail_shows_the_chain() -> None:
    world = world_of(SOP_004)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", PLAN, OFFICER)
    stored = await world.case(case.code)
    assert stored.id is not None
    events = await world.uow.cases.events(stored.id)
    detail = views.case_detail(SOP_004, T, stored, events, world.clock.now(), for_unit=False)
    assert "\nUsulan disposisi: Bidang Pelayanan Kesehatan (YANKES) (menunggu" in detail
    assert f"\nRencana tindak lanjut: {PLAN}\n" in detail
    assert "disposisi diusulkan kepada atasan (Budi Santoso): usulan ke YANKES\n" in detail + "\n"
    for_unit = views.case_detail(SOP_004, T, stored, events, world.clock.now(), for_unit=True)
    assert "Usulan disposisi" not in for_unit and PLAN in for_unit


async def test_an_agency_whose_supervisor_works_in_the_officers_group() -> None:
    office = dataclasses.replace(SOP_002, supervisor_chat_id=OFFICERS.address)
    world = world_of(office)
    case = await world.filed()
    await world.desk().dispose(case.code, "YANKES", None, OFFICER)
    [proposal] = [m for m in world.messages(OFFICERS) if m.purpose == PROPOSAL]
    assert [[b.label for b in row] for row in proposal.buttons] == [
        ["✅ Setujui YANKES"],
        ["➡️ P2P"],
    ]
    world.clear()
    await officers.on_command(world.desk(), staff(OFFICERS), Action.APPROVE, case.code)
    assert (await world.case(case.code)).status is CaseStatus.DISPOSED
    [told] = [t for t in world.to(OFFICERS) if "disetujui atasan" in t]  # once, not twice
    assert told.startswith(f"✅ Disposisi {case.code} ke Bidang Pelayanan Kesehatan")
