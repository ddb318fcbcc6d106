"""The HTTP side: health check and the Telegram webhook (record, commit, then 2xx)."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.core.ports import Clock
from bot.inbound import telegram_chat_key
from storage.database import Database

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Telegram updates are far smaller; anything bigger is not from Telegram
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Intake:
    """Records inbound updates durably before they are acknowledged."""

    def __init__(self, db: Database, clock: Clock, on_recorded: Callable[[], None]) -> None:
        self.db = db
        self.clock = clock
        self.on_recorded = on_recorded

    async def record_telegram(self, update: dict[str, Any]) -> bool:
        """Stores a Telegram update once (deduplicated on update_id); false if seen before."""
        async with self.db.transaction() as uow:
            fresh = await uow.inbound.record(
                "telegram",
                str(update["update_id"]),
                telegram_chat_key(update),
                update,
                self.clock.now(),
            )
        if fresh:
            self.on_recorded()
        return fresh


def telegram_webhook(intake: Intake, secret: str | None) -> Callable[[web.Request], Any]:
    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if secret is None or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("telegram webhook: refused a request without the right secret token")
            return web.Response(status=403, text="forbidden")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413, text="too large")
        try:
            body = await request.read()
            update = json.loads(body)
        except (ValueError, web.HTTPRequestEntityTooLarge):
            return web.Response(status=400, text="not a Telegram update")
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400, text="not a Telegram update")
        try:
            await intake.record_telegram(update)
        except (OperationalError, DBAPIError, OSError):
            log.exception("telegram webhook: database unavailable; Telegram will redeliver")
            return web.Response(status=503, text="try again")
        return web.Response(status=200)

    return receive


def health(is_ready: Callable[[], bool]) -> Callable[[web.Request], Any]:
    async def check(request: web.Request) -> web.Response:
        if not is_ready():
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ok"})

    return check
