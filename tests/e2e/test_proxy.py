"""deploy/nginx.conf in front of the services run as processes, as compose runs
them: one address, each route answered by the service that serves it (seen in
that service's own request metrics). Needs an nginx binary; skipped without one."""
from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.bus.broker import free_port
from services.bus.topics import SERVICES
from tests import factories
from tests.harness import HTTP, Processes, post_all, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="no nginx binary on this machine")


@pytest.fixture
def proxied(bus, tmp_path):
    system = Processes(bus.bootstrap_servers, tmp_path / "data", services=SERVICES + ("desk",)).start()
    port = free_port()
    ports = {**system.ports, "statistics": free_port()}  # statistics is not run here
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = re.sub(r"http://(\w+):\d+", lambda m: f"http://127.0.0.1:{ports[m.group(1)]}", conf)
    conf = conf.replace("listen 8315;", f"listen 127.0.0.1:{port};")
    (tmp_path / "nginx.conf").write_text(conf)
    nginx = subprocess.Popen(["nginx", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path),
                              "-g", f"daemon off; pid {tmp_path}/nginx.pid;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            assert nginx.poll() is None, nginx.stderr.read().decode()
            assert time.monotonic() < deadline, "nginx did not listen"
            time.sleep(0.05)
    yield system, f"http://127.0.0.1:{port}"
    nginx.terminate()
    nginx.wait(10)
    system.stop()


def requests_seen(url: str, route: str) -> float:
    text = HTTP.get(f"{url}/metrics", timeout=10).text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "tousu_http_requests_total" and s.labels["route"] == route)


def test_one_address_reaches_each_service_through_the_proxy(proxied):
    system, url = proxied
    [cid] = asyncio.run(post_all(url, [factories.complaint(1)]))  # AMR-110108
    wait_until(lambda: HTTP.get(f"{url}/complaints/{cid}", timeout=10).json()["status"] == "IN_MEDIATION", 60,
               message="in mediation, read through the proxy")
    worker = {"Authorization": f"Bearer {system.token('AMR-110108')}"}
    consent = HTTP.post(f"{url}/complaints/{cid}/mediation/consent", json={"party": "CONSUMER", "agreed": True},
                         headers={**worker, "X-Request-ID": "through-the-proxy"}, timeout=30)
    assert consent.status_code == 200, consent.text
    assert consent.headers["X-Request-ID"] == "through-the-proxy"
    outsider = {"Authorization": f"Bearer {system.token('CA-310000', 'AGENCY_SYSTEM')}"}
    HTTP.post(f"{url}/complaints/{cid}/referral/reply", json={"answer": "ACKNOWLEDGED"}, headers=outsider,
               timeout=30)
    HTTP.get(f"{url}/cases/PC-000000000000", headers=worker, timeout=30)

    # The desk lists what intake took in on the same path, and serves the console.
    # The desk reads the topics itself: it may list the complaint before it sees the mediation open.
    wait_until(lambda: [i for i in HTTP.get(f"{url}/complaints", headers=worker, timeout=10).json()["items"]
                        if i["complaint_id"] == cid and i["status"] == "IN_MEDIATION"], 60,
               message="listed in mediation on the desk through the proxy")
    # A page's next link is on the address the caller used, not a service's own.
    asyncio.run(post_all(url, [factories.complaint(1, facts="第二件投诉")]))
    wait_until(lambda: len(HTTP.get(f"{url}/complaints", headers=worker, timeout=10).json()["items"]) >= 2, 60,
               message="two complaints listed on the desk")
    link = HTTP.get(f"{url}/complaints?limit=1", headers=worker, timeout=10).headers["Link"]
    assert link.startswith(f"<{url}/complaints?") and link.endswith('rel="next"'), link
    login = HTTP.get(f"{url}/console/login", timeout=10)
    assert login.status_code == 200 and "<form" in login.text

    expected = {"intake": "/complaints/{complaint_id}", "mediation": "/complaints/{complaint_id}/mediation/consent",
                "routing": "/complaints/{complaint_id}/referral/reply", "enforcement": "/cases/{case_id}",
                "desk": "/complaints"}
    for service, route in expected.items():
        assert requests_seen(system.url_of(service), route) >= 1, (service, route)
