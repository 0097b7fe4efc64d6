"""Deterministic train/dev/test split keyed on the cleaned source sentence.

A pair's split depends only on ``sha256(salt, source)``, so every occurrence of
a source sentence lands in the same split. Train pairs whose source still occurs
in dev or test are removed as ``leakage`` (with source-keyed splitting there are
none, but the check is real).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam

from pipeline.config import SplitConfig

SPLITS = ("train", "dev", "test")
LEAKAGE = "leakage"


def split_of(source: str, config: SplitConfig) -> str:
    """The split (``train``, ``dev`` or ``test``) of a cleaned source sentence."""
    digest = hashlib.sha256(f"{config.salt}\x00{source}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    if position < config.test_fraction:
        return "test"
    if position < config.test_fraction + config.dev_fraction:
        return "dev"
    return "train"


class SplitPartitionFn(beam.PartitionFn):
    """Partitions records by ``split_of`` their source, in ``SPLITS`` order."""

    def __init__(self, config: SplitConfig) -> None:
        self._config = config

    def partition_for(self, element: Any, num_partitions: int, *args: Any, **kwargs: Any) -> int:
        return SPLITS.index(split_of(element[2], self._config))


class RemoveLeakageFn(beam.DoFn):
    """Drops train records whose source occurs in a held-out split (tagged ``leakage``)."""

    def process(self, element: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Any]:
        _, groups = element
        leaked = any(True for _ in groups["heldout"])
        for corpus, line, source, target, _reason in groups["train"]:
            if leaked:
                yield beam.pvalue.TaggedOutput(LEAKAGE, (corpus, line, source, target, LEAKAGE))
            else:
                yield corpus, line, source, target, ""


class SplitPairs(beam.PTransform):
    """Splits records into ``{"train", "dev", "test", "leakage"}`` PCollections."""

    def __init__(self, config: SplitConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, records: beam.PCollection) -> dict[str, beam.PCollection]:
        partition = beam.Partition(SplitPartitionFn(self._config), len(SPLITS))
        train, dev, test = records | "AssignSplit" >> partition
        heldout = (
            (dev, test)
            | "FlattenHeldOut" >> beam.Flatten()
            | "KeyHeldOutBySource" >> beam.Map(lambda r: (r[2], None))
        )
        keyed_train = train | "KeyTrainBySource" >> beam.Map(lambda r: (r[2], r))
        checked = (
            {"train": keyed_train, "heldout": heldout}
            | "JoinOnSource" >> beam.CoGroupByKey()
            | "RemoveLeakage" >> beam.ParDo(RemoveLeakageFn()).with_outputs(LEAKAGE, main="train")
        )
        return {"train": checked.train, "dev": dev, "test": test, LEAKAGE: checked[LEAKAGE]}
