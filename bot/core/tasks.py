"""Work a case owes besides its step (`bot.core.model.Task`), each with its own deadline
(its budget: working days or office time) and nudges until someone records it done:

- INFORM (SOP 002 step 8, "Petugas kembali menginformasikan jawaban pengaduan kepada
  pelapor"): a reporter in no chat with the bot (`Channel.MANUAL`) hears the bot's news
  from an officer, by phone, letter or in person. Every sentence the bot would have sent
  them becomes such a task, announced as "Kabari pelapor" in the officers' group and
  recorded done with `/dikabari KODE cara`.
- LAPOR_ENTRY and LAPOR_MONITOR (SOP 003 steps 3–5, `[lapor] enter_all`): a verified
  complaint received outside SP4N-LAPOR! goes to the liaison (pejabat penghubung), who
  enters it into LAPOR's manual form and records its number (`/lapor KODE NOMOR`), then
  watches the Admin Koordinator's disposition and records what LAPOR says
  (`/lapor KODE status teks`).

The CaseDesk creates and finishes tasks; the patrol (`bot.core.patrol`) nudges the
holder of each task that fell due. Plain Python only; no channel, no database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from bot.core import budget, views
from bot.core.model import Case, Task, TaskKind
from bot.core.office import Office, is_lapor_source
from bot.core.texts import Texts

# Sentences the bot would send a reporter that are not worth an officer's call: the
# 1–5 rating question is answered with buttons, and a rating told to an officer by
# phone would be the officer's rating, not the reporter's (a MANUAL case is never
# asked, `CaseDesk.close`). The replies to a reporter's own messages never arise: a
# reporter in no chat sends the bot nothing.
NOT_BY_HAND = frozenset(
    {"rating_request", "rating_thanks", "rating_already_given", "followup_added", "info_added"}
)

# An SP4N-LAPOR! tracking number: 4–32 letters and digits, with - or / between them, at
# least one digit (so that a word typed in the wrong place is not taken for one).
_LAPOR_NUMBER = re.compile(r"[A-Z0-9](?:[A-Z0-9/-]{2,30})[A-Z0-9]")
SHOWN_INPUT = 40  # characters of a refused number repeated in the answer


def lapor_number(text: str) -> str | None:
    """The SP4N-LAPOR! number `text` is, in the one form cases keep (capitals, without
    the "#" LAPOR's pages put before it), or None when it is none."""
    number = text.strip().removeprefix("#").strip().upper()
    if not _LAPOR_NUMBER.fullmatch(number) or not any(c.isdigit() for c in number):
        return None
    return number


def shown(text: str, limit: int = SHOWN_INPUT) -> str:
    """What a person typed, cut short to be quoted back."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def new_task(
    office: Office, case: Case, kind: TaskKind, now: datetime, text: str | None = None
) -> Task:
    """A task of `kind` for the case, due its budget from now."""
    assert case.id is not None
    due = office.deadlines.task_budget(kind).after(office.calendar, now)
    return Task(case_id=case.id, kind=kind, created_at=now, due_at=due, text=text, next_at=due)


def finish(task: Task, now: datetime, by: str, note: str | None) -> None:
    """Records the task done: no more nudges."""
    task.done_at = now
    task.done_by = by
    task.done_note = note
    task.next_at = None


def nudged(office: Office, task: Task, now: datetime) -> None:
    """Records a nudge; the next comes `repeat_days` later, until done."""
    task.nudged_at = now
    task.nudges += 1
    task.next_at = office.deadlines.repeat.after(office.calendar, now)


def holder_chats(office: Office, kind: TaskKind) -> tuple[str, ...]:
    """Where a task of `kind` is announced and nudged: informing reporters is the
    officers' work; LAPOR's entry and watch the liaison's (the officers' when the agency
    file names no liaison, e.g. after `enter_all` was turned off)."""
    if kind is TaskKind.INFORM:
        return (office.officers_chat_id,)
    return office.lapor.liaison_chats() or (office.officers_chat_id,)


def needs_lapor_entry(office: Office, case: Case) -> bool:
    """Whether a case just verified goes to the liaison to be entered into SP4N-LAPOR!
    (SOP 003: a complaint received outside LAPOR, where the agency enters them all)."""
    source = case.intake.source if case.intake is not None else None
    return office.lapor.enter_all and not case.lapor_number and not is_lapor_source(source)


def monitors_lapor(office: Office, case: Case) -> bool:
    """Whether the liaison watches LAPOR's disposition of the case once it has a number
    (SOP 003 step 5: a complaint the liaison entered, not one that came from LAPOR)."""
    source = case.intake.source if case.intake is not None else None
    return office.lapor.enter_all and not is_lapor_source(source)


# ---------------------------------------------------------------------- the wording
def reporter_contacts(t: Texts, case: Case) -> str:
    """How to reach the reporter: each contact detail the case has, one a line."""
    lines = [
        t(key, value=value)
        for key, value in (
            ("inform_contact_phone", case.reporter_contact),
            ("inform_contact_whatsapp", case.contacts.whatsapp),
            ("inform_contact_email", case.contacts.email),
            ("inform_contact_address", case.contacts.address),
        )
        if value
    ]
    return "\n".join(lines) or t("inform_no_contact")


def short_contact(case: Case) -> str:
    """The first way to reach the reporter, for a nudge's one line."""
    return (
        case.reporter_contact
        or case.contacts.whatsapp
        or case.contacts.email
        or case.contacts.address
        or "-"
    )


def entered_by(t: Texts, case: Case) -> str:
    return case.intake.entered_by_name if case.intake is not None else t("inform_officer_unknown")


@views.staff_view
def inform_message(
    office: Office, t: Texts, case: Case, task: Task, *, earlier: int, with_files: bool
) -> str:
    """ "Kabari pelapor": what an officer must tell the reporter, and how to reach them."""
    assert task.text is not None
    return t(
        "inform_task",
        code=case.code,
        officer=entered_by(t, case),
        due=views.local_time(office, t, task.due_at),
        name=case.reporter_name or t("not_specified"),
        contacts=reporter_contacts(t, case),
        text=task.text,
        files=t("inform_files", code=case.code) if with_files else "",
        earlier=t("inform_earlier", count=earlier) if earlier else "",
        command=t("command_informed", code=case.code),
    )


def due_line(
    office: Office, t: Texts, case: Case, kind: TaskKind, tasks: Sequence[Task], now: datetime
) -> str:
    """One line of a nudge: the case's due tasks of one kind."""
    oldest = min(task.created_at for task in tasks)
    limit = office.deadlines.task_budget(kind)
    return t(
        f"patrol_task_{kind.value}",
        code=case.code,
        name=case.reporter_name or t("not_specified"),
        contact=short_contact(case),
        count=len(tasks),
        number=case.lapor_number or t("not_specified"),
        age=budget.words(t, limit.elapsed(office.calendar, oldest, now)),
        budget=budget.words(t, limit),
    )
