"""What the service tells its operators: `GET /healthz` and `GET /metrics` (Prometheus).

Counters (updates received, messages sent, failed or retried) count what this instance
did since it started, as Prometheus expects of a counter; the gauges (outbox backlog and
the age of its oldest message, inbound backlog and the age of its oldest update, open and
overdue cases, report jobs) are read from the database at each scrape, so every instance
reports the same totals.

Handling is stuck when the oldest update not yet handled has waited longer than the
agency file's `[health] stuck_after_seconds`: a burst is handled in seconds, so its oldest
update never gets that old, while one update that never gets done (or a chat whose
handling hangs, holding its later updates back) does, however fast the others go. It
is read as the oldest pending row by id (the `status, id` index): one row, whatever the
backlog.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import generate_latest

from bot.core.ports import Clock
from storage.database import Database
from storage.errors import is_outage


@dataclass(frozen=True)
class Snapshot:
    """The database's side of the service's health, at one moment."""

    outbox_pending: int
    outbox_oldest_seconds: float  # 0 with nothing waiting
    inbound_backlog: int
    inbound_oldest_seconds: float  # 0 with nothing waiting
    cases_open: int
    cases_overdue: int
    report_jobs_pending: int


class Metrics:
    """One instance's counters and the gauges it reads from the database."""

    def __init__(self, db: Database, clock: Clock, stuck_after_seconds: float = 300.0) -> None:
        self.db = db
        self.clock = clock
        self.stuck_after_seconds = stuck_after_seconds
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter(
            "aduanbot_updates_received",
            "Inbound updates and webhooks recorded (duplicates not counted), by source",
            ["source"],
            registry=r,
        )
        self.sent = Counter(
            "aduanbot_messages_sent",
            "Messages the provider accepted, by channel",
            ["channel"],
            registry=r,
        )
        self.failed = Counter(
            "aduanbot_messages_failed",
            "Messages given up on for good, by channel",
            ["channel"],
            registry=r,
        )
        self.retried = Counter(
            "aduanbot_message_retries",
            "Sends that failed for a while and wait to be tried again, by channel",
            ["channel"],
            registry=r,
        )
        self._gauges = {
            "outbox_pending": Gauge(
                "aduanbot_outbox_pending", "Messages waiting in the outbox", registry=r
            ),
            "outbox_oldest_seconds": Gauge(
                "aduanbot_outbox_oldest_age_seconds",
                "Age of the oldest message waiting in the outbox (0: none)",
                registry=r,
            ),
            "inbound_backlog": Gauge(
                "aduanbot_inbound_backlog", "Recorded updates not yet handled", registry=r
            ),
            "inbound_oldest_seconds": Gauge(
                "aduanbot_inbound_oldest_age_seconds",
                "Age of the oldest recorded update not yet handled (0: none)",
                registry=r,
            ),
            "cases_open": Gauge("aduanbot_cases_open", "Open cases", registry=r),
            "cases_overdue": Gauge(
                "aduanbot_cases_overdue",
                "Open cases whose officers' or unit's step is past its deadline",
                registry=r,
            ),
            "report_jobs_pending": Gauge(
                "aduanbot_report_jobs_pending", "Recaps and exports waiting to be made", registry=r
            ),
        }

    async def snapshot(self) -> Snapshot:
        """Reads the gauges' values from the database (raises if it cannot be reached)."""
        now = self.clock.now()
        async with self.db.transaction(readonly=True) as uow:
            oldest: datetime | None = await uow.sending.oldest_pending()
            waiting = await uow.inbound.pending(1)
            counts = await uow.cases.digest_counts(now, now)
            snapshot = Snapshot(
                outbox_pending=await uow.sending.backlog(),
                outbox_oldest_seconds=_age(now, oldest),
                inbound_backlog=await uow.inbound.backlog(),
                inbound_oldest_seconds=_age(now, waiting[0].received_at if waiting else None),
                cases_open=await uow.cases.count_open(),
                cases_overdue=counts.overdue,
                report_jobs_pending=await uow.reports.pending(),
            )
        for name, gauge in self._gauges.items():
            gauge.set(getattr(snapshot, name))
        return snapshot

    def stuck(self, snapshot: Snapshot) -> bool:
        """Whether handling is stuck: the oldest update not yet handled is too old."""
        return snapshot.inbound_oldest_seconds > self.stuck_after_seconds

    async def exposition(self, request: web.Request) -> web.Response:
        """`GET /metrics`: the counters and fresh gauges in Prometheus' text format."""
        try:
            await self.snapshot()
        except Exception as error:
            if not is_outage(error):
                raise
            return web.Response(status=503, text="database unreachable\n")
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def health(
    metrics: Metrics, is_ready: Callable[[], bool], *, handling: bool = True
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`GET /healthz`: 200 when the service runs, reaches its database and keeps handling
    updates, with the backlogs an operator looks at first; 503 while starting, without
    the database, or when handling is stuck (with the reason).

    With `handling=False` (`GET /readyz`, for a load balancer) it leaves out whether
    handling is stuck: that is read from the database, the same on every instance, so
    taking instances out of rotation for it would only refuse the webhooks as well.
    """

    async def check(request: web.Request) -> web.Response:
        if not is_ready():
            return web.json_response({"status": "starting"}, status=503)
        try:
            s = await metrics.snapshot()
        except Exception as error:
            if not is_outage(error):
                raise
            return web.json_response({"status": "degraded", "database": "unreachable"}, status=503)
        body: dict[str, object] = {
            "status": "ok",
            "database": "ok",
            "outbox": {
                "pending": s.outbox_pending,
                "oldest_seconds": round(s.outbox_oldest_seconds, 1),
            },
            "inbound_backlog": s.inbound_backlog,
            "inbound_oldest_seconds": round(s.inbound_oldest_seconds, 1),
            "report_jobs_pending": s.report_jobs_pending,
        }
        if handling and metrics.stuck(s):
            body["status"] = "stuck"
            body["reason"] = (
                f"the oldest update not yet handled has waited {s.inbound_oldest_seconds:.0f} s"
                f" (more than [health] stuck_after_seconds = {metrics.stuck_after_seconds:g})"
            )
            return web.json_response(body, status=503)
        return web.json_response(body)

    return check


def _age(now: datetime, since: datetime | None) -> float:
    """Seconds from `since` to `now` (0 without `since`)."""
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0
