"""Translate many lines in length-sorted batches and give them back in input order.

Shared by the serving script and evaluation; it depends on nothing but the
translate function it is given (``list[str] -> list[str]``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from tqdm import tqdm

TranslateFn = Callable[[list[str]], list[str]]


def translate_chunk(translate: TranslateFn, lines: list[str], batch_size: int) -> list[str]:
    """Translate ``lines`` in batches of similar length; output order equals input order.

    Empty (whitespace-only) lines are not sent to the model and come back empty.
    """
    order = sorted((i for i, line in enumerate(lines) if line.strip()), key=lambda i: len(lines[i]))
    outputs = [""] * len(lines)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        for index, translation in zip(batch, translate([lines[i] for i in batch]), strict=True):
            outputs[index] = translation
    return outputs


CHUNK_SIZE = 4096  # lines sorted by length together (a chunk of output is written at once)


def translate_stream(
    translate: TranslateFn,
    lines: Iterable[str],
    batch_size: int,
    chunk_size: int = CHUNK_SIZE,
    progress: bool = False,
    total: int | None = None,
) -> Iterator[str]:
    """Translate an arbitrarily long stream in constant memory, ``chunk_size`` lines at a time
    (each chunk sorted by length into batches), yielding translations in input order."""
    for chunk in translate_chunks(translate, lines, batch_size, chunk_size, progress, total):
        yield from chunk


def translate_chunks(
    translate: TranslateFn,
    lines: Iterable[str],
    batch_size: int,
    chunk_size: int = CHUNK_SIZE,
    progress: bool = False,
    total: int | None = None,
) -> Iterator[list[str]]:
    """``translate_stream`` a chunk at a time: each list holds the translations of the next
    ``chunk_size`` lines (fewer at the end), in input order, as soon as they are done, so a
    caller can write and flush them before the rest of the input is read."""
    bar = tqdm(total=total, unit="line", disable=not progress, desc="translating")
    chunk: list[str] = []
    try:
        for line in lines:
            chunk.append(line.rstrip("\n"))
            if len(chunk) >= chunk_size:
                yield translate_chunk(translate, chunk, batch_size)
                bar.update(len(chunk))
                chunk = []
        if chunk:
            yield translate_chunk(translate, chunk, batch_size)
            bar.update(len(chunk))
    finally:
        bar.close()
