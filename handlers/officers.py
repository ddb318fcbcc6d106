"""The officers' group: disposition, requests for more, refusals, closing, the queue."""

from __future__ import annotations

from datetime import timedelta

from bot.core import buttons, recap, views
from bot.core.buttons import Tap
from bot.core.cases import (
    PROMPT_INFO,
    PROMPT_PLAN,
    PROMPT_REFUSE,
    PROMPT_REVISE,
    CaseDesk,
    Refusal,
)
from bot.core.office import AnswerReview, DispositionBy
from bot.core.permissions import Action
from bot.core.ports import SentRef
from handlers import chain
from handlers.staff import USAGE, StaffMessage, find_cases, require, say, show_case, split_args

QUEUE_LINES = 40
TROUBLE_LINES = 20  # stuck chats, and failed messages, listed by /macet
FAILED_WINDOW = timedelta(days=7)  # how far back /macet lists messages given up on
LAPOR_STATUS = "status"  # `/lapor KODE status teks`


async def on_command(desk: CaseDesk, msg: StaffMessage, action: Action, args: str) -> None:
    """Runs an officers' command typed in their group (and /rekap in the supervisor chat)."""
    if action is Action.DISPOSE:
        code, unit, note = split_args(args, 2)
        require(unit, action)
        await desk.dispose(require(code, action), unit, note or None, msg.actor)
    elif action is Action.REQUEST_INFO:
        code, message = split_args(args, 1)
        await desk.request_info(require(code, action), require(message, action), msg.actor)
    elif action is Action.REFUSE:
        code, reason = split_args(args, 1)
        await desk.refuse(require(code, action), require(reason, action), msg.actor)
    elif action is Action.CLOSE:
        code, note = split_args(args, 1)
        await desk.close(require(code, action), note or None, msg.actor)
    elif action is Action.SHOW_CASE:
        await show_case(desk, msg, split_args(args, 1)[0], unit_code=None)
    elif action is Action.QUEUE:
        cases = await desk.uow.cases.open_cases(QUEUE_LINES)
        total = await desk.uow.cases.count_open() if len(cases) == QUEUE_LINES else len(cases)
        await say(desk, msg, views.queue(desk.office, desk.t, cases, desk.now, total))
    elif action is Action.CATEGORIZE:
        code, category = split_args(args, 1)
        await desk.categorize(require(code, action), require(category, action), msg.actor)
    elif action is Action.RECAP:
        try:
            period = recap.parse_period(args, desk.now.astimezone(desk.office.timezone).date())
        except recap.PeriodError:
            raise Refusal("err_bad_period", period=args.strip()[:40]) from None
        await desk.uow.reports.add(recap.RECAP_JOB, period.label, msg.chat_id, msg.user_name)
        await say(desk, msg, desk.t("recap_preparing", period=period.title(desk.t)))
    elif action is Action.EXPORT:
        case = await desk.find(require(split_args(args, 1)[0], action))
        await desk.uow.reports.add(recap.CASE_JOB, case.code, msg.chat_id, msg.user_name)
        await say(desk, msg, desk.t("export_preparing", code=case.code))
    elif action is Action.LAPOR:
        await lapor(desk, msg, args)
    elif action is Action.INFORMED:
        code, how = split_args(args, 1)
        await desk.informed(require(code, action), how, msg.actor, msg.chat)
    elif action is Action.BLOCK:
        code, reason = split_args(args, 1)
        await desk.block_reporter(require(code, action), reason or None, msg.actor)
    elif action is Action.UNBLOCK:
        await desk.unblock_reporter(require(split_args(args, 1)[0], action), msg.actor)
    elif action is Action.REVEAL:
        code, reason = split_args(args, 1)
        await desk.reveal_identity(require(code, action), require(reason, action), msg.actor)
    elif action is Action.SEARCH:
        await find_cases(desk, msg, args, unit=None)
    elif action is Action.MERGE:
        duplicate, main, rest = split_args(args, 2)
        if rest or not main:
            require("", action)
        await desk.merge(require(duplicate, action), main, msg.actor)
    elif action is Action.STUCK:
        since = desk.now - FAILED_WINDOW
        report = await desk.uow.outbox.trouble(since, TROUBLE_LINES)
        await say(desk, msg, views.trouble(desk.office, desk.t, report, since, desk.now))
    elif action is Action.RETURN:  # up the chain, to the supervisor
        code, reason = split_args(args, 1)
        await desk.return_up(require(code, action), require(reason, action), msg.actor)
    elif action is Action.APPROVE:  # the supervisor's, unless this is their chat too
        supervisor = msg.chat_id == desk.office.supervisor_chat_id
        await chain.approve(desk, msg, args, supervisor=supervisor)
    elif action is Action.REVISE:
        await chain.revise(desk, msg, args)
    elif action is Action.PLAN:
        await chain.plan(desk, msg, args)
    elif action is Action.FORWARD:
        await chain.forward(desk, msg, args)
    elif action is Action.HELP:
        await say(desk, msg, help_text(desk, on_whatsapp=msg.listed))
    else:  # the permission table keeps unit actions away from here
        raise Refusal("err_units_only")


def help_text(desk: CaseDesk, *, on_whatsapp: bool = False) -> str:
    """The officers' commands, with those of the agency's chain of command; on WhatsApp
    without /catat (a Telegram private chat's) and with how words and choices work."""
    office = desk.office
    units = ", ".join(f"{u.code} = {u.name}" for u in office.units)
    lines = [desk.t("help_officers", units=units)]
    if not on_whatsapp:
        lines.append(desk.t("help_officers_entry"))
    if office.workflow.disposition_by is DispositionBy.SUPERVISOR:
        lines.append(desk.t("help_officers_proposal"))
    if office.workflow.follow_up_plan:
        lines.append(desk.t("help_officers_plan"))
    if reviews_here(desk):
        lines.append(desk.t("help_officers_review"))
    if office.supervisor_chat_id is not None:
        lines.append(desk.t("help_officers_return_up"))
    lines.append(desk.t("help_officers_forward"))
    if on_whatsapp:
        lines.append(desk.t("help_whatsapp_staff"))
    return "\n".join(lines)


async def lapor(desk: CaseDesk, msg: StaffMessage, args: str) -> None:
    """`/lapor KODE`: the case as SP4N-LAPOR!'s manual form; `/lapor KODE NOMOR`: its
    LAPOR number; `/lapor KODE status teks`: what LAPOR says of it."""
    code, what, rest = split_args(args, 2)
    require(code, Action.LAPOR)
    if not what:
        case = await desk.find(code)
        assert case.id is not None
        events = await desk.uow.cases.events(case.id)
        await say(desk, msg, views.lapor_form(desk.office, desk.t, case, events))
    elif what.casefold() == LAPOR_STATUS:
        await desk.lapor_status(code, require(rest, Action.LAPOR), msg.actor, msg.chat)
    elif rest:  # a number is one word
        raise Refusal("err_usage", usage=USAGE[Action.LAPOR])
    else:
        await desk.link_lapor(code, what, msg.actor, msg.chat)


def reviews_here(desk: CaseDesk) -> bool:
    """Whether the units' answers are reviewed in the officers' group."""
    office = desk.office
    reviewed = office.workflow.answer_review is not AnswerReview.NONE
    return reviewed and office.review_chat_id == office.officers_chat_id


def require_officer(desk: CaseDesk, msg: StaffMessage) -> None:
    """Refuses a member of the officers' group the agency file does not list as an officer
    (when it lists any); an officer's WhatsApp number is listed as such already."""
    if not msg.listed and not desk.office.is_officer(msg.user_id):
        raise Refusal("err_not_listed_officer", user_id=msg.user_id)


async def on_tap(desk: CaseDesk, msg: StaffMessage, data: str) -> None:
    """Runs an officers' button: dispose to a unit (asking first when a unit holds the
    case), or ask for the text of a request or refusal."""
    kind = buttons.kind_of(data)
    code, unit = buttons.fields(data, 2)
    if kind is Tap.DISPOSE and unit:
        await desk.dispose_by_tap(code, unit, msg.actor)
    elif kind is Tap.MOVE and ":" in unit:
        from_unit, _, to_unit = unit.partition(":")
        await desk.move_by_tap(code, from_unit, to_unit, msg.actor)
    elif kind is Tap.KEEP:
        await desk.keep_by_tap(code, msg.actor)
    elif kind in (Tap.REQUEST_INFO, Tap.REFUSE):
        case = await desk.open_case(code)
        key, command, purpose = (
            ("prompt_info_request", "command_info_request", PROMPT_INFO)
            if kind is Tap.REQUEST_INFO
            else ("prompt_refuse_reason", "command_refuse", PROMPT_REFUSE)
        )
        typed = desk.t(command, code=case.code)
        await desk.tell(
            msg.chat,
            desk.t(key, code=case.code, command=typed),
            case,
            purpose=purpose,
            copyable=(typed,),
        )
    else:
        raise Refusal("err_button_expired")


async def on_reply(desk: CaseDesk, msg: StaffMessage, ref: SentRef) -> None:
    """An officer replied to a prompt: the reply is the request to the reporter, the
    reason, or the follow-up plan."""
    prompts = (PROMPT_INFO, PROMPT_REFUSE, PROMPT_PLAN, PROMPT_REVISE)
    if ref.case_id is None or ref.purpose not in prompts or not msg.text:
        return  # officers discussing a case among themselves
    require_officer(desk, msg)
    if ref.purpose == PROMPT_REVISE:
        await chain.on_revision_note(desk, msg, ref)
        return
    case = await desk.uow.cases.get(ref.case_id)
    if case is None:
        raise Refusal("err_button_expired")
    if ref.purpose == PROMPT_INFO:
        await desk.request_info(case.code, msg.text, msg.actor)
    elif ref.purpose == PROMPT_PLAN:
        await desk.plan(case.code, msg.text, msg.actor, msg.chat)
    else:
        await desk.refuse(case.code, msg.text, msg.actor)
