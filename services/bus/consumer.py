"""Exactly-once effects over an at-least-once bus.

A batch of messages is decoded, split by tracking name
(`source/topic/partition`), and each group is handled in one unit of work whose
events are stored together with `Tracking(name, highest position)`. A message
whose position is not above the tracked maximum has had its effect already and
is skipped. Undecodable input and input a handler refuses become dead letters,
stored in the same way, and consumption goes on. A failure to write the store
is raised: the caller retries the batch and never skips ahead.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from eventsourcing.persistence import PersistenceError, Tracking

from . import topics as registry
from .codec import Codec, CodecError
from .deadletters import DeadLetter, b64
from .messages import Decoded, Inbound
from .store import ServiceApplication, UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Decoded], None]


@dataclass
class BatchResult:
    handled: int = 0
    skipped: int = 0
    dead: int = 0


class BatchProcessor:
    def __init__(self, app: ServiceApplication, handle: Handler, codec: Codec):
        self.app = app
        self.handle = handle
        self.codec = codec

    def process(self, messages: list[Inbound]) -> BatchResult:
        result = BatchResult()
        groups: OrderedDict[str | None, list[Decoded]] = OrderedDict()
        dead: list[tuple[Inbound, str]] = []
        for message in messages:
            try:
                record_type, record = self.codec.decode(message.value)
                expected = registry.topic(message.topic).record_types
                if record_type not in expected:
                    raise CodecError(f"{record_type} does not belong on {message.topic}")
            except (CodecError, registry.UnknownTopic) as exc:
                dead.append((message, str(exc)))
                continue
            groups.setdefault(message.tracking_name, []).append(Decoded(message, record_type, record))
        if dead:
            result.dead += self._dead_letter(dead)
        for name, group in groups.items():
            self._process_group(name, group, result)
        return result

    def _process_group(self, name: str | None, group: list[Decoded], result: BatchResult) -> None:
        fresh = self._unseen(name, group)
        result.skipped += len(group) - len(fresh)
        uow = UnitOfWork(self.app)
        for i, item in enumerate(fresh):
            try:
                self.handle(uow, item)
            except PersistenceError:
                raise
            except Exception as exc:
                # A valid message the service cannot act on. Store what came
                # before it, dead-letter it at its own position, go on after it.
                log.warning("dead-lettering %s at %s/%s: %r", item.record_type,
                            item.message.topic, item.message.offset, exc)
                self._commit(name, fresh[:i])
                tracking = Tracking(name, item.message.position) if name else None
                result.dead += self._dead_letter([(item.message, f"{type(exc).__name__}: {exc}")], tracking)
                result.handled += i
                return self._process_group(name, fresh[i + 1:], result)
        uow.commit(Tracking(name, fresh[-1].message.position) if name and fresh else None)
        result.handled += len(fresh)

    def _commit(self, name: str | None, items: list[Decoded]) -> None:
        if not items:
            return
        uow = UnitOfWork(self.app)
        for item in items:
            self.handle(uow, item)
        uow.commit(Tracking(name, items[-1].message.position) if name else None)

    def _unseen(self, name: str | None, group: list[Decoded]) -> list[Decoded]:
        if name is None:
            return group
        last = self.app.process_recorder.max_tracking_id(name)
        fresh = []
        for item in group:
            position = item.message.position
            if last is None or position > last:
                fresh.append(item)
                last = position
        return fresh

    def _dead_letter(self, items: list[tuple[Inbound, str]], tracking: Tracking | None = None) -> int:
        uow = UnitOfWork(self.app)
        stored = 0
        for message, error in items:
            letter_id = DeadLetter.create_id(message.topic, message.partition, message.offset, b64(message.value))
            if uow.get(letter_id) is not None:
                continue
            key = message.key.decode("utf-8", "replace") if message.key else None
            uow.add(DeadLetter(message.topic, message.partition, message.offset, error[:2000],
                               b64(message.key), b64(message.value), key))
            stored += 1
        uow.commit(tracking)
        return stored
