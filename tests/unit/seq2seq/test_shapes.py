"""Rounding sizes up to bound the number of distinct tensor shapes."""

from __future__ import annotations

import tensorflow as tf

from seq2seq.shapes import pad_to_multiple, round_up


def test_round_up() -> None:
    assert [int(round_up(tf.constant(n), 8)) for n in (0, 1, 7, 8, 9, 16)] == [0, 8, 8, 8, 16, 16]


def test_pad_to_multiple_pads_one_axis_with_zeros() -> None:
    x = tf.ones([3, 5], tf.int32)
    cols = pad_to_multiple(x, 4, axis=1)
    assert cols.shape == (3, 8) and int(tf.reduce_sum(cols)) == 15
    rows = pad_to_multiple(x, 4, axis=0)
    assert rows.shape == (4, 5) and int(tf.reduce_sum(rows[3:])) == 0
    assert pad_to_multiple(x, 5, axis=1).shape == (3, 5)
