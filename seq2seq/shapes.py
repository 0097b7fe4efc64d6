"""Few distinct tensor shapes.

oneDNN builds kernels for every new tensor shape, and TensorFlow keeps them (a cache per
thread and primitive kind, 1,024 entries) for the life of the process. Sizes that vary
from batch to batch are therefore rounded up, and the extra rows or columns are padding.
"""

from __future__ import annotations

import tensorflow as tf


def round_up(size: tf.Tensor, multiple: int) -> tf.Tensor:
    """``size`` (integer) rounded up to a multiple of ``multiple``."""
    return (size + multiple - 1) // multiple * multiple


def pad_to_multiple(tensor: tf.Tensor, multiple: int, axis: int) -> tf.Tensor:
    """``tensor`` padded with zeros at the end of ``axis`` to a multiple of ``multiple``."""
    size = tf.shape(tensor)[axis]
    paddings = [[0, 0] for _ in range(tensor.shape.rank)]
    paddings[axis] = [0, round_up(size, multiple) - size]
    return tf.pad(tensor, paddings)
