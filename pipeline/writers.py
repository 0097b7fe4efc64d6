"""Writing the split text files and ``rejects.tsv`` in a deterministic order.

Both writers gather their PCollection into one sorted list, so the files do not
depend on how the runner ordered or sharded the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.readers import Record

_BATCH = 10_000


def _write_lines(path: str, lines: Iterable[str]) -> None:
    """Writes ``lines`` (each without a newline) as UTF-8, in batches."""
    with FileSystems.create(path) as handle:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= _BATCH:
                handle.write(("\n".join(batch) + "\n").encode("utf-8"))
                batch = []
        if batch:
            handle.write(("\n".join(batch) + "\n").encode("utf-8"))


def write_aligned(records: list[Record], source_path: str, target_path: str) -> None:
    """Writes the pairs of ``records`` sorted by ``(source, target)`` to two aligned files."""
    pairs = sorted((r[2], r[3]) for r in records)
    _write_lines(source_path, (s for s, _ in pairs))
    _write_lines(target_path, (t for _, t in pairs))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def reject_lines(records: list[Record]) -> Iterator[str]:
    """``corpus<TAB>line<TAB>reason<TAB>source<TAB>target`` lines, sorted.

    Backslashes, tabs and line breaks inside the text are backslash-escaped.
    """
    for corpus, line, source, target, reason in sorted(records, key=lambda r: (r[0], r[1], r[4])):
        yield "\t".join((corpus, str(line), reason, _escape(source), _escape(target)))


class WriteAlignedText(beam.PTransform):
    """Writes records to ``<prefix>.<source_lang>`` and ``<prefix>.<target_lang>``."""

    def __init__(self, source_path: str, target_path: str) -> None:
        super().__init__()
        self._paths = (source_path, target_path)

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return (
            records
            | "Gather" >> beam.combiners.ToList()
            | "WriteSorted" >> beam.Map(write_aligned, *self._paths)
        )


class WriteRejects(beam.PTransform):
    """Writes rejected records to one sorted TSV file."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def expand(self, rejects: beam.PCollection) -> beam.PCollection:
        return (
            rejects
            | "Gather" >> beam.combiners.ToList()
            | "WriteSorted"
            >> beam.Map(lambda rs, path: _write_lines(path, reject_lines(rs)), self._path)
        )
