"""What the stand-ins share: serving their app, and recording what happens and waiting on it.

Each stand-in keeps its own record (the bot's messages, what the simulated people did, ...)
and its own failure report. `Recording` is what they share around that record: the
condition notified on every change, the queues of the subscribers, and waiting with a
deadline that ends in an `AssertionError` carrying the stand-in's report. `StandInServer`
is their life as a local server: `async with`, the app, the client session, and `serve`.
`Resumable` carries their conversations over to a later run (the playground's restarts).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import pickle
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import aiohttp
from aiohttp import web

__all__ = ["Recording", "Resumable", "StandInServer", "serve"]

E = TypeVar("E")
M = TypeVar("M")
W = TypeVar("W")


def _count_or_predicate(
    condition: int | Callable[[list[M]], bool], what: str | None
) -> tuple[Callable[[list[M]], bool], str]:
    """The check behind ``wait_for(condition, what=...)`` and the name of what it awaits.

    `condition` is a count (at least that many messages) or a predicate over the messages;
    `what` names the awaited thing, by default ``"N message(s)"`` or the predicate's name.
    """
    if isinstance(condition, int):
        count = condition

        def at_least(messages: list[M]) -> bool:
            return len(messages) >= count

        return at_least, what or f"{count} message(s)"
    return condition, what or str(getattr(condition, "__name__", "the condition"))


class Recording(Generic[E, M, W]):
    """A base for a stand-in that records events of type `E` and messages of type `M`.

    `W` is how the stand-in says where messages went (a chat id, a phone number), None
    meaning everywhere. The stand-in calls `_publish` for each event it records and
    `_notify` after each change of its state; `subscribe` streams the events and the
    ``_wait_*`` helpers wait on the state. `_changed` is the condition itself, for a stand-in
    that waits on it in its own way (the Telegram stand-in's long polls).

    Args:
        messages: the bot's messages to a `W`, oldest first (the stand-in's ``messages``).
        text_of: the text of a message that `_wait_for_text` searches.
        report: ``report(what, where, timeout)``, the stand-in's account of what everyone
            received, for the `AssertionError` of a wait for messages that timed out.
    """

    def __init__(
        self,
        messages: Callable[[W], list[M]],
        *,
        text_of: Callable[[M], str],
        report: Callable[[str, W, float], str],
    ) -> None:
        self._changed = asyncio.Condition()
        self._subscribers: list[asyncio.Queue[E]] = []
        self._recorded_messages = messages
        self._text_of = text_of
        self._timeout_report = report

    def subscribe(self) -> asyncio.Queue[E]:
        """A queue that receives every event recorded from now on (a `TranscriptEntry` of
        the Telegram stand-in, an `Event` of the Twilio one)."""
        queue: asyncio.Queue[E] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[E]) -> None:
        """Stops feeding `queue` (one that is not subscribed is ignored)."""
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    def _publish(self, event: E) -> None:
        for queue in self._subscribers:
            queue.put_nowait(event)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 - a deadline for the predicate, not cancellation
        describe_failure: Callable[[], str],
    ) -> None:
        """Waits until `predicate` holds, checked now and after every `_notify`.

        After `timeout` seconds raises `AssertionError` with ``describe_failure()``, called
        only then, so that it reports the state at the deadline.
        """
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(describe_failure()) from None

    async def _wait_for_messages(
        self,
        condition: int | Callable[[list[M]], bool],
        where: W,
        timeout: float,  # noqa: ASYNC109 - as in _wait_until
        what: str | None,
    ) -> list[M]:
        """Waits until the messages to `where` satisfy `condition` (a count or a predicate);
        returns them. The timeout report names `what` (or the count or predicate)."""
        check, awaited = _count_or_predicate(condition, what)
        await self._wait_until(
            lambda: check(self._recorded_messages(where)),
            timeout,
            lambda: self._timeout_report(awaited, where, timeout),
        )
        return self._recorded_messages(where)

    async def _wait_for_text(
        self,
        where: W,
        fragment: str,
        timeout: float,  # noqa: ASYNC109 - as in _wait_until
    ) -> M:
        """Waits for a message to `where` whose text contains `fragment`; returns the first."""
        messages = await self._wait_for_messages(
            lambda sent: any(fragment in self._text_of(m) for m in sent),
            where,
            timeout,
            f"a message containing {fragment!r}",
        )
        return next(m for m in messages if fragment in self._text_of(m))


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Serves `app` on `host`:`port` (0: a free port); the runner and its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return runner, f"http://{shown}:{int(runner.addresses[0][1])}"


class Resumable:
    """A stand-in whose conversations outlive the process, as the real service's do.

    `KEPT` names the attributes the conversations are made of: the chats, what was said,
    the files, the counters. `saved` is them pickled; `resume` puts them into a new
    stand-in, so that the ids go on where they stopped (a service that recorded update 7
    drops a new update 7 as a duplicate) and the history is there again.
    `forget_conversations` empties them and keeps the counters going. Pickled: resume only
    what a stand-in saved itself (loading a pickle runs code named in it).
    """

    KEPT: ClassVar[tuple[str, ...]] = ()

    def saved(self) -> bytes:
        return pickle.dumps(
            {name: getattr(self, name) for name in self.KEPT}, protocol=pickle.HIGHEST_PROTOCOL
        )

    def resume(self, saved: bytes) -> None:
        state: Any = pickle.loads(saved)
        if not isinstance(state, dict) or set(state) != set(self.KEPT):
            raise ValueError(f"not what a {type(self).__name__} saved")
        for name in self.KEPT:
            if type(state[name]) is not type(getattr(self, name)):
                raise ValueError(f"{name}: {type(state[name]).__name__} was saved")
        for name, value in state.items():
            setattr(self, name, value)

    def forget_conversations(self) -> None:
        for name in self.KEPT:
            value = getattr(self, name)
            if isinstance(value, dict | list | set):
                value.clear()


class StandInServer:
    """A stand-in's life as a local server: `start`/`stop` (also as ``async with``), the
    application it serves, and the client session it calls the bot with."""

    _app: web.Application | None
    _session: aiohttp.ClientSession | None

    def make_app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def app(self) -> web.Application:
        """The aiohttp application serving the API (the running one once started)."""
        if self._app is None:
            self._app = self.make_app()
        return self._app

    async def _close_session(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
