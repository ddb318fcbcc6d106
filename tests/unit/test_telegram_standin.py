"""The Telegram Bot API stand-in, driven by a real python-telegram-bot `Bot` over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import re
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    ChatMemberRestricted,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    MessageEntity,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.standins.telegram import ApiCall, Chat, SentMessage, TelegramStandIn, User

TOKEN = "123456789:TEST-token_abc"
CITIZEN = User(1001, "Ani", "Lestari", username="ani_l")
OFFICER = User(2002, "Budi")
GROUP = Chat.group(-1001234567890, "Petugas Dinas PU")


def png(width: int, height: int, tag: bytes = b"") -> bytes:
    """The start of a PNG file: enough for its size to be read."""
    header = struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", width, height)
    return b"\x89PNG\r\n\x1a\n" + header + b"\x08\x02\x00\x00\x00" + tag


PHOTO = png(640, 480, b"first")
PHOTO_2 = png(1600, 1200, b"second")


def make_bot(standin: TelegramStandIn, token: str = TOKEN) -> Bot:
    return Bot(
        token,
        base_url=f"{standin.base_url}/bot",
        base_file_url=f"{standin.base_url}/file/bot",
    )


def described(description: str) -> str:
    """A pattern for a Telegram description as PTB shows it.

    PTB strips "Bad Request: " and then applies str.capitalize(), which lower-cases the rest
    ("BUTTON_DATA_INVALID" arrives as "Button_data_invalid"), so match case-insensitively.
    """
    return f"(?i){re.escape(description)}"


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]]
    )


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it, reading RetryAfter.retry_after or a duration emits PTBDeprecationWarning.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn(token=TOKEN, bot_username="aduan_test_bot") as standin:
        yield standin


@pytest.fixture
async def bot(tg: TelegramStandIn) -> AsyncIterator[Bot]:
    async with make_bot(tg) as ptb_bot:
        yield ptb_bot


class Receiver:
    """A tiny webhook endpoint that records what it is sent."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[tuple[dict[str, str], dict[str, object]]] = []
        self.statuses: list[int] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.json()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    app = web.Application()
    app.router.add_post("/hook", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    endpoint.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield endpoint
    await runner.cleanup()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------------------- basics


async def test_get_me_reports_the_configured_bot(bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == 123456789
    assert me.username == "aduan_test_bot"
    assert me.is_bot
    assert me.can_read_all_group_messages is False


async def test_base_url_is_loopback_and_instances_are_independent(tg: TelegramStandIn) -> None:
    async with TelegramStandIn(token="555:other", bot_username="lain_bot") as other:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", other.base_url)
        assert other.base_url != tg.base_url
        async with make_bot(other, "555:other") as other_bot:
            await other_bot.send_message(CITIZEN.id, "dari bot lain")
            assert (await other_bot.get_me()).username == "lain_bot"

        assert other.texts(CITIZEN.id) == ["dari bot lain"]
        assert tg.messages() == []


async def test_sent_messages_are_recorded_with_keyboards_and_replies(
    tg: TelegramStandIn, bot: Bot
) -> None:
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Ya", callback_data="confirm:1"),
                InlineKeyboardButton("Tidak", callback_data="cancel:1"),
            ],
            [InlineKeyboardButton("Situs", url="https://example.go.id")],
        ]
    )

    first = await bot.send_message(CITIZEN.id, "Halo", reply_markup=markup)
    second = await bot.send_message(CITIZEN.id, "Kedua", reply_to_message_id=first.message_id)
    in_group = await bot.send_message(GROUP.id, "Untuk grup")
    share = await bot.send_message(
        CITIZEN.id, "Bagikan lokasi", reply_markup=ReplyKeyboardMarkup([["Kirim lokasi"]])
    )

    assert (first.message_id, second.message_id, share.message_id) == (1, 2, 3)
    assert in_group.message_id == 1
    assert first.reply_markup == markup
    assert first.from_user is not None
    assert first.from_user.username == "aduan_test_bot"
    assert second.reply_to_message is not None
    assert second.reply_to_message.text == "Halo"
    assert in_group.chat.type == "supergroup"
    assert first.chat.type == "private"

    recorded = tg.messages(CITIZEN.id)
    assert [m.kind for m in recorded] == ["text", "text", "text"]
    assert recorded[0].keyboard == [[("Ya", "confirm:1"), ("Tidak", "cancel:1")], [("Situs", None)]]
    assert recorded[0].callback_data("Tidak") == "cancel:1"
    assert recorded[1].reply_to_message_id == 1
    assert recorded[2].reply_keyboard == [["Kirim lokasi"]]
    assert recorded[2].keyboard == []
    assert tg.texts(CITIZEN.id) == ["Halo", "Kedua", "Bagikan lokasi"]
    assert tg.texts(GROUP.id) == ["Untuk grup"]
    assert isinstance(recorded[0].date, int)
    assert recorded[0].date == int(first.date.timestamp())


async def test_formatting_is_applied_as_people_see_it(tg: TelegramStandIn, bot: Bot) -> None:
    html = await bot.send_message(
        CITIZEN.id, "<b>Aduan</b> &amp; <i>status</i>", parse_mode=ParseMode.HTML
    )
    markdown = await bot.send_message(
        CITIZEN.id, r"*Kode* ADU\-2024\.01", parse_mode=ParseMode.MARKDOWN_V2
    )

    assert html.text == "Aduan & status"
    assert html.entities == (
        MessageEntity(MessageEntity.BOLD, 0, 5),
        MessageEntity(MessageEntity.ITALIC, 8, 6),
    )
    assert markdown.text == "Kode ADU-2024.01"
    assert markdown.entities == (MessageEntity(MessageEntity.BOLD, 0, 4),)
    assert tg.texts(CITIZEN.id) == ["Aduan & status", "Kode ADU-2024.01"]
    assert tg.messages(CITIZEN.id)[0].parse_mode == "HTML"


BotCall = Callable[[Bot], Awaitable[object]]


@pytest.mark.parametrize(
    ("call", "description"),
    [
        (lambda b: b.send_message(CITIZEN.id, "  "), "message text is empty"),
        (
            lambda b: b.send_message(CITIZEN.id, "<b></b>", parse_mode="HTML"),
            "message text is empty",
        ),
        (lambda b: b.send_message(CITIZEN.id, "x" * 4097), "message is too long"),
        # 2049 emoji are 4098 UTF-16 code units, though only 2049 Python characters.
        (lambda b: b.send_message(CITIZEN.id, "😀" * 2049), "message is too long"),
        (
            lambda b: b.send_photo(CITIZEN.id, PHOTO, caption="c" * 1025),
            "message caption is too long",
        ),
        (
            lambda b: b.send_message(CITIZEN.id, "x", reply_markup=keyboard(("A", "a" * 65))),
            "BUTTON_DATA_INVALID",
        ),
        (
            lambda b: b.send_message(CITIZEN.id, "x", reply_markup=keyboard(("A", ""))),
            "BUTTON_DATA_INVALID",
        ),
        (lambda b: b.send_message(CITIZEN.id, "<b>x", parse_mode="HTML"), "can't parse entities"),
        (lambda b: b.send_message(CITIZEN.id, "1 < 2", parse_mode="HTML"), "can't parse entities"),
        (lambda b: b.send_message(CITIZEN.id, "A & B", parse_mode="HTML"), "can't parse entities"),
        (
            lambda b: b.send_message(CITIZEN.id, "<blink>x</blink>", parse_mode="HTML"),
            'Unsupported start tag "blink"',
        ),
        (
            lambda b: b.send_message(CITIZEN.id, "<b><i>x</b></i>", parse_mode="HTML"),
            "Unmatched end tag",
        ),
        (
            lambda b: b.send_message(CITIZEN.id, "Selesai.", parse_mode="MarkdownV2"),
            "Character '.' is reserved",
        ),
        (
            lambda b: b.send_message(CITIZEN.id, "*tebal", parse_mode="MarkdownV2"),
            "Can't find end of Bold entity",
        ),
        (
            lambda b: b.send_media_group(CITIZEN.id, [InputMediaPhoto(PHOTO)]),
            "too few messages to send as an album",
        ),
        (
            lambda b: b.send_media_group(CITIZEN.id, [InputMediaPhoto(PHOTO)] * 11),
            "too many messages to send as an album",
        ),
        (
            lambda b: b.send_media_group(
                CITIZEN.id, [InputMediaPhoto(PHOTO), InputMediaDocument(b"doc", filename="a.pdf")]
            ),
            "document can't be mixed with other media types",
        ),
        (
            lambda b: b.send_message(CITIZEN.id, "x", reply_to_message_id=99),
            "message to be replied not found",
        ),
        (lambda b: b.send_photo(CITIZEN.id, b"not a picture"), "IMAGE_PROCESS_FAILED"),
        (lambda b: b.send_photo(CITIZEN.id, png(200, 4100)), "PHOTO_INVALID_DIMENSIONS"),
        (lambda b: b.send_photo(CITIZEN.id, png(6000, 4500)), "PHOTO_INVALID_DIMENSIONS"),
        (lambda b: b.send_photo(CITIZEN.id, "no-such-file"), "wrong file identifier"),
        (lambda b: b.send_photo(CITIZEN.id, "https://example.org/a.jpg"), "failed to get HTTP"),
        (lambda b: b.get_file("no-such-file"), "invalid file_id"),
    ],
    ids=lambda value: value if isinstance(value, str) else "call",
)
async def test_invalid_requests_answer_bad_request(
    tg: TelegramStandIn, bot: Bot, call: BotCall, description: str
) -> None:
    with pytest.raises(BadRequest, match=described(description)):
        await call(bot)

    assert tg.messages() == []
    assert tg.calls()[-1].status == 400


async def test_bad_request_carries_telegrams_exact_description(
    tg: TelegramStandIn, bot: Bot
) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(CITIZEN.id, "")

    # The wire has Telegram's words; PTB strips "Bad Request: " and capitalizes the rest.
    assert tg.calls()[-1].description == "Bad Request: message text is empty"
    assert caught.value.message == "Message text is empty"


async def test_unknown_method_and_wrong_token(tg: TelegramStandIn, bot: Bot) -> None:
    # Telegram answers 404 for unknown methods. PTB raises InvalidToken for a 404, except in
    # do_api_request on an initialized bot, where it raises EndPointNotFound.
    with pytest.raises(EndPointNotFound, match="sendHologram"):
        await bot.do_api_request("sendHologram", api_kwargs={"chat_id": CITIZEN.id})
    assert tg.calls()[-1] == ApiCall("sendHologram", {"chat_id": "1001"}, 404, "Not Found")

    with pytest.raises(InvalidToken, match="was rejected by the server"):
        async with make_bot(tg, "999:wrong-token"):
            pass

    # Method names are case-insensitive, as on Telegram.
    assert (await bot.do_api_request("GETME"))["username"] == "aduan_test_bot"


# ------------------------------------------------------------------------------- files


async def test_photo_upload_can_be_fetched_and_resent_by_file_id(
    tg: TelegramStandIn, bot: Bot
) -> None:
    sent = await bot.send_photo(CITIZEN.id, PHOTO, caption="Foto lokasi")

    sizes = sent.photo
    assert [(size.width, size.height) for size in sizes] == [(90, 67), (320, 240), (640, 480)]
    largest = sizes[-1]
    file = await bot.get_file(largest.file_id)
    assert file.file_path is not None
    assert file.file_path.startswith(f"{tg.base_url}/file/bot{TOKEN}/photos/")
    assert bytes(await file.download_as_bytearray()) == PHOTO

    again = await bot.send_photo(GROUP.id, largest.file_id)
    assert again.photo[-1].file_id == largest.file_id

    mine = tg.messages(CITIZEN.id)[0]
    assert (mine.kind, mine.method, mine.caption) == ("photo", "sendPhoto", "Foto lokasi")
    assert mine.file_id == largest.file_id
    assert mine.file_ids == tuple(size.file_id for size in sizes)
    assert tg.messages(GROUP.id)[0].file_id == largest.file_id
    assert tg.texts(CITIZEN.id) == ["Foto lokasi"]
    assert tg.file_bytes(largest.file_id) == PHOTO


async def test_a_file_id_of_another_kind_is_refused(bot: Bot) -> None:
    document = await bot.send_document(CITIZEN.id, b"isi", filename="a.txt")
    assert document.document is not None

    with pytest.raises(BadRequest, match=described("can't use file of type Document as Photo")):
        await bot.send_photo(CITIZEN.id, document.document.file_id)


async def test_document_video_audio_voice_and_location(tg: TelegramStandIn, bot: Bot) -> None:
    document = await bot.send_document(
        CITIZEN.id, b"%PDF-1.4 laporan", filename="laporan.pdf", caption="Laporan"
    )
    video = await bot.send_video(CITIZEN.id, b"video-bytes", filename="a.mp4", duration=3)
    audio = await bot.send_audio(CITIZEN.id, b"audio-bytes", filename="a.mp3", title="Rekaman")
    voice = await bot.send_voice(CITIZEN.id, b"OggS-voice", duration=2)
    location = await bot.send_location(CITIZEN.id, latitude=-6.2, longitude=106.8)

    assert document.document is not None
    assert (document.document.file_name, document.document.mime_type) == (
        "laporan.pdf",
        "application/pdf",
    )
    downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"%PDF-1.4 laporan"
    assert video.video is not None
    assert video.video.duration == dtm.timedelta(seconds=3)
    assert audio.audio is not None
    assert audio.audio.title == "Rekaman"
    assert voice.voice is not None
    assert voice.voice.duration == dtm.timedelta(seconds=2)
    assert location.location is not None
    assert (location.location.latitude, location.location.longitude) == (-6.2, 106.8)

    recorded = tg.messages(CITIZEN.id)
    assert [m.kind for m in recorded] == ["document", "video", "audio", "voice", "location"]
    assert recorded[0].file_id == document.document.file_id
    assert recorded[0].caption == "Laporan"
    assert recorded[4].location == (-6.2, 106.8)
    assert [m.message_id for m in recorded] == [1, 2, 3, 4, 5]


async def test_album_upload_records_one_message_per_item(tg: TelegramStandIn, bot: Bot) -> None:
    known = tg.register_file(PHOTO, kind="photo")

    sent = await bot.send_media_group(
        GROUP.id,
        [
            InputMediaPhoto(PHOTO, caption="Tiga foto"),
            InputMediaPhoto(PHOTO_2),
            InputMediaPhoto(known),
        ],
    )

    assert [m.message_id for m in sent] == [1, 2, 3]
    assert len({m.media_group_id for m in sent}) == 1
    assert sent[0].caption == "Tiga foto"
    assert sent[2].photo[-1].file_id == known
    second = await (await bot.get_file(sent[1].photo[-1].file_id)).download_as_bytearray()
    assert bytes(second) == PHOTO_2

    recorded = tg.messages(GROUP.id)
    assert [(m.method, m.kind) for m in recorded] == [("sendMediaGroup", "photo")] * 3
    assert {m.media_group_id for m in recorded} == {sent[0].media_group_id}
    assert tg.texts(GROUP.id) == ["Tiga foto", "", ""]


async def test_document_album(tg: TelegramStandIn, bot: Bot) -> None:
    sent = await bot.send_media_group(
        CITIZEN.id,
        [
            InputMediaDocument(b"satu", filename="satu.pdf"),
            InputMediaDocument(b"dua", filename="dua.pdf", caption="Lampiran"),
        ],
    )

    assert [m.document.file_name for m in sent if m.document] == ["satu.pdf", "dua.pdf"]
    assert [m.kind for m in tg.messages(CITIZEN.id)] == ["document", "document"]
    assert tg.texts(CITIZEN.id) == ["", "Lampiran"]


# ------------------------------------------------------------------------------- faults


async def test_injected_429_raises_retry_after(tg: TelegramStandIn, bot: Bot) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=7)

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CITIZEN.id, "pertama")
    await bot.send_message(CITIZEN.id, "kedua")

    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert tg.too_many_requests == 1
    assert tg.texts(CITIZEN.id) == ["kedua"]


async def test_fault_only_for_one_chat_and_a_number_of_times(tg: TelegramStandIn, bot: Bot) -> None:
    tg.fail_next("send_message", status=502, chat_id=GROUP.id, times=2)

    await bot.send_message(CITIZEN.id, "lolos")
    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(GROUP.id, "gagal")
        assert type(caught.value) is NetworkError
        assert caught.value.message == "Bad Gateway"
    await bot.send_message(GROUP.id, "akhirnya")

    assert tg.texts(GROUP.id) == ["akhirnya"]
    assert [c.status for c in tg.calls("sendMessage")] == [200, 502, 502, 200]


async def test_injected_migration_parameter_raises_chat_migrated(
    tg: TelegramStandIn, bot: Bot
) -> None:
    tg.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1009,
    )

    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-9, "x")

    assert caught.value.new_chat_id == -1009


async def test_blocked_chats_answer_forbidden(tg: TelegramStandIn, bot: Bot) -> None:
    tg.block(CITIZEN.id)
    tg.block(GROUP.id)

    with pytest.raises(Forbidden, match=described("bot was blocked by the user")):
        await bot.send_message(CITIZEN.id, "halo")
    with pytest.raises(Forbidden, match=described("bot was kicked from the supergroup chat")):
        await bot.send_photo(GROUP.id, PHOTO)

    tg.unblock(CITIZEN.id)
    await bot.send_message(CITIZEN.id, "halo lagi")
    assert tg.texts() == ["halo lagi"]


async def test_forgotten_chat_answers_chat_not_found_until_the_user_writes(
    tg: TelegramStandIn, bot: Bot
) -> None:
    tg.forget_chat(CITIZEN.id)

    with pytest.raises(BadRequest, match=described("chat not found")):
        await bot.send_message(CITIZEN.id, "halo")

    await tg.user_says(CITIZEN, "/start")
    await bot.send_message(CITIZEN.id, "Selamat datang")
    assert tg.texts(CITIZEN.id) == ["Selamat datang"]


async def test_migration_answers_chat_migrated_and_sends_service_updates(
    tg: TelegramStandIn, bot: Bot
) -> None:
    old = Chat.group(-4001, "Grup Lama", supergroup=False)
    tg.add_chat(old)
    await bot.send_message(old.id, "sebelum")

    await tg.migrate(old.id, -1004001, by=OFFICER)

    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(old.id, "sesudah")
    assert caught.value.new_chat_id == -1004001
    moved = await bot.send_message(-1004001, "di supergrup")
    assert (moved.chat.type, moved.chat.title) == ("supergroup", "Grup Lama")

    updates = await bot.get_updates()
    assert len(updates) == 2
    to_new, from_old = updates[0].message, updates[1].message
    assert to_new is not None
    assert from_old is not None
    assert (to_new.chat.id, to_new.chat.type, to_new.migrate_to_chat_id) == (
        old.id,
        "group",
        -1004001,
    )
    assert (from_old.chat.id, from_old.migrate_from_chat_id) == (-1004001, old.id)
    assert to_new.from_user is not None
    assert to_new.from_user.id == OFFICER.id


async def test_a_slow_method_times_out_but_still_takes_effect(
    tg: TelegramStandIn, bot: Bot
) -> None:
    tg.delay("sendMessage", 0.5, times=1)

    with pytest.raises(TimedOut):
        await bot.send_message(CITIZEN.id, "lambat", read_timeout=0.1)

    # As on Telegram, the server went on with the call: a retry would send twice.
    await tg.wait_for(1, chat_id=CITIZEN.id)
    await bot.send_message(CITIZEN.id, "cepat")
    assert tg.texts(CITIZEN.id) == ["lambat", "cepat"]


async def test_a_delay_for_one_chat_holds_only_its_calls_and_shows_them_in_flight(
    tg: TelegramStandIn, bot: Bot
) -> None:
    tg.delay("sendMessage", 30, times=1, chat_id=CITIZEN.id)

    held = asyncio.create_task(bot.send_message(CITIZEN.id, "tertahan", read_timeout=40))
    await tg.wait_for_in_flight("sendMessage")
    await bot.send_message(GROUP.id, "lancar")  # another chat is not held
    assert tg.in_flight("send_message") == 1 and tg.texts(GROUP.id) == ["lancar"]
    assert not held.done()
    held.cancel()


async def test_stop_ends_a_waiting_long_poll() -> None:
    async with TelegramStandIn(token=TOKEN) as standin, make_bot(standin) as ptb_bot:
        poll = asyncio.create_task(ptb_bot.get_updates(timeout=30))
        await standin.wait_for_poll()
        async with asyncio.timeout(2):
            await standin.stop()
            assert await poll == ()


# ------------------------------------------------------------------------------- limits


async def test_limits_group_after_twenty_messages_a_minute() -> None:
    clock = FakeClock()
    async with (
        TelegramStandIn(token=TOKEN, enforce_limits=True, clock=clock) as standin,
        make_bot(standin) as ptb_bot,
    ):
        for number in range(20):
            await ptb_bot.send_message(GROUP.id, f"pesan {number}")
        with pytest.raises(RetryAfter) as caught:
            await ptb_bot.send_message(GROUP.id, "pesan 21")

        assert caught.value.retry_after == dtm.timedelta(seconds=60)
        assert standin.too_many_requests == 1
        assert len(standin.messages(GROUP.id)) == 20

        clock.now += 60
        await ptb_bot.send_message(GROUP.id, "semenit kemudian")
        assert standin.texts(GROUP.id)[-1] == "semenit kemudian"


async def test_limits_private_chats_and_overall_rate() -> None:
    clock = FakeClock()
    async with (
        TelegramStandIn(token=TOKEN, enforce_limits=True, clock=clock) as standin,
        make_bot(standin) as ptb_bot,
    ):
        for _ in range(3):  # the burst
            await ptb_bot.send_message(CITIZEN.id, "cepat")
        with pytest.raises(RetryAfter) as private:
            await ptb_bot.send_message(CITIZEN.id, "terlalu cepat")
        assert private.value.retry_after == dtm.timedelta(seconds=1)

        clock.now += 10
        for chat_id in range(5000, 5030):
            await ptb_bot.send_message(chat_id, "siaran")
        with pytest.raises(RetryAfter) as overall:
            await ptb_bot.send_message(5030, "siaran")
        assert overall.value.retry_after == dtm.timedelta(seconds=1)
        assert standin.too_many_requests == 2


async def test_a_media_group_counts_one_message_per_item() -> None:
    clock = FakeClock()
    async with (
        TelegramStandIn(token=TOKEN, enforce_limits=True, clock=clock) as standin,
        make_bot(standin) as ptb_bot,
    ):
        for _ in range(19):
            await ptb_bot.send_message(GROUP.id, "isi")
        with pytest.raises(RetryAfter):
            await ptb_bot.send_media_group(GROUP.id, [InputMediaPhoto(PHOTO)] * 2)
        assert len(standin.messages(GROUP.id)) == 19


# ------------------------------------------------------------------------------- updates


async def test_long_poll_receives_a_simulated_update(tg: TelegramStandIn, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_for_poll()

    sent = await tg.user_says(CITIZEN, "/start")
    updates = await poll

    assert [u.update_id for u in updates] == [sent["update_id"]]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start"
    assert message.chat.type == "private"
    assert message.from_user is not None
    assert (message.from_user.id, message.from_user.username) == (CITIZEN.id, "ani_l")
    assert message.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 6),)

    # Not confirmed yet: asked again, it comes again; an offset past it confirms it.
    assert [u.update_id for u in await bot.get_updates()] == [sent["update_id"]]
    assert await bot.get_updates(offset=sent["update_id"] + 1) == ()
    assert tg.pending_updates == []


async def test_a_second_bot_instance_polling_ends_the_first_ones_poll(
    tg: TelegramStandIn, bot: Bot
) -> None:
    # One Bot cannot overlap its own getUpdates calls (PTB gives them a pool of one
    # connection), so the second poller is a second instance, as in the real mistake.
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_for_poll()
    async with make_bot(tg) as second_instance:
        newer = asyncio.create_task(second_instance.get_updates(timeout=5))

        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await older
        await tg.user_says(CITIZEN, "halo")
        assert [u.message.text for u in await newer if u.message] == ["halo"]


async def test_webhook_delivery_with_secret_retries_and_duplicates(
    tg: TelegramStandIn, bot: Bot, receiver: Receiver
) -> None:
    assert await bot.set_webhook(
        receiver.url,
        secret_token="rahasia_123",
        allowed_updates=["message", "callback_query"],
        drop_pending_updates=True,
    )
    assert tg.webhook is not None
    assert tg.webhook.url == receiver.url
    assert tg.webhook.allowed_updates == ("message", "callback_query")
    assert tg.webhook.secret_token == "rahasia_123"

    update = tg.text_update(CITIZEN, "halo")
    assert await tg.deliver(update) == 200
    assert await tg.deliver(update) == 200  # the very same update again
    headers, body = receiver.requests[0]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "rahasia_123"
    assert body == update
    assert receiver.requests[1][1]["update_id"] == update["update_id"]

    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()

    receiver.statuses = [500]
    assert await tg.deliver(tg.text_update(CITIZEN, "gagal sekali")) == 500

    receiver.statuses = [500, 503]
    assert await tg.deliver(tg.text_update(CITIZEN, "lagi"), retry_until_ok=True) == 200
    assert [d.status for d in tg.deliveries[-3:]] == [500, 503, 200]
    assert [d.attempt for d in tg.deliveries[-3:]] == [1, 2, 3]
    assert len(receiver.requests) == 6

    assert await bot.delete_webhook()
    queued = tg.text_update(CITIZEN, "antre")
    assert await tg.deliver(queued) is None
    assert [u.update_id for u in await bot.get_updates()] == [queued["update_id"]]


async def test_privacy_mode_keeps_plain_group_chatter_from_the_bot(
    tg: TelegramStandIn, bot: Bot
) -> None:
    announcement = await bot.send_message(GROUP.id, "Aduan baru #12")
    chatter = await tg.user_says(OFFICER, "ngobrol biasa", chat=GROUP)
    command = await tg.user_says(OFFICER, "/status@aduan_test_bot", chat=GROUP)
    other_bot = await tg.user_says(OFFICER, "/status@bot_lain", chat=GROUP)
    reply = await tg.user_says(
        OFFICER, "saya tangani", chat=GROUP, reply_to=tg.last_message(GROUP.id)
    )

    updates = await bot.get_updates()

    assert [u.update_id for u in updates] == [command["update_id"], reply["update_id"]]
    replied = updates[1].message
    assert replied is not None
    assert replied.reply_to_message is not None
    assert replied.reply_to_message.message_id == announcement.message_id
    assert replied.reply_to_message.text == "Aduan baru #12"
    seen = {e.text: e.seen_by_bot for e in tg.transcript(GROUP.id) if e.sender == "user"}
    assert seen == {
        "ngobrol biasa": False,
        "/status@aduan_test_bot": True,
        "/status@bot_lain": False,
        "saya tangani": True,
    }
    assert chatter["message"]["message_id"] < other_bot["message"]["message_id"]


async def test_callback_query_answer_and_edits(tg: TelegramStandIn, bot: Bot) -> None:
    question = await bot.send_message(
        CITIZEN.id, "Kirim aduan?", reply_markup=keyboard(("Ya", "confirm:7"), ("Tidak", "no"))
    )
    recorded = tg.last_message(CITIZEN.id)
    with pytest.raises(ValueError, match="no callback button"):
        tg.callback_update(CITIZEN, recorded, "Mungkin")

    await tg.user_taps(CITIZEN, recorded, "Ya")
    updates = await bot.get_updates()
    query = updates[0].callback_query
    assert query is not None
    assert query.data == "confirm:7"
    assert query.from_user.id == CITIZEN.id
    assert query.message is not None
    assert query.message.message_id == question.message_id

    assert await bot.answer_callback_query(query.id, text="Terkirim")
    assert [(a.text, a.chat_id) for a in tg.callback_answers] == [("Terkirim", CITIZEN.id)]
    with pytest.raises(BadRequest, match=described("query is too old")):
        await bot.answer_callback_query(query.id)

    edited = await bot.edit_message_reply_markup(
        CITIZEN.id, question.message_id, reply_markup=keyboard(("Lihat", "view:7"))
    )
    assert not isinstance(edited, bool)
    assert edited.edit_date is not None
    assert recorded.keyboard == [[("Lihat", "view:7")]]
    assert tg.texts(CITIZEN.id) == ["Kirim aduan?"]
    with pytest.raises(BadRequest, match=described("message is not modified")):
        await bot.edit_message_reply_markup(
            CITIZEN.id, question.message_id, reply_markup=keyboard(("Lihat", "view:7"))
        )
    with pytest.raises(BadRequest, match=described("message to edit not found")):
        await bot.edit_message_reply_markup(CITIZEN.id, 999, reply_markup=keyboard(("A", "a")))


async def test_builders_make_updates_ptb_understands(tg: TelegramStandIn, bot: Bot) -> None:
    await bot.send_message(GROUP.id, "Aduan baru #12")
    announcement = tg.last_message(GROUP.id)
    raw = [
        tg.text_update(OFFICER, "/terima@aduan_test_bot 12", chat=GROUP, reply_to=announcement),
        tg.photo_update(CITIZEN, data=PHOTO, caption="lubang di @jalan_raya"),
        tg.document_update(CITIZEN, data=b"%PDF surat", file_name="surat.pdf"),
        tg.video_update(CITIZEN, duration=9),
        tg.voice_update(CITIZEN, duration=4),
        tg.location_update(CITIZEN, -6.2, 106.8),
        tg.contact_update(CITIZEN, "+628123456789"),
        tg.sticker_update(CITIZEN, emoji="🙏"),
    ]
    updates = [Update.de_json(u, bot) for u in raw]
    messages = [u.message for u in updates]
    assert all(m is not None for m in messages)
    command, photo, document, video, voice, location, contact, sticker = (
        m for m in messages if m is not None
    )

    assert [u.update_id for u in updates] == sorted(u.update_id for u in updates)
    assert (command.chat.id, command.chat.type, command.chat.title) == (
        GROUP.id,
        "supergroup",
        "Petugas Dinas PU",
    )
    assert command.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 22),)
    assert command.reply_to_message is not None
    assert command.reply_to_message.text == "Aduan baru #12"
    assert command.reply_to_message.from_user is not None
    assert command.reply_to_message.from_user.id == bot.id

    assert [p.width for p in photo.photo] == [90, 320, 640]
    assert photo.caption == "lubang di @jalan_raya"
    assert photo.caption_entities == (MessageEntity(MessageEntity.MENTION, 10, 11),)
    photo_file = await bot.get_file(photo.photo[-1].file_id)
    assert bytes(await photo_file.download_as_bytearray()) == PHOTO

    assert document.document is not None
    assert (document.document.file_name, document.document.mime_type) == (
        "surat.pdf",
        "application/pdf",
    )
    document_file = await bot.get_file(document.document.file_id)
    assert bytes(await document_file.download_as_bytearray()) == b"%PDF surat"
    assert video.video is not None
    assert video.video.duration == dtm.timedelta(seconds=9)
    assert voice.voice is not None
    assert voice.voice.duration == dtm.timedelta(seconds=4)
    assert location.location is not None
    assert location.location.latitude == -6.2
    assert contact.contact is not None
    assert (contact.contact.phone_number, contact.contact.user_id) == ("+628123456789", CITIZEN.id)
    assert sticker.sticker is not None
    assert sticker.sticker.emoji == "🙏"
    assert [m.message_id for m in (photo, document, video, voice)] == [1, 2, 3, 4]
    assert photo.date.tzinfo is not None


async def test_album_updates_share_a_group_and_can_arrive_out_of_order(
    tg: TelegramStandIn, bot: Bot
) -> None:
    third = png(800, 600, b"third")
    album = tg.album_updates(
        CITIZEN, [PHOTO, PHOTO_2, third], caption="tiga foto", caption_index=1, order=[2, 0, 1]
    )
    for update in album:
        await tg.deliver(update)

    updates = await bot.get_updates()
    messages = [u.message for u in updates if u.message]
    assert [m.message_id for m in messages] == [3, 1, 2]
    assert len({m.media_group_id for m in messages}) == 1
    assert [m.caption for m in messages] == [None, None, "tiga foto"]
    newest = await bot.get_file(messages[0].photo[-1].file_id)
    assert bytes(await newest.download_as_bytearray()) == third


async def test_edited_message_and_bot_removal(tg: TelegramStandIn, bot: Bot) -> None:
    original = await tg.user_says(CITIZEN, "jalan rusak")
    await tg.deliver(tg.edited_message_update(original, "jalan rusak parah"))
    await tg.deliver(tg.my_chat_member_update(CITIZEN))

    updates = await bot.get_updates()
    edited = updates[1].edited_message
    assert edited is not None
    assert (edited.message_id, edited.text) == (
        original["message"]["message_id"],
        "jalan rusak parah",
    )
    assert edited.edit_date is not None
    member = updates[2].my_chat_member
    assert member is not None
    assert (member.old_chat_member.status, member.new_chat_member.status) == ("member", "kicked")
    # The citizen blocked the bot: sending now fails as it would on Telegram.
    with pytest.raises(Forbidden):
        await bot.send_message(CITIZEN.id, "masih di sana?")


# ------------------------------------------------------------------------------- recording


async def test_transcript_and_subscription_see_both_sides(tg: TelegramStandIn, bot: Bot) -> None:
    events = tg.subscribe()

    await tg.user_says(CITIZEN, "halo")
    await bot.send_message(CITIZEN.id, "Halo juga")

    received = [events.get_nowait() for _ in range(2)]
    assert events.empty()
    assert [(e.sender, e.kind, e.text) for e in received] == [
        ("user", "text", "halo"),
        ("bot", "text", "Halo juga"),
    ]
    assert tg.transcript(CITIZEN.id) == received
    assert received[0].user == CITIZEN
    assert received[1].message is tg.last_message(CITIZEN.id)
    tg.unsubscribe(events)
    await bot.send_message(CITIZEN.id, "tidak terlihat")
    assert events.empty()


async def test_wait_for_a_count_and_a_predicate(tg: TelegramStandIn, bot: Bot) -> None:
    two = asyncio.create_task(tg.wait_for(2, chat_id=CITIZEN.id))
    done = asyncio.create_task(tg.wait_for(lambda sent: any("selesai" in m.content for m in sent)))
    await bot.send_message(CITIZEN.id, "diproses")
    await bot.send_message(GROUP.id, "aduan selesai")

    assert [m.chat_id for m in await done] == [CITIZEN.id, GROUP.id]
    assert not two.done()
    await bot.send_message(CITIZEN.id, "selesai")
    assert [m.content for m in await two] == ["diproses", "selesai"]
    found: SentMessage = await tg.wait_for_text(GROUP.id, "selesai")
    assert found.message_id == 1


async def test_wait_for_times_out_with_a_report_of_what_each_chat_got(
    tg: TelegramStandIn, bot: Bot
) -> None:
    tg.add_user(CITIZEN)
    tg.add_chat(GROUP)
    await bot.send_message(CITIZEN.id, "satu", reply_markup=keyboard(("OK", "ok")))
    await bot.send_message(GROUP.id, "untuk petugas")

    with pytest.raises(AssertionError, match=r"Timed out after 0\.05 s waiting for 2") as caught:
        await tg.wait_for(2, chat_id=CITIZEN.id, timeout=0.05)

    report = str(caught.value)
    assert f'chat {CITIZEN.id} (private "Ani Lestari"): 1' in report
    assert "#1 text: 'satu'  buttons [['OK']]" in report
    assert f'chat {GROUP.id} (supergroup "Petugas Dinas PU"): 1' in report
    assert "'untuk petugas'" in report


# ------------------------------------------------------------------------------- other clients


async def test_json_form_and_get_requests_and_case_insensitive_methods(
    tg: TelegramStandIn,
) -> None:
    api = f"{tg.base_url}/bot{TOKEN}"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{api}/SENDMESSAGE",
            json={
                "chat_id": CITIZEN.id,
                "text": "lewat JSON",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
            },
        ) as response:
            assert response.status == 200
            assert (await response.json())["result"]["text"] == "lewat JSON"
        async with session.get(f"{api}/getMe") as response:
            assert (await response.json())["result"]["username"] == "aduan_test_bot"
        async with session.post(
            f"{api}/sendMessage", data={"chat_id": str(CITIZEN.id), "text": ""}
        ) as response:
            assert response.status == 400
            assert await response.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message text is empty",
            }
        async with session.post(f"{api}/sendHologram") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found"

    assert tg.messages(CITIZEN.id)[0].keyboard == [[("A", "a")]]


# ------------------------------------------------------------------------------- chat members


async def test_who_posts_in_a_group_is_a_member(tg: TelegramStandIn, bot: Bot) -> None:
    await tg.user_says(OFFICER, "/antrian", chat=GROUP)
    await tg.user_says(CITIZEN, "halo")  # a private chat makes nobody a member of the group

    member = await bot.get_chat_member(GROUP.id, OFFICER.id)
    assert (member.status, member.user.id, member.user.first_name) == ("member", OFFICER.id, "Budi")
    assert (await bot.get_chat_member(GROUP.id, CITIZEN.id)).status == "left"
    assert tg.is_member(GROUP.id, OFFICER.id) and not tg.is_member(GROUP.id, CITIZEN.id)
    assert [c.method for c in tg.calls("get_chat_member")] == ["getChatMember"] * 2


async def test_members_are_added_and_removed_by_the_test(tg: TelegramStandIn, bot: Bot) -> None:
    tg.add_member(GROUP.id, CITIZEN)
    assert (await bot.get_chat_member(GROUP.id, CITIZEN.id)).status == "member"

    tg.remove_member(GROUP.id, CITIZEN)
    assert (await bot.get_chat_member(GROUP.id, CITIZEN.id)).status == "left"
    tg.remove_member(GROUP.id, CITIZEN, banned=True)
    banned = await bot.get_chat_member(GROUP.id, CITIZEN.id)
    assert banned.status == "kicked"
    assert tg.member_status(GROUP.id, CITIZEN.id) == "kicked"

    await tg.user_says(CITIZEN, "kembali lagi", chat=GROUP)  # posting again: back in
    assert tg.is_member(GROUP.id, CITIZEN.id)


@pytest.mark.parametrize(
    ("status", "is_member", "member"),
    [
        ("creator", True, True),
        ("administrator", True, True),
        ("member", True, True),
        ("restricted", True, True),
        ("restricted", False, False),
        ("left", False, False),
        ("kicked", False, False),
    ],
)
async def test_every_status_is_answered_as_ptb_reads_it(
    tg: TelegramStandIn, bot: Bot, status: str, is_member: bool, member: bool
) -> None:
    tg.set_member(GROUP.id, OFFICER, status, is_member=is_member)

    found = await bot.get_chat_member(GROUP.id, OFFICER.id)

    assert found.status == status
    if isinstance(found, ChatMemberRestricted):
        assert found.is_member is is_member
    assert tg.is_member(GROUP.id, OFFICER.id) is member
    # a posting member keeps their status (an administrator stays one)
    if member:
        await tg.user_says(OFFICER, "/antrian", chat=GROUP)
        assert tg.member_status(GROUP.id, OFFICER.id) == status


async def test_unknown_status_is_refused(tg: TelegramStandIn) -> None:
    with pytest.raises(ValueError, match="unknown chat member status"):
        tg.set_member(GROUP.id, OFFICER, "owner")


async def test_get_chat_member_fails_as_telegram_does(tg: TelegramStandIn, bot: Bot) -> None:
    tg.add_member(GROUP.id, OFFICER)
    with pytest.raises(BadRequest, match=described("user not found")):
        await bot.get_chat_member(GROUP.id, 987654)  # nobody the stand-in knows

    tg.block(GROUP.id)  # the bot was removed from the group
    with pytest.raises(Forbidden):
        await bot.get_chat_member(GROUP.id, OFFICER.id)
    tg.unblock(GROUP.id)

    tg.fail_next("getChatMember", status=500, description="Internal Server Error")
    with pytest.raises(NetworkError):
        await bot.get_chat_member(GROUP.id, OFFICER.id)
    assert (await bot.get_chat_member(GROUP.id, OFFICER.id)).status == "member"


async def test_members_move_with_a_migrated_group(tg: TelegramStandIn, bot: Bot) -> None:
    old = Chat.group(-4002, "Grup Lama", supergroup=False)
    tg.add_member(old.id, OFFICER)

    await tg.migrate(old.id, -1004002, by=OFFICER, deliver=False)

    with pytest.raises(ChatMigrated) as caught:
        await bot.get_chat_member(old.id, OFFICER.id)
    assert caught.value.new_chat_id == -1004002
    assert (await bot.get_chat_member(-1004002, OFFICER.id)).status == "member"


async def test_members_are_kept_with_the_conversations(tg: TelegramStandIn) -> None:
    tg.add_member(GROUP.id, OFFICER)
    saved = tg.saved()
    async with TelegramStandIn(token=TOKEN) as later:
        later.resume(saved)
        assert later.is_member(GROUP.id, OFFICER.id)
        later.forget_conversations()
        assert not later.is_member(GROUP.id, OFFICER.id)
