"""python-telegram-bot's requests over aiohttp, the HTTP client the service already runs.

PTB sends through httpx by default; per Bot API call its client, connection pool and
anyio stream layers cost more CPU than the call's own work (about a third of sending a
message). PTB accepts any `telegram.request.BaseRequest`: this one posts JSON (or
multipart with files) through one `aiohttp.ClientSession` and maps aiohttp's failures to
PTB's (`TimedOut`, `NetworkError`), so the sender's handling of errors is unchanged.
"""

from __future__ import annotations

import io
import ssl
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

JSON = "application/json"


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` over one aiohttp session, made in `initialize` (a running loop)."""

    __slots__ = ("_connect", "_limit", "_pool", "_read", "_session", "_ssl", "_write")

    def __init__(
        self,
        *,
        connection_pool_size: int,
        tls: ssl.SSLContext,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._limit = connection_pool_size
        self._ssl = tls
        self._connect = connect_timeout
        self._read = read_timeout
        self._write = write_timeout
        self._pool = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, ssl=self._ssl)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        write = self._write if isinstance(write_timeout, DefaultValue) else write_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        # aiohttp has no write timeout: a body that cannot be written in `write` seconds
        # ends the request once the whole exchange took longer than both together.
        timeout = aiohttp.ClientTimeout(
            total=_sum(read, write), connect=pool, sock_connect=connect, sock_read=read
        )
        kwargs: dict[str, Any] = {"timeout": timeout}
        if request_data is not None:
            if request_data.contains_files:
                kwargs["data"] = _multipart(request_data)
            elif request_data.json_parameters:
                kwargs["data"] = request_data.json_payload
                kwargs["headers"] = {"Content-Type": JSON}
        try:
            async with self._session.request(method, url, **kwargs) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _sum(read: float | None, write: float | None) -> float | None:
    if read is None or write is None:
        return None
    return read + write


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False, default_to_multipart=True)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        # Large raw bytes in a form make aiohttp warn that they may block the loop; it
        # streams a file object in chunks. (A part without a file name: url-encoded.)
        body = io.BytesIO(content) if isinstance(content, bytes) else content
        form.add_field(name, body, filename=filename or name, content_type=mimetype)
    return form
