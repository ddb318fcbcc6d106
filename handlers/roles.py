"""A staff member's command, button or reply, whichever channel it came on (a Telegram
group, or a staff WhatsApp number), handed to the handler of the chat's audience after
the permission table's check."""

from __future__ import annotations

from bot.core import buttons
from bot.core.buttons import Tap
from bot.core.cases import CaseDesk, Refusal
from bot.core.permissions import Action, Audience, refusal_in
from bot.core.ports import SentRef
from handlers import chain, officers, supervisor, units
from handlers.staff import Command, StaffMessage

# What each staff button does, for the permission check (citizens' buttons are no staff
# action): the officers' group's, the supervisor chat's decisions on dispositions, and
# the reviewing chat's on a unit's answer.
TAP_ACTIONS = {
    Tap.DISPOSE: Action.DISPOSE,
    Tap.MOVE: Action.DISPOSE,
    Tap.KEEP: Action.DISPOSE,
    Tap.REQUEST_INFO: Action.REQUEST_INFO,
    Tap.REFUSE: Action.REFUSE,
    Tap.APPROVE_PROPOSAL: Action.APPROVE,
    Tap.APPROVE_UNIT: Action.APPROVE,
    Tap.APPROVE_ANSWER: Action.APPROVE,
    Tap.REVISE_ANSWER: Action.REVISE,
}


def check(desk: CaseDesk, action: Action, audience: Audience, msg: StaffMessage) -> None:
    """Refuses what the permission table (and the agency's [workflow]) does not allow
    in this chat, and a member of the officers' group who is not a listed officer."""
    key = refusal_in(desk.office, action, audience)
    if key is not None:
        raise Refusal(key, chat_id=msg.chat_id)
    if audience is Audience.OFFICERS and action is not Action.HELP:
        officers.require_officer(desk, msg)


async def on_tap(desk: CaseDesk, msg: StaffMessage, audience: Audience, tap: str) -> None:
    """A staff button (a Telegram tap, or a numbered choice on WhatsApp)."""
    kind = buttons.kind_of(tap)
    action = TAP_ACTIONS.get(kind) if kind is not None else None
    if action is None:
        raise Refusal("err_button_expired")
    check(desk, action, audience, msg)
    if kind in chain.REVIEW_TAPS:
        await chain.on_review_tap(desk, msg, tap)
    elif audience is Audience.SUPERVISOR or supervisor.decides_here(desk, msg, kind):
        await supervisor.on_tap(desk, msg, tap)
    else:
        await officers.on_tap(desk, msg, tap)


async def on_command(
    desk: CaseDesk, msg: StaffMessage, audience: Audience, command: Command
) -> None:
    """A staff command this chat may give (`command.action` is known)."""
    assert command.action is not None
    check(desk, command.action, audience, msg)
    if audience is Audience.SUPERVISOR:
        await supervisor.on_command(desk, msg, command.action, command.args)
    elif audience is Audience.LIAISON and command.action is Action.HELP:
        await desk.tell(msg.chat, desk.t("help_liaison"))
    elif audience is Audience.UNIT:
        unit = desk.office.unit_for_chat(msg.chat_id)
        assert unit is not None
        await units.on_command(desk, msg, unit, command.action, command.args)
    else:
        await officers.on_command(desk, msg, command.action, command.args)


async def on_reply(desk: CaseDesk, msg: StaffMessage, audience: Audience, ref: SentRef) -> None:
    """A reply to one of the bot's messages: a unit's answer to its case message, the
    officers' or the supervisor's answer to a question the bot asked."""
    if audience is Audience.UNIT:
        unit = desk.office.unit_for_chat(msg.chat_id)
        assert unit is not None
        await units.on_reply(desk, msg, unit, ref)
    elif audience is Audience.OFFICERS:
        await officers.on_reply(desk, msg, ref)
    elif audience is Audience.SUPERVISOR:
        await supervisor.on_reply(desk, msg, ref)
