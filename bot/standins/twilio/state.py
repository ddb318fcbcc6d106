"""What the Twilio stand-in holds: the simulated people and their conversations, what the
bot sent and each message's statuses, the hosted media, the approved templates, the faults
waiting to strike, and every webhook, status callback and media fetch, recorded for tests and
the playground to read and wait on.

`TwilioState` is the base of the stand-in: everything lives in memory and belongs to one
instance (several can run in one process). It keeps its own controllable clock for the
24-hour window. The conversations (`KEPT`) can be saved and resumed by a later run.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.standins.recording import Recording, Resumable
from bot.standins.twilio.api import (
    ACCOUNT_SID_RE,
    ADDRESS_RE,
    CONTENT_SID_RE,
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_WHATSAPP_FROM,
    E164_RE,
)
from bot.standins.twilio.limits import SESSION_WINDOW, SenderRate

__all__ = [
    "ApiCall",
    "CallbackAttempt",
    "Event",
    "InboundMedia",
    "MediaFetch",
    "MediaFetchError",
    "SentMessage",
    "StatusChange",
    "TranscriptEntry",
    "TwilioState",
    "WebhookDelivery",
    "WhatsAppUser",
]

_PLACEHOLDER_RE = re.compile(r"\{\{\s*([0-9A-Za-z_]+)\s*\}\}")

MessageStatus = Literal["queued", "sent", "delivered", "read", "failed", "undelivered"]


@dataclass(frozen=True)
class WhatsAppUser:
    """A simulated WhatsApp user: an E.164 number (``+62...``) and a profile name."""

    number: str = "+6281234567890"
    profile_name: str = "Siti"

    def __post_init__(self) -> None:
        if not E164_RE.fullmatch(self.number):
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


@dataclass
class Fault:
    """An error answer `fail_next` queued for the next message creations."""

    status: int
    code: int
    message: str | None
    number: str | None
    remaining: int


@dataclass
class DeliveryFault:
    """A failure `fail_delivery` queued for the next messages to `number`."""

    number: str
    status: Literal["failed", "undelivered"]
    code: int
    remaining: int


@dataclass
class Delay:
    """A hold-up `delay` set on message creation."""

    seconds: float
    remaining: int | None


@dataclass(frozen=True)
class Template:
    sid: str
    text: str
    defaults: dict[str, str]


@dataclass
class StoredMedia:
    media: InboundMedia
    cdn_key: str


@dataclass
class Lifecycle:
    """The statuses still to go through for one message, worked off by one task in order."""

    pending: deque[tuple[MessageStatus, int | None]] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None
    media_checked: bool = False
    will_deliver: bool = True
    read_scheduled: bool = False
    started: bool = False


def number_of(target: str | WhatsAppUser) -> str:
    """``+62...`` from a user, a ``whatsapp:+62...`` address or a number."""
    if isinstance(target, WhatsAppUser):
        return target.number
    return target.removeprefix("whatsapp:")


class TwilioState(Recording[Event, SentMessage, str | WhatsAppUser | None], Resumable):
    """The stand-in's memory and what can be read from it; see `TwilioStandIn` for the
    arguments."""

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
        if not ACCOUNT_SID_RE.fullmatch(account_sid):
            raise ValueError(
                f"an account SID is AC + 32 lower-case hex digits, not {account_sid!r}"
            )
        if not auth_token:
            raise ValueError("the auth token must not be empty")
        if not ADDRESS_RE.fullmatch(whatsapp_from):
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
        self._rate = SenderRate(rate_clock)
        self._validator = RequestValidator(auth_token)

        self._sent: list[SentMessage] = []
        self._by_sid: dict[str, SentMessage] = {}
        self._lifecycles: dict[str, Lifecycle] = {}
        self._transcript: list[TranscriptEntry] = []
        self._last_inbound: dict[str, datetime] = {}
        self._profile_names: dict[str, str] = {}
        self._delivered_sids: set[str] = set()
        self._idempotency: dict[str, str] = {}
        self._templates: dict[str, Template] = {}
        self._media: dict[tuple[str, str], StoredMedia] = {}
        self._media_by_key: dict[str, StoredMedia] = {}
        self._faults: list[Fault] = []
        self._delivery_faults: list[DeliveryFault] = []
        self._delay: Delay | None = None

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

    # ---------------------------------------------------------------- where it is served

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
        return self._last_inbound.get(number_of(number))

    def set_last_inbound(self, number: str | WhatsAppUser, at: datetime | None) -> None:
        """Pretends `number` last wrote at `at` (None: never), without a webhook POST."""
        key = number_of(number)
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
        if not CONTENT_SID_RE.fullmatch(content_sid):
            raise ValueError(f"a Content SID is HX + 32 hex digits, not {content_sid!r}")
        self._templates[content_sid] = Template(content_sid, text, dict(defaults or {}))

    def render_template(self, content_sid: str, variables: Mapping[str, str] | None = None) -> str:
        """The text of a registered template with `variables` filled in (missing ones stay)."""
        template = self._templates[content_sid]
        return self._render(template, dict(variables or {}))[0]

    @staticmethod
    def _render(template: Template, variables: Mapping[str, str]) -> tuple[str, list[str]]:
        missing: list[str] = []

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            value = variables.get(name, template.defaults.get(name))
            if value is None:
                missing.append(name)
                return match.group(0)
            return value

        return _PLACEHOLDER_RE.sub(fill, template.text), missing

    # ---------------------------------------------------------------- what was recorded

    def messages(self, to: str | WhatsAppUser | None = None) -> list[SentMessage]:
        """What the bot sent to `to` (a number, address or user; default everyone), in order."""
        if to is None:
            return list(self._sent)
        number = number_of(to)
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
            raise AssertionError(f"the bot sent nothing to {number_of(to)}")
        return sent[-1]

    def transcript(self, number: str | WhatsAppUser | None = None) -> list[TranscriptEntry]:
        """The conversation with `number` (or all of them): people and bot, in order."""
        if number is None:
            return list(self._transcript)
        key = number_of(number)
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
        where = f" to {number_of(to)}" if to is not None else ""
        after = f" after {timeout} s" if timeout is not None else ""
        lines = [f"Timed out{after} waiting for {what}{where}.", "What each number received:"]
        names = dict(self._profile_names)
        if isinstance(to, WhatsAppUser):
            names.setdefault(to.number, to.profile_name)
        numbers = list(dict.fromkeys([m.number for m in self._sent]))
        if to is not None and number_of(to) not in numbers:
            numbers.append(number_of(to))
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

    # ---------------------------------------------------------------- recording

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
