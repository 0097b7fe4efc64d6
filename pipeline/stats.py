"""Counting transforms and the assembly of ``stats.json``.

Beam steps count into ``(key, count)`` pairs that a single ``WriteJson`` step
stores; the driver reads them back and builds the stats dict, in which every
corpus satisfies ``input == kept + rejected``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

# Upper bounds of the length-histogram buckets, in SentencePiece pieces.
BUCKET_BOUNDS = (8, 16, 32, 64, 128, 256, 512)
SPLITS = ("train", "dev", "test")


def bucket_label(length: int) -> str:
    """The histogram bucket of a length: ``"0-8"``, ``"9-16"``, ..., ``">512"``."""
    lower = 0
    for bound in BUCKET_BOUNDS:
        if length <= bound:
            return f"{lower}-{bound}" if lower == 0 else f"{lower + 1}-{bound}"
        lower = bound
    return f">{BUCKET_BOUNDS[-1]}"


def empty_histogram() -> dict[str, int]:
    """Every bucket with a zero count, in increasing order."""
    return {bucket_label(b): 0 for b in BUCKET_BOUNDS} | {bucket_label(BUCKET_BOUNDS[-1] + 1): 0}


class CountByKey(beam.PTransform):
    """``(key, count)`` pairs, where each element contributes 1 to ``key_fn(element)``."""

    def __init__(self, key_fn: Callable[[Any], str]) -> None:
        super().__init__()
        self._key_fn = key_fn

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return (
            pcoll | "Key" >> beam.Map(self._key_fn) | "Count" >> beam.combiners.Count.PerElement()
        )


def _write_json(items: Iterable[tuple[str, int]], path: str) -> None:
    with FileSystems.create(path) as handle:
        handle.write(json.dumps(dict(sorted(items)), indent=1).encode("utf-8"))


class WriteCounts(beam.PTransform):
    """Sums ``(key, count)`` pairs and writes them to one JSON object at ``path``."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def expand(self, counts: beam.PCollection) -> beam.PCollection:
        return (
            counts
            | "Sum" >> beam.CombinePerKey(sum)
            | "Gather" >> beam.combiners.ToList()
            | "Write" >> beam.Map(_write_json, self._path)
        )


def read_counts(path: str) -> dict[str, int]:
    """The counts written by ``WriteCounts``."""
    with FileSystems.open(path) as handle:
        data: dict[str, int] = json.loads(handle.read().decode("utf-8"))
    return data


def corpus_stats(counts: Mapping[str, int], names: Iterable[str]) -> dict[str, Any]:
    """Per-corpus ``input``, ``kept``, ``rejected`` and ``rejected_by_reason``.

    Keys in ``counts`` are ``corpus/input``, ``corpus/kept`` and
    ``corpus/rejected/<reason>``.
    """
    stats: dict[str, Any] = {}
    for name in names:
        by_reason = {
            key.rsplit("/", 1)[1]: n
            for key, n in sorted(counts.items())
            if key.startswith(f"{name}/rejected/")
        }
        stats[name] = {
            "input": counts.get(f"{name}/input", 0),
            "kept": counts.get(f"{name}/kept", 0),
            "rejected": sum(by_reason.values()),
            "rejected_by_reason": by_reason,
        }
    return stats


def length_histograms(counts: Mapping[str, int]) -> dict[str, dict[str, dict[str, int]]]:
    """``{split: {side: {bucket: n}}}`` from ``split/side/bucket`` counts."""
    histograms = {s: {"source": empty_histogram(), "target": empty_histogram()} for s in SPLITS}
    for key, n in counts.items():
        split, side, bucket = key.split("/", 2)
        histograms[split][side][bucket] += n
    return histograms


def check_accounting(corpora: Mapping[str, Mapping[str, Any]]) -> None:
    """Raises ``RuntimeError`` if a corpus breaks ``input == kept + rejected``."""
    for name, c in corpora.items():
        if c["input"] != c["kept"] + c["rejected"]:
            raise RuntimeError(
                f"corpus {name!r}: {c['input']} input pairs but {c['kept']} kept "
                f"+ {c['rejected']} rejected"
            )
