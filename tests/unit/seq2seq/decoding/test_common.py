"""Search helpers: output limits, trimming after EOS, length penalty, row compaction."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seq2seq.decoding.common import (
    ROW_MULTIPLE,
    compact_size,
    gnmt_length_penalty,
    max_output_lengths,
    rows_to_keep,
    trim_after_eos,
)

SOURCE = tf.constant([[5, 6, 7, 8, 3], [9, 3, 0, 0, 0], [10, 11, 12, 3, 0]])


def test_max_output_lengths() -> None:
    assert max_output_lengths(SOURCE, 1.5, 2).numpy().tolist() == [10, 5, 8]
    assert max_output_lengths(SOURCE, 0.0, 0).numpy().tolist() == [1, 1, 1]


def test_trim_after_eos() -> None:
    ids, lengths = trim_after_eos(tf.constant([[4, 5, 3, 6], [3, 4, 0, 0], [4, 4, 4, 4]]), 3)
    assert ids.numpy().tolist() == [[4, 5, 0, 0], [0, 0, 0, 0], [4, 4, 4, 4]]
    assert lengths.numpy().tolist() == [2, 0, 4]


def test_length_penalty() -> None:
    np.testing.assert_allclose(gnmt_length_penalty(tf.constant([1, 7]), 1.0).numpy(), [1.0, 2.0])
    np.testing.assert_allclose(gnmt_length_penalty(tf.constant([9]), 0.0).numpy(), [1.0])


def test_compaction_rounds_unfinished_rows_up() -> None:
    unfinished = tf.constant([True, False, True, False, False, True, True, False, False, True])
    size = compact_size(unfinished)
    assert int(size) == 8  # 5 unfinished rows, rounded up
    keep = rows_to_keep(unfinished, size).numpy().tolist()
    assert keep == [0, 2, 5, 6, 9, 1, 3, 4]  # unfinished rows first, then finished, in order
    assert int(compact_size(tf.zeros([10], tf.bool))) == 0
    assert int(compact_size(tf.ones([3], tf.bool))) == 3
    sizes = [int(compact_size(tf.range(40) < count)) for count in range(41)]
    assert sizes[:10] == [0, 1, 2, 4, 4, 8, 8, 8, 8, 16]
    assert sizes[10:] == [min(40, -(-c // ROW_MULTIPLE) * ROW_MULTIPLE) for c in range(10, 41)]
