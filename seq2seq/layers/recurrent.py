"""Which recurrent cell a config names: LSTM or GRU, and its number of state tensors."""

from __future__ import annotations

import keras

CELLS = ("lstm", "gru")


def make_cell(kind: str, units: int, name: str) -> keras.layers.Layer:
    """A single-step cell. Keras GRU uses ``reset_after=True`` (reset gate applied after the
    recurrent matmul) and ``h_t = z * h_{t-1} + (1 - z) * candidate``."""
    if kind == "lstm":
        return keras.layers.LSTMCell(units, name=name)
    if kind == "gru":
        return keras.layers.GRUCell(units, name=name)
    raise ValueError(f"unknown cell {kind!r}; valid options: {', '.join(CELLS)}")


def state_size(kind: str) -> int:
    """Number of state tensors per layer: 2 for LSTM (h, c), 1 for GRU (h)."""
    return 2 if kind == "lstm" else 1
