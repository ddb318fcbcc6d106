"""What the service tells its operators: `GET /healthz` and `GET /metrics` (Prometheus).

Counters (updates received, messages sent, failed or retried) count what this instance
did since it started, as Prometheus expects of a counter; the gauges (outbox backlog and
the age of its oldest message, inbound backlog, open and overdue cases, report jobs)
are read from the database at each scrape, so every instance reports the same totals.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import generate_latest
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.core.ports import Clock
from storage.database import Database


@dataclass(frozen=True)
class Snapshot:
    """The database's side of the service's health, at one moment."""

    outbox_pending: int
    outbox_oldest_seconds: float  # 0 with nothing waiting
    inbound_backlog: int
    cases_open: int
    cases_overdue: int
    report_jobs_pending: int


class Metrics:
    """One instance's counters and the gauges it reads from the database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
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
            counts = await uow.cases.digest_counts(now, now)
            snapshot = Snapshot(
                outbox_pending=await uow.sending.backlog(),
                outbox_oldest_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
                inbound_backlog=await uow.inbound.backlog(),
                cases_open=await uow.cases.count_open(),
                cases_overdue=counts.overdue,
                report_jobs_pending=await uow.reports.pending(),
            )
        for name, gauge in self._gauges.items():
            gauge.set(getattr(snapshot, name))
        return snapshot

    async def exposition(self, request: web.Request) -> web.Response:
        """`GET /metrics`: the counters and fresh gauges in Prometheus' text format."""
        try:
            await self.snapshot()
        except (OperationalError, DBAPIError, OSError):
            return web.Response(status=503, text="database unreachable\n")
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def health(
    metrics: Metrics, is_ready: Callable[[], bool]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`GET /healthz`: 200 when the service runs and reaches its database, with the
    backlogs an operator looks at first; 503 while starting or without the database
    (so a load balancer sends webhooks to another instance)."""

    async def check(request: web.Request) -> web.Response:
        if not is_ready():
            return web.json_response({"status": "starting"}, status=503)
        try:
            s = await metrics.snapshot()
        except (OperationalError, DBAPIError, OSError):
            return web.json_response({"status": "degraded", "database": "unreachable"}, status=503)
        return web.json_response(
            {
                "status": "ok",
                "database": "ok",
                "outbox": {
                    "pending": s.outbox_pending,
                    "oldest_seconds": round(s.outbox_oldest_seconds, 1),
                },
                "inbound_backlog": s.inbound_backlog,
                "report_jobs_pending": s.report_jobs_pending,
            }
        )

    return check
