"""The Twilio stand-in as two local HTTP servers: the REST API (create a message, fetch a
message's media) and the CDN standing in for the storage behind Twilio's media URLs.

What it checks, as Twilio does:

* HTTP basic auth with the account SID and auth token (401, code 20003); another account in
  the path answers 404 (20404), as does any route the service does not use.
* ``To``/``From`` are ``whatsapp:+E164``; ``From`` is the configured sender (63007); ``Body``
  is at most 1,600 characters (21617); there is a ``Body``, a ``MediaUrl`` or a
  ``ContentSid`` (21619); the ``ContentSid`` is a registered template (21655) and
  ``ContentVariables`` is a JSON object of non-empty strings without newlines, tabs or runs of
  more than four spaces, as WhatsApp requires (21656).
* Media URLs need basic auth and answer 307 to the CDN, which refuses (400) any request that
  carries an ``Authorization`` header, as the S3 buckets behind Twilio's media URLs do.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
from collections.abc import Mapping

from aiohttp import hdrs, web

from bot.standins.recording import StandInServer, is_loopback_host, serve
from bot.standins.twilio.api import ADDRESS_RE, API_VERSION, JSONDict, TwilioError, rfc2822
from bot.standins.twilio.limits import BAD_VARIABLE_RE, MAX_BODY_LENGTH, MAX_MEDIA_URLS
from bot.standins.twilio.state import ApiCall, MediaFetch, SentMessage
from bot.standins.twilio.updates import UpdateBuilders

__all__ = ["TwilioStandIn"]


def _form_summary(form: Mapping[str, str | list[str]]) -> dict[str, str | list[str]]:
    return {key: (list(value) if isinstance(value, list) else value) for key, value in form.items()}


class TwilioStandIn(UpdateBuilders, StandInServer):
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

    def make_app(self) -> web.Application:
        """A new aiohttp application serving this stand-in's REST API.

        Routes, under ``/2010-04-01/Accounts/{AccountSid}``: ``POST /Messages.json`` and
        ``GET /Messages/{Sid}/Media/{MediaSid}`` (307 to the CDN, which `start` serves).
        Anything else answers Twilio's 404.
        """
        app = web.Application()
        base = f"/{API_VERSION}/Accounts/{{account}}"
        app.router.add_post(f"{base}/Messages.json", self._handle_create)
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
            raise TwilioError(401, 20003)
        if request.match_info.get("account") != self.account_sid:
            raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")

    def _error_response(self, err: TwilioError) -> web.Response:
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
        except TwilioError as err:
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

    def _check_rate(self, sender: str) -> None:
        if self.enforce_rate and not self._rate.admit(sender, self.enforce_rate):
            raise TwilioError(429, 20429)

    async def _create(self, form: Mapping[str, str | list[str]]) -> SentMessage:
        def text(name: str) -> str | None:
            value = form.get(name)
            return value if isinstance(value, str) and value != "" else None

        to, from_ = text("To"), text("From")
        if to is None:
            raise TwilioError(400, 21604)
        if from_ is None:
            raise TwilioError(400, 21603)
        if not to.startswith("whatsapp:") or not from_.startswith("whatsapp:"):
            raise TwilioError(400, 21910)
        if not ADDRESS_RE.fullmatch(to):
            raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not ADDRESS_RE.fullmatch(from_):
            raise TwilioError(400, 21212, f"Invalid 'From' Phone Number: {from_}")
        if from_ != self.whatsapp_from:
            raise TwilioError(400, 63007)
        body = text("Body")
        raw_media = form.get("MediaUrl", [])
        media_urls = tuple(u for u in (raw_media if isinstance(raw_media, list) else []) if u)
        content_sid = text("ContentSid")
        raw_variables = text("ContentVariables")
        if body is not None and len(body) > MAX_BODY_LENGTH:
            raise TwilioError(400, 21617)
        if len(media_urls) > MAX_MEDIA_URLS:
            raise TwilioError(400, 21623)
        if raw_variables is not None and content_sid is None:
            raise TwilioError(400, 21654)
        if body is None and not media_urls and content_sid is None:
            raise TwilioError(400, 21619)
        variables: dict[str, str] = {}
        if content_sid is not None:
            if content_sid not in self._templates:
                raise TwilioError(400, 21655, f"The ContentSid is Invalid: {content_sid}")
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
            raise TwilioError(
                400, 21656, "The ContentVariables Parameter is invalid: not JSON"
            ) from None
        if not isinstance(parsed, dict):
            raise TwilioError(
                400, 21656, "The ContentVariables Parameter is invalid: not an object"
            )
        variables: dict[str, str] = {}
        for key, value in parsed.items():
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise TwilioError(
                    400, 21656, f"The ContentVariables Parameter is invalid: {key!r} is not text"
                )
            value = str(value)
            if not value.strip():
                raise TwilioError(
                    400, 21656, f"The ContentVariables Parameter is invalid: {key!r} is empty"
                )
            if BAD_VARIABLE_RE.search(value):
                raise TwilioError(
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
            "date_created": rfc2822(sent.date_created),
            "date_sent": rfc2822(sent_at) if sent_at else None,
            "date_updated": rfc2822(updated),
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

    async def _handle_media(self, request: web.Request) -> web.Response:
        message_sid = request.match_info["sid"]
        media_sid = request.match_info["media"]
        credentials = hdrs.AUTHORIZATION in request.headers
        try:
            self._check_access(request)
            stored = self._media.get((message_sid, media_sid))
            if stored is None:
                raise TwilioError(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
        except TwilioError as err:
            self._emit(MediaFetch("api", message_sid, media_sid, err.status, credentials))
            return self._error_response(err)
        if self._cdn_base_url is None:
            raise web.HTTPServiceUnavailable(text="the media CDN is not running")
        self._emit(MediaFetch("api", message_sid, media_sid, 307, credentials))
        location = f"{self._cdn_base_url}/{self.account_sid}/{stored.cdn_key}"
        return web.Response(status=307, headers={hdrs.LOCATION: location})

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        err = TwilioError(404, 20404, f"The requested resource {request.path} was not found")
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
