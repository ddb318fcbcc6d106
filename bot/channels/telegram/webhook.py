"""Telegram's webhook: checks the secret token and the body, then records the update
in the inbox (committed before Telegram gets its 2xx)."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.channels.telegram.intake import record_update
from bot.inbox.intake import Intake, not_recorded

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Telegram updates are far smaller; anything bigger is not from Telegram
# Telegram's updates nest about ten levels (a reply quoting a message with entities);
# anything far deeper is not an update.
MAX_DEPTH = 64
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


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
            await record_update(intake, update)
        except Exception as error:
            return not_recorded("telegram webhook", error)
        return web.Response(status=200)

    return receive
