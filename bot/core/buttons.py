"""Button data: what a tapped button sends back, built and read in one place.

Telegram carries it as callback data (at most 64 bytes), WhatsApp as the numbered
choice's hidden value; either way it is a short kind, then ":"-separated fields:

- officers' group: `d:CODE:UNIT` dispose to the unit, `m:CODE:FROM:TO` yes, move the
  case from the unit holding it on to another, `k:CODE` no, leave it, `l:CODE` ask the
  reporter for more, `t:CODE` refuse;
- the supervisor chat (`[workflow] disposition_by`, a case returned to the supervisor):
  `ap:CODE:UNIT` approve the officers' proposal of that unit, `au:CODE:UNIT` dispose to
  that unit instead;
- the reviewing chat (`[workflow] answer_review`): `sa:CODE:N` approve version N of the
  unit's answer, `ra:CODE:N` send it back for revision (asks for the note);
- citizens: `c:VALUE` a choice of the intake dialogue, `o:CODE` which open case a
  message is for, `r:CODE:N` a rating of 1–5.
"""

from __future__ import annotations

from enum import StrEnum


class Tap(StrEnum):
    """The kind of a button, the first field of its data."""

    DISPOSE = "d"
    MOVE = "m"
    KEEP = "k"
    REQUEST_INFO = "l"
    REFUSE = "t"
    APPROVE_PROPOSAL = "ap"
    APPROVE_UNIT = "au"
    APPROVE_ANSWER = "sa"
    REVISE_ANSWER = "ra"
    CHOICE = "c"
    CASE_CHOICE = "o"
    RATING = "r"


def data(kind: Tap, *fields: object) -> str:
    """A button's data: its kind, then its fields."""
    return ":".join((kind.value, *(str(field) for field in fields)))


def kind_of(tapped: str) -> Tap | None:
    """The kind of a tapped button (None: not one of ours, e.g. an old format)."""
    try:
        return Tap(tapped.partition(":")[0])
    except ValueError:
        return None


def fields(tapped: str, count: int) -> tuple[str, ...]:
    """The `count` fields after the kind; the last keeps any further ":" and missing ones
    are empty."""
    parts = tapped.partition(":")[2].split(":", count - 1)
    return tuple(parts + [""] * (count - len(parts)))


def value_of(tapped: str | None, kind: Tap) -> str | None:
    """Everything after the kind, when `tapped` is a button of that kind."""
    if tapped is None or kind_of(tapped) is not kind:
        return None
    return tapped.partition(":")[2]
