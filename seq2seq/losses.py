"""Label-smoothed cross-entropy averaged over real target tokens only."""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def token_losses(logits: tf.Tensor, labels: tf.Tensor, smoothing: float) -> tf.Tensor:
    """Per-token loss ``[N]`` of ``logits [N, V]`` against ``labels [N]``, in float32.

    With smoothing ``e`` the target distribution is ``1 - e`` on the reference
    piece and ``e`` spread uniformly over the vocabulary, so the loss is
    ``(1 - e) * nll + e * mean_v(-log p_v)``, that is
    ``logsumexp(x) - (1 - e) * x_label - e * mean_v(x_v)``, and its gradient is
    ``softmax(x) - target``. The loss comes from one float32 softmax (oneDNN) and a
    few row reductions, with no ``[N, V]`` target; ``logsumexp`` is taken as
    ``max(x) - log(max(softmax(x)))``, exact because that probability is at least
    ``1 / V``. The gradient is one XLA-compiled pass over the softmax (compiled once
    per row count; training rounds rows to a multiple of 64). Against TensorFlow's
    fused softmax cross-entropy on a one-hot target, the loss and its gradient on
    Multi30k batches (``[3008, 8000]`` bfloat16 logits) take about 28 against 73 ms.
    """
    return _smoothed_cross_entropy(logits, labels, tf.constant(smoothing, tf.float32))


@tf.custom_gradient
def _smoothed_cross_entropy(logits: tf.Tensor, labels: tf.Tensor, smoothing: tf.Tensor) -> Any:
    values, labels = tf.cast(logits, tf.float32), tf.cast(labels, tf.int32)
    probs = tf.nn.softmax(values)
    log_normalizer = tf.reduce_max(values, -1) - tf.math.log(tf.reduce_max(probs, -1))
    picked = tf.gather(values, labels, batch_dims=1)
    uniform = tf.reduce_mean(values, -1)
    losses = log_normalizer - (1.0 - smoothing) * picked - smoothing * uniform

    def gradient(upstream: tf.Tensor) -> tuple[tf.Tensor, None, None]:
        return _gradient(probs, labels, upstream, smoothing, logits.dtype), None, None

    return losses, gradient


@tf.function(jit_compile=True, reduce_retracing=True)
def _gradient(
    probs: tf.Tensor, labels: tf.Tensor, upstream: tf.Tensor, smoothing: tf.Tensor, dtype: tf.DType
) -> tf.Tensor:
    """``(probs - target) * upstream`` in ``dtype``, compiled by XLA into one pass over
    ``probs [N, V]`` (as TensorFlow ops: a subtraction, a product, a scatter and a cast,
    each a pass of its own, 27 against 5 ms on ``[3008, 8000]``)."""
    vocab = tf.shape(probs)[-1]
    reference = tf.one_hot(labels, vocab, on_value=1.0 - smoothing, off_value=0.0)
    target = reference + smoothing / tf.cast(vocab, tf.float32)
    return tf.cast((probs - target) * upstream[:, tf.newaxis], dtype)
