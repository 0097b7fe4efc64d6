"""Translating a stream in length-sorted batches: order, empty lines, constant memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.length_sorted_batches import translate_chunks, translate_stream


def upper(batch: list[str]) -> list[str]:
    assert all(line.strip() for line in batch), "empty lines must not reach the model"
    return [line.upper() for line in batch]


def test_stream_keeps_order_and_empty_lines() -> None:
    lines = ["b b b\n", "\n", "a\n", "   \n", "cc\n"]
    assert list(translate_stream(upper, lines, batch_size=2, chunk_size=3)) == [
        "B B B",
        "",
        "A",
        "",
        "CC",
    ]


def test_stream_runs_in_constant_memory_on_a_generator() -> None:
    """Lines are pulled lazily: never more than one chunk ahead of what was yielded."""
    pulled = 0
    total = 100_000

    def source() -> Iterator[str]:
        nonlocal pulled
        for i in range(total):
            pulled += 1
            yield f"line {i}\n" if i % 7 else "\n"

    chunk = 64
    out = 0
    for i, line in enumerate(translate_stream(upper, source(), batch_size=16, chunk_size=chunk)):
        assert pulled - i <= chunk, "the stream read too far ahead"
        assert line == (f"LINE {i}" if i % 7 else "")
        out += 1
    assert out == total


def test_chunks_are_handed_out_before_a_late_failure() -> None:
    """A failure late in the input loses nothing translated before the chunk it falls in."""

    def source() -> Iterator[str]:
        yield from (f"line {i}\n" for i in range(10))
        raise OSError("the input broke")

    done: list[list[str]] = []
    with pytest.raises(OSError, match="the input broke"):
        for chunk in translate_chunks(upper, source(), batch_size=2, chunk_size=4):
            done.append(chunk)
    assert done == [[f"LINE {i}" for i in range(4)], [f"LINE {i}" for i in range(4, 8)]]
