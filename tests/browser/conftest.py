"""The whole system as `tousu up` runs it (one process, every route on one
address), and a real Chromium: Debian's `chromium`, driven by Playwright,
never a downloaded browser. Screenshots go to tests/browser/screenshots/
(not committed) for a person to look at."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.desk_up import Up

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "screenshots"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(scope="module")
def up(module_bus, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        # CI installs it (.ci/run) and says so: there a missing browser is a failure, not a skip.
        why = "Debian's chromium is not installed (apt-get install chromium fonts-wqy-microhei; .ci/run does)"
        if os.environ.get("TOUSU_REQUIRE_BROWSER"):
            pytest.fail(why)
        pytest.skip(why)
    system = Up(module_bus.bootstrap_servers, tmp_path_factory.mktemp("up") / "data").start()
    yield system
    system.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def shoot():
    """shoot(page, name): the page as it is now, at both sizes."""
    SHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> None:
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
    return take
