"""The recurrent cells the model uses, one step against the textbook equations in NumPy."""

from __future__ import annotations

import keras
import numpy as np

from seq2seq.layers.cells import make_cell


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def step(kind: str, units: int = 5) -> tuple[keras.layers.Layer, np.ndarray, list[np.ndarray]]:
    keras.utils.set_random_seed(3)
    cell = make_cell(kind, units, name="cell")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4)).astype("float32")
    states = [
        rng.normal(size=(2, units)).astype("float32") for _ in range(2 if kind == "lstm" else 1)
    ]
    cell(x, states)  # builds the weights
    for weight in cell.weights:
        weight.assign(rng.normal(scale=0.5, size=weight.shape).astype("float32"))
    return cell, x, states


def test_lstm_step_matches_textbook_equations() -> None:
    cell, x, (h, c) = step("lstm")
    kernel, recurrent, bias = (w.numpy() for w in cell.weights)
    z = x @ kernel + h @ recurrent + bias
    i, f, g, o = np.split(z, 4, axis=1)  # Keras order: input, forget, candidate, output
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c_new = c * f + g * i
    h_new = np.tanh(c_new) * o
    out, (h_out, c_out) = cell(x, [h, c])
    np.testing.assert_allclose(out.numpy(), h_new, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_out.numpy(), h_new, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_out.numpy(), c_new, rtol=1e-5, atol=1e-6)


def test_gru_step_matches_keras_convention() -> None:
    """Keras GRU (``reset_after=True``): the reset gate multiplies the recurrent matmul's
    output, and ``h_t = z * h_{t-1} + (1 - z) * candidate``."""
    cell, x, (h,) = step("gru")
    kernel, recurrent, bias = (w.numpy() for w in cell.weights)
    input_bias, recurrent_bias = bias[0], bias[1]
    xz, xr, xh = np.split(x @ kernel + input_bias, 3, axis=1)
    hz, hr, hh = np.split(h @ recurrent + recurrent_bias, 3, axis=1)
    z = sigmoid(xz + hz)
    r = sigmoid(xr + hr)
    candidate = np.tanh(xh + r * hh)
    h_new = z * h + (1.0 - z) * candidate
    out, (h_out,) = cell(x, [h])
    np.testing.assert_allclose(out.numpy(), h_new, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_out.numpy(), h_new, rtol=1e-5, atol=1e-6)
