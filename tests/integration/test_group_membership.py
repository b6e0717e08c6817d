"""A service's consumer group on the broker: a service that stops leaves it,
so whoever shares or takes over its partitions need not wait out its session."""
import asyncio
import os

from aiokafka.admin import AIOKafkaAdminClient

from services.system import System


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
