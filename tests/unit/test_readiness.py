"""/readyz says when a service has stopped: a consumed batch its store cannot
take holds up everything after it, however well store and broker answer."""
from __future__ import annotations

import asyncio
import types

from services import observability


def test_a_batch_the_store_keeps_refusing_makes_the_consumers_not_ready():
    async def said(failing_for: float | None) -> str:
        now = asyncio.get_running_loop().time()
        runner = types.SimpleNamespace(
            spec=types.SimpleNamespace(inputs=("referrals.replies",)), faust_app=None,
            storing_failure=None if failing_for is None else (now - failing_for, "DataError('NUL')"))
        return observability._consumers_ok(runner)

    assert asyncio.run(said(None)) == "not started"  # no failure: what the consumer itself says
    assert asyncio.run(said(5.0)) == "not started"   # a moment's failure: a conflict, a store restarting
    stalled = asyncio.run(said(45.0))
    assert stalled.startswith("nothing consumed for 45 s") and "DataError('NUL')" in stalled
