"""The example agency files (examples/agencies/, one per seed SOP) are valid: each loads
with the agency file's parser and passes the real `aduanbot check`, which says the chain
of command and budgets that SOP asks for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.agency import load_office, load_whatsapp_options
from bot.core.model import Step
from bot.core.office import AnswerReview, DispositionBy

PRESETS = Path(__file__).parents[2] / "examples" / "agencies"
FILES = sorted(PRESETS.glob("*.toml"))


def test_there_is_a_preset_for_each_seed_sop() -> None:
    assert [f.name.split("-")[0] for f in FILES] == [
        "sop000",
        "sop001",
        "sop002",
        "sop003",
        "sop004",
    ]


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_aduanbot_check_accepts_the_preset(path: Path, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")},
        "ADUAN_CONFIG": str(path),
        "TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "PYTHONPATH": str(PRESETS.parents[1]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check"],
        cwd=tmp_path,  # no .env there
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    office = load_office(path)
    assert done.stdout.startswith(f"ok: {office.name}, {len(office.units)} units")
    flow = office.workflow
    assert (
        f"workflow: disposition by {flow.disposition_by.value}, answers reviewed by "
        f"{flow.answer_review.value}" in done.stdout
    )


def test_aduanbot_check_says_the_whatsapp_preset_s_channel_and_chain(tmp_path: Path) -> None:
    """SOP 002's office takes WhatsApp: with Twilio's settings, check names the channel,
    the templates registered for silent reporters, and the atasan's own budget."""
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")},
        "ADUAN_CONFIG": str(PRESETS / "sop002-dinkes-oku-selatan.toml"),
        "TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "twilio-auth-token",
        "TWILIO_WHATSAPP_FROM": "whatsapp:+6281100002002",
        "PUBLIC_BASE_URL": "https://aduan.dinkes.okuselatankab.example",
        "TELEGRAM_WEBHOOK_SECRET": "rahasia-webhook",
        "PYTHONPATH": str(PRESETS.parents[1]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "ok: Dinas Kesehatan Kabupaten OKU Selatan, 4 units, language id, "
        "Telegram + WhatsApp, 9 WhatsApp templates"
    )
    assert "case 60 working days" in lines[1]
    assert lines[3] == (
        "workflow: disposition by supervisor, answers reviewed by officers, "
        "follow-up plan no; approve 1; review 20m"
    )


def test_each_preset_sets_what_its_sop_asks() -> None:
    by_sop = {f.name.split("-")[0]: load_office(f) for f in FILES}
    tangerang, tlr, tanah_laut = by_sop["sop000"], by_sop["sop001"], by_sop["sop003"]
    pasuruan, oku_selatan = by_sop.pop("sop004"), by_sop.pop("sop002")
    # SOP 002: the atasan disposes; the officers tell a reporter in no chat within 20
    # minutes; LAPOR's 60 working days and 10 of the reporter's silence; WhatsApp templates
    assert oku_selatan.workflow.disposition_by is DispositionBy.SUPERVISOR
    assert not oku_selatan.workflow.follow_up_plan
    assert oku_selatan.workflow.answer_review is AnswerReview.OFFICERS  # steps 7-8
    assert str(oku_selatan.deadlines.budget(Step.REVIEW)) == "20m"
    assert str(oku_selatan.deadlines.budget(Step.APPROVE)) == "1d"
    assert str(oku_selatan.deadlines.named("inform_days")) == "20m"
    assert str(oku_selatan.deadlines.budget(Step.CONFIRM)) == "10d"
    assert oku_selatan.deadlines.case_days == 60 and oku_selatan.deadlines.case_days_working
    templates = load_whatsapp_options(PRESETS / "sop002-dinkes-oku-selatan.toml").templates
    assert {"acknowledgement", "reporter_disposed", "reporter_answered"} <= set(templates)
    assert templates["reporter_answered"].variables == ("code", "unit", "answer")
    # SOP 004: the Sekretaris assigns, on the team's follow-up plan
    assert pasuruan.workflow.disposition_by is DispositionBy.SUPERVISOR
    assert pasuruan.workflow.follow_up_plan
    # SOP 000: dispose within 1 day; the cases come in through LAKSA
    assert str(tangerang.deadlines.budget(Step.VERIFY)) == "1d"
    assert tangerang.intake_sources[0] == "Aplikasi LAKSA"
    # SOP 001: every step in minutes; dispose within 5
    assert str(tlr.deadlines.budget(Step.VERIFY)) == "5m"
    # SOP 003: every complaint entered into SP4N-LAPOR! by the liaison; LAPOR's clocks
    assert tanah_laut.lapor.enter_all and tanah_laut.lapor.liaison_chats()
    assert tanah_laut.deadlines.case_days_working
    assert str(tanah_laut.deadlines.named("liaison_days")) == "1d"
    for office in by_sop.values():  # the others keep the bot's own chain
        assert office.workflow.disposition_by is DispositionBy.OFFICERS
        assert office.workflow.answer_review is AnswerReview.NONE
