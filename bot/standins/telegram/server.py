"""The Telegram stand-in as a local HTTP server: its lifetime, its routes
(``/bot{token}/{method}`` and ``/file/bot{token}/{file_path}``), reading a request and
dispatching it to its method, with the injected faults and the call log on the way.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import BodyPartReader, hdrs, web

from bot.standins.recording import StandInServer, serve
from bot.standins.telegram.api import ApiError, Params, Upload, bad_request, requested_method
from bot.standins.telegram.limits import MAX_UPLOAD_BYTES
from bot.standins.telegram.methods import BotApiMethods
from bot.standins.telegram.state import ApiCall

__all__ = ["TelegramStandIn"]

_LOG = logging.getLogger(__name__)


class TelegramStandIn(BotApiMethods, StandInServer):
    """A Bot API server for one bot, with simulated people and a record of what they saw.

    Args:
        token: the bot token the server accepts (others answer 401 Unauthorized). Its numeric
            part before ``:`` is the bot's user id.
        bot_username: the username ``getMe`` reports.
        bot_name: the first name ``getMe`` reports.
        enforce_limits: answer 429 Too Many Requests beyond Telegram's broadcast limits (see
            `GLOBAL_MESSAGES_PER_SECOND`, `GROUP_MESSAGES_PER_MINUTE`, `PRIVATE_BURST`). Can be
            switched later through the attribute of the same name.
        privacy_mode: in groups, deliver only what a bot in privacy mode receives.
        allow_remote_webhooks: let `deliver` POST to webhook URLs that are not loopback.
        clock: monotonic seconds, for the rate limits (tests can pass a fake one).
        first_update_id: the update_id of the first simulated update.
    """

    # ---------------------------------------------------------------- lifetime

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serves the API on `host`:`port` (0 picks a free port); see `base_url`."""
        if self._runner is not None:
            raise RuntimeError("the Telegram stand-in is already running")
        self._stopping.clear()
        self._app = self.make_app()
        self._runner, self._base_url = await serve(self._app, host, port)

    async def stop(self) -> None:
        """Stops serving; waiting long polls and delayed calls end at once."""
        await self._begin_shutdown()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        await self._close_session()
        self._base_url = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the value for ``TELEGRAM_API_BASE_URL``."""
        if self._base_url is None:
            raise RuntimeError("the Telegram stand-in is not running; await start() first")
        return self._base_url

    def make_app(self) -> web.Application:
        """A new aiohttp application serving this stand-in's API, to run or mount elsewhere.

        Routes: ``GET|POST /bot{token}/{method}`` and ``GET /file/bot{token}/{file_path}``.
        """
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("POST", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._handle_file)
        app.on_startup.append(self._on_app_startup)
        app.on_shutdown.append(self._on_app_shutdown)
        app.on_cleanup.append(self._on_app_cleanup)
        return app

    async def _on_app_startup(self, app: web.Application) -> None:
        self._stopping.clear()

    async def _on_app_shutdown(self, app: web.Application) -> None:
        await self._begin_shutdown()

    async def _on_app_cleanup(self, app: web.Application) -> None:
        await self._close_session()

    async def _begin_shutdown(self) -> None:
        self._stopping.set()
        await self._notify()

    # ---------------------------------------------------------------- HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error_response(ApiError(401, "Unauthorized"))
        requested = request.match_info["method"]
        method = requested_method(requested)
        params = Params({}, {})
        try:
            params = await self._read_params(request)
            if method is None:
                _LOG.warning("Telegram stand-in: the bot called unknown method %r", requested)
                raise ApiError(404, "Not Found")
            result = await self._call(method, params)
        except ApiError as err:
            call = ApiCall(method or requested, params.summary(), err.status, err.description)
            self.api_calls.append(call)
            return self._error_response(err)
        self.api_calls.append(ApiCall(method, params.summary(), 200))
        return web.json_response({"ok": True, "result": result})

    def _error_response(self, err: ApiError) -> web.Response:
        if err.status == 429:
            self.too_many_requests += 1
        return web.json_response(err.body(), status=err.status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self._files_by_path.get(request.match_info["file_path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        content_type = str(stored.meta.get("mime_type") or "application/octet-stream")
        return web.Response(body=stored.data, content_type=content_type)

    async def _read_params(self, request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if not request.body_exists:
            return Params(values, uploads)
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON encoded request body")
            values.update(body)
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                data = bytes(await part.read(decode=True))
                if part.filename is not None:
                    content_type = part.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
                    uploads[part.name] = Upload(part.filename, content_type, data)
                else:
                    values[part.name] = data.decode(part.get_charset(default="utf-8"))
        else:
            form = await request.post()
            values.update((key, value) for key, value in form.items() if isinstance(value, str))
        return Params(values, uploads)

    async def _call(self, method: str, params: Params) -> Any:
        self._in_flight[method] += 1
        await self._notify()
        try:
            return await self._answer(method, params)
        finally:
            self._in_flight[method] -= 1

    async def _answer(self, method: str, params: Params) -> Any:
        await self._strike(method, params)
        return await self._bot_api()[method](params)
