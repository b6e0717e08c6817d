"""Group commit: submissions that arrive together share one store transaction.

A commit costs the same whether it stores one request or a hundred (on SQLite
the fsync, on PostgreSQL the round trip and the WAL flush), so requests that
come in while one commit runs wait for the next and go in together. The first
request after a quiet spell is committed at once: there is no window to wait
out. Each caller is answered only once the transaction holding its request has
committed, with its own answer; if the transaction fails, every request in it
fails, and none of them was stored.
"""
from __future__ import annotations

import asyncio
import contextvars
from typing import Awaitable, Callable

from eventsourcing.persistence import InterfaceError, OperationalError

from services.bus import correlation

from .application import Submission

# Bounds one transaction, so a burst is stored in several commits rather than
# one that holds the store's write lock for seconds.
MAX_PER_COMMIT = 1000


class GroupCommit:
    def __init__(self, run_in_store: Callable[..., Awaitable], submit_many: Callable[[list[Submission]], list],
                 max_per_commit: int = MAX_PER_COMMIT):
        self._run_in_store = run_in_store
        self._submit_many = submit_many
        self._max = max_per_commit
        self._waiting: list[tuple[Submission, asyncio.Future, str | None]] = []
        self._committing: asyncio.Task | None = None
        # What a test or an operator can read: how many transactions stored how many requests.
        self.commits = 0
        self.committed = 0
        self.in_flight = 0

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def submit(self, kind: str, record: dict, idempotency_key: str | None = None) -> dict:
        """The answer once stored; raises what storing it raised (IdempotencyKeyReused
        for this request alone, a PersistenceError for the whole transaction)."""
        [answer] = await asyncio.gather(*self.submit_all([(kind, record, idempotency_key)]))
        return answer

    def submit_all(self, submissions: list[Submission]) -> list[asyncio.Future]:
        """One future per submission, all queued at once, so a bulk goes into
        as few transactions as its size allows."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in submissions]
        rid = correlation.request_id.get()
        self._waiting.extend((submission, future, rid) for submission, future in zip(submissions, futures))
        if self._committing is None:
            # A context of its own: the commits serve every waiting request, not
            # the one that happened to start them.
            self._committing = asyncio.create_task(self._commit_while_waiting(), context=contextvars.Context())
        return futures

    async def _one_by_one(self, batch) -> None:
        for submission, future, rid in batch:
            try:
                [answer] = await self._run_in_store(self._submit_many, [submission], [rid])
            except Exception as exc:
                answer = exc
            else:
                self.commits += 1
                self.committed += 1
            _answer(future, answer)

    async def _commit_while_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:self._max], self._waiting[self._max:]
                self.in_flight = len(batch)
                try:
                    answers = await self._run_in_store(self._submit_many, [submission for submission, _, _ in batch],
                                                       [rid for _, _, rid in batch])
                    self.in_flight = 0
                except asyncio.CancelledError:
                    for _, future, _ in batch + self._waiting:
                        future.cancel()
                    self._waiting = []
                    raise
                except Exception as exc:
                    self.in_flight = 0
                    if len(batch) > 1 and not isinstance(exc, (OperationalError, InterfaceError)):
                        # Something one request trips must not fail the others with it;
                        # a store that cannot be reached fails them all, once.
                        await self._one_by_one(batch)
                        continue
                    for _, future, _ in batch:
                        _answer(future, exc)
                    continue
                self.commits += 1
                self.committed += len(batch)
                for (_, future, _), answer in zip(batch, answers):
                    _answer(future, answer)
        finally:
            self._committing = None
            self.in_flight = 0


def _answer(future: asyncio.Future, answer) -> None:
    """A request's answer, or what storing it raised; a caller gone away is
    answered by no one (what it sent is stored all the same)."""
    if future.done():
        return
    if isinstance(answer, Exception):
        future.set_exception(answer)
    else:
        future.set_result(answer)
