"""The whole system as `tousu up` runs it: one process, the four services,
statistics and the desk, every route on one address."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from services import auth
from services.bus.broker import free_port
from tests import launcher
from tests.harness import HTTP, wait_until

KEY = "desk-test-signing-key-of-32-bytes!!!"


class Up:
    def __init__(self, bootstrap: str, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "TOUSU_DATA_DIR": str(data_dir),
                    "TOUSU_SIGNING_KEY": KEY}
        self.log = data_dir.parent / "up.log"
        self.process = None

    def start(self) -> "Up":
        self.process = launcher.start(["up", "--port", str(self.port)], self.env, self.log)
        wait_until(self._ready, 120, message="tousu up")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"tousu up exited:\n{self.log.read_text(errors='replace')[-3000:]}")
        try:
            return HTTP.get(f"{self.url}/public/complaints?limit=1", timeout=2).status_code == 200
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


