"""The failures tests inject: error answers to message creation (429, 5xx, any Twilio code),
messages accepted that then fail or go undelivered, and slow answers past the client's
timeout. An injected error creates nothing; a delayed call still creates the message after
its delay, as on the real API.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Literal

from bot.standins.twilio.api import DEFAULT_CODE_BY_STATUS, TwilioError
from bot.standins.twilio.state import Delay, DeliveryFault, Fault, WhatsAppUser, number_of
from bot.standins.twilio.webhooks import WebhookClient

__all__ = ["FaultInjection"]


class FaultInjection(WebhookClient):
    """Failures to inject, and their striking when the bot creates a message."""

    def fail_next(
        self,
        *,
        status: int,
        code: int | None = None,
        message: str | None = None,
        times: int = 1,
        to: str | WhatsAppUser | None = None,
    ) -> None:
        """Makes the next `times` message creations (only those to `to`, if given) fail.

        The answer has `status` and Twilio's error shape with `code` (default by status:
        429 → 20429, 500 → 20500, 503 → 20503, 400 → 21211) and `message` (default: the
        code's message). The failed call creates nothing.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(
            Fault(
                status=status,
                code=code if code is not None else DEFAULT_CODE_BY_STATUS.get(status, status),
                message=message,
                number=number_of(to) if to is not None else None,
                remaining=times,
            )
        )

    def fail_delivery(
        self,
        to: str | WhatsAppUser,
        code: int = 63003,
        status: Literal["failed", "undelivered"] = "failed",
        *,
        times: int = 1,
    ) -> None:
        """The next `times` messages to `to` are accepted but then end `status` with `code`.

        ``failed`` goes straight from queued to failed; ``undelivered`` passes ``sent`` first.
        """
        if status not in ("failed", "undelivered"):
            raise ValueError("status is 'failed' or 'undelivered'")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._delivery_faults.append(DeliveryFault(number_of(to), status, code, times))

    def delay(self, seconds: float, *, times: int | None = None) -> None:
        """Makes message creation answer only after `seconds`; 0 removes the delay.

        The message is still created after the delay, as on the real API: a client that timed
        out and retried has sent twice. `times` limits the delay to the next calls.
        """
        self._delay = Delay(seconds, times) if seconds > 0 else None

    def clear_faults(self) -> None:
        """Removes every pending `fail_next`, `fail_delivery` and `delay`."""
        self._faults.clear()
        self._delivery_faults.clear()
        self._delay = None

    async def _slow_down(self) -> None:
        pause = self._delay
        if pause is None:
            return
        if pause.remaining is not None:
            pause.remaining -= 1
            if pause.remaining <= 0:
                self._delay = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(pause.seconds):  # not wait_for (3.11)
                await self._stopping.wait()
        if self._stopping.is_set():
            raise TwilioError(503, 20503, "Service Unavailable: the stand-in is shutting down")

    def _check_faults(self, form: Mapping[str, str | list[str]]) -> None:
        to = form.get("To")
        number = to.removeprefix("whatsapp:") if isinstance(to, str) else None
        for fault in self._faults:
            if fault.number is not None and fault.number != number:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            raise TwilioError(fault.status, fault.code, fault.message)

    def _take_delivery_fault(self, number: str) -> DeliveryFault | None:
        for fault in self._delivery_faults:
            if fault.number == number:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._delivery_faults.remove(fault)
                return fault
        return None
