"""The failures tests inject: error answers of any status (429 with ``retry_after``, 5xx,
a chat migrated), calls held back past the client's timeout, chats that blocked the bot or
that Telegram forgot, and groups upgraded to supergroups.

An injected error has no effect; a delayed call still takes effect after its delay, as on the
real API.
"""

from __future__ import annotations

import asyncio
import contextlib
from http import HTTPStatus

from bot.standins.telegram.api import ApiError, JSONDict, Params, method_name
from bot.standins.telegram.state import Delay, Fault, User
from bot.standins.telegram.updates import UpdateBuilders

__all__ = ["FaultInjection"]


class FaultInjection(UpdateBuilders):
    """Failures to inject, and their striking when the bot calls."""

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Makes the next `times` calls of `method` (only those to `chat_id`, if given) fail.

        `method` is a Bot API name in any case or snake_case (``"sendMessage"``,
        ``"send_message"``). The answer has `status`, `description` (default: the status's
        phrase) and, if given, ``parameters.retry_after`` / ``parameters.migrate_to_chat_id``.
        The failed call has no effect.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(
            Fault(
                method=method_name(method),
                status=status,
                description=description or _default_description(status, retry_after),
                retry_after=retry_after,
                migrate_to_chat_id=migrate_to_chat_id,
                chat_id=chat_id,
                remaining=times,
            )
        )

    def delay(
        self, method: str, seconds: float, *, times: int | None = None, chat_id: int | None = None
    ) -> None:
        """Makes `method` answer only after `seconds` (for timeouts); 0 removes the delay.

        The call still takes effect after the delay, as on the real API: a client that timed
        out and retried (or died waiting) has sent twice. `times` limits the delay to the
        next calls; `chat_id` to the calls about that chat.
        """
        name = method_name(method)
        if seconds <= 0:
            self._delays.pop(name, None)
        else:
            self._delays[name] = Delay(seconds, times, chat_id)

    def in_flight(self, method: str) -> int:
        """How many calls of `method` are being answered right now (e.g. held by `delay`)."""
        return self._in_flight[method_name(method)]

    async def wait_for_in_flight(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - as in wait_for
    ) -> None:
        """Waits until at least `count` calls of `method` are being answered."""
        await self._wait_until(
            lambda: self.in_flight(method) >= count,
            timeout,
            lambda: f"{self.in_flight(method)} {method} calls in flight after {timeout} s",
        )

    def clear_faults(self) -> None:
        """Removes every pending `fail_next` and `delay`."""
        self._faults.clear()
        self._delays.clear()

    def block(self, chat_id: int) -> None:
        """The user blocked the bot (or, for a group, removed it): sends answer 403."""
        self._state(chat_id).blocked = True

    def unblock(self, chat_id: int) -> None:
        self._state(chat_id).blocked = False

    def forget_chat(self, chat_id: int) -> None:
        """Telegram no longer knows the chat: calls about it answer 400 chat not found.

        It becomes known again when a simulated user writes in it.
        """
        self._state(chat_id).forgotten = True

    async def migrate(
        self, old_chat_id: int, new_chat_id: int, *, by: User | None = None, deliver: bool = True
    ) -> list[JSONDict]:
        """The group `old_chat_id` was upgraded to the supergroup `new_chat_id`.

        From now on sends to the old id answer 400 "group chat was upgraded to a supergroup
        chat" with ``parameters.migrate_to_chat_id``. Returns the two service updates Telegram
        sends (see `migration_updates`), delivered first unless `deliver` is false.
        """
        updates = self.migration_updates(old_chat_id, new_chat_id, by=by)
        self._chats[old_chat_id].migrated_to = new_chat_id
        self._members[new_chat_id] = dict(self._members.get(old_chat_id, {}))  # all moved
        if deliver:
            for update in updates:
                await self.deliver(update)
        return updates

    async def _strike(self, method: str, params: Params) -> None:
        """Holds the call for its `delay`, then raises the injected fault meant for it."""
        pause = self._delays.get(method)
        if pause is not None and pause.chat_id not in (None, _peek_chat_id(params)):
            pause = None
        if pause is not None:
            if pause.remaining is not None:
                pause.remaining -= 1
                if pause.remaining <= 0:
                    del self._delays[method]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause.seconds):  # not wait_for (3.11)
                    await self._stopping.wait()
            if self._stopping.is_set():
                raise ApiError(503, "Service Unavailable: the stand-in is shutting down")
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and _peek_chat_id(params) != fault.chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            raise fault.error()


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


def _peek_chat_id(p: Params) -> int | None:
    with contextlib.suppress(ApiError, TypeError, ValueError):
        return p.get_int("chat_id")
    return None
