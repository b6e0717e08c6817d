"""The one way an application test hands a service a message: the record
encoded as its topic carries it, with its writer's headers, through the batch
processor and the handler the service's consumer uses. Commands (HTTP's and
timers') are the application's named methods, called directly."""
from __future__ import annotations

import itertools

from services.bus import topics
from services.bus.codec import default_codec
from services.bus.consumer import BatchProcessor, BatchResult
from services.bus.messages import Inbound
from services.system import spec

TOPIC_OF = {record_type: topic for topic in topics.REGISTRY for record_type in topic.record_types}
_event_ids = itertools.count(1)


def messages(app, *records: tuple[str, dict], writer: str | None = None) -> list[Inbound]:
    """Each (record type, record) as the next message on its topic's partition
    0, following what the application's store says it has consumed there."""
    consumed = app.process_recorder.consumed
    next_offset: dict[str, int] = {}
    out = []
    for record_type, record in records:
        topic = TOPIC_OF[record_type]
        if topic.name not in next_offset:
            mark = consumed.mark((topic.name, 0))
            next_offset[topic.name] = mark.next_offset if mark else 0
        offset = next_offset[topic.name]
        next_offset[topic.name] += 1
        # Each message its own event, as on a topic (records built from EXAMPLES share one id).
        record = {**record, "event_id": f"ev-{next(_event_ids)}"}
        headers = {"source": (writer or topic.writers[0]).encode(), "position": str(offset + 1).encode(),
                   "event_type": record_type.encode(), "event_id": record["event_id"].encode()}
        out.append(Inbound(topic.name, 0, offset, str(record[topic.key]).encode(),
                           default_codec().encode(record_type, record), headers))
    return out


def deliver(app, service: str, *records: tuple[str, dict], writer: str | None = None) -> BatchResult:
    """Each (record type, record) to `service`'s application, in one batch, as
    its consumer would hand them over; none may become a dead letter."""
    result = BatchProcessor(app, spec(service).handler(app), default_codec()).process(
        messages(app, *records, writer=writer))
    assert result.dead == 0 and not result.refused, result
    return result
