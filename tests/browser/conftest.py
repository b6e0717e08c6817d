"""The whole system as `tousu up` runs it (one process, every route on one
address), and a real Chromium: Debian's `chromium`, driven by Playwright,
never a downloaded browser. Screenshots go to tests/browser/screenshots/
(not committed) for a person to look at."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services import auth
from services.bus.broker import free_port
from tests.harness import wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "screenshots"
KEY = "browser-test-signing-key-of-32-bytes!"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


class Up:
    def __init__(self, bootstrap: str, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "TOUSU_DATA_DIR": str(data_dir),
                    "TOUSU_SIGNING_KEY": KEY}
        self.log = data_dir.parent / "up.log"
        self.process = None

    def start(self) -> "Up":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", "--port", str(self.port)], env=self.env,
            stdout=open(self.log, "wb"), stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])
        wait_until(self._ready, 120, message="tousu up")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"tousu up exited:\n{self.log.read_text(errors='replace')[-3000:]}")
        try:
            return httpx.get(f"{self.url}/public/complaints?limit=1", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def token(self, agency: str, role: str = "CASE_WORKER", person: str | None = None) -> str:
        return auth.issue(agency, role, KEY.encode(), person=person)


@pytest.fixture(scope="module")
def up(module_bus, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
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
