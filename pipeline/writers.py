"""Writing the clean step's outputs from its sorted parts, in a deterministic order.

The split text files are a streaming k-way merge of the buckets' sorted parts
(so they are sorted by ``(source, target)`` whatever the number of buckets or
workers), and ``rejects.tsv`` is a merge of sorted reject parts. Memory holds
one frame per part, not the corpus.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from core.contract import SPLITS, DataLayout
from pipeline.buckets import reject_order
from pipeline.manifest import REJECTS, TEXT, Entry, Gather, sum_counts, values_of
from pipeline.readers import Record
from pipeline.recordio import LineWriter, merge_records, write_lines

# Lines per encoding task; the text index records where each such chunk starts.
ENCODE_CHUNK_LINES = 10_000
_BATCH = 1_000

TextIndex = dict[str, list[tuple[int, int, int]]]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def reject_lines(records: Iterable[Record]) -> Iterator[str]:
    """``corpus<TAB>line<TAB>reason<TAB>source<TAB>target`` lines, in the given order.

    Backslashes, tabs and line breaks inside the text are backslash-escaped.
    """
    for corpus, line, source, target, reason in records:
        yield "\t".join((corpus, str(line), reason, _escape(source), _escape(target)))


def write_split_text(
    parts: list[str], source_path: str, target_path: str
) -> list[tuple[int, int, int]]:
    """Merges sorted ``(source, target)`` parts into two aligned text files.

    Returns the chunks for encoding: ``(lines, source offset, target offset)``
    for every ``ENCODE_CHUNK_LINES`` lines.
    """
    chunks: list[tuple[int, int, int]] = []
    pairs = merge_records(parts)
    source, target = LineWriter(source_path), LineWriter(target_path)
    try:
        while chunk := list(islice(pairs, ENCODE_CHUNK_LINES)):
            chunks.append((len(chunk), source.position, target.position))
            for start in range(0, len(chunk), _BATCH):
                batch = chunk[start : start + _BATCH]
                source.write([s for s, _ in batch])
                target.write([t for _, t in batch])
    finally:
        source.close()
        target.close()
    return chunks


def write_json(path: str, data: Any) -> None:
    """Writes ``data`` as indented JSON (with a final newline)."""
    with FileSystems.create(path) as handle:
        handle.write((json.dumps(data, indent=1) + "\n").encode("utf-8"))


def read_json(path: str) -> Any:
    """The JSON document at ``path``."""
    with FileSystems.open(path) as handle:
        return json.loads(handle.read().decode("utf-8"))


def finish_clean(entries: list[Entry], layout: DataLayout) -> TextIndex:
    """Writes the split texts, ``rejects.tsv`` and the clean counts; returns the text index."""
    index = {
        split: write_split_text(values_of(entries, TEXT, split), *layout.texts(split))
        for split in SPLITS
    }
    rejects = merge_records(values_of(entries, REJECTS), key=reject_order)
    write_lines(layout.rejects, reject_lines(rejects))
    write_json(layout.work("clean_counts.json"), sum_counts(entries))
    return index


class WriteCleanOutputs(beam.PTransform):
    """Entries of the clean step → the written outputs; emits the text index (one element)."""

    def __init__(self, layout: DataLayout) -> None:
        super().__init__()
        self._layout = layout

    def expand(self, entries: beam.PCollection) -> beam.PCollection:
        return (
            entries
            | "GatherCleanEntries" >> Gather()
            | "MergeTextAndRejects" >> beam.Map(finish_clean, self._layout)
        )
