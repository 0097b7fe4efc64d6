"""Batch translation's outputs: each chunk's lines in input order as a part file, then one
output file per input and one rejects file.

A chunk's outcomes arrive grouped by ``(file, chunk)`` in any order; they are sorted by
line number and written to ``<work>/<file>-<chunk>.txt``. The finishing step, which sees
every chunk's entry, checks that no chunk is missing, concatenates each input's parts in
chunk order into its output (an empty input gives an empty output) and writes every
rejected line, sorted by file and line, to the rejects file.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from pipeline.recordio import concatenate, write_lines
from pipeline.translate_files import InputFile
from pipeline.translation_handler import METRICS_NAMESPACE, LineOutcome
from pipeline.writers import reject_lines, write_json

# (line, outcome, raw line): one input line's outcome, keyed by (file, chunk).
Row = tuple[int, LineOutcome, bytes]
# (line, reason, text): a rejected line, the text decoded with U+FFFD for bad bytes.
Reject = tuple[int, str, str]
# (file, chunk, part file, rejects): what the finishing step learns of a written chunk.
ChunkEntry = tuple[int, int, str, list[Reject]]


def part_path(work: str, file: int, chunk: int) -> str:
    """The part file of chunk ``chunk`` of input ``file``."""
    return FileSystems.join(work, f"{file:05d}-{chunk:07d}.txt")


def chunk_count(lines: int, chunk_lines: int) -> int:
    """How many chunks a file of ``lines`` lines has."""
    return math.ceil(lines / chunk_lines)


class WriteChunk(beam.DoFn):
    """``((file, chunk), rows)`` → the chunk's part file, and its ``ChunkEntry``."""

    def __init__(self, files: list[InputFile], chunk_lines: int, work: str) -> None:
        self.files, self.chunk_lines, self.work = files, chunk_lines, work
        self.lines = Metrics.counter(METRICS_NAMESPACE, "lines")

    def process(self, group: tuple[tuple[int, int], Iterable[Row]]) -> Iterator[ChunkEntry]:
        (file, chunk), rows = group
        ordered = sorted(rows, key=lambda row: row[0])
        first = chunk * self.chunk_lines + 1
        expected = min(self.chunk_lines, self.files[file].lines - first + 1)
        if [row[0] for row in ordered] != list(range(first, first + expected)):
            raise RuntimeError(
                f"{self.files[file].path}: lines {first} to {first + expected - 1} came back "
                f"as {len(ordered)} line(s); the runner lost or repeated some"
            )
        path = part_path(self.work, file, chunk)
        write_lines(path, (outcome.text for _, outcome, _ in ordered))
        self.lines.inc(len(ordered))
        rejects = []
        for line, outcome, raw in ordered:
            if outcome.reason:
                Metrics.counter(METRICS_NAMESPACE, f"rejected_{outcome.reason}").inc()
                rejects.append((line, outcome.reason, raw.decode("utf-8", "replace")))
        yield file, chunk, path, rejects


def finish(
    entries: list[ChunkEntry],
    files: list[InputFile],
    chunk_lines: int,
    rejects_path: str,
    summary_path: str,
) -> dict[str, Any]:
    """Writes every output and the rejects file; writes and returns the counts."""
    parts: dict[int, dict[int, str]] = {index: {} for index in range(len(files))}
    for file, chunk, path, _ in entries:
        parts[file][chunk] = path
    for index, input_file in enumerate(files):
        chunks = range(chunk_count(input_file.lines, chunk_lines))
        missing = sorted(set(chunks) - set(parts[index]))
        if missing:
            raise RuntimeError(f"{input_file.path}: chunk(s) {missing} were never written")
        concatenate([parts[index][chunk] for chunk in chunks], input_file.output)
    rejects = sorted((file, *reject) for file, _, _, chunk in entries for reject in chunk)
    records = ((files[file].path, line, text, "", reason) for file, line, reason, text in rejects)
    write_lines(rejects_path, reject_lines(records))
    summary = {
        "files": len(files),
        "lines": sum(f.lines for f in files),
        "rejected": dict(sorted(Counter(reason for _, _, reason, _ in rejects).items())),
        "rejects_file": rejects_path,
    }
    write_json(summary_path, summary)
    return summary
