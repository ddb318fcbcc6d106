"""Twilio's webhooks for WhatsApp: an inbound message and a delivery status, each
checked by its signature and recorded in the inbox before Twilio gets its answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.inbox.intake import Intake, not_recorded

log = logging.getLogger(__name__)

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
