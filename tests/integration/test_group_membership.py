"""A service's consumer group on the broker: a service that stops leaves it,
so whoever shares or takes over its partitions need not wait out its session;
one stopped while it still joins stops at once."""
import asyncio
import os
import time

from aiokafka.admin import AIOKafkaAdminClient
import pytest

from services.bus.runtime import FAUST_STOP_SECONDS
from services.commands import unless_stopped
from services.system import System
from tests import launcher
from tests.harness import wait_until


async def members(bootstrap: str, group: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_consumer_groups([group])
        [found] = described.groups
        return [member[0] for member in found[5]]
    finally:
        await admin.close()


def test_a_stopped_service_leaves_its_group_at_once(bus, tmp_path):
    env = {**os.environ, "TOUSU_DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": bus.bootstrap_servers}

    async def scenario():
        for run in (1, 2):  # the first generation the broker numbers, then the next
            system = System(("mediation",), env=env)
            await system.start()
            assert len(await members(bus.bootstrap_servers, "tousu-mediation")) == 1, run
            await system.stop()
            assert await members(bus.bootstrap_servers, "tousu-mediation") == [], run

    asyncio.run(scenario())


# The abandoned join's thread ends when the broker answers it, finding this
# test's event loop closed; in a worker process it ends with the process.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_service_stopped_while_it_joins_its_group_stops_at_once(bus, tmp_path):
    env = {**os.environ, "TOUSU_DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": bus.bootstrap_servers}
    killed = launcher.start(["worker", "mediation"], env, tmp_path / "killed.log")
    wait_until(lambda: len(asyncio.run(members(bus.bootstrap_servers, "tousu-mediation"))) == 1, 30,
               message="the first worker in its group")
    killed.kill()
    killed.wait()

    async def scenario():
        system = System(("mediation",), env=env)
        stopping = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(1.0, stopping.set_result, None)  # Ctrl-C, as `tousu worker` takes it
        # The killed member holds the group until its session ends: this one is still joining.
        assert not await unless_stopped(system.start(), stopping)
        assert not system.runners["mediation"].assigned()
        started = time.monotonic()
        await system.stop()
        return time.monotonic() - started

    # It cannot leave before the broker answers its join; it does not wait for that.
    assert asyncio.run(scenario()) < FAUST_STOP_SECONDS
