"""The one way an application test hands a service a message: the record
encoded as its topic carries it, with its writer's headers, through the batch
processor and the handler the service's consumer uses. Commands (HTTP's and
timers') are the application's named methods, called directly."""
from __future__ import annotations

import itertools
import weakref
from collections import defaultdict

from services.bus import topics
from services.bus.codec import default_codec
from services.bus.consumer import BatchProcessor, BatchResult
from services.bus.messages import Inbound
from services.system import spec

TOPIC_OF = {record_type: topic for topic in topics.REGISTRY for record_type in topic.record_types}
_event_ids = itertools.count(1)
# Per application, the next offset on each topic: a consumer reads a partition without gaps.
_next_offset: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def message(app, record_type: str, record: dict, writer: str | None = None) -> Inbound:
    topic = TOPIC_OF[record_type]
    offsets = _next_offset.setdefault(app, defaultdict(int))
    offset = offsets[topic.name]
    offsets[topic.name] += 1
    # Each message its own event, as on a topic (records built from EXAMPLES share one id).
    record = {**record, "event_id": f"ev-{next(_event_ids)}"}
    headers = {"source": (writer or topic.writers[0]).encode(), "position": str(offset + 1).encode(),
               "event_type": record_type.encode(), "event_id": record["event_id"].encode()}
    return Inbound(topic.name, 0, offset, str(record[topic.key]).encode(),
                   default_codec().encode(record_type, record), headers)


def deliver(app, service: str, *records: tuple[str, dict], writer: str | None = None) -> BatchResult:
    """Each (record type, record) to `service`'s application, in one batch, as
    its consumer would hand them over; none may become a dead letter."""
    messages = [message(app, record_type, record, writer) for record_type, record in records]
    result = BatchProcessor(app, spec(service).handler(app), default_codec()).process(messages)
    assert result.dead == 0 and not result.refused, result
    return result
