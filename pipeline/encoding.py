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

With subword sampling (``copies > 0``), every train chunk is also encoded once per
copy with sampled segmentations (``pipeline.subword_sampling``) into the split
``core.contract.sampled_split(copy)``, sharded like train; these chunks add the
piece counts of ``stats.json`` but neither the length histograms nor the lexical table.
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

from core.contract import SPLITS, DataLayout, sampled_split
from pipeline.config import SubwordSamplingConfig
from pipeline.lexical_table import write_id_part
from pipeline.manifest import IDS, TFRECORD, Entry, Gather, count_entries, sum_counts, values_of
from pipeline.readers import iter_lines
from pipeline.recordio import concatenate, tfrecord_frame
from pipeline.stats import PIECES, bucket_label
from pipeline.subword_sampling import LBestSampler, sentence_key
from pipeline.tfexample import serialize_pair_example
from pipeline.writers import TextIndex, write_json

_BATCH = 1_000
_OFF = SubwordSamplingConfig()  # no sampled copies


@dataclass(frozen=True)
class TextChunk:
    """``lines`` lines of a split's text files, starting at the given byte offsets;
    ``copy``: the sampled copy to encode them into (train only), or None."""

    split: str
    number: int
    lines: int
    source_offset: int
    target_offset: int
    copy: int | None = None


def plan_chunks(index: TextIndex, copies: int = 0) -> list[TextChunk]:
    """The encoding tasks of every split, from the text index of the clean step, then
    those of every sampled copy of train."""
    standard = [
        TextChunk(split, number, *chunk)
        for split in SPLITS
        for number, chunk in enumerate(index[split])
    ]
    sampled = [
        TextChunk("train", number, *chunk, copy=copy)
        for copy in range(copies)
        for number, chunk in enumerate(index["train"])
    ]
    return standard + sampled


def output_splits(copies: int) -> list[str]:
    """Every TFRecord split written: train, dev, test, then the sampled copies."""
    return [*SPLITS, *map(sampled_split, range(copies))]


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

    Emits a ``TFRECORD`` entry per part and the ``split/side/bucket`` length counts;
    with subword sampling, ``pieces/<standard|sampled>/<side>`` piece counts of train.
    """

    def __init__(
        self,
        layout: DataLayout,
        num_shards: int,
        sampling: SubwordSamplingConfig = _OFF,
    ) -> None:
        self._layout, self._num_shards, self._sampling = layout, num_shards, sampling
        self._source: Any = None
        self._target: Any = None
        self._samplers: tuple[LBestSampler, LBestSampler] | None = None

    def _load(self) -> None:
        source, target = self._layout.model("source"), self._layout.model("target")
        self._source = load_processor(source)
        self._target = self._source if target == source else load_processor(target)
        if self._sampling.copies > 0:
            source_sampler = LBestSampler(self._source, self._sampling)
            target_sampler = (
                source_sampler
                if self._target is self._source
                else LBestSampler(self._target, self._sampling)
            )
            self._samplers = source_sampler, target_sampler

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
        pairs = _read_pairs(chunk, self._layout)
        if chunk.copy is None:
            yield from self._encode(chunk, pairs)
        else:
            yield from self._sample(chunk, pairs)

    def _encode(self, chunk: TextChunk, pairs: list[tuple[str, str]]) -> Iterator[Entry]:
        """The standard (best) segmentation of a chunk."""
        shards = self._shards(chunk.split)
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
        yield from self._write_parts(chunk.split, chunk.number, records)
        if chunk.split == "train":
            path = self._layout.work("lexical", f"ids-{chunk.number:06d}.npy")
            write_id_part(path, *encoded)
            yield IDS, chunk.split, (chunk.number, path)
            if self._sampling.copies > 0:
                yield from count_entries(_piece_counts("standard", *encoded))
        yield from count_entries(_length_counts(chunk.split, lengths))

    def _sample(self, chunk: TextChunk, pairs: list[tuple[str, str]]) -> Iterator[Entry]:
        """A sampled segmentation of a train chunk, for copy ``chunk.copy``."""
        if self._samplers is None or chunk.copy is None:
            raise ValueError("a sampled chunk needs subword_sampling.copies > 0")
        source, target = self._samplers
        shards, copy = self._shards(chunk.split), chunk.copy
        records: defaultdict[int, list[bytes]] = defaultdict(list)
        encoded: tuple[list[list[int]], list[list[int]]] = ([], [])
        for src, tgt in pairs:
            s_ids = source.sample(src, sentence_key("source", src, tgt), copy)
            t_ids = target.sample(tgt, sentence_key("target", src, tgt), copy)
            encoded[0].append(s_ids)
            encoded[1].append(t_ids)
            example = tfrecord_frame(make_example(s_ids, t_ids))
            records[shard_of(src, tgt, shards)].append(example)
        yield from self._write_parts(sampled_split(copy), chunk.number, records)
        yield from count_entries(_piece_counts("sampled", *encoded))

    def _write_parts(
        self, split: str, number: int, records: dict[int, list[bytes]]
    ) -> Iterator[Entry]:
        for shard in sorted(records):
            name = f"{split}-{number:06d}-{shard:05d}.part"
            path = self._layout.work("encode", name)
            with FileSystems.create(path) as handle:
                handle.write(b"".join(records[shard]))
            yield TFRECORD, f"{split}/{shard}", (number, path)


def _piece_counts(kind: str, source: list[list[int]], target: list[list[int]]) -> Counter[str]:
    """``pieces/<kind>/<side>``: the pieces of a chunk's sentences on each side."""
    return Counter(
        {
            f"{PIECES}/{kind}/source": sum(map(len, source)),
            f"{PIECES}/{kind}/target": sum(map(len, target)),
        }
    )


def _length_counts(split: str, lengths: dict[str, Counter[int]]) -> Counter[str]:
    """``split/side/bucket`` counts from per-side counts of lengths."""
    counts: Counter[str] = Counter()
    for side, by_length in lengths.items():
        for length, n in by_length.items():
            counts[f"{split}/{side}/{bucket_label(length)}"] += n
    return counts


def finish_encode(
    entries: list[Entry], layout: DataLayout, num_shards: int, copies: int = 0
) -> list[str]:
    """Concatenates each shard's parts in chunk order; writes the length counts (and the
    piece counts). Returns the train split's id part files, in chunk order (the lexical
    table's input)."""
    for split in output_splits(copies):
        shards = 1 if split in ("dev", "test") else num_shards
        for shard in range(shards):
            parts = [path for _, path in values_of(entries, TFRECORD, f"{split}/{shard}")]
            concatenate(parts, layout.tfrecord(split, shard, shards))
    counts = sum_counts(entries)
    pieces = {k: n for k, n in counts.items() if k.startswith(f"{PIECES}/")}
    write_json(layout.work("length_counts.json"), {k: counts[k] for k in counts if k not in pieces})
    write_json(layout.work("piece_counts.json"), pieces)
    return [path for _, path in values_of(entries, IDS, "train")]


class EncodeSplits(beam.PTransform):
    """The text index (one element) → TFRecord shards of every split (and sampled copy),
    and length counts; emits the train split's id part files (one element, a list in
    chunk order)."""

    def __init__(
        self,
        layout: DataLayout,
        num_shards: int,
        sampling: SubwordSamplingConfig = _OFF,
    ) -> None:
        super().__init__()
        self._layout, self._num_shards, self._sampling = layout, num_shards, sampling

    def expand(self, index: beam.PCollection) -> beam.PCollection:
        copies = self._sampling.copies
        encode = EncodeChunkFn(self._layout, self._num_shards, self._sampling)
        return (
            index
            | "PlanChunks" >> beam.FlatMap(plan_chunks, copies)
            | "SpreadChunks" >> beam.Reshuffle()
            | "EncodeChunks" >> beam.ParDo(encode)
            | "GatherParts" >> Gather()
            | "WriteShards" >> beam.Map(finish_encode, self._layout, self._num_shards, copies)
        )
