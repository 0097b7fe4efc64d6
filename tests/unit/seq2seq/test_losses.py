"""The loss counts real target tokens only."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seq2seq.losses import smoothed_cross_entropy


def test_unsmoothed_loss_is_masked_cross_entropy() -> None:
    logits = tf.random.stateless_normal([2, 3, 7], seed=[1, 2])
    targets = tf.constant([[4, 5, 0], [6, 0, 0]])
    total, count = smoothed_cross_entropy(logits, targets, 0.0)
    log_probs = tf.nn.log_softmax(logits).numpy()
    expected = -(log_probs[0, 0, 4] + log_probs[0, 1, 5] + log_probs[1, 0, 6])
    assert float(count) == 3.0
    np.testing.assert_allclose(float(total), expected, rtol=1e-5)


def test_padding_logits_do_not_matter() -> None:
    targets = tf.constant([[4, 0]])
    a = tf.random.stateless_normal([1, 2, 7], seed=[3, 4])
    b = tf.concat([a[:, :1], a[:, 1:] * 100.0], axis=1)
    np.testing.assert_allclose(
        float(smoothed_cross_entropy(a, targets, 0.1)[0]),
        float(smoothed_cross_entropy(b, targets, 0.1)[0]),
        rtol=1e-6,
    )


def test_smoothing_adds_uniform_term() -> None:
    logits = tf.random.stateless_normal([1, 1, 5], seed=[5, 6])
    targets = tf.constant([[2]])
    log_probs = tf.nn.log_softmax(logits).numpy()[0, 0]
    expected = 0.8 * -log_probs[2] + 0.2 * -log_probs.mean()
    total, _ = smoothed_cross_entropy(logits, targets, 0.2)
    np.testing.assert_allclose(float(total), expected, rtol=1e-5)
