"""Encoding split text into SentencePiece ids and ``tf.train.Example`` TFRecord shards.

The sorted split texts are cut into chunks of ``ENCODE_CHUNK_LINES`` lines.
``EncodeChunkFn`` loads both SentencePiece models once per worker (``setup``)
through Beam's file systems, encodes a chunk in batches and writes one part
file per shard; a pair's shard is a hash of the pair. The final step
concatenates each shard's parts in chunk order, so every shard holds its pairs
in text order and is byte-identical on every runner and worker count. Records
hold only the piece ids (no bos/eos): int64-list features ``source_ids`` and
``target_ids`` and int64 features ``source_length`` and ``target_length``. Train
chunks also write their ids to a work part for the lexical table
(``pipeline.lexical_table``).
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import sentencepiece as spm
from apache_beam.io.filesystems import FileSystems

from core.contract import SPLITS, DataLayout
from pipeline.lexical_table import write_id_part
from pipeline.manifest import IDS, TFRECORD, Entry, Gather, count_entries, sum_counts, values_of
from pipeline.readers import iter_lines
from pipeline.recordio import concatenate, tfrecord_frame
from pipeline.stats import bucket_label
from pipeline.tfexample import serialize_pair_example
from pipeline.writers import TextIndex, write_json

_BATCH = 1_000


@dataclass(frozen=True)
class TextChunk:
    """``lines`` lines of a split's text files, starting at the given byte offsets."""

    split: str
    number: int
    lines: int
    source_offset: int
    target_offset: int


def plan_chunks(index: TextIndex) -> list[TextChunk]:
    """The encoding tasks of every split, from the text index of the clean step."""
    return [
        TextChunk(split, number, *chunk)
        for split in SPLITS
        for number, chunk in enumerate(index[split])
    ]


def load_processor(model_path: str) -> spm.SentencePieceProcessor:
    """A SentencePiece processor for a model file on any Beam file system."""
    with FileSystems.open(model_path) as handle:
        return spm.SentencePieceProcessor(model_proto=handle.read())


def make_example(source_ids: Sequence[int], target_ids: Sequence[int]) -> bytes:
    """The serialized ``tf.train.Example`` of one encoded pair.

    Features ``source_ids``, ``target_ids``, ``source_length`` and ``target_length``.
    """
    return serialize_pair_example(source_ids, target_ids)


def shard_of(source: str, target: str, shards: int) -> int:
    """The TFRecord shard of a pair (the same in every process)."""
    return zlib.crc32(f"{source}\t{target}".encode()) % shards


def _read_pairs(chunk: TextChunk, layout: DataLayout) -> list[tuple[str, str]]:
    source_path, target_path = layout.texts(chunk.split)
    sources = iter_lines(source_path, chunk.source_offset, chunk.lines)
    targets = iter_lines(target_path, chunk.target_offset, chunk.lines)
    return [(s.decode("utf-8"), t.decode("utf-8")) for s, t in zip(sources, targets, strict=True)]


class EncodeChunkFn(beam.DoFn):
    """Encodes one text chunk in batches into TFRecord part files, one per shard.

    Emits a ``TFRECORD`` entry per part and the ``split/side/bucket`` length counts.
    """

    def __init__(self, layout: DataLayout, num_shards: int) -> None:
        self._layout, self._num_shards = layout, num_shards
        self._source: Any = None
        self._target: Any = None

    def _load(self) -> None:
        source, target = self._layout.model("source"), self._layout.model("target")
        self._source = load_processor(source)
        self._target = self._source if target == source else load_processor(target)

    def setup(self) -> None:
        # A runner may set the DoFn up before the models exist (the stage has no
        # input if training found nothing to train on): then the first chunk loads them.
        if FileSystems.exists(self._layout.model("source")):
            self._load()

    def _shards(self, split: str) -> int:
        return self._num_shards if split == "train" else 1

    def process(self, chunk: TextChunk) -> Iterator[Entry]:
        if self._source is None:
            self._load()
        shards, pairs = self._shards(chunk.split), _read_pairs(chunk, self._layout)
        records: defaultdict[int, list[bytes]] = defaultdict(list)
        lengths: dict[str, Counter[int]] = {"source": Counter(), "target": Counter()}
        encoded: tuple[list[list[int]], list[list[int]]] = ([], [])
        for start in range(0, len(pairs), _BATCH):
            batch = pairs[start : start + _BATCH]
            source_ids = self._source.encode([s for s, _ in batch], num_threads=1)
            target_ids = self._target.encode([t for _, t in batch], num_threads=1)
            lengths["source"].update(map(len, source_ids))
            lengths["target"].update(map(len, target_ids))
            if chunk.split == "train":
                encoded[0].extend(source_ids)
                encoded[1].extend(target_ids)
            for (src, tgt), s_ids, t_ids in zip(batch, source_ids, target_ids, strict=True):
                example = tfrecord_frame(make_example(s_ids, t_ids))
                records[shard_of(src, tgt, shards)].append(example)
        for shard in sorted(records):
            name = f"{chunk.split}-{chunk.number:06d}-{shard:05d}.part"
            path = self._layout.work("encode", name)
            with FileSystems.create(path) as handle:
                handle.write(b"".join(records[shard]))
            yield TFRECORD, f"{chunk.split}/{shard}", (chunk.number, path)
        if chunk.split == "train":
            path = self._layout.work("lexical", f"ids-{chunk.number:06d}.npy")
            write_id_part(path, *encoded)
            yield IDS, chunk.split, (chunk.number, path)
        yield from count_entries(_length_counts(chunk.split, lengths))


def _length_counts(split: str, lengths: dict[str, Counter[int]]) -> Counter[str]:
    """``split/side/bucket`` counts from per-side counts of lengths."""
    counts: Counter[str] = Counter()
    for side, by_length in lengths.items():
        for length, n in by_length.items():
            counts[f"{split}/{side}/{bucket_label(length)}"] += n
    return counts


def finish_encode(entries: list[Entry], layout: DataLayout, num_shards: int) -> list[str]:
    """Concatenates each shard's parts in chunk order; writes the length counts. Returns the
    train split's id part files, in chunk order (the lexical table's input)."""
    for split in SPLITS:
        shards = num_shards if split == "train" else 1
        for shard in range(shards):
            parts = [path for _, path in values_of(entries, TFRECORD, f"{split}/{shard}")]
            concatenate(parts, layout.tfrecord(split, shard, shards))
    write_json(layout.work("length_counts.json"), sum_counts(entries))
    return [path for _, path in values_of(entries, IDS, "train")]


class EncodeSplits(beam.PTransform):
    """The text index (one element) → TFRecord shards of every split, and length counts;
    emits the train split's id part files (one element, a list in chunk order)."""

    def __init__(self, layout: DataLayout, num_shards: int) -> None:
        super().__init__()
        self._layout, self._num_shards = layout, num_shards

    def expand(self, index: beam.PCollection) -> beam.PCollection:
        return (
            index
            | "PlanChunks" >> beam.FlatMap(plan_chunks)
            | "SpreadChunks" >> beam.Reshuffle()
            | "EncodeChunks" >> beam.ParDo(EncodeChunkFn(self._layout, self._num_shards))
            | "GatherParts" >> Gather()
            | "WriteShards" >> beam.Map(finish_encode, self._layout, self._num_shards)
        )
