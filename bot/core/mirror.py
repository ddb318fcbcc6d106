"""Staff on WhatsApp (issue 22): what a role's chat receives, its WhatsApp numbers
receive too.

WhatsApp has no groups, so officers, a unit's staff and the supervisor who work in
WhatsApp are each a number in a private chat with the office's number (the agency file's
`officers_whatsapp`, a unit's `whatsapp`, `supervisor_whatsapp`). Every message queued
for a role's chat is copied to each of its numbers when it is queued (`copies`, which the
outbox applies to everything it takes), so a number gets the new cases with their files,
the dispositions, answers, reminders, digests and recaps exactly as the group does. A
role with no Telegram chat has a `WHATSAPP_ONLY` address: only its numbers get them.

Outside WhatsApp's 24-hour window a number can be reached only with an approved
template: each copy names the staff template that fits it (`staff_new_case`,
`staff_reminder`, `staff_digest`, else `staff_update`) with the case code and the
message's text as its values.

Plain Python only; no channel, no database (the unit of work is the core's port).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.core.model import Channel, OutgoingMessage, Recipient
from bot.core.office import Office, has_telegram_chat
from bot.core.ports import UnitOfWork
from bot.core.texts import Texts

STAFF_NEW_CASE = "staff_new_case"  # a new case for the officers, a disposition for a unit
STAFF_REMINDER = "staff_reminder"  # a deadline's reminder (the patrol)
STAFF_DIGEST = "staff_digest"  # the officers' daily digest
STAFF_UPDATE = "staff_update"  # anything else
STAFF_TEMPLATES = (STAFF_NEW_CASE, STAFF_REMINDER, STAFF_DIGEST, STAFF_UPDATE)
# A notice that a message to a staff number could not be delivered goes to the officers'
# Telegram group alone: copied to their numbers, it could fail again, and again.
NOT_MIRRORED = "staff_delivery_failed"


def copies(office: Office, message: OutgoingMessage) -> list[OutgoingMessage]:
    """The messages to queue for `message`: itself (unless its role has no Telegram
    chat), and one copy for each WhatsApp number of the role whose chat it is for."""
    recipient = message.recipient
    if recipient.channel is not Channel.TELEGRAM:
        return [message]
    numbers = office.whatsapp_of(recipient.address)
    own = [message] if has_telegram_chat(recipient.address) else []
    if not numbers or message.purpose == NOT_MIRRORED:
        return own
    if message.edits_buttons or message.answers_tap or not (message.text or message.attachments):
        return own  # WhatsApp has no buttons to edit and no taps to answer
    template = message.template if message.template in STAFF_TEMPLATES else STAFF_UPDATE
    params = (("code", message.case_code or "-"), ("text", message.text or "-"))
    return own + [
        replace(
            message,
            recipient=Recipient(Channel.WHATSAPP, number),
            template=template,
            params=params,
            copyable=(),
        )
        for number in numbers
    ]


async def report_failure(
    uow: UnitOfWork, office: Office, t: Texts, recipient: Recipient, error: str, now: datetime
) -> bool:
    """A message to a staff number was not delivered: the officers' Telegram group hears
    of it, once a day for each number (what failed is in /macet either way; without a
    Telegram group /macet is where it shows). False: not a staff number."""
    role_chat = office.role_of_number(recipient.address)
    if recipient.channel is not Channel.WHATSAPP or role_chat is None:
        return False
    today = now.astimezone(office.timezone).date().isoformat()
    mark = f"staff-undelivered:{recipient.address}"
    if not has_telegram_chat(office.officers_chat_id) or await uow.marks.get(mark) == today:
        return True
    await uow.marks.put(mark, today)
    unit = office.unit_for_chat(role_chat)
    if unit is not None:
        role = t("staff_role_unit", unit=unit.code)
    elif role_chat == office.officers_chat_id:
        role = t("holder_officers")
    else:
        role = t("holder_supervisor")
    await uow.outbox.enqueue(
        OutgoingMessage(
            recipient=Recipient(Channel.TELEGRAM, office.officers_chat_id),
            text=t("staff_delivery_failed", role=role, number=recipient.address, error=error),
            purpose=NOT_MIRRORED,
        )
    )
    return True
