"""The playground: the whole complaint cycle on one machine, without any token.

`aduanbot run` without a bot token (or `aduanbot playground`) starts the stand-ins of
the Telegram Bot API and of Twilio's Messages API on loopback (the same ones the
end-to-end tests use), points the unchanged service at them, and serves a page at
`/playground` where a newcomer plays every person: a citizen on Telegram, a citizen on
WhatsApp, the officers, each unit and the supervisor. What a person does on the page is
what the stand-in delivers to the bot as that person (an update, a Twilio webhook);
what the bot sends is what the stand-in recorded, pushed to the page as it happens
(server-sent events).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import BodyPartReader, web

from bot.core.office import Office
from bot.standins.telegram_api import Chat, TelegramStandIn, User
from bot.standins.telegram_api import TranscriptEntry as TelegramEntry
from bot.standins.twilio_api import TranscriptEntry as WhatsAppEntry
from bot.standins.twilio_api import TwilioStandIn, WhatsAppUser

HERE = Path(__file__).parent
STATIC = HERE / "static"
AGENCY = HERE / "agency.toml"
TOKEN = "123456789:PLAYGROUND-not-a-real-bot-token-000"
BOT_USERNAME = "aduan_playground_bot"
MAX_UPLOAD = 8 * 1024 * 1024
PAGE_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


@dataclass(frozen=True)
class Pane:
    """One chat on the page, and the person who acts in it."""

    id: str
    title: str
    channel: str  # "telegram" | "whatsapp"
    person: str  # the name shown as "you are …"
    chat_id: int | None = None  # Telegram
    user: User | None = None
    wa_user: WhatsAppUser | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "channel": self.channel,
            "person": self.person,
            "group": self.chat_id is not None and self.chat_id < 0,
        }


def panes_of(office: Office) -> list[Pane]:
    """The citizens, then the officers, each unit and the supervisor (as the agency has)."""
    siti = User(5001, "Siti", "Aminah", username="siti_aminah")
    panes = [
        Pane("citizen-telegram", "Warga (Telegram)", "telegram", siti.full_name, siti.id, siti),
        Pane(
            "citizen-whatsapp",
            "Warga (WhatsApp)",
            "whatsapp",
            "Budi Santoso",
            wa_user=WhatsAppUser("+6281234567890", "Budi Santoso"),
        ),
    ]
    officer = User(7001, "Rina", "Petugas")
    panes.append(
        Pane(
            "officers",
            "Grup petugas",
            "telegram",
            officer.full_name,
            int(office.officers_chat_id),
            officer,
        )
    )
    for index, unit in enumerate(office.units):
        staff = User(8001 + index, "Staf", unit.code)
        panes.append(
            Pane(
                f"unit-{unit.code}",
                f"Unit {unit.name}",
                "telegram",
                staff.full_name,
                int(unit.chat_id),
                staff,
            )
        )
    if office.supervisor_chat_id:
        head = User(9001, "Kepala", "Dinas")
        panes.append(
            Pane(
                "supervisor",
                "Atasan",
                "telegram",
                head.full_name,
                int(office.supervisor_chat_id),
                head,
            )
        )
    return panes


class Playground:
    """The stand-ins, the people, and the page's routes."""

    def __init__(self) -> None:
        self.telegram = TelegramStandIn(token=TOKEN, bot_username=BOT_USERNAME)
        self.twilio = TwilioStandIn()
        self.secret = secrets.token_urlsafe(24)
        self.panes: list[Pane] = []
        self._by_id: dict[str, Pane] = {}
        self._wa_files: dict[str, tuple[bytes, str]] = {}

    async def start(self) -> None:
        await self.telegram.start()
        await self.twilio.start()

    async def stop(self) -> None:
        await self.twilio.stop()
        await self.telegram.stop()

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

    def attach(self, app: web.Application, office: Office, public_base_url: str) -> None:
        """Adds the page and its API to the service's app, for `office`'s chats."""
        self.panes = panes_of(office)
        self._by_id = {pane.id: pane for pane in self.panes}
        for pane in self.panes:
            if pane.user is not None:
                self.telegram.add_user(pane.user)
            if pane.chat_id is not None and pane.chat_id < 0:
                self.telegram.add_chat(Chat.group(pane.chat_id, pane.title))
        self.twilio.configure_webhooks(f"{public_base_url}/webhook/whatsapp")
        app.router.add_get("/playground", self._page)
        app.router.add_get("/playground/", self._page)
        app.router.add_get("/playground/static/{name}", self._static)
        app.router.add_get("/playground/api/panes", self._panes)
        app.router.add_get("/playground/api/messages/{pane}", self._messages)
        app.router.add_get("/playground/api/events", self._events)
        app.router.add_post("/playground/api/act/{pane}", self._act)
        app.router.add_get("/playground/api/files/telegram/{file_id}", self._telegram_file)
        app.router.add_get("/playground/api/files/whatsapp", self._whatsapp_file)

    # ------------------------------------------------------------------ the page

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
            charset="utf-8",
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
        whatsapp = next((p.id for p in self.panes if p.channel == "whatsapp"), None)

        async def pump(queue: asyncio.Queue[Any], pane_of: Callable[[Any], str | None]) -> None:
            while True:
                event = await queue.get()
                pane = pane_of(event)
                if pane is not None:
                    changed.put_nowait(pane)

        def telegram_pane(event: Any) -> str | None:
            chat_id = getattr(event, "chat_id", None)
            return by_chat.get(chat_id) if isinstance(chat_id, int) else None

        tasks = [
            asyncio.create_task(pump(telegram, telegram_pane)),
            asyncio.create_task(pump(twilio, lambda e: whatsapp)),
        ]
        try:
            await response.write(b": connected\n\n")
            while True:
                try:
                    async with asyncio.timeout(15):
                        pane = await changed.get()
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                await response.write(f"data: {json.dumps({'pane': pane})}\n\n".encode())
        except ConnectionResetError:  # the page was closed or reloaded
            return response
        finally:
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
            await self._say(pane, str(body["text"]).strip())
        elif kind == "location":
            await self._locate(pane, float(body["latitude"]), float(body["longitude"]))
        elif kind == "tap" and pane.channel == "telegram":
            await self._tap(pane, int(body["message_id"]), str(body["button"]))
        else:
            raise web.HTTPBadRequest(text="kind must be text, location or tap")
        return web.json_response({"ok": True})

    async def _say(self, pane: Pane, text: str) -> None:
        if pane.wa_user is not None:
            await self.twilio.user_says(pane.wa_user, text)
        else:
            assert pane.user is not None
            await self.telegram.user_says(pane.user, text, chat=self._telegram_chat(pane))

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
        assert pane.user is not None and pane.chat_id is not None
        message = next(
            (m for m in self.telegram.messages(pane.chat_id) if m.message_id == message_id),
            None,
        )
        if message is None or button not in [label for label, _ in message.buttons]:
            raise web.HTTPBadRequest(text="no such button")
        await self.telegram.user_taps(pane.user, message, button)

    async def _upload(self, pane: Pane, request: web.Request) -> web.Response:
        reader = await request.multipart()
        caption = ""
        data, name, mime = b"", "berkas", "application/octet-stream"
        async for part in reader:
            if not isinstance(part, BodyPartReader):  # a nested multipart
                continue
            if part.name == "caption":
                caption = (await part.text()).strip()
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
        if pane.wa_user is not None:
            params = await self.twilio.user_sends_media(pane.wa_user, [(data, mime)], caption)
            self._wa_files[params["MediaUrl0"]] = (data, mime)
        else:
            assert pane.user is not None
            chat = self._telegram_chat(pane)
            if mime.startswith("image/"):
                update = self.telegram.photo_update(
                    pane.user, data=data, caption=caption or None, chat=chat
                )
            else:
                update = self.telegram.document_update(
                    pane.user,
                    data=data,
                    file_name=name,
                    mime_type=mime,
                    caption=caption or None,
                    chat=chat,
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
        mime = request.query.get("type") or "application/octet-stream"
        headers = {"Content-Disposition": f'inline; filename="{name}"'} if name else {}
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
        if entry.kind in ("chat_action", "callback_answer", "my_chat_member", "service"):
            return None
        item: dict[str, Any] = {
            "seq": entry.seq,
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
            return {"text": "👆 " + str(update["callback_query"].get("data", "")), "kind": "tap"}
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
            "from": entry.sender,
            "kind": entry.kind,
            "text": entry.text,
            "time": int(entry.at.timestamp()),
            "files": [],
            "buttons": [],
        }
        if entry.sender == "bot" and entry.message is not None:
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


@contextlib.asynccontextmanager
async def running(playground: Playground) -> AsyncIterator[Playground]:
    await playground.start()
    try:
        yield playground
    finally:
        await playground.stop()
