"""The intake dialogue: guided questions that turn a citizen's messages into a complaint.

One engine for every channel. It is a pure function of (state, input) → (state,
replies); the state lives in the database between messages, so a restart resumes
where the citizen was. Choices are offered as buttons on Telegram and as numbered
lists on WhatsApp; either way the citizen may answer with the number or the words.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.model import Attachment, Location, Privacy
from bot.core.ports import DialogueState
from bot.core.texts import Texts

MIN_DESCRIPTION = 10
MAX_DESCRIPTION = 3500
MAX_SHORT_TEXT = 500
MAX_NAME = 100
MAX_ATTACHMENTS = 30
MAX_REMEMBERED_ALBUMS = 20

# The order of the questions; "confirm" shows the summary.
STEPS = ("description", "location", "time", "attachments", "privacy", "name", "contact")
IDLE = "idle"  # no intake in progress (only remembers recent albums)
CHOOSE_CASE = "choose_case"  # waiting for the reporter to say which case a message is for
CONFIRM = "confirm"
EDIT = "edit"

SKIP_WORDS = {"lewati", "skip", "tidak ada", "tidak", "ga ada", "gak ada", "-"}
DONE_WORDS = {"selesai", "done", "sudah", "cukup", "lanjut", "next"}


@dataclass(frozen=True)
class Rejected:
    """A file of the message that was not taken; `reason` is a template key."""

    number: int  # its place among the message's files, from 1
    reason: str
    name: str | None = None  # the file's name, when the sender gave one
    actual: str | None = None  # the type its content shows, when it was looked at
    claimed: str | None = None  # the type (pdf, jpg…) its name or its sender claimed, if not that


@dataclass(frozen=True)
class CitizenInput:
    """What a citizen sent, channel-free."""

    text: str | None = None
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    contact: str | None = None
    action: str | None = None  # the value of a tapped choice
    album_id: str | None = None
    unsupported: bool = False  # a sticker, poll, game… something we cannot use
    rejected: tuple[Rejected, ...] = ()  # files refused before the message reached us

    @property
    def clean_text(self) -> str:
        return " ".join((self.text or "").split())


@dataclass(frozen=True)
class Choice:
    label: str
    value: str


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class Submission:
    """A complete complaint, confirmed by the citizen."""

    description: str
    location_text: str | None
    location: Location | None
    occurred_text: str | None
    attachments: tuple[Attachment, ...]
    privacy: Privacy
    name: str | None
    contact: str | None


@dataclass
class Outcome:
    state: DialogueState | None  # None: the dialogue is over (submitted or cancelled)
    replies: list[Reply] = field(default_factory=list)
    submission: Submission | None = None


def is_emergency(texts: Texts, text: str) -> bool:
    """Tells whether a message speaks of an emergency (then: call 112 at once)."""
    lowered = text.casefold()
    return any(keyword in lowered for keyword in texts.emergency_keywords())


def remember_album(data: dict[str, Any], album_id: str | None) -> bool:
    """Records an album id; true when it is new (so we answer an album once)."""
    if album_id is None:
        return True
    albums: list[str] = data.setdefault("albums", [])
    if album_id in albums:
        return False
    albums.append(album_id)
    del albums[:-MAX_REMEMBERED_ALBUMS]
    return True


class IntakeDialogue:
    """Asks what happened, where, when, for attachments and identity; then confirms."""

    def __init__(self, texts: Texts, agency: str) -> None:
        self.t = texts
        self.agency = agency

    # ------------------------------------------------------------------ entry points
    def begin(
        self,
        *,
        profile_name: str | None,
        channel_contact: str | None,
        first: CitizenInput | None = None,
        albums: list[str] | None = None,
    ) -> Outcome:
        """Starts a new complaint; a first message with substance becomes its description."""
        data: dict[str, Any] = {"attachments": [], "albums": list(albums or [])}
        if profile_name:
            data["profile_name"] = profile_name[:MAX_NAME]
        if channel_contact:
            data["channel_contact"] = channel_contact
        state = DialogueState("description", data)
        replies = self._emergency(first) if first is not None else []
        replies.append(Reply(self.t("welcome", agency=self.agency)))
        substantive = first is not None and (
            len(first.clean_text) >= 2 * MIN_DESCRIPTION or first.attachments or first.location
        )
        if first is not None and substantive:
            return self._take(state, first, replies)
        return Outcome(state, [*replies, self._prompt(state)])

    def advance(self, state: DialogueState, inp: CitizenInput) -> Outcome:
        """Takes the citizen's next message at the current step."""
        return self._take(state, inp, self._emergency(inp))

    def _emergency(self, inp: CitizenInput) -> list[Reply]:
        """The advice to call 112, first of all, when the message speaks of an emergency."""
        if inp.clean_text and is_emergency(self.t, inp.clean_text):
            return [Reply(self.t("emergency"))]
        return []

    def _take(self, state: DialogueState, inp: CitizenInput, replies: list[Reply]) -> Outcome:
        data = state.data
        text = inp.clean_text
        new_album = remember_album(data, inp.album_id)

        if inp.attachments:
            keep_attachments(data, inp.attachments, (inp.text or "").strip())
            # What comes with files is their caption; only the story may also be told so.
            if state.step != "description" or not text:
                if new_album:
                    key = (
                        "attachment_received" if state.step == "attachments" else "attachment_kept"
                    )
                    replies.append(Reply(self.t(key, count=len(data["attachments"]))))
                    if state.step != "attachments":
                        replies.append(self._prompt(state))
                    else:
                        replies[-1] = Reply(replies[-1].text, self._choices(state))
                return Outcome(state, replies)

        if inp.location is not None:
            loc = inp.location
            data["location"] = [loc.latitude, loc.longitude, loc.label]
            if state.step == "location":
                return self._next(state, replies)
            if not text:
                replies += [Reply(self.t("location_received")), self._prompt(state)]
                return Outcome(state, replies)

        if inp.unsupported and not text:
            replies += [Reply(self.t("unsupported_input")), self._prompt(state)]
            return Outcome(state, replies)

        handler = getattr(self, f"_at_{state.step}")
        outcome: Outcome = handler(state, inp, replies)
        return outcome

    # ------------------------------------------------------------------ steps
    def _at_description(
        self, state: DialogueState, inp: CitizenInput, replies: list[Reply]
    ) -> Outcome:
        text = (inp.text or "").strip()
        if not text:
            return self._expect_text(state, replies)
        if len(text) < MIN_DESCRIPTION:
            replies.append(Reply(self.t("description_too_short", min=MIN_DESCRIPTION)))
            return Outcome(state, replies)
        if len(text) > MAX_DESCRIPTION:
            replies.append(Reply(self.t("description_too_long", max=MAX_DESCRIPTION)))
            return Outcome(state, replies)
        state.data["description"] = text
        return self._next(state, replies)

    def _at_location(
        self, state: DialogueState, inp: CitizenInput, replies: list[Reply]
    ) -> Outcome:
        text = inp.clean_text
        if not text:
            return self._expect_text(state, replies)
        state.data["location_text"] = text[:MAX_SHORT_TEXT]
        return self._next(state, replies)

    def _at_time(self, state: DialogueState, inp: CitizenInput, replies: list[Reply]) -> Outcome:
        value = self._choice(state, inp)
        if value == "skip":
            state.data["occurred_text"] = None
            return self._next(state, replies)
        text = inp.clean_text
        if not text:
            return self._expect_text(state, replies)
        state.data["occurred_text"] = text[:MAX_SHORT_TEXT]
        return self._next(state, replies)

    def _at_attachments(
        self, state: DialogueState, inp: CitizenInput, replies: list[Reply]
    ) -> Outcome:
        if self._choice(state, inp) == "done":
            return self._next(state, replies)
        return self._expect_choice(state, replies)

    def _at_privacy(self, state: DialogueState, inp: CitizenInput, replies: list[Reply]) -> Outcome:
        value = self._choice(state, inp)
        if value is None:
            return self._expect_choice(state, replies)
        state.data["privacy"] = value
        return self._next(state, replies)

    def _at_name(self, state: DialogueState, inp: CitizenInput, replies: list[Reply]) -> Outcome:
        if self._choice(state, inp) == "profile":
            state.data["name"] = state.data["profile_name"]
            return self._next(state, replies)
        text = inp.clean_text
        if not text or len(text) > MAX_NAME:
            replies += [Reply(self.t("name_invalid", max=MAX_NAME)), self._prompt(state)]
            return Outcome(state, replies)
        state.data["name"] = text
        return self._next(state, replies)

    def _at_contact(self, state: DialogueState, inp: CitizenInput, replies: list[Reply]) -> Outcome:
        if inp.contact:
            state.data["contact"] = inp.contact
            return self._next(state, replies)
        if self._choice(state, inp) == "skip":
            state.data["contact"] = None
            return self._next(state, replies)
        phone = normalise_phone(inp.clean_text)
        if phone is None:
            replies.append(Reply(self.t("contact_invalid"), self._choices(state)))
            return Outcome(state, replies)
        state.data["contact"] = phone
        return self._next(state, replies)

    def _at_confirm(self, state: DialogueState, inp: CitizenInput, replies: list[Reply]) -> Outcome:
        value = self._choice(state, inp)
        if value == "send":
            return Outcome(None, replies, submission=self._submission(state.data))
        if value == "cancel":
            return Outcome(None, [*replies, Reply(self.t("cancelled"))])
        if value == "edit":
            return self._goto(state, EDIT, replies)
        return self._expect_choice(state, replies)

    def _at_edit(self, state: DialogueState, inp: CitizenInput, replies: list[Reply]) -> Outcome:
        value = self._choice(state, inp)
        if value is None:
            return self._expect_choice(state, replies)
        if value == "back":
            return self._goto(state, CONFIRM, replies)
        state.data["editing"] = True
        if value == "attachments":
            state.data["attachments"] = []
        return self._goto(state, "privacy" if value == "identity" else value, replies)

    # ------------------------------------------------------------------ moving on
    def _next(self, state: DialogueState, replies: list[Reply]) -> Outcome:
        data = state.data
        step = state.step
        if data.get("editing") and step not in ("privacy", "name"):
            data.pop("editing", None)
            return self._goto(state, CONFIRM, replies)
        following = STEPS[STEPS.index(step) + 1] if step in STEPS[:-1] else CONFIRM
        if following == "location" and data.get("location") and not data.get("editing"):
            following = "time"  # a location shared earlier already answers "where"
        if following == "contact" and data.get("channel_contact"):
            data["contact"] = data["channel_contact"]
            following = CONFIRM
        if following == CONFIRM:
            data.pop("editing", None)
        return self._goto(state, following, replies)

    def _goto(self, state: DialogueState, step: str, replies: list[Reply]) -> Outcome:
        state.step = step
        if step == CONFIRM:
            replies.append(Reply(self.summary(state.data)))
        replies.append(self._prompt(state))
        return Outcome(state, replies)

    def _prompt(self, state: DialogueState) -> Reply:
        key = {
            "description": "ask_description",
            "location": "ask_location",
            "time": "ask_time",
            "attachments": "ask_attachments",
            "privacy": "ask_privacy",
            "name": "ask_name",
            "contact": "ask_contact",
            CONFIRM: "confirm_prompt",
            EDIT: "edit_prompt",
        }[state.step]
        return Reply(self.t(key), self._choices(state))

    def _expect_text(self, state: DialogueState, replies: list[Reply]) -> Outcome:
        replies += [Reply(self.t("expected_text")), self._prompt(state)]
        return Outcome(state, replies)

    def _expect_choice(self, state: DialogueState, replies: list[Reply]) -> Outcome:
        choices = self._choices(state)
        listed = ", ".join(f"{n}. {c.label}" for n, c in enumerate(choices, 1))
        replies.append(Reply(self.t("choose_one", options=listed), choices))
        return Outcome(state, replies)

    # ------------------------------------------------------------------ choices
    def _choices(self, state: DialogueState) -> tuple[Choice, ...]:
        t = self.t
        step = state.step
        if step in ("time", "contact"):
            return (Choice(t("btn_skip"), "skip"),)
        if step == "attachments":
            return (Choice(t("btn_done"), "done"),)
        if step == "privacy":
            return (
                Choice(t("btn_privacy_normal"), Privacy.NORMAL.value),
                Choice(t("btn_privacy_anonymous"), Privacy.ANONYMOUS.value),
                Choice(t("btn_privacy_confidential"), Privacy.CONFIDENTIAL.value),
            )
        if step == "name" and state.data.get("profile_name"):
            return (Choice(t("btn_use_name", name=state.data["profile_name"]), "profile"),)
        if step == CONFIRM:
            return (
                Choice(t("btn_send"), "send"),
                Choice(t("btn_edit"), "edit"),
                Choice(t("btn_cancel"), "cancel"),
            )
        if step == EDIT:
            return (
                Choice(t("btn_edit_description"), "description"),
                Choice(t("btn_edit_location"), "location"),
                Choice(t("btn_edit_time"), "time"),
                Choice(t("btn_edit_attachments"), "attachments"),
                Choice(t("btn_edit_identity"), "identity"),
                Choice(t("btn_back"), "back"),
            )
        return ()

    def _choice(self, state: DialogueState, inp: CitizenInput) -> str | None:
        """Resolves a tapped button, a number or the words of an option to its value."""
        return match_choice(self._choices(state), inp)

    # ------------------------------------------------------------------ results
    def summary(self, data: dict[str, Any]) -> str:
        t = self.t
        dash = t("not_specified")
        count = len(data.get("attachments", []))
        return t(
            "summary",
            description=data.get("description") or dash,
            location=describe_location(t, data.get("location_text"), location_of(data)),
            occurred=data.get("occurred_text") or dash,
            attachments=t("attachment_count", count=count) if count else t("no_attachments"),
            name=data.get("name") or dash,
            contact=data.get("contact") or dash,
            privacy=t(f"privacy_{data.get('privacy', Privacy.NORMAL.value)}"),
        )

    def _submission(self, data: dict[str, Any]) -> Submission:
        return Submission(
            description=data["description"],
            location_text=data.get("location_text"),
            location=location_of(data),
            occurred_text=data.get("occurred_text"),
            attachments=tuple(Attachment.from_dict(a) for a in data.get("attachments", [])),
            privacy=Privacy(data.get("privacy", Privacy.NORMAL.value)),
            name=data.get("name"),
            contact=data.get("contact"),
        )


def keep_attachments(
    data: dict[str, Any], attachments: tuple[Attachment, ...], caption: str
) -> None:
    """Keeps a message's files in a dialogue's `data` (each once, up to MAX_ATTACHMENTS),
    its text as the caption of the first of them."""
    kept: list[dict[str, Any]] = data.setdefault("attachments", [])
    refs = {a["ref"] for a in kept}
    if caption:
        first, *rest = attachments
        attachments = (replace(first, caption=caption[:MAX_DESCRIPTION]), *rest)
    for attachment in attachments:
        if attachment.ref not in refs and len(kept) < MAX_ATTACHMENTS:
            kept.append(attachment.to_dict())
            refs.add(attachment.ref)


def match_choice(choices: tuple[Choice, ...], inp: CitizenInput) -> str | None:
    """Finds which choice the citizen meant: a tapped value, a number, or its words."""
    values = {c.value for c in choices}
    if inp.action is not None:
        return inp.action if inp.action in values else None
    text = inp.clean_text.casefold().strip(" .!")
    if not text:
        return None
    if text.isdigit():
        index = int(text) - 1
        return choices[index].value if 0 <= index < len(choices) else None
    for choice in choices:
        if text in (choice.label.casefold(), choice.value.casefold()):
            return choice.value
    if "skip" in values and text in SKIP_WORDS:
        return "skip"
    if "done" in values and text in DONE_WORDS:
        return "done"
    synonyms = {"send": {"ya", "kirim", "benar", "ok", "oke", "yes", "send"}, "cancel": {"batal"}}
    for value, words in synonyms.items():
        if value in values and text in words:
            return value
    return None


def normalise_phone(text: str) -> str | None:
    """Reads a phone number typed in any common Indonesian way, or None."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if not 8 <= len(digits) <= 15 or any(ch.isalpha() for ch in text):
        return None
    return ("+" + digits) if text.strip().startswith("+") else digits


def describe_location(t: Texts, location_text: str | None, location: Location | None) -> str:
    parts = []
    if location_text:
        parts.append(location_text)
    if location is not None:
        parts.append(
            location.label
            or t(
                "shared_location",
                latitude=f"{location.latitude:.5f}",
                longitude=f"{location.longitude:.5f}",
            )
        )
    return "; ".join(parts) or t("not_specified")


def location_of(data: dict[str, Any]) -> Location | None:
    loc = data.get("location")
    return Location(loc[0], loc[1], loc[2]) if loc else None
