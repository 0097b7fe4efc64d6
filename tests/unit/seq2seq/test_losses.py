"""The loss: label-smoothed cross-entropy over real target tokens only."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from seq2seq.losses import token_losses
from seq2seq.model import Seq2Seq


def test_unsmoothed_loss_is_cross_entropy() -> None:
    logits = tf.random.stateless_normal([3, 7], seed=[1, 2])
    labels = tf.constant([4, 5, 6])
    log_probs = tf.nn.log_softmax(logits).numpy()
    expected = -log_probs[[0, 1, 2], [4, 5, 6]]
    np.testing.assert_allclose(token_losses(logits, labels, 0.0), expected, rtol=1e-5)


def test_smoothing_adds_uniform_term() -> None:
    logits = tf.random.stateless_normal([1, 5], seed=[5, 6])
    log_probs = tf.nn.log_softmax(logits).numpy()[0]
    expected = 0.8 * -log_probs[2] + 0.2 * -log_probs.mean()
    loss = token_losses(logits, tf.constant([2]), 0.2)
    np.testing.assert_allclose(float(loss[0]), expected, rtol=1e-5)


def test_gradient_is_softmax_minus_smoothed_target() -> None:
    logits = tf.random.stateless_normal([2, 4], seed=[7, 8])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = tf.reduce_sum(token_losses(logits, tf.constant([1, 3]), 0.2))
    target = np.full((2, 4), 0.05)
    target[[0, 1], [1, 3]] = 0.85
    expected = tf.nn.softmax(logits).numpy() - target
    np.testing.assert_allclose(tape.gradient(loss, logits), expected, atol=1e-6)


def reference_losses(logits: tf.Tensor, labels: tf.Tensor, smoothing: float) -> tf.Tensor:
    """TensorFlow's fused softmax cross-entropy on the smoothed one-hot target."""
    vocab = logits.shape[-1]
    off = smoothing / vocab
    target = tf.one_hot(labels, vocab, on_value=1.0 - smoothing + off, off_value=off)
    return tf.nn.softmax_cross_entropy_with_logits(target, tf.cast(logits, tf.float32))


def test_weighted_loss_and_gradient_match_the_fused_kernel_at_any_scale() -> None:
    """Large logits do not overflow; per-token weights (masked rows) reach the gradient."""
    logits = tf.random.stateless_normal([5, 300], seed=[3, 4]) * 40.0 + 1000.0
    labels = tf.constant([0, 299, 7, 7, 150], tf.int64)
    weights = tf.constant([1.0, 0.0, 2.0, 1.0, 0.5])
    results = []
    for losses in (token_losses, reference_losses):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            per_token = losses(logits, labels, 0.1)
            total = tf.reduce_sum(per_token * weights)
        results.append((per_token.numpy(), tape.gradient(total, logits).numpy()))
    (ours, our_grad), (fused, fused_grad) = results
    np.testing.assert_allclose(ours, fused, rtol=1e-5)
    np.testing.assert_allclose(our_grad, fused_grad, atol=1e-6)
    assert not our_grad[1].any()


def test_bfloat16_logits_give_a_float32_loss() -> None:
    logits = tf.cast(tf.random.stateless_normal([2, 6], seed=[9, 1]), tf.bfloat16)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = token_losses(logits, tf.constant([1, 2]), 0.1)
    assert loss.dtype == tf.float32
    assert tape.gradient(loss, logits).dtype == tf.bfloat16


def test_real_token_logits_are_the_unpadded_rows_of_the_full_logits_then_filler() -> None:
    keras.utils.set_random_seed(3)
    model = Seq2Seq(11, 9, embedding_size=4, units=5)
    model.build_variables()
    source = tf.constant([[4, 5, 3], [6, 3, 0]])
    target_in = tf.constant([[2, 4, 5, 6], [2, 7, 0, 0]])
    target_out = tf.constant([[4, 5, 6, 3], [7, 3, 0, 0]])
    full = model((source, target_in)).numpy()
    logits, labels = model.real_token_logits((source, target_in), target_out)
    real = target_out.numpy() != 0
    assert logits.shape[0] == labels.shape[0] == 64  # 6 real rows, rounded up
    np.testing.assert_allclose(logits[:6], full[real], rtol=1e-5, atol=1e-6)
    assert labels.numpy().tolist() == [4, 5, 6, 3, 7, 3] + [0] * 58
