"""The Twilio WhatsApp stand-in, driven by the real twilio client and plain aiohttp over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.standins.twilio import (
    DEFAULT_WHATSAPP_FROM,
    CallbackAttempt,
    MediaFetch,
    StatusChange,
    TranscriptEntry,
    TwilioStandIn,
    WebhookDelivery,
    WhatsAppUser,
)

SITI = WhatsAppUser("+6281234567890", "Siti")
BUDI = WhatsAppUser("+6285711112222", "Budi")
FROM = DEFAULT_WHATSAPP_FROM
TEMPLATE = "HX" + "0123456789abcdef" * 2
START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24 + b"stand-in picture"


def credentials(tw: TwilioStandIn) -> dict[str, str]:
    """The Authorization header with the account's credentials."""
    return {"Authorization": aiohttp.encode_basic_auth(tw.account_sid, tw.auth_token)}


# --------------------------------------------------------------------------------------------
# Fixtures: the stand-in, a twilio client pointed at it, and a tiny "bot" receiving webhooks
# --------------------------------------------------------------------------------------------


@dataclass
class Received:
    url: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class Receiver:
    """A tiny aiohttp server recording the form POSTs it gets (webhooks, status callbacks)."""

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: deque[int] = field(default_factory=deque)
    reply: str = ""
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.url.endswith(path)]

    async def handle_post(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.requests.append(
            Received(
                str(request.url),
                {k: str(v) for k, v in form.items()},
                dict(request.headers),
            )
        )
        status = self.answers.popleft() if self.answers else 200
        if self.reply and status == 200:
            return web.Response(text=self.reply, content_type="text/xml")
        return web.Response(status=status)

    async def handle_get(self, request: web.Request) -> web.Response:
        found = self.files.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(body=found[0], content_type=found[1])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle_post)
    app.router.add_get("/files/{name}", rec.handle_get)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield rec
    finally:
        await runner.cleanup()


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def tw(receiver: Receiver) -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn(clock=Clock()) as standin:
        standin.configure_webhooks(
            f"{receiver.base_url}/webhook/whatsapp", f"{receiver.base_url}/webhook/status"
        )
        standin.register_template(TEMPLATE, "Aduan {{1}} sudah ditindaklanjuti: {{2}}")
        yield standin


def make_client(tw: TwilioStandIn, http: AsyncTwilioHttpClient, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"username": tw.account_sid, "password": tw.auth_token}
    options.update(kwargs)
    client = Client(http_client=http, **options)
    client.api.base_url = tw.base_url
    return client


@pytest.fixture
async def http(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncTwilioHttpClient]:
    # The twilio Client reads these from os.environ and would rewrite the host name.
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    client = AsyncTwilioHttpClient()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def client(tw: TwilioStandIn, http: AsyncTwilioHttpClient) -> Any:
    return make_client(tw, http)


async def send(client: Any, to: WhatsAppUser, **kwargs: Any) -> Any:
    return await client.messages.create_async(to=to.address, from_=FROM, **kwargs)


def validator(tw: TwilioStandIn) -> RequestValidator:
    return RequestValidator(tw.auth_token)


# --------------------------------------------------------------------------------------------
# The Messages API with the real client
# --------------------------------------------------------------------------------------------


async def test_text_message_is_created_and_recorded(tw: TwilioStandIn, client: Any) -> None:
    tw.set_last_inbound(SITI, tw.now())
    message = await send(client, SITI, body="Halo Siti, aduan Anda kami terima.")

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.to == SITI.address and message.from_ == FROM
    assert message.body == "Halo Siti, aduan Anda kami terima."
    assert message.error_code is None
    assert message.date_created == START
    assert message.uri.endswith(f"/Messages/{message.sid}.json")
    sent = tw.message(message.sid)
    assert sent.number == SITI.number and sent.via == "api"
    assert tw.bodies(SITI) == ["Halo Siti, aduan Anda kami terima."]
    assert tw.messages(BUDI) == []
    assert tw.api_calls[-1].status == 201


async def test_media_urls_are_sent_as_repeated_parameters(tw: TwilioStandIn, client: Any) -> None:
    urls = ["http://127.0.0.1:9/files/a.jpg", "http://127.0.0.1:9/files/b.pdf"]
    message = await send(client, SITI, body="Foto bukti", media_url=urls)

    assert message.sid.startswith("MM") and message.num_media == "2"
    sent = tw.message(message.sid)
    assert sent.media_urls == tuple(urls)
    assert tw.api_calls[-1].params["MediaUrl"] == urls


async def test_template_message_is_rendered(tw: TwilioStandIn, client: Any) -> None:
    message = await send(
        client,
        SITI,
        content_sid=TEMPLATE,
        content_variables=json.dumps({"1": "ADU-7K3Q", "2": "jalan sudah ditambal"}),
    )

    sent = tw.message(message.sid)
    assert sent.content_variables == {"1": "ADU-7K3Q", "2": "jalan sudah ditambal"}
    assert sent.rendered == "Aduan ADU-7K3Q sudah ditindaklanjuti: jalan sudah ditambal"
    assert tw.bodies(SITI) == [sent.rendered]
    assert message.body == sent.rendered
    assert tw.transcript(SITI)[-1].kind == "template"


async def test_wrong_auth_token_is_401(tw: TwilioStandIn, http: AsyncTwilioHttpClient) -> None:
    client = make_client(tw, http, password="not-the-token")
    with pytest.raises(TwilioRestException) as caught:
        await send(client, SITI, body="x")
    assert caught.value.status == 401
    assert caught.value.code == 20003
    assert tw.messages() == []


async def test_other_account_in_the_path_is_404(
    tw: TwilioStandIn, http: AsyncTwilioHttpClient
) -> None:
    client = make_client(tw, http, account_sid="AC" + "1" * 32)
    with pytest.raises(TwilioRestException) as caught:
        await send(client, SITI, body="x")
    assert (caught.value.status, caught.value.code) == (404, 20404)


async def test_twilio_error_shape_without_the_client(tw: TwilioStandIn) -> None:
    url = f"{tw.base_url}/2010-04-01/Accounts/{tw.account_sid}/Messages.json"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data={"To": SITI.address}) as response,
    ):
        assert response.status == 401
        body = await response.json()
    assert body == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"body": "x" * 1601}, 21617),
        ({}, 21619),
        ({"body": "x", "from_": "whatsapp:+628111111111"}, 63007),
        ({"body": "x", "to": "+6281234567890"}, 21910),
        ({"body": "x", "to": "whatsapp:0812345"}, 21211),
        ({"content_sid": "HX" + "f" * 32}, 21655),
        ({"content_sid": TEMPLATE, "content_variables": "{not json"}, 21656),
        ({"content_sid": TEMPLATE, "content_variables": '{"1": "a\\nb"}'}, 21656),
        ({"content_sid": TEMPLATE, "content_variables": '{"1": ""}'}, 21656),
        # A dict instead of a JSON string: twilio-python form-encodes its keys.
        ({"content_sid": TEMPLATE, "content_variables": {"1": "a", "2": "b"}}, 21656),
        ({"body": "x", "content_variables": '{"1": "a"}'}, 21654),
    ],
)
async def test_invalid_messages_are_refused_as_twilio_does(
    tw: TwilioStandIn, client: Any, kwargs: dict[str, Any], code: int
) -> None:
    options: dict[str, Any] = {"to": SITI.address, "from_": FROM, **kwargs}
    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(**options)
    assert (caught.value.status, caught.value.code) == (400, code)
    assert tw.messages() == []
    assert tw.api_calls[-1].code == code


async def test_body_of_exactly_1600_characters_is_accepted(tw: TwilioStandIn, client: Any) -> None:
    message = await send(client, SITI, body="x" * 1600)
    assert tw.message(message.sid).body == "x" * 1600


async def test_injected_429_is_raised_and_counted(tw: TwilioStandIn, client: Any) -> None:
    tw.fail_next(status=429)
    with pytest.raises(TwilioRestException) as caught:
        await send(client, SITI, body="first")
    assert (caught.value.status, caught.value.code) == (429, 20429)
    assert tw.too_many_requests == 1
    assert tw.messages() == []

    await send(client, SITI, body="second")
    assert tw.bodies() == ["second"]


async def test_injected_fault_can_target_one_number(tw: TwilioStandIn, client: Any) -> None:
    tw.fail_next(status=503, to=BUDI, times=2)
    await send(client, SITI, body="to Siti")
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            await send(client, BUDI, body="to Budi")
        assert (caught.value.status, caught.value.code) == (503, 20503)
    await send(client, BUDI, body="to Budi")
    assert tw.bodies() == ["to Siti", "to Budi"]


async def test_rate_limit_per_sender(http: AsyncTwilioHttpClient) -> None:
    now = [100.0]
    async with TwilioStandIn(enforce_rate=2, rate_clock=lambda: now[0]) as tw:
        client = make_client(tw, http)
        await send(client, SITI, body="1")
        await send(client, SITI, body="2")
        with pytest.raises(TwilioRestException) as caught:
            await send(client, SITI, body="3")
        assert (caught.value.status, caught.value.code) == (429, 20429)
        now[0] += 1.0
        await send(client, SITI, body="3 again")
        assert tw.bodies() == ["1", "2", "3 again"]
        assert tw.too_many_requests == 1


async def test_delayed_answer_still_creates_the_message(tw: TwilioStandIn, client: Any) -> None:
    tw.delay(0.2, times=1)
    # AsyncTwilioHttpClient(timeout=...) is ignored by its request(): bound the call instead.
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await send(client, SITI, body="slow")
    await tw.wait_for(1, to=SITI)  # the slow call still took effect
    await send(client, SITI, body="fast")
    assert tw.bodies(SITI) == ["slow", "fast"]
    await tw.callbacks_settled()
    assert tw.messages(SITI)[0].status == "failed"  # Siti never wrote: outside the window


# --------------------------------------------------------------------------------------------
# Status callbacks and the 24-hour window
# --------------------------------------------------------------------------------------------


async def test_status_callbacks_arrive_in_order_and_signed(
    tw: TwilioStandIn, client: Any, receiver: Receiver
) -> None:
    tw.set_last_inbound(SITI, tw.now() - timedelta(hours=23))
    callback = f"{receiver.base_url}/webhook/status?case=ADU-1"
    message = await send(client, SITI, body="Terima kasih", status_callback=callback)
    await tw.callbacks_settled()

    posts = receiver.at("/webhook/status?case=ADU-1")
    assert [p.params["MessageStatus"] for p in posts] == ["sent", "delivered"]
    for post in posts:
        assert post.url == callback
        assert post.params["MessageSid"] == message.sid
        assert post.params["AccountSid"] == tw.account_sid
        assert post.params["To"] == SITI.address and post.params["From"] == FROM
        assert post.params["ApiVersion"] == "2010-04-01"
        assert "ErrorCode" not in post.params
        signature = post.headers["X-Twilio-Signature"]
        assert validator(tw).validate(post.url, post.params, signature)
    assert tw.message(message.sid).status_history == ["queued", "sent", "delivered"]

    assert tw.mark_read(message.sid) == [tw.message(message.sid)]
    await tw.callbacks_settled()
    assert [p.params["MessageStatus"] for p in receiver.at("case=ADU-1")] == [
        "sent",
        "delivered",
        "read",
    ]
    assert tw.mark_read(message.sid) == []


async def test_status_url_is_used_without_a_status_callback(
    tw: TwilioStandIn, client: Any, receiver: Receiver
) -> None:
    tw.set_last_inbound(SITI, tw.now())
    await send(client, SITI, body="x")
    await tw.callbacks_settled()
    assert [p.params["MessageStatus"] for p in receiver.at("/webhook/status")] == [
        "sent",
        "delivered",
    ]


async def test_free_form_outside_the_window_fails_but_a_template_is_delivered(
    tw: TwilioStandIn, client: Any, receiver: Receiver
) -> None:
    tw.set_last_inbound(SITI, tw.now() - timedelta(hours=24, seconds=1))
    late = await send(client, SITI, body="Tindak lanjut aduan Anda")
    template = await send(
        client, SITI, content_sid=TEMPLATE, content_variables='{"1": "ADU-1", "2": "selesai"}'
    )
    assert late.status == "queued"  # accepted (201) as Twilio does
    await tw.callbacks_settled()

    by_sid: dict[str, list[dict[str, str]]] = {}
    for post in receiver.at("/webhook/status"):
        by_sid.setdefault(post.params["MessageSid"], []).append(post.params)
    assert [p["MessageStatus"] for p in by_sid[late.sid]] == ["failed"]
    assert by_sid[late.sid][0]["ErrorCode"] == "63016"
    assert "outside the allowed window" in by_sid[late.sid][0]["ErrorMessage"]
    assert [p["MessageStatus"] for p in by_sid[template.sid]] == ["sent", "delivered"]
    assert tw.message(late.sid).error_code == 63016
    assert tw.mark_read(late.sid) == []


async def test_a_message_from_the_person_reopens_the_window(tw: TwilioStandIn, client: Any) -> None:
    assert not tw.window_open(SITI)  # never wrote
    await tw.user_says(SITI, "halo")
    assert tw.window_open(SITI)
    first = await send(client, SITI, body="Halo juga")
    tw.advance(timedelta(hours=24))
    assert tw.window_open(SITI)  # exactly 24 h: still open
    tw.advance(timedelta(seconds=1))
    second = await send(client, SITI, body="Masih di sana?")
    await tw.callbacks_settled()
    assert tw.message(first.sid).status == "delivered"
    assert tw.message(second.sid).status == "failed"
    assert tw.message(second.sid).error_code == 63016


async def test_fail_delivery_reports_the_code(
    tw: TwilioStandIn, client: Any, receiver: Receiver
) -> None:
    tw.set_last_inbound(SITI, tw.now())
    tw.fail_delivery(SITI, code=63024, status="undelivered")
    bad = await send(client, SITI, body="1")
    good = await send(client, SITI, body="2")
    await tw.callbacks_settled()
    assert tw.message(bad.sid).status_history == ["queued", "sent", "undelivered"]
    assert tw.message(bad.sid).error_code == 63024
    last = [p for p in receiver.at("/webhook/status") if p.params["MessageSid"] == bad.sid][-1]
    assert (last.params["MessageStatus"], last.params["ErrorCode"]) == ("undelivered", "63024")
    assert tw.message(good.sid).status == "delivered"


async def test_template_with_a_missing_variable_fails_asynchronously(
    tw: TwilioStandIn, client: Any
) -> None:
    message = await send(client, SITI, content_sid=TEMPLATE, content_variables='{"1": "ADU-1"}')
    await tw.callbacks_settled()
    assert tw.message(message.sid).error_code == 63028


async def test_failed_callbacks_are_retried_and_recorded(
    tw: TwilioStandIn, client: Any, receiver: Receiver
) -> None:
    tw.set_last_inbound(SITI, tw.now())
    receiver.answers.extend([500, 502])
    message = await send(client, SITI, body="x")
    await tw.callbacks_settled()

    attempts = [(c.message_status, c.attempt, c.http_status) for c in tw.callbacks(message.sid)]
    assert attempts == [("sent", 1, 500), ("sent", 2, 502), ("sent", 3, 200), ("delivered", 1, 200)]
    posts = receiver.at("/webhook/status")
    tokens = {p.headers["I-Twilio-Idempotency-Token"] for p in posts[:3]}
    assert len(tokens) == 1  # retries carry the same idempotency token


async def test_unreachable_callback_is_recorded_not_raised(tw: TwilioStandIn, client: Any) -> None:
    tw.set_last_inbound(SITI, tw.now())
    tw.callback_attempts = 1
    message = await send(client, SITI, body="x", status_callback="https://example.com/status")
    await tw.callbacks_settled()
    attempts = tw.callbacks(message.sid)
    assert [a.http_status for a in attempts] == [0, 0]
    assert attempts[0].error is not None and "non-loopback" in attempts[0].error
    assert tw.message(message.sid).status == "delivered"


# --------------------------------------------------------------------------------------------
# Simulated people: webhooks
# --------------------------------------------------------------------------------------------


async def test_inbound_text_is_posted_as_twilio_posts_it(
    tw: TwilioStandIn, receiver: Receiver
) -> None:
    params = await tw.user_says(SITI, "Lampu jalan mati di Jl. Merdeka")

    [post] = receiver.at("/webhook/whatsapp")
    assert post.params == params
    assert post.params["From"] == "whatsapp:+6281234567890"
    assert post.params["To"] == FROM
    assert post.params["WaId"] == "6281234567890"
    assert post.params["ProfileName"] == "Siti"
    assert post.params["Body"] == "Lampu jalan mati di Jl. Merdeka"
    assert post.params["NumMedia"] == "0"
    assert post.params["SmsStatus"] == "received"
    assert post.params["MessageSid"].startswith("SM")
    assert post.params["SmsMessageSid"] == post.params["SmsSid"] == post.params["MessageSid"]
    assert "MessagingServiceSid" not in post.params
    assert "ChannelMetadata" in post.params  # an extra parameter a webhook must tolerate
    assert post.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert validator(tw).validate(post.url, post.params, post.headers["X-Twilio-Signature"])
    assert tw.deliveries[-1].genuine and tw.deliveries[-1].http_status == 200


async def test_signature_matches_twilio_algorithm(tw: TwilioStandIn) -> None:
    url = "https://aduan.example.go.id/webhook/whatsapp"
    params = tw.text(SITI, "halo")
    signature = tw.sign(url, params)
    assert validator(tw).validate(url, params, signature)
    assert not validator(tw).validate(url + "x", params, signature)
    assert not RequestValidator("other-token").validate(url, params, signature)


async def test_forged_and_missing_signatures(tw: TwilioStandIn, receiver: Receiver) -> None:
    params = tw.text(SITI, "palsu")
    assert await tw.deliver(params, signature="forged") == 200
    assert await tw.deliver(params, signed=False) == 200
    forged, unsigned = receiver.at("/webhook/whatsapp")
    assert forged.headers["X-Twilio-Signature"] == "forged"
    assert not validator(tw).validate(forged.url, forged.params, "forged")
    assert "X-Twilio-Signature" not in unsigned.headers
    # A forgery is not the person writing.
    assert not tw.window_open(SITI)
    assert tw.transcript(SITI) == []
    assert [d.genuine for d in tw.deliveries] == [False, False]


async def test_duplicate_delivery_posts_twice_but_transcribes_once(
    tw: TwilioStandIn, receiver: Receiver
) -> None:
    params = tw.text(SITI, "sekali saja")
    receiver.answers.append(500)
    assert await tw.deliver(params) == 500
    assert await tw.deliver(params) == 200
    first, second = receiver.at("/webhook/whatsapp")
    assert first.params == second.params
    assert (
        first.headers["I-Twilio-Idempotency-Token"] == second.headers["I-Twilio-Idempotency-Token"]
    )
    assert [e.text for e in tw.transcript(SITI)] == ["sekali saja"]


async def test_location_and_button_parameters(tw: TwilioStandIn, receiver: Receiver) -> None:
    await tw.user_shares_location(SITI, -6.2, 106.816666, "Jl. Merdeka 1", "Kantor Camat")
    sent = await tw.user_taps(SITI, "Sudah selesai", "CASE_DONE:ADU-1", reply_to="SM" + "a" * 32)
    location, button = receiver.at("/webhook/whatsapp")
    assert location.params["Latitude"] == "-6.2"
    assert location.params["Longitude"] == "106.816666"
    assert location.params["Address"] == "Jl. Merdeka 1"
    assert location.params["Label"] == "Kantor Camat"
    assert location.params["Body"] == ""
    assert button.params["ButtonText"] == "Sudah selesai" == button.params["Body"]
    assert button.params["ButtonPayload"] == "CASE_DONE:ADU-1"
    assert button.params["OriginalRepliedMessageSid"] == "SM" + "a" * 32
    assert sent == button.params
    kinds = [(e.kind, e.text) for e in tw.transcript(SITI)]
    assert kinds == [
        ("location", "location -6.2, 106.816666 (Kantor Camat, Jl. Merdeka 1)"),
        ("button", "Sudah selesai [CASE_DONE:ADU-1]"),
    ]


async def test_twiml_replies_are_recorded_as_sent(tw: TwilioStandIn, receiver: Receiver) -> None:
    receiver.reply = "<Response><Message><Body>Aduan diterima</Body></Message></Response>"
    await tw.user_says(SITI, "halo")
    assert tw.bodies(SITI) == ["Aduan diterima"]
    assert tw.messages(SITI)[0].via == "twiml"
    assert tw.deliveries[-1].twiml_messages == 1
    await tw.callbacks_settled()
    assert tw.messages(SITI)[0].status == "delivered"


async def test_forward_to_stands_for_a_tls_proxy(receiver: Receiver) -> None:
    async with TwilioStandIn() as tw:
        public = "https://aduan.example.go.id/webhook/whatsapp"
        tw.configure_webhooks(public, forward_to=receiver.base_url)
        params = await tw.user_says(SITI, "halo")
    [post] = receiver.requests
    assert post.url == f"{receiver.base_url}/webhook/whatsapp"
    assert post.headers["X-Forwarded-Proto"] == "https"
    assert post.headers["X-Forwarded-Host"] == "aduan.example.go.id"
    signature = post.headers["X-Twilio-Signature"]
    assert RequestValidator(tw.auth_token).validate(public, params, signature)
    assert not RequestValidator(tw.auth_token).validate(post.url, params, signature)


async def test_non_loopback_webhook_is_refused() -> None:
    async with TwilioStandIn() as tw:
        tw.configure_webhooks("https://example.com/webhook/whatsapp")
        with pytest.raises(RuntimeError, match="non-loopback"):
            await tw.user_says(SITI, "halo")
        assert not tw.window_open(SITI) and tw.transcript() == []
    with pytest.raises(ValueError, match="loopback"):
        await TwilioStandIn().start(host="0.0.0.0")


# --------------------------------------------------------------------------------------------
# Media hosting
# --------------------------------------------------------------------------------------------


async def test_media_needs_credentials_and_the_cdn_refuses_them(
    tw: TwilioStandIn, receiver: Receiver
) -> None:
    params = await tw.user_sends_media(SITI, [(PNG, "image/png")], body="jalan berlubang")
    assert params["MessageSid"].startswith("MM")
    assert params["NumMedia"] == "1" and params["MediaContentType0"] == "image/png"
    assert params["MessageType"] == "image"
    url = params["MediaUrl0"]
    assert url.startswith(f"{tw.base_url}/2010-04-01/Accounts/{tw.account_sid}/Messages/")
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            assert response.status == 401
        async with session.get(url, headers=credentials(tw), allow_redirects=False) as response:
            assert response.status == 307
            location = response.headers["Location"]
        assert location.startswith(tw.cdn_base_url)
        assert tw.account_sid in location
        async with session.get(location) as response:  # no credentials: the right way
            assert response.status == 200
            assert response.content_type == "image/png"
            assert await response.read() == PNG
        assert tw.credentials_sent_to_cdn == 0

        forwarded = credentials(tw)
        async with session.get(location, headers=forwarded) as response:  # the mistake
            assert response.status == 400
            assert "Only one auth mechanism allowed" in await response.text()
    assert tw.credentials_sent_to_cdn == 1
    statuses = [(f.host, f.http_status, f.with_credentials) for f in tw.media_fetches]
    assert statuses == [
        ("api", 401, False),
        ("api", 307, True),
        ("cdn", 200, False),
        ("cdn", 400, True),
    ]
    assert tw.inbound_media()[0].data == PNG


async def test_aiohttp_drops_request_credentials_on_the_redirect_but_not_session_auth(
    tw: TwilioStandIn,
) -> None:
    url = tw.media(SITI, [(b"%PDF-1.4", "application/pdf")])["MediaUrl0"]
    # An Authorization header of the request is dropped on a cross-origin redirect...
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=credentials(tw)) as response,
    ):
        assert response.status == 200
        assert await response.read() == b"%PDF-1.4"
    # ...and so is one among the session's default headers.
    async with (
        aiohttp.ClientSession(headers=credentials(tw)) as session,
        session.get(url) as response,
    ):
        assert response.status == 200
    assert tw.credentials_sent_to_cdn == 0
    with pytest.warns(DeprecationWarning, match="deprecated"):
        session = aiohttp.ClientSession(auth=aiohttp.BasicAuth(tw.account_sid, tw.auth_token))
    async with session, session.get(url) as response:
        assert response.status == 400  # but session-wide auth= is sent to the CDN too
    assert tw.credentials_sent_to_cdn == 1


async def test_unknown_media(tw: TwilioStandIn) -> None:
    url = tw.media(SITI, [(PNG, "image/png")])["MediaUrl0"]
    async with (
        aiohttp.ClientSession(headers=credentials(tw)) as session,
        session.get(url[:-4] + "0000") as response,
    ):
        assert response.status == 404
        assert (await response.json())["code"] == 20404


async def test_album_is_one_message_per_file(tw: TwilioStandIn) -> None:
    first, second = tw.album(SITI, [(PNG, "image/png"), (b"v", "video/mp4")], "dua foto")
    assert first["Body"] == "dua foto" and second["Body"] == ""
    assert second["MessageType"] == "video"
    assert first["MessageSid"] != second["MessageSid"]


async def test_outbound_media_is_recorded_and_can_be_fetched(
    tw: TwilioStandIn, client: Any, receiver: Receiver
) -> None:
    receiver.files["bukti.png"] = (PNG, "image/png")
    url = f"{receiver.base_url}/files/bukti.png"
    message = await send(client, SITI, media_url=[url])
    assert tw.message(message.sid).media_urls == (url,)
    assert await tw.fetch_media(url) == (PNG, "image/png")


async def test_fetch_outbound_media_fails_the_message_on_a_broken_url(
    client: Any, tw: TwilioStandIn, receiver: Receiver
) -> None:
    tw.fetch_outbound_media = True
    tw.set_last_inbound(SITI, tw.now())
    receiver.files["ok.png"] = (PNG, "image/png")
    ok = await send(client, SITI, media_url=[f"{receiver.base_url}/files/ok.png"])
    broken = await send(client, SITI, media_url=[f"{receiver.base_url}/files/missing.png"])
    await tw.callbacks_settled()
    assert tw.message(ok.sid).status == "delivered"
    assert tw.message(ok.sid).media == [(PNG, "image/png")]
    assert tw.message(broken.sid).status == "failed"
    assert tw.message(broken.sid).error_code == 63019


# --------------------------------------------------------------------------------------------
# Waiting, reporting, events, instances
# --------------------------------------------------------------------------------------------


async def test_wait_for_returns_when_the_bot_has_sent(tw: TwilioStandIn, client: Any) -> None:
    waiter = asyncio.create_task(tw.wait_for(2, to=SITI))
    await send(client, SITI, body="satu")
    assert not waiter.done()
    await send(client, SITI, body="dua")
    messages = await waiter
    assert [m.body for m in messages] == ["satu", "dua"]
    found = await tw.wait_for_text(SITI, "du")
    assert found.body == "dua"
    failed = await tw.wait_for_status(found.sid, "failed")  # Siti never wrote: no window
    assert failed.error_code == 63016


async def test_wait_for_timeout_reports_what_each_number_received(
    tw: TwilioStandIn, client: Any
) -> None:
    await tw.user_says(BUDI, "halo")
    await send(client, BUDI, body="Halo Budi")
    with pytest.raises(AssertionError) as caught:
        await tw.wait_for(1, to=SITI, timeout=0.05, what="a greeting")
    report = str(caught.value)
    assert "a greeting to +6281234567890" in report
    assert "+6285711112222 (Budi): 1" in report
    assert "'Halo Budi'" in report
    assert "+6281234567890 (Siti): nothing" in report
    assert "text 'halo'" in report


async def test_subscribe_streams_every_event(tw: TwilioStandIn, client: Any) -> None:
    queue = tw.subscribe()
    await tw.user_says(SITI, "halo")
    await send(client, SITI, body="Halo Siti")
    await tw.callbacks_settled()
    tw.unsubscribe(queue)
    events = [queue.get_nowait() for _ in range(queue.qsize())]
    kinds = [type(e).__name__ for e in events]
    assert kinds[:2] == ["TranscriptEntry", "WebhookDelivery"]
    entries = [e for e in events if isinstance(e, TranscriptEntry)]
    assert [(e.sender, e.text) for e in entries] == [("user", "halo"), ("bot", "Halo Siti")]
    changes = [e.status for e in events if isinstance(e, StatusChange)]
    assert changes == ["queued", "sent", "delivered"]
    assert all(
        isinstance(e, CallbackAttempt) and e.ok for e in events if isinstance(e, CallbackAttempt)
    )
    assert not any(isinstance(e, MediaFetch) for e in events)
    assert any(isinstance(e, WebhookDelivery) for e in events)
    assert [e.sender for e in tw.transcript(SITI)] == ["user", "bot"]


async def test_instances_are_independent(http: AsyncTwilioHttpClient) -> None:
    async with (
        TwilioStandIn() as one,
        TwilioStandIn("AC" + "2" * 32, "token-two", "whatsapp:+6221500000") as two,
    ):
        assert one.base_url != two.base_url
        await send(make_client(one, http), SITI, body="satu")
        assert one.bodies() == ["satu"] and two.bodies() == []
        client_two = make_client(two, http)
        await client_two.messages.create_async(to=SITI.address, from_=two.whatsapp_from, body="dua")
        assert two.bodies() == ["dua"] and one.bodies() == ["satu"]
