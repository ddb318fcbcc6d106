"""Who may do what, and where: commands are honoured only in the chat they belong to."""

from __future__ import annotations

from enum import StrEnum

from bot.core.office import DispositionBy, Office


class Audience(StrEnum):
    CITIZEN = "citizen"  # a private chat
    OFFICERS = "officers"  # the officers' group
    UNIT = "unit"  # a unit's group
    SUPERVISOR = "supervisor"  # the supervisor chat
    # An officer (a member of the officers' group, or listed in officer_ids) or a listed
    # liaison in their own private chat with the bot: where complaints are entered.
    STAFF_PRIVATE = "staff_private"
    # The liaison's group (`[lapor] liaison_chat_id`) when it is none of the above: where
    # the liaison enters complaints into SP4N-LAPOR! and records their numbers.
    LIAISON = "liaison"
    STRANGER = "stranger"  # a group the agency file does not know


class Action(StrEnum):
    DISPOSE = "disposisi"
    REQUEST_INFO = "lengkapi"
    REFUSE = "tolak"
    CLOSE = "selesai"
    SHOW_CASE = "kasus"
    QUEUE = "antrian"
    ANSWER = "jawab"
    RETURN = "kembalikan"
    HELP = "bantuan"
    CATEGORIZE = "kategori"
    RECAP = "rekap"
    EXPORT = "ekspor"
    LAPOR = "lapor"
    STUCK = "macet"
    BLOCK = "blokir"
    UNBLOCK = "bukablokir"
    REVEAL = "identitas"
    ENTER = "catat"  # enter a complaint that came in another way (SOP 001 step 2)
    INFORMED = "dikabari"  # a reporter not in the chat was told (SOP 002 step 8)
    SEARCH = "cari"
    MERGE = "gabung"  # a duplicate joins the main case
    # The chain of command (`[workflow]`):
    APPROVE = "setujui"  # approve a proposed disposition, or a unit's answer under review
    REVISE = "revisi"  # send a unit's answer back to it with a note
    PLAN = "rencana"  # give a case's follow-up plan (rencana tindak lanjut)
    FORWARD = "alihkan"  # outside our authority: hand the case to another agency


ALLOWED: dict[Action, frozenset[Audience]] = {
    Action.DISPOSE: frozenset({Audience.OFFICERS}),
    Action.REQUEST_INFO: frozenset({Audience.OFFICERS}),
    Action.REFUSE: frozenset({Audience.OFFICERS}),
    Action.CLOSE: frozenset({Audience.OFFICERS}),
    Action.QUEUE: frozenset({Audience.OFFICERS}),
    Action.SHOW_CASE: frozenset(
        {
            Audience.OFFICERS,
            Audience.UNIT,
            Audience.SUPERVISOR,
            Audience.STAFF_PRIVATE,
            Audience.LIAISON,
        }
    ),  # units: own cases only
    Action.ANSWER: frozenset({Audience.UNIT}),  # only for cases disposed to that unit
    # A unit returns its case to the officers; the officers return a case waiting for them
    # to the supervisor (when there is a supervisor chat).
    Action.RETURN: frozenset({Audience.UNIT, Audience.OFFICERS}),
    Action.HELP: frozenset(Audience) - {Audience.STRANGER},  # strangers learn their chat id
    Action.CATEGORIZE: frozenset({Audience.OFFICERS}),
    Action.RECAP: frozenset({Audience.OFFICERS, Audience.SUPERVISOR}),
    Action.EXPORT: frozenset({Audience.OFFICERS}),
    # Also the liaison's chat (`Office.is_liaison`), whichever audience that is.
    Action.LAPOR: frozenset({Audience.OFFICERS, Audience.STAFF_PRIVATE, Audience.LIAISON}),
    Action.STUCK: frozenset({Audience.OFFICERS, Audience.SUPERVISOR}),
    Action.BLOCK: frozenset({Audience.OFFICERS}),
    Action.UNBLOCK: frozenset({Audience.OFFICERS}),
    Action.REVEAL: frozenset({Audience.OFFICERS}),
    Action.ENTER: frozenset({Audience.STAFF_PRIVATE}),  # officers only, not a liaison
    Action.INFORMED: frozenset({Audience.OFFICERS, Audience.STAFF_PRIVATE}),
    # Units: their own cases, without the reporter's identity.
    Action.SEARCH: frozenset(
        {Audience.OFFICERS, Audience.STAFF_PRIVATE, Audience.UNIT, Audience.SUPERVISOR}
    ),
    Action.MERGE: frozenset({Audience.OFFICERS}),
    # Where each is honoured depends on the agency's [workflow] too (the reviewing chat,
    # the supervisor chat); the handlers refuse what its chain of command does not have.
    Action.APPROVE: frozenset({Audience.OFFICERS, Audience.SUPERVISOR}),
    Action.REVISE: frozenset({Audience.OFFICERS, Audience.SUPERVISOR}),
    Action.PLAN: frozenset({Audience.OFFICERS}),
    Action.FORWARD: frozenset({Audience.OFFICERS, Audience.SUPERVISOR}),
}


def audience_of(office: Office, chat_id: str, *, private: bool) -> Audience:
    """Tells which audience a chat is (by the ids in the agency file). A supervisor who is
    one person may be named by their own chat with the bot (a private chat)."""
    if private:
        return Audience.SUPERVISOR if chat_id == office.supervisor_chat_id else Audience.CITIZEN
    if chat_id == office.officers_chat_id:
        return Audience.OFFICERS
    if office.unit_for_chat(chat_id) is not None:
        return Audience.UNIT
    if chat_id == office.supervisor_chat_id:
        return Audience.SUPERVISOR
    if chat_id == office.lapor.liaison_chat_id:
        return Audience.LIAISON
    return Audience.STRANGER


def refusal_for(action: Action, audience: Audience) -> str | None:
    """The template key of the polite refusal, or None when the action is allowed here."""
    allowed = ALLOWED[action]
    if audience in allowed:
        return None
    if audience is Audience.STRANGER:
        return "err_unregistered_chat"
    if allowed == frozenset({Audience.STAFF_PRIVATE}):
        return "err_staff_private_only"
    if allowed == frozenset({Audience.UNIT}):
        return "err_units_only"
    if allowed == frozenset({Audience.UNIT, Audience.OFFICERS}):
        return "err_officers_or_units_only"
    if Audience.SUPERVISOR in allowed:
        return "err_officers_or_supervisor_only"
    return "err_officers_only"


def workflow_allows(office: Office, action: Action, audience: Audience) -> bool:
    """What the agency's chain of command (`[workflow]`) adds to ALLOWED: where the
    supervisor decides dispositions, the supervisor chat disposes (`/disposisi`); where a
    disposition carries a follow-up plan, the supervisor may write it too (`/rencana`)."""
    if audience is not Audience.SUPERVISOR:
        return False
    if action is Action.DISPOSE:
        return office.workflow.disposition_by is DispositionBy.SUPERVISOR
    if action is Action.PLAN:
        return office.workflow.follow_up_plan
    return False


def refusal_in(office: Office, action: Action, audience: Audience) -> str | None:
    """`refusal_for`, with what the agency's [workflow] allows besides."""
    if workflow_allows(office, action, audience):
        return None
    return refusal_for(action, audience)
