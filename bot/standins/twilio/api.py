"""Twilio's REST API as the stand-in speaks it: the API version, the default account and
sender, the error codes with Twilio's messages and the error answer, addresses and SIDs.
"""

from __future__ import annotations

import email.utils
import re
import secrets
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

__all__ = [
    "API_VERSION",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_WHATSAPP_FROM",
    "ERROR_MESSAGES",
    "TwilioError",
]

JSONDict = dict[str, Any]

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "ACdeadbeefdeadbeefdeadbeefdeadbeef"
DEFAULT_AUTH_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
DEFAULT_WHATSAPP_FROM = "whatsapp:+14155238886"

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

DEFAULT_CODE_BY_STATUS = {400: 21211, 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}
ADDRESS_RE = re.compile(r"whatsapp:(\+[1-9][0-9]{6,14})")
E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")
ACCOUNT_SID_RE = re.compile(r"AC[0-9a-f]{32}")
CONTENT_SID_RE = re.compile(r"HX[0-9a-fA-F]{32}")


class TwilioError(Exception):
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


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC))
