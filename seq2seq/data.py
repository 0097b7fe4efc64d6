"""Training input: TFRecord shards from preprocessing into length-bucketed batches.

Each record holds SentencePiece ids without BOS/EOS; this module adds them:
source ``ids + EOS``, decoder input ``BOS + ids``, decoder target ``ids + EOS``.
Batches are ``((source [B, S], target_in [B, T]), target_out [B, T])``, int32,
padded with 0.

With several replicas (GPUs or workers), every input pipeline builds the same stream of
batches and keeps its own share of each group of consecutive batches (``ReplicaShard``):
records are sharded a whole batch at a time, so bucketing, token batching and the seeded
shuffles work unchanged, and every pipeline has the same number of batches per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from core.contract import (
    BOS_ID,
    EOS_ID,
    SAMPLED_SPLIT_PREFIX,
    SOURCE_IDS,
    TARGET_IDS,
    TFRECORDS_DIR,
    epoch_copy,
    sampled_copy,
    sampled_split,
    tfrecord_glob,
)

_FEATURES = {
    SOURCE_IDS: tf.io.VarLenFeature(tf.int64),
    TARGET_IDS: tf.io.VarLenFeature(tf.int64),
}
_BATCH_BLOCK = 64  # batches shuffled together
_BUCKET_BOUNDARIES = [8, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 200, 256]


@dataclass(frozen=True)
class ReplicaShard:
    """Which batches one input pipeline feeds: of every ``replicas`` consecutive batches of
    the epoch (one global step), the ``count`` starting at position ``first`` (one per local
    replica). A last group with fewer than ``replicas`` batches is dropped on every pipeline,
    so all of them run out at the same step and none waits for the others."""

    replicas: int = 1
    first: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.first < self.first + self.count <= self.replicas:
            raise ValueError(f"replica shard out of range: {self}")


def split_files(data_dir: Path, split: str) -> list[str]:
    """The TFRecord shards of ``split`` (``train``, ``dev`` or ``test``), sorted."""
    folder = data_dir / TFRECORDS_DIR
    files = sorted(str(p) for p in folder.glob(tfrecord_glob(split)))
    if not files:
        raise FileNotFoundError(f"no {split} TFRecord shards under {folder}")
    return files


def sampled_copies(data_dir: Path) -> int:
    """How many sampled copies of train (subword regularization) ``data_dir`` holds (0: none)."""
    folder = data_dir / TFRECORDS_DIR
    names = (p.name for p in folder.glob(f"{SAMPLED_SPLIT_PREFIX}*.tfrecord"))
    copies = {c for c in map(sampled_copy, names) if c is not None}
    if copies and copies != set(range(len(copies))):
        raise FileNotFoundError(f"sampled copies {sorted(copies)} under {folder} are not 0..n-1")
    return len(copies)


def train_files(data_dir: Path, epoch: int) -> list[str]:
    """The TFRecord shards training epoch ``epoch`` (0-based) reads: the sampled copy
    ``epoch mod copies`` when preprocessing wrote sampled copies, else the train split.
    The choice depends on the epoch alone, so every worker reads the same copy."""
    copies = sampled_copies(data_dir)
    if copies == 0:
        return split_files(data_dir, "train")
    return split_files(data_dir, sampled_split(epoch_copy(epoch, copies)))


def _parse(record: tf.Tensor) -> tuple[tuple[tf.Tensor, tf.Tensor], tf.Tensor]:
    parsed = tf.io.parse_single_example(record, _FEATURES)
    source = tf.cast(tf.sparse.to_dense(parsed[SOURCE_IDS]), tf.int32)
    target = tf.cast(tf.sparse.to_dense(parsed[TARGET_IDS]), tf.int32)
    eos, bos = tf.constant([EOS_ID]), tf.constant([BOS_ID])
    return (tf.concat([source, eos], 0), tf.concat([bos, target], 0)), tf.concat([target, eos], 0)


def _length(inputs: tuple[tf.Tensor, tf.Tensor], target_out: tf.Tensor) -> tf.Tensor:
    return tf.maximum(tf.shape(inputs[0])[0], tf.shape(target_out)[0])


def bucket_batch_sizes(
    boundaries: list[int], batch_size: int, unit: str = "sentences"
) -> list[int]:
    """Batch size of each length bucket: ``batch_size`` sentences, or as many sentences
    as fit ``batch_size`` tokens at the bucket's longest length."""
    if unit == "sentences":
        return [batch_size] * (len(boundaries) + 1)
    longest = [*boundaries, boundaries[-1]]
    return [max(1, batch_size // length) for length in longest]


def make_dataset(
    files: list[str],
    batch_size: int,
    max_length: int,
    shuffle_buffer: int = 0,
    seed: int = 0,
    batch_unit: str = "sentences",
    skip_batches: int = 0,
    epoch: int = 0,
    shard: ReplicaShard = ReplicaShard(),
) -> tf.data.Dataset:
    """Batches of similar length: ``batch_size`` sentences, or up to ``batch_size``
    tokens (``batch_unit="tokens"``).

    Pairs whose source or target exceeds ``max_length`` pieces (EOS included)
    are skipped. ``shuffle_buffer > 0`` shuffles records in blocks of that many,
    then batches in blocks of 64. The shuffles are stateless: the order of
    the batches is a function of the files, the settings, ``seed`` and ``epoch`` alone,
    never of TensorFlow's global seed or of what ran before in the process, so a
    resumed epoch that skips the ``skip_batches`` it already trained on gets exactly
    the batches an uninterrupted run would have trained on next.

    ``shard`` keeps this pipeline's batches of each global step (see ``ReplicaShard``);
    ``skip_batches`` counts global steps.
    """
    records = tf.data.TFRecordDataset(files)
    if shuffle_buffer > 0:
        records = _block_shuffled(records, shuffle_buffer, _stream_seed(seed, epoch, 0))
    pairs = records.map(_parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    pairs = pairs.filter(lambda inputs, out: _length(inputs, out) <= max_length)
    boundaries = [b for b in _BUCKET_BOUNDARIES if b < max_length] + [max_length + 1]
    edges = tf.constant(boundaries, tf.int32)
    sizes = tf.constant(bucket_batch_sizes(boundaries, batch_size, batch_unit), tf.int64)

    def bucket(inputs: tuple[tf.Tensor, tf.Tensor], out: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(tf.cast(_length(inputs, out) >= edges, tf.int64))

    batches = pairs.group_by_window(
        bucket,
        lambda key, window: window.padded_batch(sizes[key]),
        window_size_func=lambda key: sizes[key],
    )
    if shuffle_buffer > 0:
        batches = _block_shuffled(batches, _BATCH_BLOCK, _stream_seed(seed, epoch, 1))
    if shard.replicas > 1:
        batches = _sharded(batches, shard)
    if skip_batches > 0:
        batches = batches.skip(skip_batches * shard.count)
    return batches.prefetch(tf.data.AUTOTUNE)


def _sharded(batches: tf.data.Dataset, shard: ReplicaShard) -> tf.data.Dataset:
    """This pipeline's ``shard.count`` batches of every complete group of ``shard.replicas``."""
    groups = batches.window(shard.replicas, drop_remainder=True)  # datasets of batches

    def own(inputs: tuple[tf.data.Dataset, tf.data.Dataset], out: tf.data.Dataset) -> Any:
        group = tf.data.Dataset.zip((inputs, out))
        return group.skip(shard.first).take(shard.count)

    return groups.flat_map(own)


def _stream_seed(seed: int, epoch: int, stream: int) -> tf.Tensor:
    """The stateless seed of one of an epoch's shuffles."""
    return tf.constant([seed, epoch * 2 + stream], tf.int64)


def _block_shuffled(dataset: tf.data.Dataset, block: int, seed: tf.Tensor) -> tf.data.Dataset:
    """``dataset`` cut into blocks of ``block`` elements, each block permuted by a stateless
    shuffle drawn from ``seed`` and the block's index. Elements of different shapes are
    padded to a common one within the block and cut back to their own afterwards."""
    uniform = all(spec.shape.is_fully_defined() for spec in tf.nest.flatten(dataset.element_spec))
    if uniform:
        blocks = dataset.batch(block)
    else:
        blocks = dataset.map(lambda *parts: (parts, _shapes(parts))).padded_batch(block)

    def permute(index: tf.Tensor, elements: Any) -> Any:
        rows = tf.shape(tf.nest.flatten(elements)[0])[0]
        block_seed = tf.random.experimental.stateless_fold_in(seed, index)
        order = tf.random.experimental.stateless_shuffle(tf.range(rows), block_seed)
        return tf.nest.map_structure(lambda t: tf.gather(t, order), elements)

    shuffled = blocks.enumerate().map(permute).unbatch()
    return shuffled if uniform else shuffled.map(_cut)


def _shapes(parts: Any) -> Any:
    return tf.nest.map_structure(lambda t: tf.shape(t, tf.int64), parts)


def _cut(parts: Any, shapes: Any) -> Any:
    """Each tensor of ``parts`` cut back to its shape in ``shapes`` (padding removed)."""
    return tf.nest.map_structure(lambda t, s: tf.slice(t, tf.zeros_like(s), s), parts, shapes)
