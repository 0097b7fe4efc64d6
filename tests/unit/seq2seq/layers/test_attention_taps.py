"""The teacher-forced loop's attention taps: its gradients equal plain autodiff's."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.layers.attention_taps import AttentionTaps
from seq2seq.model import Seq2Seq

SOURCE = tf.constant([[5, 6, 7, 3], [8, 3, 0, 0], [9, 4, 3, 0]])
TARGET_IN = tf.constant([[2, 9, 10, 12], [2, 11, 0, 0], [2, 13, 14, 0]])
UPSTREAM = tf.random.stateless_normal([3, 4, 24], seed=[1, 2])


def _model(**options: object) -> Seq2Seq:
    keras.utils.set_random_seed(3)
    model = Seq2Seq(20, 24, embedding_size=8, units=12, **options)  # type: ignore[arg-type]
    model.build_variables()
    return model


def _step_by_step_logits(model: Seq2Seq) -> tf.Tensor:
    """Teacher-forced logits from the search's step function: no taps, autodiff alone."""
    memory, state = model.encode(SOURCE)
    logits = []
    for t in range(TARGET_IN.shape[1]):
        step_logits, state, _ = model.step(TARGET_IN[:, t], state, memory)
        logits.append(step_logits)
    return tf.stack(logits, axis=1)


def _gradients(model: Seq2Seq, logits_fn: object) -> list[np.ndarray]:
    with tf.GradientTape() as tape:
        objective = tf.reduce_sum(logits_fn() * UPSTREAM)  # type: ignore[operator]
    grads = tape.gradient(objective, model.trainable_variables)
    return [tf.convert_to_tensor(g).numpy() for g in grads]


@pytest.mark.parametrize(
    "options",
    [
        {"attention": "luong", "luong_score": "general"},
        {"attention": "luong", "luong_score": "dot", "bidirectional": False},
        {"attention": "bahdanau", "cell": "gru"},
        {"attention": "luong", "decoder_layers": 2, "cell": "gru"},
        {"attention": "luong", "decoder_layers": 2, "cell": "lstm"},
    ],
)
def test_gradients_equal_autodiff_step_by_step(options: dict[str, object]) -> None:
    model = _model(**options)
    compiled = tf.function(lambda: model((SOURCE, TARGET_IN)))
    reference = _gradients(model, lambda: _step_by_step_logits(model))
    for teacher_forced in (lambda: model((SOURCE, TARGET_IN)), compiled):
        tapped = _gradients(model, teacher_forced)
        for variable, ours, theirs in zip(
            model.trainable_variables, tapped, reference, strict=True
        ):
            np.testing.assert_allclose(ours, theirs, rtol=2e-4, atol=2e-6, err_msg=variable.path)


def test_memory_gradient_needs_the_loop_bound() -> None:
    keys = tf.random.stateless_normal([2, 3, 4], seed=[0, 1])
    values = tf.random.stateless_normal([2, 3, 5], seed=[0, 2])
    with tf.GradientTape() as tape:
        tape.watch([keys, values])
        taps = AttentionTaps(keys, values, tf.constant(2), tap_keys=True)
        objective = tf.reduce_sum(taps.at(0).context) + tf.reduce_sum(taps.at(1).scores)
    with pytest.raises(RuntimeError, match="bind was not called"):
        tape.gradient(objective, [keys, values])


def test_taps_are_zeros_and_carry_the_step_gradients() -> None:
    keys = tf.random.stateless_normal([2, 3, 4], seed=[0, 1])
    values = tf.random.stateless_normal([2, 3, 5], seed=[0, 2])
    weights = tf.random.stateless_uniform([2, 2, 3], seed=[0, 3])  # [T, B, S]
    queries = tf.random.stateless_normal([2, 2, 4], seed=[0, 4])  # [T, B, D_key]
    with tf.GradientTape() as tape:
        tape.watch([keys, values])
        taps = AttentionTaps(keys, values, tf.constant(2), tap_keys=True)
        steps = [taps.at(t) for t in range(2)]
        taps.bind(weights, queries)
        context = tf.stack([s.context[:, 0] for s in steps])  # [T, B, D_mem]
        scores = tf.stack([s.scores[:, 0] for s in steps])  # [T, B, S]
        objective = tf.reduce_sum(context * 2.0) + tf.reduce_sum(scores * 3.0)
    assert not np.any(context.numpy()) and not np.any(scores.numpy())
    d_keys, d_values = tape.gradient(objective, [keys, values])
    expected_values = np.einsum("tbs,tbd->bsd", weights.numpy(), np.full([2, 2, 5], 2.0))
    expected_keys = np.einsum("tbs,tbd->bsd", np.full([2, 2, 3], 3.0), queries.numpy())
    np.testing.assert_allclose(d_values.numpy(), expected_values, rtol=1e-6)
    np.testing.assert_allclose(d_keys.numpy(), expected_keys, rtol=1e-6)
