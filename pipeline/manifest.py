"""Manifest entries: the small elements the stage's Beam steps pass to each other.

Heavy data stays in part files (see ``recordio``); steps emit entries
``(kind, key, value)`` that name those files or carry counts, and a final
``Gather`` hands all of them to one finishing step. Every step has a single
output (no tagged outputs) and the last step of the pipeline depends on every
write, which keeps the pipeline portable to runners with partial support, such
as Beam's Dask runner.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam

Entry = tuple[str, str, Any]

PART = "part"  # key: bucket number; value: a part file of cleaned records
TEXT = "text"  # key: split; value: a part file of sorted (source, target) pairs
REJECTS = "rejects"  # key: ""; value: a part file of rejected records, sorted
COUNT = "count"  # key: a counter name; value: its count
TFRECORD = "tfrecord"  # key: "split/shard"; value: (chunk index, part file of TFRecords)
IDS = "ids"  # key: split; value: (chunk index, part file of the chunk's piece ids)


def count_entries(counts: Mapping[str, int]) -> Iterator[Entry]:
    """One ``COUNT`` entry per counter, in key order."""
    for key in sorted(counts):
        yield COUNT, key, counts[key]


def sum_counts(entries: Iterable[Entry]) -> dict[str, int]:
    """The sum of every ``COUNT`` entry's value, per key, in key order."""
    total: Counter[str] = Counter()
    for kind, key, value in entries:
        if kind == COUNT:
            total[key] += value
    return dict(sorted(total.items()))


def values_of(entries: Iterable[Entry], kind: str, key: str | None = None) -> list[Any]:
    """The sorted values of the entries of ``kind`` (and ``key``, if given)."""
    return sorted(v for k, name, v in entries if k == kind and key in (None, name))


def _key_all(entry: Entry) -> tuple[str, Entry]:
    return "all", entry


def _values(group: tuple[str, Iterable[Entry]]) -> list[Entry]:
    return list(group[1])


def _is_kind(entry: Entry, kind: str) -> bool:
    return entry[0] == kind


def _is_not_kind(entry: Entry, kind: str) -> bool:
    return entry[0] != kind


class Gather(beam.PTransform):
    """All entries of a PCollection as one list (one element), for a finishing step."""

    def expand(self, entries: beam.PCollection) -> beam.PCollection:
        return (
            entries
            | "KeyAll" >> beam.Map(_key_all)
            | "GroupAll" >> beam.GroupByKey()
            | "ToList" >> beam.Map(_values)
        )


class SelectKind(beam.PTransform):
    """The entries of one kind (or, with ``keep=False``, of every other kind)."""

    def __init__(self, kind: str, keep: bool = True) -> None:
        super().__init__()
        self._kind, self._keep = kind, keep

    def expand(self, entries: beam.PCollection) -> beam.PCollection:
        return entries | "Filter" >> beam.Filter(
            _is_kind if self._keep else _is_not_kind, self._kind
        )
