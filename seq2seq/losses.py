"""Label-smoothed cross-entropy averaged over real target tokens only."""

from __future__ import annotations

import tensorflow as tf


def token_losses(logits: tf.Tensor, labels: tf.Tensor, smoothing: float) -> tf.Tensor:
    """Per-token loss ``[N]`` of ``logits [N, V]`` against ``labels [N]``, in float32.

    With smoothing ``e`` the target distribution is ``1 - e`` on the reference
    piece and ``e`` spread uniformly over the vocabulary, so the loss is
    ``(1 - e) * nll + e * mean_v(-log p_v)``. One fused softmax cross-entropy
    kernel computes it and its gradient.
    """
    vocab = tf.shape(logits)[-1]
    off = smoothing / tf.cast(vocab, tf.float32)
    target = tf.one_hot(labels, vocab, on_value=1.0 - smoothing + off, off_value=off)
    return tf.nn.softmax_cross_entropy_with_logits(target, tf.cast(logits, tf.float32))
