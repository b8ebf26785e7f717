"""Scoring work of the HTTP API, off the event loop and bounded, so the service stays up.

The event loop only reads requests, awaits and answers: it never waits for a lock scoring
holds, so ``/health`` answers from memory however busy scoring is. Scoring runs in a pool of
``ApiSettings.max_concurrent`` threads; a job that found no free thread within
``queue_timeout_seconds`` is dropped before it starts and answered 503 with ``Retry-After``.

Requests for items of one table (customers of one cutoff) that wait at the same time are
scored in one call, each answered with its own items: a call costs nearly the same for one
customer as for hundreds (every model encodes its input frame column by column, and looking
ids up and turning a frame into records have fixed costs too), so a burst of one-customer
requests takes a few calls instead of one each.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from winback.serving.api_guard import ApiError

T = TypeVar("T")
Out = TypeVar("Out")


def busy(message: str, retry_after: float) -> ApiError:
    """A 503 telling the client when to try again (whole seconds, at least one)."""
    seconds = max(1, math.ceil(retry_after))
    return ApiError(
        503, "busy", f"{message}; retry after {seconds} s", headers={"Retry-After": str(seconds)}
    )


async def result(future: Future[T]) -> T:
    """Await a thread's future from the event loop (it stays shared: never cancelled here)."""
    return await asyncio.shield(asyncio.wrap_future(future))


@dataclass
class _Job(Generic[Out, T]):
    items: list[Hashable]
    finish: Callable[[list[Out]], T]
    future: Future[T] = field(default_factory=Future)


class WorkPool:
    """At most ``workers`` scoring jobs at once; one that waits ``queue_timeout`` s is refused."""

    def __init__(self, workers: int, queue_timeout: float, max_rows: int) -> None:
        self.workers, self.queue_timeout, self.max_rows = workers, queue_timeout, max_rows
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="winback-scoring")
        self._pending: dict[Hashable, list[_Job[Any, Any]]] = {}
        self._lock = threading.Lock()

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a worker thread."""
        return await self._wait(self._executor.submit(work))

    async def run_batched(
        self,
        key: Hashable,
        items: Sequence[Hashable],
        compute: Callable[[list[Hashable]], Sequence[Out]],
        finish: Callable[[list[Out]], T],
    ) -> T:
        """``finish(compute(items))`` in a worker thread, ``compute`` shared with others.

        ``compute`` is called once for the distinct items of every job with the same ``key``
        waiting when a worker frees (up to ``max_rows`` items); it must give one output per
        item, in order, each depending on its item only. ``finish`` gets this job's outputs,
        in the order of its items.
        """
        job: _Job[Out, T] = _Job(list(items), finish)
        with self._lock:
            self._pending.setdefault(key, []).append(job)
        self._executor.submit(self._drain, key, compute)
        return await self._wait(job.future)

    def _drain(self, key: Hashable, compute: Callable[[list[Hashable]], Sequence[Any]]) -> None:
        """Compute the waiting jobs of ``key`` together (nothing if another drain took them)."""
        taken: list[_Job[Any, Any]] = []
        with self._lock:
            queue = self._pending.get(key, [])
            size = 0
            while queue and (not taken or size + len(queue[0].items) <= self.max_rows):
                job = queue.pop(0)
                if job.future.set_running_or_notify_cancel():  # else its request gave up
                    taken.append(job)
                    size += len(job.items)
            if not queue:
                self._pending.pop(key, None)
        if not taken:
            return
        try:
            union = list(dict.fromkeys(item for job in taken for item in job.items))
            outputs = dict(zip(union, compute(union), strict=True))
        except Exception as exc:
            for job in taken:
                job.future.set_exception(exc)
            return
        for job in taken:
            try:
                job.future.set_result(job.finish([outputs[item] for item in job.items]))
            except Exception as exc:
                job.future.set_exception(exc)

    async def _wait(self, future: Future[T]) -> T:
        """The job's result; 503 if it has not started within the queue timeout."""
        waiting = asyncio.wrap_future(future)
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), self.queue_timeout)
        except TimeoutError:
            if future.cancel():  # still queued: it never runs
                raise busy(
                    f"the server is busy: all {self.workers} scoring workers stayed taken while "
                    f"this request waited {self.queue_timeout:g} s",
                    self.queue_timeout,
                ) from None
            return await waiting  # started: let it finish
        except asyncio.CancelledError:
            future.cancel()  # the client went away: drop the job if it has not started
            raise


__all__ = ["WorkPool", "busy", "result"]
