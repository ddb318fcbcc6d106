"""The HTTP side: health check and the Telegram webhook (record, commit, then 2xx)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.exc import DBAPIError
from telegram import Bot
from telegram.error import TelegramError
from twilio.request_validator import RequestValidator

from bot.core.model import Channel
from bot.core.ports import Clock
from bot.inbound import telegram_chat_key, without_controls
from bot.media import MediaStore
from storage.database import Database, error_class, is_outage
from storage.uow import InboundDelivery

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Telegram updates are far smaller; anything bigger is not from Telegram
# Telegram's updates nest about ten levels (a reply quoting a message with entities);
# anything far deeper is not an update.
MAX_DEPTH = 64
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


# Updates stored in one transaction at most (a burst after an outage comes in these).
MAX_BATCH = 500
# On PostgreSQL the processor waits for a pause in the webhooks this long before handling
# an update, but never longer than GIVE_WAY_LIMIT in all (a flood must not stop handling).
# Not on SQLite: its writers take turns anyway, and a burst there was stored faster, and
# a steady flow handled sooner, without the pause (bench/intake.py).
QUIET = 0.002
GIVE_WAY_LIMIT = 0.5


@dataclass
class _Waiting:
    delivery: InboundDelivery
    fresh: asyncio.Future[bool]


class Intake:
    """Records inbound updates durably before they are acknowledged.

    Updates that arrive while a write is under way are stored together by the next one:
    one transaction and one commit for a burst, where one each would queue for SQLite's
    write lock (or a PostgreSQL connection) and make every webhook wait for all those
    before it. Each caller still returns only once its update is committed.

    What is recorded is cleared of control characters (`without_controls`): PostgreSQL
    cannot store a NUL, and an update that cannot be stored cannot be handled either.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        on_recorded: Callable[[], None],
        counted: Callable[[str], None] | None = None,
        quiet: float | None = None,
    ) -> None:
        self.db = db
        self.quiet = (QUIET if db.dialect == "postgresql" else 0.0) if quiet is None else quiet
        self.clock = clock
        self.on_recorded = on_recorded
        self.counted = counted  # told the source of each new update (the metrics)
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._stored = asyncio.Event()  # set (and replaced) as each batch is done
        self._last_stored = 0.0  # the loop's time when the last batch was done

    async def record(
        self, source: str, external_id: str, chat_key: str, payload: dict[str, Any]
    ) -> bool:
        """Stores an inbound update once (deduplicated on its id); false if seen before."""
        waiting = _Waiting(
            InboundDelivery(
                source,
                without_controls(external_id),
                without_controls(chat_key),
                without_controls(payload),
            ),
            asyncio.get_running_loop().create_future(),
        )
        self._waiting.append(waiting)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="intake")
        return await waiting.fresh

    async def give_way(self) -> None:
        """Waits while updates are being stored, and while webhooks keep arriving (a
        batch stored less than `quiet` ago), for at most GIVE_WAY_LIMIT.

        The processor asks before each update it handles, so that a burst of webhooks
        is acknowledged first: their time is what Telegram waits for (and what it
        redelivers after). Handling one update takes longer than storing a batch, so
        during a burst (the next webhooks already on their way) it waits for a pause.
        """
        loop = asyncio.get_running_loop()
        until = loop.time() + GIVE_WAY_LIMIT
        while loop.time() < until:
            if self._writer is not None:
                await self._stored.wait()
            elif loop.time() - self._last_stored < self.quiet:
                await asyncio.sleep(self.quiet)
            else:
                return

    async def record_telegram(self, update: dict[str, Any]) -> bool:
        """Stores a Telegram update once (deduplicated on update_id)."""
        return await self.record(
            "telegram", str(update["update_id"]), telegram_chat_key(update), update
        )

    async def _write(self) -> None:
        """Stores what waits, a batch a transaction, until nothing does."""
        batch: list[_Waiting] = []
        try:
            while self._waiting:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                try:
                    fresh = await self._store([waiting.delivery for waiting in batch])
                except Exception as error:
                    if is_outage(error) or len(batch) == 1:
                        # the database is down (or refused the only one): each webhook says so
                        for waiting in batch:
                            _settle(waiting, error=error)
                        continue
                    # One update the database refuses must not fail the others.
                    for waiting in batch:
                        try:
                            _settle(waiting, (await self._store([waiting.delivery]))[0])
                        except Exception as single:
                            _settle(waiting, error=single)
                else:
                    for waiting, new in zip(batch, fresh, strict=True):
                        _settle(waiting, new)
                finally:
                    self._last_stored = asyncio.get_running_loop().time()
                    self._stored.set()
                    self._stored = asyncio.Event()
        except asyncio.CancelledError:  # the service is stopping: nobody gets a 200
            for waiting in [*batch, *self._waiting]:
                waiting.fresh.cancel()
            raise
        finally:
            self._writer = None

    async def _store(self, deliveries: list[InboundDelivery]) -> list[bool]:
        async with self.db.transaction(urgent=True) as uow:
            fresh = await uow.inbound.record_many(deliveries, self.clock.now())
        for delivery, new in zip(deliveries, fresh, strict=True):
            if new:
                self.on_recorded()
                if self.counted is not None:
                    self.counted(delivery.source)
        return fresh


def _settle(waiting: _Waiting, fresh: bool = False, error: BaseException | None = None) -> None:
    """Tells a webhook how its update fared (unless it stopped waiting)."""
    if waiting.fresh.done():
        return
    if error is not None:
        waiting.fresh.set_exception(error)
    else:
        waiting.fresh.set_result(fresh)


def not_recorded(webhook: str, error: Exception) -> web.Response:
    """The answer to a webhook whose update could not be stored: 503 while the database is
    unavailable (the provider delivers it again), 400 when the database refused it for its
    content (it would be refused again each time); any other error goes on (a 500)."""
    if is_outage(error):
        log.exception("%s: database unavailable; the provider will deliver it again", webhook)
        return web.Response(status=503, text="try again")
    if isinstance(error, DBAPIError):
        log.error("%s: the database refused the update (%s)", webhook, error_class(error))
        return web.Response(status=400, text="not storable")
    raise error


def valid_update_id(value: object) -> bool:
    """An update id is a positive integer within 64 bits (a JSON `true` is not)."""
    return type(value) is int and 0 < value < 2**63


def too_deep(value: object) -> bool:
    """Whether the JSON value nests deeper than `MAX_DEPTH` (looked at without recursion:
    a deep body must not exhaust the stack here nor when it is stored or handled)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack += [(child, depth + 1) for child in item.values()]
        elif isinstance(item, list):
            stack += [(child, depth + 1) for child in item]
    return False


def telegram_webhook(intake: Intake, secret: str | None) -> Callable[[web.Request], Any]:
    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if secret is None or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("telegram webhook: refused a request without the right secret token")
            return web.Response(status=403, text="forbidden")
        if request.content_length is not None and request.content_length > MAX_BODY:
            log.warning("telegram webhook: refused a body of %s bytes", request.content_length)
            return web.Response(status=413, text="too large")
        try:
            body = await request.read()
            update = json.loads(body)
        except web.HTTPRequestEntityTooLarge:
            log.warning("telegram webhook: refused a body over %s bytes", MAX_BODY)
            return web.Response(status=413, text="too large")
        except (ValueError, RecursionError):
            log.warning("telegram webhook: refused a body that is not JSON (or nested too deep)")
            return web.Response(status=400, text="not a Telegram update")
        if not isinstance(update, dict) or not valid_update_id(update.get("update_id")):
            log.warning("telegram webhook: refused JSON without a valid update_id")
            return web.Response(status=400, text="not a Telegram update")
        if too_deep(update):
            log.warning("telegram webhook: refused an update nested over %s levels", MAX_DEPTH)
            return web.Response(status=400, text="not a Telegram update")
        try:
            await intake.record_telegram(update)
        except Exception as error:
            return not_recorded("telegram webhook", error)
        return web.Response(status=200)

    return receive


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def twilio_webhook(
    intake: Intake, auth_token: str, public_base_url: str, source: str
) -> Callable[[web.Request], Any]:
    """Takes Twilio's form posts: checks the signature, records, answers empty TwiML.

    The signature covers the public URL Twilio called, which behind a TLS proxy is not
    the URL this server sees: it is rebuilt from PUBLIC_BASE_URL.
    """
    validator = RequestValidator(auth_token)
    status = source.endswith("_status")

    async def receive(request: web.Request) -> web.Response:
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:
            log.warning("twilio webhook: refused a body over the size limit")
            return web.Response(status=413, text="too large")
        except ValueError:
            log.warning("twilio webhook: refused a body that is not a form")
            return web.Response(status=400, text="not a Twilio request")
        params = {key: str(form[key]) for key in form}
        url = public_base_url + request.path_qs
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not validator.validate(url, params, signature):
            log.warning("twilio webhook: refused a request with a bad or missing signature")
            return web.Response(status=403, text="forbidden")
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        if not sid:
            return web.Response(status=400, text="no MessageSid")
        if status:
            external = f"{sid}:{params.get('MessageStatus') or params.get('SmsStatus') or ''}"
        else:
            external = sid
        try:
            await intake.record(source, external, params.get("From", ""), params)
        except Exception as error:
            return not_recorded("twilio webhook", error)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    return receive


def media_files(
    store: MediaStore, bot: Bot, on_record: Callable[[str], Awaitable[bool]]
) -> Callable[[web.Request], Any]:
    """Serves an attachment by a link the bot made (for Twilio to fetch and forward).

    Always as a download (`attachment`, `nosniff`): a file a reporter or a unit sent must
    never open as a page of this service. A Telegram file is served from its copy on disk,
    and only while a case holds it (not once the case is anonymised or its reporter
    forgotten: `on_record` tells, by the file's Telegram id).
    """

    async def serve(request: web.Request) -> web.StreamResponse:
        attachment = store.resolve(request.match_info["token"])
        if attachment is None:
            return web.Response(status=404)
        headers = {
            "Content-Type": store.content_type(attachment),
            "Content-Disposition": f'attachment; filename="{store.download_name(attachment)}"',
            "X-Content-Type-Options": "nosniff",
        }
        if attachment.source is Channel.TELEGRAM:
            if not await on_record(attachment.ref):
                return web.Response(status=404)
        path = store.stored_file(attachment)
        if path is None and attachment.source is Channel.TELEGRAM:
            try:
                path = await store.telegram_copy(bot, attachment)
            except (TelegramError, aiohttp.ClientError) as exc:
                log.warning("media link: Telegram file not available: %s", exc)
                return web.Response(status=502)
        if path is None:
            return web.Response(status=404)
        return web.FileResponse(path, headers=headers)

    return serve
