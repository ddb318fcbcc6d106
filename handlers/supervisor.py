"""The supervisor chat: recaps and searches, and the supervisor's step of the chain of
command (`[workflow]`): deciding the dispositions that wait for them."""

from __future__ import annotations

from bot.core import buttons
from bot.core.buttons import Tap
from bot.core.cases import PROMPT_REVISE, CaseDesk, Refusal
from bot.core.office import AnswerReview, DispositionBy
from bot.core.permissions import Action
from bot.core.ports import SentRef
from handlers import chain, officers
from handlers.staff import StaffMessage, require, say, split_args


async def on_command(desk: CaseDesk, msg: StaffMessage, action: Action, args: str) -> None:
    """Runs a command typed in the supervisor chat (the permission table let it through)."""
    if action is Action.APPROVE:
        await chain.approve(desk, msg, args, supervisor=True)
    elif action is Action.DISPOSE:
        code, unit, note = split_args(args, 2)
        require(unit, action)
        await desk.approve_disposition(require(code, action), msg.actor, unit, note or None)
    elif action is Action.REVISE:
        await chain.revise(desk, msg, args)
    elif action is Action.PLAN:
        await chain.plan(desk, msg, args)
    elif action is Action.FORWARD:
        await chain.forward(desk, msg, args)
    elif action is Action.HELP:
        await say(desk, msg, help_text(desk, on_whatsapp=msg.listed))
    else:  # /rekap, /macet, /cari: as in the officers' group
        await officers.on_command(desk, msg, action, args)


def help_text(desk: CaseDesk, *, on_whatsapp: bool = False) -> str:
    """The supervisor's commands, with those of the agency's chain of command (and on
    WhatsApp, how words and choices work)."""
    workflow = desk.office.workflow
    lines = [desk.t("help_supervisor"), desk.t("help_supervisor_approve")]
    if workflow.disposition_by is DispositionBy.SUPERVISOR:
        lines.append(desk.t("help_supervisor_dispose"))
    if workflow.follow_up_plan:
        lines.append(desk.t("help_supervisor_plan"))
    office = desk.office
    reviewed = workflow.answer_review is not AnswerReview.NONE
    if reviewed and office.review_chat_id == office.supervisor_chat_id:
        lines.append(desk.t("help_supervisor_review"))
    lines.append(desk.t("help_supervisor_forward"))
    if on_whatsapp:
        lines.append(desk.t("help_whatsapp_staff"))
    return "\n".join(lines)


DECISIONS = (Tap.APPROVE_PROPOSAL, Tap.APPROVE_UNIT)


def decides_here(desk: CaseDesk, msg: StaffMessage, kind: Tap | None) -> bool:
    """Whether a button is the supervisor's decision tapped in the supervisor chat, also
    where an agency file makes that chat its officers' group too."""
    return kind in DECISIONS and msg.chat_id == desk.office.supervisor_chat_id


async def on_tap(desk: CaseDesk, msg: StaffMessage, data: str) -> None:
    """The supervisor's buttons on a case waiting for them: approve, or another unit."""
    kind = buttons.kind_of(data)
    code, unit = buttons.fields(data, 2)
    if kind in DECISIONS and unit:
        await desk.approve_by_tap(code, unit, msg.actor, proposal=kind is Tap.APPROVE_PROPOSAL)
    else:
        raise Refusal("err_button_expired")


async def on_reply(desk: CaseDesk, msg: StaffMessage, ref: SentRef) -> None:
    """A reply to the bot's question for a revision note is the note; other replies are
    the supervisor's own conversation."""
    if ref.purpose == PROMPT_REVISE and ref.case_id is not None and msg.text:
        await chain.on_revision_note(desk, msg, ref)
