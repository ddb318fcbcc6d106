"""The chain of command's commands (`[workflow]`), shared by the officers' group and the
supervisor chat: approving a disposition, the follow-up plan, transferring a case."""

from __future__ import annotations

from bot.core.cases import CaseDesk, Refusal
from bot.core.model import CaseStatus
from bot.core.permissions import Action
from handlers.staff import USAGE, StaffMessage, require, split_args

AGENCY_SEPARATOR = "|"  # `/alihkan KODE instansi | catatan`


async def approve(desk: CaseDesk, msg: StaffMessage, args: str, *, supervisor: bool) -> None:
    """`/setujui KODE [UNIT]`: the word approves what the case waits for, by its status.
    A disposition waiting for the supervisor (PROPOSED) is theirs to approve, to the
    proposed unit or to UNIT; a unit's answer under review (IN_REVIEW) belongs to the
    answer review, which this agency's bot does not have."""
    code, unit, rest = split_args(args, 2)
    case = await desk.find(require(code, Action.APPROVE))
    if case.status is CaseStatus.IN_REVIEW:
        status = desk.t(f"status_{case.status.value}")
        raise Refusal("err_bad_status", code=case.code, status=status)
    if not supervisor:
        raise Refusal("err_approve_supervisor_only", code=case.code)
    if rest:
        raise Refusal("err_usage", usage=USAGE[Action.APPROVE])
    await desk.approve_disposition(case.code, msg.actor, unit or None)


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
