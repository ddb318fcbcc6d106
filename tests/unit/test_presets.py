"""The example agency files (examples/agencies/, one per seed SOP) are valid: each loads
with the agency file's parser and passes the real `aduanbot check`, which says the chain
of command and budgets that SOP asks for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.agency import load_office
from bot.core.model import Step
from bot.core.office import AnswerReview, DispositionBy

PRESETS = Path(__file__).parents[2] / "examples" / "agencies"
FILES = sorted(PRESETS.glob("*.toml"))


def test_there_is_a_preset_for_each_sop_built_so_far() -> None:
    assert [f.name.split("-")[0] for f in FILES] == ["sop000", "sop001", "sop003", "sop004"]


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


def test_each_preset_sets_what_its_sop_asks() -> None:
    by_sop = {f.name.split("-")[0]: load_office(f) for f in FILES}
    tangerang, tlr, tanah_laut = by_sop["sop000"], by_sop["sop001"], by_sop["sop003"]
    pasuruan = by_sop.pop("sop004")
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
    assert str(tanah_laut.deadlines.liaison_days) in ("1", "1d")
    for office in by_sop.values():  # the others keep the bot's own chain
        assert office.workflow.disposition_by is DispositionBy.OFFICERS
        assert office.workflow.answer_review is AnswerReview.NONE
