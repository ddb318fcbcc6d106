"""The chain of command's commands (`[workflow]`), shared by the officers' group and the
supervisor chat: approving a disposition, the follow-up plan, transferring a case."""

from __future__ import annotations

from bot.core import buttons
from bot.core.buttons import Tap
from bot.core.cases import CaseDesk, Refusal
from bot.core.model import CaseStatus
from bot.core.office import AnswerReview
from bot.core.permissions import Action
from bot.core.ports import SentRef
from handlers.staff import USAGE, StaffMessage, require, split_args

AGENCY_SEPARATOR = "|"  # `/alihkan KODE instansi | catatan`


async def approve(desk: CaseDesk, msg: StaffMessage, args: str, *, supervisor: bool) -> None:
    """`/setujui KODE …`: the word approves what the case waits for, by its status. A
    unit's answer under review (IN_REVIEW) is sent on, with the reviewer's corrected text
    when one follows the code (`/setujui KODE teks`); a disposition waiting for the
    supervisor (PROPOSED) is theirs to approve, to the proposed unit or to UNIT
    (`/setujui KODE [UNIT]`)."""
    code, text = split_args(args, 1)
    case = await desk.find(require(code, Action.APPROVE))
    if case.status is CaseStatus.IN_REVIEW:
        await desk.approve_answer(case.code, msg.actor, msg.chat, text or None)
        return
    reviewed = desk.office.workflow.answer_review is not AnswerReview.NONE
    if reviewed and case.status is not CaseStatus.PROPOSED and not (supervisor and text):
        status = desk.t(f"status_{case.status.value}")  # no answer, no proposal waits
        raise Refusal("err_not_in_review", code=case.code, status=status)
    if not supervisor:
        if case.status is CaseStatus.PROPOSED:
            raise Refusal("err_approve_supervisor_only", code=case.code)
        status = desk.t(f"status_{case.status.value}")
        raise Refusal("err_not_proposed", code=case.code, status=status)
    unit, rest = split_args(text, 1)
    if rest:
        raise Refusal("err_usage", usage=USAGE[Action.APPROVE])
    await desk.approve_disposition(case.code, msg.actor, unit or None)


async def revise(desk: CaseDesk, msg: StaffMessage, args: str) -> None:
    """`/revisi KODE catatan`: the unit's answer under review goes back to it."""
    if desk.office.workflow.answer_review is AnswerReview.NONE:
        raise Refusal("err_review_off")
    code, note = split_args(args, 1)
    await desk.revise_answer(
        require(code, Action.REVISE), require(note, Action.REVISE), msg.actor, msg.chat
    )


REVIEW_TAPS = (Tap.APPROVE_ANSWER, Tap.REVISE_ANSWER)


async def on_review_tap(desk: CaseDesk, msg: StaffMessage, data: str) -> None:
    """✅ sends version N of the unit's answer on; ✍️ asks for the revision note."""
    kind = buttons.kind_of(data)
    code, version = buttons.fields(data, 2)
    if not version.isdigit():
        raise Refusal("err_button_expired")
    if kind is Tap.APPROVE_ANSWER:
        await desk.approve_answer(code, msg.actor, msg.chat, version=int(version))
    else:
        await desk.ask_revision_note(code, msg.chat, int(version))


async def on_revision_note(desk: CaseDesk, msg: StaffMessage, ref: SentRef) -> None:
    """The reviewer's reply to ✍️'s question: the note of the revision."""
    case = await desk.uow.cases.get(ref.case_id) if ref.case_id is not None else None
    if case is None:
        raise Refusal("err_button_expired")
    await desk.revise_answer(case.code, msg.text, msg.actor, msg.chat)


async def plan(desk: CaseDesk, msg: StaffMessage, args: str) -> None:
    """`/rencana KODE teks`: the case's follow-up plan."""
    if not desk.office.workflow.follow_up_plan:
        raise Refusal("err_plan_off")
    code, text = split_args(args, 1)
    await desk.plan(require(code, Action.PLAN), require(text, Action.PLAN), msg.actor, msg.chat)


async def forward(desk: CaseDesk, msg: StaffMessage, args: str) -> None:
    """`/alihkan KODE instansi | catatan`: outside our authority, to another agency."""
    code, rest = split_args(args, 1)
    agency, separator, note = rest.partition(AGENCY_SEPARATOR)
    if not separator or not agency.strip() or not note.strip():
        require("", Action.FORWARD)
    await desk.forward(require(code, Action.FORWARD), agency, note.strip(), msg.actor, msg.chat)
