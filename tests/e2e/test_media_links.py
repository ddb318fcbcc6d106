"""Links to files for Twilio (`/media/<token>`), over HTTP against the Bot API stand-in:
served as a download no browser renders, a Telegram file fetched from Telegram once and
then from disk, a link open for a day, and nothing opened by a link the bot did not make."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from telegram import Bot
from yarl import URL

from bot.channels.telegram.files import TelegramFiles
from bot.channels.whatsapp.links import media_files
from bot.channels.whatsapp.media import LINK_LIFETIME, MediaStore
from bot.core.model import Attachment, AttachmentKind, Channel
from bot.standins.telegram import TelegramStandIn
from tests.e2e.conftest import TOKEN
from tests.fakes import FixedClock

PAGE = b"<html><script>fetch('/playground/api/cases')</script></html>"


@dataclass
class Served:
    client: TestClient[web.Request, web.Application]
    store: MediaStore
    clock: FixedClock

    def path(self, attachment: Attachment) -> str:
        return URL(self.store.link(attachment)).path


async def on_record(file_ref: str) -> bool:
    return True  # every file here belongs to an open case (forget: tests/e2e/test_forget.py)


@pytest.fixture
async def served(tg: TelegramStandIn, tmp_path: Path) -> AsyncIterator[Served]:
    clock = FixedClock(datetime.now(UTC))
    store = MediaStore(tmp_path / "media", b"k", "https://aduan.example.go.id", clock)
    bot = Bot(TOKEN, base_url=f"{tg.base_url}/bot", base_file_url=f"{tg.base_url}/file/bot")
    app = web.Application()
    app.router.add_get(
        "/media/{token}",
        media_files(store, {Channel.TELEGRAM: TelegramFiles(bot).download}, on_record),
    )
    async with bot, TestClient(TestServer(app)) as client:
        yield Served(client, store, clock)


async def test_a_unit_file_is_a_download_fetched_from_telegram_once(
    served: Served, tg: TelegramStandIn, tmp_path: Path
) -> None:
    file_id = tg.register_file(PAGE, file_name="jawaban unit.html", mime_type="text/html")
    answer = Attachment(
        AttachmentKind.DOCUMENT,
        file_id,
        Channel.TELEGRAM,
        file_name="jawaban unit.html",
        mime_type="text/html",
    )
    path = served.path(answer)
    responses = await asyncio.gather(*(served.client.get(path) for _ in range(8)))
    for response in responses:
        assert response.status == 200 and await response.read() == PAGE
        assert response.headers["Content-Type"] == "application/octet-stream"  # not a page
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="jawaban_unit.html"'
        )
    assert len(tg.calls("getFile")) == 1  # one download, then the copy on disk
    (kept,) = (tmp_path / "media" / "telegram").iterdir()
    assert kept.read_bytes() == PAGE


async def test_a_kept_whatsapp_file_is_a_download_too(served: Served, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    kept = tmp_path / "media" / "MM1-0.jpg"
    kept.write_bytes(b"\xff\xd8\xff not really")
    photo = Attachment(
        AttachmentKind.PHOTO,
        str(kept),
        Channel.WHATSAPP,
        file_name=kept.name,
        mime_type="image/jpeg",
    )
    response = await served.client.get(served.path(photo))
    assert response.status == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Disposition"] == 'attachment; filename="MM1-0.jpg"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_link_stops_working_a_day_after_it_was_made(
    served: Served, tg: TelegramStandIn
) -> None:
    file_id = tg.register_file(b"%PDF-1.4 jawaban", file_name="jawaban.pdf")
    answer = Attachment(
        AttachmentKind.DOCUMENT, file_id, Channel.TELEGRAM, mime_type="application/pdf"
    )
    path = served.path(answer)
    served.clock.advance(LINK_LIFETIME - timedelta(seconds=1))
    assert (await served.client.get(path)).status == 200
    served.clock.advance(timedelta(seconds=2))
    assert (await served.client.get(path)).status == 404


async def test_a_link_the_bot_did_not_make_opens_nothing(served: Served, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    kept = tmp_path / "media" / "MM1-0.jpg"
    kept.write_bytes(b"jpeg")
    token = URL(served.store.link(Attachment(AttachmentKind.PHOTO, str(kept), Channel.WHATSAPP)))
    signed, _, signature = token.name.rpartition(".")
    payload, _, expires = signed.rpartition(".")
    later = str(int(expires) + 365 * 24 * 3600)
    for forged in (
        f"{signed}.{'é' * len(signature)}",  # not ASCII
        f"{payload}.{later}.{signature}",  # its expiry moved
        f"{signed}.{signature[:-1]}",
        "bm90IGEgdG9rZW4.abc",
    ):
        response = await served.client.get(f"/media/{forged}")
        assert response.status == 404, forged


async def test_copies_older_than_a_link_are_removed_as_new_ones_are_made(
    served: Served, tg: TelegramStandIn, tmp_path: Path
) -> None:
    copies = tmp_path / "media" / "telegram"
    copies.mkdir(parents=True)
    old, recent = copies / "a", copies / "b"
    old.write_bytes(b"jawaban kemarin lusa")
    recent.write_bytes(b"jawaban tadi")
    day_and_more = (datetime.now(UTC) - LINK_LIFETIME - timedelta(minutes=1)).timestamp()
    os.utime(old, (day_and_more, day_and_more))
    file_id = tg.register_file(b"%PDF-1.4 jawaban", file_name="jawaban.pdf")
    answer = Attachment(
        AttachmentKind.DOCUMENT, file_id, Channel.TELEGRAM, mime_type="application/pdf"
    )
    assert (await served.client.get(served.path(answer))).status == 200
    assert not old.exists() and recent.exists()
    assert len(list(copies.iterdir())) == 2  # the recent one and the new one
