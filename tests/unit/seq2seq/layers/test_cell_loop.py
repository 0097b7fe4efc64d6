"""The hoisted-projection recurrence equals Keras's own cells and masked layers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from seq2seq.layers.cell_loop import cell_math, run_sequence, zero_state
from seq2seq.layers.cells import make_cell, state_size

UNITS, HEAD, FEED, BATCH, STEPS = 6, 5, 3, 3, 7


def _random_weights(layer: keras.layers.Layer, seed: int) -> None:
    """Non-trivial weights (biases included) so that every term matters."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.weights])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_step_with_fed_inputs_equals_keras_cell(kind: str) -> None:
    cell = make_cell(kind, UNITS, "cell")
    cell.build((None, HEAD + FEED))
    _random_weights(cell, 1)
    rng = np.random.default_rng(2)
    head = tf.constant(rng.normal(size=(BATCH, HEAD)), tf.float32)
    feed = tf.constant(rng.normal(size=(BATCH, FEED)), tf.float32)
    state = [tf.constant(rng.normal(size=(BATCH, UNITS)), tf.float32)] * state_size(kind)
    expected, expected_state = cell(tf.concat([head, feed], axis=-1), state)
    math = cell_math(cell, HEAD, tf.float32)
    output, new_state = math.step(math.project(head), feed, list(state))
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)
    for got, want in zip(new_state, expected_state, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _padded_inputs() -> tuple[tf.Tensor, tf.Tensor]:
    """``[B, T, HEAD]`` inputs with right padding of different lengths."""
    rng = np.random.default_rng(3)
    inputs = rng.normal(size=(BATCH, STEPS, HEAD)).astype("float32")
    lengths = np.array([STEPS, 4, 1])
    mask = np.arange(STEPS)[None, :] < lengths[:, None]
    return tf.constant(inputs * mask[:, :, None]), tf.constant(mask)


def _run_like(
    reference: keras.layers.Bidirectional, kind: str, inputs: tf.Tensor, mask: tf.Tensor
) -> tuple[tf.Tensor, list[tf.Tensor], list[tf.Tensor]]:
    """``run_sequence`` with the weights of a Keras ``Bidirectional`` layer, from zero states."""
    forward = cell_math(reference.forward_layer.cell, None, tf.float32)
    backward = cell_math(reference.backward_layer.cell, None, tf.float32)
    count = state_size(kind)
    return run_sequence(
        forward,
        inputs,
        mask,
        zero_state(forward, count, BATCH, tf.float32),
        backward,
        zero_state(backward, count, BATCH, tf.float32),
    )


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_bidirectional_run_equals_keras_masked_bidirectional(kind: str) -> None:
    layer_class = keras.layers.LSTM if kind == "lstm" else keras.layers.GRU
    reference = keras.layers.Bidirectional(
        layer_class(UNITS, return_sequences=True, return_state=True)
    )
    inputs, mask = _padded_inputs()
    reference(inputs, mask=mask)
    _random_weights(reference, 4)
    expected = reference(inputs, mask=mask)
    outputs, forward_state, backward_state = _run_like(reference, kind, inputs, mask)
    real = mask.numpy()[:, :, None]
    np.testing.assert_allclose(outputs * real, expected[0] * real, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(outputs.numpy() * ~real, 0.0)
    for got, want in zip([*forward_state, *backward_state], expected[1:], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_forward_run_from_a_given_state_equals_keras_rnn() -> None:
    cell = make_cell("lstm", UNITS, "cell")
    reference = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    inputs, _ = _padded_inputs()
    initial = [tf.fill([BATCH, UNITS], 0.3), tf.fill([BATCH, UNITS], -0.2)]
    reference(inputs, initial_state=initial)
    _random_weights(cell, 5)
    expected = reference(inputs, initial_state=initial)
    every_step = tf.ones([BATCH, STEPS], tf.bool)
    outputs, state, none = run_sequence(
        cell_math(cell, None, tf.float32), inputs, every_step, initial
    )
    np.testing.assert_allclose(outputs, expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state[1], expected[2], rtol=1e-5, atol=1e-6)
    assert none == []


def test_unsupported_cell_is_refused() -> None:
    cell = keras.layers.SimpleRNNCell(UNITS)
    cell.build((None, HEAD))
    with pytest.raises(TypeError, match="LSTMCell, GRUCell"):
        cell_math(cell, None, tf.float32)


def _assert_same_gradients(
    ours: Callable[[], tf.Tensor],
    theirs: Callable[[], tf.Tensor],
    upstream: tf.Tensor,
    inputs: list[tf.Tensor],
    weights: list[Any],
) -> None:
    """The gradients of ``sum(run() * upstream)`` for both runs, with respect to the watched
    ``inputs`` and the ``weights``, agree."""
    gradients = []
    for run in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            objective = tf.reduce_sum(run() * upstream)
        gradients.append(tape.gradient(objective, [*inputs, *weights]))
    for got, want in zip(*gradients, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_bidirectional_run_gradients_equal_keras(kind: str) -> None:
    """``run_sequence``'s gradients (inputs and every weight) equal Keras's own loop's,
    with padding (masked steps) and both directions."""
    layer_class = keras.layers.LSTM if kind == "lstm" else keras.layers.GRU
    reference = keras.layers.Bidirectional(layer_class(UNITS, return_sequences=True))
    inputs, mask = _padded_inputs()
    reference(inputs, mask=mask)
    _random_weights(reference, 6)
    real = tf.cast(mask, tf.float32)[:, :, tf.newaxis]
    upstream = tf.random.stateless_normal([BATCH, STEPS, 2 * UNITS], seed=[7, 8]) * real

    _assert_same_gradients(
        lambda: _run_like(reference, kind, inputs, mask)[0],
        lambda: reference(inputs, mask=mask),
        upstream,
        [inputs],
        reference.trainable_weights,
    )


def test_forward_run_gradients_from_a_given_state_equal_keras_rnn() -> None:
    cell = make_cell("lstm", UNITS, "cell")
    reference = keras.layers.RNN(cell, return_sequences=True)
    inputs, _ = _padded_inputs()
    initial = [tf.fill([BATCH, UNITS], 0.3), tf.fill([BATCH, UNITS], -0.2)]
    reference(inputs, initial_state=initial)
    _random_weights(cell, 9)
    every_step = tf.ones([BATCH, STEPS], tf.bool)
    upstream = tf.random.stateless_normal([BATCH, STEPS, UNITS], seed=[1, 9])

    _assert_same_gradients(
        lambda: run_sequence(cell_math(cell, None, tf.float32), inputs, every_step, initial)[0],
        lambda: reference(inputs, initial_state=initial),
        upstream,
        [inputs, *initial],
        cell.trainable_weights,
    )
