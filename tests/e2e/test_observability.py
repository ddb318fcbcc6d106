"""What operators see: `GET /healthz` with the backlogs, `GET /metrics` for Prometheus."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.inbox.envelope import Envelope
from bot.logs import JsonFormatter
from bot.standins.telegram import TelegramStandIn
from tests.e2e.conftest import AGENCY, OFFICERS, World, running
from tests.fakes import FixedClock

DESCRIPTION = "Lampu jalan di depan Puskesmas Melati mati sejak seminggu."


def samples(text: str) -> dict[str, float]:
    """The exposition's samples by name and labels (comments left out)."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


async def test_health_and_metrics_tell_what_the_service_did(world: World) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.base_url}/metrics") as response:
            assert response.status == 200
            assert response.content_type == "text/plain"
            before = samples(await response.text())
        assert before["aduanbot_cases_open"] == 0
        assert before["aduanbot_outbox_pending"] == 0

        await world.file_complaint(world.citizen, DESCRIPTION)
        await world.service.sender.drain()
        async with http.get(f"{world.base_url}/metrics") as response:
            after = samples(await response.text())
        async with http.get(f"{world.base_url}/healthz") as response:
            assert response.status == 200
            health = await response.json()

    # /start, seven answers and "kirim": nine Telegram updates, each counted once
    assert after['aduanbot_updates_received_total{source="telegram"}'] == 9
    sent = after['aduanbot_messages_sent_total{channel="telegram"}']
    assert sent == len(world.tg.messages(world.citizen.id)) + len(world.tg.messages(OFFICERS))
    assert after["aduanbot_cases_open"] == 1
    assert after["aduanbot_cases_overdue"] == 0
    assert after["aduanbot_outbox_pending"] == 0
    assert after["aduanbot_outbox_oldest_age_seconds"] == 0
    assert 'aduanbot_messages_failed_total{channel="telegram"}' not in after
    assert health == {
        "status": "ok",
        "database": "ok",
        "outbox": {"pending": 0, "oldest_seconds": 0.0},
        "inbound_backlog": 0,
        "inbound_oldest_seconds": 0.0,
        "report_jobs_pending": 0,
    }


async def get(world: World, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(world.base_url + path) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, samples(await response.text())


async def test_health_fails_while_an_update_waits_too_long_and_recovers(
    tg: TelegramStandIn, database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    agency = AGENCY + "\n[health]\nstuck_after_seconds = 120\n"
    async with running(tg, database_url, tmp_path, agency=agency, clock=clock) as world:
        processor = world.service.processor
        prepare = processor.preparers["telegram"]
        taken, release = asyncio.Event(), asyncio.Event()

        async def hanging(payload: dict[str, Any]) -> Envelope:
            """Handling the citizen's chat hangs (as on a download that never ends)."""
            if (payload.get("message") or {}).get("chat", {}).get("id") == world.citizen.id:
                taken.set()
                await release.wait()
            return await prepare(payload)

        processor.preparers["telegram"] = hanging
        await world.says(world.citizen, "/start")
        async with asyncio.timeout(10):
            await taken.wait()
        status, body = await get(world, "/healthz")
        # just recorded and being handled: not yet a reason to worry
        assert (status, body["status"], body["inbound_backlog"]) == (200, "ok", 1)

        clock.advance(timedelta(seconds=121))
        status, body = await get(world, "/healthz")
        assert (status, body["status"], body["inbound_oldest_seconds"]) == (503, "stuck", 121.0)
        assert "waited 121 s" in body["reason"] and "stuck_after_seconds = 120" in body["reason"]
        # (a load balancer's check: this instance still takes webhooks)
        status, body = await get(world, "/readyz")
        assert (status, body["status"]) == (200, "ok")
        status, metrics = await get(world, "/metrics")
        assert status == 200
        assert metrics["aduanbot_inbound_oldest_age_seconds"] == 121
        assert metrics["aduanbot_inbound_backlog"] == 1

        release.set()
        await world.expect(world.citizen.id, "Ceritakan apa yang terjadi")
        await processor.caught_up()
        status, body = await get(world, "/healthz")
        assert (status, body["status"], body["inbound_oldest_seconds"]) == (200, "ok", 0.0)
        status, metrics = await get(world, "/metrics")
        assert metrics["aduanbot_inbound_oldest_age_seconds"] == 0


async def test_a_failed_send_and_a_retry_are_counted(world: World) -> None:
    world.tg.fail_next(
        "sendMessage", status=502, description="Bad Gateway", chat_id=world.citizen.id
    )
    await world.says(world.citizen, "/start")
    await world.expect(world.citizen.id, "Ceritakan apa yang terjadi")
    world.tg.block(world.citizen.id)  # the citizen blocks the bot: the next reply fails for good
    await world.says(world.citizen, "Jalan rusak")
    registry = world.service.metrics.registry
    async with asyncio.timeout(10):
        while True:  # the stand-in signals messages, not refused calls: look now and then
            if registry.get_sample_value("aduanbot_messages_failed_total", {"channel": "telegram"}):
                break
            await asyncio.sleep(0.05)
    async with aiohttp.ClientSession() as http, http.get(f"{world.base_url}/metrics") as response:
        after = samples(await response.text())
    assert after['aduanbot_message_retries_total{channel="telegram"}'] == 1
    assert after['aduanbot_messages_failed_total{channel="telegram"}'] == 1
    assert [c.status for c in world.tg.calls("sendMessage")][-1] == 403


async def test_every_log_line_about_a_case_names_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    world.tg.block(world.citizen.id)  # the reporter blocks the bot; the next message fails
    caplog.clear()
    with caplog.at_level(logging.INFO):
        await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
        await world.expect(OFFICERS, f"Pesan untuk pelapor {code} tidak dapat terkirim")
    failed = [r for r in caplog.records if "failed for good" in r.getMessage()]
    assert failed and all(getattr(r, "case", None) == code for r in failed)
    line = JsonFormatter().format(failed[0])
    assert json.loads(line)["case"] == code
