"""How a case reads for each audience: officers see everything, units what they need.

What reporters wrote reaches staff through `for_staff`: without the invisible characters
that reorder or hide text (after a U+202E, "txt.exe" is drawn as "exe.txt"), so that
staff read what was really sent. Every message to a staff group passes through it
(`CaseDesk.tell`), and so do the files staff open (`staff_view`, the exports). Templates
hold none of them; the record keeps the text as it came.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ParamSpec

from bot.core import budget, buttons, deadlines, recap
from bot.core.buttons import Tap
from bot.core.dialogue import describe_location
from bot.core.model import (
    Button,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    EventKind,
    Location,
    Privacy,
    Recipient,
    Step,
)
from bot.core.office import Office
from bot.core.ports import DeliveryTrouble
from bot.core.texts import Texts

# Bidi marks, embeddings, overrides and isolates, and the zero-width characters.
INVISIBLE = re.compile("[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
ZWJ = "\u200d"
P = ParamSpec("P")


def for_staff(text: str) -> str:
    """The text without the characters that change its direction or hide in it; a
    zero-width joiner after an emoji stays (it draws two emoji as one, as in a health worker)."""

    def drop(match: re.Match[str]) -> str:
        at = match.start()
        before = text[at - 1] if at else ""
        emoji = before == "\ufe0f" or (before != "" and unicodedata.category(before) == "So")
        return ZWJ if match.group() == ZWJ and emoji else ""

    return INVISIBLE.sub(drop, text)


def staff_chat(office: Office, recipient: Recipient) -> bool:
    """Whether the chat is one of the office's staff groups (officers, supervisor, a unit),
    or a staff member's WhatsApp number."""
    if recipient.channel is Channel.WHATSAPP:
        return office.role_of_number(recipient.address) is not None
    if recipient.channel is not Channel.TELEGRAM:
        return False
    address = recipient.address
    staff = (office.officers_chat_id, office.supervisor_chat_id)
    return address in staff or office.unit_for_chat(address) is not None


def staff_view(view: Callable[P, str]) -> Callable[P, str]:
    """Marks a view staff read: what it renders goes through `for_staff`."""

    @functools.wraps(view)
    def render(*args: P.args, **kwargs: P.kwargs) -> str:
        return for_staff(view(*args, **kwargs))

    return render


def local_time(office: Office, t: Texts, moment: datetime) -> str:
    return moment.astimezone(office.timezone).strftime(t("date_format"))


def attachment_captions(t: Texts, case: Case) -> list[str]:
    """What the reporter wrote with each file, numbered as the files; a caption that
    is the story itself (a photo sent with it at the first question) is not repeated."""
    return [
        t("attachment_caption", number=number, caption=attachment.caption)
        for number, attachment in enumerate(case.attachments, start=1)
        if attachment.caption and attachment.caption != case.description
    ]


def attachments_line(t: Texts, case: Case) -> str:
    count = len(case.attachments)
    if not count:
        return t("no_attachments")
    return "\n".join([t("attachment_count", count=count), *attachment_captions(t, case)])


def staff_location(t: Texts, location_text: str | None, location: Location | None) -> str:
    """Where it happened, for staff: the place as told, and a map link for a shared pin."""
    place = describe_location(t, location_text, location)
    return t("location_map", place=place, url=location.map_url) if location else place


def note_line(t: Texts, note: str | None) -> str:
    return t("note_line", note=note) if note else ""


RELAY_TEXT = 1500  # characters of a reporter's message relayed to a staff group


def relayed_text(t: Texts, text: str, code: str) -> str:
    """A reporter's message as a staff group gets it: cut to RELAY_TEXT characters,
    saying where the rest is (the case keeps it whole), so that one long message cannot
    become a dozen in the group."""
    if len(text) <= RELAY_TEXT:
        return text
    return text[:RELAY_TEXT].rstrip() + t("relay_cut", code=code)


def unit_label(office: Office, code: str | None) -> str:
    unit = office.unit(code) if code else None
    return f"{unit.name} ({unit.code})" if unit else (code or "-")


def officers_case_message(office: Office, t: Texts, case: Case) -> str:
    """The relay of a new case to the officers' group: everything, identity included."""
    dash = t("not_specified")
    return t(
        "officers_new_case",
        code=case.code,
        intake=intake_lines(t, case),
        channel=t(f"channel_{case.channel.value}"),
        privacy=t(f"privacy_{case.privacy.value}"),
        name=case.reporter_name or dash,
        contact=case.reporter_contact or dash,
        description=case.description,
        location=staff_location(t, case.location_text, case.location),
        occurred=case.occurred_text or dash,
        attachments=attachments_line(t, case),
    )


def intake_lines(t: Texts, case: Case) -> str:
    """For a complaint an officer entered (`/catat`): who entered it, from which source,
    received when, and its SP4N-LAPOR! number; nothing for one the reporter sent."""
    intake = case.intake
    if intake is None:
        return ""
    lines = t(
        "officers_entry_lines",
        actor=intake.entered_by_name or f"#{intake.entered_by_id}",
        source=intake.source,
        received=intake.received_on.strftime(t("date_only_format")),
    )
    if case.lapor_number:
        lines += t("officers_entry_lapor", number=case.lapor_number)
    return lines


def officers_case_buttons(office: Office, t: Texts, case: Case) -> tuple[tuple[Button, ...], ...]:
    """The actions on a case, one tap each (callback data ≤ 64 bytes), as they stand:
    the unit holding it is marked ✅ (another unit's button asks before moving it),
    and a closed case has none."""
    if not case.status.is_open:
        return ()
    code, held = case.code, holding_unit(case)
    proposed = case.proposed_unit if case.status is CaseStatus.PROPOSED else None

    def label(unit: str) -> str:
        if unit == held:
            return t("btn_disposed", unit=unit)
        return t("btn_proposed" if unit == proposed else "btn_dispose", unit=unit)

    units = [Button(label(u.code), buttons.data(Tap.DISPOSE, code, u.code)) for u in office.units]
    rows = [tuple(units[i : i + 3]) for i in range(0, len(units), 3)]
    rows.append(
        (
            Button(t("btn_request_info"), buttons.data(Tap.REQUEST_INFO, code)),
            Button(t("btn_refuse"), buttons.data(Tap.REFUSE, code)),
        )
    )
    return tuple(rows)


def review_buttons(t: Texts, case: Case, version: int) -> tuple[tuple[Button, ...], ...]:
    """Approve or send back version `version` of the unit's answer under review."""
    return (
        (
            Button(t("btn_approve_answer"), buttons.data(Tap.APPROVE_ANSWER, case.code, version)),
            Button(t("btn_revise_answer"), buttons.data(Tap.REVISE_ANSWER, case.code, version)),
        ),
    )


def holding_unit(case: Case) -> str | None:
    """The unit the case is disposed to, while it holds it (not after it sent it back,
    nor while a disposition waits for the supervisor's approval)."""
    if case.status in (CaseStatus.RETURNED, CaseStatus.PROPOSED) or not case.status.is_open:
        return None
    return case.unit_code


def move_buttons(t: Texts, case: Case, unit: str) -> tuple[tuple[Button, ...], ...]:
    """Yes / no to moving a disposed case on to another unit."""
    assert case.unit_code is not None
    return (
        (
            Button(
                t("btn_move", unit=unit), buttons.data(Tap.MOVE, case.code, case.unit_code, unit)
            ),
            Button(t("btn_keep", unit=case.unit_code), buttons.data(Tap.KEEP, case.code)),
        ),
    )


def reporter_as_unit_sees(t: Texts, case: Case) -> str:
    """The reporter as a unit (and the supervisor) is shown them: the name of a biasa
    reporter, never the phone; anonim or rahasia, only that it is hidden."""
    if case.privacy is Privacy.NORMAL:
        return case.reporter_name or t("not_specified")
    return t("unit_reporter_hidden", privacy=t(f"privacy_{case.privacy.value}"))


def unit_case_message(office: Office, t: Texts, case: Case, note: str | None) -> str:
    """The case as its unit sees it: never the phone number; no name when anonim/rahasia."""
    dash = t("not_specified")
    reporter = reporter_as_unit_sees(t, case)
    return t(
        "unit_new_case",
        code=case.code,
        unit=unit_label(office, case.unit_code),
        reporter=reporter,
        description=case.description,
        location=staff_location(t, case.location_text, case.location),
        occurred=case.occurred_text or dash,
        attachments=attachments_line(t, case),
        note_line=note_line(t, note) + unit_plan_line(t, case.plan),
    )


def unit_plan_line(t: Texts, plan: str | None) -> str:
    """The follow-up plan (rencana tindak lanjut) as the unit gets it with the case: its
    answer is the result report (laporan hasil) of that plan."""
    return t("unit_plan_line", plan=plan) if plan else ""


def intake_line(t: Texts, case: Case) -> str:
    """Where a staff-entered complaint came from, when the office received it, who
    entered it; nothing for one the reporter sent the bot."""
    intake = case.intake
    if intake is None:
        return ""
    return t(
        "case_intake_line",
        source=intake.source,
        received=recap.long_date(t, intake.received_on),
        entered_by=intake.entered_by_name or f"#{intake.entered_by_id}",
    )


def contacts_line(t: Texts, case: Case) -> str:
    """The reporter's contact details besides the phone (officers only, like the phone)."""
    details = [
        t(key, value=value)
        for key, value in (
            ("contact_whatsapp", case.contacts.whatsapp),
            ("contact_email", case.contacts.email),
            ("contact_address", case.contacts.address),
        )
        if value
    ]
    return t("case_contacts_line", details=" · ".join(details)) if details else ""


def case_detail(
    office: Office,
    t: Texts,
    case: Case,
    events: list[CaseEvent],
    now: datetime,
    *,
    for_unit: bool,
) -> str:
    """`/kasus`: the case, its deadlines and its history. Units get the privacy-filtered view."""
    dash = t("not_specified")
    hide = for_unit and case.privacy is not Privacy.NORMAL
    history = "\n".join(
        t(
            "history_line",
            date=local_time(office, t, e.at),
            event=t(f"event_{e.kind.value}"),
            actor=event_actor(t, e, hide_reporter=hide),
            note=history_note(t, e),
        )
        for e in events
    )
    if hide:
        name = t("unit_reporter_hidden", privacy=t(f"privacy_{case.privacy.value}"))
    else:
        name = case.reporter_name or dash
    return t(
        "case_detail",
        code=case.code,
        status=t(f"status_{case.status.value}"),
        merged=t("case_merged", main=case.merged_into) if case.merged_into else "",
        date=local_time(office, t, case.created_at),
        channel=t(f"channel_{case.channel.value}"),
        privacy=t(f"privacy_{case.privacy.value}"),
        intake_line=intake_line(t, case),
        name=name,
        contact=dash if for_unit else (case.reporter_contact or dash),
        contacts_line="" if for_unit else contacts_line(t, case),
        unit=unit_label(office, case.unit_code),
        lapor_line=t("case_lapor_line", number=case.lapor_number) if case.lapor_number else "",
        chain_lines=chain_lines(office, t, case, for_unit=for_unit),
        description=case.description,
        location=staff_location(t, case.location_text, case.location),
        occurred=case.occurred_text or dash,
        attachments=attachments_line(t, case),
        rating=f"{case.rating}/5" if case.rating else dash,
        deadlines=case_deadlines(office, t, case, now),
        history=history or dash,
    )


def history_note(t: Texts, event: CaseEvent) -> str:
    """What a history line adds after the event: its note; a proposal names its unit."""
    if event.kind is EventKind.PROPOSED and event.unit_code:
        note = t("history_proposed_extra", note=event.note) if event.note else ""
        return t("history_proposed_note", unit=event.unit_code, note=note)
    return f": {event.note}" if event.note else ""


def chain_lines(office: Office, t: Texts, case: Case, *, for_unit: bool) -> str:
    """What the chain of command (`[workflow]`) adds to `/kasus`: the disposition waiting
    for the supervisor (officers only), the follow-up plan, where a case was transferred."""
    lines = ""
    if case.status is CaseStatus.PROPOSED and not for_unit:
        if case.proposed_unit:
            lines += t("case_proposed_line", unit=unit_label(office, case.proposed_unit))
        else:
            lines += t("case_returned_up_line")
    if case.plan:
        lines += t("case_plan_line", plan=case.plan)
    if case.forwarded_to:
        lines += t("case_forwarded_line", agency=case.forwarded_to)
    return lines


def supervisor_case_message(office: Office, t: Texts, case: Case, header: str) -> str:
    """A case as the supervisor chat gets it for a decision: `header` (the proposal, or
    why it was returned), the case, the plan, what to type. The reporter is shown as to
    the unit (never the phone; no name when anonim or rahasia): the reporter was told
    only the complaint officers know more."""
    dash = t("not_specified")
    reporter = reporter_as_unit_sees(t, case)
    return t(
        "supervisor_case",
        header=header,
        intake=intake_lines(t, case),
        channel=t(f"channel_{case.channel.value}"),
        privacy=t(f"privacy_{case.privacy.value}"),
        reporter=reporter,
        description=case.description,
        location=staff_location(t, case.location_text, case.location),
        occurred=case.occurred_text or dash,
        attachments=attachments_line(t, case),
        plan_line=t("case_plan_line", plan=case.plan) if case.plan else "",
        commands=t(
            "supervisor_commands" if case.proposed_unit else "supervisor_commands_pick",
            code=case.code,
        ),
    )


def supervisor_buttons(office: Office, t: Texts, case: Case) -> tuple[tuple[Button, ...], ...]:
    """The supervisor's choices on a case waiting for them: approve the proposed unit
    (one tap), or any other unit."""
    code, proposed = case.code, case.proposed_unit
    rows: list[tuple[Button, ...]] = []
    if proposed:
        approve = Button(
            t("btn_approve", unit=proposed), buttons.data(Tap.APPROVE_PROPOSAL, code, proposed)
        )
        rows.append((approve,))
    others = [
        Button(t("btn_dispose", unit=u.code), buttons.data(Tap.APPROVE_UNIT, code, u.code))
        for u in office.units
        if u.code != proposed
    ]
    rows += [tuple(others[i : i + 3]) for i in range(0, len(others), 3)]
    return tuple(rows)


@staff_view
def result_report(
    office: Office, t: Texts, case: Case, events: list[CaseEvent], closed_by: str
) -> str:
    """The one-message result report of a closed case for the supervisor (SOP 004 step
    6): its timeline, the follow-up plan, the unit's result (laporan hasil), the rating."""
    dash = t("not_specified")

    def when(moment: datetime | None) -> str:
        return local_time(office, t, moment) if moment is not None else dash

    answers = [e for e in events if e.kind is EventKind.ANSWERED and e.note]
    if case.rating is not None:
        rating = t("result_rating", rating=case.rating)
    elif case.rating_requested:
        rating = t("result_rating_pending")
    else:
        rating = dash
    return t(
        "result_report",
        code=case.code,
        status=t(f"status_{case.status.value}"),
        received=when(case.created_at),
        disposed=when(case.first_disposed_at),
        unit=unit_label(office, case.unit_code),
        answered=when(case.answered_at),
        closed=when(case.closed_at),
        actor=closed_by,
        plan=case.plan or dash,
        result=answers[-1].note if answers else dash,
        rating=rating,
    )


def holder(office: Office, t: Texts, case: Case) -> str:
    """Who the step under way waits for."""
    step = case.watch.step if case.watch else None
    if step is None or step is Step.VERIFY:
        return t("holder_officers")
    if step is Step.ANSWER:
        return unit_label(office, case.unit_code)
    if step is Step.APPROVE:
        return t("holder_supervisor")
    if step is Step.REVIEW:
        return reviewer(office, t)
    return t("holder_reporter")


def reviewer(office: Office, t: Texts) -> str:
    """Who reviews the units' answers (`[workflow] answer_review`), in words."""
    if office.review_chat_id == office.supervisor_chat_id:
        return t("holder_supervisor")
    return t("holder_officers")


def case_deadlines(office: Office, t: Texts, case: Case, now: datetime) -> str:
    """Each deadline of an open case: the step under way, what follows it, the 60 days."""
    watch = case.watch
    if watch is None or not case.status.is_open:
        return t("deadline_none")

    def when(moment: datetime) -> str:
        return local_time(office, t, moment)

    late = ""
    if deadlines.is_overdue(case, now):
        late = t("deadline_late", age=budget.words(t, deadlines.working_age(office, watch, now)))
    lines = [
        t(
            "deadline_step",
            step=t(f"step_{watch.step.value}"),
            holder=holder(office, t, case),
            start=when(watch.started_at),
            due=when(watch.due_at),
            late=late,
        )
    ]
    if watch.step.held_by_reporter:
        remind = deadlines.reminder_at(office, watch)
        if watch.reminded_at is not None:
            lines.append(t("deadline_reminded", at=when(watch.reminded_at)))
        elif remind is not None:
            lines.append(t("deadline_reminder", at=when(remind)))
        lines.append(t("deadline_auto_close", at=when(watch.due_at)))
    else:
        if watch.nudges:
            assert watch.nudged_at is not None
            lines.append(t("deadline_nudges", count=watch.nudges, at=when(watch.nudged_at)))
        if watch.escalated_at is not None:
            lines.append(t("deadline_escalated", at=when(watch.escalated_at)))
        else:
            lines.append(t("deadline_escalation", at=when(deadlines.escalation_at(office, watch))))
    days = budget.case_limit(t, office.deadlines.case_days, office.deadlines.case_days_working)
    if case.long_escalated_at is not None:
        lines.append(t("deadline_long_escalated", days=days, at=when(case.long_escalated_at)))
    else:
        lines.append(t("deadline_long", days=days, at=when(deadlines.long_open_at(office, case))))
    return "\n".join(lines)


def event_actor(t: Texts, event: CaseEvent, *, hide_reporter: bool = False) -> str:
    """Who did it, as a case's history names them."""
    if event.actor.role == "reporter":
        return t("role_reporter") if hide_reporter or not event.actor.name else event.actor.name
    if event.actor.role == "system":
        return t("role_system")
    return event.actor.describe()


def age(t: Texts, delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return t("age_minutes", minutes=max(minutes, 0))
    if minutes < 24 * 60:
        return t("age_hours", hours=minutes // 60)
    return t("age_days", days=minutes // (24 * 60))


def queue(office: Office, t: Texts, cases: list[Case], now: datetime, total: int) -> str:
    """`/antrian`: the open cases, oldest first."""
    if not cases:
        return t("queue_empty")
    lines = [t("queue_header", count=total)]
    for case in cases:
        lines.append(
            t(
                "queue_line",
                code=case.code,
                status=t(f"status_{case.status.value}"),
                unit=t("queue_unit", unit=case.unit_code) if case.unit_code else "",
                age=age(t, now - case.created_at),
                late=t("queue_late") if deadlines.is_overdue(case, now) else "",
            )
        )
    if total > len(cases):
        lines.append(t("queue_more", count=total - len(cases)))
    return "\n".join(lines)


TROUBLE_ERROR = 120  # characters of a provider's error shown in /macet


def chat_label(office: Office, t: Texts, recipient: Recipient, case_code: str | None) -> str:
    """Who a chat is, for staff: a group by its role, a reporter by case (never by number)."""
    address = recipient.address
    if recipient.channel is Channel.TELEGRAM and address == office.officers_chat_id:
        return t("chat_officers")
    if recipient.channel is Channel.TELEGRAM and address == office.supervisor_chat_id:
        return t("chat_supervisor")
    unit = office.unit_for_chat(address) if recipient.channel is Channel.TELEGRAM else None
    if unit is not None:
        return t("chat_unit", unit=unit.code)
    if recipient.channel is Channel.TELEGRAM and address.startswith("-"):
        return t("chat_group", address=address)
    role_chat = office.role_of_number(address) if recipient.channel is Channel.WHATSAPP else None
    if role_chat is not None:  # a staff member's number: the role, and the number
        role = chat_label(office, t, Recipient(Channel.TELEGRAM, role_chat), None)
        return t("chat_staff_number", role=role, number=address)
    channel = t(f"channel_{recipient.channel.value}")
    if case_code is not None:
        return t("chat_reporter", code=case_code, channel=channel)
    return t("chat_reporter_unknown", address="…" + address[-4:], channel=channel)


def short_error(t: Texts, error: str | None) -> str:
    if not error:
        return t("trouble_no_error")
    return error if len(error) <= TROUBLE_ERROR else error[: TROUBLE_ERROR - 1] + "…"


def trouble(
    office: Office, t: Texts, report: DeliveryTrouble, failed_since: datetime, now: datetime
) -> str:
    """`/macet`: the chats whose messages are stuck, and what was given up on lately."""
    if not report:
        return t("trouble_none")
    lines = []
    if report.stuck:
        lines.append(
            t(
                "trouble_header",
                chats=len(report.stuck),
                count=sum(chat.waiting for chat in report.stuck),
            )
        )
        for chat in report.stuck:
            lines.append(
                t(
                    "trouble_line",
                    chat=chat_label(office, t, chat.recipient, chat.case_code),
                    count=chat.waiting,
                    since=local_time(office, t, chat.since),
                    attempts=chat.attempts,
                    next=local_time(office, t, max(chat.next_attempt_at, now)),
                    error=short_error(t, chat.error),
                )
            )
    if report.failed:
        if lines:
            lines.append("")
        lines.append(
            t(
                "trouble_failed_header",
                since=local_time(office, t, failed_since),
                count=len(report.failed),
            )
        )
        for failed in report.failed:
            lines.append(
                t(
                    "trouble_failed_line",
                    chat=chat_label(office, t, failed.recipient, failed.case_code),
                    at=local_time(office, t, failed.failed_at),
                    error=short_error(t, failed.error),
                )
            )
    return "\n".join(lines)


LAPOR_TITLE = 80  # characters of the description that make the report's title


@staff_view
def lapor_form(office: Office, t: Texts, case: Case, events: list[CaseEvent]) -> str:
    """The case laid out as SP4N-LAPOR!'s manual form, for a liaison officer to paste
    (SOP 003 step 4): title, content, date and place of the event, the agency, the
    category, anonim/rahasia, and the follow-up once the unit has answered."""
    dash = t("not_specified")
    first_line = case.description.strip().splitlines()[0] if case.description.strip() else dash
    title = first_line if len(first_line) <= LAPOR_TITLE else first_line[: LAPOR_TITLE - 1] + "…"
    answers = [e for e in events if e.kind is EventKind.ANSWERED and e.note]
    if case.privacy is Privacy.NORMAL:
        reporter = t(
            "lapor_reporter",
            name=case.reporter_name or dash,
            contact=case.reporter_contact or dash,
        )
    else:
        reporter = t("lapor_reporter_hidden", privacy=t(f"privacy_{case.privacy.value}"))
    received = local_time(office, t, case.created_at)
    if case.intake is not None:  # the day the office got it, and how
        day = recap.long_date(t, case.intake.received_on)
        received = t("lapor_received_staff", date=day, source=case.intake.source)
    return t(
        "lapor_form",
        code=case.code,
        lapor_line=t("lapor_form_number", number=case.lapor_number) if case.lapor_number else "",
        title=title,
        description=case.description,
        occurred=case.occurred_text or dash,
        received=received,
        location=staff_location(t, case.location_text, case.location),
        agency=office.name,
        unit=unit_label(office, case.unit_code),
        category=case.category or dash,
        privacy=t(f"privacy_{case.privacy.value}"),
        reporter=reporter,
        attachments=attachments_line(t, case),
        status=t(f"status_{case.status.value}"),
        follow_up=answers[-1].note if answers else t("lapor_no_follow_up"),
    )
