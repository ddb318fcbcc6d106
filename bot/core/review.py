"""The review of a unit's answer before it reaches the reporter (`[workflow] answer_review`).

A unit's answer under review is kept in the case's history as ANSWER_SUBMITTED events,
not in a column: each message of the unit is one event. A message with text (or the first
message after the case was not under review) starts a new version of the answer, which
replaces the one awaiting review; files without text (the rest of an album, a photo sent
after the text) are added to the version awaiting review. The reviewer's buttons name
the version they were made for, so a tap on an answer the unit has since replaced is
refused rather than sending the wrong text.

Plain Python only; no channel, no database.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.core.model import Actor, Attachment, CaseEvent, CaseStatus, EventKind

CHANGES_SHOWN = 12  # changes listed to the unit when the reviewer corrected its text
QUOTED = 80  # characters quoted of each side of one change


@dataclass(frozen=True)
class PendingAnswer:
    """The unit's answer awaiting review: its version (counted over the case's life),
    its text (None: files only), its files, who sent it and for which unit."""

    version: int
    text: str | None
    attachments: tuple[Attachment, ...]
    actor: Actor
    unit_code: str | None


def pending_answer(events: list[CaseEvent]) -> PendingAnswer | None:
    """The answer awaiting review, from the case's history (None: the case is not under
    review)."""
    _, current, status = _walk(events)
    return current if status is CaseStatus.IN_REVIEW else None


def _walk(events: list[CaseEvent]) -> tuple[int, PendingAnswer | None, CaseStatus | None]:
    """The versions counted, the latest version, and the case's status after the last
    event."""
    count = 0
    current: PendingAnswer | None = None
    before: CaseStatus | None = None
    for event in events:
        if event.kind is EventKind.ANSWER_SUBMITTED:
            adds = before is CaseStatus.IN_REVIEW and event.note is None
            if adds and current is not None:
                files = current.attachments + event.attachments
                current = PendingAnswer(
                    current.version, current.text, files, current.actor, current.unit_code
                )
            else:
                count += 1
                current = PendingAnswer(
                    count, event.note, event.attachments, event.actor, event.unit_code
                )
        before = event.status_after
    return count, current, before


def changes(old: str, new: str) -> tuple[list[tuple[str, str]], int]:
    """What the reviewer changed in the unit's text, word by word: up to CHANGES_SHOWN
    (removed, added) pairs (either may be empty), and how many more there were."""
    before, after = old.split(), new.split()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    found: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        found.append((_quoted(before[i1:i2]), _quoted(after[j1:j2])))
    return found[:CHANGES_SHOWN], max(0, len(found) - CHANGES_SHOWN)


def _quoted(words: list[str]) -> str:
    text = " ".join(words)
    return text if len(text) <= QUOTED else text[: QUOTED - 1] + "…"
