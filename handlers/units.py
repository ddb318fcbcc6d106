"""A unit's group: answering a disposed case, or sending it back to the officers."""

from __future__ import annotations

from bot.core import views
from bot.core.cases import CASE_MESSAGE, CaseDesk, Refusal
from bot.core.office import AnswerReview, Unit
from bot.core.permissions import Action
from bot.core.ports import SentRef
from handlers.staff import StaffMessage, find_cases, require, say, show_case, split_args


async def on_command(
    desk: CaseDesk, msg: StaffMessage, unit: Unit, action: Action, args: str
) -> None:
    """Runs a unit's command typed in its group."""
    if action is Action.ANSWER:
        code, text = split_args(args, 1)
        if not text and not msg.attachments:
            require("", action)
        case = await desk.answer(
            require(code, action), unit, text, msg.attachments, msg.actor, msg.album_id
        )
        await _remember_album(desk, msg, case.code)
    elif action is Action.RETURN:
        code, reason = split_args(args, 1)
        await desk.return_to_officers(
            require(code, action), unit, require(reason, action), msg.actor
        )
    elif action is Action.SHOW_CASE:
        await show_case(desk, msg, split_args(args, 1)[0], unit_code=unit.code)
    elif action is Action.SEARCH:
        await find_cases(desk, msg, args, unit=unit)
    elif action is Action.HELP:
        text = desk.t("help_unit", unit=unit.name)
        office = desk.office
        if office.workflow.answer_review is not AnswerReview.NONE:
            reviewer = views.reviewer(office, desk.t)
            text += "\n" + desk.t("help_unit_review", reviewer=reviewer)
        if msg.listed:
            text += "\n" + desk.t("help_whatsapp_staff")
        await say(desk, msg, text)
    else:  # the permission table keeps officers' actions away from here
        raise Refusal("err_officers_only")


async def on_reply(desk: CaseDesk, msg: StaffMessage, unit: Unit, ref: SentRef) -> None:
    """A reply to the bot's case message is the unit's answer (text and attachments)."""
    if ref.case_id is None or ref.purpose != CASE_MESSAGE:
        raise Refusal("err_reply_unknown")
    if not msg.text and not msg.attachments:
        raise Refusal("err_reply_unknown")
    case = await desk.uow.cases.get(ref.case_id)
    if case is None:
        raise Refusal("err_reply_unknown")
    await desk.answer(case.code, unit, msg.text, msg.attachments, msg.actor, msg.album_id)
    await _remember_album(desk, msg, case.code)


def _album_mark(msg: StaffMessage) -> str:
    return f"unit-album:{msg.chat_id}:{msg.album_id}"


async def _remember_album(desk: CaseDesk, msg: StaffMessage, code: str) -> None:
    """An answer sent as an album: Telegram puts the caption (the /jawab command) on its
    first item only, so the case it answers is kept for the items that follow."""
    if msg.album_id is not None:
        await desk.uow.marks.put(_album_mark(msg), code)


async def on_album_item(desk: CaseDesk, msg: StaffMessage, unit: Unit) -> None:
    """A further photo or file of an album whose first item answered a case (no caption,
    no reply of its own): it joins that answer. Other albums are the group's chatter.
    (Telegram delivers such items only to a bot that reads all of the group's messages:
    an administrator, or privacy mode off.)"""
    if msg.album_id is None or not msg.attachments or msg.text:
        return
    code = await desk.uow.marks.get(_album_mark(msg))
    if code is not None:
        await desk.answer(code, unit, "", msg.attachments, msg.actor, msg.album_id)
