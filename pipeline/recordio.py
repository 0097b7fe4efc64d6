"""The stage's own files: pickled record parts, sorted merges, text and TFRecord writing.

Workers hand data to each other through part files under the work folder
(``<out>/.work``) rather than through the runner, so that only file names and
counts travel through it. Every file goes through Beam's ``FileSystems``.
"""

from __future__ import annotations

import heapq
import pickle
import struct
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

import google_crc32c
from apache_beam.io.filesystems import FileSystems

# Records per pickled frame of a part file (a merge holds one frame per part).
FRAME = 512
_COPY_BLOCK = 1 << 20


def _frames(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def write_records(path: str, records: Iterable[Any]) -> int:
    """Writes ``records`` to a part file as pickled frames; returns how many."""
    count = 0
    with FileSystems.create(path) as handle:
        for frame in _frames(records, FRAME):
            pickle.dump(frame, handle, protocol=pickle.HIGHEST_PROTOCOL)
            count += len(frame)
    return count


def read_records(path: str) -> Iterator[Any]:
    """The records of a part file written by ``write_records``, streaming."""
    with FileSystems.open(path) as handle:
        while True:
            try:
                frame = pickle.load(handle)
            except EOFError:
                return
            yield from frame


def merge_records(paths: Iterable[str], key: Callable[[Any], Any] | None = None) -> Iterator[Any]:
    """The records of part files that are each sorted by ``key``, merged in sorted order."""
    return heapq.merge(*(read_records(p) for p in sorted(paths)), key=key)


class LineWriter:
    """Writes UTF-8 lines in batches and counts the bytes written (for chunk offsets)."""

    def __init__(self, path: str) -> None:
        self._handle = FileSystems.create(path)
        self.position = 0

    def write(self, lines: list[str]) -> None:
        """Writes ``lines``, each followed by a newline."""
        if lines:
            data = ("\n".join(lines) + "\n").encode("utf-8")
            self._handle.write(data)
            self.position += len(data)

    def close(self) -> None:
        """Closes the file."""
        self._handle.close()


def write_lines(path: str, lines: Iterable[str]) -> None:
    """Writes ``lines`` (each without its newline) to ``path``, streaming."""
    writer = LineWriter(path)
    try:
        for batch in _frames(lines, 10_000):
            writer.write(batch)
    finally:
        writer.close()


def concatenate(paths: Iterable[str], destination: str) -> None:
    """Writes the bytes of ``paths``, in order, to ``destination`` (empty if none)."""
    with FileSystems.create(destination) as out:
        for path in paths:
            with FileSystems.open(path) as handle:
                while block := handle.read(_COPY_BLOCK):
                    out.write(block)


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord_frame(data: bytes) -> bytes:
    """One TFRecord: length, masked CRC-32C of the length, data, masked CRC-32C of the data."""
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", _masked_crc(length))
        + data
        + struct.pack("<I", _masked_crc(data))
    )
