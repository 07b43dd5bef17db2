"""The documentation's screenshot script still finds what it shoots (it broke once when the demo moved)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from jury.demo import seed

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "screenshots.py"


def test_the_screenshot_script_loads_and_shoots_the_demo_threat():
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.THREAT_TEXT == dict((pid, text) for pid, _, text in seed.DEMO_POSTS)["demo-3"]
    assert callable(module.shoot) and callable(module.build_app)
