"""`tousu up`, the README's first command, as a newcomer runs it: one process with
the embedded broker and every service, a complaint through it, Ctrl-C to stop."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.bus.broker import free_port
from tests import factories
from tests.harness import HTTP, distinct_events, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def children(pid: int) -> set[int]:
    """Every live descendant of a process, from /proc."""
    found, frontier = set(), {pid}
    while frontier:
        parent = frontier.pop()
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            child = int(status.parent.name)
            if int(fields[1]) == parent and fields[0] != "Z" and child not in found:
                found.add(child)
                frontier.add(child)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_tousu_up_takes_a_complaint_to_a_decision_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    up = subprocess.Popen([sys.executable, "-m", "services.cli", "up", "--port", str(port)], cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        banner = []
        while not any("Ctrl-C" in line for line in banner):
            line = up.stdout.readline()
            assert line, "tousu up exited:\n" + "".join(banner)
            banner.append(line)
        assert f"HTTP on http://127.0.0.1:{port}" in banner[0]
        assert str(tmp_path / "tousu-data") in "".join(banner)
        # The stores hold consumers' personal data: the folder is the user's alone.
        assert (tmp_path / "tousu-data").stat().st_mode & 0o077 == 0
        descendants = children(up.pid)
        assert len(descendants) >= 7, "the embedded broker and a worker per service run under tousu up"
        named = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in descendants if alive(pid)}
        assert {"tousu-intake", "tousu-routing", "tousu-mediation", "tousu-desk"} <= named, named

        url = f"http://127.0.0.1:{port}"
        accepted = HTTP.post(f"{url}/complaints", json=factories.complaint(1), timeout=30)
        assert accepted.status_code == 202, accepted.text
        cid = accepted.json()["complaint_id"]
        status = wait_until(lambda: (s := HTTP.get(f"{url}/complaints/{cid}", timeout=10).json())["status"]
                            == "IN_MEDIATION" and s, 60, message="accepted and in mediation")
        assert status["agency_id"] == "AMR-110108"

        # A worker killed is started again, on a socket tousu up hands it anew,
        # and the one address finds it there.
        [intake] = [pid for pid in descendants if alive(pid) and
                    Path(f"/proc/{pid}/comm").read_text().strip() == "tousu-intake"]
        os.kill(intake, signal.SIGKILL)
        again = wait_until(lambda: (answer := HTTP.post(f"{url}/complaints", json=factories.complaint(2),
                                                        timeout=30)).status_code == 202 and answer, 30,
                           interval=0.5, message="a complaint accepted by the restarted intake")
        assert again.json()["complaint_id"] != cid

        # So is the embedded broker, on its port: the services put their history back on it.
        broker = "".join(banner).split("broker: ")[1].split()[0]
        [tansu] = [pid for pid in children(up.pid) if alive(pid) and
                   Path(f"/proc/{pid}/comm").read_text().startswith("tansu")]
        os.kill(tansu, signal.SIGKILL)
        later = wait_until(lambda: (answer := HTTP.post(f"{url}/complaints", json=factories.complaint(3),
                                                        timeout=30)).status_code == 202 and answer, 30,
                           interval=0.5, message="a complaint taken after the broker died").json()["complaint_id"]
        wait_until(lambda: HTTP.get(f"{url}/complaints/{later}", timeout=10).json()["status"] == "IN_MEDIATION",
                   90, interval=0.5, message="decided on the broker started again")
        wait_until(lambda: {cid, later} <= set(distinct_events(broker, "complaints.decisions")), 60, interval=1,
                   message="the first decision published again")
        descendants = children(up.pid)

        started = time.monotonic()
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=60)
        assert up.returncode == 0, out
        assert out.strip().endswith("tousu stopped."), out
        assert "Traceback" not in out, out
        assert "the embedded broker exited with -9; starting it again" in out, out[-3000:]
        assert time.monotonic() - started < 30
        # The broker, and the fork server its workers came from, end with it.
        wait_until(lambda: not [pid for pid in descendants if alive(pid)], 10, message="tousu up's children to end")
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
    # The stores stay: the next `tousu up` in this folder starts from them.
    assert sorted(p.name for p in (tmp_path / "tousu-data").glob("*.sqlite")) == [
        "desk.sqlite", "enforcement.sqlite", "intake.sqlite", "mediation.sqlite", "routing.sqlite",
        "statistics.sqlite"]


def start_up(cwd: Path, port: int, env: dict) -> tuple[subprocess.Popen, str]:
    """`tousu up` in `cwd`, once its banner is out."""
    up = subprocess.Popen([sys.executable, "-m", "services.cli", "up", "--port", str(port)], cwd=cwd,
                          env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
    banner = []
    while not any("Ctrl-C" in line for line in banner):
        line = up.stdout.readline()
        assert line, "tousu up exited:\n" + "".join(banner)
        banner.append(line)
    return up, "".join(banner)


def stop_up(up: subprocess.Popen, within: float) -> str:
    up.send_signal(signal.SIGINT)
    try:
        out, _ = up.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        os.killpg(up.pid, signal.SIGKILL)
        out, _ = up.communicate()
        raise AssertionError(f"tousu up did not stop within {within}s after Ctrl-C:\n{out[-3000:]}")
    assert up.returncode == 0 and out.strip().endswith("tousu stopped."), out[-3000:]
    return out


def test_tousu_up_started_again_restores_its_topics_and_the_chain_verifies_and_killed_leaves_nothing(tmp_path):
    from services.bus.reader import read_all_sync
    from tests.harness import distinct_events

    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    port = free_port()
    up, _ = start_up(tmp_path, port, env)
    try:
        url = f"http://127.0.0.1:{port}"
        ids = [HTTP.post(f"{url}/complaints", json=factories.complaint(i), timeout=30).json()["complaint_id"]
               for i in range(5)]
        for cid in ids:
            wait_until(lambda: HTTP.get(f"{url}/complaints/{cid}", timeout=10).json()["status"] == "IN_MEDIATION",
                       60, message="in mediation")
        stop_up(up, 30)

        # Its broker kept the topics in memory: the second start finds them empty.
        up, banner = start_up(tmp_path, port, env)
        broker = banner.split("broker: ")[1].split()[0]
        cli_env = {**env, "PYTHONPATH": str(ROOT), "KAFKA_BOOTSTRAP_SERVERS": broker,
                   "TOUSU_DATA_DIR": str(tmp_path / "tousu-data")}

        def restored():
            decisions = distinct_events(broker, "complaints.decisions")
            mediation = distinct_events(broker, "mediation.events")
            return all(decisions[c]["ComplaintAccepted"] == 1 and mediation[c]["MediationOpened"] == 1 for c in ids)
        wait_until(restored, 60, interval=1, message="the old complaints' messages back on their topics")
        assert {r for r in ids} <= {m.key.decode() for m in read_all_sync(broker, "complaints.received")}
        verify = subprocess.run([sys.executable, "-m", "services.cli", "audit", "verify"], env=cli_env,
                                capture_output=True, text=True, timeout=120)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "audit chain intact" in verify.stdout

        # A second `tousu up` on the same data directory is refused, and leaves the first one's broker address.
        cli_env.pop("KAFKA_BOOTSTRAP_SERVERS")
        second = subprocess.run([sys.executable, "-m", "services.cli", "up", "--port", str(free_port())],
                                env=cli_env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and f"(pid {up.pid}) already runs with the data directory" in second.stderr
        rebuild = subprocess.run([sys.executable, "-m", "services.cli", "stats", "--rebuild"], env=cli_env,
                                 cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert rebuild.returncode == 2 and "stop it (Ctrl-C) first" in rebuild.stderr
        tail = subprocess.run([sys.executable, "-m", "services.cli", "tail", "complaints.decisions", "-n", "1"],
                              env=cli_env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert tail.returncode == 0 and "ComplaintAccepted" in tail.stdout, tail.stderr

        # Killed outright, it cannot stop them: its workers and broker end with it all the same.
        left = children(up.pid)
        assert len(left) >= 6, left  # the broker and a worker per service
        up.send_signal(signal.SIGKILL)
        up.wait()
        wait_until(lambda: not [pid for pid in left if alive(pid)], 30, message="tousu up's children to end")
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


def test_ctrl_c_stops_tousu_up_within_seconds_while_its_broker_is_gone(bus, tmp_path):
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bus.bootstrap_servers}
    port = free_port()
    up, _ = start_up(tmp_path, port, env)
    try:
        bus.broker.process.kill()
        bus.broker.process.wait()
        time.sleep(3)  # the services notice and keep retrying
        stop_up(up, 10)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
