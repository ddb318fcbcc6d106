"""The WhatsApp adapter's choices of what to send, media links, and the new settings."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.agency import ContentTemplate, parse_whatsapp
from bot.channels.base import PermanentFailure
from bot.channels.filecheck import MediaRefused, checked_type
from bot.channels.whatsapp.connection import TwilioConnection
from bot.channels.whatsapp.media import MediaStore
from bot.channels.whatsapp.sender import WhatsAppChannel
from bot.core.files import ALL_TYPES
from bot.core.model import (
    Attachment,
    AttachmentKind,
    Button,
    Channel,
    OutgoingMessage,
    Recipient,
)
from bot.core.texts import load_texts
from bot.settings import ConfigError, load_settings
from tests.fakes import FixedClock

T = load_texts("id")
REPORTER = Recipient(Channel.WHATSAPP, "+6281234567890")
ANSWER_SID = "HX" + "a" * 32


def channel(tmp_path: Path, last: datetime | None, clock: FixedClock) -> WhatsAppChannel:
    async def last_inbound(address: str) -> datetime | None:
        return last

    return WhatsAppChannel(
        TwilioConnection("AC" + "0" * 32, "token", "https://api.twilio.com"),
        "whatsapp:+14155238886",
        "https://aduan.example.go.id/webhook/whatsapp/status",
        {"reporter_answered": ContentTemplate(ANSWER_SID, ("code", "unit", "answer"))},
        T,
        MediaStore(tmp_path, b"secret", "https://aduan.example.go.id"),
        last_inbound,
        clock,
    )


def answered(text: str = "Obat sudah tersedia.") -> OutgoingMessage:
    params = (("code", "ADU-7K3Q9X"), ("unit", "Bidang Yankes"), ("answer", text))
    return OutgoingMessage(
        REPORTER,
        T("reporter_answered", code="ADU-7K3Q9X", unit="Bidang Yankes", answer=text),
        template="reporter_answered",
        params=params,
    )


async def test_inside_the_window_text_goes_free_form_and_long_text_is_split(tmp_path: Path) -> None:
    clock = FixedClock()
    wa = channel(tmp_path, clock.now() - timedelta(hours=2), clock)
    parts = await wa.render(REPORTER.address, answered("panjang sekali. " * 200))
    assert [p.kind for p in parts] == ["text", "text", "text"]
    assert all(len(p.params["body"]) <= 1600 for p in parts)
    assert " ".join(p.params["body"] for p in parts).count("panjang sekali.") == 200


async def test_outside_the_window_the_approved_template_goes(tmp_path: Path) -> None:
    clock = FixedClock()
    wa = channel(tmp_path, clock.now() - timedelta(hours=30), clock)
    (part,) = await wa.render(REPORTER.address, answered("Obat\n  sudah   tersedia."))
    assert part.kind == "template"
    assert part.params == {
        "content_sid": ANSWER_SID,
        "variables": {"1": "ADU-7K3Q9X", "2": "Bidang Yankes", "3": "Obat sudah tersedia."},
    }


async def test_no_template_for_that_sentence_outside_the_window_is_a_permanent_failure(
    tmp_path: Path,
) -> None:
    clock = FixedClock()
    wa = channel(tmp_path, None, clock)
    closed = OutgoingMessage(REPORTER, "Selesai", template="reporter_closed")
    with pytest.raises(PermanentFailure, match="reporter_closed"):
        await wa.render(REPORTER.address, closed)


async def test_a_send_already_under_way_stays_free_form(tmp_path: Path) -> None:
    clock = FixedClock()
    wa = channel(tmp_path, None, clock)
    parts = await wa.render(REPORTER.address, answered(), resumed=True)
    assert [p.kind for p in parts] == ["text"]


async def test_choices_become_a_numbered_list_but_plain_numbers_are_not_repeated(
    tmp_path: Path,
) -> None:
    clock = FixedClock()
    wa = channel(tmp_path, clock.now(), clock)
    confirm = OutgoingMessage(
        REPORTER,
        "Apakah sudah benar?",
        buttons=(
            (Button("Kirim", "c:send"), Button("Ubah", "c:edit"), Button("Batal", "c:cancel")),
        ),
    )
    (part,) = await wa.render(REPORTER.address, confirm)
    assert part.params["body"] == (
        "Apakah sudah benar?\n\n1. Kirim\n2. Ubah\n3. Batal\n" + T("whatsapp_choices_hint")
    )
    rating = OutgoingMessage(
        REPORTER, "Nilai 1-5", buttons=(tuple(Button(str(n), f"r:X:{n}") for n in range(1, 6)),)
    )
    (part,) = await wa.render(REPORTER.address, rating)
    assert part.params["body"] == "Nilai 1-5"


async def test_attachments_go_as_signed_links_to_this_service(tmp_path: Path) -> None:
    clock = FixedClock()
    wa = channel(tmp_path, clock.now(), clock)
    photo = Attachment(AttachmentKind.PHOTO, "AgACAgIAAx-file-id", Channel.TELEGRAM)
    parts = await wa.render(
        REPORTER.address, OutgoingMessage(REPORTER, "Foto bukti", attachments=(photo,))
    )
    assert [p.kind for p in parts] == ["text", "media"]
    url = parts[1].params["url"]
    assert url.startswith("https://aduan.example.go.id/media/")
    token = url.rsplit("/", 1)[1]
    assert wa.media.resolve(token) == photo
    assert wa.media.resolve(token[:-1] + ("0" if token[-1] != "0" else "1")) is None
    assert wa.media.resolve("bm90IGEgdG9rZW4.abc") is None


def test_stored_files_are_served_only_from_the_media_folder(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media", b"k", "https://x.example")
    (tmp_path / "media").mkdir()
    kept = tmp_path / "media" / "SM1-0.jpg"
    kept.write_bytes(b"jpeg")
    outside = tmp_path / "secret.txt"
    outside.write_text("no")
    inside = Attachment(AttachmentKind.PHOTO, str(kept), Channel.WHATSAPP)
    escaped = Attachment(
        AttachmentKind.DOCUMENT, str(tmp_path / "media" / ".." / "secret.txt"), Channel.WHATSAPP
    )
    assert store.stored_file(inside) == kept.resolve()
    assert store.stored_file(escaped) is None


def test_whatsapp_settings_name_what_is_missing(tmp_path: Path) -> None:
    none = tmp_path / "none.env"
    base = {"TELEGRAM_BOT_TOKEN": "123:" + "a" * 30}
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM"):
        load_settings({**base, "TWILIO_ACCOUNT_SID": "AC1"}, env_file=none)
    full = {
        **base,
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "t",
        "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
    }
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load_settings(full, env_file=none)
    with pytest.raises(ConfigError, match="TWILIO_WHATSAPP_FROM"):
        load_settings({**full, "TWILIO_WHATSAPP_FROM": "+14155238886"}, env_file=none)
    settings = load_settings(
        {**full, "PUBLIC_BASE_URL": "https://a.example", "TELEGRAM_WEBHOOK_SECRET": "s"},
        env_file=none,
    )
    assert settings.whatsapp_enabled
    assert settings.twilio_api_base_url == "https://api.twilio.com"


def test_whatsapp_templates_are_checked_against_the_sentences() -> None:
    good = {
        "whatsapp": {
            "templates": {
                "reporter_answered": {"content_sid": ANSWER_SID, "variables": ["code", "answer"]}
            }
        }
    }
    options = parse_whatsapp(good)
    assert options.templates["reporter_answered"] == ContentTemplate(ANSWER_SID, ("code", "answer"))
    assert options.messages_per_second == 80
    for bad, named in (
        ({"nope": {"content_sid": ANSWER_SID}}, "nope"),
        ({"reporter_answered": {"content_sid": "HX1"}}, "content_sid"),
        ({"reporter_answered": {"content_sid": ANSWER_SID, "variables": ["phone"]}}, "variables"),
    ):
        with pytest.raises(ConfigError, match=named):
            parse_whatsapp({"whatsapp": {"templates": bad}})


def image(kind: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, 1).save(out, kind)
    return out.getvalue()


JPEG = image("JPEG")
PNG = image("PNG")


PDF_START = b"%PDF-1.7\n%\xe2\xe3"
TEXT = "Pungutan liar — Rp50.000 di loket 3\n".encode()
ONLY_PHOTOS = frozenset({"image/jpeg", "image/png"})


@pytest.mark.parametrize(
    "data",
    [
        JPEG[: len(JPEG) // 2],  # cut off on the way
        JPEG[:200] + bytes(len(JPEG) - 200),  # its picture overwritten
        PNG[:-30],
    ],
    ids=["truncated-jpeg", "zeroed-jpeg", "truncated-png"],
)
def test_an_image_that_does_not_decode_is_refused_as_damaged(data: bytes) -> None:
    with pytest.raises(MediaRefused, match="media_unreadable"):
        checked_type(data, AttachmentKind.PHOTO, ALL_TYPES)
    with pytest.raises(MediaRefused, match="media_unreadable"):  # sent "as a file" too
        checked_type(data, AttachmentKind.DOCUMENT, ALL_TYPES)


@pytest.mark.parametrize(
    ("data", "kind", "accepted", "found"),
    [
        (JPEG, AttachmentKind.PHOTO, ALL_TYPES, "image/jpeg"),
        (PNG, AttachmentKind.PHOTO, ALL_TYPES, "image/png"),
        (PDF_START, AttachmentKind.DOCUMENT, ALL_TYPES, "application/pdf"),
        (PDF_START, AttachmentKind.PHOTO, ALL_TYPES, None),  # a document called a photo
        (PDF_START, AttachmentKind.DOCUMENT, ONLY_PHOTOS, None),  # not a type the office takes
        (JPEG, AttachmentKind.DOCUMENT, ONLY_PHOTOS, "image/jpeg"),  # a photo "as a file"
        (b"MZ\x90\x00" + b"\x00" * 60, AttachmentKind.PHOTO, ALL_TYPES, None),  # a program
        (b"MZ\x90\x00" + b"\x00" * 60, AttachmentKind.DOCUMENT, ALL_TYPES, None),
        (
            "Pungutan liar — Rp50.000 di loket 3\n".encode(),
            AttachmentKind.DOCUMENT,
            ALL_TYPES,
            "text/plain",
        ),
        (b"\x00\x01\x02 bukan teks", AttachmentKind.DOCUMENT, ALL_TYPES, None),
        (b"OggS" + b"\x00" * 40, AttachmentKind.VOICE, ALL_TYPES, "audio/ogg"),
        (b"OggS" + b"\x00" * 40, AttachmentKind.AUDIO, ALL_TYPES, "audio/ogg"),
        (JPEG, AttachmentKind.VIDEO, ALL_TYPES, None),
    ],
)
def test_files_are_judged_by_their_content(
    data: bytes, kind: AttachmentKind, accepted: frozenset[str], found: str | None
) -> None:
    if found is None:
        with pytest.raises(MediaRefused, match="media_type_not_allowed"):
            checked_type(data, kind, accepted)
    else:
        assert checked_type(data, kind, accepted) == found
