"""Time budgets (tenggat) for each step of a case, counted in the office's working time.

Every open case has one step under way (`Watch`): the officers verify and dispose, the
unit answers, or the reporter completes the report or reacts to the answer. A step's
clock starts when the case enters it; its deadline is its budget later (`Budget.after`:
working days, or hours and minutes of office time, so a case filed at night or on a
holiday starts on the next working hour). Every budget — the step's, its escalation, the
repeated nudges, the reporter's reminder — is added through `Budget.after`. The case's
`next_check_at` says when the deadline rules (`bot.core.patrol`) must next look at it,
so the scheduler only ever reads what is due.

Plain Python only; no channel, no database.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.budget import Budget
from bot.core.lifecycle import step_of
from bot.core.model import Case, CaseStatus, EventKind, Step, Watch
from bot.core.office import Office

# Events that start the step's clock afresh even when the step stays the same: a new
# disposition, a second request for more, a new answer, a reporter's completion.
_RESTARTS = frozenset(
    {
        EventKind.SUBMITTED,
        EventKind.DISPOSED,
        EventKind.RETURNED,
        EventKind.INFO_REQUESTED,
        EventKind.INFO_ADDED,
        EventKind.ANSWERED,
    }
)
# What the reporter says after the unit answered puts the unit back on the clock.
_REPORTER_REPLIES = frozenset({EventKind.FOLLOW_UP, EventKind.INFO_ADDED})


def step_for(case: Case, kind: EventKind | None) -> Step | None:
    """The step a case is in after an event of `kind` (None for a closed case)."""
    if not case.status.is_open:
        return None
    if case.status is CaseStatus.ANSWERED and kind is not EventKind.ANSWERED:
        if kind in _REPORTER_REPLIES:
            return Step.ANSWER
        if case.watch is not None and case.watch.step is Step.ANSWER:
            return Step.ANSWER  # still waiting for the unit to react to the reporter
    return step_of(case.status)


def follow(office: Office, case: Case, kind: EventKind, now: datetime) -> None:
    """Keeps the case's clock in step with what just happened to it (before it is saved)."""
    step = step_for(case, kind)
    if step is None:
        case.watch = None
        case.next_check_at = None
        return
    if case.watch is None or case.watch.step is not step or kind in _RESTARTS:
        case.watch = start(office, step, now)
    case.next_check_at = next_check(office, case)


def start(office: Office, step: Step, at: datetime) -> Watch:
    """A fresh clock for `step` starting at `at` (its working-hour clock start)."""
    due = office.deadlines.budget(step).after(office.calendar, at)
    return Watch(step=step, started_at=at, due_at=due)


def adopt(office: Office, case: Case) -> None:
    """Gives an open case stored before deadlines were kept the clock its status implies.

    The step is taken to have started when the case last entered it, as far as the
    case's own timestamps tell.
    """
    step = step_for(case, None)
    if step is None:
        return
    started = {
        Step.VERIFY: case.updated_at if case.status is CaseStatus.RETURNED else case.created_at,
        Step.ANSWER: case.disposed_at,
        Step.COMPLETE: case.updated_at,
        Step.CONFIRM: case.answered_at,
        Step.APPROVE: case.updated_at,
        Step.REVIEW: case.updated_at,
    }[step]
    case.watch = start(office, step, started or case.updated_at or case.created_at)
    case.next_check_at = next_check(office, case)


def escalation_at(office: Office, watch: Watch) -> datetime:
    """When a staff step overdue this long goes to the supervisor."""
    budget = office.deadlines.escalation_budget(watch.step)
    return budget.after(office.calendar, watch.started_at)


def reminder_at(office: Office, watch: Watch) -> datetime | None:
    """When a reporter asked for more is reminded (None: no reminder for this step)."""
    if watch.step is not Step.COMPLETE:
        return None
    budget = office.deadlines.reminder_budget(office.calendar.working_day_minutes)
    return None if budget is None else budget.after(office.calendar, watch.started_at)


def next_nudge_at(office: Office, watch: Watch) -> datetime:
    """When the holder of an overdue staff step is (next) reminded."""
    if watch.nudged_at is None:
        return watch.due_at
    return office.deadlines.repeat.after(office.calendar, watch.nudged_at)


def long_open_at(office: Office, case: Case) -> datetime:
    """When a case still open goes to the supervisor however its steps went: `case_days`
    (60) calendar days after filing, or working days with `case_days_working`."""
    d = office.deadlines
    if d.case_days_working:
        return Budget(d.case_days).after(office.calendar, case.created_at)
    return case.created_at + timedelta(days=d.case_days)


def next_check(office: Office, case: Case) -> datetime | None:
    """The earliest moment something may be due for this case (None when closed)."""
    watch = case.watch
    if watch is None or not case.status.is_open:
        return None
    moments: list[datetime] = []
    if case.long_escalated_at is None:
        moments.append(long_open_at(office, case))
    if watch.step.held_by_reporter:
        moments.append(watch.due_at)  # closed then
        remind = reminder_at(office, watch)
        if remind is not None and watch.reminded_at is None:
            moments.append(remind)
    else:
        moments.append(next_nudge_at(office, watch))
        if watch.escalated_at is None:
            moments.append(escalation_at(office, watch))
    return min(moments)


def is_overdue(case: Case, now: datetime) -> bool:
    """Whether officers or a unit have let the step under way run past its deadline."""
    watch = case.watch
    return (
        watch is not None
        and case.status.is_open
        and not watch.step.held_by_reporter
        and now >= watch.due_at
    )


def working_age(office: Office, watch: Watch, now: datetime) -> Budget:
    """How long the step has been under way, in its budget's unit (rounded down)."""
    return office.deadlines.budget(watch.step).elapsed(office.calendar, watch.started_at, now)
