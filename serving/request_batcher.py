"""Dynamic batching: concurrent requests share one model call.

Requests go into a queue. Whenever one of ``num_threads`` batch threads is
free, the scheduler takes the oldest request, then keeps taking requests with
the same key (model version, signature, options) until the batch holds
``max_batch_size`` rows or ``timeout_s`` has passed since the batch was opened,
and a batch thread runs the model once on all rows and hands every request back
exactly its own rows. Requests with another key wait for the next batch, in
order. If the call fails, each request of the batch runs alone: a request that
makes the model fail fails alone, and its neighbours get their results.

These are the semantics of TF Serving's ``BatchingParameters``: the queue holds
at most ``max_queued_rows`` rows (``max_enqueued_batches`` x ``max_batch_size``;
beyond, ``QueueFull``), and with ``allowed_batch_sizes`` a batch is padded with
``pad_row`` up to the next allowed size. With ``batching`` off, every request
is a batch of its own.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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


class QueueFull(RuntimeError):
    """The batching queue holds its maximum of rows: the request is refused."""


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

    def __init__(
        self,
        run_batch: RunBatch,
        max_batch_size: int,
        timeout_s: float,
        *,
        num_threads: int = 1,
        max_queued_rows: int = 0,
        allowed_batch_sizes: Sequence[int] = (),
        pad_row: Any = None,
        batching: bool = True,
        thread_name: str = "dynamic-batcher",
    ) -> None:
        if max_batch_size < 1 or timeout_s < 0 or num_threads < 1:
            raise ValueError("max_batch_size and num_threads must be >= 1 and timeout_s >= 0")
        if allowed_batch_sizes and (allowed_batch_sizes[-1] != max_batch_size or pad_row is None):
            raise ValueError("allowed_batch_sizes must end at max_batch_size and need a pad_row")
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.timeout_s = timeout_s
        self.max_queued_rows = max_queued_rows
        self.allowed_batch_sizes = tuple(allowed_batch_sizes)
        self.batching = batching
        self._pad_row = pad_row
        self._queue: queue.Queue[Any] = queue.Queue()
        self._queued_rows = 0
        self._count_lock = threading.Lock()
        self._deferred: collections.deque[_Task] = collections.deque()
        self._free = threading.Semaphore(num_threads)
        self._pool = ThreadPoolExecutor(num_threads, thread_name_prefix=thread_name)
        self.batch_sizes: collections.deque[int] = collections.deque(maxlen=10_000)
        self.on_batch: Callable[[int], None] | None = None  # called with each batch's size
        self._worker = threading.Thread(target=self._loop, name="batch-scheduler", daemon=True)
        self._worker.start()

    def submit(self, key: Hashable, rows: list[Any]) -> Future[Outputs]:
        """Queue ``rows`` under ``key``; the future resolves to this request's outputs
        (or fails with ``QueueFull`` at once when the queue is full)."""
        task = _Task(key, list(rows))
        if not self._worker.is_alive():
            task.future.set_exception(RuntimeError("the batcher is stopped"))
            return task.future
        with self._count_lock:
            full = self.max_queued_rows and self._queued_rows + len(rows) > self.max_queued_rows
            if not full:
                self._queued_rows += len(rows)
        if full:
            task.future.set_exception(
                QueueFull(f"The batch queue is full ({self.max_queued_rows} rows waiting at most)")
            )
        else:
            self._queue.put(task)
        return task.future

    def pending(self) -> int:
        """Requests waiting in the queue (not yet taken by the scheduler)."""
        return self._queue.qsize()

    def queued_rows(self) -> int:
        """Rows waiting for a batch (the measure ``max_queued_rows`` bounds)."""
        return self._queued_rows

    def close(self, timeout_s: float = 10.0) -> None:
        """Finish the batches already queued, then stop the scheduler and batch threads."""
        self._queue.put(_STOP)
        self._worker.join(timeout_s)
        self._pool.shutdown(wait=True)

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
        if not self.batching:
            return batch
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
            self._free.acquire()  # a batch forms only when a thread can run it
            first = self._next(None) if self._deferred else self._queue.get()
            if first is _STOP:
                self._free.release()
                self._fail_remaining()
                return
            batch = self._collect(first)
            with self._count_lock:
                self._queued_rows -= sum(len(task.rows) for task in batch)
            self._pool.submit(self._run_and_release, batch)

    def _run_and_release(self, batch: list[_Task]) -> None:
        try:
            self._run(batch)
        finally:
            self._free.release()

    def _padded_size(self, rows: int) -> int:
        """The smallest allowed batch size that holds ``rows`` (``rows`` without a list)."""
        return next((size for size in self.allowed_batch_sizes if size >= rows), rows)

    def _run(self, batch: list[_Task]) -> None:
        rows = [row for task in batch for row in task.rows]
        size = self._padded_size(len(rows))
        self.batch_sizes.append(size)
        if self.on_batch is not None:
            self.on_batch(size)
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
        """``run_batch`` on ``rows`` in chunks of at most ``max_batch_size``, each padded to
        an allowed batch size (the padding rows' outputs are dropped)."""
        outputs: Outputs = {}
        for start in range(0, len(rows), self.max_batch_size):
            chunk = rows[start : start + self.max_batch_size]
            padding = self._padded_size(len(chunk)) - len(chunk)
            result = self._run_batch(key, chunk + [self._pad_row] * padding)
            for name, values in result.items():
                outputs.setdefault(name, []).extend(values[: len(chunk)])
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
