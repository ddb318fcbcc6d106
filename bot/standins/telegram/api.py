"""The Bot API as the stand-in reads it: the methods it answers, a request's parameters, and
its error answers.

python-telegram-bot never sends JSON: without files it sends
``application/x-www-form-urlencoded``, with files ``multipart/form-data``; in both, string
parameters are sent as they are and every other value (numbers, booleans, lists, objects such
as ``reply_markup``) as JSON text. Uploads are parts named after the parameter (``photo``) or,
inside ``sendMediaGroup`` and for thumbnails, parts named in an ``attach://<name>`` reference.
`Params` therefore reads each parameter by the type the Bot API gives it, and also accepts a
JSON body, where values arrive already typed.

Only the methods the service calls exist (`SUPPORTED_METHODS`); any other answers 404 Not
Found, which python-telegram-bot raises as ``InvalidToken`` (``EndPointNotFound`` from
``Bot.do_api_request``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SUPPORTED_METHODS", "ApiError", "JSONDict", "Params", "Upload", "method_name"]

JSONDict = dict[str, Any]

SUPPORTED_METHODS: tuple[str, ...] = (
    "getMe",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendVideo",
    "sendAudio",
    "sendVoice",
    "sendMediaGroup",
    "sendLocation",
    "answerCallbackQuery",
    "editMessageReplyMarkup",
    "getFile",
    "getChatMember",
)
"""The Bot API methods the service calls, and so the only ones the stand-in answers."""
_METHOD_BY_KEY = {name.lower(): name for name in SUPPORTED_METHODS}


def method_name(method: str) -> str:
    """The Bot API name of `method`, given in any case or snake_case (``send_message``)."""
    name = _METHOD_BY_KEY.get(method.replace("_", "").lower())
    if name is None:
        raise ValueError(f"the stand-in does not implement {method!r}")
    return name


def requested_method(path_part: str) -> str | None:
    """The method a request's URL names (case-insensitive, as Telegram), if it exists."""
    return _METHOD_BY_KEY.get(path_part.lower())


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        data: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            data["parameters"] = self.parameters
        return data


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


class Params:
    """A request's parameters, read by the type the Bot API gives each one.

    Form and multipart requests carry strings (JSON text for anything but strings); a JSON
    body carries typed values. The getters accept both.
    """

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, Upload]) -> None:
        self.values = dict(values)
        self.uploads = dict(uploads)

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None or name in self.uploads

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        return json.dumps(value)

    def get_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Number')
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value.strip())
        raise bad_request(f'field "{name}" must be of type Number')

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value.strip())
        raise bad_request(f'field "{name}" must be of type Number')

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0", ""):
            return value.strip().lower() in ("true", "1")
        raise bad_request(f'field "{name}" must be of type Boolean')

    def get_json(self, name: str, what: str | None = None) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None

    def summary(self) -> JSONDict:
        """The parameters for the call log, uploads described rather than included."""
        data: JSONDict = {}
        for name, value in self.values.items():
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            data[name] = value
        for name, upload in self.uploads.items():
            data[name] = f"<upload {upload.filename!r}, {len(upload.data)} bytes>"
        return data
