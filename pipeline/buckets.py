"""The clean step: read → clean → bucket by source → dedupe, split and sort each bucket.

``ReadCleanFn`` reads and cleans one chunk of a corpus and writes its kept
records into one part file per bucket (``crc32(source) % buckets``) and its
rejects into one part file. A ``GroupByKey`` on the bucket number then hands
the names of a bucket's parts to ``ProcessBucketFn``, which removes duplicates,
assigns splits, removes leakage and writes, per split, the bucket's pairs sorted
by ``(source, target)``. Only file names and counts travel through the runner;
one bucket at a time is held in a worker's memory.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping

import apache_beam as beam

from core.contract import DataLayout
from pipeline.cleaning import clean_record
from pipeline.config import CleaningConfig, SplitConfig
from pipeline.dedupe import drop_duplicates
from pipeline.manifest import PART, REJECTS, TEXT, Entry, SelectKind, count_entries
from pipeline.readers import FileTask, Record, read_task
from pipeline.recordio import read_records, write_records
from pipeline.splitting import assign_splits


def bucket_of(source: str, buckets: int) -> int:
    """The bucket of a cleaned source sentence (the same in every process)."""
    return zlib.crc32(source.encode("utf-8")) % buckets


def reject_order(record: Record) -> tuple[str, int, str]:
    """Rejects are sorted by corpus, line and reason."""
    return record[0], record[1], record[4]


class ReadCleanFn(beam.DoFn):
    """Reads and cleans one numbered chunk into bucket part files and a rejects part."""

    def __init__(self, config: CleaningConfig, layout: DataLayout, buckets: int) -> None:
        self._config, self._layout, self._buckets = config, layout, buckets

    def process(self, element: tuple[int, FileTask]) -> Iterator[Entry]:
        number, task = element
        by_bucket: defaultdict[int, list[Record]] = defaultdict(list)
        rejects: list[Record] = []
        counts: Counter[str] = Counter()
        for record in read_task(task):
            cleaned = clean_record(record, self._config)
            counts[f"{cleaned[0]}/input"] += 1
            if cleaned[4]:
                rejects.append(cleaned)
                counts[f"{cleaned[0]}/rejected/{cleaned[4]}"] += 1
            else:
                by_bucket[bucket_of(cleaned[2], self._buckets)].append(cleaned)
        for bucket in sorted(by_bucket):
            path = self._layout.work("shuffle", f"{bucket:05d}", f"{number:06d}.pkl")
            write_records(path, by_bucket[bucket])
            yield PART, str(bucket), path
        if rejects:
            path = self._layout.work("rejects", f"chunk-{number:06d}.pkl")
            write_records(path, sorted(rejects, key=reject_order))
            yield REJECTS, "", path
        yield from count_entries(counts)


def _bucket_counts(splits: Mapping[str, list[Record]], rejected: list[Record]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for split, records in splits.items():
        if records:
            counts[split] += len(records)
        counts.update(f"{r[0]}/kept" for r in records)
    counts.update(f"{r[0]}/rejected/{r[4]}" for r in rejected)
    return counts


class ProcessBucketFn(beam.DoFn):
    """Dedupes, splits and sorts one bucket; writes a sorted text part per split."""

    def __init__(
        self, split: SplitConfig, roles: Mapping[str, str], dedupe: bool, layout: DataLayout
    ) -> None:
        self._split, self._roles, self._dedupe, self._layout = split, dict(roles), dedupe, layout

    def process(self, element: tuple[str, Iterable[str]]) -> Iterator[Entry]:
        bucket, paths = element
        records = [r for path in sorted(paths) for r in read_records(path)]
        kept, rejected = drop_duplicates(records, self._roles) if self._dedupe else (records, [])
        splits, leaked = assign_splits(kept, self._roles, self._split)
        rejected += leaked
        for split, split_records in splits.items():
            if split_records:
                path = self._layout.work("text", split, f"{int(bucket):05d}.pkl")
                write_records(path, sorted((r[2], r[3]) for r in split_records))
                yield TEXT, split, path
        if rejected:
            path = self._layout.work("rejects", f"bucket-{int(bucket):05d}.pkl")
            write_records(path, sorted(rejected, key=reject_order))
            yield REJECTS, "", path
        yield from count_entries(_bucket_counts(splits, rejected))


def _bucket_key(entry: Entry) -> tuple[str, str]:
    return entry[1], entry[2]


class CleanAndSplit(beam.PTransform):
    """Numbered chunks ``(n, FileTask)`` → entries naming sorted text and reject parts."""

    def __init__(
        self,
        cleaning: CleaningConfig,
        split: SplitConfig,
        roles: Mapping[str, str],
        layout: DataLayout,
        buckets: int,
    ) -> None:
        super().__init__()
        self._read = ReadCleanFn(cleaning, layout, buckets)
        self._bucket = ProcessBucketFn(split, roles, cleaning.drop_duplicates, layout)

    def expand(self, chunks: beam.PCollection) -> beam.PCollection:
        read = chunks | "ReadAndClean" >> beam.ParDo(self._read)
        processed = (
            read
            | "SelectParts" >> SelectKind(PART)
            | "KeyByBucket" >> beam.Map(_bucket_key)
            | "GroupByBucket" >> beam.GroupByKey()
            | "DedupeSplitSort" >> beam.ParDo(self._bucket)
        )
        passed = read | "SelectOthers" >> SelectKind(PART, keep=False)
        return (passed, processed) | "FlattenEntries" >> beam.Flatten()
