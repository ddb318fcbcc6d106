"""What staff send in their groups, and the parts the officers' and units' handlers share."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core import search, views
from bot.core.cases import CaseDesk, Refusal
from bot.core.commands import CITIZEN_WORDS, STAFF_WORDS
from bot.core.model import Actor, Attachment, Channel, Recipient
from bot.core.office import Unit
from bot.core.permissions import Action

_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@(\w+))?(?:\s+(.*))?$", re.DOTALL)


USAGE: dict[Action, str] = {
    Action.DISPOSE: "/disposisi KODE UNIT [catatan]",
    Action.REQUEST_INFO: "/lengkapi KODE pesan",
    Action.REFUSE: "/tolak KODE alasan",
    Action.CLOSE: "/selesai KODE [catatan]",
    Action.SHOW_CASE: "/kasus KODE",
    Action.ANSWER: "/jawab KODE teks",
    Action.RETURN: "/kembalikan KODE alasan",  # a unit's to the officers; theirs upwards
    Action.CATEGORIZE: "/kategori KODE kategori",
    Action.EXPORT: "/ekspor KODE",
    Action.LAPOR: "/lapor KODE [NOMOR | status teks]",
    Action.INFORMED: "/dikabari KODE [cara]",
    Action.BLOCK: "/blokir KODE [alasan]",
    Action.UNBLOCK: "/bukablokir KODE",
    Action.REVEAL: "/identitas KODE alasan",
    Action.SEARCH: "/cari kata… [hal N]",
    Action.MERGE: "/gabung KODE_LAMA KODE_UTAMA",
    Action.APPROVE: "/setujui KODE [UNIT | teks]",
    Action.REVISE: "/revisi KODE catatan",
    Action.PLAN: "/rencana KODE teks",
    Action.FORWARD: "/alihkan KODE instansi | catatan",
}


@dataclass(frozen=True)
class StaffMessage:
    """A message or button tap from a staff member in a group, or from a staff WhatsApp
    number (which acts as its role's chat: `chat_id` is that chat's)."""

    chat_id: str  # the id from the agency file (a migrated group is mapped back)
    user_id: str
    user_name: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    album_id: str | None = None
    # A staff WhatsApp number: what the bot answers goes to it, not to the role's chat;
    # and its listing in the agency file is its permission (no `officer_ids` check).
    number: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor("staff", self.user_id, self.user_name, self.chat_id)

    @property
    def chat(self) -> Recipient:
        """Where the bot answers this person: their chat (the group, or their number)."""
        if self.number is not None:
            return Recipient(Channel.WHATSAPP, self.number)
        return Recipient(Channel.TELEGRAM, self.chat_id)

    @property
    def role_chat(self) -> Recipient:
        """The chat of the role this person acts in (a group, or a WhatsApp-only role)."""
        return Recipient(Channel.TELEGRAM, self.chat_id)

    @property
    def listed(self) -> bool:
        """Whether the agency file names this person for the role (a staff number)."""
        return self.number is not None


@dataclass(frozen=True)
class Command:
    name: str
    action: Action | None  # None: a command we do not know
    args: str
    addressed_to: str | None  # the bot username after "@", if any


def parse_command(text: str) -> Command | None:
    """Splits `/disposisi@bot ADU-XXXX YANKES catatan` into name, action and arguments."""
    match = _COMMAND.match(text.strip())
    if not match:
        return None
    name = match.group(1).lower()
    return Command(name, STAFF_WORDS.get(name), (match.group(3) or "").strip(), match.group(2))


def private_staff_command(text: str) -> Command | None:
    """A staff command typed in a private chat: a staff word that is not also a citizen's
    (/start and /bantuan stay the citizen's there, whoever types them)."""
    command = parse_command(text)
    if command is None or command.action is None or command.name in CITIZEN_WORDS:
        return None
    return command


def split_args(args: str, count: int) -> list[str]:
    """Splits off the first `count` words; the rest (the note or text) stays whole."""
    parts = args.split(maxsplit=count)
    return parts + [""] * (count + 1 - len(parts))


def require(value: str, action: Action) -> str:
    if not value:
        raise Refusal("err_usage", usage=USAGE[action])
    return value


async def say(desk: CaseDesk, msg: StaffMessage, text: str) -> None:
    await desk.tell(msg.chat, text)


async def show_case(desk: CaseDesk, msg: StaffMessage, code: str, *, unit_code: str | None) -> None:
    """`/kasus KODE`: officers see any case; a unit only its own, privacy-filtered."""
    case = await desk.find(require(code, Action.SHOW_CASE))
    if unit_code is not None and case.unit_code != unit_code:
        raise Refusal("err_not_your_case", code=case.code)
    assert case.id is not None
    events = await desk.uow.cases.events(case.id)
    text = views.case_detail(
        desk.office, desk.t, case, events, desk.now, for_unit=unit_code is not None
    )
    await desk.tell(msg.chat, text, case)


async def find_cases(desk: CaseDesk, msg: StaffMessage, args: str, *, unit: Unit | None) -> None:
    """`/cari kata… [hal N]`: officers and the supervisor find any case; a unit only its
    own, never by the reporter's identity."""
    await search.find(desk, msg.chat, args, USAGE[Action.SEARCH], unit=unit)
