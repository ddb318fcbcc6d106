"""TelegramFileCheck, with a fake Bot: what it downloads, what it refuses and how it
marks its envelope (the end-to-end side is tests/e2e/test_files.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from telegram.error import BadRequest, NetworkError

from bot.channels.telegram.files import TELEGRAM_LIMIT, TelegramFileCheck
from bot.core.dialogue import Rejected
from bot.core.files import ALL_TYPES, delivered_name, is_script_name
from bot.inbox.envelope import Envelope

PDF = b"%PDF-1.7\n%\xe2\xe3"


class FakeFile:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def download_as_bytearray(self) -> bytearray:
        return bytearray(self.data)


class FakeBot:
    """Serves files by id; `failures` errors are raised first."""

    def __init__(self, files: dict[str, bytes], failures: list[Exception] | None = None) -> None:
        self.files = files
        self.failures = failures or []
        self.asked: list[str] = []

    async def get_file(self, file_id: str) -> FakeFile:
        self.asked.append(file_id)
        if self.failures:
            raise self.failures.pop(0)
        return FakeFile(self.files[file_id])


def update(chat_type: str = "private", **media: Any) -> dict[str, Any]:
    message = {"message_id": 5, "chat": {"id": 42, "type": chat_type}, "caption": "kuitansi"}
    return {"update_id": 1, "message": {**message, **media}}


def check(bot: FakeBot, accepted: frozenset[str] = ALL_TYPES) -> TelegramFileCheck:
    return TelegramFileCheck(bot, accepted)  # type: ignore[arg-type]


async def test_a_document_is_typed_by_its_content() -> None:
    bot = FakeBot({"F1": PDF})
    payload = update(document={"file_id": "F1", "file_name": "a.bin", "mime_type": "x/y"})
    prepared = await check(bot).prepare(payload)
    assert prepared.update["message"]["document"]["mime_type"] == "application/pdf"
    assert prepared.update["message"]["document"]["file_name"] == "a.bin"  # renamed when passed on
    assert prepared.refused == () and bot.asked == ["F1"]
    assert payload["message"]["document"]["mime_type"] == "x/y"  # the recorded update unchanged


async def test_a_script_is_refused_by_its_name_without_a_download() -> None:
    bot = FakeBot({"F1": b"dir C:\\Users\r\n"})
    prepared = await check(bot).prepare(update(document={"file_id": "F1", "file_name": "a.CMD"}))
    assert "document" not in prepared.update["message"] and bot.asked == []
    assert prepared.refused == (Rejected(1, "media_script_not_allowed", "a.CMD"),)


async def test_a_refused_file_leaves_the_update_and_is_named() -> None:
    bot = FakeBot({"F1": b"MZ\x90\x00" + bytes(60)})
    prepared = await check(bot).prepare(update(document={"file_id": "F1", "file_name": "a.pdf"}))
    message = prepared.update["message"]
    assert "document" not in message and message["caption"] == "kuitansi"
    program, claimed = "application/x-msdownload", "pdf"  # what it is, what it passed for
    assert prepared.refused == (Rejected(1, "media_type_not_allowed", "a.pdf", program, claimed),)


async def test_a_file_telegram_will_not_hand_over_is_refused_without_asking() -> None:
    bot = FakeBot({})
    big = {"file_id": "F1", "file_name": "video.mp4", "file_size": TELEGRAM_LIMIT + 1}
    prepared = await check(bot).prepare(update(video=big))
    assert prepared.refused == (Rejected(1, "media_too_large_telegram", "video.mp4"),)
    assert bot.asked == []


@pytest.mark.parametrize(
    ("failures", "reason"),
    [
        ([BadRequest("File is too big")], "media_too_large_telegram"),
        ([BadRequest("Wrong file_id")], "media_download_failed"),
        ([NetworkError("x"), NetworkError("x"), NetworkError("x")], "media_download_failed"),
    ],
)
async def test_a_file_that_cannot_be_fetched_is_asked_again(
    failures: list[Exception], reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr("bot.channels.telegram.files.asyncio.sleep", no_wait)
    prepared = await check(FakeBot({}, failures)).prepare(update(document={"file_id": "F1"}))
    assert prepared.refused == (Rejected(1, reason, None),)


async def test_a_passing_network_error_is_retried() -> None:
    bot = FakeBot({"F1": PDF}, [NetworkError("reset")])
    prepared = await check(bot).prepare(update(document={"file_id": "F1"}))
    assert prepared.refused == () and bot.asked == ["F1", "F1"]


async def test_photos_follow_the_jpg_setting_and_groups_are_not_checked() -> None:
    photo = update(photo=[{"file_id": "P1", "width": 90, "height": 90}])
    assert await check(FakeBot({})).prepare(photo) == Envelope(photo)
    refused = await check(FakeBot({}), frozenset({"application/pdf"})).prepare(photo)
    assert refused.refused == (Rejected(1, "media_type_not_allowed", None, "image/jpeg"),)
    group = update("supergroup", document={"file_id": "F1"})
    assert await check(FakeBot({}), frozenset()).prepare(copy.deepcopy(group)) == Envelope(group)


@pytest.mark.parametrize(
    ("name", "mime", "delivered"),
    [
        ("catatan.log", "text/plain", "catatan.txt"),
        ("kronologi.TXT", "text/plain", "kronologi.TXT"),
        ("foto.jpeg", "image/jpeg", "foto.jpeg"),
        ("kuitansi", "application/pdf", "kuitansi.pdf"),
        (".profile", "text/plain", ".profile.txt"),
        ("laporan.pdf.exe", "application/pdf", "laporan.pdf.pdf"),
    ],
)
def test_a_file_is_passed_on_under_its_types_extension(
    name: str, mime: str, delivered: str
) -> None:
    assert delivered_name(name, mime) == delivered


@pytest.mark.parametrize("name", ["kuitansi.bat", "laporan.HTML", "gambar.svg", "x.ps1", "a.vbs"])
def test_scripts_and_pages_are_known_by_their_name(name: str) -> None:
    assert is_script_name(name)
    assert not is_script_name(name.rpartition(".")[0] + ".pdf") and not is_script_name("bat")
