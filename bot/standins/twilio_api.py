"""A local stand-in of Twilio's WhatsApp messaging, for the end-to-end tests and the playground.

`TwilioStandIn` is a real aiohttp server that answers the parts of Twilio's REST API that
aduanbot uses closely enough that the official ``twilio`` client works against it unchanged,
hosts the media that simulated people send (behind a second server standing in for Twilio's
CDN), and plays Twilio's side of the webhooks: people writing to the business, and status
callbacks for what the bot sent::

    async with TwilioStandIn() as tw:
        http = AsyncTwilioHttpClient()
        client = Client(tw.account_sid, tw.auth_token, http_client=http)
        client.api.base_url = tw.base_url  # the value for TWILIO_API_BASE_URL
        tw.configure_webhooks(PUBLIC_BASE_URL + "/webhook/whatsapp")
        siti = WhatsAppUser("+6281234567890", "Siti")
        await tw.user_says(siti, "Jalan rusak di depan pasar")  # a signed webhook POST
        await tw.wait_for(1, to=siti)  # the bot answered through the Messages API
        assert "ADU-" in tw.bodies(siti)[0]
        await http.close()

Everything lives in memory and belongs to one instance (several can run in one process):
what the bot sent (`messages`, `bodies`, `wait_for`), the status of each message, every
status callback and webhook POST, every media fetch, and a per-number `transcript` that also
holds what the simulated people wrote (`subscribe` streams it all). Nothing leaves the
machine: the servers listen on loopback only and webhooks, callbacks and media fetches go
to loopback addresses only, unless ``allow_remote_urls`` is set.

What it checks, as Twilio does:

* HTTP basic auth with the account SID and auth token (401, code 20003); another account in
  the path answers 404 (20404).
* ``To``/``From`` are ``whatsapp:+E164``; ``From`` is the configured sender (63007); ``Body``
  is at most 1,600 characters (21617); there is a ``Body``, a ``MediaUrl`` or a
  ``ContentSid`` (21619); the ``ContentSid`` is a registered template (21655) and
  ``ContentVariables`` is a JSON object of non-empty strings without newlines, tabs or runs of
  more than four spaces, as WhatsApp requires (21656).
* The 24-hour customer-service window: a free-form message (no ``ContentSid``) to a number
  that has not written for more than 24 hours, on the stand-in's own controllable clock, is
  accepted (201) and then fails with error 63016 in its status callback. Templates are
  always delivered.
* Media URLs need basic auth and answer 307 to the CDN, which refuses (400) any request that
  carries an ``Authorization`` header, as the S3 buckets behind Twilio's media URLs do.

Notes on the official client (twilio 9.x with aiohttp 3.14): it sends form-encoded
parameters (``MediaUrl`` repeated, booleans as ``"true"``, and a ``content_variables`` dict
as its *keys*: pass ``json.dumps(...)``) and raises ``TwilioRestException`` with ``status``
and ``code`` for any non-2xx answer. ``AsyncTwilioHttpClient(timeout=...)`` is not applied to
requests (bound the call with ``asyncio.timeout``), ``max_retries`` retries POSTs on 5xx
(duplicate messages), and the client reads ``TWILIO_EDGE``/``TWILIO_REGION`` from the
environment, which would rewrite the stand-in's host name. It passes
``auth=aiohttp.BasicAuth(...)``, deprecated since aiohttp 3.14 (two ``DeprecationWarning``s
per request).

Where it differs from Twilio: status callbacks are retried on a non-2xx answer (Twilio only
retries when the URL carries connection overrides such as ``#rc=``); the 63016 failure
arrives as a single ``failed`` callback; ``queued`` is recorded but not posted; message
prices are null; CDN links do not expire.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.utils
import json
import logging
import re
import secrets
import time
import xml.etree.ElementTree as ElementTree
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import hdrs, web
from twilio.request_validator import RequestValidator

from bot.standins.recording import (
    Recording,
    Resumable,
    StandInServer,
    is_loopback_host,
    serve,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_WHATSAPP_FROM",
    "ERROR_MESSAGES",
    "MAX_BODY_LENGTH",
    "SESSION_WINDOW",
    "ApiCall",
    "CallbackAttempt",
    "Event",
    "InboundMedia",
    "MediaFetch",
    "MediaFetchError",
    "SentMessage",
    "StatusChange",
    "TranscriptEntry",
    "TwilioStandIn",
    "WebhookDelivery",
    "WhatsAppUser",
]

_LOG = logging.getLogger(__name__)

JSONDict = dict[str, Any]

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "ACdeadbeefdeadbeefdeadbeefdeadbeef"
DEFAULT_AUTH_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
DEFAULT_WHATSAPP_FROM = "whatsapp:+14155238886"
MAX_BODY_LENGTH = 1600
MAX_MEDIA_URLS = 10
SESSION_WINDOW = timedelta(hours=24)
"""How long after a person's last message free-form messages to them are delivered."""
WEBHOOK_TIMEOUT = 15.0
"""Seconds Twilio waits for a webhook or status callback answer."""

ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number",
    21212: "Invalid 'From' Phone Number",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21619: "A text message body or media urls must be specified.",
    21623: "Too many media urls; the maximum is 10.",
    21654: "ContentSid Required",
    21655: "The ContentSid is Invalid",
    21656: "The ContentVariables Parameter is invalid",
    21910: "Invalid From and To pair. From and To should be of the same channel",
    63003: "Channel could not find To address",
    63007: "Twilio could not find a Channel with the specified From address",
    63016: (
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template."
    ),
    63019: "Media failed to download",
    63024: "Invalid message recipient",
    63028: "Number of parameters provided does not match the expected number of parameters",
}
"""Twilio's messages for the error codes the stand-in produces (or that tests inject)."""

_DEFAULT_CODE_BY_STATUS = {400: 21211, 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}
_ADDRESS_RE = re.compile(r"whatsapp:(\+[1-9][0-9]{6,14})")
_E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")
_ACCOUNT_SID_RE = re.compile(r"AC[0-9a-f]{32}")
_CONTENT_SID_RE = re.compile(r"HX[0-9a-fA-F]{32}")
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([0-9A-Za-z_]+)\s*\}\}")
_BAD_VARIABLE_RE = re.compile(r"[\n\t]| {5,}")

MessageStatus = Literal["queued", "sent", "delivered", "read", "failed", "undelivered"]


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhatsAppUser:
    """A simulated WhatsApp user: an E.164 number (``+62...``) and a profile name."""

    number: str = "+6281234567890"
    profile_name: str = "Siti"

    def __post_init__(self) -> None:
        if not _E164_RE.fullmatch(self.number):
            raise ValueError(
                f"a WhatsApp number is +E.164 (like +6281234567890), not {self.number!r}"
            )

    @property
    def address(self) -> str:
        """``whatsapp:+62...``, as in Twilio's ``From``/``To``."""
        return f"whatsapp:{self.number}"

    @property
    def wa_id(self) -> str:
        """The WhatsApp id Twilio posts as ``WaId``: the number without ``+``."""
        return self.number.removeprefix("+")


# --------------------------------------------------------------------------------------------
# What gets recorded
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    """A message reached `status` (``error_code`` set for ``failed``/``undelivered``)."""

    message_sid: str
    number: str
    status: MessageStatus
    at: datetime
    error_code: int | None = None
    error_message: str | None = None


@dataclass
class SentMessage:
    """A message the bot sent (through the Messages API, or as a TwiML reply).

    `to`/`from_` are ``whatsapp:+...`` addresses, `number` the recipient's ``+...``.
    `content_variables` is the parsed ``ContentVariables``; `rendered` the template's text
    with them filled in. `status` is the latest status and `statuses` its history, starting
    with ``queued``. `media` holds what the stand-in downloaded from `media_urls` when
    ``fetch_outbound_media`` is on.
    """

    sid: str
    to: str
    from_: str
    body: str | None
    media_urls: tuple[str, ...]
    content_sid: str | None
    content_variables: dict[str, str]
    status_callback: str | None
    rendered: str | None
    date_created: datetime
    via: Literal["api", "twiml"] = "api"
    status: MessageStatus = "queued"
    error_code: int | None = None
    error_message: str | None = None
    statuses: list[StatusChange] = field(default_factory=list)
    media: list[tuple[bytes, str]] = field(default_factory=list, repr=False)
    params: dict[str, str | list[str]] = field(default_factory=dict, repr=False)

    @property
    def number(self) -> str:
        return self.to.removeprefix("whatsapp:")

    @property
    def text(self) -> str:
        """What the person reads: the template's rendered text, else the body, else ``""``."""
        if self.rendered is not None:
            return self.rendered
        return self.body or ""

    @property
    def is_template(self) -> bool:
        return self.content_sid is not None

    @property
    def status_history(self) -> list[str]:
        """The statuses in order, e.g. ``["queued", "sent", "delivered"]``."""
        return [change.status for change in self.statuses]


@dataclass(frozen=True)
class InboundMedia:
    """A file a simulated person sent, hosted behind `url` (the ``MediaUrl{N}`` Twilio posts)."""

    message_sid: str
    media_sid: str
    content_type: str
    data: bytes = field(repr=False)
    url: str


@dataclass(frozen=True)
class TranscriptEntry:
    """One message in a conversation, in order: the playground's chat view.

    `sender` is ``"user"`` for what a simulated person sent (recorded the first time it is
    delivered) and ``"bot"`` for what the bot sent. `kind` is ``text``, ``media``,
    ``location``, ``button`` (user side) or ``text``, ``media``, ``template`` (bot side).
    `params` are the webhook parameters (user side); `message` the `SentMessage` (bot side).
    """

    seq: int
    number: str
    sender: Literal["user", "bot"]
    kind: str
    text: str
    at: datetime
    message_sid: str
    message: SentMessage | None = None
    params: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ApiCall:
    """A REST call the bot made: the answer's HTTP status and Twilio error code, if any."""

    method: str
    path: str
    params: dict[str, str | list[str]]
    status: int
    code: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class CallbackAttempt:
    """One POST of a status callback; `http_status` is 0 when no answer came (`error` says why)."""

    message_sid: str
    url: str
    message_status: str
    attempt: int
    http_status: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.http_status < 300


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an incoming message to the bot's webhook.

    `genuine` is false when the signature was forged or left out (such a POST does not count
    as the person writing). `twiml_messages` counts the ``<Message>`` replies found in the
    answer; `error` explains a failed connection or an unreadable TwiML answer.
    """

    message_sid: str
    url: str
    http_status: int
    genuine: bool
    signature: str | None
    twiml_messages: int = 0
    error: str | None = None


@dataclass(frozen=True)
class MediaFetch:
    """A request for hosted media: at the API (`host` ``"api"``) or the CDN (``"cdn"``).

    `with_credentials` tells whether an ``Authorization`` header came with it; at the CDN
    that is the bug this stand-in exists to catch.
    """

    host: Literal["api", "cdn"]
    message_sid: str | None
    media_sid: str | None
    http_status: int
    with_credentials: bool


Event: TypeAlias = TranscriptEntry | StatusChange | CallbackAttempt | WebhookDelivery | MediaFetch
"""What `TwilioStandIn.subscribe` queues receive."""


class MediaFetchError(RuntimeError):
    """A media URL could not be fetched (`TwilioStandIn.fetch_media`)."""


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


class _TwilioError(Exception):
    """An error answer of the REST API, in Twilio's JSON shape."""

    def __init__(self, status: int, code: int, message: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code) or HTTPStatus(status).phrase
        super().__init__(self.message)

    def body(self) -> JSONDict:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


class _Refused(Exception):
    """An outgoing request to a URL the stand-in may not reach."""


@dataclass
class _Fault:
    status: int
    code: int
    message: str | None
    number: str | None
    remaining: int


@dataclass
class _DeliveryFault:
    number: str
    status: Literal["failed", "undelivered"]
    code: int
    remaining: int


@dataclass
class _Delay:
    seconds: float
    remaining: int | None


@dataclass(frozen=True)
class _Template:
    sid: str
    text: str
    defaults: dict[str, str]


@dataclass
class _StoredMedia:
    media: InboundMedia
    cdn_key: str


@dataclass
class _Lifecycle:
    """The statuses still to go through for one message, worked off by one task in order."""

    pending: deque[tuple[MessageStatus, int | None]] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None
    media_checked: bool = False
    will_deliver: bool = True
    read_scheduled: bool = False
    started: bool = False


def _new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC))


def _is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _number_of(target: str | WhatsAppUser) -> str:
    """``+62...`` from a user, a ``whatsapp:+62...`` address or a number."""
    if isinstance(target, WhatsAppUser):
        return target.number
    return target.removeprefix("whatsapp:")


def _media_kind(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "document"


def _form_summary(form: Mapping[str, str | list[str]]) -> dict[str, str | list[str]]:
    return {key: (list(value) if isinstance(value, list) else value) for key, value in form.items()}


# --------------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------------


class TwilioStandIn(
    Recording[Event, SentMessage, str | WhatsAppUser | None], StandInServer, Resumable
):
    """Twilio's WhatsApp messaging for one account and one sender, with simulated people.

    Args:
        account_sid: the account (``AC`` + 32 hex) whose credentials the API accepts.
        auth_token: the account's auth token: the basic-auth password and the key that signs
            webhooks and status callbacks.
        whatsapp_from: the business's WhatsApp sender, ``whatsapp:+E164``.
        clock: the current time (aware, UTC), for the 24-hour window and timestamps; default
            the real time. `advance` moves the stand-in's time on from it.
        enforce_rate: at most this many messages per second per sender; beyond it the API
            answers 429 (code 20429). None (default) is unlimited. Also an attribute.
        rate_clock: monotonic seconds for `enforce_rate` (tests can pass a fake one).
        fetch_outbound_media: download every ``MediaUrl`` the bot sends before "sending"
            it; one that fails makes the message fail with 63019. Also an attribute.
        callback_attempts: POSTs of a status callback answered non-2xx (or not at all), at
            most. Also an attribute.
        callback_retry_delay: seconds between those attempts. Also an attribute.
        allow_remote_urls: let webhooks, status callbacks and media fetches go to addresses
            that are not loopback.
    """

    KEPT = (
        "_sent",
        "_by_sid",
        "_transcript",
        "_last_inbound",
        "_profile_names",
        "_delivered_sids",
    )

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        whatsapp_from: str = DEFAULT_WHATSAPP_FROM,
        *,
        clock: Callable[[], datetime] | None = None,
        enforce_rate: float | None = None,
        rate_clock: Callable[[], float] = time.monotonic,
        fetch_outbound_media: bool = False,
        callback_attempts: int = 3,
        callback_retry_delay: float = 0.0,
        allow_remote_urls: bool = False,
    ) -> None:
        super().__init__(
            lambda where: self.messages(where),  # late-bound, like report
            text_of=lambda m: m.text,
            report=lambda what, where, timeout: self.report(what, to=where, timeout=timeout),
        )
        if not _ACCOUNT_SID_RE.fullmatch(account_sid):
            raise ValueError(
                f"an account SID is AC + 32 lower-case hex digits, not {account_sid!r}"
            )
        if not auth_token:
            raise ValueError("the auth token must not be empty")
        if not _ADDRESS_RE.fullmatch(whatsapp_from):
            raise ValueError(f"the sender must be whatsapp:+E164, not {whatsapp_from!r}")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.whatsapp_from = whatsapp_from
        self.enforce_rate = enforce_rate
        self.fetch_outbound_media = fetch_outbound_media
        self.callback_attempts = callback_attempts
        self.callback_retry_delay = callback_retry_delay
        self.allow_remote_urls = allow_remote_urls

        self.api_calls: list[ApiCall] = []
        """Every REST call, in order, including refused ones."""
        self.status_callbacks: list[CallbackAttempt] = []
        """Every status callback POST, including retries."""
        self.deliveries: list[WebhookDelivery] = []
        """Every POST to the bot's incoming-message webhook."""
        self.media_fetches: list[MediaFetch] = []
        """Every request for hosted media, at the API and at the CDN."""
        self.too_many_requests = 0
        """How many 429 answers the API gave (rate limit and injected faults)."""

        self._clock = clock or (lambda: datetime.now(UTC))
        self._offset = timedelta()
        self._rate_clock = rate_clock
        self._validator = RequestValidator(auth_token)

        self._sent: list[SentMessage] = []
        self._by_sid: dict[str, SentMessage] = {}
        self._lifecycles: dict[str, _Lifecycle] = {}
        self._transcript: list[TranscriptEntry] = []
        self._last_inbound: dict[str, datetime] = {}
        self._profile_names: dict[str, str] = {}
        self._delivered_sids: set[str] = set()
        self._idempotency: dict[str, str] = {}
        self._templates: dict[str, _Template] = {}
        self._media: dict[tuple[str, str], _StoredMedia] = {}
        self._media_by_key: dict[str, _StoredMedia] = {}
        self._faults: list[_Fault] = []
        self._delivery_faults: list[_DeliveryFault] = []
        self._delay: _Delay | None = None
        self._sends: dict[str, deque[float]] = {}

        self._incoming_url: str | None = None
        self._status_url: str | None = None
        self._forward_to: str | None = None

        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._cdn_runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._cdn_base_url: str | None = None
        self._session: aiohttp.ClientSession | None = None

    # ---------------------------------------------------------------- lifetime

    async def start(self, host: str = "127.0.0.1", port: int = 0, cdn_port: int = 0) -> None:
        """Serves the API on `host`:`port` and the media CDN on `host`:`cdn_port`.

        0 picks a free port. `host` must be a loopback address.
        """
        if self._runner is not None:
            raise RuntimeError("the Twilio stand-in is already running")
        if not is_loopback_host(host):
            raise ValueError(f"the Twilio stand-in listens on loopback only, not {host!r}")
        self._stopping.clear()
        self._app = self.make_app()
        runner, base_url = await serve(self._app, host, port)
        try:
            self._cdn_runner, self._cdn_base_url = await serve(self.make_cdn_app(), host, cdn_port)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._base_url = runner, base_url

    async def stop(self) -> None:
        """Stops both servers; delayed API calls end at once, pending callbacks are dropped."""
        self._stopping.set()
        await self._cancel_tasks()
        for runner in (self._runner, self._cdn_runner):
            if runner is not None:
                await runner.cleanup()
        self._runner = self._cdn_runner = None
        await self._close_session()
        self._base_url = self._cdn_base_url = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the value for ``TWILIO_API_BASE_URL``
        (``client.api.base_url`` of a twilio ``Client``)."""
        if self._base_url is None:
            raise RuntimeError("the Twilio stand-in is not running; await start() first")
        return self._base_url

    @property
    def cdn_base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the server standing in for Twilio's media CDN."""
        if self._cdn_base_url is None:
            raise RuntimeError("the Twilio stand-in is not running; await start() first")
        return self._cdn_base_url

    def make_app(self) -> web.Application:
        """A new aiohttp application serving this stand-in's REST API.

        Routes, under ``/2010-04-01/Accounts/{AccountSid}``: ``POST /Messages.json``,
        ``GET /Messages/{Sid}.json``, ``GET /Messages/{Sid}/Media/{MediaSid}`` (307 to the
        CDN; with ``.json``, the media's metadata). Anything else answers Twilio's 404.
        Media redirects need the CDN, which `start` serves.
        """
        app = web.Application()
        base = f"/{API_VERSION}/Accounts/{{account}}"
        app.router.add_post(f"{base}/Messages.json", self._handle_create)
        app.router.add_get(f"{base}/Messages/{{sid}}.json", self._handle_fetch)
        app.router.add_get(f"{base}/Messages/{{sid}}/Media/{{media}}", self._handle_media)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        app.on_shutdown.append(self._on_app_shutdown)
        app.on_cleanup.append(self._on_app_cleanup)
        return app

    def make_cdn_app(self) -> web.Application:
        """A new aiohttp application serving hosted media at ``/{AccountSid}/{key}``."""
        app = web.Application()
        app.router.add_get("/{account}/{key}", self._handle_cdn)
        return app

    async def _on_app_shutdown(self, app: web.Application) -> None:
        self._stopping.set()

    async def _on_app_cleanup(self, app: web.Application) -> None:
        await self._cancel_tasks()
        await self._close_session()

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        for lifecycle in self._lifecycles.values():
            lifecycle.task = None
        await self._notify()

    # ---------------------------------------------------------------- time and the window

    def now(self) -> datetime:
        """The stand-in's current time: the clock plus everything `advance` added."""
        current = self._clock()
        if current.tzinfo is None:
            raise ValueError("the Twilio stand-in's clock must return aware datetimes")
        return current + self._offset

    def advance(self, delta: timedelta) -> None:
        """Moves the stand-in's time on by `delta` (for the 24-hour window)."""
        self._offset += delta

    def last_inbound(self, number: str | WhatsAppUser) -> datetime | None:
        """When `number` last wrote to the business (a genuine simulated message), if ever."""
        return self._last_inbound.get(_number_of(number))

    def set_last_inbound(self, number: str | WhatsAppUser, at: datetime | None) -> None:
        """Pretends `number` last wrote at `at` (None: never), without a webhook POST."""
        key = _number_of(number)
        if at is None:
            self._last_inbound.pop(key, None)
        else:
            if at.tzinfo is None:
                raise ValueError("last_inbound needs an aware datetime")
            self._last_inbound[key] = at

    def window_open(self, number: str | WhatsAppUser) -> bool:
        """Whether free-form messages to `number` are delivered now (it wrote within 24 h)."""
        last = self.last_inbound(number)
        return last is not None and self.now() - last <= SESSION_WINDOW

    # ---------------------------------------------------------------- templates

    def register_template(
        self, content_sid: str, text: str, *, defaults: Mapping[str, str] | None = None
    ) -> None:
        """Defines an approved template: `text` with ``{{1}}``-style placeholders.

        A message with this ``ContentSid`` is delivered even outside the 24-hour window.
        `defaults` fill placeholders the message leaves out (as the template's sample values
        do); a placeholder without either makes the message fail with 63028.
        """
        if not _CONTENT_SID_RE.fullmatch(content_sid):
            raise ValueError(f"a Content SID is HX + 32 hex digits, not {content_sid!r}")
        self._templates[content_sid] = _Template(content_sid, text, dict(defaults or {}))

    def render_template(self, content_sid: str, variables: Mapping[str, str] | None = None) -> str:
        """The text of a registered template with `variables` filled in (missing ones stay)."""
        template = self._templates[content_sid]
        return self._render(template, dict(variables or {}))[0]

    @staticmethod
    def _render(template: _Template, variables: Mapping[str, str]) -> tuple[str, list[str]]:
        missing: list[str] = []

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            value = variables.get(name, template.defaults.get(name))
            if value is None:
                missing.append(name)
                return match.group(0)
            return value

        return _PLACEHOLDER_RE.sub(fill, template.text), missing

    # ---------------------------------------------------------------- webhooks

    def configure_webhooks(
        self,
        incoming_url: str | None,
        status_url: str | None = None,
        *,
        forward_to: str | None = None,
    ) -> None:
        """Sets where Twilio posts: incoming messages, and status callbacks by default.

        `incoming_url` is the bot's webhook as configured at Twilio (the sender's "A message
        comes in" URL), e.g. ``PUBLIC_BASE_URL + "/webhook/whatsapp"``; it is also the URL the
        signatures are computed over. `status_url` receives status callbacks for messages
        sent without a ``StatusCallback`` (as a Messaging Service's callback would).

        `forward_to` (``http://127.0.0.1:PORT``) stands for a TLS-terminating proxy: requests
        to URLs on `incoming_url`'s origin are sent to that address instead, with the same
        path and ``X-Forwarded-Proto``/``X-Forwarded-Host`` headers, while signatures stay
        computed over the public URL, as Twilio computes them.
        """
        self._incoming_url = incoming_url
        self._status_url = status_url
        self._forward_to = forward_to.rstrip("/") if forward_to else None

    # ---------------------------------------------------------------- faults

    def fail_next(
        self,
        *,
        status: int,
        code: int | None = None,
        message: str | None = None,
        times: int = 1,
        to: str | WhatsAppUser | None = None,
    ) -> None:
        """Makes the next `times` message creations (only those to `to`, if given) fail.

        The answer has `status` and Twilio's error shape with `code` (default by status:
        429 → 20429, 500 → 20500, 503 → 20503, 400 → 21211) and `message` (default: the
        code's message). The failed call creates nothing.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(
            _Fault(
                status=status,
                code=code if code is not None else _DEFAULT_CODE_BY_STATUS.get(status, status),
                message=message,
                number=_number_of(to) if to is not None else None,
                remaining=times,
            )
        )

    def fail_delivery(
        self,
        to: str | WhatsAppUser,
        code: int = 63003,
        status: Literal["failed", "undelivered"] = "failed",
        *,
        times: int = 1,
    ) -> None:
        """The next `times` messages to `to` are accepted but then end `status` with `code`.

        ``failed`` goes straight from queued to failed; ``undelivered`` passes ``sent`` first.
        """
        if status not in ("failed", "undelivered"):
            raise ValueError("status is 'failed' or 'undelivered'")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._delivery_faults.append(_DeliveryFault(_number_of(to), status, code, times))

    def delay(self, seconds: float, *, times: int | None = None) -> None:
        """Makes message creation answer only after `seconds`; 0 removes the delay.

        The message is still created after the delay, as on the real API: a client that timed
        out and retried has sent twice. `times` limits the delay to the next calls.
        """
        self._delay = _Delay(seconds, times) if seconds > 0 else None

    def clear_faults(self) -> None:
        """Removes every pending `fail_next`, `fail_delivery` and `delay`."""
        self._faults.clear()
        self._delivery_faults.clear()
        self._delay = None

    # ---------------------------------------------------------------- what was recorded

    def messages(self, to: str | WhatsAppUser | None = None) -> list[SentMessage]:
        """What the bot sent to `to` (a number, address or user; default everyone), in order."""
        if to is None:
            return list(self._sent)
        number = _number_of(to)
        return [m for m in self._sent if m.number == number]

    def bodies(self, to: str | WhatsAppUser | None = None) -> list[str]:
        """The text of each message sent to `to`: the body, or a template's rendered text."""
        return [m.text for m in self.messages(to)]

    def message(self, sid: str) -> SentMessage:
        """The message the bot sent with `sid`."""
        try:
            return self._by_sid[sid]
        except KeyError:
            raise KeyError(f"the bot sent no message {sid!r}") from None

    def last_message(self, to: str | WhatsAppUser) -> SentMessage:
        """The last message the bot sent to `to`."""
        sent = self.messages(to)
        if not sent:
            raise AssertionError(f"the bot sent nothing to {_number_of(to)}")
        return sent[-1]

    def transcript(self, number: str | WhatsAppUser | None = None) -> list[TranscriptEntry]:
        """The conversation with `number` (or all of them): people and bot, in order."""
        if number is None:
            return list(self._transcript)
        key = _number_of(number)
        return [entry for entry in self._transcript if entry.number == key]

    def callbacks(self, sid: str | None = None) -> list[CallbackAttempt]:
        """The status callback POSTs (for message `sid`, or all), retries included."""
        return [c for c in self.status_callbacks if sid is None or c.message_sid == sid]

    def inbound_media(self) -> list[InboundMedia]:
        """Every file the simulated people sent (or were built to send), in order."""
        return [stored.media for stored in self._media.values()]

    @property
    def credentials_sent_to_cdn(self) -> int:
        """How many CDN requests carried an ``Authorization`` header (should stay 0)."""
        return sum(1 for f in self.media_fetches if f.host == "cdn" and f.with_credentials)

    # subscribe() and unsubscribe() come from Recording.

    # ---------------------------------------------------------------- waiting

    async def wait_for(
        self,
        condition: int | Callable[[list[SentMessage]], bool],
        *,
        to: str | WhatsAppUser | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the condition, not cancellation
        what: str | None = None,
    ) -> list[SentMessage]:
        """Waits until the bot's messages (to `to`, or all) satisfy `condition`.

        `condition` is a count (at least that many messages) or a predicate over the list of
        messages. Returns the messages. On timeout raises `AssertionError` with a `report` of
        what every number received; `what` names the awaited thing in it.
        """
        return await self._wait_for_messages(condition, to, timeout, what)

    async def wait_for_text(
        self,
        to: str | WhatsAppUser,
        fragment: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - as in wait_for
    ) -> SentMessage:
        """Waits for a message to `to` whose text contains `fragment`; returns it."""
        return await self._wait_for_text(to, fragment, timeout)

    async def wait_for_status(
        self,
        sid: str,
        status: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - as in wait_for
    ) -> SentMessage:
        """Waits until message `sid` has gone through `status` (e.g. ``"delivered"``)."""

        def reached() -> bool:
            sent = self._by_sid.get(sid)
            return sent is not None and status in sent.status_history

        await self._wait_until(
            reached,
            timeout,
            lambda: self.report(f"message {sid} to become {status!r}", timeout=timeout),
        )
        return self._by_sid[sid]

    async def callbacks_settled(
        self,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - as in wait_for
    ) -> None:
        """Waits until every status change so far has happened and its callback was posted."""

        def still_pending() -> str:
            busy = [sid for sid, lc in self._lifecycles.items() if lc.task is not None]
            report = self.report("the status callbacks to settle", timeout=timeout)
            return f"status callbacks still pending after {timeout} s for {busy}\n{report}"

        await self._wait_until(lambda: not self._tasks, timeout, still_pending)

    def report(
        self, what: str, *, to: str | WhatsAppUser | None = None, timeout: float | None = None
    ) -> str:
        """A readable account of what every number received, for failure messages."""
        where = f" to {_number_of(to)}" if to is not None else ""
        after = f" after {timeout} s" if timeout is not None else ""
        lines = [f"Timed out{after} waiting for {what}{where}.", "What each number received:"]
        names = dict(self._profile_names)
        if isinstance(to, WhatsAppUser):
            names.setdefault(to.number, to.profile_name)
        numbers = list(dict.fromkeys([m.number for m in self._sent]))
        if to is not None and _number_of(to) not in numbers:
            numbers.append(_number_of(to))
        for number in numbers:
            sent = self.messages(number)
            name = names.get(number)
            label = f"{number} ({name})" if name else number
            window = "open" if self.window_open(number) else "closed"
            lines.append(f"  {label}: {len(sent) or 'nothing'}; 24-hour window {window}")
            for m in sent:
                error = f" {m.error_code}" if m.error_code else ""
                kind = f"template {m.content_sid}" if m.is_template else "free-form"
                media = f" +{len(m.media_urls)} media" if m.media_urls else ""
                lines.append(f"    {m.sid[:10]}… [{m.status}{error}] {kind}{media}: {m.text!r}")
        if not numbers:
            lines.append("  (the bot sent nothing at all)")
        people = [e for e in self._transcript if e.sender == "user"][-5:]
        if people:
            lines.append("Last things the simulated people sent:")
            lines.extend(f"  {e.number}: {e.kind} {e.text!r}" for e in people)
        failed_calls = [c for c in self.api_calls if c.status >= 400][-5:]
        if failed_calls:
            lines.append("Last refused API calls:")
            lines.extend(
                f"  {c.method} {c.path} -> {c.status} {c.code}: {c.message}" for c in failed_calls
            )
        failed_callbacks = [c for c in self.status_callbacks if not c.ok][-5:]
        if failed_callbacks:
            lines.append("Last failed status callbacks:")
            lines.extend(
                f"  {c.message_sid[:10]}… {c.message_status} -> {c.http_status} {c.error or ''}"
                for c in failed_callbacks
            )
        return "\n".join(lines)

    # ---------------------------------------------------------------- simulated people: builders

    def text(self, user: WhatsAppUser, body: str) -> dict[str, str]:
        """The webhook parameters of `user` writing `body`."""
        return self._inbound(user, _new_sid("SM"), body=body, message_type="text")

    def media(
        self, user: WhatsAppUser, files: Sequence[tuple[bytes, str]], body: str = ""
    ) -> dict[str, str]:
        """`user` sends `files` as (bytes, content type), with `body` as the caption.

        The files are hosted at once at ``MediaUrl{N}`` (basic auth, then 307 to the CDN).
        The message SID starts with ``MM``, as Twilio's media messages do. WhatsApp itself
        delivers one file per message; `album` builds that.
        """
        if not files:
            raise ValueError("media needs at least one file")
        if len(files) > MAX_MEDIA_URLS:
            raise ValueError(f"at most {MAX_MEDIA_URLS} files per message")
        sid = _new_sid("MM")
        extra: dict[str, str] = {}
        for index, (data, content_type) in enumerate(files):
            stored = self._host_media(sid, data, content_type)
            extra[f"MediaContentType{index}"] = content_type
            extra[f"MediaUrl{index}"] = stored.media.url
        return self._inbound(
            user,
            sid,
            body=body,
            message_type=_media_kind(files[0][1]),
            num_media=len(files),
            extra=extra,
        )

    def album(
        self, user: WhatsAppUser, files: Sequence[tuple[bytes, str]], caption: str = ""
    ) -> list[dict[str, str]]:
        """Several files sent at once, as WhatsApp delivers them: one message per file, the
        caption on the first."""
        return [
            self.media(user, [file], caption if index == 0 else "")
            for index, file in enumerate(files)
        ]

    def location(
        self,
        user: WhatsAppUser,
        lat: float,
        lon: float,
        address: str | None = None,
        label: str | None = None,
    ) -> dict[str, str]:
        """`user` shares a location (a named place when `address`/`label` are given)."""
        extra = {"Latitude": repr(float(lat)), "Longitude": repr(float(lon))}
        if address is not None:
            extra["Address"] = address
        if label is not None:
            extra["Label"] = label
        return self._inbound(user, _new_sid("SM"), body="", message_type="location", extra=extra)

    def button(
        self,
        user: WhatsAppUser,
        text: str,
        payload: str,
        *,
        reply_to: SentMessage | str | None = None,
    ) -> dict[str, str]:
        """`user` taps a quick-reply button labelled `text` carrying `payload`.

        `reply_to` (the message with the button, or its SID) adds
        ``OriginalRepliedMessageSid``/``OriginalRepliedMessageSender``.
        """
        extra = {"ButtonText": text, "ButtonPayload": payload}
        if reply_to is not None:
            extra["OriginalRepliedMessageSender"] = self.whatsapp_from
            extra["OriginalRepliedMessageSid"] = (
                reply_to.sid if isinstance(reply_to, SentMessage) else reply_to
            )
        return self._inbound(user, _new_sid("SM"), body=text, message_type="button", extra=extra)

    def _inbound(
        self,
        user: WhatsAppUser,
        sid: str,
        *,
        body: str,
        message_type: str,
        num_media: int = 0,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The parameters Twilio posts for an incoming WhatsApp message, in Twilio's order."""
        self._profile_names[user.number] = user.profile_name
        params = {
            "SmsMessageSid": sid,
            "NumMedia": str(num_media),
            "ProfileName": user.profile_name,
            "MessageType": message_type,
            "SmsSid": sid,
            "WaId": user.wa_id,
            "SmsStatus": "received",
            "Body": body,
            "To": self.whatsapp_from,
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": user.address,
            "ApiVersion": API_VERSION,
        }
        params.update(extra or {})
        # Parameters Twilio added over time without notice; a webhook must ignore them.
        params["ChannelMetadata"] = json.dumps(
            {"type": "whatsapp", "data": {"context": {"ProfileName": user.profile_name}}},
            separators=(",", ":"),
        )
        return params

    def _host_media(self, message_sid: str, data: bytes, content_type: str) -> _StoredMedia:
        media_sid = _new_sid("ME")
        url = (
            f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}"
            f"/Messages/{message_sid}/Media/{media_sid}"
        )
        stored = _StoredMedia(
            InboundMedia(message_sid, media_sid, content_type, bytes(data), url),
            cdn_key=secrets.token_urlsafe(32),
        )
        self._media[(message_sid, media_sid)] = stored
        self._media_by_key[stored.cdn_key] = stored
        return stored

    # ---------------------------------------------------------------- simulated people: delivery

    async def deliver(
        self,
        params: Mapping[str, str],
        *,
        url: str | None = None,
        signature: str | None = None,
        signed: bool = True,
    ) -> int:
        """POSTs `params` to the bot's webhook as Twilio does; returns the HTTP status.

        The POST is form-encoded with ``X-Twilio-Signature`` computed over `url` (default the
        configured incoming URL) and the parameters, plus the ``I-Twilio-Idempotency-Token``
        Twilio sends (the same for every delivery of one MessageSid). `signature` replaces the
        header's value (a forgery); `signed=False` leaves the header out. Only a correctly
        signed delivery counts as the person writing: it opens their 24-hour window and, the
        first time for its MessageSid, enters the transcript. Delivering the same `params`
        again is a duplicate, as when Twilio retries. ``<Message>`` replies in a TwiML answer
        are recorded as messages the bot sent. Returns 0 if the connection failed.
        """
        target = url or self._incoming_url
        if target is None:
            raise RuntimeError("no webhook configured; call configure_webhooks() first")
        try:
            self._route(target)
        except _Refused as refused:
            raise RuntimeError(str(refused)) from None
        form = {key: str(value) for key, value in params.items()}
        genuine = signed and signature is None
        header = (
            (signature if signature is not None else self.sign(target, form)) if signed else None
        )
        sid = form.get("MessageSid", "")
        if genuine:
            self._record_inbound(form)
        await self._notify()
        token = self._idempotency.setdefault(sid, f"{secrets.token_hex(8)}-{sid}")
        status, text, content_type, error = await self._post_form(target, form, header, token)
        replies = 0
        if 200 <= status < 300 and text.strip():
            try:
                replies = await self._record_twiml(form, text, content_type)
            except ValueError as bad:
                error = str(bad)
        self._emit(WebhookDelivery(sid, target, status, genuine, header, replies, error))
        await self._notify()
        return status

    async def user_says(self, user: WhatsAppUser, body: str) -> dict[str, str]:
        """Builds `text` and delivers it; returns the parameters."""
        params = self.text(user, body)
        await self.deliver(params)
        return params

    async def user_sends_media(
        self, user: WhatsAppUser, files: Sequence[tuple[bytes, str]], body: str = ""
    ) -> dict[str, str]:
        """Builds `media` and delivers it; returns the parameters."""
        params = self.media(user, files, body)
        await self.deliver(params)
        return params

    async def user_shares_location(
        self,
        user: WhatsAppUser,
        lat: float,
        lon: float,
        address: str | None = None,
        label: str | None = None,
    ) -> dict[str, str]:
        """Builds `location` and delivers it; returns the parameters."""
        params = self.location(user, lat, lon, address, label)
        await self.deliver(params)
        return params

    async def user_taps(
        self,
        user: WhatsAppUser,
        text: str,
        payload: str,
        *,
        reply_to: SentMessage | str | None = None,
    ) -> dict[str, str]:
        """Builds `button` and delivers it; returns the parameters."""
        params = self.button(user, text, payload, reply_to=reply_to)
        await self.deliver(params)
        return params

    def mark_read(self, target: str | SentMessage | WhatsAppUser) -> list[SentMessage]:
        """The person read a message (a `SentMessage` or SID) or all messages to a number.

        Adds ``read`` after ``delivered`` (with its status callback) to each message that is
        or will be delivered and was not read yet; returns those messages.
        """
        if isinstance(target, SentMessage):
            chosen = [target]
        elif isinstance(target, str) and target[:2] in ("SM", "MM") and target in self._by_sid:
            chosen = [self._by_sid[target]]
        else:
            chosen = self.messages(target)
        marked: list[SentMessage] = []
        for sent in chosen:
            lifecycle = self._lifecycles[sent.sid]
            if lifecycle.will_deliver and not lifecycle.read_scheduled:
                lifecycle.read_scheduled = True
                self._schedule(sent, [("read", None)])
                marked.append(sent)
        return marked

    def _record_inbound(self, form: Mapping[str, str]) -> None:
        number = form.get("From", "").removeprefix("whatsapp:")
        if not _E164_RE.fullmatch(number):
            return
        self._last_inbound[number] = self.now()
        if form.get("ProfileName"):
            self._profile_names[number] = form["ProfileName"]
        sid = form.get("MessageSid", "")
        if sid in self._delivered_sids:
            return
        self._delivered_sids.add(sid)
        kind, text = self._describe_inbound(form)
        self._add_entry(number, "user", kind, text, sid, params=dict(form))

    @staticmethod
    def _describe_inbound(form: Mapping[str, str]) -> tuple[str, str]:
        body = form.get("Body", "")
        if "Latitude" in form:
            place = ", ".join(p for p in (form.get("Label"), form.get("Address")) if p)
            text = f"location {form['Latitude']}, {form['Longitude']}"
            return "location", f"{text} ({place})" if place else text
        if "ButtonPayload" in form:
            return "button", f"{form.get('ButtonText', body)} [{form['ButtonPayload']}]"
        count = int(form.get("NumMedia", "0") or 0)
        if count:
            types = ", ".join(form.get(f"MediaContentType{i}", "?") for i in range(count))
            return "media", f"[{types}] {body}".rstrip()
        return "text", body

    async def _record_twiml(
        self, form: Mapping[str, str], text: str, content_type: str | None
    ) -> int:
        """Records the ``<Message>`` replies of a TwiML answer; returns how many."""
        if content_type not in ("text/xml", "application/xml") and not text.lstrip().startswith(
            "<"
        ):
            return 0
        try:
            root = ElementTree.fromstring(text)
        except ElementTree.ParseError as err:
            raise ValueError(f"12100 Document parse failure: {err}") from None
        if root.tag != "Response":
            raise ValueError(f"12100 Document parse failure: root element <{root.tag}>")
        count = 0
        for element in root.iter("Message"):
            body_element = element.find("Body")
            body = body_element.text if body_element is not None else element.text
            media = tuple((m.text or "").strip() for m in element.iter("Media"))
            to = element.get("to") or form.get("From", "")
            sent = await self._accept(
                to=to,
                body=(body or "").strip() or None,
                media_urls=media,
                content_sid=None,
                variables={},
                status_callback=element.get("statusCallback"),
                via="twiml",
                params={"TwiML": text},
            )
            self._start_lifecycle(sent)
            count += 1
        return count

    # ---------------------------------------------------------------- signing and HTTP out

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """The ``X-Twilio-Signature`` Twilio sends for a POST of `params` to `url`."""
        return str(self._validator.compute_signature(url, dict(params)))

    async def fetch_media(self, url: str) -> tuple[bytes, str]:
        """GETs `url` (say, a ``MediaUrl`` the bot sent) as Twilio would, without credentials.

        Returns the bytes and the Content-Type; raises `MediaFetchError` unless it answers 200.
        """
        if not self.allow_remote_urls and not _is_loopback_url(url):
            raise MediaFetchError(f"refusing to fetch the non-loopback URL {url!r}")
        session = self._client_session()
        try:
            async with session.get(url) as response:
                data = await response.read()
                if response.status != 200:
                    raise MediaFetchError(f"GET {url} answered {response.status}")
                return data, response.content_type
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MediaFetchError(f"GET {url} failed: {err}") from err

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT)
            )
        return self._session

    def _route(self, url: str) -> tuple[str, dict[str, str]]:
        """Where a request for `url` really goes, and the proxy headers it gets."""
        if self._forward_to and self._incoming_url:
            if _origin(url) == _origin(self._incoming_url):
                parts = urlsplit(url)
                target = urlsplit(self._forward_to)
                local = urlunsplit(
                    (target.scheme, target.netloc, parts.path, parts.query, parts.fragment)
                )
                headers = {"X-Forwarded-Proto": parts.scheme, "X-Forwarded-Host": parts.netloc}
                return local, headers
        if not self.allow_remote_urls and not _is_loopback_url(url):
            raise _Refused(
                f"refusing to POST to the non-loopback URL {url!r}; pass allow_remote_urls=True "
                "or configure_webhooks(..., forward_to=...)"
            )
        return url, {}

    async def _post_form(
        self, url: str, form: Mapping[str, str], signature: str | None, token: str
    ) -> tuple[int, str, str | None, str | None]:
        """POSTs `form`: (status, answer text, content type, error); status 0 if it failed."""
        target, headers = self._route(url)
        headers.update(
            {
                "User-Agent": "TwilioProxy/1.1",
                "Accept": "*/*",
                "I-Twilio-Idempotency-Token": token,
            }
        )
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        try:
            async with self._client_session().post(
                target, data=list(form.items()), headers=headers, allow_redirects=False
            ) as response:
                text = await response.text(errors="replace")
                content_type = response.content_type if response.content_length != 0 else None
                return response.status, text, content_type, None
        except (aiohttp.ClientError, TimeoutError) as err:
            return 0, "", None, f"{type(err).__name__}: {err}"

    # ---------------------------------------------------------------- outbound messages

    async def _accept(
        self,
        *,
        to: str,
        body: str | None,
        media_urls: tuple[str, ...],
        content_sid: str | None,
        variables: dict[str, str],
        status_callback: str | None,
        via: Literal["api", "twiml"],
        params: dict[str, str | list[str]],
    ) -> SentMessage:
        """Records an accepted message and starts its way through the statuses."""
        now = self.now()
        rendered: str | None = None
        missing: list[str] = []
        if content_sid is not None:
            rendered, missing = self._render(self._templates[content_sid], variables)
        sent = SentMessage(
            sid=_new_sid("MM" if media_urls else "SM"),
            to=to,
            from_=self.whatsapp_from,
            body=body,
            media_urls=media_urls,
            content_sid=content_sid,
            content_variables=variables,
            status_callback=status_callback,
            rendered=rendered,
            date_created=now,
            via=via,
            params=params,
        )
        queued = StatusChange(sent.sid, sent.number, "queued", now)
        sent.statuses.append(queued)
        self._sent.append(sent)
        self._by_sid[sent.sid] = sent
        lifecycle = _Lifecycle()
        self._lifecycles[sent.sid] = lifecycle

        steps: list[tuple[MessageStatus, int | None]]
        fault = self._take_delivery_fault(sent.number)
        if fault is not None:
            steps = [(fault.status, fault.code)]
            if fault.status == "undelivered":
                steps.insert(0, ("sent", None))
        elif content_sid is None and not self.window_open(sent.number):
            steps = [("failed", 63016)]
        elif missing:
            steps = [("failed", 63028)]
        else:
            steps = [("sent", None), ("delivered", None)]
        lifecycle.pending.extend(steps)
        lifecycle.will_deliver = steps[-1][0] == "delivered"
        lifecycle.media_checked = not (self.fetch_outbound_media and media_urls)

        if sent.is_template:
            kind = "template"
        elif media_urls:
            kind = "media"
        else:
            kind = "text"
        shown = sent.text or " ".join(media_urls)
        self._add_entry(sent.number, "bot", kind, shown, sent.sid, message=sent)
        self._emit(queued)
        await self._notify()
        return sent

    def _start_lifecycle(self, sent: SentMessage) -> None:
        """Starts the status changes of a just-accepted message (after its 201 was sent)."""
        self._lifecycles[sent.sid].started = True
        self._schedule(sent, [])

    def _take_delivery_fault(self, number: str) -> _DeliveryFault | None:
        for fault in self._delivery_faults:
            if fault.number == number:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._delivery_faults.remove(fault)
                return fault
        return None

    def _schedule(
        self, sent: SentMessage, steps: Sequence[tuple[MessageStatus, int | None]]
    ) -> None:
        lifecycle = self._lifecycles[sent.sid]
        lifecycle.pending.extend(steps)
        if (
            lifecycle.started
            and lifecycle.task is None
            and lifecycle.pending
            and not self._stopping.is_set()
        ):
            task = asyncio.create_task(self._run_lifecycle(sent), name=f"twilio-status-{sent.sid}")
            lifecycle.task = task
            self._tasks.add(task)

    async def _run_lifecycle(self, sent: SentMessage) -> None:
        lifecycle = self._lifecycles[sent.sid]
        try:
            if not lifecycle.media_checked:
                lifecycle.media_checked = True
                if not await self._download_media(sent):
                    lifecycle.pending.clear()
                    lifecycle.pending.append(("failed", 63019))
                    lifecycle.will_deliver = False
            while lifecycle.pending:
                status, code = lifecycle.pending.popleft()
                change = await self._set_status(sent, status, code)
                url = sent.status_callback or self._status_url
                if url:
                    await self._post_status_callback(sent, change, url)
        finally:
            lifecycle.task = None
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            await self._notify()

    async def _download_media(self, sent: SentMessage) -> bool:
        for url in sent.media_urls:
            try:
                sent.media.append(await self.fetch_media(url))
            except MediaFetchError as err:
                _LOG.info("Twilio stand-in: media of %s failed to download: %s", sent.sid, err)
                return False
        return True

    async def _set_status(
        self, sent: SentMessage, status: MessageStatus, code: int | None
    ) -> StatusChange:
        message = ERROR_MESSAGES.get(code) if code is not None else None
        change = StatusChange(sent.sid, sent.number, status, self.now(), code, message)
        sent.status = status
        if code is not None:
            sent.error_code, sent.error_message = code, message
        sent.statuses.append(change)
        self._emit(change)
        await self._notify()
        return change

    async def _post_status_callback(
        self, sent: SentMessage, change: StatusChange, url: str
    ) -> None:
        form = {
            "ChannelPrefix": "whatsapp",
            "ApiVersion": API_VERSION,
            "MessageStatus": change.status,
            "SmsSid": sent.sid,
            "SmsStatus": change.status,
            "ChannelToAddress": sent.number,
            "To": sent.to,
            "From": sent.from_,
            "MessageSid": sent.sid,
            "AccountSid": self.account_sid,
        }
        if change.error_code is not None:
            form["ErrorCode"] = str(change.error_code)
            form["ErrorMessage"] = change.error_message or ""
        signature = self.sign(url, form)
        token = f"{secrets.token_hex(8)}-{sent.sid}-{change.status}"
        for attempt in range(1, max(1, self.callback_attempts) + 1):
            try:
                status, _, _, error = await self._post_form(url, form, signature, token)
            except _Refused as refused:
                status, error = 0, str(refused)
            result = CallbackAttempt(sent.sid, url, change.status, attempt, status, error)
            if error is None and not result.ok:
                result = CallbackAttempt(
                    sent.sid, url, change.status, attempt, status, f"answered {status}"
                )
            self._emit(result)
            await self._notify()
            if result.ok:
                return
            if attempt < self.callback_attempts and self.callback_retry_delay > 0:
                await asyncio.sleep(self.callback_retry_delay)

    # ---------------------------------------------------------------- recording helpers

    def _add_entry(
        self,
        number: str,
        sender: Literal["user", "bot"],
        kind: str,
        text: str,
        sid: str,
        *,
        message: SentMessage | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        entry = TranscriptEntry(
            seq=len(self._transcript) + 1,
            number=number,
            sender=sender,
            kind=kind,
            text=text,
            at=self.now(),
            message_sid=sid,
            message=message,
            params=params or {},
        )
        self._transcript.append(entry)
        self._publish(entry)

    def _emit(self, event: Event) -> None:
        """Records `event` in its list (transcript entries are recorded by `_add_entry`)."""
        if isinstance(event, CallbackAttempt):
            self.status_callbacks.append(event)
        elif isinstance(event, WebhookDelivery):
            self.deliveries.append(event)
        elif isinstance(event, MediaFetch):
            self.media_fetches.append(event)
        self._publish(event)

    # ---------------------------------------------------------------- HTTP: the REST API

    def _authenticated(self, request: web.Request) -> bool:
        credentials = _basic_credentials(request.headers.get(hdrs.AUTHORIZATION, ""))
        if credentials is None:
            return False
        login, password = credentials
        return secrets.compare_digest(login, self.account_sid) and secrets.compare_digest(
            password, self.auth_token
        )

    def _check_access(self, request: web.Request) -> None:
        if not self._authenticated(request):
            raise _TwilioError(401, 20003)
        if request.match_info.get("account") != self.account_sid:
            raise _TwilioError(404, 20404, f"The requested resource {request.path} was not found")

    def _error_response(self, err: _TwilioError) -> web.Response:
        if err.status == 429:
            self.too_many_requests += 1
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if err.status == 401 else None
        return web.json_response(err.body(), status=err.status, headers=headers)

    async def _handle_create(self, request: web.Request) -> web.StreamResponse:
        form: dict[str, str | list[str]] = {}
        try:
            self._check_access(request)
            posted = await request.post()
            for key in posted:
                values = [v for v in posted.getall(key) if isinstance(v, str)]
                form[key] = values if key == "MediaUrl" else values[-1]
            await self._slow_down()
            self._check_faults(form)
            self._check_rate(str(form.get("From", "")))
            sent = await self._create(form)
        except _TwilioError as err:
            self.api_calls.append(
                ApiCall(
                    "POST", request.path, _form_summary(form), err.status, err.code, err.message
                )
            )
            return self._error_response(err)
        self.api_calls.append(ApiCall("POST", request.path, _form_summary(form), 201))
        response = web.json_response(self._resource(sent), status=201)
        try:
            # Send the answer before the first status callback, as Twilio does. A client
            # that gave up waiting changes nothing: the message exists all the same.
            with contextlib.suppress(ConnectionError):
                await response.prepare(request)
                await response.write_eof()
        finally:
            self._start_lifecycle(sent)
        return response

    async def _slow_down(self) -> None:
        pause = self._delay
        if pause is None:
            return
        if pause.remaining is not None:
            pause.remaining -= 1
            if pause.remaining <= 0:
                self._delay = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(pause.seconds):  # not wait_for (3.11)
                await self._stopping.wait()
        if self._stopping.is_set():
            raise _TwilioError(503, 20503, "Service Unavailable: the stand-in is shutting down")

    def _check_faults(self, form: Mapping[str, str | list[str]]) -> None:
        to = form.get("To")
        number = to.removeprefix("whatsapp:") if isinstance(to, str) else None
        for fault in self._faults:
            if fault.number is not None and fault.number != number:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            raise _TwilioError(fault.status, fault.code, fault.message)

    def _check_rate(self, sender: str) -> None:
        if not self.enforce_rate:
            return
        now = self._rate_clock()
        window = self._sends.setdefault(sender, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.enforce_rate:
            raise _TwilioError(429, 20429)
        window.append(now)

    async def _create(self, form: Mapping[str, str | list[str]]) -> SentMessage:
        def text(name: str) -> str | None:
            value = form.get(name)
            return value if isinstance(value, str) and value != "" else None

        to, from_ = text("To"), text("From")
        if to is None:
            raise _TwilioError(400, 21604)
        if from_ is None:
            raise _TwilioError(400, 21603)
        if not to.startswith("whatsapp:") or not from_.startswith("whatsapp:"):
            raise _TwilioError(400, 21910)
        if not _ADDRESS_RE.fullmatch(to):
            raise _TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not _ADDRESS_RE.fullmatch(from_):
            raise _TwilioError(400, 21212, f"Invalid 'From' Phone Number: {from_}")
        if from_ != self.whatsapp_from:
            raise _TwilioError(400, 63007)
        body = text("Body")
        raw_media = form.get("MediaUrl", [])
        media_urls = tuple(u for u in (raw_media if isinstance(raw_media, list) else []) if u)
        content_sid = text("ContentSid")
        raw_variables = text("ContentVariables")
        if body is not None and len(body) > MAX_BODY_LENGTH:
            raise _TwilioError(400, 21617)
        if len(media_urls) > MAX_MEDIA_URLS:
            raise _TwilioError(400, 21623)
        if raw_variables is not None and content_sid is None:
            raise _TwilioError(400, 21654)
        if body is None and not media_urls and content_sid is None:
            raise _TwilioError(400, 21619)
        variables: dict[str, str] = {}
        if content_sid is not None:
            if content_sid not in self._templates:
                raise _TwilioError(400, 21655, f"The ContentSid is Invalid: {content_sid}")
            variables = self._parse_variables(raw_variables)
        return await self._accept(
            to=to,
            body=body,
            media_urls=media_urls,
            content_sid=content_sid,
            variables=variables,
            status_callback=text("StatusCallback"),
            via="api",
            params=dict(form),
        )

    @staticmethod
    def _parse_variables(raw: str | None) -> dict[str, str]:
        if raw is None:
            return {}
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise _TwilioError(
                400, 21656, "The ContentVariables Parameter is invalid: not JSON"
            ) from None
        if not isinstance(parsed, dict):
            raise _TwilioError(
                400, 21656, "The ContentVariables Parameter is invalid: not an object"
            )
        variables: dict[str, str] = {}
        for key, value in parsed.items():
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise _TwilioError(
                    400, 21656, f"The ContentVariables Parameter is invalid: {key!r} is not text"
                )
            value = str(value)
            if not value.strip():
                raise _TwilioError(
                    400, 21656, f"The ContentVariables Parameter is invalid: {key!r} is empty"
                )
            if _BAD_VARIABLE_RE.search(value):
                raise _TwilioError(
                    400,
                    21656,
                    f"The ContentVariables Parameter is invalid: {key!r} contains a newline, "
                    "a tab or more than four consecutive spaces",
                )
            variables[str(key)] = value
        return variables

    def _resource(self, sent: SentMessage) -> JSONDict:
        """The Message resource as Twilio's API shows it."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sent.sid}"
        updated = sent.statuses[-1].at
        sent_at = next((c.at for c in sent.statuses if c.status == "sent"), None)
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": sent.text,
            "date_created": _rfc2822(sent.date_created),
            "date_sent": _rfc2822(sent_at) if sent_at else None,
            "date_updated": _rfc2822(updated),
            "direction": "outbound-api" if sent.via == "api" else "outbound-reply",
            "error_code": sent.error_code,
            "error_message": sent.error_message,
            "from": sent.from_,
            "messaging_service_sid": None,
            "num_media": str(len(sent.media_urls)),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sent.sid,
            "status": sent.status,
            "subresource_uris": {
                "media": f"{uri}/Media.json",
                "feedback": f"{uri}/Feedback.json",
            },
            "to": sent.to,
            "uri": f"{uri}.json",
        }

    async def _handle_fetch(self, request: web.Request) -> web.Response:
        try:
            self._check_access(request)
            sent = self._by_sid.get(request.match_info["sid"])
            if sent is None:
                raise _TwilioError(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
        except _TwilioError as err:
            self.api_calls.append(
                ApiCall("GET", request.path, {}, err.status, err.code, err.message)
            )
            return self._error_response(err)
        self.api_calls.append(ApiCall("GET", request.path, {}, 200))
        return web.json_response(self._resource(sent))

    async def _handle_media(self, request: web.Request) -> web.Response:
        message_sid = request.match_info["sid"]
        media_sid = request.match_info["media"]
        as_json = media_sid.endswith(".json")
        media_sid = media_sid.removesuffix(".json")
        credentials = hdrs.AUTHORIZATION in request.headers
        try:
            self._check_access(request)
            stored = self._media.get((message_sid, media_sid))
            if stored is None:
                raise _TwilioError(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
        except _TwilioError as err:
            self._emit(MediaFetch("api", message_sid, media_sid, err.status, credentials))
            return self._error_response(err)
        if as_json:
            self._emit(MediaFetch("api", message_sid, media_sid, 200, credentials))
            uri = (
                f"/{API_VERSION}/Accounts/{self.account_sid}"
                f"/Messages/{message_sid}/Media/{media_sid}"
            )
            return web.json_response(
                {
                    "account_sid": self.account_sid,
                    "content_type": stored.media.content_type,
                    "date_created": _rfc2822(self.now()),
                    "date_updated": _rfc2822(self.now()),
                    "parent_sid": message_sid,
                    "sid": media_sid,
                    "uri": f"{uri}.json",
                }
            )
        if self._cdn_base_url is None:
            raise web.HTTPServiceUnavailable(text="the media CDN is not running")
        self._emit(MediaFetch("api", message_sid, media_sid, 307, credentials))
        location = f"{self._cdn_base_url}/{self.account_sid}/{stored.cdn_key}"
        return web.Response(status=307, headers={hdrs.LOCATION: location})

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        err = _TwilioError(404, 20404, f"The requested resource {request.path} was not found")
        self.api_calls.append(ApiCall(request.method, request.path, {}, 404, 20404, err.message))
        return self._error_response(err)

    # ---------------------------------------------------------------- HTTP: the CDN

    async def _handle_cdn(self, request: web.Request) -> web.Response:
        stored = self._media_by_key.get(request.match_info["key"])
        credentials = hdrs.AUTHORIZATION in request.headers
        message_sid = stored.media.message_sid if stored else None
        media_sid = stored.media.media_sid if stored else None
        if credentials:
            # What S3 answers a pre-signed URL fetched with an Authorization header too.
            self._emit(MediaFetch("cdn", message_sid, media_sid, 400, True))
            return _s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be "
                "specified",
            )
        if stored is None or request.match_info["account"] != self.account_sid:
            self._emit(MediaFetch("cdn", message_sid, media_sid, 403, False))
            return _s3_error(403, "AccessDenied", "Access Denied")
        self._emit(MediaFetch("cdn", message_sid, media_sid, 200, False))
        return web.Response(body=stored.media.data, content_type=stored.media.content_type)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(login, password) from a ``Basic`` Authorization header, or None."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    login, colon, password = decoded.partition(":")
    return (login, password) if colon else None


def _s3_error(status: int, code: str, message: str) -> web.Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    )
    return web.Response(status=status, text=body, content_type="application/xml")
