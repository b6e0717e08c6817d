"""Input a service could not use. It is stored like any other event, so the
relay publishes it to `deadletter` exactly as reliably as everything else."""
from __future__ import annotations

import base64
import hashlib

from eventsourcing.domain import Aggregate, event

from services.ids import derive_id


class DeadLetter(Aggregate):
    @staticmethod
    def create_id(topic: str, partition: int, offset: int, original_b64: str):
        # The bytes are part of the id: a wiped broker reuses offsets.
        digest = hashlib.sha256(original_b64.encode("ascii")).hexdigest()
        return derive_id("deadletter", topic, partition, offset, digest)

    @event("Recorded")
    def __init__(self, topic: str, partition: int, offset: int, error: str,
                 key_b64: str | None, original_b64: str, complaint_id: str | None):
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.error = error
        self.key_b64 = key_b64
        self.original_b64 = original_b64
        self.complaint_id = complaint_id


def b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)
