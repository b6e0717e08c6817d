"""What travels on the bus: an inbound message as a consumer sees it, and an
outgoing one as a service's outbound mapping describes it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HEADER_KEYS = ("event_id", "event_type", "source", "position")


@dataclass(frozen=True)
class Inbound:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes] = field(default_factory=dict)

    @property
    def source(self) -> str | None:
        raw = self.headers.get("source")
        return raw.decode("utf-8", "replace") if raw else None

    @property
    def position(self) -> int | None:
        raw = self.headers.get("position")
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    @property
    def tracking_name(self) -> str | None:
        if self.source is None or self.position is None:
            return None
        return f"{self.source}/{self.topic}/{self.partition}"


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: str
    record_type: str
    record: dict[str, Any]


@dataclass(frozen=True)
class Decoded:
    message: Inbound
    record_type: str
    record: dict[str, Any]
