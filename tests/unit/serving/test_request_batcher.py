"""Dynamic batching: requests share model calls and each gets exactly its own rows back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from serving.request_batcher import DynamicBatcher, QueueFull, describe

WAIT_S = 10.0


def wait_for(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


class Model:
    """Echoes rows with their key; records every call; can be held in a call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, list[Any]]] = []
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()

    def __call__(self, key: Any, rows: list[Any]) -> dict[str, list[Any]]:
        self.calls.append((key, list(rows)))
        self.entered.set()
        assert self.release.wait(WAIT_S)
        if "boom" in rows:
            raise ValueError("model failed")
        return {"echo": [f"{key}:{row}" for row in rows], "length": [len(row) for row in rows]}


@pytest.fixture
def model() -> Model:
    return Model()


@pytest.fixture
def batcher_factory(model: Model) -> Iterator[Callable[..., DynamicBatcher]]:
    made: list[DynamicBatcher] = []

    def make(max_batch_size: int = 64, timeout_s: float = 0.0, **kwargs: Any) -> DynamicBatcher:
        made.append(DynamicBatcher(model, max_batch_size, timeout_s, **kwargs))
        return made[-1]

    yield make
    model.release.set()
    for batcher in made:
        batcher.close()


def hold_worker(batcher: DynamicBatcher, model: Model) -> Future[Any]:
    """Occupy the worker with one call that waits for ``model.release``."""
    model.release.clear()
    first = batcher.submit("k", ["first"])
    assert model.entered.wait(WAIT_S)
    return first


def test_concurrent_requests_share_one_call_and_get_their_own_rows(
    model: Model, batcher_factory: Callable[..., DynamicBatcher]
) -> None:
    batcher = batcher_factory(max_batch_size=64)
    first = hold_worker(batcher, model)
    futures: dict[int, Future[Any]] = {}

    def client(i: int) -> None:
        futures[i] = batcher.submit("k", rows_of(i))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    wait_for(lambda: batcher.pending() == 10)
    model.release.set()
    assert first.result(WAIT_S) == {"echo": ["k:first"], "length": [5]}
    for i, future in futures.items():
        assert future.result(WAIT_S) == {
            "echo": [f"k:{row}" for row in rows_of(i)],
            "length": [len(row) for row in rows_of(i)],
        }
    assert len(model.calls) == 2  # the held call, then all ten requests together
    assert sorted(model.calls[1][1]) == sorted(r for i in range(10) for r in rows_of(i))


def rows_of(i: int) -> list[str]:
    """Request ``i`` has one to three rows."""
    return [f"r{i}-{j}" for j in range(i % 3 + 1)]


def test_batches_never_exceed_max_batch_size(
    model: Model, batcher_factory: Callable[..., DynamicBatcher]
) -> None:
    batcher = batcher_factory(max_batch_size=4)
    first = hold_worker(batcher, model)
    futures = [batcher.submit("k", [f"{i}a", f"{i}b"]) for i in range(5)]
    wait_for(lambda: batcher.pending() == 5)
    model.release.set()
    first.result(WAIT_S)
    for i, future in enumerate(futures):
        assert future.result(WAIT_S)["echo"] == [f"k:{i}a", f"k:{i}b"]
    assert [len(rows) for _, rows in model.calls] == [1, 4, 4, 2]


def test_different_keys_are_never_mixed_and_keep_their_order(
    model: Model, batcher_factory: Callable[..., DynamicBatcher]
) -> None:
    batcher = batcher_factory()
    first = hold_worker(batcher, model)
    a1 = batcher.submit("a", ["1"])
    b1 = batcher.submit("b", ["2"])
    a2 = batcher.submit("a", ["3"])
    wait_for(lambda: batcher.pending() == 3)
    model.release.set()
    first.result(WAIT_S)
    assert a1.result(WAIT_S)["echo"] == ["a:1"] and a2.result(WAIT_S)["echo"] == ["a:3"]
    assert b1.result(WAIT_S)["echo"] == ["b:2"]
    assert model.calls[1:] == [("a", ["1", "3"]), ("b", ["2"])]


def test_timeout_flushes_a_lone_request(
    model: Model, batcher_factory: Callable[..., DynamicBatcher]
) -> None:
    batcher = batcher_factory(max_batch_size=64, timeout_s=0.05)
    start = time.monotonic()
    assert batcher.submit("k", ["x"]).result(WAIT_S)["echo"] == ["k:x"]
    assert time.monotonic() - start >= 0.05  # it waited for company, then ran alone
    assert model.calls == [("k", ["x"])]


def test_full_batch_runs_without_waiting_for_the_timeout(
    model: Model, batcher_factory: Callable[..., DynamicBatcher]
) -> None:
    batcher = batcher_factory(max_batch_size=2, timeout_s=30.0)
    start = time.monotonic()
    assert batcher.submit("k", ["x", "y"]).result(WAIT_S)["length"] == [1, 1]
    assert time.monotonic() - start < 5.0


def test_oversized_request_runs_alone_in_chunks(
    model: Model, batcher_factory: Callable[..., DynamicBatcher]
) -> None:
    batcher = batcher_factory(max_batch_size=3)
    rows = [str(i) for i in range(7)]
    assert batcher.submit("k", rows).result(WAIT_S)["echo"] == [f"k:{r}" for r in rows]
    assert [len(r) for _, r in model.calls] == [3, 3, 1]


def test_a_failing_row_fails_its_request_only(
    model: Model,
    batcher_factory: Callable[..., DynamicBatcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The batched call raises for one row: each request runs alone, only its own fails."""
    batcher = batcher_factory()
    first = hold_worker(batcher, model)
    before = batcher.submit("k", ["fine", "also fine"])
    bad = batcher.submit("k", ["ok", "boom"])
    after = batcher.submit("k", ["fine"])
    other = batcher.submit("other", ["ok"])
    wait_for(lambda: batcher.pending() == 4)
    model.release.set()
    first.result(WAIT_S)
    with pytest.raises(ValueError, match="model failed"):
        bad.result(WAIT_S)
    assert before.result(WAIT_S)["echo"] == ["k:fine", "k:also fine"]
    assert after.result(WAIT_S)["echo"] == ["k:fine"]
    assert other.result(WAIT_S)["echo"] == ["other:ok"]
    assert [rows for _, rows in model.calls[1:5]] == [
        ["fine", "also fine", "ok", "boom", "fine"],  # the batch, then each request alone
        ["fine", "also fine"],
        ["ok", "boom"],
        ["fine"],
    ]
    assert batcher.submit("k", ["later"]).result(WAIT_S)["echo"] == ["k:later"]
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in failures] == [
        "request of 2 rows failed: ValueError: model failed"
    ]
    assert all(r.exc_info is None for r in caplog.records)  # one line, no traceback


def test_describe_keeps_the_first_line_only() -> None:
    err = RuntimeError("Graph execution error:\n\nDetected at node x defined at:\n  File ...")
    assert describe(err) == "RuntimeError: Graph execution error:"
    assert len(describe(ValueError("x" * 1000))) == 300


def test_close_finishes_queued_work_then_rejects(
    model: Model, batcher_factory: Callable[..., DynamicBatcher]
) -> None:
    batcher = batcher_factory()
    queued = batcher.submit("k", ["x"])
    batcher.close()
    assert queued.result(WAIT_S)["echo"] == ["k:x"]
    with pytest.raises(RuntimeError, match="stopped"):
        batcher.submit("k", ["y"]).result(WAIT_S)


def test_invalid_settings() -> None:
    with pytest.raises(ValueError):
        DynamicBatcher(lambda key, rows: {}, 0, 0.0)


def test_full_queue_refuses_at_once_and_frees_when_batched(
    model: Model, batcher_factory: Callable[..., DynamicBatcher]
) -> None:
    """``max_queued_rows`` (TF Serving's max_enqueued_batches x max_batch_size) bounds the
    rows waiting while every batch thread is busy."""
    batcher = batcher_factory(max_batch_size=2, max_queued_rows=3)
    first = hold_worker(batcher, model)
    waiting = [batcher.submit("k", ["a", "b"]), batcher.submit("k", ["c"])]
    assert batcher.queued_rows() == 3
    with pytest.raises(QueueFull, match="full"):
        batcher.submit("k", ["d"]).result(WAIT_S)
    model.release.set()
    assert first.result(WAIT_S)["echo"] == ["k:first"]
    assert [f.result(WAIT_S)["echo"] for f in waiting] == [["k:a", "k:b"], ["k:c"]]
    assert batcher.queued_rows() == 0


def test_allowed_batch_sizes_pad_each_call_and_drop_the_padding(
    model: Model, batcher_factory: Callable[..., DynamicBatcher]
) -> None:
    batcher = batcher_factory(max_batch_size=4, allowed_batch_sizes=(2, 4), pad_row="")
    assert batcher.submit("k", ["a"]).result(WAIT_S)["echo"] == ["k:a"]
    assert batcher.submit("k", list("abc")).result(WAIT_S)["echo"] == ["k:a", "k:b", "k:c"]
    assert [rows for _, rows in model.calls] == [["a", ""], ["a", "b", "c", ""]]
    assert list(batcher.batch_sizes) == [2, 4]


def test_without_batching_each_request_is_a_call_and_threads_run_in_parallel(
    model: Model, batcher_factory: Callable[..., DynamicBatcher]
) -> None:
    batcher = batcher_factory(batching=False, num_threads=2)
    first = hold_worker(batcher, model)
    second = batcher.submit("k", ["x"])  # a second thread takes it while the first is held
    wait_for(lambda: len(model.calls) == 2)
    third = batcher.submit("k", ["y"])
    fourth = batcher.submit("k", ["z"])
    model.release.set()
    assert [f.result(WAIT_S)["echo"] for f in (first, second, third, fourth)] == [
        ["k:first"],
        ["k:x"],
        ["k:y"],
        ["k:z"],
    ]
    assert all(len(rows) == 1 for _, rows in model.calls)  # never merged
