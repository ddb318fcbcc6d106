"""The case lifecycle in one table: for every status, the step whose clock runs, who holds
the case, and what may be done to it.

The desk (`cases.py`) asks it whether a step is allowed, the deadlines (`deadlines.py`)
which step's budget runs, and storage which statuses wait for the officers and which
steps are the staff's, so a new status or step is one row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from bot.core.model import CaseStatus, Step


class Holder(StrEnum):
    """Who must act next on a case."""

    OFFICERS = "officers"  # verify and dispose it
    UNIT = "unit"  # answer it
    SUPERVISOR = "supervisor"  # approve a proposed disposition (`[workflow] disposition_by`)
    REVIEWER = "reviewer"  # approve the unit's answer (`[workflow] answer_review`)
    REPORTER = "reporter"  # complete the report, or react to the answer
    NOBODY = "nobody"  # closed or refused


class Move(StrEnum):
    """What staff may do to a case, and where the reporter's words may go."""

    DISPOSE = "dispose"  # to a unit, or on to another one
    REQUEST_INFO = "request_info"  # ask the reporter for more (/lengkapi)
    ANSWER = "answer"  # the unit's answer (/jawab), also a second one
    RETURN = "return"  # the unit sends it back to the officers (/kembalikan)
    REFUSE = "refuse"  # outside the office's authority (/tolak)
    CLOSE = "close"  # Selesai (/selesai)
    RELAY_TO_UNIT = "relay_to_unit"  # the reporter's follow-ups also reach the unit
    APPROVE_DISPOSITION = "approve_disposition"  # the supervisor's yes (or another unit)
    REVIEW_ANSWER = "review_answer"  # the reviewer's /setujui or /revisi
    RETURN_UP = "return_up"  # officers hand the case back to the supervisor
    FORWARD = "forward"  # outside our authority: handed to another agency


@dataclass(frozen=True)
class Stage:
    """One status of the lifecycle."""

    step: Step | None  # the step whose time budget runs (None: closed)
    holder: Holder
    allows: frozenset[Move]


_STAFF_MOVES = frozenset({Move.REQUEST_INFO, Move.REFUSE, Move.CLOSE})
# What the officers may do with a case that waits for them.
_OFFICERS_MOVES = _STAFF_MOVES | {Move.DISPOSE, Move.RETURN_UP, Move.FORWARD}

LIFECYCLE: Mapping[CaseStatus, Stage] = MappingProxyType(
    {
        CaseStatus.NEW: Stage(Step.VERIFY, Holder.OFFICERS, _OFFICERS_MOVES),
        CaseStatus.RETURNED: Stage(Step.VERIFY, Holder.OFFICERS, _OFFICERS_MOVES),
        CaseStatus.DISPOSED: Stage(
            Step.ANSWER,
            Holder.UNIT,
            _STAFF_MOVES
            | {Move.DISPOSE, Move.ANSWER, Move.RETURN, Move.RELAY_TO_UNIT, Move.FORWARD},
        ),
        CaseStatus.NEEDS_INFO: Stage(
            Step.COMPLETE, Holder.REPORTER, _STAFF_MOVES | {Move.RELAY_TO_UNIT}
        ),
        CaseStatus.ANSWERED: Stage(
            Step.CONFIRM, Holder.REPORTER, _STAFF_MOVES | {Move.ANSWER, Move.RELAY_TO_UNIT}
        ),
        CaseStatus.PROPOSED: Stage(
            Step.APPROVE,
            Holder.SUPERVISOR,
            _STAFF_MOVES | {Move.APPROVE_DISPOSITION, Move.DISPOSE, Move.FORWARD},
        ),
        # The unit may still replace its answer, or add files to it; the reviewer
        # approves it or sends it back (asking the reporter for more is done before).
        CaseStatus.IN_REVIEW: Stage(
            Step.REVIEW,
            Holder.REVIEWER,
            frozenset(
                {Move.REFUSE, Move.CLOSE, Move.REVIEW_ANSWER, Move.ANSWER, Move.RELAY_TO_UNIT}
            ),
        ),
        CaseStatus.CLOSED: Stage(None, Holder.NOBODY, frozenset()),
        CaseStatus.REFUSED: Stage(None, Holder.NOBODY, frozenset()),
        CaseStatus.FORWARDED: Stage(None, Holder.NOBODY, frozenset()),
    }
)


def allows(status: CaseStatus, move: Move) -> bool:
    """Whether a case in `status` may take `move`."""
    return move in LIFECYCLE[status].allows


def step_of(status: CaseStatus) -> Step | None:
    """The step whose budget runs while a case is in `status` (None once it is closed)."""
    return LIFECYCLE[status].step


def statuses_held_by(holder: Holder) -> tuple[CaseStatus, ...]:
    """The statuses in which `holder` must act, in the table's order."""
    return tuple(status for status, stage in LIFECYCLE.items() if stage.holder is holder)


def staff_steps() -> tuple[Step, ...]:
    """The steps whose clock runs while staff (officers or a unit) hold the case."""
    steps: list[Step] = []
    for stage in LIFECYCLE.values():
        staff = stage.holder not in (Holder.REPORTER, Holder.NOBODY)
        if staff and stage.step is not None and stage.step not in steps:
            steps.append(stage.step)
    return tuple(steps)
