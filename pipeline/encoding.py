"""Encoding split text into SentencePiece ids and ``tf.train.Example`` records.

``EncodeBatchFn`` loads both SentencePiece models once per worker (``setup``)
through Beam's file systems and encodes batches of pairs. Records hold only the
piece ids (no bos/eos): int64-list features ``source_ids`` and ``target_ids``
and int64 features ``source_length`` and ``target_length``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import apache_beam as beam
import sentencepiece as spm
from apache_beam.io.filesystems import FileSystems

from pipeline.stats import bucket_label
from pipeline.tfexample import serialize_int64_example

LENGTHS = "lengths"


def load_processor(model_path: str) -> spm.SentencePieceProcessor:
    """A SentencePiece processor for a model file on any Beam file system."""
    with FileSystems.open(model_path) as handle:
        return spm.SentencePieceProcessor(model_proto=handle.read())


def make_example(source_ids: Sequence[int], target_ids: Sequence[int]) -> bytes:
    """The serialized ``tf.train.Example`` of one encoded pair."""
    return serialize_int64_example(
        {
            "source_ids": source_ids,
            "target_ids": target_ids,
            "source_length": [len(source_ids)],
            "target_length": [len(target_ids)],
        }
    )


class EncodeBatchFn(beam.DoFn):
    """Encodes batches of ``(source, target)`` pairs into serialized Examples.

    Also emits, to the ``lengths`` output, one ``split/side/bucket`` key per
    sentence for the length histograms.
    """

    def __init__(self, source_model: str, target_model: str, split: str) -> None:
        self._paths = (source_model, target_model)
        self._split = split
        self._source: Any = None
        self._target: Any = None

    def setup(self) -> None:
        self._source = load_processor(self._paths[0])
        self._target = (
            self._source if self._paths[1] == self._paths[0] else load_processor(self._paths[1])
        )

    def process(self, batch: Sequence[tuple[str, str]]) -> Iterator[Any]:
        source_ids = self._source.encode([s for s, _ in batch])
        target_ids = self._target.encode([t for _, t in batch])
        for src, tgt in zip(source_ids, target_ids, strict=True):
            yield make_example(src, tgt)
            for side, ids in (("source", src), ("target", tgt)):
                label = f"{self._split}/{side}/{bucket_label(len(ids))}"
                yield beam.pvalue.TaggedOutput(LENGTHS, label)


class EncodePairs(beam.PTransform):
    """``(source, target)`` pairs → serialized Examples (main) and ``lengths`` keys."""

    def __init__(self, source_model: str, target_model: str, split: str) -> None:
        super().__init__()
        self._fn = EncodeBatchFn(source_model, target_model, split)

    def expand(self, pairs: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            pairs
            | "Batch" >> beam.BatchElements(min_batch_size=64, max_batch_size=1024)
            | "Encode" >> beam.ParDo(self._fn).with_outputs(LENGTHS, main="examples")
        )
