"""The playground in a real headless browser (Playwright with the system's Chromium).

A newcomer's first minute: a citizen files a complaint with a photo in the Telegram
pane, the officers dispose it with a button, the unit answers in its pane, and the
answer reaches the citizen - every step typed and tapped on the page, every message
read off the page. And a reporter who fears retaliation files anonymously: their name
reaches the officers' pane only, until an officer chooses to give it to the unit. And
the officer has a private chat with the bot too, where complaints from elsewhere are
entered (/catat).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import urllib.request
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Dialog, Locator, Page, async_playwright, expect

from bot.app import create_app
from bot.playground import AGENCY, MAX_UPLOAD, Playground, running
from bot.settings import load_settings
from tests.e2e.conftest import GENEROUS_LIMITS, free_port, stop_bot
from tests.unit.test_scrub import pdf_by

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DESCRIPTION = "Obat hipertensi di Puskesmas Sukamaju habis sejak dua minggu."
# A 1x1 PNG, as a phone's photo would be for the bot: an image to relay.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154"
    "789c63f8cfc0f01f0005050201a5d5e0a00000000049454e44ae426082"
)
WAIT_MS = 15_000


@dataclass
class Site:
    url: str
    page: Page

    def pane(self, pane_id: str) -> Locator:
        return self.page.locator(f"#pane-{pane_id}")

    async def type(self, pane_id: str, text: str) -> None:
        box = self.pane(pane_id).locator(".composer .text")
        await box.fill(text)
        await box.press("Enter")

    async def sees(self, pane_id: str, text: str) -> Locator:
        message = self.pane(pane_id).locator(".msg", has_text=text).last
        await expect(message).to_be_visible(timeout=WAIT_MS)
        return message

    async def taps(self, pane_id: str, label: str) -> None:
        button = self.pane(pane_id).locator(".buttons button", has_text=label).last
        await expect(button).to_be_visible(timeout=WAIT_MS)
        await button.click()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM is not None, "the playground tests need Chromium (.ci/run installs it)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Served:
    url: str
    playground: Playground  # its stand-ins: what reached the bot, and from whom


@pytest.fixture
async def served(serving: Served) -> str:
    """The playground's address."""
    return serving.url


@pytest.fixture
async def serving(tmp_path: Path) -> AsyncIterator[Served]:
    """The playground as `aduanbot playground` serves it (on SQLite, as it always runs, and
    its agency file with the Telegram limits raised)."""
    agency = tmp_path / "agency.toml"
    agency.write_text(AGENCY.read_text(encoding="utf-8") + GENEROUS_LIMITS, encoding="utf-8")
    async with running(Playground()) as playground:
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        environment = {
            "ADUAN_CONFIG": str(agency),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'playground.sqlite3'}",
            "MEDIA_DIR": str(tmp_path / "media"),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            **playground.environment(public),
        }
        settings = load_settings(environment, env_file=tmp_path / "none.env")
        runner = web.AppRunner(create_app(settings, playground=playground))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield Served(public, playground)
        finally:
            await stop_bot(runner)


@pytest.fixture
async def site(served: str, browser: Browser) -> AsyncIterator[Site]:
    page = await browser.new_page(viewport={"width": 1600, "height": 1200})
    try:
        await page.goto(f"{served}/playground")
        yield Site(served, page)
    finally:
        await page.close()


async def test_the_page_api_answers_what_it_cannot_do(served: str) -> None:
    async with aiohttp.ClientSession(served) as http:
        async with http.post("/playground/api/act/nobody", json={"kind": "text"}) as reply:
            assert reply.status == 404
        async with http.post("/playground/api/act/officers", json={"kind": "dance"}) as reply:
            assert (reply.status, await reply.text()) == (400, "kind must be text, location or tap")
        tap = {"kind": "tap", "message_id": 999, "button": "➡️ YANKES"}
        async with http.post("/playground/api/act/officers", json=tap) as reply:
            assert (reply.status, await reply.text()) == (400, "no such button")
        far = {"kind": "location", "latitude": 95, "longitude": 0}
        async with http.post("/playground/api/act/citizen-whatsapp", json=far) as reply:
            assert reply.status == 400
        form = aiohttp.FormData()
        form.add_field("file", io.BytesIO(b"x" * (MAX_UPLOAD + 1)), filename="big.bin")
        async with http.post("/playground/api/act/citizen-telegram", data=form) as reply:
            assert reply.status == 413
        async with http.get("/playground/static/..%2F__init__.py") as reply:
            assert reply.status == 404
        for pane, reply_to in (("citizen-telegram", 999), ("citizen-whatsapp", 1)):
            text = {"kind": "text", "text": "ya", "reply_to": reply_to}
            async with http.post(f"/playground/api/act/{pane}", json=text) as reply:
                assert (reply.status, await reply.text()) == (
                    400,
                    "reply_to: no such message of the bot in this chat",
                )
        async with http.get("/playground/api/messages/citizen-telegram") as reply:
            assert await reply.json() == []  # nothing reached the bot


async def test_a_complaint_travels_from_the_citizen_pane_to_the_unit_and_back(
    site: Site, tmp_path: Path
) -> None:
    await expect(site.page.locator(".pane")).to_have_count(10, timeout=WAIT_MS)
    await site.type("citizen-telegram", "/start")
    await site.sees("citizen-telegram", "Ceritakan apa yang terjadi")
    await site.type("citizen-telegram", DESCRIPTION)
    await site.sees("citizen-telegram", "Di mana kejadiannya")
    await site.type("citizen-telegram", "Puskesmas Sukamaju, Jl. Melati 3")
    await site.sees("citizen-telegram", "Kapan kejadiannya")
    await site.type("citizen-telegram", "kemarin pagi")
    await site.sees("citizen-telegram", "foto atau dokumen")
    photo = tmp_path / "resep.png"
    photo.write_bytes(PNG)
    await site.pane("citizen-telegram").locator(".composer .file").set_input_files(str(photo))
    await site.sees("citizen-telegram", "Lampiran diterima")
    await site.taps("citizen-telegram", "Selesai")
    await site.sees("citizen-telegram", "Bagaimana identitas")
    await site.taps("citizen-telegram", "Biasa")
    await site.sees("citizen-telegram", "Siapa nama")
    await site.taps("citizen-telegram", "Pakai nama")
    await site.sees("citizen-telegram", "Nomor telepon")
    await site.type("citizen-telegram", "081234567890")
    await site.sees("citizen-telegram", "Apakah sudah benar")
    await site.taps("citizen-telegram", "Kirim")
    ack = await site.sees("citizen-telegram", "Kode pelacakan")
    found = re.search(r"Kode pelacakan: (\S+)", await ack.inner_text())
    assert found is not None
    code = found.group(1)

    relay = await site.sees("officers", f"Pengaduan baru {code}")
    assert DESCRIPTION in await relay.inner_text()
    image = site.pane("officers").locator(".msg img").last
    await expect(image).to_be_visible(timeout=WAIT_MS)
    assert await image.evaluate("img => img.naturalWidth") == 1  # the citizen's photo itself
    await site.taps("officers", "➡️ YANKES")
    await site.sees("unit-YANKES", f"Disposisi {code}")
    await site.sees("citizen-telegram", "Dalam Proses")

    await site.type("unit-YANKES", f"/jawab {code} Stok obat sudah dikirim hari ini.")
    answer = await site.sees(
        "citizen-telegram", f"Tanggapan Bidang Pelayanan Kesehatan atas pengaduan {code}"
    )
    assert "Stok obat sudah dikirim hari ini." in await answer.inner_text()
    await site.sees("officers", code)


async def test_an_anonymous_reporter_is_known_only_to_the_officers_until_they_choose(
    site: Site, tmp_path: Path
) -> None:
    name, phone = "Rina Marlina", "081399887766"
    citizen = "citizen-telegram"
    await site.type(citizen, "/start")
    await site.sees(citizen, "Ceritakan apa yang terjadi")
    story = "Petugas loket meminta Rp50.000 untuk surat keterangan sehat."
    for text, prompt in (
        (story, "Di mana kejadiannya"),
        ("Puskesmas Sukamaju, loket 2", "Kapan kejadiannya"),
        ("tadi pagi", "foto atau dokumen"),
    ):
        await site.type(citizen, text)
        await site.sees(citizen, prompt)
    receipt = tmp_path / "kuitansi.pdf"  # written on the reporter's laptop: it names her
    receipt.write_bytes(pdf_by(name))
    await site.pane(citizen).locator(".composer .file").set_input_files(str(receipt))
    await site.sees(citizen, "Lampiran diterima")
    await site.taps(citizen, "Selesai")
    await site.sees(citizen, "Bagaimana identitas")
    await site.taps(citizen, "Anonim")
    await site.sees(citizen, "Siapa nama")
    await site.type(citizen, name)
    await site.sees(citizen, "Nomor telepon")
    await site.type(citizen, phone)
    await site.sees(citizen, "Apakah sudah benar")
    await site.taps(citizen, "Kirim")
    ack = await site.sees(citizen, "Kode pelacakan")
    found = re.search(r"Kode pelacakan: (\S+)", await ack.inner_text())
    assert found is not None
    code = found.group(1)

    async def file_in(pane: str) -> bytes:
        link = site.pane(pane).locator("a.file", has_text="kuitansi.pdf").last
        await expect(link).to_be_visible(timeout=WAIT_MS)
        href = await link.get_attribute("href")
        assert href is not None
        return await (await site.page.request.get(site.url + href)).body()

    relay = await site.sees("officers", f"Pengaduan baru {code}")
    assert name in await relay.inner_text() and phone in await relay.inner_text()
    assert name.encode() in await file_in("officers")  # the officers keep the original
    await site.taps("officers", "➡️ YANKES")
    await site.sees("unit-YANKES", f"Disposisi {code}")
    assert name.encode() not in await file_in("unit-YANKES")  # the unit: not even the author
    unit_pane = await site.pane("unit-YANKES").inner_text()
    assert story in unit_pane and name not in unit_pane and phone not in unit_pane

    await site.type("officers", f"/identitas {code} perlu konfirmasi ke pelapor")
    given = await site.sees("unit-YANKES", f"Identitas pelapor {code}")
    assert name in await given.inner_text() and phone in await given.inner_text()
    await site.sees("officers", f"Identitas pelapor {code} diberikan kepada YANKES")
    for pane in ("unit-P2P", "supervisor", "citizen-whatsapp"):
        assert name not in await site.pane(pane).inner_text()


async def test_the_whatsapp_citizen_and_the_supervisor_have_their_panes(site: Site) -> None:
    await site.type("citizen-whatsapp", "halo")
    await site.sees("citizen-whatsapp", "Ceritakan apa yang terjadi")
    mine = site.pane("citizen-whatsapp").locator(".msg.user", has_text="halo")
    await expect(mine).to_be_visible(timeout=WAIT_MS)
    await site.type("citizen-whatsapp", DESCRIPTION)
    await site.sees("citizen-whatsapp", "Di mana kejadiannya")

    async def answer(dialog: Dialog) -> None:
        await dialog.accept("-6.9147, 107.6098")

    site.page.once("dialog", answer)
    await site.pane("citizen-whatsapp").locator(".composer .locate").click()
    shared = site.pane("citizen-whatsapp").locator(".msg.user .map")
    await expect(shared).to_have_text("📍 -6.91470, 107.60980", timeout=WAIT_MS)
    await site.sees("citizen-whatsapp", "Kapan kejadiannya")
    await site.type("supervisor", "/bantuan")
    await site.sees("supervisor", "Perintah chat atasan")
    await site.type("supervisor", "/rekap")
    await site.sees("supervisor", "📊 Rekap pengaduan Dinas Kesehatan Kota Contoh")
    workbook = site.pane("supervisor").locator("a.file", has_text=".xlsx")
    await expect(workbook).to_be_visible(timeout=WAIT_MS)
    href = await workbook.get_attribute("href")
    assert href is not None
    download = await site.page.request.get(site.url + href)
    assert (await download.body()).startswith(b"PK")  # a real XLSX (a zip)
    chart = site.pane("supervisor").locator(".msg img").last
    await expect(chart).to_be_visible(timeout=WAIT_MS)
    assert await chart.evaluate("img => img.naturalWidth") > 1000
    await site.type("unit-P2P", "/rekap")
    await site.sees("unit-P2P", "hanya dapat dipakai di grup petugas pengaduan atau chat atasan")


async def test_an_officer_talks_to_the_bot_in_a_private_pane(
    serving: Served, site: Site, tmp_path: Path
) -> None:
    """The officer of the officers' group also has a private chat with the bot (where
    /catat enters a complaint that came in another way): what they type or send there
    reaches the bot as that officer's private message, and the bot's answers show in that
    pane and nowhere else."""
    officer, citizen = "officer-private", "citizen-telegram"
    panes = {pane.id: pane for pane in serving.playground.panes}
    person = panes[officer].user
    assert person is not None and person == panes["officers"].user  # the same Rina
    assert panes[officer].chat_id == person.id  # her private chat with the bot
    pane = site.pane(officer)
    await expect(pane.locator("h2 .title")).to_have_text("Petugas — chat pribadi")
    await expect(pane.locator("h2 .person")).to_have_text(f"sebagai {person.full_name}")
    lead = pane.locator(".lead")
    await expect(lead).to_have_text(
        "Mulai: ketik /catat untuk mencatat pengaduan dari loket, telepon, surat, dll."
    )
    await lead.locator(".command", has_text="/catat").click()  # the command, ready to send
    await expect(pane.locator(".composer .text")).to_have_value("/catat")
    await expect(pane.locator(".composer .text")).to_be_focused()
    await expect(pane.locator(".messages .empty")).to_contain_text("anggota Grup petugas")
    await expect(site.pane(citizen).locator(".lead")).to_be_hidden()  # the others have none

    telegram = serving.playground.telegram
    officers_group = panes["officers"].chat_id

    async def standing(user_id: int) -> str:
        """What the bot learns when it asks whether `user_id` is in the officers' group."""
        url = f"{telegram.base_url}/bot{telegram.token}/getChatMember"
        query = {"chat_id": officers_group, "user_id": user_id}
        async with aiohttp.ClientSession() as http, http.post(url, json=query) as reply:
            return str((await reply.json())["result"]["status"])

    # she is in the group from the start, before writing there; the citizen is not
    siti = panes[citizen].user
    assert siti is not None
    assert (await standing(person.id), await standing(siti.id)) == ("member", "left")

    await site.type(officer, "/bantuan")
    await expect(pane.locator(".msg.user .text")).to_have_text(["/bantuan"], timeout=WAIT_MS)
    answer = pane.locator(".msg.bot").first
    await expect(answer).to_be_visible(timeout=WAIT_MS)
    said = [e.data for e in telegram.transcript(person.id) if e.sender == "user"]
    assert len(said) == 1
    message = said[0]["message"]
    assert message["text"] == "/bantuan"
    assert message["from"]["id"] == person.id
    assert message["chat"] == {
        "id": person.id,
        "type": "private",
        "first_name": person.first_name,
        "last_name": person.last_name,
    }
    taken = [d.status for d in telegram.deliveries if d.update_id == said[0]["update_id"]]
    assert taken == [200]  # the bot's webhook accepted it
    sent = telegram.messages(person.id)
    assert sent and await answer.locator(".text").inner_text() == sent[0].content

    # a scanned letter and a photo, as the citizen's pane sends them
    letter = tmp_path / "surat-warga.pdf"
    letter.write_bytes(pdf_by("Bapak Sutrisno"))
    await pane.locator(".composer .file").set_input_files(str(letter))
    link = pane.locator(".msg.user a.file", has_text="surat-warga.pdf")
    await expect(link).to_be_visible(timeout=WAIT_MS)
    photo = tmp_path / "foto-loket.png"
    photo.write_bytes(PNG)
    await pane.locator(".composer .text").fill("foto dari loket")
    await pane.locator(".composer .file").set_input_files(str(photo))
    shown = pane.locator(".msg.user", has_text="foto dari loket")
    await expect(shown.locator("img")).to_be_visible(timeout=WAIT_MS)
    files = [e.data["message"] for e in telegram.transcript(person.id) if e.sender == "user"][1:]
    assert [f["document"]["file_name"] for f in files if "document" in f] == ["surat-warga.pdf"]
    assert [f.get("caption") for f in files if "photo" in f] == ["foto dari loket"]
    assert all(f["chat"]["id"] == f["from"]["id"] == person.id for f in files)

    # nothing of it reached the citizen's chat or the officers' group
    for other in (citizen, "officers"):
        assert telegram.transcript(panes[other].chat_id) == []
    for other in (citizen, "officers"):
        await expect(site.pane(other).locator(".msg")).to_have_count(0)
        await expect(site.pane(other).locator(".messages .empty")).to_be_visible()

    # "Mulai ulang" empties every chat, and she is still in the group
    async with (
        aiohttp.ClientSession(serving.url) as http,
        http.post("/playground/api/reset") as reply,
    ):
        assert reply.status == 200
    assert telegram.transcript(person.id) == []
    assert await standing(person.id) == "member"


async def test_an_officer_enters_a_phone_call_with_catat_in_the_private_pane(
    site: Site,
) -> None:
    """/catat tried as the pane's hint says: the officer taps and types through the
    entry; the case reaches the officers' group pane, with the call to pass the
    acknowledgement on to the caller ("Kabari pelapor")."""
    officer = "officer-private"
    await site.type(officer, "/catat")
    await site.taps(officer, "Telepon")
    await site.taps(officer, "Hari ini")
    await site.sees(officer, "Isi pengaduan")
    for text, prompt in (
        ("Sumur bor di Dusun Krajan mati sejak dua minggu, warga antre air.", "Di mana"),
        ("Dusun Krajan RT 02", "Kapan kejadiannya"),
        ("lewati", "berkas pendukung"),
        ("selesai", "identitas pelapor"),
        ("1", "Nama pelapor"),
        ("Pak Slamet", "telepon pelapor"),
        ("0813 2222 3333", "WhatsApp pelapor"),
        ("tidak ada", "Email pelapor"),
        ("lewati", "Alamat pelapor"),
        ("lewati", "Ringkasan pengaduan yang dicatat"),
    ):
        await site.type(officer, text)
        await site.sees(officer, prompt)
    await site.taps(officer, "Kirim")
    done = await site.sees(officer, "Pengaduan tercatat dengan kode")
    code = (await done.inner_text()).split("dengan kode ")[1].split()[0]
    relay = await site.sees("officers", f"Pengaduan baru {code}")
    await expect(relay).to_contain_text("Sumber: Telepon")
    await expect(await site.sees("officers", f"Kabari pelapor {code}")).to_contain_text(
        "Pak Slamet"
    )


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "VIRTUAL_ENV")
    return {**{k: v for k, v in os.environ.items() if k in keep}, **extra}


def test_aduanbot_run_without_a_token_starts_the_playground(tmp_path: Path) -> None:
    """The README's first command, as a newcomer runs it: no .env, no agency file."""
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=_environment(tmp_path, PORT=str(port), PYTHONPATH=str(Path(__file__).parents[2])),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            lines = []
            for line in process.stdout:
                lines.append(line)
                if "playground ready" in line:
                    break
            address = f"http://127.0.0.1:{port}/playground"
            assert lines[-1].strip() == f"aduanbot: playground ready: open {address}", lines
            # it says loudly that it is no deployment
            assert any("PLAYGROUND: a demonstration, NOT a deployment" in line for line in lines)
            with urllib.request.urlopen(f"{address}/api/panes", timeout=10) as response:
                panes = json.load(response)
            assert [p["id"] for p in panes] == [
                "citizen-telegram",
                "citizen-whatsapp",
                "officers",
                "officer-private",
                "unit-YANKES",
                "unit-P2P",
                "unit-SDK",
                "supervisor",
                "officer-whatsapp",
                "unit-YANKES-whatsapp",
            ]
            with urllib.request.urlopen(address, timeout=10) as response:
                assert "aduanbot" in response.read().decode()
            assert (tmp_path / "data" / "playground.sqlite3").is_file()
        finally:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)  # reads the rest, so the service never blocks
    assert process.returncode == 0


def test_whatsapp_without_a_bot_token_is_a_configuration_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=_environment(
            tmp_path,
            PYTHONPATH=str(Path(__file__).parents[2]),
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            TWILIO_AUTH_TOKEN="secret",
            TWILIO_WHATSAPP_FROM="whatsapp:+14155238886",
            PUBLIC_BASE_URL="https://aduan.example.go.id",
            TELEGRAM_WEBHOOK_SECRET="s3cret",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr


# ---------------------------------------------------------------- the first hour of use


def _png(width: int, height: int) -> bytes:
    """A plain PNG of `width` x `height`: a photo tall enough to move a chat."""
    row = b"\x00" + bytes((40, 120, 160)) * width
    body = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


async def _tell_the_story(site: Site, citizen: str) -> None:
    """The citizen starts a complaint and answers what, where and when, up to the
    question for photos or documents."""
    await site.type(citizen, "/start")
    await site.sees(citizen, "Ceritakan apa yang terjadi")
    for text, prompt in (
        (DESCRIPTION, "Di mana kejadiannya"),
        ("Puskesmas Sukamaju, Jl. Melati 3", "Kapan kejadiannya"),
        ("kemarin pagi", "foto atau dokumen"),
    ):
        await site.type(citizen, text)
        await site.sees(citizen, prompt)


async def _file_a_complaint(site: Site) -> str:
    """The citizen on Telegram files a complaint (no attachment); returns its code."""
    citizen = "citizen-telegram"
    await _tell_the_story(site, citizen)
    for button, prompt in (
        ("Selesai", "Bagaimana identitas"),
        ("Biasa", "Siapa nama"),
        ("Pakai nama", "Nomor telepon"),
    ):
        await site.taps(citizen, button)
        await site.sees(citizen, prompt)
    await site.type(citizen, "081234567890")
    await site.sees(citizen, "Apakah sudah benar")
    await site.taps(citizen, "Kirim")
    ack = await site.sees(citizen, "Kode pelacakan")
    found = re.search(r"Kode pelacakan: (\S+)", await ack.inner_text())
    assert found is not None
    return found.group(1)


async def test_taps_show_their_labels_and_a_unit_answers_by_replying_to_the_case(
    site: Site,
) -> None:
    code = await _file_a_complaint(site)
    taps = site.pane("citizen-telegram").locator(".msg.user", has_text="👆")
    await expect(taps.first.locator(".text")).to_have_text("👆 Selesai")
    assert not [t for t in await taps.all_inner_texts() if re.search(r"👆 \w:", t)]

    await site.sees("officers", f"Pengaduan baru {code}")
    await site.taps("officers", "➡️ YANKES")
    tapped = site.pane("officers").locator(".msg.user", has_text="👆").last
    await expect(tapped.locator(".text")).to_have_text("👆 ➡️ YANKES", timeout=WAIT_MS)

    case = await site.sees("unit-YANKES", f"Disposisi {code}")
    await case.locator(".reply").click()
    replying = site.pane("unit-YANKES").locator(".replying")
    await expect(replying).to_contain_text(f"Disposisi {code}")
    await site.type("unit-YANKES", "Stok obat sudah dikirim hari ini.")
    await expect(replying).to_be_hidden()
    answer = await site.sees(
        "citizen-telegram", f"Tanggapan Bidang Pelayanan Kesehatan atas pengaduan {code}"
    )
    assert "Stok obat sudah dikirim hari ini." in await answer.inner_text()
    mine = site.pane("unit-YANKES").locator(".msg.user", has_text="Stok obat sudah dikirim")
    await expect(mine.locator(".quote")).to_contain_text(f"Disposisi {code}")


async def test_an_officer_and_a_unit_member_work_on_whatsapp(site: Site, tmp_path: Path) -> None:
    """Staff on WhatsApp (issue 22) in the playground: the officer's number gets the new
    case as the approved template (it has not written yet), writes "bantuan", disposes
    with words; the unit member's number gets the case and answers by replying to it."""
    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path)
    code = await _file_a_complaint(site)
    officer, unit = "officer-whatsapp", "unit-YANKES-whatsapp"
    await site.sees(officer, f"Ada pengaduan {code} untuk ditangani")  # the template
    await site.type(officer, "bantuan")
    await site.sees(officer, "Perintah grup petugas")
    await site.type(officer, f"disposisi {code} YANKES")
    await site.sees("officers", f"{code} didisposisi ke Bidang Pelayanan Kesehatan")
    await site.sees(officer, f"{code} didisposisi ke Bidang Pelayanan Kesehatan")
    case = await site.sees(unit, f"Ada pengaduan {code} untuk ditangani")
    await site.type(unit, "bantuan")  # their window opens
    await site.sees(unit, "Perintah grup unit")
    await case.locator(".reply").click()  # a reply to the case (here: its template)
    await site.type(unit, "Obat hipertensi sudah dikirim ke puskesmas.")
    answer = await site.sees(
        "citizen-telegram", f"Tanggapan Bidang Pelayanan Kesehatan atas pengaduan {code}"
    )
    assert "Obat hipertensi sudah dikirim ke puskesmas." in await answer.inner_text()
    await site.sees("unit-YANKES", f"Jawaban untuk {code} sudah dikirim")
    await site.sees(unit, f"Jawaban untuk {code} sudah dikirim")
    await _fits(site, 1366, shots, "staff-whatsapp")
    await site.page.set_viewport_size({"width": 390, "height": 844})
    await site.page.locator("#tabs .tab", has_text="YANKES (WA)").click()
    await expect(site.pane(unit)).to_be_visible()
    await _fits(site, 390, shots, "unit-whatsapp")


async def _fits(site: Site, width: int, shots: Path, name: str) -> None:
    """The page at `width` px: a screenshot, no sideways scrolling, every visible pane's
    📎 button inside its pane."""
    await site.page.set_viewport_size({"width": width, "height": 900 if width > 800 else 844})
    await site.page.screenshot(path=shots / f"playground-{width}-{name}.png", full_page=True)
    overflow = await site.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[0] <= overflow[1], f"the page scrolls sideways at {width} px: {overflow}"
    for pane in await site.page.locator(".pane").all():
        if not await pane.is_visible():
            continue
        box, attach = await pane.bounding_box(), await pane.locator(".attach").bounding_box()
        assert box is not None and attach is not None
        assert box["x"] <= attach["x"] and attach["x"] + attach["width"] <= box["x"] + box["width"]
        assert attach["y"] + attach["height"] <= box["y"] + box["height"]
        lead = pane.locator(".lead")
        if await lead.is_visible():  # the line under the title: inside, and not cut off
            line = await lead.bounding_box()
            assert line is not None and line["x"] + line["width"] <= box["x"] + box["width"]
            assert await lead.evaluate("p => p.scrollWidth <= p.clientWidth")


async def test_the_page_fits_a_desktop_and_a_phone(site: Site, tmp_path: Path) -> None:
    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path)  # a folder to look at
    await expect(site.page.locator(".pane")).to_have_count(10, timeout=WAIT_MS)
    # empty panes say what their person can do there
    hints = {
        "citizen-telegram": "Ketik /start untuk mulai melapor",
        "officers": "Kasus baru muncul di sini",
        "officer-private": "anggota Grup petugas",
        "unit-YANKES": "Balas",
        "supervisor": "/rekap",
        "officer-whatsapp": "Nomor WhatsApp petugas",
        "unit-YANKES-whatsapp": "jawab dengan membalas",
    }
    for pane, hint in hints.items():
        await expect(site.pane(pane).locator(".messages .empty")).to_contain_text(hint)
    icon = await site.page.request.get(f"{site.url}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"

    # a photo that loads after its pane scrolled still ends at the newest message
    citizen = "citizen-telegram"
    await _tell_the_story(site, citizen)
    photo = tmp_path / "jalan.png"
    photo.write_bytes(_png(900, 1200))
    await site.pane(citizen).locator(".composer .file").set_input_files(str(photo))
    await site.sees(citizen, "Lampiran diterima")
    await site.type("supervisor", "/bantuan")
    await site.sees("supervisor", "Perintah chat atasan")
    await site.type("supervisor", "/rekap")
    chart = site.pane("supervisor").locator(".msg img").last
    await expect(chart).to_be_visible(timeout=WAIT_MS)
    await site.page.wait_for_function(
        "list => list.scrollHeight > list.clientHeight"
        " && list.scrollHeight - list.scrollTop - list.clientHeight < 2",
        arg=await site.pane("supervisor").locator(".messages").element_handle(),
        timeout=WAIT_MS,
    )

    # the chart opens large, and downloads
    await chart.click()
    viewer = site.page.locator("#viewer")
    await expect(viewer.locator("img")).to_be_visible()
    assert await viewer.locator("img").evaluate("img => img.naturalWidth") > 1000
    href = await viewer.locator("a.download").get_attribute("href")
    assert href is not None
    download = await site.page.request.get(site.url + href)
    assert (await download.body()).startswith(b"\x89PNG")
    assert download.headers["content-disposition"].startswith("attachment")
    await viewer.locator(".close").click()
    await expect(viewer).to_be_hidden()

    await _fits(site, 1440, shots, "all")
    await _fits(site, 1366, shots, "all")
    await _fits(site, 390, shots, "citizen")
    # at phone width one pane shows at a time, and tabs switch between them
    assert await site.page.evaluate("document.documentElement.scrollHeight") < 1400
    await expect(site.pane(citizen)).to_be_visible()
    await expect(site.pane("supervisor")).to_be_hidden()
    await site.page.locator("#tabs .tab", has_text="Atasan").click()
    await expect(site.pane("supervisor")).to_be_visible()
    await expect(site.pane(citizen)).to_be_hidden()
    await _fits(site, 390, shots, "supervisor")
    await site.page.locator("#tabs .tab", has_text="Petugas (pribadi)").click()
    await expect(site.pane("officer-private")).to_be_visible()
    await expect(site.pane("officer-private").locator(".lead")).to_contain_text("/catat")
    await _fits(site, 390, shots, "officer-private")


@contextlib.asynccontextmanager
async def _playground_process(
    folder: Path, *arguments: str, **environment: str
) -> AsyncIterator[str]:
    """`aduanbot playground [arguments]` as a newcomer runs it in `folder` (with
    `environment` besides); yields its address."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "playground",
        *arguments,
        cwd=folder,
        env=_environment(
            folder, PORT=str(port), PYTHONPATH=str(Path(__file__).parents[2]), **environment
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    lines: list[str] = []
    ready = asyncio.Event()

    async def read() -> None:  # all of it, so that the service never blocks on its log
        assert process.stdout is not None
        async for line in process.stdout:
            lines.append(line.decode(errors="replace"))
            if "playground ready" in lines[-1]:
                ready.set()

    reader = asyncio.create_task(read())
    try:
        async with asyncio.timeout(60):
            await ready.wait()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            await process.wait()
            await reader
    assert process.returncode == 0, "".join(lines)


async def test_the_playground_keeps_its_chats_across_a_restart_until_started_afresh(
    browser: Browser, tmp_path: Path
) -> None:
    citizen, whatsapp = "citizen-telegram", "citizen-whatsapp"
    async with _playground_process(tmp_path) as url:
        site = Site(url, await browser.new_page(viewport={"width": 1440, "height": 900}))
        await site.page.goto(f"{url}/playground")
        await site.type(citizen, "/start")
        await site.sees(citizen, "Ceritakan apa yang terjadi")
        await site.type(whatsapp, "halo")
        await site.sees(whatsapp, "Ceritakan apa yang terjadi")
        await site.page.close()

    async with _playground_process(tmp_path) as url:
        site = Site(url, await browser.new_page(viewport={"width": 1440, "height": 900}))
        await site.page.goto(f"{url}/playground")
        for pane, mine in ((citizen, "/start"), (whatsapp, "halo")):  # the earlier history
            earlier = site.pane(pane).locator(".msg.user.earlier", has_text=mine)
            await expect(earlier).to_be_visible(timeout=WAIT_MS)
            await expect(site.pane(pane).locator(".msg.bot.earlier")).to_contain_text(
                ["Ceritakan apa yang terjadi"]
            )
            await expect(site.pane(pane).locator(".restarted")).to_be_visible()
        # what is typed now reaches the bot (no duplicate of an earlier update), which
        # goes on with the conversation where it was
        await site.type(citizen, DESCRIPTION)
        await site.sees(citizen, "Di mana kejadiannya")
        await site.type(whatsapp, DESCRIPTION)
        await site.sees(whatsapp, "Di mana kejadiannya")

        other = Site(url, await browser.new_page(viewport={"width": 390, "height": 844}))
        await other.page.goto(f"{url}/playground")  # another window, on a phone
        await other.sees(citizen, "Di mana kejadiannya")
        site.page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await site.page.locator("#reset").click()
        for pane in (citizen, whatsapp):
            await expect(site.pane(pane).locator(".msg")).to_have_count(0, timeout=WAIT_MS)
            await expect(site.pane(pane).locator(".messages .empty")).to_be_visible()
        await expect(other.pane(citizen).locator(".msg")).to_have_count(0, timeout=WAIT_MS)
        await other.page.close()
        # the database was emptied too: the bot greets the citizen as a newcomer (and
        # takes the text as the story), instead of asking the next question
        await site.type(citizen, "Puskesmas Sukamaju, Jl. Melati 3")
        await site.sees(citizen, "Selamat datang")
        await site.sees(citizen, "Di mana kejadiannya")
        assert "Kapan kejadiannya" not in await site.pane(citizen).inner_text()
        await site.page.close()


async def test_unreadable_kept_chats_are_put_aside_and_the_playground_starts(
    tmp_path: Path,
) -> None:
    kept = tmp_path / "playground-chats.pickle"
    kept.write_bytes(b"not a pickle")
    async with running(Playground(tmp_path)) as playground:
        assert playground.telegram.transcript() == []
    assert (tmp_path / "playground-chats.unreadable").read_bytes() == b"not a pickle"
    assert kept.is_file()  # saved afresh on the way out
