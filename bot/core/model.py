"""The complaint domain: cases, reporters, attachments, and the messages the bot sends.

Plain Python only: nothing here knows Telegram, Twilio, aiohttp or SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

MAX_BUTTON_ACTION_BYTES = 64  # Telegram's callback_data limit


class Channel(StrEnum):
    """A chat platform through which the bot reaches a person."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    # A reporter who is in no chat with the bot (a walk-in, a caller, a letter writer)
    # and is informed by an officer by hand: what the bot would tell them becomes a
    # "Kabari pelapor" task in the officers' group (bot.core.tasks), never a message.
    MANUAL = "manual"


class CaseStatus(StrEnum):
    """The statuses the SOPs name (menunggu/baru … selesai, dikembalikan/ditolak)."""

    NEW = "baru"
    NEEDS_INFO = "perlu_dilengkapi"
    DISPOSED = "didisposisi"
    RETURNED = "dikembalikan"
    ANSWERED = "dijawab"
    CLOSED = "selesai"
    REFUSED = "ditolak"
    # The chain of command (`[workflow]`, issue 21):
    PROPOSED = "diusulkan"  # an officer's disposition waits for the supervisor's approval
    IN_REVIEW = "ditinjau"  # the unit's answer waits for the reviewer's approval
    FORWARDED = "dialihkan"  # outside the office's authority, handed to another agency

    @property
    def is_open(self) -> bool:
        return self not in (CaseStatus.CLOSED, CaseStatus.REFUSED, CaseStatus.FORWARDED)


class Privacy(StrEnum):
    """How much of the reporter the units may see (LAPOR's anonim and rahasia)."""

    NORMAL = "biasa"
    ANONYMOUS = "anonim"  # name hidden from the unit
    CONFIDENTIAL = "rahasia"  # the whole report is confidential

    @property
    def hides_name(self) -> bool:
        return self is not Privacy.NORMAL


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"

    @property
    def groups_as_album(self) -> bool:
        """Photos and videos can share an album; documents and audio cannot mix with them."""
        return self in (AttachmentKind.PHOTO, AttachmentKind.VIDEO)


class StoredFile(StrEnum):
    """The source of a file that no chat platform sent: one this service made and keeps
    on its own disk (a recap, a case file), resolved by its path as WhatsApp media kept
    here is. Telegram's own files are file_ids that only Telegram resolves."""

    SERVICE = "service"


STORED_FILE = StoredFile.SERVICE


def file_source(value: str) -> Channel | StoredFile:
    """The source an attachment's stored form names."""
    return STORED_FILE if value == STORED_FILE.value else Channel(value)


@dataclass(frozen=True)
class Attachment:
    """A file someone sent: a reference the channel understands, plus what it is.

    `ref` is channel-specific (a Telegram file_id, or a stored file path); `source`
    names the channel that can resolve it (STORED_FILE: a file this service made).
    `caption` is what the reporter wrote with it (a Telegram caption, a WhatsApp media
    message's body): part of the complaint.
    """

    kind: AttachmentKind
    ref: str
    source: Channel | StoredFile
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    caption: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "ref": self.ref,
            "source": self.source.value,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "size": self.size,
            "caption": self.caption,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attachment:
        return cls(
            kind=AttachmentKind(data["kind"]),
            ref=data["ref"],
            source=file_source(data["source"]),
            file_name=data.get("file_name"),
            mime_type=data.get("mime_type"),
            size=data.get("size"),
            caption=data.get("caption"),
        )


MAP_ZOOM = 17  # a street and its buildings


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    label: str | None = None

    @property
    def map_url(self) -> str:
        """The place on OpenStreetMap, pinned, for staff to open in a browser."""
        lat, lon = f"{self.latitude:.5f}", f"{self.longitude:.5f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map={MAP_ZOOM}/{lat}/{lon}"


@dataclass(frozen=True)
class Recipient:
    """Where a message goes: a chat on a channel (a Telegram chat id, a WhatsApp number)."""

    channel: Channel
    address: str

    def __str__(self) -> str:
        return f"{self.channel.value}:{self.address}"


@dataclass(frozen=True)
class Button:
    """A tappable choice; `action` comes back when it is tapped (≤ 64 bytes)."""

    label: str
    action: str

    def __post_init__(self) -> None:
        size = len(self.action.encode("utf-8"))
        if not 1 <= size <= MAX_BUTTON_ACTION_BYTES:
            raise ValueError(f"button action must be 1-64 bytes, got {size}: {self.action!r}")


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for one recipient, channel-free; adapters decide how to render it.

    `purpose` marks messages people answer by replying to them (the case message in a
    unit's group, a prompt asking an officer for a reason); the sender remembers the
    ids the channel gave them so that a reply can be traced back to the case.
    `album_key` lets attachments that arrive one by one (an album) join the message
    still waiting in the outbox instead of going out as separate messages.
    `answers_tap` is the channel's id of a button tap this message acknowledges; such a
    message is shown as a short notice on the tapping person's screen.
    `edits_buttons` makes it no new message: the buttons of the case's earlier messages
    in that chat with the same `purpose` become `buttons` (none: removed). The sender
    finds those messages when it gets to it (`edit_targets`, never stored), so an edit
    queued before the message it edits was sent still finds it.
    `copyable` are parts of the text shown so that one tap copies them (a command with
    the case code filled in, for staff on a phone who cannot easily reply).
    `template` and `params` say which sentence of the templates the text was made from,
    so a channel that may only send pre-approved templates (WhatsApp outside its 24-hour
    window) can send the approved one instead; `as_template` forces that.
    """

    recipient: Recipient
    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    case_id: int | None = None
    purpose: str | None = None
    album_key: str | None = None
    answers_tap: str | None = None
    edits_buttons: bool = False
    edit_targets: tuple[str, ...] = ()
    copyable: tuple[str, ...] = ()
    template: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    as_template: bool = False
    case_code: str | None = None  # for the log lines about sending it
    # Goes ahead of the chat's other waiting messages: a new case's relay is not held
    # up behind a backlog of follow-ups (only ever a case's first message in a chat).
    urgent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[[b.label, b.action] for b in row] for row in self.buttons],
            "attachments": [a.to_dict() for a in self.attachments],
            "location": (
                [self.location.latitude, self.location.longitude, self.location.label]
                if self.location
                else None
            ),
            "answers_tap": self.answers_tap,
            "edits_buttons": self.edits_buttons,
            "copyable": list(self.copyable),
            "template": self.template,
            "params": dict(self.params),
            "as_template": self.as_template,
            "case_code": self.case_code,
        }

    @classmethod
    def from_dict(
        cls,
        recipient: Recipient,
        data: dict[str, Any],
        *,
        case_id: int | None = None,
        purpose: str | None = None,
        album_key: str | None = None,
    ) -> OutgoingMessage:
        loc = data.get("location")
        return cls(
            recipient=recipient,
            text=data.get("text", ""),
            buttons=tuple(
                tuple(Button(label, action) for label, action in row)
                for row in data.get("buttons", [])
            ),
            attachments=tuple(Attachment.from_dict(a) for a in data.get("attachments", [])),
            location=Location(loc[0], loc[1], loc[2]) if loc else None,
            case_id=case_id,
            purpose=purpose,
            album_key=album_key,
            answers_tap=data.get("answers_tap"),
            edits_buttons=bool(data.get("edits_buttons", False)),
            copyable=tuple(data.get("copyable") or ()),
            template=data.get("template"),
            params=tuple((str(k), str(v)) for k, v in (data.get("params") or {}).items()),
            as_template=bool(data.get("as_template", False)),
            case_code=data.get("case_code"),
        )


@dataclass
class Reporter:
    """A citizen, identified by channel and address (Telegram chat id, WhatsApp number)."""

    channel: Channel
    address: str
    display_name: str | None = None
    id: int | None = None
    last_inbound_at: datetime | None = None
    blocked_at: datetime | None = None  # an officer blocked them: their messages are ignored

    @property
    def recipient(self) -> Recipient:
        return Recipient(self.channel, self.address)


@dataclass(frozen=True)
class Actor:
    """Who did something, for the audit trail."""

    role: str  # "reporter" | "officer" | "unit" | "system"
    user_id: str | None = None
    name: str | None = None
    chat_id: str | None = None

    def describe(self) -> str:
        who = self.name or (f"#{self.user_id}" if self.user_id else self.role)
        return who


SYSTEM = Actor(role="system", name="sistem")


class EventKind(StrEnum):
    SUBMITTED = "diterima"
    INFO_REQUESTED = "minta_kelengkapan"
    INFO_ADDED = "kelengkapan_diterima"
    FOLLOW_UP = "pesan_tambahan"
    DISPOSED = "disposisi"
    ANSWERED = "dijawab"
    RETURNED = "dikembalikan"
    REFUSED = "ditolak"
    CLOSED = "selesai"
    RATED = "penilaian"
    REMINDED = "pengingat"  # the reporter was reminded to complete the report
    ESCALATED = "eskalasi"  # the supervisor was told the case is overdue
    EXPIRED = "ditutup_otomatis"  # closed by the deadline rules
    CATEGORIZED = "kategori"  # the officers filed the case under a category
    BLOCKED = "blokir"  # an officer blocked the reporter (abuse)
    REVEALED = "identitas_dibuka"  # an officer gave the unit the reporter's identity
    UNBLOCKED = "buka_blokir"
    INFORMED = "dikabari"  # an officer informed a reporter not in the chat (/dikabari)
    LAPOR_HANDOVER = "ke_penghubung"  # handed to the liaison to enter into SP4N-LAPOR!
    LAPOR_LINKED = "nomor_lapor"  # the case's SP4N-LAPOR! tracking number recorded
    LAPOR_STATUS = "status_lapor"  # what SP4N-LAPOR! says of the case (/lapor KODE status)
    MERGED = "digabung"  # this duplicate joined a main case (/gabung)
    MERGED_IN = "gabungan"  # a duplicate joined this main case
    # The chain of command (`[workflow]`, issue 21):
    PROPOSED = "usulan_disposisi"  # an officer proposed a disposition to the supervisor
    PLANNED = "rencana"  # the follow-up plan (rencana tindak lanjut) was recorded
    ANSWER_SUBMITTED = "jawaban_diajukan"  # the unit's answer went to the reviewer
    REVISION = "revisi"  # the reviewer sent the unit's answer back with a note
    RETURNED_UP = "dikembalikan_ke_atasan"  # officers returned the case to the supervisor
    FORWARDED = "dialihkan"  # handed to another agency (outside our authority)


@dataclass(frozen=True)
class CaseEvent:
    """One line of a case's audit trail."""

    kind: EventKind
    at: datetime
    actor: Actor
    note: str | None = None
    status_after: CaseStatus | None = None
    unit_code: str | None = None
    attachments: tuple[Attachment, ...] = ()


class Step(StrEnum):
    """The step of a case whose time budget is running, named for what is awaited."""

    VERIFY = "verifikasi"  # officers verify and dispose a new or returned case
    ANSWER = "tindak_lanjut"  # the unit answers (or reacts to the reporter's reply)
    COMPLETE = "kelengkapan"  # the reporter completes the report after /lengkapi
    CONFIRM = "konfirmasi"  # the reporter may react to the answer before it is closed
    APPROVE = "persetujuan"  # the supervisor approves (or changes) a proposed disposition
    REVIEW = "tinjauan"  # the reviewer approves the unit's answer, or sends it back

    @property
    def held_by_reporter(self) -> bool:
        return self in (Step.COMPLETE, Step.CONFIRM)


@dataclass
class Watch:
    """The running step's clock: when it started, its deadline, and what was done about it."""

    step: Step
    started_at: datetime
    due_at: datetime
    nudged_at: datetime | None = None
    nudges: int = 0
    escalated_at: datetime | None = None
    reminded_at: datetime | None = None


@dataclass
class Relays:
    """The reporter's follow-ups relayed to the staff's groups in the case's current
    minute, and those held back since to go as one digest (`CaseDesk.add_from_reporter`)."""

    window_at: datetime | None = None  # when the current minute began
    relayed: int = 0  # follow-ups relayed on their own (or a digest) in it
    held: int = 0  # the latest text follow-ups, waiting for the digest
    digest_at: datetime | None = None  # when the digest goes (None: nothing held)


@dataclass
class Milestones:
    """When the case first reached each point, as working-minute stamps.

    `WorkingCalendar.stamp` values: subtracting two gives the office hours between them,
    so recaps can total working time in SQL without the calendar.
    """

    filed: int | None = None
    disposed: int | None = None
    answered: int | None = None
    closed: int | None = None
    # The chain of command's steps (`[workflow]`), stamped from the case's statuses by
    # `bot.core.recap.mark_milestones`: first proposed to the supervisor (diusulkan), the
    # disposition first in effect after that (approved), the unit's answer first put to
    # review (ditinjau), and the answer first sent on after that (reviewed).
    proposed: int | None = None
    approved: int | None = None
    submitted: int | None = None
    reviewed: int | None = None


class TaskKind(StrEnum):
    """Work a person owes a case besides its step, with its own deadline and nudges."""

    INFORM = "kabari"  # tell a reporter who is not in the chat the bot's news (SOP 002/8)
    LAPOR_ENTRY = "lapor_input"  # the liaison enters the case into SP4N-LAPOR! (SOP 003/4)
    LAPOR_MONITOR = "lapor_pantau"  # the liaison watches LAPOR's disposition (SOP 003/5)


@dataclass
class Task:
    """One piece of such work: due at `due_at`, nudged until someone records it done.

    `text` is what the reporter should hear (an INFORM task); `next_at` is when the
    deadline rules next look at it (its deadline, then each repeat; None once done).
    """

    case_id: int
    kind: TaskKind
    created_at: datetime
    due_at: datetime
    text: str | None = None
    next_at: datetime | None = None
    nudged_at: datetime | None = None
    nudges: int = 0
    done_at: datetime | None = None
    done_by: str | None = None
    done_note: str | None = None  # how the reporter was told; what LAPOR says
    id: int | None = None


@dataclass(frozen=True)
class Intake:
    """Where a complaint came from, for one an officer entered (`/catat`): the source
    (sumber) as the agency file lists it, the day the office received it, and who entered
    it. A complaint a citizen sent the bot themselves has none."""

    source: str
    received_on: date
    entered_by_id: str
    entered_by_name: str


@dataclass(frozen=True)
class ContactDetails:
    """How to reach a reporter besides the chat (all optional): `Case.reporter_contact`
    is the phone; these are the rest an officer may take down."""

    whatsapp: str | None = None
    email: str | None = None
    address: str | None = None


@dataclass
class Case:
    """A complaint (pengaduan) and where it stands."""

    code: str
    reporter_id: int
    channel: Channel
    description: str
    created_at: datetime
    privacy: Privacy = Privacy.NORMAL
    status: CaseStatus = CaseStatus.NEW
    location_text: str | None = None
    location: Location | None = None
    occurred_text: str | None = None
    reporter_name: str | None = None
    reporter_contact: str | None = None
    unit_code: str | None = None
    status_before_info_request: CaseStatus | None = None
    updated_at: datetime | None = None
    disposed_at: datetime | None = None
    answered_at: datetime | None = None
    closed_at: datetime | None = None
    rating: int | None = None
    rating_requested: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    watch: Watch | None = None  # the deadline of the step under way (open cases)
    next_check_at: datetime | None = None  # when the deadline rules next look at it
    long_escalated_at: datetime | None = None  # told the supervisor it is open too long
    category: str | None = None  # set by the officers (/kategori), for the recaps
    acknowledged_at: datetime | None = None  # the acknowledgement reached the provider
    first_disposed_at: datetime | None = None  # `disposed_at` is the latest disposition
    milestones: Milestones = field(default_factory=Milestones)
    relays: Relays = field(default_factory=Relays)  # what the staff's groups got this minute
    intake: Intake | None = None  # entered by an officer (/catat); None: the reporter sent it
    contacts: ContactDetails = field(default_factory=ContactDetails)
    lapor_number: str | None = None  # its SP4N-LAPOR! tracking number, once known
    merged_into: str | None = None  # the main case's code, once this duplicate joined it
    plan: str | None = None  # the follow-up plan (rencana tindak lanjut), `[workflow]`
    proposed_unit: str | None = None  # the unit an officer proposed, awaiting approval
    # The unit an officer disposed to while the follow-up plan was missing: the
    # disposition goes ahead once the plan is given (`[workflow] follow_up_plan`).
    pending_unit: str | None = None
    forwarded_to: str | None = None  # the agency a case outside our authority went to
    id: int | None = None

    @property
    def staff_entered(self) -> bool:
        return self.intake is not None
