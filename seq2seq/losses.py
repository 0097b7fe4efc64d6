"""Label-smoothed cross-entropy averaged over real target tokens only."""

from __future__ import annotations

import tensorflow as tf


def smoothed_cross_entropy(
    logits: tf.Tensor, targets: tf.Tensor, smoothing: float
) -> tuple[tf.Tensor, tf.Tensor]:
    """Summed loss and token count for ``logits [B, T, V]`` against ``targets [B, T]``.

    Padding (id 0) contributes nothing. With smoothing ``e`` the target
    distribution is ``1 - e`` on the reference piece and ``e`` spread
    uniformly over the vocabulary.
    """
    log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
    nll = -tf.gather(log_probs, targets, batch_dims=2)
    uniform = -tf.reduce_mean(log_probs, axis=-1)
    per_token = (1.0 - smoothing) * nll + smoothing * uniform
    mask = tf.cast(tf.not_equal(targets, 0), tf.float32)
    return tf.reduce_sum(per_token * mask), tf.reduce_sum(mask)
