"""Training input: TFRecord shards from preprocessing into length-bucketed batches.

Each record holds SentencePiece ids without BOS/EOS; this module adds them:
source ``ids + EOS``, decoder input ``BOS + ids``, decoder target ``ids + EOS``.
Batches are ``((source [B, S], target_in [B, T]), target_out [B, T])``, int32,
padded with 0.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from core.contract import BOS_ID, EOS_ID, SOURCE_IDS, TARGET_IDS, TFRECORDS_DIR, tfrecord_glob

_FEATURES = {
    SOURCE_IDS: tf.io.VarLenFeature(tf.int64),
    TARGET_IDS: tf.io.VarLenFeature(tf.int64),
}
_BUCKET_BOUNDARIES = [8, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 200, 256]


def split_files(data_dir: Path, split: str) -> list[str]:
    """The TFRecord shards of ``split`` (``train``, ``dev`` or ``test``), sorted."""
    folder = data_dir / TFRECORDS_DIR
    files = sorted(str(p) for p in folder.glob(tfrecord_glob(split)))
    if not files:
        raise FileNotFoundError(f"no {split} TFRecord shards under {folder}")
    return files


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
) -> tf.data.Dataset:
    """Batches of similar length: ``batch_size`` sentences, or up to ``batch_size``
    tokens (``batch_unit="tokens"``).

    Pairs whose source or target exceeds ``max_length`` pieces (EOS included)
    are skipped. ``shuffle_buffer > 0`` shuffles records and batches with
    ``seed``; the same seed gives the same order, so a resumed epoch can skip
    the ``skip_batches`` it already trained on.
    """
    dataset = tf.data.TFRecordDataset(files)
    if shuffle_buffer > 0:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(_parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.filter(lambda inputs, out: _length(inputs, out) <= max_length)
    boundaries = [b for b in _BUCKET_BOUNDARIES if b < max_length] + [max_length + 1]
    dataset = dataset.bucket_by_sequence_length(
        _length,
        bucket_boundaries=boundaries,
        bucket_batch_sizes=bucket_batch_sizes(boundaries, batch_size, batch_unit),
        pad_to_bucket_boundary=False,
    )
    if shuffle_buffer > 0:
        dataset = dataset.shuffle(64, seed=seed, reshuffle_each_iteration=True)
    if skip_batches > 0:
        dataset = dataset.skip(skip_batches)
    return dataset.prefetch(tf.data.AUTOTUNE)
