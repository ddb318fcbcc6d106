"""Staff entry (`/catat`): the guided dialogue in which an officer enters a complaint that
reached the office another way — a walk-in at the counter, a call, a letter, an email,
social media, SP4N-LAPOR!, a city app (SOP 001 step 2; SOP 002 steps 1–2; SOP 003).

Pure, like the citizen's intake (`bot.core.dialogue`), whose pieces it reuses: a function
of (state, input, today) → (state, replies), the state kept in the database between
messages. It asks where the complaint came from and when, its SP4N-LAPOR! number (only
for a complaint from LAPOR), the story, place, time, files and anonim/rahasia as the
citizen is asked, then what the officer knows of the reporter — name, phone, WhatsApp
(and, when this deployment speaks WhatsApp, whether the reporter agreed to get news
there), email, address — every one of them skippable, and ends with a summary to send,
change or drop.

Its steps are named "catat:…", never a citizen's step: the state is kept on the
officer's own private-chat reporter row (see `handlers.entry`), and the Telegram
routing sends every message of an entry under way here, never to the citizen Reception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bot.core.commands import CITIZEN_WORDS, CitizenCommand
from bot.core.dialogue import (
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_SHORT_TEXT,
    MIN_DESCRIPTION,
    Choice,
    CitizenInput,
    Reply,
    describe_location,
    keep_attachments,
    location_of,
    match_choice,
    normalise_phone,
    remember_album,
)
from bot.core.model import Attachment, Channel, Location, Privacy
from bot.core.office import Office, is_lapor_source
from bot.core.ports import DialogueState
from bot.core.tasks import lapor_number
from bot.core.texts import Texts

PREFIX = "catat:"  # every step of a staff entry; no citizen step starts so
SOURCE = PREFIX + "source"
RECEIVED = PREFIX + "received"
LAPOR = PREFIX + "lapor"
DESCRIPTION = PREFIX + "description"
LOCATION = PREFIX + "location"
TIME = PREFIX + "time"
ATTACHMENTS = PREFIX + "attachments"
PRIVACY = PREFIX + "privacy"
NAME = PREFIX + "name"
PHONE = PREFIX + "phone"
WHATSAPP = PREFIX + "whatsapp"
CONSENT = PREFIX + "consent"
EMAIL = PREFIX + "email"
ADDRESS = PREFIX + "address"
CONFIRM = PREFIX + "confirm"
EDIT = PREFIX + "edit"

# The order of the questions; CONFIRM shows the summary.
STEPS = (
    SOURCE,
    RECEIVED,
    LAPOR,
    DESCRIPTION,
    LOCATION,
    TIME,
    ATTACHMENTS,
    PRIVACY,
    NAME,
    PHONE,
    WHATSAPP,
    CONSENT,
    EMAIL,
    ADDRESS,
)
# What each choice of "Ubah" asks again, in order; then the summary comes back.
EDITS: dict[str, tuple[str, ...]] = {
    "source": (SOURCE, LAPOR),
    "received": (RECEIVED,),
    "lapor": (LAPOR,),
    "description": (DESCRIPTION,),
    "location": (LOCATION,),
    "time": (TIME,),
    "attachments": (ATTACHMENTS,),
    "privacy": (PRIVACY,),
    "reporter": (NAME, PHONE, WHATSAPP, CONSENT, EMAIL, ADDRESS),
}

MAX_EMAIL = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_DAY_FIRST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})")
_YEAR_FIRST = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_COMMAND = re.compile(r"/[A-Za-z]+(?:@\w+)?")
EARLIEST_YEAR = 2000  # a typed date before this is a typo, not a complaint received then


def is_entry(state: DialogueState | None) -> bool:
    """Whether this dialogue state is a staff entry under way."""
    return state is not None and state.step.startswith(PREFIX)


def whatsapp_number(text: str) -> str | None:
    """A WhatsApp number as the WhatsApp channel addresses reporters: "+" and the number
    with its country code (081234567890 → +6281234567890), or None."""
    phone = normalise_phone(text)
    if phone is None:
        return None
    digits = phone.lstrip("+")
    if not phone.startswith("+"):
        if digits.startswith("0"):
            digits = "62" + digits[1:]
        elif digits.startswith("8"):
            digits = "62" + digits
    return "+" + digits if 10 <= len(digits) <= 15 else None


def email_address(text: str) -> str | None:
    """An email address as typed, or None when it does not look like one."""
    cleaned = text.strip()
    return cleaned if len(cleaned) <= MAX_EMAIL and _EMAIL.fullmatch(cleaned) else None


def parse_day(text: str) -> date | None:
    """A typed date: 03-12-2026, 3/12/26, 03.12.2026 (day first) or 2026-12-03."""
    cleaned = text.strip()
    year_first = _YEAR_FIRST.fullmatch(cleaned)
    if year_first:
        year, month, day = (int(g) for g in year_first.groups())
    else:
        day_first = _DAY_FIRST.fullmatch(cleaned)
        if not day_first:
            return None
        day, month, year = (int(g) for g in day_first.groups())
        if year < 100:
            year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class Entry:
    """A complaint an officer entered and confirmed (what `CaseDesk.enter` records)."""

    source: str
    received_on: date
    lapor_number: str | None
    description: str
    location_text: str | None
    location: Location | None
    occurred_text: str | None
    attachments: tuple[Attachment, ...]
    privacy: Privacy
    name: str | None
    phone: str | None
    whatsapp: str | None
    whatsapp_news: bool  # the reporter agreed to get news by WhatsApp (asked only when on)
    email: str | None
    address: str | None


@dataclass
class EntryOutcome:
    state: DialogueState | None  # None: the entry is over (sent or cancelled)
    replies: list[Reply] = field(default_factory=list)
    entry: Entry | None = None


class EntryDialogue:
    """Asks an officer for a complaint received elsewhere, then confirms it."""

    def __init__(self, texts: Texts, office: Office) -> None:
        self.t = texts
        self.office = office

    @property
    def whatsapp_on(self) -> bool:
        return Channel.WHATSAPP in self.office.reachable

    # ------------------------------------------------------------------ entry points
    def begin(self) -> EntryOutcome:
        state = DialogueState(SOURCE, {"attachments": [], "albums": []})
        return EntryOutcome(state, [Reply(self.t("entry_welcome")), *self.prompt(state)])

    def advance(self, state: DialogueState, inp: CitizenInput, today: date) -> EntryOutcome:
        """Takes the officer's next message at the current step (`today`: the office's
        date, for the date received)."""
        data = state.data
        text = inp.clean_text
        replies: list[Reply] = []
        if not inp.attachments and inp.location is None:
            # "batal" and "bantuan" work as for citizens, with or without the "/"; any
            # other command waits until the entry is done.
            word = CITIZEN_WORDS.get(text.casefold().removeprefix("/"))
            if word is CitizenCommand.CANCEL:
                return EntryOutcome(None, [Reply(self.t("entry_cancelled"))])
            if word is CitizenCommand.HELP:
                return EntryOutcome(state, [Reply(self.t("entry_help")), *self.prompt(state)])
            if _COMMAND.fullmatch(text.split(" ", 1)[0]):
                return EntryOutcome(state, [Reply(self.t("entry_busy")), *self.prompt(state)])
        new_album = remember_album(data, inp.album_id)
        if inp.attachments:
            keep_attachments(data, inp.attachments, (inp.text or "").strip())
            if state.step != DESCRIPTION or not text:
                if new_album:
                    count = len(data["attachments"])
                    if state.step == ATTACHMENTS:
                        replies.append(
                            Reply(self.t("attachment_received", count=count), self.choices(state))
                        )
                    else:
                        replies += [Reply(self.t("attachment_kept", count=count))]
                        replies += self.prompt(state)
                return EntryOutcome(state, replies)
        if inp.location is not None:
            loc = inp.location
            data["location"] = [loc.latitude, loc.longitude, loc.label]
            if state.step == LOCATION:
                return self._next(state, replies)
            if not text:
                replies.append(Reply(self.t("location_received")))
                return EntryOutcome(state, [*replies, *self.prompt(state)])
        if inp.unsupported and not text and not inp.contact:
            return EntryOutcome(state, [Reply(self.t("unsupported_input")), *self.prompt(state)])
        step = state.step.removeprefix(PREFIX)
        outcome: EntryOutcome = getattr(self, f"_at_{step}")(state, inp, today, replies)
        return outcome

    # ------------------------------------------------------------------ steps
    def _at_source(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        value = self._choice(state, inp)
        if value is None:
            return self._expect_choice(state, replies)
        state.data["source"] = self.office.intake_sources[int(value.removeprefix("src"))]
        if not is_lapor_source(state.data["source"]):
            state.data.pop("lapor_number", None)
        return self._next(state, replies)

    def _at_received(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        value = self._choice(state, inp)
        if value == "today":
            day = today
        elif value == "yesterday":
            day = today - timedelta(days=1)
        else:
            typed = parse_day(inp.clean_text)
            if typed is None or typed.year < EARLIEST_YEAR:
                replies.append(Reply(self.t("entry_received_invalid"), self.choices(state)))
                return EntryOutcome(state, replies)
            if typed > today:
                future = self.t("entry_received_future", date=self.day(typed))
                replies.append(Reply(future, self.choices(state)))
                return EntryOutcome(state, replies)
            day = typed
        state.data["received_on"] = day.isoformat()
        return self._next(state, replies)

    def _at_lapor(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        if self._choice(state, inp) == "skip":
            state.data["lapor_number"] = None
            return self._next(state, replies)
        number = lapor_number(inp.clean_text)
        if number is None:
            replies.append(Reply(self.t("entry_lapor_invalid"), self.choices(state)))
            return EntryOutcome(state, replies)
        state.data["lapor_number"] = number
        return self._next(state, replies)

    def _at_description(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        text = (inp.text or "").strip()
        if not text:
            return self._expect_text(state, replies)
        if len(text) < MIN_DESCRIPTION:
            replies.append(Reply(self.t("description_too_short", min=MIN_DESCRIPTION)))
            return EntryOutcome(state, replies)
        if len(text) > MAX_DESCRIPTION:
            replies.append(Reply(self.t("description_too_long", max=MAX_DESCRIPTION)))
            return EntryOutcome(state, replies)
        state.data["description"] = text
        return self._next(state, replies)

    def _at_location(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        return self._short_text(state, inp, replies, "location_text", MAX_SHORT_TEXT)

    def _at_time(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        return self._short_text(state, inp, replies, "occurred_text", MAX_SHORT_TEXT)

    def _at_attachments(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        if self._choice(state, inp) == "done":
            return self._next(state, replies)
        return self._expect_choice(state, replies)

    def _at_privacy(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        value = self._choice(state, inp)
        if value is None:
            return self._expect_choice(state, replies)
        state.data["privacy"] = value
        return self._next(state, replies)

    def _at_name(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        if self._choice(state, inp) == "skip":
            state.data["name"] = None
            return self._next(state, replies)
        text = inp.clean_text
        if not text or len(text) > MAX_NAME:
            replies.append(Reply(self.t("name_invalid", max=MAX_NAME), self.choices(state)))
            return EntryOutcome(state, replies)
        state.data["name"] = text
        return self._next(state, replies)

    def _at_phone(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        if self._choice(state, inp) == "skip":
            state.data["phone"] = None
            return self._next(state, replies)
        phone = normalise_phone(inp.contact or inp.clean_text)
        if phone is None:
            replies.append(Reply(self.t("contact_invalid"), self.choices(state)))
            return EntryOutcome(state, replies)
        state.data["phone"] = phone
        return self._next(state, replies)

    def _at_whatsapp(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        value = self._choice(state, inp)
        if value == "none":
            number = None
        else:
            typed = state.data.get("phone") if value == "same" else inp.contact or inp.clean_text
            number = whatsapp_number(typed or "")
            if number is None:
                replies.append(Reply(self.t("entry_whatsapp_invalid"), self.choices(state)))
                return EntryOutcome(state, replies)
        state.data["whatsapp"] = number
        if number is None:
            state.data["consent"] = False
        return self._next(state, replies)

    def _at_consent(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        value = self._choice(state, inp)
        if value is None:
            return self._expect_choice(state, replies)
        state.data["consent"] = value == "yes"
        return self._next(state, replies)

    def _at_email(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        if self._choice(state, inp) == "skip":
            state.data["email"] = None
            return self._next(state, replies)
        email = email_address(inp.clean_text)
        if email is None:
            replies.append(Reply(self.t("entry_email_invalid"), self.choices(state)))
            return EntryOutcome(state, replies)
        state.data["email"] = email
        return self._next(state, replies)

    def _at_address(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        return self._short_text(state, inp, replies, "address", MAX_SHORT_TEXT)

    def _at_confirm(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        value = self._choice(state, inp)
        if value == "send":
            return EntryOutcome(None, replies, entry=self.entry(state.data))
        if value == "cancel":
            return EntryOutcome(None, [*replies, Reply(self.t("entry_cancelled"))])
        if value == "edit":
            return self._goto(state, EDIT, replies)
        return self._expect_choice(state, replies)

    def _at_edit(
        self, state: DialogueState, inp: CitizenInput, today: date, replies: list[Reply]
    ) -> EntryOutcome:
        value = self._choice(state, inp)
        if value is None:
            return self._expect_choice(state, replies)
        if value == "back":
            return self._goto(state, CONFIRM, replies)
        state.data["editing"] = value
        if value == "attachments":
            state.data["attachments"] = []
        return self._goto(state, EDITS[value][0], replies)

    def _short_text(
        self,
        state: DialogueState,
        inp: CitizenInput,
        replies: list[Reply],
        key: str,
        limit: int,
    ) -> EntryOutcome:
        """A skippable step answered in a few words (place, time, address)."""
        if self._choice(state, inp) == "skip":
            state.data[key] = None
            return self._next(state, replies)
        text = inp.clean_text
        if not text:
            return self._expect_text(state, replies)
        if len(text) > limit:
            replies.append(Reply(self.t("entry_too_long", max=limit), self.choices(state)))
            return EntryOutcome(state, replies)
        state.data[key] = text
        return self._next(state, replies)

    # ------------------------------------------------------------------ moving on
    def _applies(self, step: str, data: dict[str, Any]) -> bool:
        if step == LAPOR:
            return is_lapor_source(data.get("source"))
        if step == CONSENT:
            return bool(data.get("whatsapp")) and self.whatsapp_on
        if step == LOCATION:  # a pin shared earlier already answers "where"
            return not data.get("location") or bool(data.get("editing"))
        return True

    def _next(self, state: DialogueState, replies: list[Reply]) -> EntryOutcome:
        data = state.data
        editing = data.get("editing")
        order = EDITS[editing] if editing else STEPS  # editing: that part's questions only
        later = order[order.index(state.step) + 1 :] if state.step in order else ()
        following = next((s for s in later if self._applies(s, data)), CONFIRM)
        if following == CONFIRM:
            data.pop("editing", None)
        return self._goto(state, following, replies)

    def _goto(self, state: DialogueState, step: str, replies: list[Reply]) -> EntryOutcome:
        state.step = step
        return EntryOutcome(state, [*replies, *self.prompt(state)])

    def prompt(self, state: DialogueState) -> list[Reply]:
        """The question of the current step (at the end, the summary and the question)."""
        step = state.step
        choices = self.choices(state)
        if step == CONFIRM:
            return [Reply(self.summary(state.data)), Reply(self.t("entry_confirm_prompt"), choices)]
        if step == CONSENT:
            number = state.data.get("whatsapp") or ""
            return [Reply(self.t("entry_ask_consent", number=number), choices)]
        key = {
            SOURCE: "entry_ask_source",
            RECEIVED: "entry_ask_received",
            LAPOR: "entry_ask_lapor",
            DESCRIPTION: "entry_ask_description",
            LOCATION: "entry_ask_location",
            TIME: "ask_time",
            ATTACHMENTS: "entry_ask_attachments",
            PRIVACY: "entry_ask_privacy",
            NAME: "entry_ask_name",
            PHONE: "entry_ask_phone",
            WHATSAPP: "entry_ask_whatsapp",
            EMAIL: "entry_ask_email",
            ADDRESS: "entry_ask_address",
            EDIT: "edit_prompt",
        }[step]
        return [Reply(self.t(key), choices)]

    def _expect_text(self, state: DialogueState, replies: list[Reply]) -> EntryOutcome:
        return EntryOutcome(state, [*replies, Reply(self.t("expected_text")), *self.prompt(state)])

    def _expect_choice(self, state: DialogueState, replies: list[Reply]) -> EntryOutcome:
        choices = self.choices(state)
        listed = ", ".join(f"{n}. {c.label}" for n, c in enumerate(choices, 1))
        replies.append(Reply(self.t("choose_one", options=listed), choices))
        return EntryOutcome(state, replies)

    # ------------------------------------------------------------------ choices
    def choices(self, state: DialogueState) -> tuple[Choice, ...]:
        t, step, data = self.t, state.step, state.data
        skip = (Choice(t("btn_skip"), "skip"),)
        if step == SOURCE:
            return tuple(
                Choice(name, f"src{n}") for n, name in enumerate(self.office.intake_sources)
            )
        if step == RECEIVED:
            return (Choice(t("btn_today"), "today"), Choice(t("btn_yesterday"), "yesterday"))
        if step in (LAPOR, LOCATION, TIME, NAME, PHONE, EMAIL, ADDRESS):
            return skip
        if step == ATTACHMENTS:
            return (Choice(t("btn_done"), "done"),)
        if step == PRIVACY:
            return (
                Choice(t("btn_privacy_normal"), Privacy.NORMAL.value),
                Choice(t("btn_privacy_anonymous"), Privacy.ANONYMOUS.value),
                Choice(t("btn_privacy_confidential"), Privacy.CONFIDENTIAL.value),
            )
        if step == WHATSAPP:
            same = (Choice(t("btn_same_as_phone"), "same"),) if data.get("phone") else ()
            return (*same, Choice(t("btn_no_whatsapp"), "none"))
        if step == CONSENT:
            return (Choice(t("btn_yes"), "yes"), Choice(t("btn_no"), "no"))
        if step == CONFIRM:
            return (
                Choice(t("btn_send"), "send"),
                Choice(t("btn_edit"), "edit"),
                Choice(t("btn_cancel"), "cancel"),
            )
        if step == EDIT:
            lapor = (
                (Choice(t("btn_edit_lapor"), "lapor"),)
                if is_lapor_source(data.get("source"))
                else ()
            )
            return (
                Choice(t("btn_edit_source"), "source"),
                Choice(t("btn_edit_received"), "received"),
                *lapor,
                Choice(t("btn_edit_description"), "description"),
                Choice(t("btn_edit_location"), "location"),
                Choice(t("btn_edit_time"), "time"),
                Choice(t("btn_edit_attachments"), "attachments"),
                Choice(t("btn_edit_identity"), "privacy"),
                Choice(t("btn_edit_reporter"), "reporter"),
                Choice(t("btn_back"), "back"),
            )
        return ()

    def _choice(self, state: DialogueState, inp: CitizenInput) -> str | None:
        return match_choice(self.choices(state), inp)

    # ------------------------------------------------------------------ results
    def day(self, day: date) -> str:
        return day.strftime(self.t("date_only_format"))

    def summary(self, data: dict[str, Any]) -> str:
        t = self.t
        dash = t("not_specified")
        count = len(data.get("attachments", []))
        number = data.get("lapor_number")
        lapor = (
            t("entry_lapor_line", number=number or dash)
            if is_lapor_source(data.get("source"))
            else ""
        )
        whatsapp = data.get("whatsapp")
        if whatsapp and self.whatsapp_on:
            key = "entry_whatsapp_news" if data.get("consent") else "entry_whatsapp_no_news"
            whatsapp = t(key, number=whatsapp)
        return t(
            "entry_summary",
            source=data.get("source") or dash,
            received=self.day(date.fromisoformat(data["received_on"])),
            lapor_line=lapor,
            description=data.get("description") or dash,
            location=describe_location(t, data.get("location_text"), location_of(data)),
            occurred=data.get("occurred_text") or dash,
            attachments=t("attachment_count", count=count) if count else t("no_attachments"),
            privacy=t(f"privacy_{data.get('privacy', Privacy.NORMAL.value)}"),
            name=data.get("name") or dash,
            phone=data.get("phone") or dash,
            whatsapp=whatsapp or dash,
            email=data.get("email") or dash,
            address=data.get("address") or dash,
        )

    def entry(self, data: dict[str, Any]) -> Entry:
        source = data["source"]
        whatsapp = data.get("whatsapp")
        return Entry(
            source=source,
            received_on=date.fromisoformat(data["received_on"]),
            lapor_number=data.get("lapor_number") if is_lapor_source(source) else None,
            description=data["description"],
            location_text=data.get("location_text"),
            location=location_of(data),
            occurred_text=data.get("occurred_text"),
            attachments=tuple(Attachment.from_dict(a) for a in data.get("attachments", [])),
            privacy=Privacy(data.get("privacy", Privacy.NORMAL.value)),
            name=data.get("name"),
            phone=data.get("phone"),
            whatsapp=whatsapp,
            whatsapp_news=bool(whatsapp and data.get("consent") and self.whatsapp_on),
            email=data.get("email"),
            address=data.get("address"),
        )
