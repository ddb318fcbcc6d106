"""The playground: the whole complaint cycle on one machine, without any token.

`aduanbot run` without a bot token (or `aduanbot playground`) starts the stand-ins of
the Telegram Bot API and of Twilio's Messages API on loopback (the same ones the
end-to-end tests use), points the unchanged service at them, and serves a page at
`/playground` where a newcomer plays every person: a citizen on Telegram, a citizen on
WhatsApp, the officers (in their group, and one officer in a private chat with the bot,
where complaints that came in other ways are entered), each unit and the supervisor. What
a person does on the page is
what the stand-in delivers to the bot as that person (an update, a Twilio webhook);
what the bot sends is what the stand-in recorded, pushed to the page as it happens
(server-sent events).

With a data folder (as `aduanbot playground` runs it) the stand-ins' chats are kept in
`playground-chats.pickle` beside the database, saved as they change: after a restart the
panes show the earlier history and the ids go on where they stopped, as Telegram's do
(otherwise the service would drop the new updates as duplicates of the old ones).
"Mulai ulang" on the page empties the database, the stored files and the chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pickle
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import BodyPartReader, web

from bot.agency import ContentTemplate
from bot.app import SERVICE
from bot.core.office import AnswerReview, DispositionBy, Office, has_telegram_chat
from bot.core.texts import Texts
from bot.standins.telegram import Chat, TelegramStandIn, User
from bot.standins.telegram import SentMessage as TelegramMessage
from bot.standins.telegram import TranscriptEntry as TelegramEntry
from bot.standins.twilio import TranscriptEntry as WhatsAppEntry
from bot.standins.twilio import TwilioStandIn, WhatsAppUser
from storage.models import Base

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"
AGENCY = HERE / "agency.toml"
TOKEN = "123456789:PLAYGROUND-not-a-real-bot-token-000"
BOT_USERNAME = "aduan_playground_bot"
MAX_UPLOAD = 8 * 1024 * 1024
PAGE_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".ico": "image/x-icon",
}
CHATS_FILE = "playground-chats.pickle"
SAVE_DELAY = 0.3  # seconds: a burst of messages is saved once
_CLOSING = ""  # put in a page's queue of changed panes: the service is stopping


@dataclass(frozen=True)
class Pane:
    """One chat on the page, and the person who acts in it."""

    id: str
    title: str
    channel: str  # "telegram" | "whatsapp"
    person: str  # the name shown as "you are …"
    hint: str  # what the person can do here, shown while the pane is empty
    chat_id: int | None = None  # Telegram
    user: User | None = None
    wa_user: WhatsAppUser | None = None
    lead: str = ""  # how to start, under the title at all times (a /command in it: a chip)
    tab: str = ""  # a shorter title for the phone's tabs (the title if empty)
    staff: bool = False  # a staff member's WhatsApp number: replies to the bot's messages

    @property
    def replies(self) -> bool:
        """Whether the person answers the bot by replying to its messages (↩ Balas)."""
        return self.channel == "telegram" or self.staff

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "channel": self.channel,
            "person": self.person,
            "hint": self.hint,
            "lead": self.lead,
            "tab": self.tab or self.title,
            "group": self.chat_id is not None and self.chat_id < 0,
            "replies": self.replies,
        }


def panes_of(office: Office) -> list[Pane]:
    """The citizens, then the officers' group and the same officer's private chat with the
    bot, each unit, the supervisor and the SP4N-LAPOR! liaison (as the agency has them):
    one pane per chat, whatever ids the agency file names (the stand-in makes the chats).
    A chat with a positive id is one person's private chat, so its person has that id; the
    officer is one of `officer_ids` (the lowest) when the file lists them."""
    flow = office.workflow
    siti = User(5001, "Siti", "Aminah", username="siti_aminah")
    panes = [
        Pane(
            "citizen-telegram",
            "Warga (Telegram)",
            "telegram",
            siti.full_name,
            "Ketik /start untuk mulai melapor.",
            siti.id,
            siti,
        ),
        Pane(
            "citizen-whatsapp",
            "Warga (WhatsApp)",
            "whatsapp",
            "Budi Santoso",
            "Tulis pesan apa saja (mis. halo) untuk mulai melapor lewat WhatsApp.",
            wa_user=WhatsAppUser("+6281234567890", "Budi Santoso"),
        ),
    ]
    officer = User(min((int(i) for i in office.officer_ids), default=7001), "Rina", "Petugas")
    proposing = flow.disposition_by is DispositionBy.SUPERVISOR
    if flow.follow_up_plan:
        dispose = "Ketik /disposisi KODE UNIT rencana tindak lanjut" + (
            " untuk mengusulkannya kepada atasan" if proposing else ""
        )
    elif proposing:
        dispose = "Ketuk tombol unit untuk mengusulkan disposisi kepada atasan"
    else:
        dispose = "Ketuk tombol unit untuk mendisposisi"
    reviewed = flow.answer_review is not AnswerReview.NONE
    by_officers = reviewed and office.review_chat_id == office.officers_chat_id
    review = " Jawaban unit ditinjau di sini dulu: ✅ Setujui & kirim, atau ✍️ Revisi."
    if has_telegram_chat(office.officers_chat_id):  # else: their WhatsApp pane
        panes.append(
            Pane(
                "officers",
                "Grup petugas",
                "telegram",
                officer.full_name,
                f"Kasus baru muncul di sini. {dispose}; /bantuan menampilkan perintah petugas."
                + (review if by_officers else ""),
                int(office.officers_chat_id),
                officer,
            )
        )
        panes.append(
            Pane(
                "officer-private",
                "Petugas — chat pribadi",
                "telegram",
                officer.full_name,
                f"Chat pribadi {officer.full_name} (anggota Grup petugas) dengan bot, untuk "
                "pengaduan yang datang lewat loket, telepon, surat, email, media sosial atau "
                "SP4N-LAPOR!: yang dicatat di sini mendapat kode dan diproses seperti pengaduan "
                "lainnya.",
                officer.id,  # a private chat has the user's id
                officer,
                lead=(
                    "Mulai: ketik /catat untuk mencatat pengaduan dari loket, telepon, surat, dll."
                ),
                tab="Petugas (pribadi)",
            )
        )
    shown = {siti.id, officer.id}
    if has_telegram_chat(office.officers_chat_id):
        shown.add(int(office.officers_chat_id))
    answer = "laporkan hasilnya" if flow.follow_up_plan else "jawab"
    reviewer = (
        f" Jawaban ditinjau {'petugas' if by_officers else 'atasan'} sebelum sampai ke pelapor."
        if reviewed
        else ""
    )
    for index, unit in enumerate(office.units):
        if not has_telegram_chat(unit.chat_id):
            continue  # on WhatsApp only: its pane is below
        chat = int(unit.chat_id)  # each unit's own (the agency file allows no sharing)
        shown.add(chat)
        staff = _person(chat, 8001 + index, "Staf", unit.code)
        panes.append(
            Pane(
                f"unit-{unit.code}",
                f"Unit {unit.name}",
                "telegram",
                staff.full_name,
                f"Kasus yang didisposisi ke unit ini muncul di sini; {answer} dengan ↩ Balas "
                f"pada pesan kasus, atau /jawab KODE teks.{reviewer}",
                chat,
                staff,
                tab=f"Unit {unit.code}",  # the phone's tabs: as the officers' buttons name it
            )
        )
    chat_id = office.supervisor_chat_id
    supervisor = int(chat_id) if chat_id is not None and has_telegram_chat(chat_id) else None
    if supervisor is not None and supervisor not in shown:
        shown.add(supervisor)
        head = _person(supervisor, 9001, "Kepala", "Dinas")
        approve = (
            "Usulan disposisi petugas muncul di sini: ketuk ✅ Setujui atau pilih unit lain. "
            if proposing
            else ""
        )
        panes.append(
            Pane(
                "supervisor",
                "Atasan",
                "telegram",
                head.full_name,
                f"{approve}{review.strip() + ' ' if reviewed and not by_officers else ''}"
                "Ketik /rekap untuk rekap dan grafik pengaduan, atau /bantuan.",
                supervisor,
                head,
            )
        )
    liaisons = office.lapor.liaison_chats()
    for index, raw in enumerate(liaisons):
        chat = int(raw)
        number = f" {index + 1}" if len(liaisons) > 1 else ""
        if chat in shown:
            continue
        shown.add(chat)
        liaison = _person(chat, 9101 + index, "Wulan", "Penghubung")
        panes.append(
            Pane(
                f"liaison{number.replace(' ', '-')}",
                f"Pejabat penghubung{number} (SP4N-LAPOR!)",
                "telegram",
                liaison.full_name,
                "Kasus untuk SP4N-LAPOR! muncul di sini sebagai form manual. Setelah "
                "memasukkannya ke LAPOR, ketik /lapor KODE NOMOR; kabar dari LAPOR: /lapor "
                "KODE status teks.",
                chat,
                liaison,
                tab=f"Penghubung{number}",
            )
        )
    panes += _whatsapp_staff_panes(office, by_officers)
    return panes


def _whatsapp_staff_panes(office: Office, reviewed_by_officers: bool) -> list[Pane]:
    """A pane for the first staff WhatsApp number of the officers, of each unit and of
    the supervisor (`officers_whatsapp`, …): each gets what its role's chat gets."""
    how = (
        "Balas (↩) pesan bot dengan nomor pilihan, atau ketik perintah tanpa garis miring "
        "(bantuan, antrian, kasus KODE)."
    )
    panes: list[Pane] = []
    if office.officers_whatsapp:
        review = " Jawaban unit ditinjau di sini: setujui KODE, revisi KODE catatan." * (
            reviewed_by_officers
        )
        panes.append(
            Pane(
                "officer-whatsapp",
                "Petugas (WhatsApp)",
                "whatsapp",
                "Ani Petugas",
                f"Nomor WhatsApp petugas: kasus baru dan kabar grup petugas sampai di sini. "
                f"{how}{review}",
                wa_user=WhatsAppUser(office.officers_whatsapp[0], "Ani Petugas"),
                tab="Petugas (WA)",
                staff=True,
            )
        )
    for index, unit in enumerate(u for u in office.units if u.whatsapp):
        panes.append(
            Pane(
                f"unit-{unit.code}-whatsapp",
                f"Unit {unit.name} (WhatsApp)",
                "whatsapp",
                f"Staf {unit.code} (WA)",
                "Nomor WhatsApp staf unit: disposisi untuk unit ini sampai di sini; jawab "
                f"dengan membalas (↩) pesan kasus, atau jawab KODE teks. {how}",
                wa_user=WhatsAppUser(unit.whatsapp[0], f"Staf {unit.code} {index + 1}"),
                tab=f"{unit.code} (WA)",
                staff=True,
            )
        )
    if office.supervisor_whatsapp:
        panes.append(
            Pane(
                "supervisor-whatsapp",
                "Atasan (WhatsApp)",
                "whatsapp",
                "Kepala Dinas",
                f"Nomor WhatsApp atasan: yang diterima chat atasan sampai di sini. {how}",
                wa_user=WhatsAppUser(office.supervisor_whatsapp[0], "Kepala Dinas"),
                tab="Atasan (WA)",
                staff=True,
            )
        )
    return panes


def _person(chat_id: int, otherwise: int, first: str, last: str) -> User:
    """Who acts in a chat: in a private chat (a positive id) the person it belongs to."""
    return User(chat_id if chat_id > 0 else otherwise, first, last)


class Playground:
    """The stand-ins, the people, and the page's routes.

    `data_dir`: where the chats are kept across restarts (None: only in memory).
    """

    def __init__(self, data_dir: Path | None = None) -> None:
        # Update ids that no earlier run used, even if the kept chats were lost.
        self.telegram = TelegramStandIn(
            token=TOKEN, bot_username=BOT_USERNAME, first_update_id=int(time.time() * 1000)
        )
        self.twilio = TwilioStandIn()
        self.secret = secrets.token_urlsafe(24)
        self.panes: list[Pane] = []
        self._by_id: dict[str, Pane] = {}
        self._wa_files: dict[str, tuple[bytes, str]] = {}
        self._chats_file = data_dir / CHATS_FILE if data_dir is not None else None
        self._earlier = (0, 0)  # transcript entries of earlier runs: Telegram's, Twilio's
        self._saver: asyncio.Task[None] | None = None
        self._pages: set[asyncio.Queue[str]] = set()  # each open page's changed panes

    async def start(self) -> None:
        await asyncio.to_thread(self._load)
        await self.telegram.start()
        await self.twilio.start()
        if self._chats_file is not None:
            self._saver = asyncio.create_task(self._save_changes())

    async def stop(self) -> None:
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None
            await self._save()
        await self.twilio.stop()
        await self.telegram.stop()

    # ------------------------------------------------------------------ kept chats

    def _load(self) -> None:
        """Resumes the chats of the earlier runs, if any were kept."""
        path = self._chats_file
        if path is None or not path.is_file():
            return
        try:
            kept = pickle.loads(path.read_bytes())
            self.telegram.resume(kept["telegram"])
            self.twilio.resume(kept["twilio"])
            self._wa_files = dict(kept["whatsapp_files"])
        except Exception as error:  # a broken file must not stop the playground
            aside = path.with_suffix(".unreadable")
            path.replace(aside)
            log.warning("playground: could not read %s (%s); kept as %s", path, error, aside)
            self.telegram.forget_conversations()
            self.twilio.forget_conversations()
            self._wa_files = {}
        self._earlier = (len(self.telegram.transcript()), len(self.twilio.transcript()))

    async def _save(self) -> None:
        path = self._chats_file
        if path is None:
            return
        data = pickle.dumps(
            {
                "telegram": self.telegram.saved(),
                "twilio": self.twilio.saved(),
                "whatsapp_files": self._wa_files,
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fresh = path.with_suffix(".tmp")
            fresh.write_bytes(data)
            os.replace(fresh, path)

        await asyncio.to_thread(write)

    async def _save_changes(self) -> None:
        """Saves the chats shortly after each change (a burst once)."""
        changed = asyncio.Event()
        telegram, twilio = self.telegram.subscribe(), self.twilio.subscribe()

        async def watch(queue: asyncio.Queue[Any]) -> None:
            while True:
                await queue.get()
                changed.set()

        watchers = [asyncio.create_task(watch(telegram)), asyncio.create_task(watch(twilio))]
        try:
            while True:
                await changed.wait()
                await asyncio.sleep(SAVE_DELAY)
                changed.clear()
                try:
                    await self._save()
                except OSError as error:
                    log.warning("playground: could not keep the chats: %s", error)
        finally:
            for watcher in watchers:
                watcher.cancel()
            self.telegram.unsubscribe(telegram)
            self.twilio.unsubscribe(twilio)

    def environment(self, public_base_url: str) -> dict[str, str]:
        """The settings that point the service at the stand-ins."""
        return {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": self.telegram.base_url,
            "TELEGRAM_WEBHOOK_SECRET": self.secret,
            "PUBLIC_BASE_URL": public_base_url,
            "TWILIO_ACCOUNT_SID": self.twilio.account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio.auth_token,
            "TWILIO_WHATSAPP_FROM": self.twilio.whatsapp_from,
            "TWILIO_API_BASE_URL": self.twilio.base_url,
        }

    def attach(
        self,
        app: web.Application,
        office: Office,
        public_base_url: str,
        templates: Mapping[str, ContentTemplate] | None = None,
        texts: Texts | None = None,
    ) -> None:
        """Adds the page and its API to the service's app, for `office`'s chats. The
        agency file's WhatsApp templates are approved at the Twilio stand-in, so that a
        staff number that has not written yet gets them, as it would in production."""
        if texts is not None:
            for key, spec in (templates or {}).items():
                text = texts.raw(key)
                for number, name in enumerate(spec.variables, 1):
                    text = text.replace("{" + name + "}", "{{" + str(number) + "}}")
                self.twilio.register_template(spec.content_sid, text)
        self.panes = panes_of(office)
        self._by_id = {pane.id: pane for pane in self.panes}
        self._introduce()
        self.twilio.configure_webhooks(f"{public_base_url}/webhook/whatsapp")
        app.router.add_get("/favicon.ico", self._favicon)
        app.router.add_get("/playground", self._page)
        app.router.add_get("/playground/", self._page)
        app.router.add_get("/playground/static/{name}", self._static)
        app.router.add_get("/playground/api/panes", self._panes)
        app.router.add_get("/playground/api/messages/{pane}", self._messages)
        app.router.add_get("/playground/api/events", self._events)
        app.router.add_post("/playground/api/act/{pane}", self._act)
        app.router.add_post("/playground/api/reset", self._reset)
        app.router.add_get("/playground/api/files/telegram/{file_id}", self._telegram_file)
        app.router.add_get("/playground/api/files/whatsapp", self._whatsapp_file)
        app.on_shutdown.append(self._close_pages)

    async def _close_pages(self, app: web.Application) -> None:
        """Ends every open page's event stream: shutting down waits for the streams, and
        one would otherwise end only when its next keep-alive finds the page gone (15 s)."""
        for page in self._pages:
            page.put_nowait(_CLOSING)

    def _introduce(self) -> None:
        """Makes the people and the groups known to the Telegram stand-in, each group's
        person a member of it: the officer is in the officers' group from the start, so
        the bot takes her for an officer in her private chat (/catat) before she ever
        writes in the group."""
        for pane in self.panes:
            if pane.user is not None:
                self.telegram.add_user(pane.user)
            if pane.chat_id is not None and pane.chat_id < 0:
                self.telegram.add_chat(Chat.group(pane.chat_id, pane.title))
                if pane.user is not None:
                    self.telegram.add_member(pane.chat_id, pane.user)

    async def _reset(self, request: web.Request) -> web.Response:
        """ "Mulai ulang": empties the database, the stored files and every chat."""
        service = request.app[SERVICE]
        async with service.db.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(table.delete())
        await asyncio.to_thread(_empty_folder, service.settings.media_dir)
        self.telegram.forget_conversations()
        self.twilio.forget_conversations()
        self._wa_files.clear()
        self._earlier = (0, 0)
        self._introduce()
        await self._save()
        log.info("playground: started afresh (database, files and chats emptied)")
        for page in self._pages:  # the other open pages empty their panes too
            for pane in self.panes:
                page.put_nowait(pane.id)
        return web.json_response({"ok": True})

    # ------------------------------------------------------------------ the page

    async def _favicon(self, request: web.Request) -> web.StreamResponse:
        return await self._send_static("favicon.ico")

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return await self._send_static("index.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        return await self._send_static(request.match_info["name"])

    async def _send_static(self, name: str) -> web.StreamResponse:
        path = (STATIC / name).resolve()
        if not path.is_relative_to(STATIC.resolve()) or path.suffix not in PAGE_TYPES:
            raise web.HTTPNotFound()
        body = await asyncio.to_thread(path.read_bytes)
        return web.Response(
            body=body,
            content_type=PAGE_TYPES[path.suffix],
            charset="utf-8" if PAGE_TYPES[path.suffix].startswith("text/") else None,
            headers={"Cache-Control": "no-cache"},
        )

    async def _panes(self, request: web.Request) -> web.Response:
        return web.json_response([pane.to_dict() for pane in self.panes])

    async def _messages(self, request: web.Request) -> web.Response:
        pane = self._pane(request)
        if pane.channel == "whatsapp":
            assert pane.wa_user is not None
            items = [self._whatsapp_item(e) for e in self.twilio.transcript(pane.wa_user)]
        else:
            assert pane.chat_id is not None
            items = [
                item
                for e in self.telegram.transcript(pane.chat_id)
                if (item := self._telegram_item(e)) is not None
            ]
        return web.json_response(items)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the id of each pane whose chat changed."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        changed: asyncio.Queue[str] = asyncio.Queue()
        telegram = self.telegram.subscribe()
        twilio = self.twilio.subscribe()
        by_chat = {pane.chat_id: pane.id for pane in self.panes if pane.chat_id is not None}
        # A Twilio event names no pane: the WhatsApp panes (a citizen, staff) look again.
        whatsapp = [p.id for p in self.panes if p.channel == "whatsapp"]

        async def pump(queue: asyncio.Queue[Any], panes_of: Callable[[Any], list[str]]) -> None:
            while True:
                event = await queue.get()
                for pane in panes_of(event):
                    changed.put_nowait(pane)

        def telegram_pane(event: Any) -> list[str]:
            chat_id = getattr(event, "chat_id", None)
            pane = by_chat.get(chat_id) if isinstance(chat_id, int) else None
            return [pane] if pane is not None else []

        tasks = [
            asyncio.create_task(pump(telegram, telegram_pane)),
            asyncio.create_task(pump(twilio, lambda e: whatsapp)),
        ]
        self._pages.add(changed)
        try:
            await response.write(b": connected\n\n")
            while True:
                try:
                    async with asyncio.timeout(15):
                        pane = await changed.get()
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if pane == _CLOSING:
                    return response
                await response.write(f"data: {json.dumps({'pane': pane})}\n\n".encode())
        except ConnectionResetError:  # the page was closed or reloaded
            return response
        finally:
            self._pages.discard(changed)
            for task in tasks:
                task.cancel()
            self.telegram.unsubscribe(telegram)
            self.twilio.unsubscribe(twilio)

    # ------------------------------------------------------------------ acting

    async def _act(self, request: web.Request) -> web.Response:
        """What the person of a pane does: write, tap a button, share a place, send a file."""
        pane = self._pane(request)
        if request.content_type == "multipart/form-data":
            return await self._upload(pane, request)
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="a JSON body is expected") from None
        kind = body.get("kind")
        if kind == "text" and str(body.get("text", "")).strip():
            replied = self._replied(pane, body.get("reply_to"))
            await self._say(pane, str(body["text"]).strip(), replied)
        elif kind == "location":
            await self._locate(pane, float(body["latitude"]), float(body["longitude"]))
        elif kind == "tap" and pane.channel == "telegram":
            await self._tap(pane, int(body["message_id"]), str(body["button"]))
        else:
            raise web.HTTPBadRequest(text="kind must be text, location or tap")
        return web.json_response({"ok": True})

    def _replied(self, pane: Pane, reply_to: object) -> int | str | None:
        """The bot's message the person replies to (`reply_to`: its Telegram message_id,
        or on WhatsApp its message SID)."""
        if reply_to is None or reply_to == "":
            return None
        if pane.wa_user is not None and pane.staff:
            sids = {m.sid for m in self.twilio.messages(pane.wa_user)}
            if str(reply_to) in sids:
                return str(reply_to)
        with contextlib.suppress(ValueError):
            if pane.channel == "telegram" and self._bot_message(pane, int(str(reply_to))):
                return int(str(reply_to))
        raise web.HTTPBadRequest(text="reply_to: no such message of the bot in this chat")

    def _bot_message(self, pane: Pane, message_id: int) -> TelegramMessage | None:
        """The bot's message `message_id` in the pane's Telegram chat."""
        assert pane.chat_id is not None
        for message in self.telegram.messages(pane.chat_id):
            if message.message_id == message_id:
                return message
        return None

    async def _say(self, pane: Pane, text: str, reply_to: int | str | None = None) -> None:
        if pane.wa_user is not None:
            sid = reply_to if isinstance(reply_to, str) else None
            await self.twilio.user_says(pane.wa_user, text, reply_to=sid)
        else:
            assert pane.user is not None
            replied = reply_to if isinstance(reply_to, int) else None
            await self.telegram.user_says(
                pane.user, text, chat=self._telegram_chat(pane), reply_to=replied
            )

    async def _locate(self, pane: Pane, latitude: float, longitude: float) -> None:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise web.HTTPBadRequest(text="latitude -90..90, longitude -180..180")
        if pane.wa_user is not None:
            await self.twilio.user_shares_location(pane.wa_user, latitude, longitude)
        else:
            assert pane.user is not None
            await self.telegram.user_sends_location(
                pane.user, latitude, longitude, chat=self._telegram_chat(pane)
            )

    async def _tap(self, pane: Pane, message_id: int, button: str) -> None:
        assert pane.user is not None
        message = self._bot_message(pane, message_id)
        if message is None or button not in [label for label, _ in message.buttons]:
            raise web.HTTPBadRequest(text="no such button")
        await self.telegram.user_taps(pane.user, message, button)

    async def _upload(self, pane: Pane, request: web.Request) -> web.Response:
        reader = await request.multipart()
        caption, reply_to = "", ""
        data, name, mime = b"", "berkas", "application/octet-stream"
        async for part in reader:
            if not isinstance(part, BodyPartReader):  # a nested multipart
                continue
            if part.name == "caption":
                caption = (await part.text()).strip()
            elif part.name == "reply_to":
                reply_to = (await part.text()).strip()
            elif part.name == "file":
                name = part.filename or name
                mime = part.headers.get("Content-Type", mime)
                chunks = bytearray()
                while chunk := await part.read_chunk():
                    chunks.extend(chunk)
                    if len(chunks) > MAX_UPLOAD:
                        raise web.HTTPRequestEntityTooLarge(MAX_UPLOAD, len(chunks))
                data = bytes(chunks)
        if not data:
            raise web.HTTPBadRequest(text="no file")
        replied = self._replied(pane, reply_to)
        if pane.wa_user is not None:
            sid = replied if isinstance(replied, str) else None
            params = await self.twilio.user_sends_media(
                pane.wa_user, [(data, mime)], caption, reply_to=sid
            )
            self._wa_files[params["MediaUrl0"]] = (data, mime)
        else:
            assert pane.user is not None and not isinstance(replied, str)
            chat = self._telegram_chat(pane)
            if mime.startswith("image/"):
                update = self.telegram.photo_update(
                    pane.user, data=data, caption=caption or None, chat=chat, reply_to=replied
                )
            else:
                update = self.telegram.document_update(
                    pane.user,
                    data=data,
                    file_name=name,
                    mime_type=mime,
                    caption=caption or None,
                    chat=chat,
                    reply_to=replied,
                )
            await self.telegram.deliver(update)
        return web.json_response({"ok": True})

    # ------------------------------------------------------------------ files

    async def _telegram_file(self, request: web.Request) -> web.Response:
        try:
            data = self.telegram.file_bytes(request.match_info["file_id"])
        except KeyError:
            raise web.HTTPNotFound() from None
        name = request.query.get("name", "")
        mime = request.query.get("type") or _image_type(data) or "application/octet-stream"
        how = "attachment" if "download" in request.query else "inline"
        if how == "attachment" and not name:
            name = "foto" + {"image/png": ".png", "image/jpeg": ".jpg"}.get(mime, "")
        headers = {"Content-Disposition": f'{how}; filename="{name}"'} if name else {}
        return web.Response(body=data, content_type=mime, headers=headers)

    async def _whatsapp_file(self, request: web.Request) -> web.Response:
        found = self._wa_files.get(request.query.get("url", ""))
        if found is None:
            raise web.HTTPNotFound()
        data, mime = found
        return web.Response(body=data, content_type=mime)

    # ------------------------------------------------------------------ helpers

    def _pane(self, request: web.Request) -> Pane:
        pane = self._by_id.get(request.match_info["pane"])
        if pane is None:
            raise web.HTTPNotFound(text="no such pane")
        return pane

    def _telegram_chat(self, pane: Pane) -> Chat | None:
        assert pane.chat_id is not None
        return Chat.group(pane.chat_id, pane.title) if pane.chat_id < 0 else None

    def _telegram_item(self, entry: TelegramEntry) -> dict[str, Any] | None:
        # An edited message is shown as it is now, where it was first sent.
        hidden = ("callback_answer", "my_chat_member", "service", "edit")
        if entry.kind in hidden:
            return None
        item: dict[str, Any] = {
            "seq": entry.seq,
            "earlier": entry.seq <= self._earlier[0],
            "from": entry.sender,
            "kind": entry.kind,
            "text": entry.text,
            "time": entry.date,
            "who": entry.user.full_name if entry.user else None,
            "files": [],
            "buttons": [],
        }
        message = entry.message
        if entry.sender == "bot" and message is not None:
            item["text"] = message.content
            item["message_id"] = message.message_id
            item["album"] = message.media_group_id
            item["buttons"] = (
                [[label for label, _ in row] for row in message.keyboard]
                if message.keyboard
                else []
            )
            if message.location is not None:
                item["location"] = list(message.location)
            document = entry.data.get("document") or {}
            item["files"] = [
                self._telegram_file_link(
                    file_id, message.kind, document.get("file_name"), document.get("mime_type")
                )
                for file_id in message.file_ids[-1:]  # a photo's largest size
            ]
        elif entry.sender == "user":
            item.update(self._user_side(entry.data))
        return item

    def _user_side(self, update: dict[str, Any]) -> dict[str, Any]:
        message = update.get("message") or update.get("edited_message") or {}
        if "callback_query" in update:
            return {"text": "👆 " + _label_of(update["callback_query"]), "kind": "tap"}
        files = []
        if message.get("photo"):
            files.append(self._telegram_file_link(message["photo"][-1]["file_id"], "photo"))
        if message.get("document"):
            doc = message["document"]
            files.append(
                self._telegram_file_link(
                    doc["file_id"], "document", doc.get("file_name"), doc.get("mime_type")
                )
            )
        side: dict[str, Any] = {
            "text": message.get("text") or message.get("caption") or "",
            "files": files,
        }
        replied = message.get("reply_to_message")
        if isinstance(replied, dict):
            side["quote"] = str(replied.get("text") or replied.get("caption") or "")
        if message.get("location"):
            loc = message["location"]
            side["location"] = [loc["latitude"], loc["longitude"]]
        return side

    def _telegram_file_link(
        self, file_id: str, kind: str, name: str | None = None, mime: str | None = None
    ) -> dict[str, Any]:
        query = urlencode({k: v for k, v in (("name", name), ("type", mime)) if v})
        url = f"/playground/api/files/telegram/{file_id}" + (f"?{query}" if query else "")
        return {"url": url, "kind": kind, "name": name or kind}

    def _whatsapp_item(self, entry: WhatsAppEntry) -> dict[str, Any]:
        item: dict[str, Any] = {
            "seq": entry.seq,
            "earlier": entry.seq <= self._earlier[1],
            "from": entry.sender,
            "kind": entry.kind,
            "text": entry.text,
            "time": int(entry.at.timestamp()),
            "files": [],
            "buttons": [],
        }
        if entry.sender == "bot" and entry.message is not None:
            item["message_id"] = entry.message.sid  # what a staff member's reply names
            item["text"] = entry.message.text
            item["files"] = [
                {"url": url, "kind": "media", "name": "lampiran"}
                for url in entry.message.media_urls
            ]
        elif entry.sender == "user":
            params = entry.params
            item["text"] = params.get("Body", "")
            if params.get("Latitude"):
                item["location"] = [float(params["Latitude"]), float(params["Longitude"])]
            count = int(params.get("NumMedia", "0") or 0)
            item["files"] = [
                {
                    "url": "/playground/api/files/whatsapp?url=" + quote(params[f"MediaUrl{i}"]),
                    "kind": "photo"
                    if params.get(f"MediaContentType{i}", "").startswith("image/")
                    else "document",
                    "name": params.get(f"MediaContentType{i}", "berkas"),
                }
                for i in range(count)
            ]
        return item


def _label_of(query: dict[str, Any]) -> str:
    """The label of the button a callback query comes from (its data if not found)."""
    data = query.get("data")
    markup = (query.get("message") or {}).get("reply_markup") or {}
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            if button.get("callback_data") == data:
                return str(button.get("text", ""))
    return str(data or "")


def _image_type(data: bytes) -> str | None:
    """The type of a PNG or JPEG image (a photo is either), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def _empty_folder(folder: Path) -> None:
    """Removes the files under `folder` and keeps its folders (the service writes there)."""
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() or path.is_symlink():
            path.unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def running(playground: Playground) -> AsyncIterator[Playground]:
    await playground.start()
    try:
        yield playground
    finally:
        await playground.stop()
