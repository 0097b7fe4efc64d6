"""Exact-duplicate removal of normalized pairs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam

from pipeline.cleaning import REJECTED
from pipeline.readers import Record

DUPLICATE = "duplicate"


def _pair_key(record: Record) -> tuple[tuple[str, str], Record]:
    return (record[2], record[3]), record


class KeepFirstFn(beam.DoFn):
    """Keeps the first occurrence (lowest ``(corpus, line)``) of a pair; rejects the rest."""

    def process(
        self, element: tuple[tuple[str, str], Iterable[Record]]
    ) -> Iterator[Record | beam.pvalue.TaggedOutput]:
        _, group = element
        first, *others = sorted(group, key=lambda r: (r[0], r[1]))
        yield first
        for corpus, line, source, target, _reason in others:
            yield beam.pvalue.TaggedOutput(REJECTED, (corpus, line, source, target, DUPLICATE))


class DropDuplicates(beam.PTransform):
    """Removes exact duplicate ``(source, target)`` pairs across all corpora.

    Returns a ``DoOutputsTuple`` with the kept records (main) and ``rejected``.
    """

    def expand(self, records: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            records
            | "KeyByPair" >> beam.Map(_pair_key)
            | "GroupByPair" >> beam.GroupByKey()
            | "KeepFirst" >> beam.ParDo(KeepFirstFn()).with_outputs(REJECTED, main="kept")
        )
