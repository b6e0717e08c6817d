"""A complaint's status is open to whoever holds its id, without personal data;
the handling agency's token shows the full record."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from tests import factories
from tests.harness import Processes, post_all, wait_until


@pytest.fixture
def system(bus, tmp_path):
    processes = Processes(bus.bootstrap_servers, tmp_path / "data", services=("intake", "routing")).start()
    yield processes
    processes.stop()


def test_the_handling_agency_sees_the_record_and_nobody_else_does(system):
    body = factories.complaint(1)  # handled by AMR-110108
    [cid] = asyncio.run(post_all(system.url, [body]))
    url = f"{system.url}/complaints/{cid}"
    wait_until(lambda: httpx.get(url).json()["agency_id"] == "AMR-110108", 60, message="decided")

    public = httpx.get(url)
    assert public.status_code == 200 and "record" not in public.json()
    assert body["consumer"]["phone"] not in public.text and body["consumer"]["name"] not in public.text

    own = httpx.get(url, headers={"Authorization": f"Bearer {system.token('AMR-110108')}"})
    assert own.status_code == 200
    assert own.json()["record"]["consumer"]["phone"] == body["consumer"]["phone"]
    above = httpx.get(url, headers={"Authorization": f"Bearer {system.token('AMR-110000', 'SUPERVISOR')}"})
    assert above.status_code == 200 and "record" in above.json()

    other = httpx.get(url, headers={"Authorization": f"Bearer {system.token('AMR-310115')}"})
    assert other.status_code == 403 and body["consumer"]["phone"] not in other.text
    forged = httpx.get(url, headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401 and forged.headers["content-type"].startswith("application/problem+json")
