"""The core imports no framework: every module of `bot.core`, imported alone in a fresh
interpreter, brings in neither a provider's library nor the web or database one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FRAMEWORKS = ("telegram", "twilio", "aiohttp", "sqlalchemy")
ROOT = Path(__file__).resolve().parents[2]

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import bot.core
names = sorted(m.name for m in pkgutil.iter_modules(bot.core.__path__))
for name in names:
    importlib.import_module("bot.core." + name)
print(json.dumps({"modules": names, "loaded": sorted(sys.modules)}))
"""


def test_the_core_imports_no_framework() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    assert {"cases", "lifecycle", "reception", "dialogue", "views"} <= set(report["modules"])
    loaded = {name.partition(".")[0] for name in report["loaded"]}
    assert not loaded & set(FRAMEWORKS), sorted(loaded & set(FRAMEWORKS))
