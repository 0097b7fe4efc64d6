"""Dynamic batching: concurrent requests share one model call.

Requests go into a queue; one worker thread takes the oldest, then keeps taking
requests with the same key (model version, signature, options) until the batch
holds ``max_batch_size`` rows or ``timeout_s`` has passed since the batch was
opened, runs the model once on all rows and hands every request back exactly
its own rows. Requests with another key wait for the next batch, in order. If
the call fails, each request of the batch runs alone: a request that makes the
model fail fails alone, and its neighbours get their results.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("serving.batching")
Outputs = dict[str, list[Any]]
RunBatch = Callable[[Any, list[Any]], Mapping[str, Sequence[Any]]]


@dataclass
class _Task:
    key: Hashable
    rows: list[Any]
    future: Future[Outputs] = field(default_factory=Future)


_STOP = object()
MAX_MESSAGE_CHARS = 300


def describe(err: BaseException) -> str:
    """``Type: message`` on one line, at most ``MAX_MESSAGE_CHARS`` characters.

    The message is its first line; TensorFlow's errors put the graph's call stack
    (``... defined at (most recent call last):``) before the message proper, so for
    them it is the last line outside that stack.
    """
    lines = [line for line in str(err).splitlines() if line.strip()]
    if any("(most recent call last)" in line for line in lines):
        lines = [line for line in lines if not line[0].isspace() and not line.endswith(":")][-1:]
    text = f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip()
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 3] + "..."


class DynamicBatcher:
    """Batch ``submit``-ted rows by key and run them with ``run_batch(key, rows)``.

    ``run_batch`` returns a mapping of output name to one value per row. A
    single request larger than ``max_batch_size`` runs alone, in chunks of
    ``max_batch_size`` rows.
    """

    def __init__(self, run_batch: RunBatch, max_batch_size: int, timeout_s: float) -> None:
        if max_batch_size < 1 or timeout_s < 0:
            raise ValueError("max_batch_size must be >= 1 and timeout_s >= 0")
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.timeout_s = timeout_s
        self._queue: queue.Queue[Any] = queue.Queue()
        self._deferred: collections.deque[_Task] = collections.deque()
        self.batch_sizes: collections.deque[int] = collections.deque(maxlen=10_000)
        self._worker = threading.Thread(target=self._loop, name="dynamic-batcher", daemon=True)
        self._worker.start()

    def submit(self, key: Hashable, rows: list[Any]) -> Future[Outputs]:
        """Queue ``rows`` under ``key``; the future resolves to this request's outputs."""
        task = _Task(key, list(rows))
        if not self._worker.is_alive():
            task.future.set_exception(RuntimeError("the batcher is stopped"))
        else:
            self._queue.put(task)
        return task.future

    def pending(self) -> int:
        """Requests waiting in the queue (not yet taken by the worker)."""
        return self._queue.qsize()

    def close(self, timeout_s: float = 10.0) -> None:
        """Finish the batches already queued, then stop the worker."""
        self._queue.put(_STOP)
        self._worker.join(timeout_s)

    def _next(self, timeout: float | None) -> Any:
        """The next task, deferred ones first; ``None`` when none came within ``timeout``
        seconds (``None``: do not wait)."""
        if self._deferred:
            return self._deferred.popleft()
        try:
            return self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            return None

    def _collect(self, first: _Task) -> list[_Task]:
        """``first`` and the queued tasks with its key, up to the size limit or deadline."""
        batch, rows = [first], len(first.rows)
        deadline = time.monotonic() + self.timeout_s
        skipped: list[Any] = []
        while rows < self.max_batch_size:
            remaining = deadline - time.monotonic()
            task = self._next(remaining if remaining > 0 else None)
            if task is None:
                break
            if task is _STOP or task.key != first.key:
                skipped.append(task)
                continue
            if rows + len(task.rows) > self.max_batch_size:
                skipped.append(task)
                break
            batch.append(task)
            rows += len(task.rows)
        self._deferred.extendleft(reversed(skipped))
        return batch

    def _loop(self) -> None:
        while True:
            first = self._next(None) if self._deferred else self._queue.get()
            if first is _STOP:
                self._fail_remaining()
                return
            self._run(self._collect(first))

    def _run(self, batch: list[_Task]) -> None:
        rows = [row for task in batch for row in task.rows]
        self.batch_sizes.append(len(rows))
        try:
            outputs = self._call(batch[0].key, rows)
        except Exception as err:
            if len(batch) == 1:
                self._fail(batch[0], err)
                return
            # One request's rows may have made the call fail: run each alone, so that only
            # the requests that fail on their own get an error.
            log.debug("batch of %d requests failed (%s); running each alone", len(batch), err)
            for task in batch:
                try:
                    task.future.set_result(self._call(task.key, task.rows))
                except Exception as own:
                    self._fail(task, own)
            return
        offset = 0
        for task in batch:
            end = offset + len(task.rows)
            task.future.set_result({name: v[offset:end] for name, v in outputs.items()})
            offset = end

    def _call(self, key: Hashable, rows: list[Any]) -> Outputs:
        """``run_batch`` on ``rows`` in chunks of at most ``max_batch_size``."""
        outputs: Outputs = {}
        for start in range(0, len(rows), self.max_batch_size):
            chunk = self._run_batch(key, rows[start : start + self.max_batch_size])
            for name, values in chunk.items():
                outputs.setdefault(name, []).extend(values)
        return outputs

    @staticmethod
    def _fail(task: _Task, err: Exception) -> None:
        """Fail one request with ``err``, logged as one line (no traceback)."""
        log.error("request of %d rows failed: %s", len(task.rows), describe(err))
        task.future.set_exception(err)

    def _fail_remaining(self) -> None:
        while (task := self._next(None)) is not None:
            if task is not _STOP:
                task.future.set_exception(RuntimeError("the batcher was stopped"))
