"""Staff on WhatsApp (issue 22): a message from a staff number (`officers_whatsapp`, a
unit's `whatsapp`, `supervisor_whatsapp`) acts in its role's chat, as a message in that
Telegram group would.

- Commands are words, with or without "/": `disposisi KODE UNIT catatan`, `jawab KODE
  teks`, `kasus KODE`, `antrian`, `bantuan`…
- A number answers the numbered choices of the bot's message it replies to (WhatsApp's
  reply: Twilio's `OriginalRepliedMessageSid`); a number sent without a reply answers the
  bot's latest message with choices, when it is the only one of the last half hour.
- A reply to the bot's case message answers it (a unit), and a reply to a question of
  the bot answers that question, as in a Telegram group.

A staff member who is also a citizen uses the citizen's words for that (`lapor` alone
starts a complaint, `status`), and a complaint they are writing takes their messages
until it is sent or cancelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot.core import buttons
from bot.core.buttons import Tap
from bot.core.cases import CaseDesk, Refusal
from bot.core.commands import CITIZEN_WORDS, STAFF_WORDS, CitizenCommand
from bot.core.dialogue import IDLE, Rejected
from bot.core.model import Attachment, Channel
from bot.core.permissions import audience_of
from bot.core.reception import rejection_text
from handlers import roles
from handlers.staff import Command, StaffMessage, parse_command
from handlers.whatsapp import number_of

CHOICE = re.compile(r"(\d{1,2})\s*\.?")
# The buttons of the bot's messages to a citizen (their complaint's questions, its rating).
CITIZEN_TAPS = frozenset({Tap.CHOICE, Tap.CASE_CHOICE, Tap.RATING})
CHOICE_WINDOW = timedelta(minutes=30)  # a bare number answers the only choices this recent
START_WORD = "mulai"  # what the citizen's dialogue takes for "lapor"
CITIZEN_ONLY = frozenset(
    word for word, command in CITIZEN_WORDS.items() if command is not CitizenCommand.HELP
)


def command_of(text: str) -> Command | None:
    """A staff command typed with or without "/"; None when the text is none."""
    if text.startswith("/"):
        return parse_command(text)
    first, _, rest = text.partition(" ")
    action = STAFF_WORDS.get(first.casefold())
    if action is None:
        return None
    return Command(first.casefold(), action, rest.strip(), None)


async def on_message(
    desk: CaseDesk,
    form: Mapping[str, Any],
    attachments: tuple[Attachment, ...],
    rejected: tuple[Rejected, ...] = (),
) -> Mapping[str, Any] | None:
    """Handles a message from a staff number. Returns None when it was handled, else
    the message for the citizens' handler (a citizen's number, or a staff member writing
    as a citizen: "lapor" becomes the word that starts a complaint)."""
    number = number_of(str(form.get("From", "")))
    role_chat = desk.office.role_of_number(number)
    if role_chat is None:
        return form
    text = str(form.get("Body") or "").strip()
    word = text.partition(" ")[0].casefold().lstrip("/")
    if word == "lapor" and text.partition(" ")[2].strip() == "":
        return {**form, "Body": START_WORD}  # a complaint of their own
    if word in CITIZEN_ONLY:
        return form
    step = await desk.uow.dialogues.step_in(Channel.WHATSAPP, number)
    if step not in (None, IDLE) and not text.startswith("/"):
        return form  # the complaint they are writing
    profile = str(form.get("ProfileName") or "").strip() or None
    # They wrote: WhatsApp's 24-hour window for free-form messages to them opens.
    await desk.uow.reporters.arrived(Channel.WHATSAPP, number, profile, desk.now)
    msg = StaffMessage(
        chat_id=role_chat,
        user_id=number,
        user_name=profile or number,
        text=text,
        attachments=attachments,
        number=number,
    )
    audience = audience_of(desk.office, role_chat, private=False)
    for refused in rejected:  # a file the agency's [files] does not take: said, not lost
        await desk.tell(msg.chat, rejection_text(desk.t, desk.office, refused))
    if rejected and not text and not attachments:
        return None
    replied = str(form.get("OriginalRepliedMessageSid") or "") or None
    payload = str(form.get("ButtonPayload") or "")
    try:
        choice = CHOICE.fullmatch(text)
        tap = payload if buttons.kind_of(payload) is not None else None
        if tap is None and choice is not None and not attachments:
            tap = await _chosen(desk, msg, replied, choice)
        if tap is not None and buttons.kind_of(tap) in CITIZEN_TAPS:
            return form  # their own complaint's choice (a rating, say), as a citizen
        if tap is not None:
            await roles.on_tap(desk, msg, audience, tap)
        elif (command := command_of(text)) is not None:
            if command.action is None:
                raise Refusal("err_unknown_command")
            await roles.on_command(desk, msg, audience, command)
        elif replied is not None:
            ref = await desk.uow.outbox.find_sent(msg.chat, replied)
            if ref is None:
                raise Refusal("err_reply_unknown")
            await roles.on_reply(desk, msg, audience, ref)
        else:
            raise Refusal("staff_whatsapp_hint")
    except Refusal as refusal:
        await desk.tell(msg.chat, desk.t(refusal.key, **refusal.params))
    return None


async def _chosen(
    desk: CaseDesk, msg: StaffMessage, replied: str | None, choice: re.Match[str]
) -> str:
    """The button a numbered choice picks: of the message replied to, else of the only
    message with choices of the last half hour."""
    found = await desk.uow.outbox.choices(msg.chat, replied, desk.now - CHOICE_WINDOW)
    if not found:
        raise Refusal("err_choice_none")
    if replied is None and len(found) > 1:
        raise Refusal("err_choice_reply")
    actions = found[0]
    index = int(choice.group(1))
    if not 1 <= index <= len(actions):
        raise Refusal("err_choice_range", count=len(actions))
    return actions[index - 1]
