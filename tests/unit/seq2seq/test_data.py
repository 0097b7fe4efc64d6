"""Training input: batch sizes of the length buckets, and an epoch's order that depends on
nothing but the seed and the epoch."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from core.contract import SOURCE_IDS, TARGET_IDS, TFRECORDS_DIR, sampled_split, tfrecord_file
from seq2seq.data import (
    ReplicaShard,
    bucket_batch_sizes,
    make_dataset,
    sampled_copies,
    split_files,
    train_files,
)


def test_bucket_batch_sizes() -> None:
    assert bucket_batch_sizes([8, 16, 33], 64) == [64, 64, 64, 64]
    assert bucket_batch_sizes([8, 16, 33], 512, "tokens") == [64, 32, 15, 15]


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Two shards of 1,500 pairs of random lengths 1-40: many buckets, several blocks."""
    rng = np.random.default_rng(5)
    folder = tmp_path_factory.mktemp("shards")
    files = []
    for shard in range(2):
        path = str(folder / f"train-{shard}.tfrecord")
        with tf.io.TFRecordWriter(path) as writer:
            for _ in range(1500):
                ids = {
                    key: tf.train.Feature(int64_list=tf.train.Int64List(value=random_ids(rng)))
                    for key in (SOURCE_IDS, TARGET_IDS)
                }
                example = tf.train.Example(features=tf.train.Features(feature=ids))
                writer.write(example.SerializeToString())
        files.append(path)
    return files


def random_ids(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(4, 300, rng.integers(1, 41))


def batches(files: list[str], unit: str, epoch: int, skip: int = 0) -> list[list[np.ndarray]]:
    size = 16 if unit == "sentences" else 400
    dataset = make_dataset(files, size, 42, 500, 7, unit, skip_batches=skip, epoch=epoch)
    return [[t.numpy() for t in tf.nest.flatten(batch)] for batch in dataset]


def same(a: list[list[np.ndarray]], b: list[list[np.ndarray]]) -> bool:
    return len(a) == len(b) and all(
        all(np.array_equal(x, y) for x, y in zip(p, q, strict=True))
        for p, q in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("unit", ["sentences", "tokens"])
def test_epoch_order_depends_on_seed_and_epoch_only(shards: list[str], unit: str) -> None:
    """A process resumed at step k (which seeds its global generators from anything, here
    seed + k) gets the epoch's batches in the same order, and skipping the N batches already
    trained on leaves exactly the remaining ones."""
    keras.utils.set_random_seed(7)
    fresh = batches(shards, unit, epoch=1)
    assert len(fresh) > 2 * 64  # three blocks of shuffled batches
    for step, skip in ((61, 0), (136, 40), (500, len(fresh) - 1)):
        keras.utils.set_random_seed(7 + step)
        tf.random.uniform([3])  # a process that drew random numbers before
        assert same(batches(shards, unit, epoch=1, skip=skip), fresh[skip:]), (step, skip)
    other_epoch = batches(shards, unit, epoch=2)
    assert not same(other_epoch, fresh)
    assert sources(other_epoch) == sources(fresh)  # the same pairs in another order


def sources(epoch: list[list[np.ndarray]]) -> list[tuple[int, ...]]:
    return sorted(tuple(int(i) for i in row if i) for batch in epoch for row in batch[0])


def shard_batches(files: list[str], shard: ReplicaShard, skip: int = 0) -> list[list[np.ndarray]]:
    dataset = make_dataset(files, 400, 42, 500, 7, "tokens", skip_batches=skip, shard=shard)
    return [[t.numpy() for t in tf.nest.flatten(batch)] for batch in dataset]


def test_replica_shards_split_every_global_step_and_end_together(shards: list[str]) -> None:
    """Three replicas, two on one worker: each step's batches are three consecutive batches of
    the one-replica stream, the incomplete last group is dropped on every pipeline, and
    skipping k global steps skips k of each pipeline's groups."""
    whole = batches(shards, "tokens", epoch=0)
    steps = len(whole) // 3
    assert len(whole) % 3 != 0  # a group to drop
    first, second = ReplicaShard(3, 0, 2), ReplicaShard(3, 2, 1)
    assert same(
        shard_batches(shards, first), [b for s in range(steps) for b in whole[3 * s : 3 * s + 2]]
    )
    assert same(shard_batches(shards, second), whole[2 : 3 * steps : 3])
    assert same(shard_batches(shards, first, skip=5), shard_batches(shards, first)[10:])
    with pytest.raises(ValueError, match="out of range"):
        ReplicaShard(2, 1, 2)


def _touch_shards(folder: Path, split: str, shards: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for shard in range(shards):
        (folder / tfrecord_file(split, shard, shards)).write_bytes(b"")


def test_train_files_pick_the_sampled_copy_of_the_epoch(tmp_path: Path) -> None:
    folder = tmp_path / TFRECORDS_DIR
    _touch_shards(folder, "train")
    _touch_shards(folder, "dev", 1)
    assert sampled_copies(tmp_path) == 0
    assert train_files(tmp_path, 3) == split_files(tmp_path, "train")
    for copy in range(3):
        _touch_shards(folder, sampled_split(copy))
    assert sampled_copies(tmp_path) == 3
    for epoch in range(7):
        expected = split_files(tmp_path, sampled_split(epoch % 3))
        assert train_files(tmp_path, epoch) == expected
        assert all(f"train.sampled-0{epoch % 3}-" in name for name in expected)
    assert all("sampled" not in name for name in split_files(tmp_path, "train"))


def test_train_files_refuse_missing_copies(tmp_path: Path) -> None:
    folder = tmp_path / TFRECORDS_DIR
    _touch_shards(folder, "train")
    _touch_shards(folder, sampled_split(0))
    _touch_shards(folder, sampled_split(2))
    with pytest.raises(FileNotFoundError, match=r"not 0\.\.n-1"):
        train_files(tmp_path, 0)
