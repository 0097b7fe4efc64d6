"""Training input: batch sizes of the length buckets."""

from __future__ import annotations

from seq2seq.data import bucket_batch_sizes


def test_bucket_batch_sizes() -> None:
    assert bucket_batch_sizes([8, 16, 33], 64) == [64, 64, 64, 64]
    assert bucket_batch_sizes([8, 16, 33], 512, "tokens") == [64, 32, 15, 15]
